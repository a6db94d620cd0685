"""A TopK sparse autoencoder on whitened natural-image patches learns
Gabor-like decoder atoms.

Sparse coding of whitened natural images gives localized, oriented,
band-pass atoms (Olshausen & Field 1996). A sparse autoencoder reaches a
sparse code with a one-layer encoder and TopK in place of iterative
inference (Gao et al. 2024); its decoder is trained on the same
reconstruction objective with unit-norm atoms, so the claim checked here is
that its atoms are Gabor-like as well:

- the decoder atoms are fitted by Gabor functions (``v1model.analysis.fit_gabor``)
  with a median R² far above that of white-noise atoms of the same size
  fitted the same way (the control);
- the code is exactly ``k``-sparse and explains most of the held-out variance.

Defaults and their sources
--------------------------
- Whitening R(f) = f exp(-(f/f0)^4), f0 = 0.4 N, variance 0.1: sparsenet /
  Olshausen & Field, through ``stimuli.images.load_whitened``.
- 12x12 patches and 288 latents (2x overcomplete), k = 10, 6,000 steps
  (quick: 8x8, 128 latents, k = 6, 2,000 steps): sizes chosen so that the
  full run takes under a minute (measured 31-41 s; quick 7-10 s); on the quick
  variant k from 4 to 8 all give Gabor-like atoms.
- Held-out patches: the evaluation patches (``n_eval``) come from the held-out right
  columns of every image, where no training patch lies
  (:func:`studies._held_out.held_out_split`, ``attrs["held_out"]``). Since
  2026-12-07; numbers here measured before then (unless said re-measured) drew
  both from the whole images.
- Adam, lr = 3e-3, batches of 256, AuxK with k_aux = n_features / 2 and
  coefficient 1/32 (Gao et al. 2024).
- Gabor-like: R² >= ``v1model.analysis.GABOR_LIKE_R2`` (0.8), the package's
  one threshold.

Measured (seed 0, 2026-12-07, held-out patches from ``stimuli.split_images``,
as in the README): quick, median R² 0.85 and 63% of the atoms Gabor-like
(white noise: 0.28), held-out FVU 0.28; full (29 s of CPU), median R² 0.78
over all 288 atoms and 0.85 over the 233 latents used by held-out patches, 48%
Gabor-like (white noise: 0.12), FVU 0.30. (2026-12-05, both sets of patches
from the whole images: quick 0.86, 61%, FVU 0.27; full 0.79, 0.85 over 239,
49%, FVU 0.29.) The unused latents keep near-random atoms (the low mode of the
R² histogram).
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

NAME = "sae-natural-patches"
TITLE = "A TopK sparse autoencoder on whitened natural-image patches learns Gabor-like atoms"
REFERENCE = (
    "Gao, L. et al. (2024). Scaling and evaluating sparse autoencoders. arXiv:2406.04093; "
    "Olshausen, B. A. & Field, D. J. (1996). Emergence of simple-cell receptive field "
    "properties by learning a sparse code for natural images. Nature 381, 607-609."
)
#: parameters that take a file or folder path, with the texts they take that are no
#: path: a sweep makes their relative paths absolute (see v1model.sweep.spec)
#: units of the parameters, for a sweep's coordinates (v1model.sweep)
PARAMETER_UNITS = {"patch_size": "pixel", "overcompleteness": "1", **gabor_fit_units()}
PATH_PARAMETERS = {"images": ("skimage",)}

#: defaults, (quick, full), of the parameters whose default None ``run`` replaces
#: by the variant's: a sweep records them without running the study
#: (:meth:`v1model.sweep.SweepSpec.study_defaults`)
QUICK_DEFAULTS = {
    "patch_size": (8, 12),
    "k": (6, 10),
    "n_steps": (2000, 6000),
    "n_patches": (20000, 100000),
}

#: Gabor-fit parameters kept in the Dataset, with their units
GABOR_UNITS = {"x0": "pixel", "y0": "pixel", "orientation": "rad",
               "frequency": "cycles/pixel", "sigma_x": "pixel", "sigma_y": "pixel", "r2": "1"}
#: white-noise atoms fitted as the control
N_CONTROL = 32
#: history variables kept in the Dataset
HISTORY_VARS = ("mse", "fvu", "l0", "n_dead")

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
    overcompleteness: int = 2,
    k: int | None = None,
    n_steps: int | None = None,
    batch_size: int = 256,
    lr: float = 3e-3,
    n_patches: int | None = None,
    n_eval: int = 2000,
    progress: bool = True,
) -> xr.Dataset:
    """Train a TopK SAE on whitened patches; fit Gabors to its decoder atoms.

    Parameters
    ----------
    quick : bool
        8x8 patches, 20,000 training patches, k = 6 and 2,000 steps (about
        10 s) instead of 12x12 patches, 100,000 patches, k = 10 and 6,000
        steps (about 40 s).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Root seed (patches, initial parameters, minibatches, control atoms).
    images : str
        Source for :func:`stimuli.load_images`.
    prewhitened : bool, optional
        Whether the images are already whitened (default: guessed, see
        :func:`stimuli.images.is_prewhitened`).
    patch_size : int, optional
        Patch side in pixels.
    overcompleteness : int
        Latents per pixel of the patch.
    k : int, optional
        Active latents per patch.
    n_steps : int, optional
        Adam steps.
    batch_size : int
        Patches per step.
    lr : float
        Adam learning rate, in (0, 1].
    n_patches : int, optional
        Training patches.
    n_eval : int
        Held-out patches for the code statistics, at least 2 (the held-out
        FVU is relative to their variance about their mean).
    progress : bool

    Returns
    -------
    xarray.Dataset
        ``dictionary`` (atom, y, x): the decoder atoms; ``gabor_*`` (atom):
        their Gabor fits; ``control_r2`` (control_atom): R² of white-noise
        atoms; ``usage`` (atom): fraction of held-out patches using each
        latent; the training history over ``step``; summary numbers and the
        parameters in attrs (``heldout_fvu``: ``sum ||x - x_hat||^2 / sum ||x -
        mean||^2`` over the held-out patches, about their own mean per pixel, as
        ``heldout_fvu_definition`` says), with the settings and bounds of the Gabor fits
        (the decoder atoms' and the control's, made alike) prefixed ``gabor_``
        (``gabor_n_starts``, ``gabor_min_sigma``, ``gabor_max_sigma``,
        ``gabor_max_frequency``, ...).
    """
    from stimuli import sample_patches
    from stimuli.images import check_patch_size, load_whitened
    from studies._held_out import held_out_split
    from studies._checks import check_images, image_source_attr
    from studies._defaults import quick_default
    from v1model.analysis import GABOR_LIKE_R2, fit_gabor, fraction_variance_unexplained
    from v1model.io import seed_attr
    from v1model.sae import SparseAutoencoder
    from v1model.validation import as_generator, check_bool, check_int, check_positive

    quick = check_bool(quick, "quick")  # "no" would be truthy
    patch_size = check_int(quick_default(patch_size, quick, *QUICK_DEFAULTS["patch_size"]),
                           "patch_size", minimum=4)
    overcompleteness = check_int(overcompleteness, "overcompleteness", minimum=1)
    n_latents = overcompleteness * patch_size * patch_size
    k = check_int(quick_default(k, quick, *QUICK_DEFAULTS["k"]), "k", minimum=1)
    if k > n_latents:  # n_latents is no parameter: say where the bound comes from
        raise ValueError(f"k must be <= {n_latents} (n_latents = overcompleteness * "
                         f"patch_size**2 = {overcompleteness} * {patch_size}**2), got {k}")
    n_steps = check_int(quick_default(n_steps, quick, *QUICK_DEFAULTS["n_steps"]),
                        "n_steps", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_positive(lr, "lr")
    if lr > 1:  # the autoencoder's own limit, checked here before any work (pre-flight)
        raise ValueError(f"lr must be <= 1 (the Adam step of the unit-norm decoder rows; "
                         f"1e-3 to 3e-3 is usual), got {lr!r}")
    n_patches = check_int(quick_default(n_patches, quick, *QUICK_DEFAULTS["n_patches"]),
                          "n_patches", minimum=1)
    if n_patches < batch_size:  # the bound is batch_size's: name it (-p batch_size alone)
        raise ValueError(f"n_patches must be >= {batch_size} (batch_size: the patches of one "
                         f"minibatch), got {n_patches}; lower batch_size or raise n_patches")
    # the held-out FVU divides by the variance about the held-out mean: none with one patch
    n_eval = check_int(n_eval, "n_eval", minimum=2)
    progress = check_bool(progress, "progress")
    check_images(images, prewhitened)
    rng = as_generator(seed)
    parameters_checked()  # a sweep's pre-flight stops here, before any work

    imgs, prewhitened = load_whitened(images, prewhitened, name="images")
    patch_size = check_patch_size(patch_size, imgs.shape, name="patch_size")
    train, held_out, split = held_out_split(imgs, patch_size, n_eval=n_eval)
    X = sample_patches(train, patch_size, n_patches, seed=rng)
    X_eval = sample_patches(held_out, patch_size, n_eval, seed=rng)

    sae = SparseAutoencoder(n_latents, "topk", k=k, n_steps=n_steps, batch_size=batch_size,
                            lr=lr, seed=rng, progress=progress)
    with _one_blas_thread():  # small matrices: BLAS threads only contend
        sae.fit(X)
        Z = sae.encode(X_eval)
        X_hat = sae.decode(Z)
    D = sae.components_.reshape(n_latents, patch_size, patch_size)
    fit = fit_gabor(D, progress=progress)
    # the control is fitted the same way (its settings and bounds are the fit's, recorded)
    control = fit_gabor(rng.standard_normal((N_CONTROL, patch_size, patch_size)))

    usage = np.count_nonzero(Z, axis=0) / len(Z)
    r2 = fit["r2"].values
    live = usage > 0
    fvu = fraction_variance_unexplained(X_eval, X_hat)

    ds = xr.Dataset(coords={"atom": np.arange(n_latents),
                            "y": ("y", np.arange(patch_size), {"units": "pixel"}),
                            "x": ("x", np.arange(patch_size), {"units": "pixel"}),
                            "control_atom": np.arange(N_CONTROL)})
    ds["dictionary"] = (("atom", "y", "x"), D, {
        "long_name": "decoder atoms (unit norm)", "units": "whitened pixel value per unit of z"})
    for v, units in GABOR_UNITS.items():
        ds[f"gabor_{v}"] = ("atom", fit[v].values, {"long_name": f"Gabor fit: {v}",
                                                     "units": units})
    ds["control_r2"] = ("control_atom", control["r2"].values, {
        "long_name": "Gabor-fit R² of white-noise atoms (control)", "units": "1"})
    ds["usage"] = ("atom", usage, {"long_name": "fraction of held-out patches using the latent",
                                   "units": "1"})
    history = sae.history_[list(HISTORY_VARS)]
    for v in HISTORY_VARS:
        ds[f"history_{v}"] = history[v]
    ds.attrs.update(
        study=NAME, title=TITLE, reference=REFERENCE, quick=int(quick), seed=seed_attr(seed),
        images=image_source_attr(images), prewhitened=int(bool(prewhitened)), patch_size=patch_size,
        overcompleteness=overcompleteness, n_latents=n_latents, k=k, n_steps=n_steps,
        batch_size=batch_size, lr=lr, n_patches=n_patches, n_eval=n_eval, **split,
        activation="topk", k_aux=int(sae.history_.attrs["k_aux"]),
        aux_coef=float(sae.history_.attrs["aux_coef"]),
        # history_n_dead counts the latents silent for this many training patches
        dead_after=int(sae.history_.attrs["dead_after"]),
        min_r2=GABOR_LIKE_R2, **gabor_fit_attrs(fit),
        median_r2=float(np.nanmedian(r2)),
        median_r2_live=float(np.nanmedian(r2[live])) if live.any() else float("nan"),
        fraction_gabor=float(np.mean(r2[np.isfinite(r2)] >= GABOR_LIKE_R2)),
        control_median_r2=float(np.nanmedian(control["r2"].values)),
        n_live=int(live.sum()),
        heldout_fvu=fvu,
        # the denominator: 1 is no better than the held-out patches' own mean
        heldout_fvu_definition=("sum over the held-out patches of ||x - x_hat||^2 / sum of "
                                "||x - mean||^2, mean: of the held-out patches, per pixel "
                                "(v1model.analysis.fraction_variance_unexplained)"),
        heldout_mean_l0=float(np.count_nonzero(Z) / len(Z)),
        receptive_field_analysis="v1model.analysis.fit_gabor",
    )
    return ds


def _one_blas_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def plot(ds: xr.Dataset, outdir) -> list[Path]:
    """Decoder atoms, Gabor-fit R² against the white-noise control, the
    fraction of variance unexplained (training and held-out) and the usage of
    the latents, as PNGs in ``outdir``."""
    from v1model.io import save_figure
    from v1model.plotting import plot_atoms
    from v1model.plotting._mpl import pyplot

    plt = pyplot()
    outdir = Path(outdir)
    paths = []
    D = ds["dictionary"].values
    order = np.argsort(-ds["usage"].values)  # most used first
    fig = plot_atoms(D[order].reshape(len(D), -1), patch_shape=D.shape[1:],
                     title=f"TopK SAE decoder atoms (k={ds.attrs['k']}), most used first")
    paths.append(save_figure(fig, outdir / f"{NAME}_atoms.png"))

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    bins = np.linspace(0, 1, 21)
    ax = axes[0]
    # each bar a fraction of its own set: 128 decoder atoms against 32 control atoms
    for values, label in ((ds["gabor_r2"].values, "decoder atoms"),
                          (ds["control_r2"].values, "white-noise atoms")):
        values = values[np.isfinite(values)]
        ax.hist(values, bins=bins, alpha=0.7, weights=np.full(values.size, 1 / values.size),
                label=f"{label} ({values.size})")
    ax.axvline(ds.attrs["min_r2"], color="k", lw=0.8, ls="--")
    ax.set_xlabel("Gabor fit R² (fraction)")
    ax.set_ylabel(f"fraction of the atoms per {bins[1] - bins[0]:g}-wide bin")
    ax.legend(fontsize=7)
    ax.set_title(f"{ds.attrs['fraction_gabor']:.0%} of atoms with R² ≥ {ds.attrs['min_r2']:g}",
                 fontsize=9)

    ax = axes[1]
    ax.plot(ds["step"].values, ds["history_fvu"].values, lw=0.6, color="C0", alpha=0.6,
            label="training minibatches")
    heldout = ds.attrs.get("heldout_fvu")
    if heldout is not None and np.isfinite(heldout):  # the number the README quotes
        ax.axhline(heldout, color="C3", ls="--", lw=1.4, zorder=3,
                   label=f"held-out patches: {float(heldout):.3f}")
    ax.set_xlabel("training step (count)")
    ax.set_ylabel("variance unexplained (fraction)")
    ax.set_ylim(bottom=0)
    # the curve falls from the upper left: an explicit place, not a slow "best" search
    # over every training step
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("fraction of variance unexplained (FVU)", fontsize=9)

    ax = axes[2]
    # a TopK code's active count is k by construction: how the k slots are shared out
    # among the latents is what varies (a few hogs, or dead latents, or even use)
    usage = ds["usage"].values
    used = usage[usage > 0]
    n, k = usage.size, int(ds.attrs["k"])
    if used.size:
        lo = min(float(used.min()), k / n) / 1.5
        ax.hist(used, bins=np.geomspace(lo, max(float(used.max()), k / n) * 1.5, 25),
                color="C2", alpha=0.8)
    ax.axvline(k / n, color="k", lw=0.8, ls="--", label=f"even use: k / latents = {k}/{n}")
    ax.set_xscale("log")
    ax.set_xlabel("fraction of held-out patches the latent is active on")
    ax.set_ylabel("latents (count)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"latent usage: {used.size} of {n} latents used"
                 + (f" ({n - used.size} never, not shown)" if used.size < n else ""), fontsize=9)
    fig.tight_layout()
    paths.append(save_figure(fig, outdir / f"{NAME}_fits.png"))
    return paths
