"""zhu-rozell-2013-ncrf end to end (quick, seed 0): LCA units show surround
suppression and the linear control with the same dictionary does not, and units are more
suppressed under LCA than under the control, unit by unit (sign test, resolved on the
quick run's own 12x12 dictionary); the change of the preferred diameter with contrast is
tested (sign test) but not resolved at quick size, and is claimed for the full run only
(slow test). Cross-orientation suppression is not reproduced (see
test_orthogonal_mask_modulates_lca_units_only).

Measured on the quick run (12x12 patches, 144 atoms, 1,000 updates: the study's own quick
dictionary; 31 probed units for seeds 0 and 1; LCA converged, lca_tol = 1e-5;
2026-12-07): median SI at contrast 1.0 of 0.078 / 0.048 for LCA against 0.003 / 0.003
for the linear control, 28 / 27 units more suppressed under LCA than under the control
and 3 / 3 less (sign test p = 5e-6 / 8e-6; over seeds 0-5, 23-39 units, p <= 0.006 on
every one); the preferred diameter at contrast 1.0 is smaller than at 0.1 for 18 / 18
units and larger for 10 / 9 (sign test p = 0.18 / 0.12; median ratio 0.92 / 0.94; over
seeds 0-5 resolved for none; the control: all equal, exactly); median cross-orientation
index 0.005 / 0.029, the control's 0 to rounding. End-stopping (bars one period wide,
amplitude 1.0) is weak on 12x12 patches: median ESI 0 / 0.026 for LCA, 0 for the
control (at most 0.005 / 0.02). On the 8x8 quick dictionary the other analysis studies
share, seed 0 had 7 units and 5 more / 1 less suppressed under LCA (p = 0.22), seeds 0,
3 and 4 of 0-5 unresolved. The bounds below are met by seed 0 (the tests' run; seed 1
meets all but the control's largest ESI, 0.02); see the study's docstring for the other
seeds."""

import numpy as np
import pytest


def _plotted(study, ds, tmp_path, monkeypatch):
    """The figures ``study.plot(ds, ...)`` saves, by file name, none written."""
    import v1model.io

    figures = {}
    monkeypatch.setattr(v1model.io, "save_figure",
                        lambda fig, path, dpi=120: figures.update({path.name: fig}) or path)
    study.plot(ds, tmp_path)
    return figures


@pytest.fixture(scope="module")
def result():
    from studies import get_study

    study = get_study("zhu-rozell-2013-ncrf")
    return study, study.run(quick=True, seed=0, progress=False)


def test_lca_units_are_surround_suppressed_and_the_linear_control_is_not(result):
    _, ds = result
    a = ds.attrs
    assert a["n_units"] >= 20  # 31 / 31 measured (seeds 0 / 1, 2026-12-07)
    assert a["median_si_lca"] > 0.04  # 0.078 / 0.048 measured (2026-12-07)
    assert a["median_si_linear"] < 0.01  # 0.003 / 0.003: a learned atom is not quite a Gabor
    assert a["median_si_lca"] > a["median_si_linear"] + 0.04
    si = ds["suppression_index"].isel(contrast=-1)
    # unit by unit, more units more suppressed under LCA than less (every quick seed
    # measured, 0-5); that it is resolved, test_quick_run_resolves_...
    _assert_more_lca_units_more_suppressed(si.sel(model="lca").values,
                                           si.sel(model="linear").values)
    # the control sums its input: stronger suppression than 0.1 nowhere
    assert np.all(si.sel(model="linear").values < 0.1)
    # without competition (the linear control in LCA's place) the check fails
    with pytest.raises(AssertionError):
        _assert_more_lca_units_more_suppressed(si.sel(model="linear").values,
                                               si.sel(model="linear").values)


def test_quick_run_resolves_that_units_are_more_suppressed_under_lca(result):
    """The quick run learned the 8x8 dictionary the other analysis studies share: 7 units
    on seed 0 (reliable Gabor fits centred >= 1 px inside the patch), 5 more and 1 less
    suppressed under LCA than under the linear control, sign test p = 0.22, and its
    figure said "not resolved" (seeds 0, 3, 4 of 0-5 unresolved). On its own 12x12
    dictionary (144 atoms, 1,000 updates) seed 0 has 31 units, 28 more and 3 less
    suppressed (p = 5e-6), and seeds 0-5 all resolve it (2026-12-07)."""
    study, ds = result
    a = ds.attrs
    assert a["patch_size"] == study.QUICK_PATCH_SIZE == 12
    assert a["dictionary_patch_size"] == 12 and a["n_atoms"] == 144
    assert a["n_units"] >= 20  # 31 measured; 7 on the shared 8x8 dictionary
    si = ds["suppression_index"].isel(contrast=-1)
    _assert_more_lca_units_more_suppressed(si.sel(model="lca").values,
                                           si.sel(model="linear").values, resolved=True)
    assert a["si_paired_p"] < 0.01  # 1e-5 measured (2026-12-07)


