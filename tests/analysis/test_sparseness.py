"""Sparseness indices against hand-computed values and SciPy."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from v1model.analysis import (
    activity_ratio,
    code_class,
    dead_units,
    hoyer_sparseness,
    kurtosis,
    lifetime_sparseness,
    mean_active_count,
    population_sparseness,
    sparseness,
    treves_rolls,
    vinje_gallant,
)


def test_treves_rolls_and_vinje_gallant_hand_computed():
    # one active unit of four: a = (1/4)^2 / (1/4) = 1/4, S = 1
    assert treves_rolls([1.0, 0, 0, 0]) == pytest.approx(0.25)
    assert vinje_gallant([1.0, 0, 0, 0]) == pytest.approx(1.0)
    # equal responses: a = 1, S = 0
    assert treves_rolls([2.0, 2, 2, 2]) == pytest.approx(1.0)
    assert vinje_gallant([2.0, 2, 2, 2]) == pytest.approx(0.0)
    # r = (1, 2, 3): mean 2, mean square 14/3 -> a = 6/7, S = (1/7) / (2/3) = 3/14
    assert treves_rolls([1.0, 2, 3]) == pytest.approx(6 / 7)
    assert vinje_gallant([1.0, 2, 3]) == pytest.approx(3 / 14)
    # signed codes are rectified with |a| by default
    assert treves_rolls([-1.0, 2, -3]) == pytest.approx(6 / 7)
    # positive part (0, 2, 0): a = (2/3)^2 / (4/3) = 1/3
    assert treves_rolls([-1.0, 2, -3], rectify="positive") == pytest.approx(1 / 3)
    assert np.isnan(treves_rolls([0.0, 0.0]))


def test_lifetime_and_population_axes():
    # rows are stimuli, columns units
    codes = np.array([[1.0, 0.0, 3.0],
                      [0.0, 0.0, 2.0],
                      [0.0, 5.0, 1.0],
                      [0.0, 0.0, 0.0]])
    life = lifetime_sparseness(codes)
    # unit 0 answers 1 stimulus of 4: S = 1; unit 2: r = (3, 2, 1, 0):
    # mean 1.5, mean square 3.5, a = 2.25 / 3.5 = 9/14, S = (5/14) / (3/4) = 10/21
    np.testing.assert_allclose(life, [1.0, 1.0, 10 / 21])
    pop = population_sparseness(codes)
    # stimulus 0: r = (1, 0, 3): a = (4/3)^2 / (10/3) = 8/15
    assert pop[0] == pytest.approx(8 / 15)
    assert pop[1] == pytest.approx(1 / 3)
    assert np.isnan(pop[3])


def test_hoyer_hand_computed():
    np.testing.assert_allclose(hoyer_sparseness([[0.0, 5.0, 0.0], [1.0, -1.0, 1.0]]), [1.0, 0.0],
                               atol=1e-12)
    expected = (np.sqrt(2) - 7 / 5) / (np.sqrt(2) - 1)
    assert hoyer_sparseness([[3.0, 4.0]])[0] == pytest.approx(expected)


def test_kurtosis_matches_scipy():
    x = np.random.default_rng(0).laplace(size=(500, 4))
    np.testing.assert_allclose(kurtosis(x), stats.kurtosis(x, axis=0, fisher=True, bias=True))
    np.testing.assert_allclose(kurtosis(x, axis=1), stats.kurtosis(x, axis=1))


def test_activity_counts_dead_units_and_classes():
    n, k = 200, 64
    local = np.zeros((n, k))
    local[np.arange(n), np.arange(n) % k] = 1.0
    assert activity_ratio(local) == pytest.approx(1 / k)
    assert mean_active_count(local) == pytest.approx(1.0)
    assert code_class(local) == "local"
    rng = np.random.default_rng(0)
    dense = rng.standard_normal((n, k)) * (rng.random((n, k)) < 0.5)
    assert code_class(dense) == "dense"
    sparse = np.zeros((n, k))
    sparse[:, :4] = 1.0
    assert code_class(sparse) == "sparse"
    assert dead_units(sparse).sum() == k - 4
    # thresholds are parameters: four active units count as local with a looser bound
    assert code_class(sparse, local_max_count=4) == "local"
    # and tol decides what counts as active
    assert activity_ratio(0.01 * dense, tol=0.1) == 0.0
    # one-hot is local however few the units (its activity ratio 1/4 is "dense"'s bound)
    assert code_class(np.eye(4)) == "local"
    # no unit answers most stimuli: a class of its own, not "local"
    assert code_class(np.zeros((10, 8))) == "silent"
    assert code_class(0.01 * dense, tol=0.1) == "silent"
    mostly_silent = np.zeros((10, 8))
    mostly_silent[:4, 0] = 1.0  # 0.4 units per stimulus; 0.5 is the boundary
    assert code_class(mostly_silent) == "silent"
    mostly_silent[4, 0] = 1.0
    assert code_class(mostly_silent) == "local"


@pytest.mark.parametrize("value", [0.1, 0.3, 1 / 3, 0.7, 1e6])
def test_kurtosis_of_constant_responses_is_nan(value):
    # rounding leaves a variance of ~1e-34, which must not count as spread
    assert np.isnan(kurtosis(np.full((1000, 2), value))).all()


def test_sparseness_dataset_summarises_everything():
    codes = np.array([[1.0, 0.0, 3.0, 0.0],
                      [0.0, 0.0, 2.0, 0.0],
                      [0.0, 5.0, 1.0, 0.0]])
    ds = sparseness(codes)
    assert float(ds.activity_ratio) == pytest.approx(5 / 12)
    assert float(ds.mean_active_count) == pytest.approx(5 / 3)
    assert int(ds.n_dead) == 1 and bool(ds.dead[3])
    np.testing.assert_array_equal(ds.active_count, [2, 1, 2])
    assert ds.attrs["code_class"] == "dense"
    assert np.isnan(ds.lifetime_sparseness[3])
    assert ds.lifetime_sparseness.attrs["units"] == "1"


def test_sparseness_counts_the_units_its_mean_lifetime_sparseness_leaves_out():
    # mean_lifetime_sparseness is a nanmean: units that never respond (NaN) were left out
    # unsaid, so means at two lam were over different units. By hand (Vinje-Gallant over
    # 4 stimuli): unit 0 answers [2, 0, 0, 0] (a = 0.25, S = 1), unit 1 [1, 1, 0, 0]
    # (a = 0.5, S = 2/3), unit 3 [1, 1, 1, 1] (S = 0); units 2 and 4 are dead
    A = np.array([[2.0, 1.0, 0.0, 1.0, 0.0],
                  [0.0, 1.0, 0.0, -1.0, 0.0],
                  [0.0, 0.0, 0.0, 1.0, 0.0],
                  [0.0, 0.0, 0.0, -1.0, 0.0]])
    ds = sparseness(A)
    assert float(ds.mean_lifetime_sparseness) == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert int(ds.n_units_left_out) == 2 == int(ds.n_dead)
    assert "n_units_left_out left out" in ds.mean_lifetime_sparseness.attrs["long_name"]
    assert int(ds.n_stimuli_left_out) == 0
    # rectified to positive rates unit 3 answers [1, 0, 1, 0] (S = 2/3), and the last
    # stimulus, with a negative response only, none at all: left out of the population mean
    pos = sparseness(A, rectify="positive")
    assert float(pos.mean_lifetime_sparseness) == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert int(pos.n_units_left_out) == 2
    assert int(pos.n_stimuli_left_out) == 1 and int(pos.n_dead) == 2
    assert "n_stimuli_left_out left out" in pos.mean_population_sparseness.attrs["long_name"]
    assert ds.n_units_left_out.dtype == np.int64 and ds.n_units_left_out.attrs["units"] == "1"


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sparseness(np.ones(5)), "codes must have 2 dimension"),
        (lambda: sparseness([[1.0, np.nan]]), "codes contains 1 non-finite"),
        (lambda: code_class(np.ones((3, 3)), dense_min_ratio=1.5), "dense_min_ratio must be in"),
        # the message named neither rectify nor the negative value
        (lambda: treves_rolls([1.0, -0.25], rectify="none"),
         r"rectify='none' needs non-negative responses, got a minimum of -0.25"),
        (lambda: vinje_gallant([1.0]), "at least 2 values"),
        (lambda: activity_ratio(np.ones((2, 2)), tol=-1), "tol must be a non-negative"),
        (lambda: hoyer_sparseness(np.ones(4), axis=1),
         r"axis must be in \[-1, 0\] for an array of 1"),
        (lambda: kurtosis(np.ones((3, 3)), axis=2), r"axis must be in \[-2, 1\]"),
        (lambda: treves_rolls(np.ones((3, 3)), axis=-3), r"axis must be in \[-2, 1\]"),
        (lambda: vinje_gallant(np.ones((3, 3)), axis=5), r"axis must be in \[-2, 1\]"),
        # a scalar used to get "axis must be in [0, -1] for an array of 0 dimension(s)"
        (lambda: treves_rolls(3.0), r"responses must be an array with at least 1 dimension "
                                    r"\(the index runs along an axis\), got a scalar 3.0"),
        (lambda: vinje_gallant(3.0), "responses must be an array with at least 1 dimension"),
        (lambda: kurtosis(3.0), "codes must be an array with at least 1 dimension"),
        (lambda: hoyer_sparseness(3.0), "codes must be an array with at least 1 dimension"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("factor", [1e200, 1e100, 1e-300, 2.0**1000])
def test_scale_invariant_indices_hold_at_any_scale(factor):
    """Treves-Rolls, Vinje-Gallant, Hoyer and kurtosis do not change when the responses
    are multiplied by a constant; at 1e200 (1e100 for the fourth powers of kurtosis)
    they were NaN, and Hoyer exceeded 1. References: SciPy's kurtosis and the
    definitions on the unscaled responses."""
    x = np.random.default_rng(0).laplace(size=(300, 5))
    y = x * factor
    np.testing.assert_allclose(kurtosis(y), stats.kurtosis(x, axis=0), rtol=1e-10)
    r = np.abs(x)
    tr = r.mean(axis=0) ** 2 / (r**2).mean(axis=0)
    np.testing.assert_allclose(treves_rolls(y, axis=0), tr, rtol=1e-12)
    np.testing.assert_allclose(vinje_gallant(y, axis=0), (1 - tr) / (1 - 1 / 300), rtol=1e-10)
    np.testing.assert_allclose(lifetime_sparseness(y), (1 - tr) / (1 - 1 / 300), rtol=1e-10)
    l1, l2 = r.sum(axis=1), np.sqrt((x**2).sum(axis=1))
    np.testing.assert_allclose(hoyer_sparseness(y), (np.sqrt(5) - l1 / l2) / (np.sqrt(5) - 1),
                               rtol=1e-10)
    ds = sparseness(y)
    assert np.all(np.isfinite(ds.lifetime_sparseness)) and np.all(np.isfinite(ds.kurtosis))


def test_sparseness_dataset_summary_values():
    from v1model.analysis import sparseness
    codes = np.array([[1.0, 0.0, 3.0, 0.0],
                      [0.0, 0.0, 2.0, 0.0],
                      [0.0, 5.0, 1.0, 0.0]])
    ds = sparseness(codes)
    # population (Treves-Rolls) per stimulus: (1,0,3,0): (1)^2/(10/4)=0.4; (0,0,2,0): 0.25;
    # (0,5,1,0): 2.25/6.5
    np.testing.assert_allclose(ds.population_sparseness, [0.4, 0.25, 2.25 / 6.5])
    assert float(ds.mean_population_sparseness) == pytest.approx(np.mean([0.4, 0.25, 2.25 / 6.5]))
    np.testing.assert_allclose(ds.unit_activity, [1 / 3, 1 / 3, 1.0, 0.0])


def test_sparseness_dataset_applies_rectify_to_both_indices():
    """``sparseness(codes, rectify="positive")`` rectifies before the lifetime and the
    population indices, as the standalone functions do. By hand on signed codes: unit 0
    answers [1, 0, 3, 0] (Treves-Rolls 1 / 2.5 = 0.4, Vinje-Gallant 0.6 / 0.75 = 0.8),
    unit 1 [0, 0, 1, 0] (VG 1); samples 1 and 3 are silent (NaN), sample 0 [1, 0] has
    TR 0.5 and sample 2 [3, 1] 4 / 5 = 0.8. A dropped ``rectify`` gave the |a| values."""
    A = np.array([[1.0, -2.0], [-1.0, 0.0], [3.0, 1.0], [0.0, -1.0]])
    ds = sparseness(A, rectify="positive")
    np.testing.assert_allclose(ds.lifetime_sparseness.values, [0.8, 1.0], rtol=1e-12)
    np.testing.assert_allclose(ds.population_sparseness.values, [0.5, np.nan, 0.8, np.nan],
                               rtol=1e-12)
    assert ds.attrs["rectify"] == "positive"


def test_one_sample_is_refused_by_kurtosis_and_warned_of_by_sparseness():
    """kurtosis of one value was all NaN without a word, while lifetime_sparseness and
    hoyer_sparseness refuse fewer than 2 values; sparseness keeps its NaN (one row of a
    summary) but says so. Two values have an excess kurtosis of exactly 1 - 3 = -2."""
    codes = np.random.default_rng(0).standard_normal((10, 5))
    with pytest.raises(ValueError, match=r"^codes needs at least 2 values along axis 0, got 1"):
        kurtosis(codes[:1])
    np.testing.assert_allclose(kurtosis(codes[:2]), -2.0, rtol=1e-12)
    with pytest.warns(UserWarning, match=r"codes has shape \(1, 5\): NaN for lifetime_sparseness "
                                         r"and kurtosis \(1 stimulus\), which need at least 2"):
        ds = sparseness(codes[:1])
    assert np.isnan(ds.lifetime_sparseness).all() and np.isnan(ds.kurtosis).all()
    with pytest.warns(UserWarning, match=r"codes has shape \(10, 1\): NaN for hoyer \(1 unit\)"):
        assert np.isnan(sparseness(codes[:, :1]).hoyer).all()


def test_sparseness_records_the_units_of_tol():
    # tol is a threshold on |a|, in the units of the codes; the attrs said only 0.1
    ds = sparseness(np.eye(3), tol=0.1)
    assert ds.attrs["tol"] == 0.1
    assert ds.attrs["tol_units"] == "units of codes"


def test_a_dataarray_of_codes_is_read_by_dim_name():
    # codes (atom, sample) were read by position: lifetime and population sparseness of
    # each other's axes, unsaid
    import xarray as xr

    rng = np.random.default_rng(0)
    A = rng.standard_normal((12, 12)) * (rng.random((12, 12)) < 0.3)
    A[:, 0] = 1.0  # every stimulus answered
    A[:, 5] = 0.0  # one dead unit
    da = xr.DataArray(A, dims=("sample", "atom")).transpose("atom", "sample")
    np.testing.assert_array_equal(lifetime_sparseness(da), lifetime_sparseness(A))
    np.testing.assert_array_equal(population_sparseness(da), population_sparseness(A))
    assert np.flatnonzero(dead_units(da)).tolist() == [5]


def _codes_dataarray(seed=0, shape=(40, 6)):
    import xarray as xr

    rng = np.random.default_rng(seed)
    A = rng.laplace(size=shape) * (rng.random(shape) < 0.4)
    return A, xr.DataArray(A, dims=("sample", "atom"))


@pytest.mark.parametrize("func, default_dim", [
    (kurtosis, "sample"), (hoyer_sparseness, "atom"), (treves_rolls, "atom"),
    (vinje_gallant, "atom")])
def test_the_default_axis_of_a_transposed_dataarray_is_the_same_dim(func, default_dim):
    # kurtosis(codes_da.T) was the kurtosis per sample (axis 0 read by position), unsaid
    A, da = _codes_dataarray()
    expected = func(A)
    np.testing.assert_array_equal(func(da.T), expected)
    np.testing.assert_array_equal(func(da.T, axis=default_dim), expected)
    np.testing.assert_array_equal(func(da, axis=default_dim), expected)


def test_an_int_axis_that_the_two_orders_read_differently_is_refused():
    # kurtosis(codes_da.T, axis=1) of codes (atom, sample) counted (sample, atom): the
    # kurtosis over the atoms, unsaid, where the user's own axis 1 was the samples
    A, da = _codes_dataarray()
    with pytest.raises(ValueError, match=r"^axis=1 is ambiguous for codes with dims "
                                         r"\('atom', 'sample'\): an int counts the dims "
                                         r"\('sample', 'atom'\) in that order, where it is "
                                         r"'atom', but axis 1 of codes is 'sample'; pass the dim "
                                         r"name, axis='atom' or axis='sample'$"):
        kurtosis(da.T, axis=1)
    with pytest.raises(ValueError, match=r"^axis=0 is ambiguous for responses"):
        treves_rolls(da.T, axis=0)
    # the default, a dim name, and any int in (sample, atom)'s own order are taken
    np.testing.assert_allclose(kurtosis(da.T, axis="sample"), stats.kurtosis(A, axis=0),
                               rtol=1e-12)
    np.testing.assert_allclose(kurtosis(da, axis=1), stats.kurtosis(A, axis=1), rtol=1e-12)


def test_an_axis_by_dim_name_matches_scipy():
    A, da = _codes_dataarray()
    np.testing.assert_allclose(kurtosis(da.T, axis="sample"), stats.kurtosis(A, axis=0),
                               rtol=1e-12)
    np.testing.assert_allclose(kurtosis(da.T, axis="atom"), stats.kurtosis(A, axis=1),
                               rtol=1e-12)
    # any other dims: the name is looked up in them (no (sample, atom) reading needed)
    other = da.rename(sample="trial", atom="neuron").T
    np.testing.assert_allclose(kurtosis(other, axis="trial"), stats.kurtosis(A, axis=0),
                               rtol=1e-12)


def test_an_axis_by_dim_name_is_refused_for_a_plain_array_and_an_unknown_dim():
    A, da = _codes_dataarray()
    with pytest.raises(TypeError, match=r"^axis='sample' is a dim name, which only an "
                                        r"xarray.DataArray has; codes is array of shape "
                                        r"\(40, 6\) and dtype float64: pass axis as an int$"):
        kurtosis(A, axis="sample")
    with pytest.raises(ValueError, match=r"^axis='unit' is not a dim of responses, whose dims "
                                         r"are \('sample', 'atom'\)$"):
        vinje_gallant(da, axis="unit")
    with pytest.raises(ValueError, match=r"^codes needs at least 2 values along axis "
                                         r"'sample', got 1$"):
        hoyer_sparseness(da[:1], axis="sample")


@pytest.mark.parametrize("func", [treves_rolls, vinje_gallant])
def test_a_tuning_curve_dataarray_is_read_by_position_with_an_int_axis(func):
    # the package's own tuning curves are (atom, orientation): an int axis counts
    # their axes, as for the plain array (naming "atom" first is no contradiction)
    import xarray as xr

    rng = np.random.default_rng(0)
    curve = rng.random((4, 9))
    da = xr.DataArray(curve, dims=("atom", "orientation"))
    np.testing.assert_array_equal(func(da), func(curve, axis=-1))
    np.testing.assert_array_equal(func(da, axis=0), func(curve, axis=0))
    np.testing.assert_array_equal(func(da, axis="orientation"), func(curve))
    # and the measures whose default axis is not -1 (plain-array defaults)
    np.testing.assert_array_equal(hoyer_sparseness(da), hoyer_sparseness(curve))
    np.testing.assert_array_equal(kurtosis(da), kurtosis(curve))


def test_rates_over_time_are_read_by_dim_name():
    # spiking runs give rates or counts over time: codes (atom, time) were refused, and
    # treves_rolls / hoyer_sparseness ran over time instead of over the units, unsaid
    import xarray as xr

    rng = np.random.default_rng(1)
    A = rng.poisson(0.4, size=(30, 7)).astype(float)  # counts (time, atom)
    A[:, 3] = 0.0  # a silent unit
    A[0] = 0.0  # a time bin no unit answers
    da = xr.DataArray(A.T, dims=("atom", "time"))
    active = A != 0
    assert activity_ratio(da) == pytest.approx(active.sum() / A.size, rel=1e-15)
    assert mean_active_count(da) == pytest.approx(active.sum() / 30, rel=1e-15)
    assert np.flatnonzero(dead_units(da)).tolist() == [3]
    # Treves-Rolls over the units of each time bin, (mean r)^2 / mean(r^2), by hand
    with np.errstate(invalid="ignore"):
        a = A.mean(axis=1) ** 2 / (A**2).mean(axis=1)
    np.testing.assert_allclose(population_sparseness(da), a, rtol=1e-13)
    np.testing.assert_allclose(treves_rolls(da), a, rtol=1e-13)
    np.testing.assert_allclose(treves_rolls(da.T), a, rtol=1e-13)
    np.testing.assert_allclose(kurtosis(da), stats.kurtosis(A, axis=0), rtol=1e-12)
    np.testing.assert_allclose(kurtosis(da, axis="time"), stats.kurtosis(A, axis=0),
                               rtol=1e-12)
    assert code_class(da) == code_class(A)
    ds = sparseness(da)
    assert float(ds["activity_ratio"]) == pytest.approx(active.mean(), rel=1e-15)
    np.testing.assert_array_equal(ds["dead"].values, ~active.any(axis=0))


def test_rates_over_time_give_their_statistics_over_time():
    # codes (time, atom) came back with their per-bin statistics over a dim "sample"
    # numbered 0..n-1: they did not line up with the input's time axis (in s)
    import xarray as xr

    rng = np.random.default_rng(2)
    A = rng.poisson(0.5, size=(12, 5)).astype(float)  # counts (time, atom)
    t = 0.02 + 0.005 * np.arange(12)
    da = xr.DataArray(A.T, dims=("atom", "time"),
                      coords={"time": ("time", t, {"units": "s"})})
    ds = sparseness(da)
    assert ds["active_count"].dims == ("time",) and "sample" not in ds.dims
    np.testing.assert_array_equal(ds["time"].values, t)
    assert ds["time"].attrs["units"] == "s"
    np.testing.assert_array_equal(ds["active_count"].values, (A != 0).sum(axis=1))
    xr.testing.assert_equal(ds["hoyer"].time, da.time)
    # without a time coordinate, bins numbered from 0; plain arrays stay over sample
    bare = sparseness(xr.DataArray(A, dims=("time", "atom")))
    np.testing.assert_array_equal(bare["time"].values, np.arange(12))
    plain = sparseness(A)
    assert plain["active_count"].dims == ("sample",)
    np.testing.assert_array_equal(plain["sample"].values, np.arange(12))
    np.testing.assert_array_equal(plain["hoyer"].values, ds["hoyer"].values)


def test_labelled_codes_keep_their_atom_and_sample_labels():
    # codes of atoms 10..13 came back as atoms 0..3 (and samples 100.. as 0..): xarray
    # aligns by label, so ds["dead"] put next to the input's units paired other ones
    import xarray as xr

    A = np.array([[0.0, 1.0, 0.0, 2.0], [0.0, 3.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    atoms = ("atom", [10, 11, 12, 13], {"long_name": "unit id"})
    da = xr.DataArray(A.T, dims=("atom", "sample"),
                      coords={"atom": atoms, "sample": [100, 101, 102]})
    ds = sparseness(da)
    np.testing.assert_array_equal(ds["atom"].values, [10, 11, 12, 13])
    assert ds["atom"].attrs["long_name"] == "unit id"
    np.testing.assert_array_equal(ds["sample"].values, [100, 101, 102])
    # the dead units by label, as (A == 0).all(axis=0) says: atoms 10 and 12
    assert ds["dead"].sel(atom=[10, 12]).values.all()
    assert not ds["dead"].sel(atom=[11, 13]).values.any()
    np.testing.assert_array_equal(ds["active_count"].sel(sample=[100, 101, 102]).values,
                                  [2, 1, 1])


@pytest.mark.parametrize("func", [treves_rolls, vinje_gallant, hoyer_sparseness, kurtosis])
def test_every_measure_takes_a_one_d_vector(func):
    # hoyer_sparseness(v) failed ("axis must be in [-1, 0] ... got 1": its default axis
    # was 1) where the other three took a vector; the vector's value is its row's
    v = np.array([0.0, 1.0, 0.0, -3.0, 2.0])
    value = func(v)
    assert np.shape(value) == ()
    assert float(value) == pytest.approx(float(func(v[None], axis=-1)[0]), rel=1e-12)
    # the analytic values on their own: Hoyer by its definition, kurtosis by SciPy
    l1, l2 = 6.0, np.sqrt(14.0)
    expected = {hoyer_sparseness: (np.sqrt(5) - l1 / l2) / (np.sqrt(5) - 1),
                kurtosis: stats.kurtosis(v), treves_rolls: (6 / 5) ** 2 / (14 / 5),
                vinje_gallant: (1 - (6 / 5) ** 2 / (14 / 5)) / (1 - 1 / 5)}[func]
    assert float(value) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n", [2, 3, 5, 7, 10, 33, 100])
def test_the_indices_take_their_analytic_values_at_the_ends_of_their_range(n):
    # equal magnitudes: Hoyer 0 and Vinje-Gallant 0, Treves-Rolls 1 (they came out
    # 2e-16, -3e-16, 1 + 4e-16 by the rounding of the sums); one non-zero value: Hoyer 1,
    # Treves-Rolls 1/n. Every value within the definitions' ranges
    values = np.random.default_rng(n).random(200) * np.geomspace(1e-3, 1e3, 200)
    equal = np.repeat(values[:, None], n, axis=1) * np.where(np.arange(n) % 2, -1.0, 1.0)
    np.testing.assert_array_equal(hoyer_sparseness(equal), 0.0)
    np.testing.assert_array_equal(treves_rolls(equal), 1.0)
    np.testing.assert_array_equal(vinje_gallant(equal), 0.0)
    one_hot = np.zeros((200, n))
    one_hot[np.arange(200), np.arange(200) % n] = values
    np.testing.assert_array_equal(hoyer_sparseness(one_hot), 1.0)
    np.testing.assert_allclose(treves_rolls(one_hot), 1 / n, rtol=1e-14)
    np.testing.assert_allclose(vinje_gallant(one_hot), 1.0, rtol=1e-14)
    rng = np.random.default_rng(n)
    near_equal = np.repeat(values[:, None], n, axis=1) * (1 + 1e-15 * rng.random((200, n)))
    for index in (hoyer_sparseness(near_equal), treves_rolls(near_equal),
                  vinje_gallant(near_equal), hoyer_sparseness(one_hot),
                  vinje_gallant(one_hot)):
        assert index.min() >= 0.0 and index.max() <= 1.0


def test_sparseness_records_the_codes_own_units_as_those_of_tol():
    # codes in Hz were recorded with tol_units "units of codes"
    import xarray as xr

    rates = xr.DataArray(np.eye(3), dims=("sample", "atom"), attrs={"units": "Hz"})
    assert sparseness(rates, tol=0.1).attrs["tol_units"] == "Hz"
    # codes that do not say their units keep the generic label
    assert sparseness(rates.drop_attrs(), tol=0.1).attrs["tol_units"] == "units of codes"
    assert sparseness(np.eye(3), tol=0.1).attrs["tol_units"] == "units of codes"


_LABELLED = [
    (treves_rolls, {}, "sample"), (vinje_gallant, {}, "sample"),
    (hoyer_sparseness, {}, "sample"), (kurtosis, {}, "atom"),
    (lifetime_sparseness, {}, "atom"), (population_sparseness, {}, "sample"),
    (kurtosis, {"axis": "atom"}, "sample"), (treves_rolls, {"axis": "sample"}, "atom")]


@pytest.mark.parametrize("func, kwargs, kept", _LABELLED)
def test_labelled_codes_give_labelled_indices(func, kwargs, kept):
    # a DataArray of codes of atoms 10..15 gave a plain array: put next to the input,
    # xarray paired index 0 with atom 10 by position at best, and dropped the labels
    import xarray as xr

    A, _ = _codes_dataarray()
    A[:, 0] = 1.0  # every sample answered
    atoms = ("atom", np.arange(10, 16), {"long_name": "unit id"})
    da = xr.DataArray(A, dims=("sample", "atom"),
                      coords={"atom": atoms, "sample": np.arange(100, 140), "lam": 0.1},
                      attrs={"units": "units of X"}).transpose("atom", "sample")
    out = func(da, **kwargs)
    assert isinstance(out, xr.DataArray) and out.dims == (kept,)
    np.testing.assert_array_equal(out[kept].values, da[kept].values)
    assert out.name == func.__name__ and out.attrs["units"] == "1"
    assert out.attrs["long_name"]
    assert float(out["lam"]) == 0.1  # a scalar coordinate stays
    if kept == "atom":
        assert out["atom"].attrs["long_name"] == "unit id"
    # the values are those of the plain array, which still gives a plain array
    axis = {"sample": -1, "atom": 0}[kept] if kwargs else None
    plain = func(A) if axis is None else func(A, axis=axis)
    assert type(plain) is np.ndarray
    np.testing.assert_array_equal(out.values, plain)


def test_rates_over_time_give_indices_over_time_and_unnamed_dims_are_read_by_position():
    import xarray as xr

    rng = np.random.default_rng(3)
    A = rng.poisson(0.5, size=(12, 5)).astype(float) + (np.arange(5) == 0)
    t = 0.005 * np.arange(12)
    da = xr.DataArray(A.T, dims=("atom", "time"),
                      coords={"time": ("time", t, {"units": "s"})})
    pop = population_sparseness(da)
    assert pop.dims == ("time",) and pop["time"].attrs["units"] == "s"
    np.testing.assert_array_equal(pop["time"].values, t)
    np.testing.assert_array_equal(pop.values, population_sparseness(A))
    assert lifetime_sparseness(da).dims == ("atom",)
    # dims other than the codes' own (dim_0, dim_1) count by position, as for an array
    bare = xr.DataArray(A)
    assert lifetime_sparseness(bare).dims == ("dim_1",)
    assert population_sparseness(bare).dims == ("dim_0",)
    np.testing.assert_array_equal(lifetime_sparseness(bare).values, lifetime_sparseness(A))
    # a labelled vector gives a 0-d DataArray
    one = hoyer_sparseness(da.isel(time=1))
    assert isinstance(one, xr.DataArray) and one.dims == ()
    assert float(one) == pytest.approx(float(hoyer_sparseness(A[1])), rel=1e-15)


def test_dead_units_of_labelled_codes_are_labelled_with_tol_and_its_units():
    # a DataArray of codes of atoms 10..13 gave a plain bool array (its atom labels lost),
    # unlike the other measures; by hand: atom 10 never answers, atom 13 only below 0.25
    import xarray as xr

    A = np.array([[0.0, 1.0, 0.2, 0.0], [0.0, -2.0, 0.0, 0.2]])
    da = xr.DataArray(A, dims=("sample", "atom"), attrs={"units": "Hz"},
                      coords={"atom": ("atom", np.arange(10, 14), {"long_name": "unit id"})})
    for given in (da, da.T):
        out = dead_units(given, tol=0.25)
        assert isinstance(out, xr.DataArray) and out.dims == ("atom",)
        assert out.name == "dead_units" and out.dtype == bool
        np.testing.assert_array_equal(out.values, [True, False, True, True])
        np.testing.assert_array_equal(out["atom"].values, [10, 11, 12, 13])
        assert out["atom"].attrs["long_name"] == "unit id"
        assert out.attrs["units"] == "1" and "never active" in out.attrs["long_name"]
        assert out.attrs["tol"] == 0.25 and out.attrs["tol_units"] == "Hz"
    # numpy in, numpy out, the same values
    plain = dead_units(A, tol=0.25)
    assert type(plain) is np.ndarray
    np.testing.assert_array_equal(plain, [True, False, True, True])


def _convolutional_codes():
    """Codes (sample, kernel, y, x) of 3 kernels on 6x6 positions: stimulus 0 uses one
    kernel copy (Hoyer 1), stimulus 1 every copy equally (Hoyer 0), stimulus 2 Laplacian
    values (the definition on its flattened coefficients)."""
    codes = np.zeros((3, 3, 6, 6))
    codes[0, 1, 2, 4] = -2.5
    codes[1] = 0.7
    codes[2] = np.random.default_rng(0).laplace(size=(3, 6, 6))
    r = np.abs(codes[2]).ravel()
    n = r.size
    expected = [1.0, 0.0, (np.sqrt(n) - r.sum() / np.sqrt((r**2).sum())) / (np.sqrt(n) - 1)]
    tr = [1 / n, 1.0, r.mean() ** 2 / (r**2).mean()]
    return codes, np.array(expected), np.array(tr)


def test_convolutional_codes_are_measured_per_stimulus_over_every_kernel_copy():
    # hoyer_sparseness(codes) of codes (sample, kernel, y, x) ran over x alone: one value
    # per stimulus, kernel and row (shape (3, 3, 6)), unsaid. The default is refused
    # there, and axis=(1, 2, 3) or the dim names give one value per stimulus
    import xarray as xr

    codes, hoyer, tr = _convolutional_codes()
    for f in (hoyer_sparseness, treves_rolls, vinje_gallant):
        with pytest.raises(ValueError, match=r"4 dims .*axis=\(1, 2, 3\)"):
            f(codes)
    np.testing.assert_allclose(hoyer_sparseness(codes, axis=(1, 2, 3)), hoyer, atol=1e-12)
    np.testing.assert_allclose(treves_rolls(codes, axis=(1, 2, 3)), tr, rtol=1e-12)
    n = codes[0].size
    np.testing.assert_allclose(vinje_gallant(codes, axis=(-3, -2, -1)),
                               (1 - tr) / (1 - 1 / n), atol=1e-12)
    # a DataArray, its dims in any order, by name; the sample labels carry over
    da = xr.DataArray(codes, dims=("sample", "kernel", "y", "x"),
                      coords={"sample": [10, 11, 12], "kernel": ["a", "b", "c"]})
    with pytest.raises(ValueError, match=r"dims \('sample', 'kernel', 'y', 'x'\)"):
        hoyer_sparseness(da)
    h = hoyer_sparseness(da.transpose("y", "kernel", "x", "sample"), axis=("kernel", "y", "x"))
    assert h.dims == ("sample",) and list(h.sample.values) == [10, 11, 12]
    np.testing.assert_allclose(h.values, hoyer, atol=1e-12)
    # per kernel copy over stimuli: kurtosis takes the tuple too (SciPy's on the flat axis)
    k = kurtosis(da, axis=("sample", "y"))
    assert k.dims == ("kernel", "x") and list(k.kernel.values) == ["a", "b", "c"]
    flat = np.moveaxis(codes, 2, 1).reshape(18, 3, 6)
    np.testing.assert_allclose(k.values, stats.kurtosis(flat, axis=0), rtol=1e-10)


@pytest.mark.parametrize("axis, error, match", [
    ((), ValueError, "names no axis"),
    ((1, -3), ValueError, "names an axis of codes twice"),
    ((1, 4), ValueError, r"axis must be in \[-4, 3\]"),
    (("kernel",), TypeError, "only an xarray.DataArray has"),
])
def test_bad_axis_tuples_are_named(axis, error, match):
    codes, _, _ = _convolutional_codes()
    with pytest.raises(error, match=match):
        hoyer_sparseness(codes, axis=axis)


def test_an_int_in_an_axis_tuple_counts_code_dims_as_a_lone_int_does():
    # axis=0 of codes (atom, sample) is refused as ambiguous (an int counts (sample, atom));
    # axis=(0,) ran over the DataArray's own axis 0, the atoms, unsaid
    import xarray as xr

    A = np.abs(np.random.default_rng(3).standard_normal((6, 4)))  # (sample, atom)
    da = xr.DataArray(A.T, dims=("atom", "sample"))
    for f in (treves_rolls, hoyer_sparseness, kurtosis):
        # the message names the tuple given (it said only axis=0)
        with pytest.raises(ValueError, match=r"^in axis=\(0,\): axis=0 is ambiguous.*"
                                             r"'sample'.*'atom'"):
            f(da, axis=(0,))
    # codes in (sample, atom) order: the tuple and the lone int agree, and the values are
    # the plain array's along that axis (Treves-Rolls by its formula)
    ordered = xr.DataArray(A, dims=("sample", "atom"))
    tr = A.mean(axis=0) ** 2 / (A**2).mean(axis=0)
    np.testing.assert_allclose(treves_rolls(ordered, axis=(0,)).values, tr, rtol=1e-12)
    np.testing.assert_allclose(treves_rolls(da, axis=("sample",)).values, tr, rtol=1e-12)


@pytest.mark.parametrize("f", [sparseness, activity_ratio, mean_active_count, code_class,
                               dead_units, lifetime_sparseness, population_sparseness])
def test_code_statistics_of_convolutional_codes_say_how_to_flatten_them(f):
    # "codes must have 2 dimension(s), got 4" said nothing of how to measure them; the
    # flattened codes give the statistics per stimulus over every kernel copy
    codes, _, _ = _convolutional_codes()
    with pytest.raises(ValueError, match=r"shape \(3, 3, 6, 6\).*np\.reshape\(codes, \(3, -1\)\)"):
        f(codes)
    flat = np.reshape(codes, (3, -1))
    if f is activity_ratio:  # 1 of 108 copies, all, and all (Laplacian) active
        assert f(flat) == pytest.approx((1 + 108 + 108) / (3 * 108))


def test_per_sample_sparseness_keeps_the_multiindex_of_stacked_samples():
    # codes of samples stacked from (image, patch): the result per sample keeps the
    # MultiIndex and its levels (as row_coords now does for the SAE's codes), and its
    # values are the plain array's
    from v1model.analysis.sparseness import population_sparseness as population

    rng = np.random.default_rng(4)
    grid = xr.DataArray(rng.standard_normal((2, 3, 8)), dims=("image", "patch", "atom"),
                        coords={"image": [10, 20], "patch": [0, 1, 2]})
    codes = grid.stack(sample=("image", "patch")).transpose("sample", "atom")
    result = population(codes)
    assert result.dims == ("sample",)
    assert result.indexes["sample"].equals(codes.indexes["sample"])
    np.testing.assert_allclose(result.values, population(codes.values), rtol=1e-12)
    assert float(result.sel(image=20, patch=1)) == pytest.approx(
        float(population(codes.values[4:5])[0]), rel=1e-12)
