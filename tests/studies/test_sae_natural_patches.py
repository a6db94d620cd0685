"""Study sae-natural-patches: a TopK SAE's decoder atoms on whitened patches
are Gabor-like (quick variant, ~10 s)."""

import numpy as np
import pytest

from studies import get_study, study_parameters


#: the study of the quick_run and quick_run_scored fixtures (tests/studies/conftest.py)
STUDY = "sae-natural-patches"


def test_decoder_atoms_are_gabor_like(quick_run):
    _, ds = quick_run
    # measured (seed 0): median R^2 0.86, 61% of atoms >= 0.8; white-noise control 0.28
    assert ds.attrs["median_r2"] > 0.7
    assert ds.attrs["fraction_gabor"] > 0.4
    assert ds.attrs["control_median_r2"] < 0.4
    assert ds.attrs["median_r2"] > ds.attrs["control_median_r2"] + 0.3
    r2 = ds["gabor_r2"].values
    assert ds.attrs["fraction_gabor"] == pytest.approx(np.mean(r2[np.isfinite(r2)] >= 0.8))
    # over the latents that held-out patches use (usage > 0; all 128 in this run)
    live = ds["usage"].values > 0
    assert ds.attrs["n_live"] == live.sum()
    assert ds.attrs["median_r2_live"] == pytest.approx(np.nanmedian(r2[live]), rel=1e-12)
    # localized: envelopes smaller than the patch
    assert np.nanmedian(ds["gabor_sigma_x"].values) < 0.4 * ds.sizes["x"]


def test_code_is_k_sparse_and_explains_the_patches(quick_run):
    _, ds = quick_run
    assert ds.attrs["heldout_mean_l0"] == ds.attrs["k"] == 6
    # measured 0.27 held out; the first training batches (random decoder) ~0.75
    assert ds.attrs["heldout_fvu"] < 0.35
    assert float(ds["history_fvu"][:10].mean()) > 2 * ds.attrs["heldout_fvu"]


def test_heldout_fvu_is_the_shared_helpers_and_sklearns(quick_run_scored):
    """The held-out FVU was summed by hand here (and again in sae-amortization-gap); it is
    v1model.analysis.fraction_variance_unexplained's, on the held-out patches, which is
    1 - scikit-learn's variance-weighted R²."""
    from sklearn.metrics import r2_score

    _, ds, calls = quick_run_scored
    assert len(calls) == 1, "the study did not score its held-out patches with the helper"
    X, X_hat, fvu = calls[0]
    assert X.shape == X_hat.shape == (ds.attrs["n_eval"], ds.sizes["y"] * ds.sizes["x"])
    assert ds.attrs["heldout_fvu"] == fvu
    reference = 1.0 - r2_score(X.astype(np.float64), X_hat.astype(np.float64),
                               multioutput="variance_weighted")
    assert fvu == pytest.approx(reference, rel=1e-9, abs=0)
    # the denominator is the variance about the held-out patches' own mean, and the
    # attrs say so (they gave the number alone)
    assert ("||x - mean||^2, mean: of the held-out patches, per pixel"
            in ds.attrs["heldout_fvu_definition"])


def test_dataset_and_figures(quick_run, tmp_path):
    study, ds = quick_run
    assert ds["dictionary"].dims == ("atom", "y", "x") and ds.sizes["atom"] == 128
    D = ds["dictionary"].values.reshape(128, -1)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0, rtol=1e-5)
    missing = set(study_parameters("sae-natural-patches")) - set(ds.attrs) - {"progress"}
    assert not missing
    assert ds["history_fvu"].dims == ("step",) and ds.sizes["step"] == ds.attrs["n_steps"]
    paths = study.plot(ds, tmp_path)
    assert len(paths) == 2
    for p in paths:
        assert p.exists() and p.read_bytes()[:4] == b"\x89PNG"


def test_bad_parameters():
    study = get_study("sae-natural-patches")
    with pytest.raises(ValueError, match="k must be <= 128"):
        study.run(quick=True, k=129, progress=False)
    with pytest.raises(ValueError, match="n_patches must be >= 256"):
        study.run(quick=True, n_patches=100, progress=False)


def test_bounds_set_by_other_parameters_name_them():
    # -p batch_size=30000 alone was refused as "n_patches must be >= 30000, got 20000", and
    # k=129 as "k must be <= 128", naming neither batch_size nor where 128 came from
    study = get_study("sae-natural-patches")
    with pytest.raises(ValueError, match=r"n_patches must be >= 30000 \(batch_size: the "
                       r"patches of one minibatch\), got 20000; lower batch_size"):
        study.run(quick=True, batch_size=30000, progress=False)
    with pytest.raises(ValueError, match=r"k must be <= 128 \(n_latents = overcompleteness \* "
                       r"patch_size\*\*2 = 2 \* 8\*\*2\), got 129"):
        study.run(quick=True, k=129, progress=False)


def _refused_in_preflight(name, **params):
    """The study's error in a sweep's pre-flight (None when the checks pass)."""
    from v1model.sweep import SpecError, check_points, parse_spec

    try:
        check_points(parse_spec({"study": name, "quick": True, "executor": {"kind": "serial"},
                                 "sweep": {key: [value] for key, value in params.items()}}))
    except SpecError as exc:
        return str(exc).split("is refused by the study: ", 1)[1]
    return None


def test_preflight_refuses_what_the_autoencoder_or_the_fvu_would_refuse_later():
    # lr = 2 passed the pre-flight and failed in SparseAutoencoder.fit after the images
    # were loaded; n_eval = 1 ran to a held-out FVU of inf (no variance about the mean)
    assert _refused_in_preflight("sae-natural-patches", lr=2.0) == (
        "ValueError: lr must be <= 1 (the Adam step of the unit-norm decoder rows; 1e-3 to "
        "3e-3 is usual), got 2.0")
    assert _refused_in_preflight("sae-natural-patches", n_eval=1) == (
        "ValueError: n_eval must be >= 2, got 1")
    assert _refused_in_preflight("sae-natural-patches", lr=1.0, n_eval=2) is None


def test_dataset_records_dead_after_and_pixel_units(quick_run):
    import inspect

    from v1model.sae import SparseAutoencoder

    _, ds = quick_run
    # history_n_dead counts latents silent for dead_after patches: the SAE's default
    default = inspect.signature(SparseAutoencoder).parameters["dead_after"].default
    assert ds.attrs["dead_after"] == default == 10_000
    assert "dead_after" in ds["history_n_dead"].attrs["long_name"]
    assert ds["x"].attrs["units"] == ds["y"].attrs["units"] == "pixel"
    assert ds["step"].attrs["units"] == "1"
    np.testing.assert_array_equal(ds["step"].values, np.arange(ds.attrs["n_steps"]))


def test_dataset_records_its_gabor_fits_settings_and_bounds(quick_run, gabor_fit_settings):
    """The decoder atoms' and the control's Gabor fits, made alike: their settings and
    bounds (a fit at a bound is not reliable) prefixed ``gabor_``, with units for a sweep
    (none were recorded)."""
    study, ds = quick_run
    expected = gabor_fit_settings(ds.attrs["patch_size"])
    assert {name: ds.attrs.get(name) for name in expected} == expected
    assert expected["gabor_max_sigma"] == 8.0  # the quick run's patch side
    assert set(expected) <= set(study.PARAMETER_UNITS)