def _assert_more_lca_units_more_suppressed(si_lca, si_linear, resolved=False):
    """More units have a higher SI under LCA than under the linear control than a lower
    one (ties left out); with ``resolved``, also by a two-sided sign test at p < 0.05
    (scipy's binomtest as the reference)."""
    from scipy.stats import binomtest

    d = np.asarray(si_lca) - np.asarray(si_linear)
    higher, lower = int(np.sum(d > 0)), int(np.sum(d < 0))
    assert higher > lower, (higher, lower)
    if resolved:
        assert binomtest(higher, higher + lower).pvalue < 0.05, (higher, lower)


def test_si_difference_is_recorded_and_drawn_from_the_sign_test(result, monkeypatch,
                                                                  tmp_path):
    """The study records the paired sign test of SI_lca - SI_linear (``si_paired_p``, its
    counts) and the SI figure's title gives its verdict (seed 0: 28 more, 3 less
    suppressed under LCA, p = 5e-6, 2026-12-07); on the 8x8 dictionary the old bound
    (>= 80% of units) held by seed luck (seed 0: 5 more, 1 less, p = 0.22)."""
    from scipy.stats import binomtest

    study, ds = result
    a = ds.attrs
    si = ds["suppression_index"].isel(contrast=-1)
    d = si.sel(model="lca").values - si.sel(model="linear").values
    higher, lower = int(np.sum(d > 0)), int(np.sum(d < 0))
    assert (a["n_si_lca_higher"], a["n_si_lca_lower"]) == (higher, lower)
    assert a["si_paired_p"] == pytest.approx(binomtest(higher, higher + lower).pvalue,
                                             rel=1e-12)
    fig = _plotted(study, ds, tmp_path, monkeypatch)["zhu-rozell-2013-ncrf_si_histogram.png"]
    # seed 0: 28 more, 3 less, p = 4.6e-06 measured (2026-12-07)
    assert (f"({higher} more, {lower} less suppressed under LCA; sign test p = "
            f"{a['si_paired_p']:.2g})") in fig._suptitle.get_text()
    # the summary survives a netCDF round trip
    import xarray as xr

    ds.to_netcdf(tmp_path / "zr.nc")
    with xr.open_dataset(tmp_path / "zr.nc") as back:
        assert [back.attrs[k] for k in ("n_si_lca_higher", "n_si_lca_lower", "si_paired_p")] \
            == [higher, lower, a["si_paired_p"]]


def test_si_verdict_follows_the_paired_sign_test(result, monkeypatch, tmp_path):
    """The SI figure's verdict, from suppression indices (results saved before the sign
    test was recorded): 10 of 12 units more suppressed under LCA (p = 0.039) is resolved,
    8 of 12 (p = 0.39) is not, identical indices are no difference."""
    study, ds = result
    ds = ds.isel(unit=np.arange(12) % ds.sizes["unit"])
    ds.attrs = {k: v for k, v in ds.attrs.items() if k != "si_paired_p"}
    si = ds["suppression_index"]
    cases = [(10, "LCA vs linear: more suppressed under LCA (10 more, 2 less suppressed "
                  "under LCA; sign test p = 0.039)"),
             (8, "LCA vs linear: not resolved with 12 units (8 more, 4 less suppressed "
                 "under LCA; sign test p = 0.39)")]
    for n_higher, verdict in cases:
        si.loc[dict(model="lca")] = si.sel(model="linear").values + np.where(
            np.arange(12) < n_higher, 0.05, -0.05)[:, None]
        fig = _plotted(study, ds, tmp_path, monkeypatch)["zhu-rozell-2013-ncrf_si_histogram.png"]
        assert verdict in fig._suptitle.get_text()
    si.loc[dict(model="lca")] = si.sel(model="linear").values
    fig = _plotted(study, ds, tmp_path, monkeypatch)["zhu-rozell-2013-ncrf_si_histogram.png"]
    assert ("LCA vs linear: no difference (0 more, 0 less suppressed under LCA)"
            in fig._suptitle.get_text())


def _assert_diameter_smaller_at_high_contrast(ds, m="lca"):
    """The claim (Sceniak et al. 1999): more units prefer a smaller diameter at the highest
    contrast than a larger one, by a two-sided sign test at p < 0.05 (scipy's binomtest
    as the reference), and the median ratio is below 1."""
    from scipy.stats import binomtest

    ratio = ds["diameter_ratio"].sel(model=m).values
    smaller, larger = int(np.sum(ratio < 1)), int(np.sum(ratio > 1))
    assert smaller + larger > 0, "every unit's preferred diameter is the same"
    p = binomtest(smaller, smaller + larger).pvalue
    assert smaller > larger and p < 0.05, (smaller, larger, p)
    assert np.nanmedian(ratio) < 1.0


