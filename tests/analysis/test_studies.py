"""The three analysis studies, quick: each asserts the property it is about.

One short learning run (300 updates of the quick Olshausen-Field study) is
shared: the ringach-2002 run learns it, the other two reuse its saved
dictionary through their ``dictionary`` parameter.
"""

import os

import numpy as np
import pytest

from studies import get_study, study_parameters
from v1model.cli import main
from v1model.io import load_dataset, save_dataset


@pytest.fixture(scope="module")
def ringach(tmp_path_factory):
    from pathlib import Path

    a144 = Path(os.environ["V1MODEL_SHARED_DATA"]) / "olshausen" / "A144.mat"
    reference = str(a144) if a144.exists() else "none"
    ds = get_study("ringach-2002").run(quick=True, seed=0, n_updates=300, progress=False,
                                       reference=reference)
    path = save_dataset(ds, tmp_path_factory.mktemp("ringach") / "ringach.nc")
    return ds, path


def _params_recorded(name, ds, **given):
    """Every run parameter but ``progress`` is in the attrs, with the values given."""
    missing = set(study_parameters(name)) - set(ds.attrs) - {"progress"}
    if name == "ringach-2002":
        missing -= {"reference"}  # recorded as the resolved path, attrs["a144"]
    assert not missing, f"{name}: parameters missing from attrs: {sorted(missing)}"
    for key, value in given.items():
        assert ds.attrs[key] == value, (key, ds.attrs[key], value)


def _pngs_ok(paths):
    assert paths
    for p in paths:
        assert p.exists() and p.read_bytes()[:4] == b"\x89PNG", p


def test_ringach_learned_atoms_are_gabor_like_and_elongated(ringach, tmp_path, shared_data):
    ds, _ = ringach
    # learned atoms are far better fitted by Gabors than unstructured atoms would be
    # (white-noise atoms fit with R^2 ~ 0.1), and, as Ringach reported for sparse
    # coding, their envelopes are longer along the bars than across: ny > nx
    assert ds.attrs["learned_median_r2"] > 0.6
    assert ds.attrs["learned_median_ny"] > ds.attrs["learned_median_nx"]
    # the summary counts fits at the package's one threshold, R^2 >= 0.8
    r2 = ds["r2"].values
    assert ds.attrs["min_r2"] == 0.8
    assert ds.attrs["learned_fraction_gabor"] == pytest.approx(np.mean(r2[np.isfinite(r2)] >= 0.8))
    assert ds["dictionary"].shape == (64, 8, 8)
    _params_recorded("ringach-2002", ds, dictionary="learned", n_updates=300)
    shared_data("olshausen", "A144.mat")  # the rest needs the sparsenet basis
    assert ds.sizes["ref_atom"] == 144
    assert ds.attrs["ref_fraction_gabor"] >= 0.95
    _pngs_ok(get_study("ringach-2002").plot(ds, tmp_path))


def test_receptive_field_mapping_recovers_atoms_and_orientations(ringach, tmp_path):
    _, path = ringach
    ds = get_study("receptive-field-mapping").run(
        quick=True, seed=1, dictionary=str(path), n_white=3000, n_sparse=4000,
        n_orientations=12, n_frequencies=6, n_phases=6, n_sample_units=6, progress=False)
    # STA of LCA units looks like their atoms, with white and with sparse noise
    assert ds.attrs["median_similarity_white"] > 0.8
    assert ds.attrs["median_similarity_sparse"] > 0.7
    # units with Gabor-like atoms prefer gratings at their atom's orientation
    # (12 orientations: grid step 15 degrees)
    assert ds.attrs["n_gabor_like"] >= 10
    assert ds.attrs["median_orientation_difference_deg"] < 7.5
    assert ds.sizes["sample_atom"] >= 1
    _params_recorded("receptive-field-mapping", ds, dictionary=str(path), n_sample_units=6,
                     n_updates=300)
    _pngs_ok(get_study("receptive-field-mapping").plot(ds, tmp_path))


def test_activity_ratio_falls_and_error_rises_with_lambda(ringach, tmp_path):
    _, path = ringach
    ds = get_study("activity-ratio").run(quick=True, seed=2, dictionary=str(path),
                                         n_lams=5, n_patches=400, progress=False)
    ratio = ds["activity_ratio"].values
    err = ds["reconstruction_error"].values
    assert np.all(np.diff(ratio) < 0) and np.all(np.diff(err) > 0)
    # two decades of lambda take the code from dense towards local (or silent)
    classes = list(ds["code_class"].values)
    order = ["dense", "sparse", "local", "silent"]
    ranks = [order.index(c) for c in classes]
    assert classes[0] == "dense" and ranks == sorted(ranks) and ranks[-1] >= 2
    assert float(ds["lam"][-1] / ds["lam"][0]) == pytest.approx(100.0)
    # the co-active sets are some sets of their size: their mean Babel value is bounded by
    # the worst case mu_1(r) over all sets of that size, and every code is counted once
    r = ds["support_size"].values
    worst = ds["babel"].sel(r=r).values
    assert np.all(ds["coactive_babel_by_size"].values <= worst + 1e-12)
    n_nonempty = int((ds["active_count"].values > 0).sum())
    assert int(ds["n_patches_by_size"].sum()) == n_nonempty
    _params_recorded("activity-ratio", ds, dictionary=str(path), n_updates=300)
    _pngs_ok(get_study("activity-ratio").plot(ds, tmp_path))


