"""Olshausen & Field (1996): learning a sparse code for natural images gives
localized, oriented, band-pass receptive fields.

256 basis functions are learned on 16x16 patches of whitened natural images
with the Olshausen-Field rule. The figures are the basis functions as a grid
(the paper's Fig. 4a), the learning curve, and the distribution of the
coefficients against a Gaussian of equal variance (the sparse, heavy-tailed
code of the paper's Fig. 4d, whose Fig. 4b holds receptive fields mapped
with spots).

Defaults and their sources
--------------------------
- 16x16 patches and basis functions updated every 100 patches: Olshausen &
  Field (1996). 256 basis functions (a complete basis): the paper's Fig. 4
  trained 192 (three quarters of the 256 pixels); ``n_atoms=192`` gives
  its size. A 4-pixel border: the sparsenet code.
- Whitening R(f) = f exp(-(f/f0)^4), f0 = 0.4 N, variance 0.1: sparsenet
  (the paper: f0 = 200 cycles/picture on its 512x512 images; 0.4 N = 205
  there, 102 on the 256-pixel embedded photographs).
- Patches: a pool of ``n_patches`` drawn once, each from an image chosen at
  random, and minibatches drawn from that pool with replacement (the full
  run sees each patch 3 times on average); sparsenet draws 100 fresh
  patches from one image per update.
- Held-out patches: the evaluation patches (``n_eval``) come from the held-out right
  columns of every image, where no training patch lies
  (:func:`studies._held_out.held_out_split`, ``attrs["held_out"]``). Since
  2026-12-07; numbers here measured before then (unless said re-measured) drew
  both from the whole images.
- ``prior="l1"`` (default): the L1 / LCA form of the model with unit-norm atoms
  (Rozell et al. 2008; Olshausen's later sparsenet class code), lam = 0.15
  (0.1 with ``--quick``, 8x8 patches).
  ``prior="cauchy"``: the 1996 Cauchy prior with sparsenet's constants
  (lam = beta * noise_var = 0.022, sigma = 0.316 (``-p sigma=``), gain adaptation).
- Learning rate 3 decaying to 0.3 over 3,000 updates (L1): chosen so that the
  full run finishes in under 10 minutes on 2 cores with converged atoms (the
  paper: a stable solution after ~4,000 updates, ~400,000 patches). On
  Olshausen's images ``lr=10, lr_final=0.3`` gives a few more Gabor-like
  atoms (Known differences).
- Learning codes: FISTA to the learner's tolerance 1e-4 (``tol=0.2``, which
  helps ``olshausen-field-1997``, gives fewer Gabor-like atoms here: Known
  differences). Held-out codes: FISTA in float64 to ``heldout_tol`` 1e-4
  (Cauchy: L-BFGS-B MAP to 1e-6), at most ``heldout_max_iter`` 5,000
  iterations: the solvers' own defaults.
- Cauchy: sparsenet's rate 1, held constant as ``sparsenet.m`` holds it, in
  the quick run (8x8, 1,500 updates); the full run starts at 2 and decays to
  0.2 over 10,000 updates, as sparsenet's README advises (start large, then
  lower the rate "to come to a clean stable solution"). Measured with
  ``learn_dictionary`` on 100,000 16x16 patches of Olshausen's images, 192
  atoms, seed 0 (atoms with a Gabor fit of R^2 >= 0.8; one BLAS thread):
  constant rate 1 for 3,000 updates 41 of 192 (49 s), for 10,000 updates 85
  (144 s); 1 to 0.1 over 3,000 73; 2 to 0.2 over 3,000 104, 6,000 148, 10,000
  169 (157 s). Seed 1, 6,000 updates: constant 64, annealed 135. The 8x8 quick
  run does not need it (embedded photographs, 64 atoms; seeds 0 and 1,
  re-measured 2026-12-06: constant 51 and 56 of 64; 2 to 0.2, 49 and 52; 1 to
  0.1, 43 for seed 1).

Known differences from the paper
--------------------------------
The paper's model is the Cauchy-like prior, S(x) = log(1 + x^2) with
lambda / sigma = 0.14 (sigma^2 the images' variance), coefficients by
conjugate gradient until E changes by less than 1%, and gain adaptation;
the default here is the L1 prior with unit-norm atoms and FISTA codes
(``prior="cauchy"`` gives sparsenet's version of the 1996 model). The
paper reports, for its codes, a kurtosis of 20 (7.0 with the random
initial basis), an entropy of 4.0 bits (4.6; coefficient histograms in
bins of 0.04) and a mean-square reconstruction error of 10% of the image
variance. This study computes the same three statistics on its held-out
codes (attrs ``heldout_kurtosis``, ``heldout_entropy_bits``,
``heldout_error_fraction``; see :func:`code_statistics`) to set beside
them. The kurtosis is the fourth moment over the squared variance of the
pooled coefficients (a Gaussian's is 3); the paper does not say whether its
20 has 3 subtracted. L1 codes are exactly zero for most atoms, which puts a
spike at 0 into the histogram: their kurtosis is higher and their entropy
lower than those of the Cauchy prior's codes, which are never exactly zero.

The patches keep their local mean, as in sparsenet. Whitening removes each
image's mean, not a patch's, and scikit-image's photographs have large smooth
regions (sky, walls), so a few atoms learn that local mean or a slow ramp: a
full run with seed 0 (150 s on the idle 2-core machine) gave 13 of 256 atoms
with more than half their energy below 1.5 cycles per patch, 3 of them
nearly flat (the paper's Fig. 4a has none); the others are localized and
oriented (253 of 256 with a Gabor fit of R^2 >= 0.8; 252 after the held-out
split, 2026-12-07). The 8x8 quick run has
about 4 of 64 nearly flat or ramp-like atoms, counted by eye (2026-12-07): on
8x8 patches 1.5 cycles per patch is where its Gabors sit, so the energy
measure counts 16 there and does not separate them. Olshausen's own whitened images (``--images
PATH/IMAGES.mat`` or the sparsenet raw files) have little smooth area but
more fine texture: with the defaults (seed 0, 104 s) 222 of 256 atoms fit a
Gabor with R^2 >= 0.8, and about 15 of the others are high-frequency,
texture-like patterns used as often as the rest (each on ~24% of the
held-out patches); ``lam=0.3`` gives 246 of 256 and sparser codes (14% active),
at twice the error (21% of the variance against 9%).
Not the cause (measured 2026-12-06; seed 0, one BLAS thread; Gabor-like
atoms, held-out error fraction, CPU time of ``run``): the precision of the
learning codes, which cleaned ``olshausen-field-1997``'s 4x basis. FISTA at a
tolerance of 0.2 in place of 1e-4 (``inference_params`` of
``learn_dictionary``) gave 212 of 256 against 222, 9.1% against 9.0%, in 31 s
against 94 s; the quick run 31 of 64 against 49 (embedded photographs 49
against 59). In part the atoms are still settling: the dictionary still
changes by 0.9% per update at the end of the run, and 1,500 more updates from
its dictionary (``learn_dictionary``, lr 1 to 0.3, a fresh pool of 100,000
patches; 35 s) gave 234 of 256, 12 of the 34 others turned Gabor-like, and
those 34 moved further than the rest (|cos| with their start 0.90 against
0.96): slow to settle, not a fixed point. In the quick run on these images
3,000 updates in place of 1,500 gave 59 of 64, ``lr=10`` (to 1) 64 (seed 1:
62 against 46), ``lr=1`` 20, ``lr_final=0.03`` 33, a pool of 100,000 patches
53, ``lam=0.15`` 56. The full run gains less: ``lr=10`` decaying to 1 gave
235 of 256 at 9.15% (atoms on a noisier background), ``-p lr=10 -p
lr_final=0.3`` 229 at 8.93% (87 s); on the embedded photographs both 256 of
256, at 5.86% and 5.59% (defaults: 253, 5.6%). ``lr=10, lr_final=0.3`` was as
good or better in every run measured (quick, seeds 0 and 1: 56 and 63 of 64
on these images, 64 and 64 on the photographs, at equal or lower error), but
the gain on the full run is a few atoms on one seed, and the analysis studies
learn their dictionaries with this study's defaults: they are kept.

Held-out statistics of the full run, seed 0 (the paper: kurtosis 20, 4.0
bits, 10%): embedded photographs, kurtosis 68, 1.4 bits, error 6.1% of the
variance (re-measured 2026-12-07 after the held-out split, 353 s on the loaded
2-core box: 68.2, 1.43 bits, 6.09%, and 252 of 256 atoms with a Gabor fit of
R^2 >= 0.8; before the split, with distinct starting samples, 56.5, 1.58 bits,
5.60%; the 61 quoted earlier predates both); Olshausen's images, 37, 1.9 bits, 9.0%
(re-measured 2026-12-07 after the split, 472 s on the loaded box, 93 s of CPU: 35.8,
1.91 bits, 8.7%, and 220 of 256 atoms with R^2 >= 0.8). The paper's own
configuration, ``--images`` Olshausen's images ``-p prior=cauchy -p
n_atoms=192`` (re-measured 2026-12-06: 418 s on the shared 2-core box at
load 7.5, 150 s of CPU; 168 s before, on a quieter box): localized,
oriented atoms, 161 of 192 with a Gabor fit of R^2 >= 0.8 and 97% with
more than half their energy in an 8x8 window; a few low-frequency (local
mean) atoms; kurtosis 37, 4.0 bits, error 4.9%. (The constant rate used
before 2026-12-05, 3,000 updates: 59 s, atoms on a faint noisy background,
45 of 192 Gabor-like, 90% localized; the converged MAP codes of the learner
before 2026-12-04: 1053 s, 45% localized, mostly noise.) On the embedded
photographs the schedule matters less: ``-p prior=cauchy`` (256 atoms) gave
194 of 256 Gabor-like atoms, 91% localized, some texture-like (242 s on a
loaded machine); the constant rate over 3,000 updates 178 and 96% (87 s).

With ``prior="cauchy"`` the learning curve's objective and error rise
early on (the quick run on Olshausen's images: from about 0.43 and 0.07 to
0.53 and 0.13 by update 300; on the embedded photographs they barely move)
while the gain adaptation shrinks most atoms (median length 1 to 0.35, the
figure's last panel): a shorter atom needs a larger coefficient, which the
prior charges more, so each update's energy is at its own atom lengths and
not comparable across updates (the figure says so under its panels). That
is sparsenet's rule, not a fault of the learning: with the lengths fixed
(``gain_rate=0`` in :func:`v1model.learning.learn_dictionary`) the objective
falls, and once the lengths settle the energy of fixed held-out patches
falls too (its Notes have the measurements). The L1 prior's unit-length
atoms have no such term: its curves fall.

Beside sparsenet's own basis (``A144.mat``: 12x12 patches of Olshausen's
images, 144 atoms; Gabor fits of ``ringach-2002``, medians over the reliable
fits) the Cauchy atoms come out Gabor-like as often but with more lobes:
``-p prior=cauchy -p patch_size=12 -p n_atoms=144`` (seed 0) gave 139 of 144
with R^2 >= 0.8 (A144: 143), at a median frequency of 0.29 cycles/pixel
(A144: 0.24), nx = 0.65 and ny = 0.55 (A144: 0.35 and 0.47: envelopes longer
along the bars than across them); sparsenet's constant rate 1 in place of the
annealed schedule gave the same (129 of 144, 0.28, nx 0.61, ny 0.56). The
default L1 run on 16x16 patches comes closer (0.23 cycles/pixel, nx 0.35,
ny 0.54). Why is open: started from A144 itself, this rule at sparsenet's
constants (lam 0.022, rate 1) keeps it for 1,000 updates, then moves it the
same way (3,000 updates: 120 of 144, 0.26 cycles/pixel, nx 0.51), so neither
the start, the schedule nor the run length is the cause; sparsenet's start
(``rand - 0.5``) changed nothing, fresh patches every update a little (137,
nx 0.64), codes coded patch by patch as ``cgf.c`` does (not one CG over the
batch) moved further away (77), converged MAP codes much further. Only a
larger lam reached A144's shape: 0.066 gave 143 of 144, 0.21 cycles/pixel,
nx 0.36, ny 0.54, at 3x the reconstruction error (one seed each; A144's own
training settings are not known).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from v1model._frames import user_stacklevel
from studies._checks import PREWHITENED_MEANS
from studies._seed_record import records_seed
from v1model.progress import quiet_when_told
from v1model.learning import lam_units
from v1model.sweep.preflight import checks_parameters, parameters_checked

NAME = "olshausen-field-1996"
TITLE = "Emergence of simple-cell receptive fields from a sparse code of natural images"
REFERENCE = (
    "Olshausen, B. A. & Field, D. J. (1996). Emergence of simple-cell receptive field "
    "properties by learning a sparse code for natural images. Nature 381, 607-609."
)
#: parameters that take a file or folder path, with the texts they take that are no
#: path: a sweep makes their relative paths absolute (see v1model.sweep.spec)
#: units of the parameters, for a sweep's coordinates (v1model.sweep)
#: (lam's depends on the prior: the L1 prior's weighs |a| in units of X, the Cauchy prior's
#: lam = beta * noise variance weighs a dimensionless log(1 + (a/sigma)^2), so it is in
#: (units of X)^2; a run records its own as attrs["lam_units"], and a sweep over a fixed
#: prior can name it in its [units] table)
LAM_UNITS = {prior: lam_units(prior) for prior in ("l1", "cauchy")}
PARAMETER_UNITS = {"lam": "; ".join(f"{unit} (prior {prior!r})"
                                    for prior, unit in LAM_UNITS.items()),
                   "sigma": "1", "patch_size": "pixel", "heldout_tol": "1"}
PATH_PARAMETERS = {"images": ("skimage",)}

#: defaults, (quick, full), of the parameters whose default None ``run`` replaces
#: by the variant's: a sweep records them without running the study
#: (:meth:`v1model.sweep.SweepSpec.study_defaults`)
QUICK_DEFAULTS = {
    "patch_size": (8, 16),
    "n_atoms": (64, 256),  # at the default patch sizes: see DEFAULTS_FOLLOW
    "n_patches": (30000, 100000),
}
#: parameters whose default None ``run`` computes from others: n_atoms is patch_size**2
#: (a complete basis) at any patch size (a fixed 64 gave a quick sweep over patch_size =
#: 8, 12, 16 bases of 0.44x and 0.25x); a sweep that gives patch_size records no default
#: for it (:meth:`v1model.sweep.SweepSpec.study_defaults`)
DEFAULTS_FOLLOW = {"n_atoms": ("patch_size",)}

HELDOUT_TOL = {"l1": 1e-4, "cauchy": 1e-6}
"""Default tolerance of the held-out codes, by prior: the solvers' own defaults
(FISTA: relative step; Cauchy MAP: relative gradient)."""
HELDOUT_MAX_ITER = 5000
"""Default iteration limit of the held-out codes (both solvers' own default)."""

CAUCHY_FULL_UPDATES = 10000
"""Updates of the full run with ``prior="cauchy"`` (module docstring: the
16x16 Cauchy atoms need a longer, annealed run to lose their noise)."""
CAUCHY_FULL_LR = 2.0
"""Initial learning rate of that run, decaying to a tenth (sparsenet's README:
start large, then lower the rate for a clean, stable solution)."""
#: what a default None stands for where it is no one value per variant (shown by
#: ``v1model study show``; QUICK_DEFAULTS holds the others)
NONE_MEANS = {
    "prewhitened": PREWHITENED_MEANS,
    # by prior, so no one value per variant (run's own arithmetic below)
    "lam": "0.1 quick, 0.15 full (prior 'l1'); sparsenet's 0.022 (prior 'cauchy')",
    "n_updates": f"1500 quick, 3000 full; {CAUCHY_FULL_UPDATES} full with prior 'cauchy'",
    "lr": f"3.0 (prior 'l1'); 1.0 quick, {CAUCHY_FULL_LR} full (prior 'cauchy')",
    "lr_final": "lr / 10; lr itself in the quick run with prior 'cauchy'",
    "heldout_tol": ", ".join(f"{tol!r} (prior {prior!r})" for prior, tol in HELDOUT_TOL.items()),
    "sigma": "0.316, sparsenet's (prior 'cauchy'); unused by prior 'l1', which refuses a value",
}


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
    n_atoms: int | None = None,
    lam: float | None = None,
    prior: str = "l1",
    sigma: float | None = None,
    n_updates: int | None = None,
    batch_size: int = 100,
    lr: float | None = None,
    lr_final: float | None = None,
    n_patches: int | None = None,
    n_eval: int = 2000,
    heldout_tol: float | None = None,
    heldout_max_iter: int = HELDOUT_MAX_ITER,
    progress: bool = True,
) -> xr.Dataset:
    """Learn the basis; return dictionary, learning history and held-out codes.

    Parameters
    ----------
    quick : bool
        8x8 patches, 64 atoms, 1,500 updates on 30,000 patches, lam = 0.1 for
        the L1 prior (under a minute) instead of 16x16, 256 atoms, 3,000
        updates (10,000 for the Cauchy prior) on 100,000 patches, lam = 0.15.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Root seed for patches, initial dictionary and minibatches.
    images : str
        Image source for :func:`stimuli.load_images` ("skimage", an
        IMAGES.mat, a folder of sparsenet raw files or of photographs).
    prewhitened : bool, optional
        Whether the images are already whitened. Default: True for
        Olshausen's whitened files (sparsenet raw folder, ``IMAGES`` key),
        False otherwise.
    patch_size, n_atoms, lam, n_updates, lr, n_patches : int or float, optional
        Override the defaults above. ``n_atoms`` defaults to ``patch_size**2``
        (a complete basis) for any ``patch_size``. ``lam=0`` (dense least-squares codes)
        is allowed but learns nothing sparse, much slower (the L1 prior about
        25x, the Cauchy prior 20-35x: minutes for a short quick run),
        with a warning.
        In the papers' names: ``lam`` is the weight of the sparseness cost. L1
        prior: lambda of ``E = 0.5||x - aD||^2 + lam ||a||_1``, in units of X
        (the whitened pixels). Cauchy prior: sparsenet's ``beta * noise_var``
        (2.2 x 0.01 = 0.022, the default) in ``E = 0.5||x - aD||^2 + lam sum
        S(a / sigma)``, S(x) = log(1 + x^2), in (units of X)^2 (sparsenet's
        energy is this one over noise_var). ``attrs["lam_units"]`` records
        which. The paper quotes
        lambda / sigma = 0.14 (sigma^2 the images' variance) on a scaling of E
        it does not spell out; the default here is sparsenet's code's value.
        ``lr`` is the paper's learning rate eta of the basis update.
    lr_final : float, optional
        Learning rate at the last update (geometric decay from ``lr``).
        Default ``lr / 10``, or ``lr`` (constant) for the quick Cauchy run.
    prior : {"l1", "cauchy"}
    sigma : float, optional
        Scale of the Cauchy prior's S(a / sigma), > 0, in the units of the
        codes, which are dimensionless (the gain-adapted atoms carry X's
        units). Default sparsenet's 0.316 (:class:`v1model.SparseCodingNetwork`'s),
        the standard deviation of the embedded photographs whitened here
        (variance 0.1; the patches learned on, seed 0: sd 0.316 quick, 0.318
        full), as the sigma of the paper's lambda / sigma = 0.14 is the images'.
        Olshausen's whitened images, used as stored, have sd 0.281 (variance
        0.079; the patches learned on 0.277 quick, 0.276 full; measured
        2026-12-08): for them the default is 1.12 times their sd.
        The L1 prior has no such scale: with ``prior="l1"`` a value is refused,
        and the attrs record ``sigma`` (and the learner's ``learning_sigma``,
        ``learning_var_goal``, ``learning_gain_rate``, ``learning_var_eta``) as
        ``"None"``.
    batch_size : int
    n_eval : int
        Held-out patches encoded at the end for the coefficient statistics.
    heldout_tol : float, optional
        Tolerance of the held-out codes (relative, dimensionless). L1: FISTA
        stops a patch when its largest coefficient step is at most
        ``heldout_tol`` times its largest coefficient (default 1e-4, a
        relative objective gap below 1e-4). Cauchy: L-BFGS-B stops when no
        coefficient's energy gradient exceeds ``heldout_tol`` times the
        patches' scale (default 1e-6). See :func:`v1model.inference.fista`
        and :func:`v1model.learning.olshausen_field.cauchy_inference`.
    heldout_max_iter : int, default 5000
        Iteration limit of the held-out codes (FISTA iterations per patch,
        L-BFGS-B iterations per group of patches). Patches left short of
        ``heldout_tol`` there are warned of naming ``heldout_max_iter`` and
        ``heldout_tol``; the learner's own solver settings are fixed, and its
        warning, if any, says so.
    progress : bool

    Returns
    -------
    xarray.Dataset
        ``dictionary`` (atom, y, x), the learning history over ``update``,
        held-out ``codes`` (sample, atom) and their relative reconstruction
        error ``heldout_error`` (sample); all parameters in attrs, with the
        paper's code statistics (:func:`code_statistics`).
    """
    from stimuli import sample_patches
    from stimuli.images import check_patch_size, load_whitened
    from studies._checks import check_dictionary_memory, check_images, image_source_attr
    from studies._held_out import held_out_split
    from studies._defaults import following_default, quick_default
    from v1model import SparseCodingNetwork
    from v1model.io import seed_attr
    from v1model.learning.olshausen_field import SPARSENET_CAUCHY_LAM
    from v1model.validation import as_generator, check_bool, check_int, check_positive

    quick = check_bool(quick, "quick")  # "no" would be truthy
    check_images(images, prewhitened)
    patch_given = patch_size
    patch_size = check_int(quick_default(patch_size, quick, *QUICK_DEFAULTS["patch_size"]),
                           "patch_size", minimum=2)
    # a complete basis at any patch size, as the defaults (8x8: 64, 16x16: 256)
    n_atoms = check_int(following_default(n_atoms, quick, QUICK_DEFAULTS["n_atoms"],
                                          patch_given, lambda: patch_size**2),
                        "n_atoms", minimum=1)
    cauchy_full = prior == "cauchy" and not quick  # sparsenet's cleaner, annealed schedule
    n_updates = check_int(quick_default(n_updates, quick, 1500, CAUCHY_FULL_UPDATES
                                        if cauchy_full else 3000), "n_updates", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if lam is None:
        lam = SPARSENET_CAUCHY_LAM if prior == "cauchy" else (0.1 if quick else 0.15)
    if lr is None:
        lr = 3.0 if prior == "l1" else (CAUCHY_FULL_LR if cauchy_full else 1.0)
    lr = check_positive(lr, "lr")
    if lr_final is None:  # the L1 learner's own default, lr / 10
        lr_final = lr if prior == "cauchy" and quick else lr / 10
    lr_final = check_positive(lr_final, "lr_final")
    if sigma is not None:
        sigma = check_positive(sigma, "sigma")
        if prior == "l1":  # it would be recorded, not used
            raise ValueError(f"sigma={sigma!r} has no effect with prior='l1', whose L1 cost "
                             "has no scale; leave sigma out, or use prior='cauchy'")
    n_patches = check_int(quick_default(n_patches, quick, *QUICK_DEFAULTS["n_patches"]),
                          "n_patches", minimum=1)
    n_eval = check_int(n_eval, "n_eval", minimum=1)
    heldout_max_iter = check_int(heldout_max_iter, "heldout_max_iter", minimum=1)
    check_bool(progress, "progress")  # the learning's check, before the images are loaded
    rng = as_generator(seed)
    # checks lam and prior (the patch size against the images comes below)
    net = SparseCodingNetwork(n_atoms=n_atoms, patch_shape=(patch_size, patch_size), lam=lam,
                              prior=prior, **({} if sigma is None else {"sigma": sigma}))
    heldout_tol = check_positive(HELDOUT_TOL[prior] if heldout_tol is None else heldout_tol,
                                 "heldout_tol")
    check_dictionary_memory(n_atoms, patch_size**2, n_patches + n_eval,
                            f"patch_size={patch_size}, n_atoms={n_atoms}")
    parameters_checked()  # a sweep's pre-flight stops here, before any work
    if prior == "l1" and net.lam == 0:
        # allowed (plain least squares), but FISTA then needs its thousands of iterations
        # per minibatch on dense codes: ~25x slower, with nothing to say so but the
        # ConvergenceWarnings
        warnings.warn("lam=0 with prior='l1': every code is the dense least-squares "
                      "solution, which FISTA reaches slowly (about 25x slower per update "
                      "than lam=0.1, minutes for a quick run) and nothing sparse is learned; "
                      "give lam > 0", UserWarning,
                      # the line that gave lam=0: run's caller, past the package's decorators
                      stacklevel=user_stacklevel(skip=("studies",)))
    elif net.lam == 0:
        # the Cauchy prior's weight (sparsenet's beta * noise_var) at 0 leaves plain least
        # squares too, legal as for L1, and as slow: L-BFGS-B then runs to max_iter on the
        # ill-conditioned dense codes (the held-out ones all stop short of heldout_tol)
        warnings.warn("lam=0 with prior='cauchy': the prior's weight (beta * noise_var) is "
                      "zero, so every code is the dense least-squares solution, which "
                      "L-BFGS-B reaches slowly (20-35x slower than at "
                      f"lam={SPARSENET_CAUCHY_LAM}: minutes for a short quick run) and nothing "
                      "sparse is learned; give lam > 0", UserWarning,
                      stacklevel=user_stacklevel(skip=("studies",)))

    imgs, prewhitened = load_whitened(images, prewhitened, name="images")
    check_patch_size(patch_size, imgs.shape, name="patch_size")
    train, held_out, split = held_out_split(imgs, patch_size, n_eval=n_eval)
    X = sample_patches(train, patch_size, n_patches, seed=rng)
    X_eval = sample_patches(held_out, patch_size, n_eval, seed=rng)

    from studies._shortfall import named_by_study

    # the learner's ConvergenceWarning named inference_params['max_iter'] and ['tol'],
    # which the study does not take (its solver's settings are fixed here), and the
    # held-out codes' named the solver's max_iter and tol, the study's heldout_*
    # and its duplicated atoms named learn_online and init, which the study fixes too
    with named_by_study(NAME, "learning the dictionary",
                        {"max_iter": None, "tol": None, "n_updates": "n_updates",
                         "n_samples": "n_patches", "n_atoms": "n_atoms"}):
        net.learn(X, n_updates=n_updates, batch_size=batch_size, lr=lr, lr_final=lr_final,
                  seed=rng, progress=progress)
    with named_by_study(NAME, "coding the held-out patches",
                        {"max_iter": "heldout_max_iter", "tol": "heldout_tol"},
                        params={"max_iter": heldout_max_iter, "tol": heldout_tol},
                        x_name="the held-out patches"):
        codes = net.encode(X_eval, progress=progress, tol=heldout_tol,
                           max_iter=heldout_max_iter,
                           **({"method": "fista", "dtype": np.float64} if prior == "l1"
                              else {}))
    residual = X_eval - codes @ net.dictionary
    rel_err = (residual**2).sum(1) / (X_eval**2).sum(1)

    ds = net.to_dataset()
    ds["codes"] = (("sample", "atom"), np.asarray(codes, dtype=np.float32))
    # the units of the learner's mean_abs_code: those of X for the L1 prior's unit-norm
    # atoms, "1" for the Cauchy prior's gain-normalised codes
    ds["codes"].attrs.update(long_name="coefficients of held-out patches",
                             units="units of X" if prior == "l1" else "1")
    ds["heldout_error"] = ("sample", rel_err)
    ds["heldout_error"].attrs.update(
        long_name="||x - D^T a||^2 / ||x||^2 of each held-out patch", units="1")
    ds.attrs.update(code_statistics(codes, X_eval, residual))
    ds.attrs.update(
        study=NAME, reference=REFERENCE, quick=int(quick), seed=seed_attr(seed),
        images=image_source_attr(images),
        prewhitened=int(bool(prewhitened)), patch_size=patch_size, n_updates=n_updates,
        batch_size=batch_size, lr=lr, lr_final=lr_final, n_patches=n_patches, n_eval=n_eval,
        heldout_tol=heldout_tol, heldout_max_iter=heldout_max_iter, **split,
        lam_units=LAM_UNITS[prior],
    )
    return ds


ENTROPY_BIN = 0.04
"""Bin width of the coefficient histogram whose entropy the paper reports."""


def code_statistics(codes, X, residual) -> dict:
    """The statistics Olshausen & Field (1996) report for their codes.

    Parameters
    ----------
    codes : ndarray, shape (n_samples, n_atoms)
        Coefficients of held-out patches.
    X : ndarray, shape (n_samples, n_features)
        The patches.
    residual : ndarray, shape (n_samples, n_features)
        ``X - codes @ D``.

    Returns
    -------
    dict
        ``heldout_kurtosis``: ``E a^4 / (E a^2)^2`` over all coefficients
        pooled (3 for a Gaussian); ``heldout_entropy_bits``: entropy of their
        histogram in bins of :data:`ENTROPY_BIN` (bits per coefficient);
        ``heldout_error_fraction``: mean squared residual over the variance
        of the patches' pixels.

    Raises
    ------
    ValueError
        For arrays that are not 2-D, hold NaN or inf, or whose rows or shapes
        do not match.
    """
    from v1model.validation import check_array

    a = check_array(codes, "codes", ndim=2).ravel()
    X = check_array(X, "X", ndim=2)
    residual = check_array(residual, "residual", ndim=2)
    if residual.shape != X.shape or len(X) != len(codes):
        raise ValueError(f"residual {residual.shape} must have the shape of X {X.shape}, and "
                         f"codes {np.shape(codes)} one row per row of X")
    second = np.mean(a * a)
    kurt = float(np.mean(a**4) / second**2) if second > 0 else float("nan")
    # bins centred on multiples of the width: exact zeros share one with |a| < width / 2
    counts = np.unique(np.round(a / ENTROPY_BIN), return_counts=True)[1]
    p = counts / a.size
    return {
        "heldout_kurtosis": kurt,
        "heldout_entropy_bits": float(-(p * np.log2(p)).sum()),
        "heldout_error_fraction": float(np.mean(residual**2) / np.var(X)),
    }


def plot(ds: xr.Dataset, outdir) -> list[Path]:
    """Atom grid, learning curve and coefficient histogram as PNGs in ``outdir``.

    The learning curve of the Cauchy prior adds the median atom length and a note
    on why its objective and error rise while the gain adaptation shrinks the atoms
    (module docstring; :func:`v1model.plotting.plot_learning_curve`).
    """
    from v1model.io import save_figure
    from v1model.plotting import plot_atoms, plot_coefficient_histogram, plot_learning_curve
    from v1model.plotting.atoms import PRIOR_NAMES

    outdir = Path(outdir)
    D = ds["dictionary"].values
    n = D.shape[0]
    # spelt as the learning curve's title spells it ("l1 prior" here beside "L1 prior")
    prior = str(ds.attrs.get("prior", "l1"))
    paths = [
        save_figure(
            plot_atoms(D, title=f"{n} basis functions learned on {D.shape[1]}x{D.shape[2]} "
                                f"whitened patches ({PRIOR_NAMES.get(prior, prior)} prior)"),
            outdir / f"{NAME}_atoms.png",
        ),
        save_figure(plot_learning_curve(ds), outdir / f"{NAME}_learning_curve.png"),
        save_figure(
            plot_coefficient_histogram(ds["codes"].values, title=_histogram_title(ds.attrs)),
            outdir / f"{NAME}_coefficients.png",
        ),
    ]
    return paths


def _histogram_title(attrs) -> str:
    """The histogram's title, with the statistics the paper gives beside its own."""
    title = "coefficients vs Gaussian of equal variance"
    if "heldout_kurtosis" not in attrs:  # a file written before they were recorded
        return title
    return (f"{title}\nkurtosis {attrs['heldout_kurtosis']:.1f}, entropy "
            f"{attrs['heldout_entropy_bits']:.1f} bits (bins {ENTROPY_BIN:g}), error "
            f"{attrs['heldout_error_fraction']:.0%} of the variance "
            "(paper: 20, 4.0 bits, 10%)")