def test_preferred_diameter_change_is_tested_not_claimed_on_quick_patches(
        result, monkeypatch, tmp_path):
    """The quick run (seed 0: 18 units smaller at high contrast, 10 larger, median ratio
    0.92; on the 8x8 dictionary 2 and 2, 1.00): over seeds 0-5 the 23-39 quick units give
    median ratios 0.92-1.00 and a sign test resolves the change for none (p >= 0.09;
    2026-12-07). The study records the
    sign test and its figure says "not resolved" rather than a verdict the quick size
    cannot carry; the claim is the full run's
    (test_full_run_preferred_diameter_is_smaller_at_high_contrast)."""
    from scipy.stats import binomtest

    study, ds = result
    a = ds.attrs
    ratio = ds["diameter_ratio"].sel(model="lca").values
    smaller, larger = int(np.sum(ratio < 1)), int(np.sum(ratio > 1))
    assert (a["n_diameter_smaller_lca"], a["n_diameter_larger_lca"]) == (smaller, larger)
    assert a["diameter_sign_p_lca"] == pytest.approx(
        binomtest(smaller, smaller + larger).pvalue, rel=1e-12)
    # a linear unit's curve only scales with contrast: the same peak diameter, no test
    np.testing.assert_allclose(ds["diameter_ratio"].sel(model="linear").values, 1.0)
    assert a["n_diameter_smaller_linear"] == a["n_diameter_larger_linear"] == 0
    assert np.isnan(a["diameter_sign_p_linear"])
    fig = _plotted(study, ds, tmp_path, monkeypatch)["zhu-rozell-2013-ncrf_preferred_diameter.png"]
    title = fig.axes[0].get_title()
    # (18, 10), p = 0.18 measured: "not resolved"; the rule itself is the next test's
    assert (f"({smaller} smaller, {larger} larger; sign test p = "
            f"{a['diameter_sign_p_lca']:.2g})") in title
    # without a contrast effect (the linear control) the claim's check fails
    with pytest.raises(AssertionError):
        _assert_diameter_smaller_at_high_contrast(ds, "linear")


def test_preferred_diameter_verdict_follows_the_sign_test(result, monkeypatch, tmp_path):
    """The figure's verdict, from diameter ratios (results saved before the sign test was
    recorded): 10 of 12 units smaller (p = 0.039) is resolved, 8 of 12 (p = 0.39) is not,
    all ties is no change."""
    study, ds = result
    ds = ds.isel(unit=np.arange(12) % ds.sizes["unit"])
    ds.attrs = {k: v for k, v in ds.attrs.items() if "diameter_sign_p" not in k}
    cases = [(10, "lca: smaller at high amplitude (10 smaller, 2 larger; sign test p = 0.039)"),
             (8, "lca: not resolved with 12 units (8 smaller, 4 larger; sign test p = 0.39)")]
    for n_smaller, verdict in cases:
        ds["diameter_ratio"].loc[dict(model="lca")] = np.where(np.arange(12) < n_smaller,
                                                               0.8, 1.25)
        fig = _plotted(study, ds, tmp_path, monkeypatch)[
            "zhu-rozell-2013-ncrf_preferred_diameter.png"]
        assert verdict in fig.axes[0].get_title()
    ds["diameter_ratio"].loc[dict(model="lca")] = 1.0
    fig = _plotted(study, ds, tmp_path, monkeypatch)["zhu-rozell-2013-ncrf_preferred_diameter.png"]
    assert "lca: no change (0 smaller, 0 larger)" in fig.axes[0].get_title()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_full_run_preferred_diameter_is_smaller_at_high_contrast(seed):
    """The claim at the size that resolves it (16x16, 256 atoms, ~100 units; ~2-3 min
    each on an idle 2-core machine, 18-27 min on a loaded one): seed 0 64 units
    smaller, 21 larger (p = 3e-6); seed 1 63 and 18 (p = 5e-7; 64 and 18 when a
    plateau's rounding picked the preferred diameter, surround_suppression's rtol=0);
    measured 2026-12-07.
    And units more suppressed under LCA than under the linear control: seed 0 99 of 101,
    2 less (sign test p = 4e-27); seed 1 100 and 1 (p = 8e-29); measured 2026-12-07."""
    from studies import get_study

    ds = get_study("zhu-rozell-2013-ncrf").run(quick=False, seed=seed, progress=False)
    _assert_diameter_smaller_at_high_contrast(ds)
    assert ds.attrs["diameter_sign_p_lca"] < 0.05
    si = ds["suppression_index"].isel(contrast=-1)
    _assert_more_lca_units_more_suppressed(si.sel(model="lca").values,
                                           si.sel(model="linear").values, resolved=True)
    assert ds.attrs["si_paired_p"] < 0.05
    np.testing.assert_allclose(ds["diameter_ratio"].sel(model="linear").values, 1.0)


def test_orthogonal_mask_modulates_lca_units_only(result):
    """Only the modulation is asserted, not its sign: the quick runs give median
    indices of 0.005 / 0.029 (seeds 0, 1) but the full run's 101 units give 0.000 /
    -0.015 (seeds 0 / 1, 2026-12-07: suppression and facilitation in equal measure,
    18% / 12% of units suppressed by more than 5%, 25% / 19% facilitated), so net
    cross-orientation suppression is not a reproduced result (see the study's
    docstring)."""
    _, ds = result
    lca_index = ds["xos_index"].sel(model="lca").values
    assert np.median(np.abs(lca_index)) > 0.02  # seed 0 / 1: 0.066 / 0.050 (2026-12-07)
    # the mask's phase is averaged out: a linear unit's response does not change
    np.testing.assert_allclose(ds["xos_relative"].sel(model="linear").values, 1.0, atol=1e-9)


