"""receptive-field-mapping, from a student's walk-through: the contrast-response
units are drawn from the units that answer the gratings with a preferred orientation
and frequency, gratings no unit answers (or a dictionary with no preferred grating)
are refused by name before the noise mapping, and progress=False draws no bar."""

import numpy as np
import pytest
import xarray as xr

from studies import get_study

#: a small protocol: 16 Gabor atoms, few stimuli (about 3 s)
SMALL = dict(n_white=200, n_sparse=200, n_orientations=4, n_frequencies=2, n_phases=2,
             n_contrasts=8)


@pytest.fixture(scope="module")
def gabor_dictionary(tmp_path_factory):
    """16 unit-norm 8x8 Gabors, 8 orientations in quadrature pairs, saved as a study
    dictionary (atom, y, x)."""
    from stimuli import gabor_patch

    orientation = np.repeat(np.linspace(0, np.pi, 8, endpoint=False), 2)
    phase = np.tile([0.0, np.pi / 2], 8)
    atoms = gabor_patch(8, orientation, 0.25, phase, 1.5, 2.5)
    atoms /= np.linalg.norm(atoms.reshape(16, -1), axis=1)[:, None, None]
    path = tmp_path_factory.mktemp("rfm") / "gabors.nc"
    xr.Dataset({"dictionary": (("atom", "y", "x"), atoms)}).to_netcdf(path)
    return str(path)


def test_contrast_response_units_are_the_requested_number_of_responsive_units(gabor_dictionary):
    """The sample was spread over all units and the silent ones dropped afterwards: with
    4 of 16 units answering these gratings, n_sample_units=2 gave one unit (atoms 0 and
    15 drawn, 15 silent)."""
    ds = get_study("receptive-field-mapping").run(quick=True, dictionary=gabor_dictionary,
                                                  n_sample_units=2, progress=False, **SMALL)
    responsive = np.flatnonzero(np.isfinite(ds["preferred_orientation"].values))
    assert 2 <= responsive.size < ds.sizes["atom"]  # some units silent: 4 of 16
    assert ds.sizes["sample_atom"] == 2
    assert set(ds["sample_atom"].values) <= set(responsive)
    assert ds.attrs["n_contrast_units"] == 2
    # every sampled unit answers the highest contrast (1.0, far above threshold)
    assert np.all(ds["contrast_response"].values[:, -1] > 0)


def test_fraction_simple_is_over_the_units_with_an_f1_f0(gabor_dictionary):
    """Silent units have no F1/F0 (NaN); np.nanmean(ratio > 1) counted them as complex
    cells: 5 of 16 units answering, all with F1/F0 > 1, gave fraction_simple 0.31."""
    ds = get_study("receptive-field-mapping").run(quick=True, dictionary=gabor_dictionary,
                                                  n_sample_units=2, progress=False, **SMALL)
    ratio = ds["modulation_ratio"].values
    finite = ratio[np.isfinite(ratio)]
    assert 0 < finite.size < ratio.size  # some units silent
    assert ds.attrs["fraction_simple"] == pytest.approx(np.mean(finite > 1.0))
    assert ds.attrs["fraction_simple"] == 1.0  # rectified threshold-linear units


def test_f1_f0_is_read_at_the_preferred_grating_and_nan_without_one(gabor_dictionary):
    """F1/F0 was read at np.nan_to_num(peak_orientation): a unit with no preferred
    orientation (NaN: silent to the static gratings) got the F1/F0 of orientation 0 and
    the lowest frequency. Atom 1 (orientation 0, phase pi/2) is silent to the static
    gratings of 2 phases but answers the drifting one at orientation 0: it had F1/F0
    1.88, and 5 units counted where 4 have a preferred grating."""
    from v1model.analysis import drifting_grating_responses
    from v1model.inference import lca

    ds = get_study("receptive-field-mapping").run(quick=True, dictionary=gabor_dictionary,
                                                  n_sample_units=2, progress=False, **SMALL)
    D = ds["dictionary"].values.reshape(ds.sizes["atom"], -1)
    # the study's drifting gratings, measured again: F1/F0 of every unit at every grating
    drift = drifting_grating_responses(lambda X: lca(X, D, ds.attrs["lam"], progress=False),
                                       (8, 8), orientations=ds.attrs["n_orientations"],
                                       frequencies=ds["frequency"].values,
                                       contrast=ds.attrs["grating_contrast"],
                                       progress=False)["modulation_ratio"]
    peak_o, peak_f = ds["peak_orientation"].values, ds["preferred_frequency"].values
    preferred = np.isfinite(peak_o) & np.isfinite(peak_f)
    ratio = ds["modulation_ratio"].values
    # a unit that answers the drifting grating of orientation 0 with no preferred one
    assert np.isfinite(drift.values[0, 0, ~preferred]).any()
    assert np.isnan(ratio[~preferred]).all()
    for unit in np.flatnonzero(preferred):
        expected = drift.sel(orientation=peak_o[unit], frequency=peak_f[unit],
                             method="nearest").values[unit]
        assert ratio[unit] == pytest.approx(expected, rel=1e-12), unit
    assert ds.attrs["n_modulation_ratio"] == np.isfinite(ratio).sum() == 4
    assert ds.attrs["n_no_preferred_grating"] == (~preferred).sum() == 12


