"""Olshausen & Field (1997): sparse coding with an overcomplete basis set.

Complete, 2x and 4x overcomplete dictionaries are learned on the same
whitened natural-image patches with the same sparseness weight ``lam``. The
paper's observations reproduced here:

- the atoms are localized, oriented and band-pass (Gabor fits with high r2),
  as in the complete case of 1996, on the embedded photographs and on
  Olshausen's images (``--images``); on the photographs in the overcomplete
  bases nearly all as in the complete one (full run, seed 0, atoms with a
  Gabor fit of r2 >= 0.8, re-measured 2026-12-07 after the held-out split:
  photographs 144 of 144, 288 of 288 and 568 of 576, 25 / 28 / 30 atoms
  active per held-out patch; Olshausen's images 141, 271 and 468, 36 / 40 /
  45 active, the 4x basis with a few rows of noisy, texture-like atoms among
  its 108 others. Before the split, patches drawn from the whole images:
  Olshausen's images 139, 278 and 540, photographs 143, 287 and 575; with the
  learner's own tolerance for the learning codes, ``learning_tol`` below:
  140, 236 and 335, photographs 144, 276 and 426);
- with more atoms the basis tiles position, orientation and spatial frequency
  more densely (as in the paper: centres in the patch, and orientation x
  spatial frequency in polar coordinates, here over the half-disc of
  orientations 0-180 degrees where the paper draws each atom at theta and
  theta + 180);
- at equal ``lam`` an overcomplete basis codes held-out patches with a lower
  energy ``0.5||x - aD||^2 + lam ||a||_1`` (the extra atoms are used).
- the codes are sparse: the held-out coefficients, all atoms' pooled, have a
  heavy-tailed distribution, their kurtosis far above a Gaussian's 3
  (``heldout_kurtosis`` and ``heldout_entropy_bits``, olshausen-field-1996's
  measures; the coding figure's last panel; their histogram, saved as
  ``coefficient_counts``, in the coefficients figure; full run on Olshausen's images,
  seed 0, 2026-12-07: 33 / 62 / 106 at 1x / 2x / 4x, 1.9 / 1.1 / 0.7 bits per
  coefficient: the more atoms, the larger the share of exact zeros among them;
  olshausen-field-1996 sets the 1996 paper's 20 and 4.0 bits beside its own).

Defaults and their sources
--------------------------
- Whitening R(f) = f exp(-(f/f0)^4), f0 = 0.4 N, variance 0.1; 4-pixel border:
  sparsenet / Olshausen & Field.
- 12x12 patches (quick: 8x8), 1x, 2x and 4x overcomplete: sizes chosen so
  that the full run takes minutes, not the paper's exact configuration.
- L1 form of the sparse prior (unit-norm atoms) learned with the online
  algorithm of Mairal et al. (2009) and FISTA codes
  (``learner="olshausen-field"`` uses the 1996 gradient rule instead, its
  FISTA codes at that learner's own tolerance 1e-4, not ``learning_tol``);
  the energy is the paper's, the descent on it differs.
- lam = 0.15, the 1996 study's value (0.47 times the pixels' standard
  deviation 0.32, a ratio that does not depend on the patch size: the
  coefficient of a unit-norm atom has the scale of one pixel, not of the
  patch). On Olshausen's 12x12 patches it leaves a mean-square error of 8.8%
  of the patches' variance (``heldout_error_fraction``; 9.2% before the
  held-out split; the photographs 6.1%), the paper's 10%
  (lam = 0.1: 5.5%, with dense, noisy codes); ``reconstruction_error``, the
  mean over patches of each one's relative error, is larger, low-contrast
  patches weighing as much as the others.
- ``forget_factor = 30`` (the online learner's default is 10): the newest
  minibatch weighs (forget_factor + 1) / t in the learner's statistics, so
  the dictionary's steps shrink like 1/t, and at 10 the slowest atoms froze
  near their initial patches as noisy, texture-like patterns (their training
  energy curve looked flat all the same). Measured on the complete basis,
  seed 0, 600 updates, learning codes at tol 1e-2 (atoms with a Gabor fit
  of R^2 >= 0.8, of 144; Olshausen's images / embedded photographs): lam
  0.1, forget_factor 10: 67 / 120; lam 0.15: 97 / 133; lam 0.2: 115 / 140
  (a mean-square error of 13%);
  1,200 updates at lam 0.1, 0.15, 0.2: 79, 118, 125 / 126, 138, 143;
  forget_factor 30: 124 at lam 0.1, 138 / 143 at lam 0.15 (forget_factor 1
  and 3 at lam 0.15: 23 and 47 on Olshausen's images). Quick run (8x8,
  complete, Olshausen's images, learning codes at tol 1e-2; re-measured
  2026-12-06): 49 of 64 before, 60 of 64 with forget_factor 30.
- ``learning_tol = 0.1``, the FISTA tolerance of the codes the online
  learner fits the atoms to (the learner's default 1e-2 is tuned for the
  held-out objective per unit of work, not for the atoms; 0.2, the default
  until 2026-12-06, crowded the overcomplete atoms: end of this item). At 1e-2 the 4x
  basis kept noisy, texture-like atoms, used as often as the Gabor-like
  ones (none re-seeded): 335 of 576 in a full run; more updates helped
  slowly (1,200: 381, 2,400: 416), lam, forget_factor and more
  block-coordinate passes not at all. Quick runs (8x8, Olshausen's images,
  seed 0; atoms with r2 >= 0.8 of 64 / 128 / 256; re-measured 2026-12-07
  with ``-p learning_tol=``, the 2026-12-06 numbers in brackets):
  tol 1e-2: 63 / 116 / 158 (60 / 116 / 155; seed 1: 63 / 118 / 168); tol 0.1:
  61 / 122 / 212 (61 / 124 / 218); tol 0.2: 60 / 120 / 234 (60 / 123 / 230;
  seed 1: 59 / 119 / 232), the held-out energy at most 0.9% higher than at
  1e-2 (4x: 6.6% of the variance left against 6.0%; 0.1: 6.05%). Full
  run, Olshausen's images: 139 / 278 / 540 against 140 / 236 / 335, the
  held-out energy at most 0.5% higher (9.2% and 6.0% of the variance left at
  1x and 4x, against 9.1% and 5.7%), in 54 s of CPU time against 101 s (the
  codes stop sooner).
  At 1e-2 on the 4x basis alone: 200 / 400 / 800 updates 155 / 176 / 186
  on 30,000 patches, 162 / 193 / 218 on 100,000 (many passes over few
  patches count for less than fresh ones); lam 0.1 / 0.2 / 0.3: 152 / 159
  / 141; forget_factor 10 / 20 / 50 / 100: 138 / 168 / 136 / 114 (seed 1:
  154 at 20, 152 at 30). Why the looser codes give cleaner atoms, as far as
  measured (the quick 4x basis learned alone, seed 0, 200 updates: 158
  Gabor-like atoms at tol 1e-2, 228 at 0.2; each minibatch's learning codes
  set beside the same minibatch coded to tol 1e-4): the learner starts FISTA
  from zero on every minibatch (no warm start), and at 0.2 it stops after 6
  iterations on average (1e-2: 50), before explaining away has pruned the
  atoms correlated with a patch. The codes are denser, not sparser: 83 atoms
  active per patch against 21 (converged codes 20), an L1 norm 16% above the
  converged codes', 9% of the energy left against 6%; so not a larger lam
  (nor a smaller one, above). The number of iterations decides, not the
  stopping rule or the start: a fixed 2 / 6 / 20 iterations gave 242 / 225 /
  165 Gabor-like atoms (held-out energy 4% above tol 1e-2's, then within 0.3%
  of it; 6 iterations, seed 1: 225 against 152); the tol-1e-2 dictionary
  learned on at 0.2 for 200 more updates reached 234, the tol-0.2 one learned
  on at 1e-2 fell back to 167. At 1e-2 the noisy atoms are no frozen initial
  patches (mean |cos| 0.30 with their initial patch, the Gabor-like atoms
  0.45) and still move more per update than the Gabor-like ones. What differs
  is how the atoms spread: at 1e-2 they keep apart (mean |cos| with the
  nearest other atom 0.49; 20 iterations 0.50) and carry more energy above
  0.4 cycles/pixel (6.0% against 4.8%); with fewer iterations they crowd
  together (6: 0.59, tol 0.2: 0.65, 2: 0.76). A reading, not a measurement:
  converged codes explain away, so similar atoms compete for a patch and the
  learner spreads the losers into what the others leave over (fine texture);
  unfinished codes share a patch among similar atoms, which all move toward
  it. The cost is larger on the embedded photographs (the default
  ``images``): quick 4x, 217 against 249 atoms at tol 1e-2 and 0.2, the
  held-out energy 2.8% higher at 0.2 (4.2% of the variance left against
  3.75%; Olshausen's images 155 against 230, 0.1% higher).
  That crowding is the cost of 0.2 (re-measured 2026-12-06, quick 4x basis
  learned alone, 200 updates, seed 0, held-out energy on 2,000 patches coded
  to tol 1e-4; photographs / Olshausen's images): at tol 0.2, 8.2% / 0% of
  the atoms have an |cosine| > 0.9 with another (32% / 2.3% above 0.8; mean
  |cos| with the nearest other atom 0.74 / 0.67) and the held-out energy is
  0.682 / 0.673; at 0.1: 0.8% / 0% (8.6% / 0% above 0.8; 0.66 / 0.55),
  0.667 / 0.665, 253 / 214 Gabor-like atoms (0.2: 256 / 238); at 0.05:
  0.8% / 0%, 0.661 / 0.665, 225 / 175; at 1e-2: 0% / 0%, 0.662 / 0.666,
  206 / 159; scikit-learn's ``MiniBatchDictionaryLearning`` (converged
  LARS codes, 2 epochs) 0%, mean nearest |cos| 0.55, 0.681, 122. No atom
  was unused on the held-out patches in any of them. Re-seeding near-copies
  at |cos| > 0.9 (``duplicate_tol``) instead kept 0.2's higher energy
  (0.686). Hence 0.1: nearly all of 0.2's Gabor-like atoms, the held-out
  energy of the converged codes, near-copies as rare as at 1e-2. The quick
  study on Olshausen's images (4x alone, seed 0): 209 Gabor-like atoms of
  256 against 235 at 0.2, 5.9% of the variance left. Full run, photographs,
  seed 0, 1x / 2x / 4x: at 0.1, 0% / 0% / 0.7% of the atoms above |cos|
  0.9 (0% / 1.4% / 4.2% above 0.8), held-out energy 1.665 / 1.471 / 1.342,
  144 / 286 / 569 Gabor-like; at 0.2, 0% / 0.7% / 3.8% (2.1% / 5.6% /
  19%), 1.683 / 1.495 / 1.371, 142 / 287 / 573. The codes take more
  iterations: the quick run costs about 15% more CPU time (17.2 s against
  14.9 s, measured side by side on the loaded machine; re-measured back to
  back on 2026-12-06, two runs each: 19.7 / 21.1 s against 18.7 / 17.1 s,
  1.14x).
- Held-out patches: the evaluation patches (``n_eval``) come from the held-out right
  columns of every image, where no training patch lies
  (:func:`studies._held_out.held_out_split`, ``attrs["held_out"]``). Since
  2026-12-07; numbers here measured before then (unless said re-measured) drew
  both from the whole images.
- Receptive-field parameters from ``v1model.analysis.fit_gabor`` (Gabor fits:
  centre, orientation, spatial frequency and its standard error, envelope; r2 of
  each fit).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import xarray as xr

from studies._gabor_fit import GABOR_BOUNDS, gabor_fit_attrs, gabor_fit_units
from studies._checks import PREWHITENED_MEANS
from studies._seed_record import records_seed
from v1model.progress import quiet_when_told
from v1model.sweep.preflight import checks_parameters, parameters_checked

NAME = "olshausen-field-1997"
TITLE = "Sparse coding with an overcomplete basis set: tiling of position, orientation, frequency"
REFERENCE = (
    "Olshausen, B. A. & Field, D. J. (1997). Sparse coding with an overcomplete basis set: "
    "a strategy employed by V1? Vision Research 37, 3311-3325."
)
#: units of the parameters, for a sweep's coordinates (v1model.sweep)
PARAMETER_UNITS = {"lam": "units of X", "overcompleteness": "1", "patch_size": "pixel",
                   "forget_factor": "1", "learning_tol": "1", **gabor_fit_units()}
#: parameters that take a file or folder path, with the texts they take that are no
#: path: a sweep makes their relative paths absolute (see v1model.sweep.spec)
PATH_PARAMETERS = {"images": ("skimage",)}

#: defaults, (quick, full), of the parameters whose default None ``run`` replaces
#: by the variant's: a sweep records them without running the study
#: (:meth:`v1model.sweep.SweepSpec.study_defaults`)
QUICK_DEFAULTS = {
    "patch_size": (8, 12),
    "n_updates": (200, 600),
    "n_patches": (30000, 100000),
    "n_eval": (1000, 2000),
}

#: Gabor-fit parameters kept in the Dataset
GABOR_VARS = ("x0", "y0", "orientation", "frequency", "sigma_x", "sigma_y", "r2",
              "frequency_se")
LEARNERS = ("online", "olshausen-field")
#: FISTA tolerance of the held-out codes the energies are measured on: a relative gap
#: of 1e-4, far below the energy differences between overcompleteness levels
HELDOUT_TOL = 1e-4
#: FISTA tolerance of the online learner's codes (the learner's default 1e-2 left more
#: 4x atoms noisy textures and costs more per update; 0.2 crowded the overcomplete atoms
#: into near-copies and raised the held-out energy; see the module docstring)
LEARNING_TOL = 0.1
#: the online learner's forgetting exponent (its own default 10 froze slow atoms as
#: noisy textures; see the module docstring)
FORGET_FACTOR = 30.0

#: |a| up to which the held-out coefficients' histogram is saved (units of X), in bins of
#: olshausen-field-1996's ENTROPY_BIN centred on its multiples; coefficients beyond are
#: counted apart (``coefficients_beyond``): quick run, seed 0, 2026-12-07, 10 / 6 / 1 of
#: 64,000 / 128,000 / 256,000 at 1x / 2x / 4x on the embedded photographs, none on
#: Olshausen's images
HISTOGRAM_LIMIT = 3.0

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
    overcompleteness=(1, 2, 4),
    lam: float = 0.15,
    learner: str = "online",
    forget_factor: float = FORGET_FACTOR,
    learning_tol: float = LEARNING_TOL,
    n_updates: int | None = None,
    batch_size: int = 256,
    n_patches: int | None = None,
    n_eval: int | None = None,
    progress: bool = True,
) -> xr.Dataset:
    """Learn one dictionary per overcompleteness; fit Gabors; code held-out patches.

    Parameters
    ----------
    quick : bool
        8x8 patches (64, 128, 256 atoms), 30,000 training patches, 200
        updates of 256 patches per dictionary instead of 12x12 patches (144,
        288, 576 atoms), 100,000 training patches and 600 updates. With one
        BLAS thread (``OMP_NUM_THREADS=1``), most of it for the 4x dictionary:
        on 2026-12-06, codes at tol 0.1, on the slower 2-core machine shared
        with other jobs (load average 7 to 8), quick 20 s of CPU time (user +
        sys, 19.7 and 21.1 s in two runs; 27 s in a first run that compiled
        the numba kernels), 58 to 74 s wall; the code before that day's tol
        change (0.2), back to back with it: 18.7 and 17.1 s, a ratio of 1.14.
        Recorded before on a faster machine (load average 8 to 12, tol 0.2):
        quick 8 s of CPU time (21 s wall), full 54 s of CPU time (3.5 to 4
        minutes wall). Wall times vary several-fold with the machine's load.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Root seed (patches, initial dictionaries, minibatches).
    images : str
        Source for :func:`stimuli.load_images`.
    prewhitened : bool, optional
        Whether the images are already whitened (default: guessed from
        ``images`` as in :func:`stimuli.images.is_prewhitened`).
    patch_size : int, optional
        Patch side in pixels.
    overcompleteness : int or sequence of int
        Number of atoms per pixel of the patch (1 = complete); one number (a
        sweep over it) learns that dictionary alone.
    lam : float
        Sparseness weight of the L1 energy (units of the whitened pixels:
        variance 0.100 for whitened photographs, 0.079 for Olshausen's images,
        measured 2026-12-08), the same for every dictionary.
    learner : {"online", "olshausen-field"}
        Online dictionary learning or the Olshausen-Field gradient rule.
    forget_factor : float
        The online learner's forgetting exponent, >= 0
        (:func:`v1model.learning.online.learn_online`; its default 10 froze
        slow atoms as noisy textures, see the module docstring). The
        Olshausen-Field rule does not use it: with
        ``learner="olshausen-field"`` a value other than the default is
        refused, and the attrs leave ``forget_factor`` out.
    learning_tol : float
        FISTA tolerance of the codes the online learner fits the atoms to,
        > 0: a code stops when its largest step is at most ``learning_tol``
        times its largest coefficient (``tol`` of
        :func:`v1model.inference.fista`). The default 0.1 stops after a few
        iterations; the learner's own 1e-2 left more of the overcomplete
        atoms noisy textures, 0.2 crowded them into near-copies (see the
        module docstring). The learner's ConvergenceWarning names it
        (``learning_tol``, not the learner's ``method_params['tol']``) and
        says its iteration limit is fixed here. The held-out codes
        use ``HELDOUT_TOL`` (1e-4) whatever it is (their warning, if any, says
        that and FISTA's step limit are fixed here). The Olshausen-Field rule
        codes at its own tolerance (1e-4; 0.2 gave it fewer Gabor-like atoms,
        see ``olshausen-field-1996``): with ``learner="olshausen-field"`` a
        value other than the default is refused, and the attrs record the
        tolerance that learner used.
    n_updates : int, optional
        Minibatch updates per dictionary.
    batch_size : int
        Patches per update.
    n_patches : int, optional
        Training patches (default 100,000; quick 30,000).
    n_eval : int, optional
        Held-out patches coded at the end (default 2,000; quick 1,000).
    progress : bool

    Returns
    -------
    xarray.Dataset
        ``dictionary`` (overcompleteness, atom, y, x), NaN beyond each
        dictionary's ``n_atoms``; Gabor-fit parameters (overcompleteness,
        atom); held-out ``objective``, ``reconstruction_error`` (the mean
        over patches of each one's ``||x - aD||^2 / ||x||^2``),
        ``heldout_error_fraction`` (the paper's measure and
        olshausen-field-1996's: ``sum ||x - aD||^2`` over the patches' pixels
        over their number times the pixels' variance, the total error over
        the total variance), ``mean_active``, ``mean_abs_code``, and the
        sparseness of the held-out coefficients as olshausen-field-1996
        measures it (:func:`studies.olshausen_field_1996.code_statistics`):
        ``heldout_kurtosis`` (``E a^4 / (E a^2)^2`` over all coefficients pooled,
        3 for a Gaussian) and ``heldout_entropy_bits`` (entropy of their histogram
        in bins of 0.04, bits per coefficient) (overcompleteness), and their
        histogram in those bins: ``coefficient_counts`` (overcompleteness,
        coefficient_bin) over |a| <= ``HISTOGRAM_LIMIT`` (3, units of X), the
        bins' centres ``coefficient_bin`` and edges ``coefficient_bin_lower``,
        ``coefficient_bin_upper`` as coordinates, ``coefficients_beyond`` the
        coefficients outside (overcompleteness); learning
        ``history_objective`` (overcompleteness, update); energies in the
        learner's units, (units of X)^2 (whitened pixel values squared), and
        ``mean_abs_code`` in units of X; parameters in attrs, with the Gabor
        fits' settings and bounds prefixed ``gabor_`` (``gabor_n_starts``,
        ``gabor_min_sigma``, ``gabor_max_sigma``, ``gabor_max_frequency``, ...:
        :func:`v1model.analysis.fit_gabor`'s attrs).
    """
    from stimuli import sample_patches
    from stimuli.images import check_patch_size, load_whitened
    from studies._checks import check_dictionary_memory, check_images, image_source_attr
    from studies._defaults import quick_default
    from studies._held_out import held_out_split
    from studies._shortfall import named_by_study
    from studies.olshausen_field_1996 import ENTROPY_BIN, code_statistics
    from v1model.analysis import fit_gabor
    from v1model.inference import fista
    from v1model.io import UPDATES_BEFORE, count_coord, seed_attr
    from v1model.validation import (as_generator, check_bool, check_choice, check_int,
                                    check_nonnegative, check_positive)

    quick = check_bool(quick, "quick")  # "no" would be truthy
    check_images(images, prewhitened)
    patch_size = check_int(quick_default(patch_size, quick, *QUICK_DEFAULTS["patch_size"]),
                           "patch_size", minimum=4)
    levels = [check_int(m, "overcompleteness", minimum=1)
              for m in np.atleast_1d(np.asarray(overcompleteness, dtype=object))]
    if not levels or sorted(set(levels)) != levels:
        raise ValueError(f"overcompleteness must be increasing distinct integers, got "
                         f"{overcompleteness!r}")
    lam = check_positive(lam, "lam")
    learner = check_choice(learner, "learner", LEARNERS)
    forget_factor = check_nonnegative(forget_factor, "forget_factor")
    learning_tol = check_positive(learning_tol, "learning_tol")
    if learner == "olshausen-field" and learning_tol != LEARNING_TOL:
        # that learner codes at its own tolerance: the value would be recorded, not used
        raise ValueError(f"learning_tol={learning_tol!r} has no effect with learner="
                         "'olshausen-field', whose learning codes use FISTA at the learner's "
                         "own tolerance (1e-4); leave learning_tol out, or use "
                         "learner='online'")
    if learner == "olshausen-field" and forget_factor != FORGET_FACTOR:
        # that rule keeps no statistics to forget: the value would be recorded, not used
        raise ValueError(f"forget_factor={forget_factor!r} has no effect with learner="
                         "'olshausen-field', whose gradient rule keeps no running statistics "
                         "to forget; leave forget_factor out, or use learner='online'")
    n_updates = check_int(quick_default(n_updates, quick, *QUICK_DEFAULTS["n_updates"]),
                          "n_updates", minimum=1)
    check_int(batch_size, "batch_size", minimum=1)  # the learners' check
    n_patches = check_int(quick_default(n_patches, quick, *QUICK_DEFAULTS["n_patches"]),
                          "n_patches", minimum=1)
    n_eval = check_int(quick_default(n_eval, quick, *QUICK_DEFAULTS["n_eval"]),
                       "n_eval", minimum=1)
    check_bool(progress, "progress")  # the learners' and fit_gabor's check
    rng = as_generator(seed)
    # the largest level's dictionary; the levels are learned one after the other, into
    # the float32 result array of every level at the largest level's atom count
    # (`dictionaries` below: 4.47 GiB at patch_size=100 with the default levels)
    max_atoms = levels[-1] * patch_size**2
    check_dictionary_memory(
        max_atoms, patch_size**2, n_patches + n_eval,
        f"patch_size={patch_size}, overcompleteness={levels[-1]} (n_atoms={max_atoms})",
        held={f"{len(levels)}x{max_atoms}x{patch_size**2} float32 learned dictionaries":
              np.dtype(np.float32).itemsize * len(levels) * max_atoms * patch_size**2})
    parameters_checked()  # a sweep's pre-flight stops here, before any work

    imgs, prewhitened = load_whitened(images, prewhitened, name="images")
    patch_size = check_patch_size(patch_size, imgs.shape, name="patch_size")
    train, held_out, split = held_out_split(imgs, patch_size, n_eval=n_eval)
    X = sample_patches(train, patch_size, n_patches, seed=rng, progress=progress)
    X_eval = sample_patches(held_out, patch_size, n_eval, seed=rng, progress=progress)
    p = patch_size * patch_size
    max_atoms = levels[-1] * p

    dictionaries = np.full((len(levels), max_atoms, patch_size, patch_size), np.nan, np.float32)
    gabor = {v: np.full((len(levels), max_atoms), np.nan) for v in GABOR_VARS}
    held = {k: np.empty(len(levels)) for k in ("objective", "reconstruction_error",
                                                "heldout_error_fraction", "mean_active",
                                                "mean_abs_code", "heldout_kurtosis",
                                                "heldout_entropy_bits")}
    # the coefficients' histogram, bounded (the codes themselves are not kept)
    half = int(round(HISTOGRAM_LIMIT / ENTROPY_BIN))
    counts = np.zeros((len(levels), 2 * half + 1), np.int64)
    beyond = np.zeros(len(levels), np.int64)
    hist_obj = np.full((len(levels), n_updates), np.nan)
    hist_err = np.full((len(levels), n_updates), np.nan)
    for i, m in enumerate(levels):
        k = m * p
        D, history = _learn(X, k, lam, learner, forget_factor, learning_tol, n_updates,
                            batch_size, rng, progress)
        dictionaries[i, :k] = D.reshape(k, patch_size, patch_size)
        fit = fit_gabor(D, progress=progress)
        fit_attrs = gabor_fit_attrs(fit)
        for v in GABOR_VARS:
            gabor[v][i, :k] = fit[v].values
        # its ConvergenceWarning named fista's max_iter and tol, which the study fixes
        with named_by_study(NAME, f"coding the held-out patches with {k} atoms",
                            {"max_iter": None, "tol": None}, params={"tol": HELDOUT_TOL},
                            x_name="the held-out patches"):
            A = fista(X_eval, D, lam, tol=HELDOUT_TOL, dtype=np.float64, progress=progress)
        R = X_eval - A @ D
        rr = np.einsum("ij,ij->i", R, R)
        held["objective"][i] = np.mean(0.5 * rr + lam * np.abs(A).sum(axis=1))
        held["reconstruction_error"][i] = np.mean(rr / np.einsum("ij,ij->i", X_eval, X_eval))
        # the paper's (and olshausen-field-1996's) error measure, the total error over the
        # total variance (the mean of per-patch ratios above is dominated by low-contrast
        # patches: 25% where this is 9.3%), and the sparseness of the coefficients' pooled
        # distribution, kurtosis and entropy, as olshausen-field-1996 reports them
        for key, value in code_statistics(A, X_eval, R).items():
            held[key][i] = value
        # the entropy's own bins (code_statistics): centred on multiples of ENTROPY_BIN
        k_bin = np.round(A.ravel() / ENTROPY_BIN)
        inside = np.abs(k_bin) <= half
        counts[i] = np.bincount((k_bin[inside] + half).astype(np.int64), minlength=2 * half + 1)
        beyond[i] = A.size - int(inside.sum())
        held["mean_active"][i] = np.count_nonzero(A) / len(A)
        held["mean_abs_code"][i] = np.abs(A).mean()
        learning_coder = _coder_description(history.attrs)
        used_tol = _coder_tol(history.attrs)  # the learner's own with olshausen-field
        n_hist = min(n_updates, history.sizes["update"])
        hist_obj[i, :n_hist] = history["objective"].values[:n_hist]
        hist_err[i, :n_hist] = history["reconstruction_error"].values[:n_hist]

    # a quantity (atoms per pixel), not a label: units, as lca-sweep's overcompleteness
    coords = {"overcompleteness": ("overcompleteness", np.asarray(levels), {
                  "units": "1", "long_name": "atoms per pixel of the patch"}),
              "atom": np.arange(max_atoms),
              "y": ("y", np.arange(patch_size), {"units": "pixel"}),
              "x": ("x", np.arange(patch_size), {"units": "pixel"}),
              # labelled as the learner labels its counter (it was bare)
              "update": count_coord("update", np.arange(n_updates), UPDATES_BEFORE)}
    ds = xr.Dataset(coords=coords)
    ds["dictionary"] = (("overcompleteness", "atom", "y", "x"), dictionaries,
                        {"long_name": "unit-norm atoms (NaN beyond n_atoms)", "units": "1"})
    ds["n_atoms"] = ("overcompleteness", np.asarray(levels) * p,
                     {"long_name": "number of atoms", "units": "1"})
    units = {"x0": "pixel", "y0": "pixel", "orientation": "rad", "frequency": "cycles/pixel",
             "sigma_x": "pixel", "sigma_y": "pixel", "r2": "1", "frequency_se": "cycles/pixel"}
    for v in GABOR_VARS:
        ds[f"gabor_{v}"] = (("overcompleteness", "atom"), gabor[v],
                            {"long_name": f"Gabor fit: {v}", "units": units[v]})
    long = {"objective": "held-out energy 0.5||x - aD||^2 + lam||a||_1 per patch",
            # per-patch ratios: a low-contrast patch weighs as much as any other
            "reconstruction_error": "held-out ||x - aD||^2 / ||x||^2 per patch, mean over patches",
            "heldout_error_fraction": ("held-out mean squared residual / variance of the "
                                       "patches' pixels"),
            "mean_active": "held-out non-zero coefficients per patch",
            "mean_abs_code": "held-out mean |a|",
            "heldout_kurtosis": ("held-out coefficients' kurtosis E a^4 / (E a^2)^2, pooled "
                                 "(3 for a Gaussian)"),
            "heldout_entropy_bits": ("entropy of the held-out coefficients' histogram, "
                                     f"bins of {ENTROPY_BIN:g}")}
    # energies in the learner's units ((units of X)^2: whitened pixel values squared)
    units = {"objective": history["objective"].attrs["units"], "reconstruction_error": "1",
             "heldout_error_fraction": "1",
             "mean_active": "1", "mean_abs_code": history["mean_abs_code"].attrs["units"],
             "heldout_kurtosis": "1", "heldout_entropy_bits": "bit per coefficient"}
    for key, values in held.items():
        ds[key] = ("overcompleteness", values, {"long_name": long[key], "units": units[key]})
    code_units = history["mean_abs_code"].attrs["units"]  # the codes' (units of X)
    centres = np.arange(-half, half + 1) * ENTROPY_BIN
    ds = ds.assign_coords(
        coefficient_bin=("coefficient_bin", centres,
                         {"long_name": "centre of the coefficient bin", "units": code_units}),
        coefficient_bin_lower=("coefficient_bin", centres - ENTROPY_BIN / 2,
                               {"long_name": "lower edge of the bin", "units": code_units}),
        coefficient_bin_upper=("coefficient_bin", centres + ENTROPY_BIN / 2,
                               {"long_name": "upper edge of the bin", "units": code_units}))
    ds["coefficient_counts"] = (("overcompleteness", "coefficient_bin"), counts, {
        "long_name": "held-out coefficients per bin, all atoms' pooled (the bins of "
                     "heldout_entropy_bits)", "units": "1"})
    ds["coefficients_beyond"] = ("overcompleteness", beyond, {
        "long_name": f"held-out coefficients beyond the histogram's bins (|a| > "
                     f"{(half + 0.5) * ENTROPY_BIN:g})", "units": "1"})
    ds["history_objective"] = (("overcompleteness", "update"), hist_obj,
                               {"long_name": "training energy per patch",
                                "units": history["objective"].attrs["units"]})
    ds["history_reconstruction_error"] = (("overcompleteness", "update"), hist_err,
                                          {"long_name": "training relative error",
                                           "units": "1"})
    ds.attrs.update(
        study=NAME, title=TITLE, reference=REFERENCE, quick=int(quick), seed=seed_attr(seed),
        images=image_source_attr(images), prewhitened=int(bool(prewhitened)), patch_size=patch_size,
        overcompleteness=np.asarray(levels), lam=lam, learner=learner,
        learning_tol=learning_tol if used_tol is None else used_tol, n_updates=n_updates,
        batch_size=batch_size, n_patches=n_patches, n_eval=n_eval,
        coding=f"held-out: fista, tol {HELDOUT_TOL:g}, float64; learning: {learning_coder}",
        receptive_field_analysis="v1model.analysis.fit_gabor", **split,
        # the fits' bounds, which the tiling's reliability criteria read back (same for
        # every level: one patch size)
        **fit_attrs,
    )
    if learner == "online":  # the only learner that forgets: record what ran
        ds.attrs["forget_factor"] = forget_factor
    return ds


def _coder_tol(attrs):
    """The tolerance of the learner's codes, as its history records it (None: not
    recorded)."""
    tol = attrs.get("inference_params.tol", attrs.get("method_params.tol"))
    return None if tol is None else float(tol)


def _coder_description(attrs) -> str:
    """The learner's inference method and tolerance, as its history records them."""
    method = attrs.get("inference", attrs.get("method", "?"))
    tol = _coder_tol(attrs)
    dtype = attrs.get("dtype", "float64")
    return f"{method}" + (f", tol {tol:g}" if tol is not None else "") + f", {dtype}"


def _learn(X, n_atoms, lam, learner, forget_factor, learning_tol, n_updates, batch_size, rng,
           progress):
    from studies._shortfall import named_by_study

    # the learner's ConvergenceWarning named method_params['tol'], which the study's user
    # sets as learning_tol, and a max_iter the study fixes
    run = f"learning the dictionary of {n_atoms} atoms"
    if learner == "online":
        from v1model.learning.online import learn_online

        with named_by_study(NAME, run, {"tol": "learning_tol", "max_iter": None}):
            return learn_online(X, n_atoms, lam=lam, n_updates=n_updates,
                                batch_size=batch_size, forget_factor=forget_factor,
                                method_params={"tol": learning_tol}, seed=rng,
                                progress=progress)
    from v1model.learning.olshausen_field import learn_dictionary

    # n_updates and n_patches for its duplicated atoms (n_atoms: from overcompleteness)
    with named_by_study(NAME, run, {"tol": None, "max_iter": None, "n_updates": "n_updates",
                                    "n_samples": "n_patches"}):
        return learn_dictionary(X, n_atoms, lam=lam, n_updates=n_updates,
                                batch_size=batch_size, seed=rng, progress=progress)


def plot(ds: xr.Dataset, outdir) -> list[Path]:
    """Atoms, their tiling of position / orientation / frequency, the
    held-out energy, error, active count and coefficient kurtosis against
    overcompleteness, and the held-out coefficients' histogram per
    overcompleteness (from the saved ``coefficient_counts``), as PNGs in
    ``outdir``.

    The error panel draws the paper's measure, ``heldout_error_fraction`` (the
    total residual energy over the total variance), and dashed beside it
    ``reconstruction_error`` (the mean over patches of each one's relative
    error, larger: low-contrast patches weigh as much as the others).

    The orientation x frequency panels follow the package's convention
    (:func:`v1model.plotting.plot_orientation_frequency`): angle = orientation
    in [0°, 180°) on a half-disc, one point per atom, radius = spatial
    frequency. The paper draws the full disc, each atom at theta and theta + 180°."""
    from v1model.io import save_figure
    from v1model.plotting import plot_atoms, plot_orientation_frequency
    from v1model.plotting._mpl import pyplot

    plt = pyplot()
    outdir = Path(outdir)
    levels = ds["overcompleteness"].values
    n = len(levels)
    paths = []

    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.6), squeeze=False)
    for ax, m in zip(axes[0], levels):
        D = _atoms(ds, m)
        plot_atoms(D, ax=ax, title=f"{m}x overcomplete ({len(D)} atoms)")
    fig.suptitle(f"Atoms learned at lam={ds.attrs.get('lam')}")
    paths.append(save_figure(fig, outdir / f"{NAME}_atoms.png"))

    # rows sized to their content: the half-disc is twice as wide as high, and a square
    # box left bands of white around it (and its title far above it)
    fig = plt.figure(figsize=(3.6 * n, 9.4))
    grid = fig.add_gridspec(3, n, height_ratios=(1.0, 0.7, 0.7))
    size = ds.sizes["x"]
    criterion = None
    for col, m in enumerate(levels):
        sel = ds.sel(overcompleteness=m)
        k = int(sel["n_atoms"])  # levels share the padded atom dim
        good, left_out, criterion = _shown_fits(sel, k, size)
        x0, y0 = sel["gabor_x0"].values[:k][good], sel["gabor_y0"].values[:k][good]
        theta = sel["gabor_orientation"].values[:k][good]
        freq = sel["gabor_frequency"].values[:k][good]
        length = 0.06 * size  # half-length of the bar marks, in pixels
        # bars run perpendicular to the wave vector; y grows downwards as displayed
        bx, by = -np.sin(theta), -np.cos(theta)
        ax = fig.add_subplot(grid[0, col])
        ax.plot(np.stack([x0 - length * bx, x0 + length * bx]),
                np.stack([y0 - length * by, y0 + length * by]), color="C0", lw=1)
        ax.set_xlim(-0.5, size - 0.5)
        ax.set_ylim(size - 0.5, -0.5)
        ax.set_aspect("equal")
        ax.set_xlabel("x (pixel)")
        ax.set_ylabel("y (pixel)")
        ax.set_title(f"{m}x: centres and bar orientation\n{good.sum()} of {k} atoms "
                     f"shown\n({left_out})", fontsize=8)
        pax = fig.add_subplot(grid[1, col], projection="polar")
        # the package's convention: angle = orientation in [0, 180) on a half-disc,
        # each atom once (the paper mirrors every point to theta + 180 as well)
        plot_orientation_frequency(theta, freq, ax=pax, color="C1", s=6,
                                   title=f"{m}x: orientation (deg) x spatial frequency")
        pax.set_title(pax.get_title(), fontsize=8, y=0.88)  # down onto the half-disc's top
        ax = fig.add_subplot(grid[2, col])
        ax.hist(freq, bins=np.linspace(0, 0.5, 21), color="C2")
        ax.set_xlim(0, 0.5)  # 0.5: the Nyquist frequency
        ax.set_xlabel("spatial frequency (cycles/pixel)")
        ax.set_ylabel("atoms")
        ax.yaxis.get_major_locator().set_params(integer=True)  # counts: no 2.5 atoms
        ax.set_title(f"{m}x: spatial frequency of the {good.sum()} fits shown", fontsize=8)
    # wrapped to the figure's width: one level's column is narrower than the criteria
    lines = ("Tiling of position, orientation and spatial frequency",
             f"Gabor fits shown: {criterion}")
    fig.suptitle("\n".join(textwrap.fill(line, width=int(12 * 3.6 * n)) for line in lines),
                 fontsize=10)
    fig.tight_layout()
    paths.append(save_figure(fig, outdir / f"{NAME}_tiling.png"))

    # y labels with units: x is in whitened pixel values, and so are a and lam
    ylabels = {"objective": "energy per patch (whitened pixel²)",
               "error": "residual energy (fraction)",
               "mean_active": "non-zero coefficients (count)",
               "heldout_kurtosis": "kurtosis E a⁴ / (E a²)²"}
    fig, axes = plt.subplots(1, 4, figsize=(14.5, 3.4))
    for ax, var in zip(axes, ylabels):
        if var == "error":
            _plot_errors(ax, ds, levels)
        elif var == "heldout_kurtosis":
            _plot_kurtosis(ax, ds, levels)
        else:
            ax.plot(levels, ds[var].values, "o-")
            ax.set_title(ds[var].attrs["long_name"], fontsize=8)
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [f"{m}x" for m in levels])
        ax.set_xlabel("overcompleteness")
        ax.set_ylabel(ylabels[var])
    fig.tight_layout()
    paths.append(save_figure(fig, outdir / f"{NAME}_coding.png"))
    paths.append(save_figure(_plot_coefficients(ds, levels), outdir / f"{NAME}_coefficients.png"))
    return paths