def test_length_tuning_of_both_models_and_no_end_stopping_on_quick_patches(result):
    """Measured, not a reproduction: on 12x12 patches the longest bar reaches only a
    few pixels past an atom's envelope, and the quick runs give median ESI 0 / 0.026
    for LCA and 0 for the control (seeds 0 / 1), so LCA's median cannot be asserted to
    exceed the control's. What holds: the control sums along its bars (ESI < 0.02,
    0.005 at most on seed 0), LCA's ESI is never below the control's by more than
    rounding on
    average. (The full run, 101 units on 16x16 patches, seeds 0 / 1, 2026-12-07: LCA
    median 0.021 / 0.043, 13% / 24% of units above 0.1, the control 0.)"""
    _, ds = result
    a = ds.attrs
    esi = ds["end_stopping_index"]
    assert ds["length_response"].dims == ("model", "unit", "length")
    assert esi.dims == ("model", "unit") and esi.attrs["units"] == "1"
    assert ds["length"].attrs["units"] == "pixel"
    np.testing.assert_allclose(ds["bar_width"].values, 1.0 / ds["grating_frequency"].values)
    linear, lca = esi.sel(model="linear").values, esi.sel(model="lca").values
    assert np.all(linear < 0.02)  # 0.005 at most (seed 0; seed 1: 0.02)
    assert a["median_esi_linear"] < 0.01 and a["fraction_end_stopped_linear"] == 0.0
    assert a["median_esi_lca"] >= a["median_esi_linear"]  # seed 0: 0 and 0
    assert np.nanmean(lca) >= np.nanmean(linear)  # seed 0: 0.011 vs < 0.005 (2026-12-07)


def test_dataset_units_and_figures(result, tmp_path):
    study, ds = result
    assert ds["size_response"].dims == ("model", "unit", "contrast", "diameter")
    assert ds["xos_response"].dims == ("model", "unit", "mask_contrast")
    assert ds["diameter"].attrs["units"] == "pixel"
    assert ds["y"].attrs["units"] == ds["x"].attrs["units"] == "pixel"  # the atoms' pixels
    assert ds["preferred_diameter"].attrs["units"] == "pixel"
    assert ds["suppression_index"].attrs["units"] == "1"
    assert ds.attrs["study"] == "zhu-rozell-2013-ncrf" and ds.attrs["lam"] == 0.1
    assert list(ds["model"].values) == ["lca", "linear"]
    assert ds["mask_contrast"].values[0] == 0.0
    # the largest disc is a full-field grating: the linear response there equals the
    # response to the full grating, which is the largest for a near-Gabor atom
    full = ds["size_response"].sel(model="linear").isel(diameter=-1)
    peak = ds["peak_response"].sel(model="linear")
    assert np.all(full.values >= 0.9 * peak.values)
    paths = study.plot(ds, tmp_path)
    assert len(paths) == 5 and all(p.exists() and p.suffix == ".png" for p in paths)
    assert paths[-1].name == "zhu-rozell-2013-ncrf_end_stopping.png"


def test_figure_legends_have_an_explicit_place(result, monkeypatch, tmp_path):
    """loc="best" searched the histograms' and scatter's data for a place and warned
    "Creating legend with loc="best" can be slow" on a loaded machine."""
    import v1model.io

    study, ds = result
    figures = []
    monkeypatch.setattr(v1model.io, "save_figure",
                        lambda fig, path, dpi=120: figures.append(fig) or path)
    study.plot(ds, tmp_path)
    legends = [ax.get_legend() for fig in figures for ax in fig.axes if ax.get_legend()]
    assert len(legends) >= 4
    for legend in legends:
        assert legend._loc != 0, [t.get_text() for t in legend.get_texts()]  # 0: "best"


@pytest.mark.parametrize("params, error, match", [
    (dict(contrasts=(0.5,)), ValueError, r"contrasts needs at least two values"),
    # ran, and compared a contrast with itself: every diameter ratio exactly 1
    (dict(contrasts=(1.0, 1.0)), ValueError,
     r"contrasts needs at least two values, a low and a higher one, got \(1\.0, 1\.0\)"),
    (dict(contrasts=(0.0, 1.0)), ValueError, r"contrasts must be > 0"),
    (dict(lam=-0.1), ValueError, r"lam must be a positive finite number"),
    (dict(margin=-1.0), ValueError, r"margin must be a non-negative finite number"),
    (dict(si_threshold=1.5), ValueError, r"si_threshold must be in \(0, 1\)"),
    (dict(mask_contrasts=(-0.5, 1.0)), ValueError, r"mask_contrasts must be >= 0"),
    (dict(n_diameters=1), ValueError, r"n_diameters must be >= 2"),
    (dict(n_lengths=1), ValueError, r"n_lengths must be >= 2"),
    (dict(n_mask_phases=1), ValueError, r"n_mask_phases must be >= 2"),
    (dict(test_contrast=0.0), ValueError, r"test_contrast must be a positive"),
    (dict(dictionary="/no/such/file.nc"), FileNotFoundError, r"dictionary: no such file"),
    (dict(quick="yes"), TypeError, r"quick must be a bool"),
])
def test_bad_parameters_fail_before_any_work(params, error, match):
    from studies import get_study

    study = get_study("zhu-rozell-2013-ncrf")
    kwargs = dict(quick=True, progress=False)
    kwargs.update(params)
    with pytest.raises(error, match=match):
        study.run(**kwargs)


