"""SAILnet (Zylberberg, Murphy & DeWeese 2011): spiking neurons with local
plasticity learn localized, oriented and diverse receptive fields.

A network of leaky integrate-and-fire units learns its feed-forward weights
(Oja's rule), lateral inhibition (Földiák's rule) and thresholds
(homeostasis) from normalised natural patches. The figures are the learned
receptive fields as a grid, the firing-rate distribution
(every unit near the target rate p; sparse, heavy-tailed spike counts), the
learned inhibitory weight of every pair against the overlap of the two
receptive fields (similar units inhibit each other most), the fields in
Ringach's (nx, ny) plane (the paper's measure of their diverse shapes, beside
the macaque cells: reliable Gabor fits only, as ``ringach-2002`` places them)
and the learning history.

Defaults and their sources
--------------------------
- Network and learning: the authors' MATLAB code (``init.m``,
  ``activities.m``, ``SAILnet.m``): 16x16 patches normalised to zero mean and
  unit variance, 256 units, p = 0.05 spikes per unit per image, alpha = 1,
  beta = 0.01, gamma = 0.1, initial theta = 2, W = 0, batches of 100,
  inference over 5 membrane time constants in steps of 0.1 tau.
- Updates: 10,000 instead of the authors' 25,000 — the receptive fields are
  localized and oriented after ~5,000; a batch takes 10-25 ms on 2 cores
  (about 4-5 minutes in all; 31 minutes measured on the loaded shared test
  machine). ``-p n_updates=25000`` gives the original length.
- Images: the embedded photographs whitened as in sparsenet (the authors used
  Olshausen's whitened images; pass ``--images`` to use them).
- Learning uses the vectorised NumPy LIF (the authors' own discrete-time
  scheme); the Brian2 network is run on held-out patches and must agree
  spike for spike (``brian2_agreement``).
- Held-out patches: the learning draws from the left 80% of the columns of
  every image, the evaluation patches from the right 20%
  (``stimuli.split_images``, ``attrs["held_out"]``; since 2026-12-07), so that
  none shares a pixel with a training patch; the 20-pixel border is cut to a
  quarter of what a patch leaves of the narrower part where it must be
  (``border`` for the learning, ``eval_border`` for the evaluation: 10 pixels
  for 8x8 patches of 256x256 images, 8 for 16x16).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from studies._gabor_fit import gabor_fit_attrs, gabor_fit_units
from studies._checks import PREWHITENED_MEANS
from studies._seed_record import records_seed
from v1model.progress import quiet_when_told
from v1model.sweep.preflight import checks_parameters, parameters_checked

NAME = "zylberberg-2011-sailnet"
TITLE = "SAILnet: local plasticity in spiking neurons learns diverse V1 receptive fields"
REFERENCE = (
    "Zylberberg, J., Murphy, J. T. & DeWeese, M. R. (2011). A sparse coding model with "
    "synaptically local plasticity and spiking neurons can account for the diverse shapes "
    "of V1 simple cell receptive fields. PLoS Comput. Biol. 7(10), e1002250."
)
#: units of the attrs that vary between a sweep's points (the wall clock: also between runs)
PARAMETER_UNITS = {"patch_size": "pixel", "p": "spikes/image", "theta0": "units of X",
                   "wall_time": "s", "brian2_tau": "s", **gabor_fit_units()}
#: parameters that take a file or folder path, with the texts they take that are no
#: path: a sweep makes their relative paths absolute (see v1model.sweep.spec)
PATH_PARAMETERS = {"images": ("skimage",)}


#: defaults, (quick, full), of the parameters whose default None ``run`` replaces
#: by the variant's: a sweep records them without running the study
#: (:meth:`v1model.sweep.SweepSpec.study_defaults`)
QUICK_DEFAULTS = {
    "patch_size": (8, 16),
    "n_neurons": (64, 256),  # at the default patch sizes: see DEFAULTS_FOLLOW
    "n_updates": (3000, 10000),
    "n_brian2": (20, 100),
}
#: parameters whose default None ``run`` computes from others: n_neurons is
#: patch_size**2, one unit per pixel as in the authors' code (256 units on 16x16 patches,
#: 64 on 8x8), at any patch size (a fixed 64 gave a quick sweep over patch_size = 8, 12,
#: 16 networks of 0.44x and 0.25x); a sweep that gives patch_size records no default for
#: it (:meth:`v1model.sweep.SweepSpec.study_defaults`)
DEFAULTS_FOLLOW = {"n_neurons": ("patch_size",)}

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
    images: str = "skimage",
    prewhitened: bool | None = None,
    patch_size: int | None = None,
    n_neurons: int | None = None,
    n_updates: int | None = None,
    p: float = 0.05,
    alpha: float = 1.0,
    beta: float = 0.01,
    gamma: float = 0.1,
    theta0: float = 2.0,
    batch_size: int = 100,
    n_eval: int = 2000,
    n_brian2: int | None = None,
    brian2_target: str = "numpy",
    progress: bool = True,
) -> xr.Dataset:
    """Learn SAILnet on natural patches; return weights, history and held-out spike counts.

    Parameters
    ----------
    quick : bool
        8x8 patches, 64 units, 3,000 updates (under a minute) instead of
        16x16, 256 units, 10,000 updates.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Root seed (patches, initial weights).
    images : str
        Image source for :func:`stimuli.load_images`.
    prewhitened : bool, optional
        Whether ``images`` are already whitened (default: guessed from the source).
    patch_size, n_neurons, n_updates : optional
        Override the defaults above (``n_neurons`` >= 2: the figures compare
        pairs of units). The default ``n_neurons`` is ``patch_size**2`` (one unit
        per pixel, as the authors' 256 units on 16x16 patches), also for a given
        ``patch_size``.
    p, alpha, beta, gamma, theta0 : float
        SAILnet's parameters (see :func:`v1model.spiking.learn_sailnet`);
        defaults 0.05, 1.0, 0.01, 0.1 and 2.0. A lower ``p`` is reached more
        slowly (the thresholds move by ``gamma * (<n> - p)`` per update): on 8x8
        whitened patches ``p = 0.02`` still fired 1.5x ``p`` over updates 2,501-3,000
        and came within 10% of it only after ~7,000 (``learn_sailnet``'s ``p``);
        compare ``mean_rate`` with ``p``.
    batch_size : int, default 100
        Patches per update (see :func:`v1model.spiking.learn_sailnet`).
    n_eval : int
        Held-out patches whose spike counts give the rate distribution; refused
        before any work when they and their inference's arrays would not fit in
        memory.
    n_brian2 : int, optional
        Held-out patches also simulated with the Brian2 network (default 20
        in quick mode, 100 otherwise; 0 skips Brian2). Refused before any work
        when their synapses, one per pair of units per patch at most, would not
        fit in memory.
    brian2_target : {"numpy", "cython", "cpp_standalone"}
    progress : bool

    Returns
    -------
    xarray.Dataset
        The :func:`~v1model.spiking.learn_sailnet` Dataset (``Q``, ``W``,
        ``theta``, ``rate``, history over ``update``) plus ``eval_counts``
        (sample, neuron: each neuron's spikes for each held-out patch, units
        "spikes" as :func:`~v1model.spiking.sailnet_inference` labels them; the
        rates ``rate`` and ``mean_rate`` are in spikes/image), ``rf_spread``
        (neuron), ``rf_overlap`` (neuron, neuron_pre), ``gabor_nx``, ``gabor_ny``, ``gabor_r2`` and
        ``gabor_reliable`` (neuron: Gabor fits of the fields and
        :func:`v1model.analysis.reliable_gabor_fits`; their count and medians
        in ``attrs``, with the fits' settings and bounds prefixed ``gabor_``:
        ``gabor_n_starts``, ``gabor_min_sigma``, ``gabor_max_sigma``,
        ``gabor_max_frequency``, ...), and scalars ``overlap_correlation`` (Pearson r of W_ij
        with the overlap), ``brian2_agreement`` (fraction of equal counts).
        ``attrs["wall_time"]`` is the learning's wall-clock time (s): the one
        attr that differs between runs of one seed. ``attrs["dtype"]`` is the
        learning kernel's precision; ``eval_counts`` are counted in float64 (its
        ``dtype`` attr), and ``attrs["brian2_tau"]`` is the Brian2 network's membrane
        time constant (s; its clock steps ``eta * brian2_tau``).
    """
    from stimuli import sample_patches
    from stimuli.images import load_whitened
    from studies._held_out import held_out_split
    from studies._defaults import following_default, quick_default
    from v1model.io import seed_attr
    from v1model.spiking import (
        learn_sailnet,
        rf_overlap,
        rf_spread,
        sailnet_inference,
    )
    from stimuli.images import check_patch_size
    from studies._checks import check_images, image_source_attr
    from v1model.spiking._brian import TARGETS, check_synapses_fit
    from v1model.spiking.sailnet import BRIAN2_TAU
    from v1model.analysis import fit_gabor, reliable_gabor_fits
    from v1model.analysis._common import pearson_r
    from v1model.validation import (as_generator, check_bool, check_choice, check_fits_in_memory,
                                    check_int)

    quick = check_bool(quick, "quick")  # "no" would be truthy
    check_images(images, prewhitened)
    patch_given = patch_size
    patch_size = check_int(quick_default(patch_size, quick, *QUICK_DEFAULTS["patch_size"]),
                           "patch_size", minimum=2)
    # one unit per pixel at any patch size, as the defaults (8x8: 64, 16x16: 256)
    n_given = n_neurons
    n_neurons = check_int(following_default(n_neurons, quick, QUICK_DEFAULTS["n_neurons"],
                                            patch_given, lambda: patch_size**2),
                          "n_neurons", minimum=1)
    if n_neurons < 2:
        # one unit has no lateral inhibition: the study's W_ij against the RF overlap of
        # pairs (overlap_correlation, its figure) would fail after the learning
        raise ValueError(f"n_neurons must be >= 2 (the study compares the inhibition of "
                         f"pairs of units with their receptive-field overlap), got {n_neurons}")
    n_updates = check_int(quick_default(n_updates, quick, *QUICK_DEFAULTS["n_updates"]),
                          "n_updates", minimum=1)
    n_brian2 = check_int(quick_default(n_brian2, quick, *QUICK_DEFAULTS["n_brian2"]),
                         "n_brian2", minimum=0)
    n_eval = check_int(n_eval, "n_eval", minimum=1)
    n_brian2 = min(n_brian2, n_eval)  # Brian2 runs on held-out patches: at most n_eval of them
    # n_neurons follows a given patch_size: its errors say so (patch_size=300 was refused as
    # "n_neurons=90000 neurons would take ...", a parameter the user never gave)
    origin = (f"; n_neurons is the default patch_size**2 for patch_size={patch_size}: give "
              f"a smaller patch_size, or n_neurons" if n_given is None and patch_given is not None
              else "")
    _check_learning_parameters(patch_size, n_neurons, p, alpha, beta, gamma, theta0, batch_size,
                               origin)
    if n_brian2 > 0:  # sailnet_inference's check, under this study's name
        check_choice(brian2_target, "brian2_target", TARGETS)
    check_bool(progress, "progress")  # "abc" would be truthy
    # the held-out patches and sailnet_inference's drives, potentials and spike counts
    # (float64): refused by sailnet_inference only after the learning, naming its n_samples
    check_fits_in_memory((n_eval, patch_size**2 + 6 * n_neurons), np.float64, "n_eval", n_eval,
                         f"held-out patches of {patch_size}x{patch_size} pixels and the drives, "
                         f"potentials and spike counts of {n_neurons} neurons")
    if n_brian2 > 0:
        # one synapse per non-zero W_ij per patch, at most every pair of units (the learned
        # W is not known yet): sailnet_inference refused a batch too big for the memory only
        # after the learning and the NumPy inference, naming its own n_samples
        n_pairs = n_neurons * (n_neurons - 1)
        check_synapses_fit(n_brian2, n_pairs, "n_brian2", n_brian2,
                           f"held-out patches of up to n_neurons * (n_neurons - 1) = {n_pairs} "
                           f"inhibitory synapses each")
    rng = as_generator(seed)
    parameters_checked()  # a sweep's pre-flight stops here, before any work

    imgs, prewhitened = load_whitened(images, prewhitened, name="images")
    patch_size = check_patch_size(patch_size, imgs.shape, border=0, name="patch_size")
    train, held_out, split = held_out_split(imgs, patch_size, border=0)
    # SAILnet's 20-pixel border, at most a quarter of what a patch leaves of each part
    border = min(20, (min(train.shape[1:]) - patch_size) // 4)
    eval_border = min(border, (min(held_out.shape[1:]) - patch_size) // 4)
    ds = learn_sailnet(train, n_neurons, patch_size=patch_size, p=p, alpha=alpha, beta=beta,
                       gamma=gamma, theta0=theta0, batch_size=batch_size, n_updates=n_updates,
                       border=border, seed=rng, progress=progress,
                       record_every=max(1, n_updates // 1000))

    X_eval = sample_patches(held_out, patch_size, n_eval, seed=rng, border=eval_border,
                            normalize=True)
    Q = ds["Q"].values.reshape(n_neurons, -1)
    W, theta = ds["W"].values, ds["theta"].values
    counts = sailnet_inference(X_eval, Q, W, theta, dtype=np.float64)
    agreement = np.nan
    if n_brian2 > 0:
        brian = sailnet_inference(X_eval[:n_brian2], Q, W, theta, simulator="brian2",
                                  target=brian2_target, progress=progress)
        agreement = float(np.mean(brian == counts[:n_brian2]))

    overlap = rf_overlap(Q)
    off = ~np.eye(n_neurons, dtype=bool)
    corr = pearson_r(W[off], overlap[off])
    # the paper's claim is the diversity of the shapes, shown in Ringach's (nx, ny) plane:
    # the study drew no such measure. Only reliable fits count (a flat field or an edge
    # is fitted by a sub-cycle "Gabor" at the plane's origin, see ringach-2002)
    fit = fit_gabor(ds["Q"].values, progress=progress)
    reliable = reliable_gabor_fits(fit).values

    # counted in float64 (the learning's kernel ran in attrs["dtype"], float32)
    ds["eval_counts"] = (("sample", "neuron"), counts.astype(np.int32),
                         {"long_name": "spikes per neuron per held-out patch", "units": "spikes",
                          "dtype": "float64"})
    ds["rf_spread"] = ("neuron", rf_spread(ds["Q"].values),
                       {"long_name": "spatial spread of the receptive field", "units": "pixel"})
    ds["rf_overlap"] = (("neuron", "neuron_pre"), overlap,
                        {"long_name": "cosine overlap of receptive fields", "units": "1"})
    ds["overlap_correlation"] = ((), corr, {"long_name": "Pearson r of W_ij with overlap",
                                            "units": "1"})
    ds["brian2_agreement"] = ((), agreement,
                              {"long_name": "fraction of Brian2 counts equal to NumPy's",
                               "units": "1"})
    for name, long_name in (("nx", "nx = sigma_x * frequency (Ringach 2002)"),
                            ("ny", "ny = sigma_y * frequency (Ringach 2002)"),
                            ("r2", "R^2 of the Gabor fit")):
        ds[f"gabor_{name}"] = ("neuron", fit[name].values,
                               {"long_name": f"Gabor fit of the field: {long_name}",
                                "units": "1"})
    ds["gabor_reliable"] = ("neuron", reliable,
                            {"long_name": "reliable Gabor fit "
                                          "(v1model.analysis.reliable_gabor_fits)",
                             "units": "1"})
    ds = ds.assign_coords(sample=np.arange(n_eval))
    ds.attrs.update(
        study=NAME, reference=REFERENCE, quick=int(quick), seed=seed_attr(seed),
        images=image_source_attr(images),
        prewhitened=int(bool(prewhitened)), patch_size=patch_size, n_eval=n_eval,
        n_brian2=n_brian2, brian2_target=brian2_target, eval_border=eval_border,
        # the Brian2 network's membrane time constant (s): its clock steps eta * brian2_tau
        brian2_tau=BRIAN2_TAU,
        **split,
        # the settings and bounds of the fits, which the reliable ones depend on
        **gabor_fit_attrs(fit), n_reliable_fits=int(reliable.sum()),
        median_nx=float(np.median(fit["nx"].values[reliable])) if reliable.any() else np.nan,
        median_ny=float(np.median(fit["ny"].values[reliable])) if reliable.any() else np.nan,
    )
    return ds


def _check_learning_parameters(patch_size, n_neurons, p, alpha, beta, gamma, theta0,
                               batch_size, n_neurons_origin="") -> None:
    """:func:`v1model.spiking.learn_sailnet`'s checks of the parameters the study
    passes on (its own function and messages, at its default ``n_steps``), made
    before the images are loaded; the patch size against the images' comes once
    they are. ``n_neurons_origin``: said at the end of the messages about ``n_neurons``
    when the user did not give it."""
    import inspect

    from v1model.spiking import learn_sailnet
    from v1model.spiking.sailnet import learning_parameters
    from v1model.validation import check_int

    n_steps = inspect.signature(learn_sailnet).parameters["n_steps"].default  # not passed on
    learning_parameters(n_neurons, p, alpha, beta, gamma, theta0, batch_size, n_steps,
                        n_neurons_origin=n_neurons_origin)
    check_int(patch_size, "patch_size", minimum=2)


def plot(ds: xr.Dataset, outdir) -> list[Path]:
    """RF grid, firing-rate distribution, inhibition vs overlap, the reliable Gabor fits in
    the (nx, ny) plane (results saved with them) and the learning history."""
    from v1model.analysis import GABOR_LIKE_R2
    from v1model.io import save_figure
    from v1model.plotting import plot_atoms, plot_nx_ny
    from v1model.plotting.spiking import plot_inhibition_vs_overlap, plot_rate_distribution

    outdir = Path(outdir)
    Q = ds["Q"].values
    n, h, w = Q.shape
    counts = ds["eval_counts"].values
    p = float(ds.attrs["p"])
    paths = [
        save_figure(plot_atoms(Q, title=f"SAILnet: {n} receptive fields ({h}x{w}), "
                                        f"{int(ds.attrs['n_updates'])} updates"),
                    outdir / f"{NAME}_receptive_fields.png"),
        save_figure(plot_rate_distribution(counts.mean(axis=0), counts, target=p,
                                           title="held-out patches"),
                    outdir / f"{NAME}_rates.png"),
        save_figure(plot_inhibition_vs_overlap(ds["W"], ds["rf_overlap"],  # by dim name
                                               title="learned inhibition"),
                    outdir / f"{NAME}_inhibition_vs_overlap.png"),
        save_figure(_learning_figure(ds), outdir / f"{NAME}_learning.png"),
    ]
    if "gabor_reliable" in ds:
        good = np.asarray(ds["gabor_reliable"].values, dtype=bool)
        # plot_nx_ny selects by R^2 only: hand it the reliable fits alone
        fit = xr.Dataset({v: ("atom", ds[f"gabor_{v}"].values[good]) for v in ("nx", "ny", "r2")})
        paths.append(save_figure(
            plot_nx_ny(fit, labels=[f"SAILnet: {good.sum()} of {n} fields reliably fitted"],
                       min_r2=GABOR_LIKE_R2,
                       title="SAILnet receptive fields in Ringach's nx-ny plane\n"
                             "(reliable Gabor fits, as ringach-2002)"),
            outdir / f"{NAME}_nx_ny.png"))
    return paths


def _learning_figure(ds):
    """The learning history, titled with its length and, while the mean lateral
    weight still rises over the last tenth of the updates, "not converged"."""
    from v1model.plotting import plot_learning_curve

    head = ("" if "quick" not in ds.attrs
            else "quick run, " if int(ds.attrs["quick"]) else "full run, ")
    title = f"{head}{int(ds.attrs.get('n_updates', ds.sizes['update']))} updates"
    rise = _late_rise(ds["mean_W"].values) if "mean_W" in ds else np.nan
    if rise > 0.01:  # a quick run stops while Földiák's rule is still building W
        title += (f": not converged (mean W rose {rise:.0%} over the last tenth of the "
                  "updates)")
    return plot_learning_curve(ds, variables=("mean_rate", "mean_theta", "mean_W"),
                               title=title)


def _late_rise(y):
    """Relative change of ``y`` between the last two tenths of its length."""
    n = len(y) // 10
    if n < 1:
        return np.nan
    before, last = np.mean(y[-2 * n:-n]), np.mean(y[-n:])
    return float((last - before) / abs(before)) if before else np.nan