def test_gratings_no_unit_answers_are_refused_by_name_before_the_noise_mapping(
        gabor_dictionary, monkeypatch):
    """grating_contrast=0.001 (far below lam=0.15): the run mapped every RF with noise,
    then failed with "orientation must not be empty, got shape (0,)", a parameter the
    user never gave. (0.001 is now refused before the dictionary is loaded: no grating of
    it can pass lam, see below; one of 0.02 could, 0.02 * 8 = 0.16 > 0.15, but these
    Gabors take too small a share of it.)"""
    import v1model.analysis

    def no_mapping(*args, **kwargs):
        raise AssertionError("the noise mapping ran before the gratings were checked")

    monkeypatch.setattr(v1model.analysis, "map_receptive_fields", no_mapping)
    with pytest.raises(ValueError, match=r"no unit responds to gratings of "
                                         r"grating_contrast=0\.02 with lam=0\.15"):
        get_study("receptive-field-mapping").run(quick=True, dictionary=gabor_dictionary,
                                                 grating_contrast=0.02, progress=False,
                                                 **SMALL)


def _line_dictionary(path, with_gabor):
    """7x7 atoms saved as a study dictionary: a vertical line of pixels through the
    patch's centre, which every grating of orientation 0 (stripes along it) drives
    alike whatever its frequency, so that its unit is tuned in orientation with a flat
    frequency curve; ``with_gabor``: and a Gabor of orientation pi/2 with a preferred
    frequency."""
    from stimuli import gabor_patch

    line = np.zeros((7, 7))
    line[:, 3] = 1.0
    atoms = np.stack([line] + ([gabor_patch(7, np.pi / 2, 0.25, 0.0, 1.5, 2.5)] if with_gabor
                               else []))
    atoms /= np.linalg.norm(atoms.reshape(len(atoms), -1), axis=1)[:, None, None]
    xr.Dataset({"dictionary": (("atom", "y", "x"), atoms)}).to_netcdf(path)
    return str(path)


def test_contrast_response_units_have_a_preferred_orientation_and_frequency(tmp_path):
    """The sample was drawn from the units with a preferred orientation alone: the line's
    unit, whose frequency curve is flat (preferred_frequency NaN), was drawn and its NaN
    frequency failed inside contrast_response ("frequency contains 1 non-finite
    value(s)", an argument the user never gave)."""
    ds = get_study("receptive-field-mapping").run(
        quick=True, dictionary=_line_dictionary(tmp_path / "line.nc", with_gabor=True),
        n_sample_units=2, progress=False, **SMALL)
    # the line's unit: tuned in orientation (preferring 0), at which no frequency is preferred
    assert ds["preferred_orientation"].values[0] == ds["peak_orientation"].values[0] == 0.0
    assert np.isnan(ds["preferred_frequency"].values[0])
    curve = ds["frequency_tuning"].values[0]
    assert curve.min() > 0 and np.ptp(curve) <= 1e-12 * curve.max()
    assert np.isfinite(ds["preferred_frequency"].values[1])
    assert ds["sample_atom"].values.tolist() == [1] and ds.attrs["n_contrast_units"] == 1
    assert np.isfinite(ds["contrast_threshold"].values).all()