def test_progress_false_draws_no_bar(monkeypatch, capsys, tmp_path):
    """The atoms' Gabor fits and the LCA encoder inside every probe drew their automatic
    bars (after PROGRESS_DELAY, set to 0 here; "Gabor fits" and "lca" in a full run)
    with progress=False. 16 centred 8x8 Gabors stand in for a learned dictionary."""
    import xarray as xr

    import v1model.progress
    from stimuli import gabor_patch
    from studies import get_study

    orientation = np.repeat(np.linspace(0, np.pi, 8, endpoint=False), 2)
    atoms = gabor_patch(8, orientation, 0.25, np.tile([0.0, np.pi / 2], 8), 1.5, 2.5)
    atoms /= np.linalg.norm(atoms.reshape(16, -1), axis=1)[:, None, None]
    path = tmp_path / "gabors.nc"
    xr.Dataset({"dictionary": (("atom", "y", "x"), atoms)}).to_netcdf(path)
    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)
    ds = get_study("zhu-rozell-2013-ncrf").run(
        quick=True, dictionary=str(path), n_diameters=4, n_lengths=4, n_orientations=4,
        n_frequencies=2, n_phases=2, mask_contrasts=(1.0,), n_mask_phases=2, progress=False)
    assert ds.attrs["n_units"] >= 1
    err = capsys.readouterr().err
    assert "%|" not in err, err[-500:]


def test_amplitude_axes_name_their_units(result, monkeypatch, tmp_path):
    """The cross-orientation figure's x axis read "orthogonal mask amplitude", without
    the unit of the amplitudes (the whitened input's, as receptive-field-mapping says)."""
    study, ds = result
    figures = _plotted(study, ds, tmp_path, monkeypatch)
    fig = figures["zhu-rozell-2013-ncrf_cross_orientation.png"]
    assert fig.axes[0].get_xlabel() == "orthogonal mask amplitude (whitened input units)"


def _gabor_dictionary(path):
    """16 centred unit-norm 8x8 Gabors (8 orientations in quadrature pairs), saved as a
    study dictionary (atom, y, x): a stand-in for a learned one."""
    import xarray as xr

    from stimuli import gabor_patch

    orientation = np.repeat(np.linspace(0, np.pi, 8, endpoint=False), 2)
    atoms = gabor_patch(8, orientation, 0.25, np.tile([0.0, np.pi / 2], 8), 1.5, 2.5)
    atoms /= np.linalg.norm(atoms.reshape(16, -1), axis=1)[:, None, None]
    xr.Dataset({"dictionary": (("atom", "y", "x"), atoms)}).to_netcdf(path)
    return str(path), atoms.reshape(16, -1)


#: a small protocol on the 16 Gabors (the probes of every kind, a few hundred stimuli)
SMALL = dict(n_diameters=4, n_lengths=4, n_orientations=4, n_frequencies=2, n_phases=2,
             mask_contrasts=(1.0,), n_mask_phases=2)


def _lca_deviation_from_lasso(record_lca, path, D, **params):
    """Largest |LCA code - LASSO code| over every stimulus the study's LCA encoder saw
    (recorded by the ``record_lca`` fixture), relative to the largest LASSO code; the
    LASSO optimum is scikit-learn's (alpha = lam / n_features: its objective is
    1/(2 n_features) ||x - D^T a||^2 + alpha |a|_1)."""
    from sklearn.linear_model import Lasso

    from studies import get_study

    seen = record_lca()
    get_study("zhu-rozell-2013-ncrf").run(quick=True, dictionary=path, progress=False,
                                          **SMALL, **params)
    X = np.concatenate([x for x, _, _, _ in seen])
    codes = np.concatenate([a for _, _, _, a in seen])
    lam = seen[0][2]
    lasso = Lasso(alpha=lam / D.shape[1], fit_intercept=False, tol=1e-12, max_iter=100000)
    # a blank stimulus' optimum is 0 (scikit-learn warns of a zero tolerance on it)
    optimum = np.array([lasso.fit(D.T, x).coef_ if x.any() else np.zeros(D.shape[0])
                        for x in X])
    assert np.abs(optimum).max() > 1.0  # the probes drive the units well above lam = 0.1
    return np.abs(codes - optimum).max() / np.abs(optimum).max()