def _plot_coefficients(ds, levels):
    """The held-out coefficients' distribution per overcompleteness, drawn from the
    saved histogram (``coefficient_counts``) on a log scale, with the share of exact
    zeros (the bin at 0 holds them and |a| < 0.02) in the legend. A file saved before
    the histogram was recorded gets a figure that says so."""
    from v1model.plotting._mpl import pyplot

    fig, ax = pyplot().subplots(figsize=(5.5, 3.8))
    if "coefficient_counts" not in ds:
        ax.text(0.5, 0.5, "coefficient histogram not recorded in this file",
                transform=ax.transAxes, ha="center", va="center", fontsize=8)
        ax.set_axis_off()
        return fig
    lower, upper = ds["coefficient_bin_lower"].values, ds["coefficient_bin_upper"].values
    edges = np.r_[lower, upper[-1]]
    for m in levels:
        counts = ds["coefficient_counts"].sel(overcompleteness=m).values
        total = counts.sum() + int(ds["coefficients_beyond"].sel(overcompleteness=m))
        centre = int(np.argmin(np.abs(ds["coefficient_bin"].values)))
        # a density over all coefficients; empty bins left out of the log scale
        density = np.where(counts > 0, counts / max(total, 1) / (upper - lower), np.nan)
        ax.stairs(density, edges, label=f"{m}x ({counts[centre] / max(total, 1):.0%} in the "
                                        "bin at 0)")
    ax.set_yscale("log")
    units = ds["coefficient_bin"].attrs.get("units", "")
    ax.set_xlabel(f"coefficient a ({units})" if units else "coefficient a")
    ax.set_ylabel("probability density")
    beyond = ds["coefficients_beyond"].values
    ax.set_title(f"held-out coefficients, all atoms pooled ({int(beyond.sum())} beyond "
                 f"|a| = {upper[-1]:g} not drawn)", fontsize=8)
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return fig


