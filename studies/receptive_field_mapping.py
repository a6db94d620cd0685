"""Mapping the receptive fields of LCA units as a physiologist would.

A sparse-coding network's feed-forward weights (its atoms) are not its
receptive fields: lateral inhibition between units reshapes what each unit
answers. This study probes an LCA network (Rozell et al. 2008) built on a
dictionary learned from natural images with the stimuli of V1 physiology and
compares the results with the atoms:

- reverse correlation (spike-triggered average) with white noise and with
  sparse noise: the mapped receptive field of every unit, its cosine
  similarity to the unit's atom, and how that similarity grows with the
  number of stimuli;
- static gratings over orientation x spatial frequency x phase: tuning
  curves, preferred orientation (compared with the orientation of a Gabor
  fitted to the atom), orientation bandwidth and circular variance;
- drifting gratings: the F1/F0 modulation ratio at each unit's preferred
  grating (simple cells have F1/F0 > 1; a unit with no preferred static
  grating, silent or flat, has none);
- a contrast-response curve for a sample of the units with a preferred
  grating (orientation and frequency), from far below threshold to 1.0
  (three times the s.d. of a whitened patch), summarised by the
  contrast threshold and, where the curve saturates, a Naka-Rushton c50
  (:func:`v1model.analysis.contrast_response`).

How to read the numbers:

- Tuning is far sharper than in macaque V1 (quick run: median circular
  variance 0.06 and orientation half-width 12 deg, 2026-12-07; full run, 16x16
  atoms: 0.03 and 11 deg, 2026-12-07; against ~0.4-0.5 and
  >= 20 deg in Ringach, Shapley & Hawken 2002). The gratings
  (``grating_contrast`` = 0.1) drive the units only just above their
  threshold (``lam`` = 0.15; a unit's median threshold contrast is 0.048 in
  the quick run and 0.035 in the full run, both measured 2026-12-07): only the
  tip of the tuning curve clears the threshold (the "iceberg effect"), so
  the measured tuning of a threshold-linear unit narrows towards its
  threshold. The widths are a property of this contrast, not of the atoms.
- LCA units are threshold-linear: their contrast-response curves keep
  rising up to the highest contrast tested, so they have no c50 (it is NaN,
  flagged "not saturating"); the contrast threshold is the number to
  compare. A c50 computed as "half the largest tested response" only tracks
  the tested range.
- F1/F0 > 1 for every unit holds by construction: one signed
  threshold-linear unit, rectified to its positive part, answers a drifting
  grating with a half-wave rectified (and thresholded) sinusoid, whose
  F1/F0 is between pi/2 and 2. It does not show that the units are simple
  cells in any sense beyond linearity.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from studies._gabor_fit import gabor_fit_attrs, gabor_fit_units
from studies._learned import DICTIONARY_MEANS
from studies._seed_record import records_seed
from v1model.progress import quiet_when_told
from v1model.sweep.preflight import checks_parameters, parameters_checked

NAME = "receptive-field-mapping"
TITLE = "Receptive fields and tuning of LCA units probed with noise and gratings"
REFERENCE = (
    "Rozell, C. J., Johnson, D. H., Baraniuk, R. G. & Olshausen, B. A. (2008). Sparse coding "
    "via thresholding and local competition in neural circuits. Neural Computation 20, "
    "2526-2563; method: Jones, J. P. & Palmer, L. A. (1987). J. Neurophysiol. 58, 1187-1211."
)
#: Units of the parameters (read by v1model.sweep for the coordinates of a sweep): lam and
#: the stimulus amplitudes (contrasts) are in the whitened input's units (X).
PARAMETER_UNITS = {"lam": "units of X", "white_contrast": "units of X",
                   "sparse_contrast": "units of X", "grating_contrast": "units of X",
                   "min_contrast": "units of X", "max_contrast": "units of X",
                   "n_updates": "1", "n_white": "1", "n_sparse": "1", "sparse_pixels": "1",
                   "n_contrasts": "1", "n_orientations": "1", "n_frequencies": "1",
                   "n_phases": "1", "n_sample_units": "1", **gabor_fit_units()}
#: parameters that take a file or folder path, with the texts they take that are no
#: path: a sweep makes their relative paths absolute (see v1model.sweep.spec)
PATH_PARAMETERS = {"dictionary": ("none", "null"), "images": ("skimage",)}


#: defaults, (quick, full), of the parameters whose default None ``run`` replaces
#: by the variant's: a sweep records them without running the study
#: (:meth:`v1model.sweep.SweepSpec.study_defaults`)
QUICK_DEFAULTS = {
    "n_white": (5000, 50000),
    "n_sparse": (10000, 100000),
}

#: what a default None stands for where it is no one value per variant (shown by
#: ``v1model study show``; QUICK_DEFAULTS holds the others)
NONE_MEANS = dict(DICTIONARY_MEANS)

@checks_parameters
@quiet_when_told
@records_seed
def run(
    quick: bool = False,
    seed: int = 0,
    *,
    dictionary: str | None = None,
    images: str = "skimage",
    n_updates: int | None = None,
    lam: float = 0.15,
    n_white: int | None = None,
    n_sparse: int | None = None,
    white_contrast: float = 0.3,
    sparse_contrast: float = 1.0,
    sparse_pixels: int = 4,
    grating_contrast: float = 0.1,
    min_contrast: float = 0.003,
    max_contrast: float = 1.0,
    n_contrasts: int = 16,
    n_orientations: int = 16,
    n_frequencies: int = 8,
    n_phases: int = 8,
    n_sample_units: int = 16,
    progress: bool = True,
) -> xr.Dataset:
    """Map every unit's receptive field and tuning.

    Parameters
    ----------
    quick : bool
        Quick dictionary (8x8 patches, 64 atoms, 1,000 updates) and fewer
        noise stimuli (5,000 white, 10,000 sparse instead of 50,000 and
        100,000).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
    dictionary : str, optional
        Saved ``olshausen-field-1996`` result (or network) to use instead of
        learning one.
        Recorded in attrs: ``dictionary``, the file's absolute path or "learned", and
        a learned one's learning parameters prefixed ``dictionary_``
        (``dictionary_seed``, ``dictionary_lam``, ...;
        :func:`studies._learned.learned_dictionary`).
    images : str, default "skimage"
        Image source of the learning run; recorded in attrs as that run
        recorded it (resolved), or as ``"(not used: dictionary given)"`` with
        ``dictionary``, when no image is loaded.
    n_updates : int, optional
        Learning updates of the dictionary (default 1,000 quick, else the
        ``olshausen-field-1996`` study's).
    lam : float
        LCA threshold, in the units of the whitened patches the dictionary is
        learned on (and of the stimuli): the embedded photographs whitened to
        pixel variance 0.1 (the learning patches of seed 0: 0.100 quick,
        0.101 full), or Olshausen's whitened images as stored, 0.079 (their
        learning patches 0.077 quick, 0.076 full; measured 2026-12-08).
    n_white, n_sparse : int, optional
        Number of white- and sparse-noise stimuli.
    white_contrast : float
        Pixel s.d. of the white noise (0.3 gives patches with the energy of
        the whitened natural patches).
    sparse_contrast, sparse_pixels : float, int
        Value and number of the lit pixels of each sparse-noise image
        (``sparse_pixels`` at most the pixels of the patch: 64 quick, 256
        full, or those of the ``dictionary`` given; checked before the
        dictionary is learned). ``sparse_contrast`` is a lit pixel's value, as a
        physiologist's spot luminance, and is not scaled with the patch: on a
        unit-norm atom of ``n`` pixels the linear drive's s.d. is
        ``sparse_contrast * sqrt(sparse_pixels / n)``, against ``white_contrast``
        for white noise at any patch size. The defaults give 0.25 on the quick 8x8
        patches (units answer 33% of the sparse stimuli, 39% of the white ones:
        quick run, seed 0, 2026-12-08) but 0.125 on the full run's 16x16 ones (12%
        against 35%, README); ``sparse_contrast`` = the patch side / 8 (2.0 at
        16x16) keeps the quick run's drive.
    grating_contrast : float
        Amplitude of the gratings (units of the whitened input). At 0.1 the
        preferred frequencies follow the atoms' (median ratio 0.99 on the
        quick dictionary, 1.08 on the full run's 16x16 one); at 1.0, three
        times the s.d. of a whitened patch, competition between units pushes
        them up 1.5x (seed 0; 2.2x over all Gabor-like atoms; full run 1.65x
        and 2.0x; measured 2026-12-07), towards the top of the grid.
        0.1 is close to the units' threshold (``lam``), which makes their
        orientation tuning much narrower than in macaque V1 (the iceberg
        effect; see the module docstring).
    min_contrast, max_contrast, n_contrasts : float, float, int, default 0.003, 1.0, 16
        Contrast-response protocol: ``n_contrasts`` grating amplitudes
        log-spaced from ``min_contrast`` to ``max_contrast`` (units of the
        whitened input; the default range runs from far below the units'
        threshold to three times the s.d. of a whitened patch).
    n_orientations, n_frequencies, n_phases : int, default 16, 8, 8
        Static-grating protocol, the grid of
        :func:`v1model.analysis.grating_responses`: orientations evenly
        spaced over [0, 180) deg (11.25 deg apart by default), frequencies
        log-spaced from one cycle per patch to 0.45 cycles/pixel, phases
        evenly spaced over [0, 360) deg. The drifting gratings use the same
        orientations and frequencies; each point of a contrast-response
        curve is the largest response over ``n_phases`` phases of the
        unit's preferred grating.
    n_sample_units : int, default 16
        Units whose contrast-response curve is measured at their preferred
        grating (evenly spread over the units that respond to the static
        gratings with a preferred orientation and frequency; a
        ``grating_contrast`` no unit responds to, or a dictionary none of whose
        units has a preferred grating, is refused before the noise mapping).
    progress : bool

    Returns
    -------
    xarray.Dataset
        Over ``atom`` (one LCA unit per atom): the atoms, mapped receptive
        fields and similarities,
        the atoms' Gabor fits (``atom_*``, with ``atom_reliable`` from
        :func:`v1model.analysis.reliable_gabor_fits`), tuning curves and
        their statistics, ``modulation_ratio`` (F1/F0 to the drifting grating
        of the unit's preferred static one: NaN for a unit with no preferred
        orientation or frequency, silent or flat); responses are LCA codes, in
        units of X as are the grating amplitudes, and the mapped RFs
        (codes per unit of stimulus) are dimensionless. Over ``sample_atom``:
        ``contrast_response`` (sample_atom, contrast), ``contrast_threshold``
        (lowest contrast with a response), ``c50`` and ``exponent`` of a
        Naka-Rushton fit (NaN unless the curve saturates within the tested
        range; ``c50_flag`` says why), ``fit_r2``. Summaries in attrs:
        ``median_contrast_threshold``, ``n_c50_saturating`` of
        ``n_contrast_units``, ``median_c50`` (saturating curves only),
        ``median_frequency_ratio`` over the ``n_frequency_ratio`` reliable
        fits, ``fraction_simple`` (F1/F0 > 1, over the ``n_modulation_ratio``
        units with an F1/F0: a preferred static grating whose drifting grating
        they answer; 1 by construction, see the module docstring),
        ``n_no_preferred_grating`` (units with no preferred orientation or
        frequency, left out), the settings and bounds of the atoms' Gabor fits
        prefixed ``gabor_`` (``gabor_n_starts``, ``gabor_min_sigma``,
        ``gabor_max_sigma``, ``gabor_max_frequency``, ...), and the rest.
    """
    from studies._checks import check_grating_drive, child_seeds
    from studies._learned import (check_dictionary_source, default_updates,
                                  dictionary_patch_shape, images_attr, learned_dictionary)
    from studies._defaults import quick_default
    from v1model.analysis import (
        GABOR_LIKE_R2,
        contrast_response,
        drifting_grating_responses,
        fit_gabor,
        grating_responses,
        map_receptive_fields,
        reliable_gabor_fits,
        tuning_curves,
    )
    from v1model.inference import lca
    from v1model.io import seed_attr
    from v1model.validation import as_generator, check_bool, check_int, check_positive

    quick = check_bool(quick, "quick")  # "no" would be truthy
    n_updates = default_updates(n_updates, quick=quick, dictionary=dictionary)
    # checked before the dictionary is learned, under the names the user gave
    # reverse correlation needs two stimuli at least (a covariance)
    n_white = check_int(quick_default(n_white, quick, *QUICK_DEFAULTS["n_white"]),
                        "n_white", minimum=2)
    n_sparse = check_int(quick_default(n_sparse, quick, *QUICK_DEFAULTS["n_sparse"]),
                         "n_sparse", minimum=2)
    for name, value in (("n_orientations", n_orientations), ("n_frequencies", n_frequencies),
                        ("n_phases", n_phases), ("n_sample_units", n_sample_units),
                        ("n_contrasts", n_contrasts),
                        ("sparse_pixels", sparse_pixels)):
        check_int(value, name, minimum=1)
    for name, value in (("lam", lam), ("white_contrast", white_contrast),
                        ("sparse_contrast", sparse_contrast),
                        ("grating_contrast", grating_contrast),
                        ("min_contrast", min_contrast), ("max_contrast", max_contrast)):
        check_positive(value, name)
    if not max_contrast > min_contrast:
        raise ValueError(f"max_contrast={max_contrast!r} must exceed "
                         f"min_contrast={min_contrast!r}")
    check_bool(progress, "progress")  # "abc" would be truthy
    check_dictionary_source(dictionary, n_updates, images, seed=seed)  # a bad seed by name
    # the patch is known before the dictionary is learned or loaded (None: a file that
    # does not open, which its load reports): refused under the study's name, not as the
    # sparse noise's n_pixels
    shape = dictionary_patch_shape(dictionary, quick=quick)
    if shape is not None:
        _check_sparse_pixels(sparse_pixels, shape)
    # lam=1e6 learned the dictionary (minutes for the full run) before no unit answered
    check_grating_drive(lam, grating_contrast, shape, "grating_contrast")
    parameters_checked()  # a sweep's pre-flight stops here, before any work
    atoms, source, meta = learned_dictionary(dictionary, quick=quick, seed=seed, images=images,
                                             n_updates=n_updates, progress=progress, study=NAME)
    # the probes' own stream (the dictionary's training patches are drawn from `seed`
    # itself), spawned after the learning: a Generator's learning then records the spawn
    # count it was given with, as the study does
    rng = as_generator(child_seeds(seed, 1)[0])
    n_units, h, w = atoms.shape
    D = atoms.reshape(n_units, -1)
    if shape is None:  # a file whose metadata did not open above: checked now
        _check_sparse_pixels(sparse_pixels, (h, w))

    def encoder(X):
        # no bar of its own: each protocol below draws one
        return lca(X, D, lam, progress=False)

    # LCA codes are in units of X (v1model.inference), as are the stimuli it is shown
    codes = "units of X"

    fit = fit_gabor(atoms, progress=progress)
    # the static gratings first (deterministic, so the results do not change): a
    # grating_contrast that no unit answers is refused before the noise mapping
    resp = grating_responses(encoder, (h, w), orientations=n_orientations,
                             frequencies=n_frequencies, phases=n_phases,
                             contrast=grating_contrast, response_units=codes,
                             progress=progress)
    tuning = tuning_curves(resp)
    if not np.isfinite(tuning["preferred_orientation"].values).any():
        raise ValueError(f"no unit responds to gratings of grating_contrast={grating_contrast!r} "
                         f"with lam={lam!r}: tuning, F1/F0 and contrast response need "
                         "responsive units; raise grating_contrast")
    # each unit's preferred static grating, at which its F1/F0 and its contrast response
    # are measured; a unit with none (silent or flat: NaN) is left out of both
    peak_o = tuning["peak_orientation"].values
    peak_f = tuning["preferred_frequency"].values
    preferred = np.isfinite(peak_o) & np.isfinite(peak_f)
    # a unit tuned in orientation whose frequency curve is flat (a line of pixels
    # through the patch's centre, parallel to the grating) has a preferred orientation
    # but no frequency: sampled by the orientation alone, its NaN frequency failed inside
    # contrast_response ("frequency contains 1 non-finite value(s)")
    with_grating = np.flatnonzero(preferred)
    if with_grating.size == 0:
        raise ValueError(f"no unit that responds to gratings of grating_contrast="
                         f"{grating_contrast!r} has a preferred grating (its responses are "
                         f"flat over the n_orientations={n_orientations!r} orientations or "
                         f"the n_frequencies={n_frequencies!r} frequencies): the contrast "
                         f"response needs units with a preferred orientation and frequency")
    white = map_receptive_fields(encoder, (h, w), noise="white", n_stimuli=n_white,
                                 contrast=white_contrast, dictionary=D,
                                 response_units=codes, seed=rng, progress=progress)
    sparse = map_receptive_fields(encoder, (h, w), noise="sparse", n_stimuli=n_sparse,
                                  contrast=sparse_contrast, n_pixels=sparse_pixels,
                                  dictionary=D, response_units=codes, seed=rng,
                                  progress=progress)
    drift = drifting_grating_responses(encoder, (h, w), orientations=n_orientations,
                                       frequencies=resp["frequency"].values,
                                       contrast=grating_contrast, response_units=codes,
                                       progress=progress)
    # n_sample_units spread evenly over the units with a preferred grating (spread over
    # all units, then the silent ones dropped, left fewer or none: an empty protocol)
    pick = np.linspace(0, with_grating.size - 1, min(n_sample_units, with_grating.size))
    sample = with_grating[np.unique(pick.astype(int))]
    crf = contrast_response(encoder, (h, w), peak_o[sample], peak_f[sample], units=sample,
                            contrasts=np.geomspace(min_contrast, max_contrast, n_contrasts),
                            phases=n_phases, response_units=codes, progress=progress)

    ds = xr.Dataset(coords={"atom": np.arange(n_units),
                            "y": ("y", np.arange(h), {"units": "pixel"}),
                            "x": ("x", np.arange(w), {"units": "pixel"})})
    ds["dictionary"] = (("atom", "y", "x"), atoms, {"units": "1", "long_name": "atoms"})
    for tag, m in (("white", white), ("sparse", sparse)):
        # codes per unit of stimulus, both in units of X: a dimensionless filter
        ds[f"rf_{tag}"] = m["rf"].assign_attrs(long_name=f"RF mapped with {tag} noise",
                                               units="1")
        ds[f"similarity_{tag}"] = m["similarity"]
        trace = m["similarity_trace"].rename({"n_stimuli_used": f"n_{tag}_used"})
        ds[f"similarity_trace_{tag}"] = trace
        ds[f"fraction_active_{tag}"] = m["fraction_active"]
    for name in ("orientation", "frequency", "r2", "sigma_x", "sigma_y", "nx", "ny"):
        ds[f"atom_{name}"] = fit[name].assign_attrs(
            long_name=f"Gabor fit of the atom: {fit[name].attrs.get('long_name', name)}")
    for name in ("orientation_tuning", "frequency_tuning", "preferred_orientation",
                 "peak_orientation", "circular_variance", "orientation_bandwidth",
                 "preferred_frequency", "frequency_bandwidth", "max_response"):
        ds[name] = tuning[name]
    # F1/F0 at each unit's preferred (orientation, frequency) of the static protocol; a
    # unit with none has no F1/F0 (read at orientation 0 and the lowest frequency, it
    # counted as a value)
    io = np.argmin(np.abs(resp["orientation"].values[None, :]
                          - np.nan_to_num(peak_o)[:, None]), axis=1)
    jf = np.argmin(np.abs(resp["frequency"].values[None, :]
                          - np.nan_to_num(peak_f)[:, None]), axis=1)
    ratio = np.where(preferred, drift["modulation_ratio"].values[io, jf, np.arange(n_units)],
                     np.nan)
    ds["modulation_ratio"] = ("atom", ratio, {"units": "1", "long_name":
                              "F1/F0 to the preferred drifting grating"})
    crf = crf.rename({"atom": "sample_atom"})
    # the encoder's input is X: its contrasts (coordinate, c50, threshold) in units of X
    for name in ("contrast", "c50", "threshold"):
        crf[name].attrs["units"] = codes
    ds["contrast_response"] = crf["response"]
    for name in ("c50", "exponent", "fit_r2", "c50_flag", "threshold"):
        ds[name if name != "threshold" else "contrast_threshold"] = crf[name]
    d_theta = np.abs((tuning["preferred_orientation"].values - fit["orientation"].values
                      + np.pi / 2) % np.pi - np.pi / 2)
    ds["orientation_difference"] = ("atom", d_theta, {"units": "rad", "long_name":
                                    "|preferred orientation (gratings) - atom's Gabor "
                                    "orientation|"})
    gabor_like = fit["r2"].values >= GABOR_LIKE_R2
    f_ratio = tuning["preferred_frequency"].values / fit["frequency"].values
    # a fit with less than one cycle across the patch (a blob or an edge), off the patch
    # or with its envelope at a bound has no frequency band to compare
    reliable = reliable_gabor_fits(fit, min_r2=GABOR_LIKE_R2)
    banded = reliable.values & np.isfinite(f_ratio)
    ds["atom_reliable"] = (("atom",), reliable.values,  # its criteria; counts in ds.attrs
                           {k: v for k, v in reliable.attrs.items() if not k.startswith("n_")})
    flags = crf["c50_flag"].values
    saturating = flags == "saturating"
    thresholds = crf["threshold"].values
    ds.attrs.update(
        study=NAME, reference=REFERENCE, quick=int(quick), seed=seed_attr(seed), source=source,
        lam=lam,
        n_white=n_white, n_sparse=n_sparse, white_contrast=white_contrast,
        sparse_contrast=sparse_contrast, sparse_pixels=sparse_pixels,
        grating_contrast=grating_contrast, n_orientations=n_orientations,
        n_frequencies=n_frequencies, n_phases=n_phases, images=images_attr(meta),
        n_sample_units=n_sample_units, min_contrast=min_contrast, max_contrast=max_contrast,
        n_contrasts=n_contrasts, **gabor_fit_attrs(fit), **meta,
        median_similarity_white=float(np.nanmedian(white["similarity"].values)),
        median_similarity_sparse=float(np.nanmedian(sparse["similarity"].values)),
        n_gabor_like=int(gabor_like.sum()),
        median_orientation_difference_deg=float(np.degrees(np.nanmedian(
            d_theta[gabor_like]))) if gabor_like.any() else np.nan,
        median_circular_variance=float(np.nanmedian(tuning["circular_variance"].values)),
        median_orientation_bandwidth_deg=float(np.degrees(np.nanmedian(
            tuning["orientation_bandwidth"].values))),
        # over the units with an F1/F0 (a silent unit has none): nanmean of the boolean
        # ratio > 1 counted the silent units as complex cells
        fraction_simple=float(np.mean(ratio[np.isfinite(ratio)] > 1.0))
        if np.isfinite(ratio).any() else np.nan,
        n_modulation_ratio=int(np.isfinite(ratio).sum()),
        n_no_preferred_grating=int((~preferred).sum()),
        median_frequency_ratio=float(np.median(f_ratio[banded])) if banded.any() else np.nan,
        n_frequency_ratio=int(banded.sum()),
        n_reliable=int(reliable.attrs["n_reliable"]),
        n_contrast_units=int(flags.size),
        n_c50_saturating=int(saturating.sum()),
        median_c50=float(np.median(crf["c50"].values[saturating])) if saturating.any()
        else np.nan,
        median_contrast_threshold=float(np.nanmedian(thresholds))
        if np.isfinite(thresholds).any() else np.nan,
    )
    return ds


def _check_sparse_pixels(sparse_pixels, shape):
    """Refused under the study's name (not as the sparse noise's n_pixels), with the patch."""
    h, w = shape
    if sparse_pixels > h * w:
        raise ValueError(f"sparse_pixels must be <= {h * w}, the pixels of the {h}x{w} patch, "
                         f"got {sparse_pixels}")


def plot(ds: xr.Dataset, outdir) -> list[Path]:
    """Mapped RFs vs atoms (white, sparse), similarity vs stimuli, tuning, contrast."""
    from v1model.analysis import GABOR_LIKE_R2
    from v1model.io import save_figure
    from v1model.plotting import plot_rf_comparison, plot_tuning_curves
    from v1model.plotting._mpl import plain_log_ticks, pyplot

    plt = pyplot()
    outdir = Path(outdir)
    atoms = ds["dictionary"].values
    paths = []
    for tag in ("white", "sparse"):
        paths.append(save_figure(
            plot_rf_comparison(atoms, ds[f"rf_{tag}"].values, ds[f"similarity_{tag}"].values,
                               title=f"LCA units mapped with {tag} noise "
                                     f"({ds.attrs.get(f'n_{tag}')} stimuli)"),
            outdir / f"{NAME}_rf_{tag}.png"))

    fig, grid = plt.subplots(2, 3, figsize=(13.5, 7.6))
    (ax1, ax2, ax4), (ax3, ax5, spare) = grid
    spare.axis("off")
    a = ds.attrs
    # the tuning medians are over every unit with a defined value; _tuning.png gives
    # the medians of the units it draws, which differ: say which units each is over
    n_tuned = int(np.isfinite(ds["circular_variance"].values).sum())
    summary = [
        f"{ds.sizes['atom']} LCA units, lambda = {a.get('lam', np.nan):g}",
        f"median cosine(RF, atom): white {a.get('median_similarity_white', np.nan):.2f}, "
        f"sparse {a.get('median_similarity_sparse', np.nan):.2f}",
        f"Gabor-like atoms (R² ≥ {GABOR_LIKE_R2:g}): {a.get('n_gabor_like', 0)}",
        f"over all {n_tuned} tuned units:",
        f"  median circular variance {a.get('median_circular_variance', np.nan):.2f}"
        " (macaque V1 ~0.4-0.5)",
        f"  median orientation half-width "
        f"{a.get('median_orientation_bandwidth_deg', np.nan):.0f}° (macaque ≥ 20°)",
        f"  narrow: gratings of contrast {a.get('grating_contrast', np.nan):g} drive",
        f"  units just above threshold λ = {a.get('lam', np.nan):g} (iceberg effect)",
        f"F1/F0 > 1: {a.get('fraction_simple', np.nan):.0%} — by construction for",
        "  a threshold-linear unit rectified to its positive part",
        f"contrast threshold (median): {a.get('median_contrast_threshold', np.nan):.3f}",
        f"c50: {a.get('n_c50_saturating', 0)} of {a.get('n_contrast_units', 0)} curves "
        f"saturate up to contrast {a.get('max_contrast', np.nan):g}",
        "  (threshold-linear units have no c50)",
    ]
    spare.text(0.0, 0.95, "\n".join(summary), va="top", fontsize=10,
               transform=spare.transAxes)
    lowest = 1.0
    for k, tag in enumerate(("white", "sparse")):
        tr = ds[f"similarity_trace_{tag}"]
        n = tr[f"n_{tag}_used"].values
        q = np.nanpercentile(tr.values, [25, 50, 75], axis=1)
        # dots too: up to one batch of stimuli (n_white or n_sparse <= 1000) gives one
        # point, which a bare line does not draw (an empty panel under its legend)
        ax1.semilogx(n, q[1], "o-", ms=3, color=f"C{k}",
                     label=f"{tag} noise (median, quartiles)")
        ax1.fill_between(n, q[0], q[2], color=f"C{k}", alpha=0.2)
        lowest = min(lowest, float(np.nanmin(q[0])) if np.isfinite(q[0]).any() else 0.0)
    ax1.set_xlabel("number of stimuli")
    ax1.set_ylabel("cosine(mapped RF, atom)")
    # the quartiles decide the range (they sit near 0.9 after a thousand stimuli)
    ax1.set_ylim(max(0.0, np.floor(10 * lowest - 0.5) / 10), 1.0)
    ax1.legend(fontsize=7)
    good = ds["atom_r2"].values >= GABOR_LIKE_R2
    atom_deg = np.degrees(ds["atom_orientation"].values[good])
    pref_deg = np.degrees(ds["preferred_orientation"].values[good])
    # orientation is circular over 180 deg: draw 178 deg against 0 deg as -2 deg
    pref_deg = atom_deg + (pref_deg - atom_deg + 90) % 180 - 90
    ax2.scatter(atom_deg, pref_deg, s=10)
    ax2.plot([0, 180], [0, 180], color="0.6", ls="--", lw=0.8)
    ax2.set_xlabel("atom's Gabor orientation (deg)")
    ax2.set_ylabel("preferred grating orientation (deg)")
    ax2.set_title(f"{good.sum()} Gabor-like units; median |difference| "
                  f"{ds.attrs.get('median_orientation_difference_deg', np.nan):.1f}°",
                  fontsize=9)
    c = ds["contrast"].values
    for k in range(ds.sizes["sample_atom"]):
        r = ds["contrast_response"].values[k]
        if r.max() > 0:
            ax3.semilogx(c, r / r.max(), "-", lw=1, alpha=0.7, color=f"C{k % 10}")
    ax3.set_xlabel("grating amplitude (whitened input units)")
    ax3.set_ylabel("response / max")
    if "contrast_threshold" in ds:
        n_sat = int(np.sum(ds["c50_flag"].values == "saturating"))
        c50_text = (f"median c50 {np.nanmedian(ds['c50'].values):.2f} ({n_sat} saturate)"
                    if n_sat else "no c50: none saturates")
        ax3.set_title(f"contrast response of {ds.sizes['sample_atom']} units\n"
                      f"median threshold {np.nanmedian(ds['contrast_threshold'].values):.3f}; "
                      f"{c50_text}", fontsize=9)
    else:  # results saved before c50 became a fitted, saturating-only value
        ax3.set_title(f"contrast response of {ds.sizes['sample_atom']} units", fontsize=9)
    # the frequency ratio is over reliable fits only (a sub-cycle fit has no band)
    banded = ds["atom_reliable"].values.astype(bool) if "atom_reliable" in ds else good
    f_atom = ds["atom_frequency"].values[banded]
    f_pref = ds["preferred_frequency"].values[banded]
    ax4.loglog(f_atom, f_pref, "o", ms=3)
    lims = [ds["frequency"].values.min() / 1.5, ds["frequency"].values.max() * 1.5]
    ax4.plot(lims, lims, color="0.6", ls="--", lw=0.8)
    ax4.set(xlim=lims, ylim=lims, xlabel="atom's Gabor frequency (cycles/pixel)",
            ylabel="preferred grating frequency (cycles/pixel)")
    for axis in (ax4.xaxis, ax4.yaxis):  # plain numbers at 1-2-5, no crowded minor labels
        plain_log_ticks(axis)
    ax4.set_title(f"median preferred / atom frequency "
                  f"{ds.attrs.get('median_frequency_ratio', np.nan):.2f}\n"
                  f"({ds.attrs.get('n_frequency_ratio', banded.sum())} reliable Gabor fits, "
                  "≥ 1 cycle)", fontsize=9)
    ratio = ds["modulation_ratio"].values
    ratio = ratio[np.isfinite(ratio)]
    # F1/F0 lies in [0, 2] for a rectified response; Skottun et al. (1991) split at 1
    ax5.hist(ratio, bins=np.linspace(0, 2, 21), color="C0")
    ax5.axvline(1.0, color="0.3", ls="--", lw=0.8)
    ax5.set(xlim=(0, 2), xlabel="F1/F0 to the preferred drifting grating",
            ylabel="units")
    ax5.set_title(f"{ratio.size} responsive units; F1/F0 > 1: "
                  f"{ds.attrs.get('fraction_simple', np.nan):.0%}\n(by construction for a "
                  "rectified threshold-linear unit)", fontsize=9)
    fig.tight_layout()
    paths.append(save_figure(fig, outdir / f"{NAME}_summary.png"))

    tuning = ds[["orientation_tuning", "frequency_tuning", "peak_orientation",
                 "circular_variance", "orientation_bandwidth", "max_response"]]
    sample = ds["sample_atom"].values
    # the units plot_tuning_curves draws: those with a positive orientation curve
    oc = ds["orientation_tuning"].values[sample]
    drawn = sample[np.nanmax(np.where(np.isnan(oc), -np.inf, oc), axis=1) > 0]
    cv = np.nanmedian(ds["circular_variance"].values[drawn]) if drawn.size else np.nan
    bw = (np.degrees(np.nanmedian(ds["orientation_bandwidth"].values[drawn]))
          if drawn.size else np.nan)
    title = (f"{drawn.size} sampled units (of {ds.sizes['atom']}); medians over these "
             f"{drawn.size}: circular variance {cv:.2f}, half-width {bw:.1f}°\n"
             f"(over all {n_tuned} tuned units: "
             f"{a.get('median_circular_variance', np.nan):.2f}, "
             f"{a.get('median_orientation_bandwidth_deg', np.nan):.1f}°, as in the summary)")
    paths.append(save_figure(plot_tuning_curves(tuning, units=sample, title=title),
                             outdir / f"{NAME}_tuning.png"))
    return paths