def test_lca_responses_are_the_lasso_optimum(tmp_path, record_lca):
    """The LCA encoder stopped at lca's default tolerance (1e-3 on the rate of change)
    before it converged: on the quick run's probe stimuli its codes differed from the
    LASSO optimum by up to 10% of the largest code, more than the effects measured
    (a few percent). At the study's lca_tol (1e-5) every code of every probe stimulus
    of these 16 Gabors is within 0.1% of the largest code of the optimum (0.01%
    measured); at 1e-3 it is not (1.1%; 0.11% at 1e-4)."""
    path, D = _gabor_dictionary(tmp_path / "gabors.nc")
    assert _lca_deviation_from_lasso(record_lca, path, D) < 1e-3
    # the bound needs the tolerance: lca's default misses it
    assert _lca_deviation_from_lasso(record_lca, path, D, lca_tol=1e-3) > 1e-3


def test_lca_tol_is_recorded_and_checked_before_any_work(tmp_path):
    from studies import get_study

    study = get_study("zhu-rozell-2013-ncrf")
    assert study.PARAMETER_UNITS["lca_tol"] == "1"
    for bad, error in ((0.0, ValueError), (-1e-5, ValueError), ("abc", TypeError)):
        with pytest.raises(error, match=f"lca_tol must be a .*{bad!r}"):
            study.run(quick=True, lca_tol=bad, progress=False)
    path, _ = _gabor_dictionary(tmp_path / "gabors.nc")
    ds = study.run(quick=True, dictionary=path, lca_tol=1e-4, progress=False, **SMALL)
    assert ds.attrs["lca_tol"] == 1e-4
    # the preferred diameter's rtol follows it: LCA's codes for identical stimuli
    # differ by up to ~7 lca_tol of the peak (surround_suppression's default rtol, 1e-5,
    # left a plateau's preferred diameter to the solver)
    assert ds.attrs["rtol"] == pytest.approx(1e-3, rel=1e-12)


def _never_learn(monkeypatch):
    """Make learning or loading a dictionary an error: the checks come before."""
    import studies._learned

    def refuse(*args, **kwargs):
        raise AssertionError("the dictionary was learned or loaded before the check")

    monkeypatch.setattr(studies._learned, "learned_dictionary", refuse)


@pytest.mark.parametrize("quick, margin, side", [(True, 10, 12), (True, 5.6, 12),
                                                 (False, 10, 16), (False, 7.6, 16)])
def test_a_margin_no_centre_fits_is_refused_before_the_dictionary_is_learned(
        monkeypatch, quick, margin, side):
    """margin=10 on the quick 12x12 patch (2 margin > 12 - 1: no centre can lie margin
    pixels inside the outermost pixel centres) was refused only after the dictionary was
    learned and the atoms fitted ("no atom ... centred 10 pixels inside"), so a sweep's
    pre-flight let it through."""
    from studies import get_study
    from v1model.sweep import SpecError, check_points, parse_spec

    _never_learn(monkeypatch)
    message = (rf"margin={float(margin)!r} leaves no place for a unit's centre on the "
               rf"{side}x{side} patch .* margin must be <= {(side - 1) / 2:g}")
    with pytest.raises(ValueError, match=message):
        get_study("zhu-rozell-2013-ncrf").run(quick=quick, margin=margin, progress=False)
    spec = parse_spec({"study": "zhu-rozell-2013-ncrf", "sweep": {"margin": [1.0, margin]},
                       "quick": quick, "executor": {"kind": "serial"}})
    with pytest.raises(SpecError, match=r"point 1 \(margin=.*\) is refused by the study: "
                                        r"ValueError: " + message):
        check_points(spec)
    # the largest margin that leaves a place is accepted
    spec = parse_spec({"study": "zhu-rozell-2013-ncrf", "sweep": {"margin": [(side - 1) / 2]},
                       "quick": quick, "executor": {"kind": "serial"}})
    assert check_points(spec) == 1


def test_a_margin_is_checked_against_a_given_dictionary_without_loading_it(
        tmp_path, monkeypatch):
    from studies import get_study

    path, _ = _gabor_dictionary(tmp_path / "gabors.nc")  # 8x8 atoms
    _never_learn(monkeypatch)
    with pytest.raises(ValueError, match=r"margin=4\.0 leaves no place .* on the 8x8 patch"):
        get_study("zhu-rozell-2013-ncrf").run(quick=False, dictionary=path, margin=4,
                                              progress=False)