def _plot_errors(ax, ds, levels):
    """The held-out error against overcompleteness: the paper's measure (total
    residual energy over the total variance of the patches' pixels) in full, and
    the mean over patches of each one's relative error dashed.

    The mean of per-patch ratios is dominated by low-contrast patches (about 25%
    where the paper's measure is 9%, full run on Olshausen's images), so it is not
    the number to compare with the paper's 10%. Results saved before
    ``heldout_error_fraction`` existed show the per-patch mean alone."""
    if "heldout_error_fraction" in ds:
        ax.plot(levels, ds["heldout_error_fraction"].values, "o-", color="C0",
                label="Σ‖x − aD‖² / Σ‖x − x̄‖² (paper's measure)")
    ax.plot(levels, ds["reconstruction_error"].values, "s--", color="C1",
            label="mean over patches of ‖x − aD‖² / ‖x‖²")
    top = max(np.nanmax(line.get_ydata()) for line in ax.lines)
    # from 0, to compare the two; room above the lines for the legend
    ax.set_ylim(0, 1.5 * top if np.isfinite(top) and top > 0 else None)
    ax.legend(loc="upper right", fontsize=7)  # an explicit place: "best" is slow
    ax.set_title("held-out reconstruction error", fontsize=8)


def _plot_kurtosis(ax, ds, levels):
    """The kurtosis of the held-out coefficients (all atoms' pooled) against
    overcompleteness, beside a Gaussian's 3, each point labelled with the
    entropy of the coefficients' histogram: the sparse, heavy-tailed code of
    the paper. Results saved before these were recorded say so."""
    from studies.olshausen_field_1996 import ENTROPY_BIN

    ax.axhline(3.0, color="0.5", ls="--", lw=1, label="Gaussian (3)")
    if "heldout_kurtosis" not in ds:
        ax.text(0.5, 0.5, "not recorded in this file", transform=ax.transAxes,
                ha="center", va="center", fontsize=8)
    else:
        kurtosis = ds["heldout_kurtosis"].values
        ax.plot(levels, kurtosis, "o-", color="C0", label="held-out coefficients")
        for m, k, bits in zip(levels, kurtosis, ds["heldout_entropy_bits"].values):
            if not np.isfinite(k):  # no point to label (an annotation at NaN breaks layout)
                continue
            ax.annotate(f"{bits:.1f} bits", (m, k), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=7)
        # from 0, beside the 3; a level whose codes are all zero (a very large lam) has
        # no kurtosis (NaN), and all of them NaN would give the axis a NaN limit
        finite = kurtosis[np.isfinite(kurtosis)]
        ax.set_ylim(0, 1.25 * max(finite.max() if finite.size else 0.0, 3.0))
        # room for the first and last points' labels; set, not from the data, which may
        # be all NaN (an unset x range then reached the log axis as 0)
        ax.set_xlim(levels[0] / 1.25, levels[-1] * 1.25)
    ax.legend(loc="lower right", fontsize=7)
    ax.set_title("sparseness of the held-out coefficients\n(entropy per coefficient, "
                 f"bins {ENTROPY_BIN:g})", fontsize=8)