def test_a_dictionary_without_a_preferred_grating_is_refused_before_the_noise_mapping(
        tmp_path, monkeypatch):
    import v1model.analysis

    def no_mapping(*args, **kwargs):
        raise AssertionError("the noise mapping ran before the gratings were checked")

    monkeypatch.setattr(v1model.analysis, "map_receptive_fields", no_mapping)
    with pytest.raises(ValueError, match=r"no unit that responds to gratings of "
                                         r"grating_contrast=0\.1 has a preferred grating .*"
                                         r"n_frequencies=2 frequencies"):
        get_study("receptive-field-mapping").run(
            quick=True, dictionary=_line_dictionary(tmp_path / "line.nc", with_gabor=False),
            progress=False, **SMALL)


def test_progress_false_draws_no_bar(gabor_dictionary, monkeypatch, capsys):
    """The Gabor fits, the contrast-response protocol and the LCA encoder itself drew
    their automatic bars (after PROGRESS_DELAY, set to 0 here) with progress=False."""
    import v1model.progress

    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)
    get_study("receptive-field-mapping").run(quick=True, dictionary=gabor_dictionary,
                                             n_sample_units=2, progress=False, **SMALL)
    err = capsys.readouterr().err
    assert "%|" not in err, err[-500:]


def _never_learn(monkeypatch):
    """Make learning or loading a dictionary an error: the checks come before."""
    import studies._learned

    def refuse(*args, **kwargs):
        raise AssertionError("the dictionary was learned or loaded before the check")

    monkeypatch.setattr(studies._learned, "learned_dictionary", refuse)


@pytest.mark.parametrize("quick, pixels, side", [(True, 100, 8), (True, 65, 8),
                                                 (False, 257, 16)])
def test_more_sparse_pixels_than_the_patch_has_are_refused_before_learning(
        monkeypatch, quick, pixels, side):
    """sparse_pixels=100 on the quick 8x8 patch was refused only once the dictionary was
    learned (~10 s quick, minutes full), so a sweep's pre-flight let it through."""
    from v1model.sweep import SpecError, check_points, parse_spec

    _never_learn(monkeypatch)
    message = (rf"sparse_pixels must be <= {side * side}, the pixels of the {side}x{side} "
               rf"patch, got {pixels}")
    with pytest.raises(ValueError, match=message):
        get_study("receptive-field-mapping").run(quick=quick, sparse_pixels=pixels,
                                                 progress=False)
    spec = parse_spec({"study": "receptive-field-mapping", "quick": quick,
                       "sweep": {"sparse_pixels": [4, pixels]}, "executor": {"kind": "serial"}})
    with pytest.raises(SpecError, match=rf"point 1 \(sparse_pixels={pixels}\) is refused by "
                                        rf"the study: ValueError: {message}"):
        check_points(spec)
    # every pixel of the patch lit is accepted
    spec = parse_spec({"study": "receptive-field-mapping", "quick": quick,
                       "sweep": {"sparse_pixels": [side * side]},
                       "executor": {"kind": "serial"}})
    assert check_points(spec) == 1


def test_sparse_pixels_are_checked_against_a_given_dictionary_without_loading_it(
        gabor_dictionary, monkeypatch):
    _never_learn(monkeypatch)
    # the full run would learn 16x16 atoms; the 8x8 atoms given have 64 pixels
    with pytest.raises(ValueError, match=r"sparse_pixels must be <= 64, the pixels of the "
                                         r"8x8 patch, got 65"):
        get_study("receptive-field-mapping").run(quick=False, dictionary=gabor_dictionary,
                                                 sparse_pixels=65, progress=False)


@pytest.mark.parametrize("seed, error, match", [
    (2.5, TypeError, r"^seed must be None, an int, a numpy SeedSequence or a numpy Generator, "
                     r"got 2.5"),
    (-1, ValueError, r"^seed must be a non-negative integer, got -1"),
])
def test_a_bad_seed_is_refused_by_name(seed, error, match):
    # it went straight to numpy's SeedSequence: "SeedSequence expects int or sequence of
    # ints for entropy not 2.5", "expected non-negative integer"
    with pytest.raises(error, match=match):
        get_study("receptive-field-mapping").run(quick=True, seed=seed, progress=False)