@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")  # the ESI medians
def test_population_fractions_leave_out_units_without_an_index(tmp_path, monkeypatch):
    """The fractions (np.mean(index > threshold)) counted a unit with a NaN index (it never
    responds) as not suppressed, while the medians left it out. At a test amplitude of
    0.07, below what half of the 8 probed Gabor units answer under LCA (lam 0.1), those
    4 have no cross-orientation index: 2 of the 8 were "suppressed" (0.25), 2 of the 4
    with an index are (0.5). The other indices are made NaN here: unit 0's SI and diameter
    ratio, every unit's ESI (no unit has one: the fraction is NaN, not 0)."""
    import v1model.analysis
    from studies import get_study

    sizes, ends = v1model.analysis.surround_suppression, v1model.analysis.end_stopping

    def unit_0_silent(*args, **kwargs):
        s = sizes(*args, **kwargs)
        s["suppression_index"][0] = np.nan
        s["preferred_diameter_ratio"][0] = np.nan
        return s

    def all_silent(*args, **kwargs):
        e = ends(*args, **kwargs)
        e["end_stopping_index"][:] = np.nan
        return e

    monkeypatch.setattr(v1model.analysis, "surround_suppression", unit_0_silent)
    monkeypatch.setattr(v1model.analysis, "end_stopping", all_silent)
    path, _ = _gabor_dictionary(tmp_path / "gabors.nc")
    ds = get_study("zhu-rozell-2013-ncrf").run(quick=True, dictionary=path, test_contrast=0.07,
                                               progress=False, **SMALL)
    a, thr = ds.attrs, ds.attrs["si_threshold"]
    n = ds.sizes["unit"]
    xi = ds["xos_index"].sel(model="lca").values
    silent = np.isnan(xi)
    assert n == 8 and silent.sum() == 4  # the real silent units of this protocol
    assert a["fraction_xos_lca"] == np.count_nonzero(xi[~silent] > thr) / 4 == 0.5
    assert a["median_xos_lca"] == np.median(xi[~silent])
    for m in ("lca", "linear"):
        si = ds["suppression_index"].sel(model=m).values[:, -1]
        ratio = ds["diameter_ratio"].sel(model=m).values
        assert np.isnan(si[0]) and np.isnan(ratio[0]) and np.isfinite(si[1:]).all()
        assert a[f"fraction_suppressed_{m}"] == np.count_nonzero(si[1:] > thr) / (n - 1)
        assert a[f"fraction_diameter_smaller_{m}"] == np.count_nonzero(ratio[1:] < 1) / (n - 1)
        assert (a[f"fraction_diameter_not_larger_{m}"]
                == np.count_nonzero(ratio[1:] <= 1) / (n - 1))
        assert np.isnan(a[f"fraction_end_stopped_{m}"]) and np.isnan(a[f"median_esi_{m}"])
    # the linear control answers the test alone: every unit has an index
    assert np.isfinite(ds["xos_index"].sel(model="linear").values).all()
    # results saved before fraction_diameter_not_larger existed: the same fraction
    import studies.zhu_rozell_2013_ncrf as study

    expected = a.pop("fraction_diameter_not_larger_lca")
    assert study._fraction_not_larger(ds, "lca") == expected


def test_end_stopping_figure_says_its_examples_are_the_most_end_stopped(result, monkeypatch,
                                                                        tmp_path):
    """The length-tuning panels show the LCA units of largest ESI (on quick patches one at
    0.06 beside two at 0.00): the title says so, as the size-tuning figure's does."""
    study, ds = result
    figures = _plotted(study, ds, tmp_path, monkeypatch)
    fig = figures["zhu-rozell-2013-ncrf_end_stopping.png"]
    n = len(fig.axes) - 1  # the example panels, then the ESI histogram
    esi = np.nan_to_num(ds["end_stopping_index"].sel(model="lca").values, nan=-1.0)
    top = ds["atom_index"].values[np.argsort(-esi, kind="stable")[:n]]
    assert [ax.get_title() for ax in fig.axes[:n]] == [f"atom {int(a)}" for a in top]
    assert fig._suptitle.get_text().startswith(
        f"End-stopping: length tuning of the {n} most end-stopped LCA units and the ESI of "
        f"all {ds.sizes['unit']}")