def _shown_fits(sel, k, size):
    """Which of the first ``k`` Gabor fits of one level the tiling shows.

    The reliable fits (:func:`v1model.analysis.reliable_gabor_fits`, the
    criteria of ``ringach-2002``): a fit with R^2 >= 0.8 may still have less
    than one cycle across the patch (a blob or an edge, no band to tile), a
    centre off the patch or an envelope stuck at a bound of the fit (a quick
    run's 4x fits near the Nyquist frequency included such fits). Results
    saved without the envelope widths fall back to R^2 and cycles alone.

    Returns
    -------
    good : numpy.ndarray of bool, shape (k,)
    left_out : str
        How many R^2 >= 0.8 fits are left out (why: ``criterion``).
    criterion : str
        The criteria of ``good``, for the figure.
    """
    from v1model.analysis import GABOR_LIKE_R2, reliable_gabor_fits

    r2 = sel["gabor_r2"].values[:k]
    gabor_like = np.isfinite(r2) & (r2 >= GABOR_LIKE_R2)
    names = ("r2", "frequency", "x0", "y0", "sigma_x", "sigma_y")
    if all(f"gabor_{v}" in sel for v in names):
        # the frequency's standard error: results saved before it existed go without
        names += ("frequency_se",) if "gabor_frequency_se" in sel else ()
        # the bounds the fits were made with (results saved before they were recorded:
        # fit_gabor's defaults, which run() used)
        bounds = {b: sel.attrs[f"gabor_{b}"] for b in GABOR_BOUNDS if f"gabor_{b}" in sel.attrs}
        fit = xr.Dataset({v: ("atom", sel[f"gabor_{v}"].values[:k]) for v in names},
                         attrs={"height": size, "width": size, **bounds})
        mask = reliable_gabor_fits(fit)
        good, measured = mask.values, bool(mask.attrs["frequency_se_checked"])
        # the count alone: the reasons are the criteria, said once in the suptitle (with
        # them in each column's title, the neighbouring titles ran into each other)
        left_out = f"{(gabor_like & ~good).sum()} more with R² ≥ {GABOR_LIKE_R2:g} left out"
        criterion = (f"reliable ones (R² ≥ {GABOR_LIKE_R2:g}, ≥ 1 cycle, centre on the patch, "
                     f"σ and f inside the fit bounds" + (", f measured)" if measured else ")"))
        return good, left_out, criterion
    # a fit with less than one cycle across the patch is a blob or an edge: it has no
    # orientation or frequency band to tile
    good = gabor_like & (sel["gabor_frequency"].values[:k] >= 1.0 / size)
    return (good, f"{(gabor_like & ~good).sum()} lower-frequency fits left out",
            f"R² ≥ {GABOR_LIKE_R2:g} and ≥ 1 cycle (no envelope widths saved)")


def _atoms(ds, m):
    sel = ds.sel(overcompleteness=m)
    k = int(sel["n_atoms"])
    return sel["dictionary"].values[:k].reshape(k, -1)
