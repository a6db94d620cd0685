"""Local, sparse or dense? The activity ratio of LCA codes as lambda varies.

Foldiak & Young (1995) placed neural codes between two extremes: *local*
codes, where about one unit answers each stimulus, and *dense* codes, where
about half of them do; sparse codes lie in between. In sparse coding the
threshold lambda moves a network along that axis and trades sparseness
against fidelity: the larger lambda, the fewer active units and the larger
the reconstruction error (Olshausen & Field 1997; Rozell et al. 2008).

This study encodes whitened natural-image patches with LCA on a learned
dictionary for lambda over two decades and reports, for each lambda, at the
LCA's fixed point (the LASSO codes, :data:`CODING`), the
activity ratio (mean fraction of active units per patch), the mean active
count, the code's class (local / sparse / dense, thresholds as in
:func:`v1model.analysis.code_class`), lifetime and population sparseness,
the number of dead units, the relative reconstruction error, and the Babel
value of the co-active atoms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from studies import _fixed_point
from studies._checks import PREWHITENED_MEANS
from studies._learned import DICTIONARY_MEANS
from studies._seed_record import records_seed
from v1model.progress import quiet_when_told
from v1model.sweep.preflight import checks_parameters, parameters_checked

NAME = "activity-ratio"
TITLE = "Activity ratio and local/sparse/dense class of LCA codes against lambda"
REFERENCE = (
    "Foldiak, P. & Young, M. P. (1995). Sparse coding in the primate cortex. In The Handbook "
    "of Brain Theory and Neural Networks, 895-898; Rozell, C. J. et al. (2008). Neural "
    "Computation 20, 2526-2563."
)
#: Units of the parameters (read by v1model.sweep for the coordinates of a sweep): lambda
#: and tol are compared with the LCA codes, which are in the whitened input's units (X).
PARAMETER_UNITS = {"lam_min": "units of X", "lam_max": "units of X", "tol": "units of X",
                   "n_lams": "1", "n_patches": "1", "n_updates": "1", "local_max_count": "1",
                   "dense_min_ratio": "1"}
#: parameters that take a file or folder path, with the texts they take that are no
#: path: a sweep makes their relative paths absolute (see v1model.sweep.spec)
PATH_PARAMETERS = {"dictionary": ("none", "null"), "images": ("skimage",)}


#: defaults, (quick, full), of the parameters whose default None ``run`` replaces
#: by the variant's: a sweep records them without running the study
#: (:meth:`v1model.sweep.SweepSpec.study_defaults`)
QUICK_DEFAULTS = {
    "n_patches": (1000, 5000),
    "n_lams": (13, 13),
}

#: How the codes are found: LCA (:func:`v1model.inference.lca`, its default ``tol``) run
#: towards its fixed point, then that state polished to the fixed point, the LASSO
#: solution (:func:`studies._fixed_point.polish_to_fixed_point`). LCA's stop bounds how
#: fast the state still moves and its objective gap, not its support: its small leftover
#: codes, which the fixed point sets to zero, counted as active (quick run, lam 0.02:
#: activity ratio 0.480 against the fixed point's 0.466). Recorded in the attrs:
#: ``coding``, ``lca_tol``, ``active_set_tol``.
CODING = _fixed_point.CODING
#: the LCA's stopping tolerance (its default), recorded as ``lca_tol``
LCA_TOL = 1e-3
#: KKT tolerance of the polish, relative to lam (:data:`studies._fixed_point.ACTIVE_SET_TOL`)
ACTIVE_SET_TOL = _fixed_point.ACTIVE_SET_TOL

#: what a default None stands for where it is no one value per variant (shown by
#: ``v1model study show``; QUICK_DEFAULTS holds the others)
NONE_MEANS = {"prewhitened": PREWHITENED_MEANS, **DICTIONARY_MEANS}

@checks_parameters
@quiet_when_told
@records_seed
def run(
    quick: bool = False,
    seed: int = 0,
    *,
    dictionary: str | None = None,
    images: str = "skimage",
    prewhitened: bool | None = None,
    n_updates: int | None = None,
    lam_min: float = 0.02,
    lam_max: float = 2.0,
    n_lams: int | None = None,
    n_patches: int | None = None,
    tol: float = 0.0,
    local_max_count: float = 1.5,
    dense_min_ratio: float = 0.25,
    progress: bool = True,
) -> xr.Dataset:
    """Sparseness and reconstruction error of LCA codes for each lambda.

    Parameters
    ----------
    quick : bool
        Quick dictionary (8x8 patches, 64 atoms, 1,000 updates) and 1,000
        patches instead of the full dictionary and 5,000 patches.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
    dictionary : str, optional
        Saved ``olshausen-field-1996`` result (or network) to use.
        Recorded in attrs: ``dictionary``, the file's absolute path or "learned", and
        a learned one's learning parameters prefixed ``dictionary_``
        (``dictionary_seed``, ``dictionary_lam``, ...;
        :func:`studies._learned.learned_dictionary`).
    images : str, default "skimage"
        Image source (also the source of the patches that are encoded, drawn
        apart from the training ones by the seed).
    prewhitened : bool, optional
        Whether the images are already whitened (default: guessed from
        ``images`` as in :func:`stimuli.images.is_prewhitened`, which takes an
        array for unwhitened: pass True for an array of Olshausen's images).
    n_updates : int, optional
        Learning updates of the dictionary (default 1,000 quick, else the
        ``olshausen-field-1996`` study's).
    lam_min, lam_max : float
        Range of lambda (log-spaced; the default spans two decades).
    n_lams, n_patches : int, optional
        Number of lambda levels (default 13) and of encoded patches (default
        1,000 quick, 5,000 otherwise).
    tol, local_max_count, dense_min_ratio : float
        Activity threshold on ``|a|`` (units of X; 0: a unit is active when its
        code at the fixed point is not zero) and class boundaries
        (:func:`v1model.analysis.code_class`).
    progress : bool

    Returns
    -------
    xarray.Dataset
        Over ``lam``: the summary statistics above, ``code_class``,
        ``reconstruction_error`` and ``mean_coactive_babel``; over (``lam``,
        ``sample``) the active count of each patch and over (``lam``,
        ``atom``) each unit's lifetime sparseness; the dictionary (atom, y,
        x); the Babel function ``babel`` over ``r`` and the co-active Babel
        value against the support size (``coactive_babel_by_size``,
        ``n_patches_by_size`` over ``support_size``); parameters in attrs,
        with the coding (``coding``, ``lca_tol``, ``active_set_tol``:
        :data:`CODING`).
    """
    from stimuli import sample_patches
    from stimuli.images import load_whitened
    from studies._checks import check_images, child_seeds, image_source_attr
    from studies._learned import (check_dictionary_source, default_updates,
                                  learned_dictionary)
    from studies._defaults import quick_default
    from studies._held_out import held_out_split
    from tqdm.auto import tqdm
    from v1model.analysis import babel, coactive_babel, sparseness
    from studies._fixed_point import coding_attrs, polish_to_fixed_point
    from v1model.inference import lca
    from v1model.io import seed_attr
    from v1model.validation import (check_bool, check_int, check_nonnegative, check_positive,
                                    check_probability)

    quick = check_bool(quick, "quick")  # "no" would be truthy
    lam_min = check_positive(lam_min, "lam_min")
    lam_max = check_positive(lam_max, "lam_max")
    if lam_max <= lam_min:
        raise ValueError(f"lam_max={lam_max} must exceed lam_min={lam_min}")
    n_updates = default_updates(n_updates, quick=quick, dictionary=dictionary)
    # 13 levels (a factor 1.47 apart) put one near a mean of one active unit, the local code
    n_lams = check_int(quick_default(n_lams, quick, *QUICK_DEFAULTS["n_lams"]), "n_lams",
                       minimum=2)
    n_patches = check_int(quick_default(n_patches, quick, *QUICK_DEFAULTS["n_patches"]),
                          "n_patches", minimum=1)
    # the checks of v1model.analysis.sparseness, made before the dictionary is learned
    check_nonnegative(tol, "tol")
    check_positive(local_max_count, "local_max_count")
    check_probability(dense_min_ratio, "dense_min_ratio")
    check_bool(progress, "progress")  # "abc" would be truthy
    check_dictionary_source(dictionary, n_updates, seed=seed)
    # the encoded patches come from images, with a dictionary file too
    check_images(images, prewhitened)
    parameters_checked()  # a sweep's pre-flight stops here, before any work
    atoms, source, meta = learned_dictionary(dictionary, quick=quick, seed=seed, images=images,
                                             prewhitened=prewhitened, n_updates=n_updates,
                                             progress=progress, study=NAME)
    n_units, h, w = atoms.shape
    if h != w:
        raise ValueError(f"the dictionary's atoms must be square patches, got {h}x{w}")
    if n_units < 2:
        # before the images and the codes: babel and coactive_babel compare atoms (the
        # run failed at its first lambda with "D needs at least 2 atoms", a name not given)
        raise ValueError(f"dictionary={dictionary!r} has {n_units} atom; the study needs at "
                         "least 2 (the Babel function and the co-active Babel values compare "
                         "atoms with each other)")
    D = atoms.reshape(n_units, -1)
    imgs, prewhitened = load_whitened(images, prewhitened, name="images")
    # a stream independent of the one that drew the training patches from the same seed,
    # from the columns olshausen-field-1996 holds out of its learning: none a training patch
    _, held_out, split = held_out_split(imgs, h)
    X = sample_patches(held_out, h, n_patches, seed=child_seeds(seed, 1)[0])

    lams = np.geomspace(lam_min, lam_max, n_lams)
    keys = ("activity_ratio", "mean_active_count", "mean_lifetime_sparseness",
            "n_units_left_out", "mean_population_sparseness", "n_stimuli_left_out", "n_dead")
    stats = {k: [] for k in keys}
    classes, err, counts, life, babel_mean, hoyer = [], [], [], [], [], []
    sizes_all, values_all = [], []  # supports pooled over lambda, for the Babel comparison
    for lam in tqdm(lams, desc="lambda", disable=not progress, leave=False):
        # the LCA's state polished to its fixed point: counts of exact zeros (CODING)
        A = polish_to_fixed_point(X, D, lam, lca(X, D, lam, tol=LCA_TOL, dtype=np.float64))
        s = sparseness(A, tol=tol, local_max_count=local_max_count,
                       dense_min_ratio=dense_min_ratio)
        for k in keys:
            stats[k].append(float(s[k]))
        classes.append(s.attrs["code_class"])
        R = X - A @ D
        err.append(float(np.mean((R**2).sum(1) / (X**2).sum(1))))
        counts.append(s["active_count"].values)
        life.append(s["lifetime_sparseness"].values)
        per_patch = s["hoyer"].values  # NaN for a patch no unit answers (all, at a high lam)
        hoyer.append(float(np.nanmean(per_patch)) if np.isfinite(per_patch).any() else np.nan)
        cb = coactive_babel(A, D, tol=tol)
        size, value = cb["support_size"].values, cb["coactive_babel"].values
        used = (size > 0) & np.isfinite(value)  # an empty support has no Babel value
        babel_mean.append(float(value[used].mean()) if used.any() else np.nan)
        sizes_all.append(size[used])
        values_all.append(value[used])

    ds = xr.Dataset(coords={"lam": ("lam", lams, {"units": "units of X",
                                                   "long_name": "LCA threshold"}),
                            "sample": np.arange(n_patches), "atom": np.arange(n_units),
                            "y": ("y", np.arange(h), {"units": "pixel"}),
                            "x": ("x", np.arange(w), {"units": "pixel"})})
    long = {
        "activity_ratio": "mean fraction of units active per patch",
        "mean_active_count": "mean number of active units per patch",
        "mean_lifetime_sparseness": "mean Vinje-Gallant lifetime sparseness over the units "
                                    "that respond (n_units_left_out left out)",
        "n_units_left_out": "units left out of mean_lifetime_sparseness (no response)",
        "mean_population_sparseness": "mean Treves-Rolls population sparseness over the "
                                      "patches some unit answers (n_stimuli_left_out left out)",
        "n_stimuli_left_out": "patches left out of mean_population_sparseness (no unit "
                              "responds)",
        "n_dead": "units never active",
    }
    for k in keys:
        values = np.array(stats[k])
        if k.startswith("n_"):  # counts (n_dead was saved as float64)
            values = values.astype(np.int64)
        ds[k] = ("lam", values, {"units": "1", "long_name": long[k]})
    ds["code_class"] = ("lam", np.array(classes, dtype=str),
                        {"long_name": "code class: silent / local / sparse / dense",
                         "units": "1"})
    ds["reconstruction_error"] = ("lam", np.array(err), {"units": "1", "long_name":
                                  "mean over patches of ||x - D^T a||^2 / ||x||^2"})
    ds["mean_hoyer"] = ("lam", np.array(hoyer), {"units": "1", "long_name":
                        "mean Hoyer sparseness per patch"})
    ds["mean_coactive_babel"] = ("lam", np.array(babel_mean), {"units": "1", "long_name":
                                 "mean Babel value of the co-active atoms (non-empty supports)"})
    # the co-active Babel value against the support size, pooled over lambda: the sets the
    # code uses, next to the worst case mu_1(r) over all sets of the same size
    pooled_size, pooled_value = np.concatenate(sizes_all), np.concatenate(values_all)
    r_used = np.unique(pooled_size)
    ds = ds.assign_coords(support_size=("support_size", r_used, {
        "units": "1", "long_name": "active atoms per patch"}))
    ds["coactive_babel_by_size"] = ("support_size", np.array(
        [pooled_value[pooled_size == r].mean() for r in r_used]), {
        "units": "1", "long_name": "mean co-active Babel value, pooled over lambda"})
    ds["n_patches_by_size"] = ("support_size", np.array(
        [(pooled_size == r).sum() for r in r_used]), {
        "units": "1", "long_name": "patch codes with this support size, over all lambda"})
    ds["active_count"] = (("lam", "sample"), np.array(counts), {
        "units": "1", "long_name": "active units in each patch's code"})
    ds["lifetime_sparseness"] = (("lam", "atom"), np.array(life), {
        "units": "1", "long_name": "Vinje-Gallant lifetime sparseness of each unit "
                                   "(NaN: a unit silent on every patch)"})
    ds["dictionary"] = (("atom", "y", "x"), atoms, {
        "units": "1", "long_name": "dictionary atoms (unit norm)"})
    b = babel(D)
    ds = ds.assign_coords(r=b["r"])
    ds["babel"] = b["babel"]
    ds.attrs.update(
        study=NAME, reference=REFERENCE, quick=int(quick), seed=seed_attr(seed), source=source,
        images=image_source_attr(images), prewhitened=int(bool(prewhitened)),
        lam_min=lam_min, lam_max=lam_max, n_lams=n_lams,
        n_patches=n_patches, tol=tol, local_max_count=local_max_count,
        dense_min_ratio=dense_min_ratio, mutual_coherence=b.attrs["mutual_coherence"],
        **coding_attrs(LCA_TOL), classes=",".join(classes), **meta, **split,
    )
    return ds


def plot(ds: xr.Dataset, outdir) -> list[Path]:
    """Trade-off curves, sparseness histograms at three lambdas, Babel curve."""
    from v1model.io import save_figure
    from v1model.plotting import plot_babel_curves, plot_sparseness_tradeoff
    from v1model.plotting._mpl import pyplot

    plt = pyplot()
    outdir = Path(outdir)
    lam = ds["lam"].values
    paths = [save_figure(
        plot_sparseness_tradeoff(lam, ds["activity_ratio"].values,
                                 ds["reconstruction_error"].values,
                                 classes=list(ds["code_class"].values),
                                 active_count=ds["mean_active_count"].values,
                                 n_units=ds.sizes["atom"],
                                 title=f"LCA on natural patches, {ds.sizes['atom']} units"),
        outdir / f"{NAME}_tradeoff.png")]
    picks = sorted({0, len(lam) // 2, len(lam) - 1})
    life = ds["lifetime_sparseness"].values[picks]
    # the values crowd near 1 for sparse codes: bin only the range they span
    low = np.nanmin(life) if np.isfinite(life).any() else 0.0
    life_bins = np.linspace(np.floor(low * 20) / 20, 1.0, 31)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for k, i in enumerate(picks):
        c = ds["active_count"].values[i]
        # log counts: a near-silent code's spike at 0 (most patches) flattens the others
        axes[0].hist(c, bins=np.arange(c.max() + 2) - 0.5, histtype="step", color=f"C{k}",
                     log=True, label=f"λ={lam[i]:.3g} ({ds['code_class'].values[i]})")
        v = ds["lifetime_sparseness"].values[i]
        silent = int(np.count_nonzero(~np.isfinite(v)))  # undefined: say how many are left out
        axes[1].hist(v[np.isfinite(v)], bins=life_bins, histtype="step",
                     color=f"C{k}", label=f"λ={lam[i]:.3g}" + (
                         f" ({silent} silent units left out)" if silent else ""))
    axes[0].set_xlabel("active units per patch")
    axes[0].set_ylabel("patches (log scale)")
    # plain counts (1, 10, 100), not 10^x
    axes[0].yaxis.set_major_formatter(plt.matplotlib.ticker.FormatStrFormatter("%g"))
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("lifetime sparseness (Vinje-Gallant)")
    axes[1].set_ylabel("units")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    paths.append(save_figure(fig, outdir / f"{NAME}_histograms.png"))
    b = ds[["babel"]]
    b.attrs["mutual_coherence"] = ds.attrs.get("mutual_coherence", np.nan)
    fig = plot_babel_curves(b, labels=["learned dictionary"],
                            title="Babel function of the dictionary")
    ax = fig.axes[0]
    if "coactive_babel_by_size" in ds:
        enough = ds["n_patches_by_size"].values >= 10  # means over fewer codes are noise
        ax.plot(ds["support_size"].values[enough], ds["coactive_babel_by_size"].values[enough],
                "o", ms=4, color="k", label="co-active atoms of the codes (mean over patches, "
                                           "all λ)")
    ax.legend(fontsize=7)
    paths.append(save_figure(fig, outdir / f"{NAME}_babel.png"))
    return paths