def test_similarity_trace_of_one_batch_is_drawn(gabor_dictionary, monkeypatch, tmp_path):
    """Up to 1000 stimuli (one batch of the mapping) give the trace one point, which
    a bare line does not draw: the panel showed its legend over nothing."""
    import v1model.io

    study = get_study("receptive-field-mapping")
    ds = study.run(quick=True, dictionary=gabor_dictionary, n_sample_units=2,
                   progress=False, **SMALL)
    assert ds["similarity_trace_white"].sizes["n_white_used"] == 1  # 200 stimuli
    figures = []
    monkeypatch.setattr(v1model.io, "save_figure",
                        lambda fig, path, dpi=120: figures.append((path.name, fig)) or path)
    study.plot(ds, tmp_path)
    ax = dict(figures)["receptive-field-mapping_summary.png"].axes[0]
    assert ax.get_xlabel() == "number of stimuli"
    medians = [line for line in ax.get_lines() if "median" in line.get_label()]
    assert len(medians) == 2  # white and sparse noise
    for line in medians:
        assert len(line.get_xdata()) == 1 and line.get_marker() not in (None, "None", "")


def test_saved_results_label_codes_in_units_of_x_and_the_mapped_rfs_dimensionless(
        gabor_dictionary, tmp_path):
    """The probes labelled the LCA codes, the grating amplitudes and the mapped RFs "1".
    Codes and amplitudes are in units of X (lam's), the RFs codes per unit of stimulus:
    with lam and every amplitude twice as large, each code (and contrast) doubles and
    each RF stays the same, as the labels of the saved result say."""
    from v1model.io import load_dataset, save_dataset

    runs = []
    for k in (1.0, 2.0):
        params = dict(SMALL, lam=0.15 * k, white_contrast=0.3 * k, sparse_contrast=1.0 * k,
                      grating_contrast=0.1 * k, min_contrast=0.003 * k, max_contrast=1.0 * k)
        ds = get_study("receptive-field-mapping").run(
            quick=True, dictionary=gabor_dictionary, n_sample_units=2, progress=False,
            **params)
        runs.append(load_dataset(save_dataset(ds, tmp_path / f"rfm{k:g}.nc")))
    one, two = runs
    in_x = ("orientation_tuning", "frequency_tuning", "max_response", "contrast_response",
            "contrast", "contrast_threshold")
    for var in in_x:
        assert one[var].attrs["units"] == "units of X", var
        np.testing.assert_allclose(two[var].values, 2.0 * one[var].values, rtol=1e-5,
                                   atol=1e-9, err_msg=var)
    for var in ("rf_white", "rf_sparse", "modulation_ratio", "similarity_white"):
        assert one[var].attrs["units"] == "1", var
        np.testing.assert_allclose(two[var].values, one[var].values, rtol=1e-5, atol=1e-9,
                                   err_msg=var)
    assert float(one["max_response"].max()) > 0.01  # the codes compared are not all zero


@pytest.mark.parametrize("quick, side", [(True, 8), (False, 16)])
def test_a_lam_no_grating_can_pass_is_refused_before_learning(monkeypatch, quick, side):
    """lam=1e6 learned the dictionary (minutes for the full run) and fitted its atoms,
    then failed with "no unit responds to gratings": a grating of amplitude c on an
    h x w patch drives a unit-norm atom by at most c * sqrt(h * w) (every pixel +-c)."""
    from v1model.sweep import SpecError, check_points, parse_spec

    _never_learn(monkeypatch)
    bound = 0.1 * side  # grating_contrast 0.1 times sqrt(side * side)
    message = (rf"lam={bound!r} is at least the largest drive .* = {bound:.3g} that a "
               rf"grating of grating_contrast=0\.1 gives a unit-norm atom on the "
               rf"{side}x{side} patch: no unit can respond")
    with pytest.raises(ValueError, match=message):
        get_study("receptive-field-mapping").run(quick=quick, lam=bound, progress=False)
    spec = parse_spec({"study": "receptive-field-mapping", "quick": quick,
                       "sweep": {"lam": [0.15, 1e6]}, "executor": {"kind": "serial"}})
    with pytest.raises(SpecError, match=r"point 1 \(lam=1000000\.0\) is refused by the "
                                        r"study: ValueError: lam=1000000\.0 is at least"):
        check_points(spec)
    # just below the bound a unit whose atom is the grating itself can still respond
    spec = parse_spec({"study": "receptive-field-mapping", "quick": quick,
                       "sweep": {"lam": [0.99 * bound]}, "executor": {"kind": "serial"}})
    assert check_points(spec) == 1