def test_receptive_field_mapping_names_sparse_pixels_beyond_the_patch(ringach):
    """More lit pixels than the 8x8 patch has failed as "n_pixels must be <= 64", an
    argument of map_receptive_fields the study's user never gave."""
    _, path = ringach
    with pytest.raises(ValueError, match="sparse_pixels must be <= 64, the pixels of the 8x8 "
                                         "patch, got 65"):
        get_study("receptive-field-mapping").run(quick=True, dictionary=str(path),
                                                 sparse_pixels=65, progress=False)


def test_cli_runs_a_study_from_a_saved_dictionary(ringach, tmp_path, capsys):
    _, path = ringach
    out = tmp_path / "ar"
    code = main(["study", "run", "activity-ratio", "--quick", "--out", str(out), "-p",
                 f"dictionary={path}", "-p", "n_lams=3", "-p", "n_patches=100", "-p",
                 "progress=false"])
    assert code == 0
    ds = load_dataset(out / "activity-ratio.nc")
    assert ds.sizes["lam"] == 3 and ds.attrs["source"] == str(path)


def test_bad_parameters_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="dictionary: no such file"):
        get_study("activity-ratio").run(quick=True, dictionary=str(tmp_path / "missing.nc"))
    with pytest.raises(ValueError, match="lam_max=0.1 must exceed lam_min=1.0"):
        get_study("activity-ratio").run(quick=True, lam_min=1.0, lam_max=0.1)
    with pytest.raises(FileNotFoundError, match="reference: no such file"):
        get_study("ringach-2002").run(quick=True, dictionary=str(tmp_path / "x.nc"),
                                      reference=str(tmp_path / "A.mat"))
    # refused before any learning, under the study's own parameter names (0 used to be
    # replaced by the default, or to fail deep inside as "orientation must not be empty")
    missing = str(tmp_path / "never-read.nc")
    with pytest.raises(ValueError, match="min_r2 must be in \\[0, 1\\], got 5"):
        get_study("ringach-2002").run(quick=True, dictionary=missing, min_r2=5)
    for name in ("n_sample_units", "n_orientations"):
        with pytest.raises(ValueError, match=f"{name} must be >= 1, got 0"):
            get_study("receptive-field-mapping").run(quick=True, dictionary=missing,
                                                     **{name: 0})
    # reverse correlation needs 2 stimuli: 1 passed the pre-flight, then failed once the
    # dictionary was learned, as "n_stimuli must be >= 2"
    for name in ("n_white", "n_sparse"):
        for value in (0, 1):
            with pytest.raises(ValueError, match=f"{name} must be >= 2, got {value}"):
                get_study("receptive-field-mapping").run(quick=True, dictionary=missing,
                                                         **{name: value})
    with pytest.raises(ValueError, match="n_patches must be >= 1, got 0"):
        get_study("activity-ratio").run(quick=True, dictionary=missing, n_patches=0)
    for name in ("n_updates", "n_atoms", "n_eval"):
        with pytest.raises(ValueError, match=f"{name} must be >= 1, got 0"):
            get_study("olshausen-field-1996").run(quick=True, **{name: 0})
    with pytest.raises(ValueError, match="lr must be a positive finite number, got 0"):
        get_study("olshausen-field-1996").run(quick=True, lr=0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ringach-2002", "receptive-field-mapping", "activity-ratio"])
def test_quick_variants_end_to_end(name, tmp_path):
    ds = get_study(name).run(quick=True, seed=0, progress=False)
    _pngs_ok(get_study(name).plot(ds, tmp_path))
    if name == "ringach-2002":
        assert ds.attrs["learned_fraction_gabor"] > 0.7
    elif name == "receptive-field-mapping":
        assert ds.attrs["median_similarity_white"] > 0.85
    else:
        classes = list(ds["code_class"].values)
        assert classes[0] == "dense" and "local" in classes and classes[-1] == "silent"


def test_every_study_refuses_a_quick_that_is_not_a_bool():
    # run(quick="no") from Python would otherwise be the quick variant ("no" is truthy)
    from studies import list_studies

    for name, module in list_studies().items():
        with pytest.raises(TypeError, match="quick must be a bool, got 'no'"):
            module.run(quick="no")


def test_ringach_says_when_it_finds_no_a144(tmp_path, monkeypatch):
    """Without A144.mat beside the project the sparsenet comparison is left out
    with a warning naming the places looked at (it used to vanish silently);
    reference='none' leaves it out quietly and a given path must exist."""
    import warnings

    import studies._learned as learned

    monkeypatch.setattr(learned, "SHARED_DATA", tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match=r"no A144\.mat .*nowhere.*reference=PATH"):
        assert learned.a144_path(None) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert learned.a144_path("none") is None
    with pytest.raises(FileNotFoundError, match="reference: no such file"):
        learned.a144_path(tmp_path / "A144.mat")
    found = tmp_path / "nowhere" / "olshausen" / "A144.mat"
    found.parent.mkdir(parents=True)
    found.write_bytes(b"")
    assert learned.a144_path(None) == found
