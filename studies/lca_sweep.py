"""The sparseness-fidelity trade-off of LCA over lambda and overcompleteness
(a sweep example).

One point of the sweep: learn a dictionary of ``overcompleteness x
patch_size^2`` atoms on whitened natural-image patches with the
Olshausen-Field rule at threshold ``lam``, encode held-out patches with LCA at
the same ``lam`` (its state polished to its fixed point, the LASSO codes:
:mod:`studies._fixed_point`), and record

- ``reconstruction_error``: ||X - A D||^2 / ||X||^2 on the held-out patches
  (fraction of the patches' energy the code leaves out);
- ``activity_ratio``: mean fraction of units active per patch;
- ``active_per_patch``: mean number of active units per patch;
- ``gabor_fraction``: fraction of atoms a 2-D Gabor fits with R^2 >= ``gabor_r2``
  (:func:`v1model.analysis.fit_gabor`); NaN for patches of at most 3x3 pixels, whose
  fits have no R^2 (as many parameters as pixels).

A larger lambda buys sparser codes with worse reconstructions; more atoms
(overcompleteness) reach the same error with a smaller fraction of units
active (Olshausen & Field 1997; Rozell et al. 2008). The sweep over lambda
(log-spaced) x overcompleteness (1x, 2x, 4x) x 3 seeds is
``examples/sweeps/lca_sweep.toml``::

    v1model sweep run examples/sweeps/lca_sweep.toml

and :func:`plot_sweep` draws the trade-off from the assembled result.

Defaults and their sources
--------------------------
- 8x8 patches of the whitened photographs bundled with scikit-image
  (``whiten`` scales them to variance 0.1 per pixel; Olshausen's own
  whitened images measure 0.079, 2026-12-08); LCA time constant 10 ms
  (Rozell et al. 2008).
- Dictionaries are learned *quickly* (400 minibatch updates of 100 patches,
  FISTA codes, learning rate 1 decaying to 0.1): enough for localized,
  oriented atoms at 1x, not converged at 4x. ``n_updates = 0`` keeps the
  data-initialised dictionary (random patches) instead.
- Held-out patches: the test patches (``n_test``) come from the held-out right
  columns of every image, where no training patch lies
  (:func:`studies._held_out.held_out_split`, ``attrs["held_out"]``). Since
  2026-12-07; numbers here measured before then (unless said re-measured) drew
  both from the whole images.
- Gabor-like: R^2 >= 0.8 of the fitted Gabor over the atom's pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from studies._gabor_fit import gabor_fit_attrs, gabor_fit_units
from v1model.analysis import GABOR_LIKE_R2
from studies._checks import PREWHITENED_MEANS
from studies._seed_record import records_seed
from v1model.progress import quiet_when_told
from v1model.sweep.preflight import checks_parameters, parameters_checked

NAME = "lca-sweep"
TITLE = "Sparseness-fidelity trade-off of LCA over lambda and overcompleteness (sweep example)"
REFERENCE = (
    "Rozell, C. J., Johnson, D. H., Baraniuk, R. G. & Olshausen, B. A. (2008). Sparse coding "
    "via thresholding and local competition in neural circuits. Neural Computation 20, "
    "2526-2563; Olshausen, B. A. & Field, D. J. (1997). Sparse coding with an overcomplete "
    "basis set: a strategy employed by V1? Vision Research 37, 3311-3325."
)
#: Units of the parameters and of the other numbers in ``attrs`` (read by v1model.sweep for
#: the coordinates and for the attrs that vary between points, e.g. n_atoms).
PARAMETER_UNITS = {"lam": "units of X", "overcompleteness": "1", "patch_size": "pixel", "tau": "s",
                   "n_atoms": "1", "n_updates": "1", "n_train": "1", "n_test": "1",
                   "batch_size": "1", "lca_tol": "1", "active_set_tol": "1",
                   "gabor_r2": "1", **gabor_fit_units()}
#: parameters that take a file or folder path, with the texts they take that are no
#: path: a sweep makes their relative paths absolute (see v1model.sweep.spec)
PATH_PARAMETERS = {"images": ("skimage",)}
#: Minibatch updates of a full (not quick) point.
FULL_UPDATES = 400

#: defaults, (quick, full), of the parameters whose default None ``run`` replaces
#: by the variant's: a sweep records them without running the study
#: (:meth:`v1model.sweep.SweepSpec.study_defaults`)
QUICK_DEFAULTS = {
    "n_updates": (40, FULL_UPDATES),
    "lca_tol": (1e-3, 1e-5),
    "n_train": (2000, 20000),
    "n_test": (200, 1000),
}

#: The sweep whose assembled result :func:`plot_sweep` draws.
SWEEP_SPEC = "examples/sweeps/lca_sweep.toml"

#: what a default None stands for where it is no one value per variant (shown by
#: ``v1model study show``; QUICK_DEFAULTS holds the others)
NONE_MEANS = {"prewhitened": PREWHITENED_MEANS}

@checks_parameters
@quiet_when_told
@records_seed
def run(
    quick: bool = False,
    seed: int = 0,
    *,
    lam: float = 0.2,
    overcompleteness: int = 1,
    patch_size: int = 8,
    n_updates: int | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    batch_size: int = 100,
    tau: float = 0.01,
    lca_tol: float | None = None,
    gabor: bool = True,
    gabor_r2: float = GABOR_LIKE_R2,
    images: str = "skimage",
    prewhitened: bool | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """One point: learn at ``lam``, encode held-out patches with LCA, measure.

    Parameters
    ----------
    quick : bool
        40 updates on 2,000 patches, 200 held-out patches, a one-start Gabor
        fit (seconds) instead of 400 updates on 20,000 patches and 1,000
        held-out patches.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Seed of the patches, the initial dictionary and the minibatches.
    lam : float
        LCA threshold and L1 weight (units of the whitened pixels).
    overcompleteness : int
        Atoms per pixel of a patch: ``n_atoms = overcompleteness * patch_size**2``.
    patch_size : int
        Patch side in pixels.
    n_updates, n_train, n_test : int, optional
        Minibatch updates (0: data-initialised dictionary), training patches,
        held-out patches.
    batch_size : int
        Patches per update.
    tau : float
        LCA time constant (s).
    lca_tol : float, optional
        LCA stopping tolerance (:func:`v1model.inference.lca`'s ``tol``);
        default 1e-5, or 1e-3 with ``quick``. The state it stops in is polished
        to LCA's fixed point, the LASSO codes
        (:func:`studies._fixed_point.polish_to_fixed_point`), on which every
        number is measured: ``lca_tol`` changes the time the polish takes, not
        the counts (the stopped state's own small codes, zero at the fixed
        point, counted as active: at 1e-3 an activity ratio ~10% too high).
    gabor : bool
        Fit Gabors to the atoms (``gabor_fraction``, ``gabor_r2_atom``).
    gabor_r2 : float
        R^2 above which an atom counts as Gabor-like.
    images : str
        Image source for :func:`stimuli.load_images`.
    prewhitened : bool, optional
        Whether the images are already whitened (default: guessed from
        ``images`` as in :func:`stimuli.images.is_prewhitened`, which takes an
        array for unwhitened: pass True for an array of Olshausen's images).
    progress : bool
        Progress bar of the learning.

    Returns
    -------
    xarray.Dataset
        Scalars ``reconstruction_error`` (pooled: sum of squared residuals
        over sum of squared patches), ``patch_error`` (the mean of the
        per-patch ratios, the definition of ``learning_error``; larger, since
        low-contrast patches coded by nothing count fully), ``activity_ratio``,
        ``active_per_patch``, ``objective``, ``lca_converged``,
        ``gabor_fraction``; ``dictionary`` (atom, y, x); ``gabor_r2_atom``
        (atom); ``learning_error`` (update); parameters in ``attrs``, with the
        coding (``coding``, ``lca_tol``, ``active_set_tol``:
        :data:`studies._fixed_point.CODING`) and, with ``gabor``, the settings and
        bounds of the Gabor fits prefixed ``gabor_`` (``gabor_n_starts``: 1 with
        ``quick``, else 4; ``gabor_polish``, ``gabor_min_sigma``, ``gabor_max_sigma``,
        ``gabor_max_frequency``, ...).
        Coordinates: ``atom`` (index), ``y`` and ``x`` (pixel indices, units
        "pixel") and ``update`` (the learner's index of each recorded
        minibatch update; empty with ``n_updates=0``), kept by a sweep.
    """
    from stimuli import sample_patches
    from studies._checks import check_dictionary_memory, check_images, image_source_attr
    from studies._defaults import quick_default
    from studies._fixed_point import coding_attrs, polish_to_fixed_point
    from studies._held_out import held_out_split
    from v1model.inference import lca
    from v1model.io import UPDATES_BEFORE, count_coord, seed_attr
    from studies._shortfall import count_shortfall, named_by_study
    from v1model.learning.olshausen_field import init_dictionary, learn_dictionary
    from v1model.validation import (
        as_generator,
        check_bool,
        check_int,
        check_positive,
        check_probability,
    )

    quick = check_bool(quick, "quick")  # "no" would be truthy
    lam = check_positive(lam, "lam")
    overcompleteness = check_int(overcompleteness, "overcompleteness", minimum=1)
    patch_size = check_int(patch_size, "patch_size", minimum=2)
    n_updates = check_int(quick_default(n_updates, quick, *QUICK_DEFAULTS["n_updates"]),
                          "n_updates", minimum=0)
    n_train = check_int(quick_default(n_train, quick, *QUICK_DEFAULTS["n_train"]),
                        "n_train", minimum=1)
    n_test = check_int(quick_default(n_test, quick, *QUICK_DEFAULTS["n_test"]), "n_test",
                       minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    tau = check_positive(tau, "tau")
    lca_tol = check_positive(quick_default(lca_tol, quick, *QUICK_DEFAULTS["lca_tol"]), "lca_tol")
    gabor_r2 = check_probability(gabor_r2, "gabor_r2")
    gabor = check_bool(gabor, "gabor")  # "-p gabor=no" would be truthy
    check_bool(progress, "progress")  # learn_dictionary's check
    check_images(images, prewhitened)
    rng = as_generator(seed)
    check_dictionary_memory(overcompleteness * patch_size**2, patch_size**2, n_train + n_test,
                            f"patch_size={patch_size}, overcompleteness={overcompleteness} "
                            f"(n_atoms={overcompleteness * patch_size**2})")
    parameters_checked()  # a sweep's pre-flight stops here, before any work

    from stimuli.images import check_patch_size, load_whitened

    # never whitens Olshausen's images twice; bars only if slow, none with progress=False
    pictures, prewhitened = load_whitened(images, prewhitened, name="images")
    patch_size = check_patch_size(patch_size, pictures.shape, name="patch_size")
    train, held_out, split = held_out_split(pictures, patch_size, n_eval=n_test,
                                             n_eval_name="n_test")
    X_train = sample_patches(train, patch_size, n_train, seed=rng)
    X_test = sample_patches(held_out, patch_size, n_test, seed=rng)
    n_atoms = overcompleteness * patch_size**2
    if n_updates:
        # its ConvergenceWarning named inference_params['max_iter'] and ['tol'], which
        # the study does not take: its solver's settings are fixed here
        # n_updates and n_train for its duplicated atoms (n_atoms: from overcompleteness)
        with named_by_study(NAME, "learning the dictionary",
                            {"max_iter": None, "tol": None, "n_updates": "n_updates",
                             "n_samples": "n_train"}):
            D, history = learn_dictionary(X_train, n_atoms, lam=lam, n_updates=n_updates,
                                          batch_size=batch_size, seed=rng, progress=progress)
        learning_error = history["reconstruction_error"].values
        updates = history["update"].values
    else:
        D = init_dictionary(X_train, n_atoms, "data", seed=rng)
        learning_error = np.zeros(0)
        updates = np.zeros(0, dtype=int)

    # the solver's own count of the samples it left short (lca_converged), kept in this
    # context (a ContextVar): catch_warnings, one per process, also caught the
    # ConvergenceWarning of a point another thread of a dask worker ran meanwhile
    with count_shortfall() as shortfall:
        A = lca(X_test, D, lam, tau=tau, tol=lca_tol)
    converged = shortfall.take_unconverged() == 0
    # the stopped state's small leftover codes, zero at the fixed point, counted as active
    A = polish_to_fixed_point(X_test, D, lam, A)
    R = X_test - A @ D
    error = float(np.sum(R * R) / np.sum(X_test * X_test))
    # the per-patch mean weighs low-contrast patches (often coded by nothing, ratio 1)
    # as much as the others: larger than the pooled ratio; the learning curve uses it
    patch_energy = np.maximum(np.einsum("ij,ij->i", X_test, X_test), np.finfo(float).tiny)
    patch_error = float(np.mean(np.einsum("ij,ij->i", R, R) / patch_energy))
    n_active = np.count_nonzero(A, axis=1)
    objective = float(np.mean(0.5 * np.sum(R * R, axis=1) + lam * np.abs(A).sum(axis=1)))

    if gabor:
        from v1model.analysis import GABOR_PARAMS, fit_gabor

        fit = fit_gabor(D, (patch_size, patch_size), n_starts=1 if quick else 4,
                        polish=not quick)
        r2 = fit["r2"].values
        # constant atoms (NaN fit) count as not Gabor-like; patches of at most
        # len(GABOR_PARAMS) pixels have no R^2 at all (fit_gabor warns): the fraction is
        # unmeasured there, not 0 (a 3x3 sweep point read "no atom is Gabor-like")
        gabor_fraction = (np.nan if patch_size**2 <= len(GABOR_PARAMS) else
                          float(np.mean(np.nan_to_num(r2, nan=0.0) >= gabor_r2)))
        # the fits' settings (one start quick, four full) and bounds, which the R^2 of a
        # fit, and so gabor_fraction, depend on
        fit_attrs = gabor_fit_attrs(fit)
    else:
        r2 = np.full(n_atoms, np.nan)
        gabor_fraction = np.nan
        fit_attrs = {}  # no fit, no settings

    ds = xr.Dataset(
        {
            "reconstruction_error": ((), error, {
                "long_name": "fraction of the held-out energy not reconstructed, "
                             "sum ||x - D^T a||^2 / sum ||x||^2 over patches", "units": "1"}),
            "patch_error": ((), patch_error, {
                "long_name": "mean over held-out patches of ||x - D^T a||^2 / ||x||^2 "
                             "(the definition of learning_error)", "units": "1"}),
            "activity_ratio": ((), float(n_active.mean() / n_atoms), {
                "long_name": "mean fraction of units active per patch", "units": "1"}),
            "active_per_patch": ((), float(n_active.mean()), {
                "long_name": "mean number of active units per patch", "units": "1"}),
            "objective": ((), objective, {
                "long_name": "mean LASSO objective per held-out patch",
                "units": "(units of X)^2"}),  # the learners' energy units
            "lca_converged": ((), int(converged), {
                "long_name": "1 if LCA reached its tolerance on every patch", "units": "1"}),
            "gabor_fraction": ((), gabor_fraction, {
                "long_name": f"fraction of atoms with Gabor fit R^2 >= {gabor_r2}",
                "units": "1"}),
            "dictionary": (("atom", "y", "x"), D.reshape(n_atoms, patch_size, patch_size), {
                "long_name": "learned dictionary (unit-norm atoms)", "units": "1"}),
            "gabor_r2_atom": (("atom",), r2, {
                "long_name": "R^2 of the Gabor fit of each atom", "units": "1"}),
            "learning_error": (("update",), learning_error, {
                "long_name": "mean over each training minibatch of ||x - D^T a||^2 / ||x||^2",
                "units": "1"}),
        },
        # the sweep keeps a point's coordinates (and aligns points on them): without them
        # its sweep.nc had atom, y, x and update as bare positions
        coords={
            "atom": ("atom", np.arange(n_atoms)),
            "y": ("y", np.arange(patch_size), {"units": "pixel"}),
            "x": ("x", np.arange(patch_size), {"units": "pixel"}),
            # labelled as the learners label their counter (it had no units)
            "update": count_coord("update", updates, UPDATES_BEFORE),
        },
        attrs={
            "study": NAME, "title": TITLE, "reference": REFERENCE, "quick": int(quick),
            "seed": seed_attr(seed),
            "lam": lam, "overcompleteness": overcompleteness, "n_atoms": n_atoms,
            "patch_size": patch_size, "n_updates": n_updates, "n_train": n_train,
            "n_test": n_test, "batch_size": batch_size, "tau": tau, **coding_attrs(lca_tol),
            "gabor": int(bool(gabor)), "gabor_r2": gabor_r2, **fit_attrs,
            "images": image_source_attr(images), "prewhitened": int(bool(prewhitened)),
            "dictionary_init": "learned" if n_updates else "data", **split,
        },
    )
    return ds


def plot(ds: xr.Dataset, outdir) -> list[Path]:
    """The point's dictionary as an atom grid (one PNG in ``outdir``).

    One point of the sweep has no trade-off to draw: the figure says which
    point it is, how far its dictionary was learned, and where the trade-off
    figure comes from (``v1model sweep run``, then :func:`plot_sweep`)."""
    from v1model.io import save_figure
    from v1model.plotting import plot_atoms
    from v1model.plotting._mpl import pyplot

    plt = pyplot()
    outdir = Path(outdir)
    n_atoms = int(ds.attrs.get("n_atoms", ds.sizes.get("atom", 0)))
    n_updates = int(ds.attrs.get("n_updates", ds.sizes.get("update", 0)))
    if n_updates == 0:
        learned = "data-initialised atoms (random patches, no learning)"
    elif n_updates < FULL_UPDATES or int(ds.attrs.get("overcompleteness", 1)) >= 4:
        # few updates (e.g. --quick) leave noise-like atoms: say so, not a failure
        learned = f"atoms after {n_updates} updates: not converged"
    else:
        learned = f"atoms after {n_updates} updates"
    title = (f"one point of the lca-sweep: lam = {ds.attrs.get('lam')}, {n_atoms} atoms "
             f"({ds.attrs.get('overcompleteness', '?')}x overcomplete)\n{learned}\n"
             f"held-out error {float(ds['reconstruction_error']):.3f}, activity ratio "
             f"{float(ds['activity_ratio']):.3f}")
    fig, ax = plt.subplots(figsize=(6.4, 7.0))
    plot_atoms(ds["dictionary"].values, ax=ax)
    ax.set_title(title, fontsize=9)
    fig.text(0.5, 0.015, "the sparseness-fidelity trade-off figure comes from the sweep:\n"
             f"v1model sweep run {SWEEP_SPEC}", ha="center", va="bottom", fontsize=8,
             color="0.3")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return [save_figure(fig, outdir / f"{NAME}_atoms.png")]


def _learning_note(ds: xr.Dataset) -> str:
    """The Gabor panel's title: how far the sweep's dictionaries were learned
    ("quick: 40 updates, not converged" for a quick sweep)."""
    quick = bool(int(ds.attrs.get("quick", ds.attrs.get("sweep_quick", 0))))
    n_updates = ds.attrs.get("n_updates")
    if n_updates is None and "n_updates" in ds:  # swept, or varying between points
        n_updates = np.nanmax(ds["n_updates"].values)
    if n_updates is not None and int(n_updates) == 0:
        return "Gabor-like atoms (data-initialised dictionaries, no learning)"
    updates = f"{int(n_updates)} updates" if n_updates is not None else ""
    if quick:
        return f"Gabor-like atoms (quick: {updates + ', ' if updates else ''}not converged)"
    if n_updates is not None and int(n_updates) < FULL_UPDATES:
        return f"Gabor-like atoms ({updates}, not converged)"
    return f"Gabor-like atoms ({updates})" if updates else "Gabor-like atoms"


def plot_sweep(ds: xr.Dataset, outdir) -> list[Path]:
    """The trade-off of a sweep over ``lam`` x ``overcompleteness`` (x ``replicate``).

    Left: reconstruction error against activity ratio, one line per
    overcompleteness, one marker per lambda (mean and sample s.d., ``ddof=1``, over
    the replicates whose status is "ok"). Right: fraction of Gabor-like atoms (fit
    R² ≥ ``gabor_r2``) against lambda (when fitted), titled with how far the
    dictionaries were learned ("quick: 40 updates, not converged"). The title says
    what the error bars are (±1 s.d. over the seeds that ran); a point where fewer
    than 2 seeds ran has no bar, and the title says so.
    """
    from v1model.io import save_figure
    from v1model.plotting._mpl import pyplot

    plt = pyplot()
    missing = [d for d in ("lam", "overcompleteness") if d not in ds.dims]
    if missing:
        raise ValueError(f"plot_sweep needs a sweep over lam and overcompleteness; the "
                         f"Dataset has no dimension(s) {missing}")
    # a third swept parameter (patch_size, n_updates, ...) gave matplotlib 2-d data:
    # "too many values to unpack (expected 1)"
    extra = [d for d in ds["status"].dims if d not in ("lam", "overcompleteness", "replicate")]
    if extra:
        raise ValueError(f"plot_sweep draws a sweep over lam and overcompleteness only; this "
                         f"one also sweeps {extra}: plot one value of each, e.g. "
                         f"plot_sweep(ds.sel({extra[0]}=...), outdir)")
    ok = ds["status"] == "ok"
    reps = "replicate" if "replicate" in ds.dims else None
    n_ok = ok.sum(reps) if reps else None

    def stat(name):
        # the sample s.d. (ddof=1), what "s.d. over seeds" reads as (ddof=0 is 18%
        # narrower with 3 seeds); NaN, which matplotlib draws as no bar, where fewer
        # than 2 seeds ran (and without replicates: zero-length bars drew caps)
        v = ds[name].where(ok)
        if reps:
            return v.mean(reps), v.std(reps, ddof=1).where(n_ok >= 2)
        return v, xr.full_like(v, np.nan, dtype=float)

    err, err_sd = stat("reconstruction_error")
    act, act_sd = stat("activity_ratio")
    gab, gab_sd = stat("gabor_fraction")
    has_gabor = bool(np.isfinite(gab.values).any())
    def _log_axis(axis, ticks=None):
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        axis.axes.set_xscale("log")
        if ticks is None:
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        else:
            axis.set_ticks(ticks)
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
        axis.set_minor_formatter(NullFormatter())

    fig, axes = plt.subplots(1, 2 if has_gabor else 1, figsize=(11 if has_gabor else 6, 4.5),
                             squeeze=False)
    ax = axes[0, 0]
    lams = ds["lam"].values
    for oc in ds["overcompleteness"].values:
        sel = {"overcompleteness": oc}
        ax.errorbar(act.sel(sel), err.sel(sel), xerr=act_sd.sel(sel), yerr=err_sd.sel(sel),
                    marker="o", capsize=2, label=f"{oc}x overcomplete")
        for lam, x, y in zip(lams, act.sel(sel).values, err.sel(sel).values):
            if np.isfinite(x) and np.isfinite(y):
                ax.annotate(f"{lam:.3g}", (x, y), textcoords="offset points", xytext=(4, 3),
                            fontsize=7, color="0.35")
    _log_axis(ax.xaxis)
    ax.margins(x=0.1)  # room for the lambda labels right of the densest points
    ax.set_xlabel("activity ratio (fraction of units active per patch)")
    ax.set_ylabel("held-out energy not reconstructed\n(sum |x - D'a|^2 / sum |x|^2)")
    ax.set_title("sparseness vs fidelity (labels: lambda)")
    ax.legend(frameon=False)
    if has_gabor:
        ax = axes[0, 1]
        for oc in ds["overcompleteness"].values:
            sel = {"overcompleteness": oc}
            ax.errorbar(lams, gab.sel(sel), yerr=gab_sd.sel(sel), marker="o", capsize=2,
                        label=f"{oc}x")
        _log_axis(ax.xaxis, ticks=lams)
        ax.set_xlabel("lambda")
        ax.set_ylabel(f"fraction of Gabor-like atoms\n(Gabor fit R² ≥ "
                      f"{float(ds.attrs.get('gabor_r2', GABOR_LIKE_R2)):g})")
        ax.set_ylim(0, 1)
        ax.set_title(_learning_note(ds))
        ax.legend(frameon=False)
    lo, hi = (int(n_ok.min()), int(n_ok.max())) if reps else (1, 1)
    if hi >= 2:  # the error bars' spread, over the seeds that ran at each point
        seeds = f"{hi}" if lo == hi else f"{lo}-{hi}"
        spread = f"mean ±1 s.d. over {seeds} seeds"
        if lo < 2:
            spread += ", no bar where fewer than 2 ran"
    else:
        spread = "one seed per point, no error bars"
    fig.suptitle(f"LCA on whitened natural patches ({spread}; "
                 f"{int(ok.sum())} of {ok.size} points ok)", fontsize=10)
    fig.tight_layout()
    return [save_figure(fig, Path(outdir) / f"{NAME}_tradeoff.png")]