def test_preferred_diameter_axes_hold_the_jittered_points(result, monkeypatch, tmp_path):
    """The points are jittered by up to 0.15 of a diameter step, but the axes ended at
    1.02 x the largest diameter: with few diameters (a wide step) the units preferring
    the largest one were drawn past the edge, cut in half or not at all."""

    study, ds = result
    ds = ds.isel(diameter=[0, ds.sizes["diameter"] // 2, -1])  # 3 diameters: a wide step
    d = ds["diameter"].values
    ds["preferred_diameter"][:] = d.max()  # every unit at the largest diameter
    figures = _plotted(study, ds, tmp_path, monkeypatch)
    ax = figures["zhu-rozell-2013-ncrf_preferred_diameter.png"].axes[0]
    reach = d.max() + 0.15 * np.diff(d).min()  # the farthest a jittered point can go
    assert ax.get_xlim()[1] >= reach and ax.get_ylim()[1] >= reach
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    assert points.shape[0] == 2 * ds.sizes["unit"]
    assert points.max() <= min(ax.get_xlim()[1], ax.get_ylim()[1])


def test_saved_responses_are_in_units_of_x(tmp_path):
    """The responses were saved with units "1". They are LCA codes and the control's
    projections on unit-norm atoms, in units of X like lam and the grating amplitudes
    (the whitened input's): stimuli and lam twice as large give every response twice as
    large, as a quantity in units of X must."""
    import xarray as xr

    from studies import get_study
    from v1model.io import save_dataset

    path, _ = _gabor_dictionary(tmp_path / "gabors.nc")
    study = get_study("zhu-rozell-2013-ncrf")
    params = dict(SMALL, contrasts=(0.1, 1.0), test_contrast=0.5)
    runs = []
    for k in (1.0, 2.0):
        scaled = dict(params, lam=0.1 * k, contrasts=tuple(k * c for c in params["contrasts"]),
                      test_contrast=k * params["test_contrast"],
                      mask_contrasts=tuple(k * c for c in params["mask_contrasts"]))
        ds = study.run(quick=True, dictionary=path, progress=False, **scaled)
        with xr.open_dataset(save_dataset(ds, tmp_path / f"result{k:g}.nc")) as saved:
            runs.append(saved.load())
    responses = ("size_response", "peak_response", "xos_response", "xos_mask_alone",
                 "length_response")
    one, two = runs
    for var in responses + ("contrast", "mask_contrast"):
        assert one[var].attrs["units"] == "units of X", var
    assert study.PARAMETER_UNITS["test_contrast"] == study.PARAMETER_UNITS["lam"] == "units of X"
    for var in ("suppression_index", "xos_relative", "xos_index", "end_stopping_index"):
        assert one[var].attrs["units"] == "1", var  # ratios of responses stay dimensionless
    assert one.sizes["unit"] >= 1 and float(one["peak_response"].max()) > 0.1
    for var in responses:
        np.testing.assert_allclose(two[var].values, 2.0 * one[var].values, rtol=1e-6,
                                   atol=1e-9, err_msg=var)


@pytest.mark.parametrize("quick, side", [(True, 12), (False, 16)])
def test_a_lam_no_grating_of_the_lowest_contrast_can_pass_is_refused_before_learning(
        monkeypatch, quick, side):
    """lam=1e6 learned the dictionary (minutes for the full run) and fitted its atoms,
    then failed with "no candidate unit responds": a grating of amplitude c on an h x w
    patch drives a unit-norm atom by at most c * sqrt(h * w) (every pixel +-c)."""
    from studies import get_study
    from v1model.sweep import SpecError, check_points, parse_spec

    _never_learn(monkeypatch)
    # the lowest contrast finds the units' preferences, in whatever order it is given
    bound = 0.2 * side
    with pytest.raises(ValueError, match=rf"lam={bound!r} is at least the largest drive .* = "
                                         rf"{bound:.3g} that a grating of min\(contrasts\)="
                                         rf"0\.2 gives a unit-norm atom on the {side}x{side} "
                                         rf"patch: no unit can respond"):
        get_study("zhu-rozell-2013-ncrf").run(quick=quick, lam=bound, contrasts=[1.0, 0.2],
                                              progress=False)
    spec = parse_spec({"study": "zhu-rozell-2013-ncrf", "quick": quick,
                       "sweep": {"lam": [0.1, 1e6]}, "executor": {"kind": "serial"}})
    with pytest.raises(SpecError, match=r"point 1 \(lam=1000000\.0\) is refused by the "
                                        r"study: ValueError: lam=1000000\.0 is at least"):
        check_points(spec)
    spec = parse_spec({"study": "zhu-rozell-2013-ncrf", "quick": quick,
                       "sweep": {"lam": [0.099 * side]}, "executor": {"kind": "serial"}})
    assert check_points(spec) == 1


def test_size_tuning_examples_draw_every_contrast(result, monkeypatch, tmp_path):
    """The size-tuning examples drew the lowest and the highest contrast alone: with
    ``-p contrasts=[0.05,0.3,1.0]`` the curves at 0.3, computed and saved, were in no
    figure (nor in its key). Every contrast is drawn now, each in its own line style
    and named in the key, the curve being the saved response over its peak."""
    study, ds = result
    ds = ds.reindex(contrast=[0.1, 0.3, 1.0], method="nearest")  # a middle contrast
    middle = ds["size_response"].sel(contrast=0.3)
    ds["size_response"].loc[dict(contrast=0.3)] = 0.5 * middle  # unlike its neighbour
    fig = _plotted(study, ds, tmp_path, monkeypatch)["zhu-rozell-2013-ncrf_size_tuning.png"]
    key = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [k for k in key if k.startswith("grating amplitude")] == [
        "grating amplitude 0.1", "grating amplitude 0.3", "grating amplitude 1"], key
    d = ds["diameter"].values
    for ax in fig.axes:
        curves = [line for line in ax.get_lines() if len(line.get_xdata()) == d.size]
        assert len(curves) == 3, ax.get_title()
        assert len({line.get_linestyle() for line in curves}) == 3, ax.get_title()
        model, atom = ax.get_title().split(": ")[0].split(" · atom ")
        unit = int(np.flatnonzero(ds["atom_index"].values == int(atom))[0])
        for k, line in enumerate(curves):
            r = ds["size_response"].sel(model=model).values[unit, k]
            np.testing.assert_allclose(line.get_ydata(), r / (r.max() if r.max() > 0 else 1))
