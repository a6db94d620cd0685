"""The analysis studies' dictionary source: a saved network or study output."""

import numpy as np
import pytest

from studies._learned import check_dictionary_source, learned_dictionary
from v1model import SparseCodingNetwork


def test_network_file_keeps_its_updates_and_orientation(tmp_path):
    rng = np.random.default_rng(0)
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.1)
    net.learn(rng.standard_normal((300, 16)), n_updates=3, seed=0, progress=False)
    path = net.save(tmp_path / "net.nc")
    atoms, source, meta = learned_dictionary(path, quick=True, seed=0)
    np.testing.assert_allclose(atoms.reshape(8, -1), net.dictionary, rtol=1e-12)  # renormalised
    # SparseCodingNetwork.save records the learning's n_updates as learning_n_updates
    assert meta == {"dictionary": str(path), "n_updates": 3} and source == str(path)
    # atoms are read by dimension name, whatever the order on disk
    from v1model.io import load_dataset, save_dataset

    flipped = save_dataset(load_dataset(path).transpose("atom", "x", "y", ...), tmp_path / "t.nc")
    np.testing.assert_array_equal(learned_dictionary(flipped, quick=True, seed=0)[0], atoms)


def test_cheap_checks_before_any_work(tmp_path):
    with pytest.raises(FileNotFoundError, match="dictionary: no such file"):
        check_dictionary_source(tmp_path / "missing.nc")
    with pytest.raises(ValueError, match="n_updates"):
        check_dictionary_source(None, 0)
    check_dictionary_source(None, None)  # learn with the study's defaults: nothing to check


def test_dictionary_file_read_by_dimension_names(tmp_path):
    """The analysis studies save (unit, y, x): read by name, in any order; a
    variable whose dims are not atoms and pixels is refused, not read by position."""
    import xarray as xr

    from v1model.io import save_dataset

    atoms = np.random.default_rng(1).standard_normal((6, 3, 5))
    atoms /= np.linalg.norm(atoms.reshape(6, -1), axis=1)[:, None, None]
    units = save_dataset(xr.Dataset({"dictionary": (("y", "unit", "x"),
                                                    atoms.transpose(1, 0, 2))}),
                         tmp_path / "units.nc")
    np.testing.assert_allclose(learned_dictionary(units, quick=True, seed=0)[0], atoms,
                               rtol=1e-12)
    other = save_dataset(xr.Dataset({"dictionary": (("sample", "y", "x"), atoms)}),
                         tmp_path / "other.nc")
    with pytest.raises(ValueError, match=r"dictionary: .*other\.nc' has a 'dictionary' "
                                         r"variable with dims \('sample', 'y', 'x'\); "
                                         r"expected dims \(atom, y, x\)"):
        learned_dictionary(other, quick=True, seed=0)
    with pytest.raises(ValueError, match=r"has no 'dictionary' variable"):
        learned_dictionary(save_dataset(xr.Dataset({"codes": (("a", "b"), atoms[0])}),
                                        tmp_path / "none.nc"), quick=True, seed=0)


def test_patch_shape_is_known_without_learning_or_loading(tmp_path, monkeypatch):
    """The analysis studies check their patch-dependent parameters (sparse_pixels, margin)
    before a sweep's pre-flight stops: the patch shape comes from a given file's metadata
    or from the patch the learning would use, never from learned or loaded atoms."""
    import xarray as xr

    import v1model.io
    from studies import get_study
    from studies._learned import dictionary_patch_shape
    from v1model.io import save_dataset

    def refuse(*args, **kwargs):
        raise AssertionError("learned or loaded")

    monkeypatch.setattr(get_study("olshausen-field-1996"), "run", refuse)
    monkeypatch.setattr(v1model.io, "load_dataset", refuse)
    assert dictionary_patch_shape(None, quick=True) == (8, 8)
    assert dictionary_patch_shape("none", quick=False) == (16, 16)
    atoms = np.zeros((6, 3, 5))
    # by dimension name, in any order on disk; the old files' "unit" dim too
    path = save_dataset(xr.Dataset({"dictionary": (("y", "unit", "x"),
                                                   atoms.transpose(1, 0, 2))}),
                        tmp_path / "units.nc")
    assert dictionary_patch_shape(path, quick=True) == (3, 5)
    assert dictionary_patch_shape(str(path), quick=False) == (3, 5)
    # the file's dims are refused as learned_dictionary refuses them
    other = save_dataset(xr.Dataset({"dictionary": (("sample", "y", "x"), atoms)}),
                         tmp_path / "other.nc")
    with pytest.raises(ValueError, match=r"dictionary: .*other\.nc' has a 'dictionary' "
                                         r"variable with dims \('sample', 'y', 'x'\)"):
        dictionary_patch_shape(other, quick=True)
    # a file that does not open: unknown here, its load says why
    (tmp_path / "empty.nc").write_bytes(b"")
    assert dictionary_patch_shape(tmp_path / "empty.nc", quick=True) is None


def test_a_study_s_own_patch_size_is_learned_and_known_before_learning(monkeypatch,
                                                                        tmp_path):
    """A study may learn a dictionary on its own patch (zhu-rozell's quick 12x12):
    patch_size reaches the olshausen-field-1996 run (whose n_atoms follows it), and
    dictionary_patch_shape gives that patch before anything is learned; without it, the
    shared LEARNED_PATCH_SIZE, and a given file's own shape either way."""
    import xarray as xr

    from studies import get_study
    from studies._learned import dictionary_patch_shape, learned_dictionary
    from v1model.io import save_dataset

    calls = []

    def learning(**params):
        calls.append(params)
        side = params.get("patch_size", 8)
        rng = np.random.default_rng(0)
        D = rng.standard_normal((side * side, side, side))
        D /= np.linalg.norm(D.reshape(len(D), -1), axis=1)[:, None, None]
        return xr.Dataset({"dictionary": (("atom", "y", "x"), D)},
                          attrs={"n_updates": 3, "images": "skimage", "seed": 0})

    monkeypatch.setattr(get_study("olshausen-field-1996"), "run", learning)
    atoms, _, meta = learned_dictionary(quick=True, seed=0, patch_size=12)
    assert atoms.shape == (144, 12, 12) and calls[-1]["patch_size"] == 12
    assert dictionary_patch_shape(None, quick=True, patch_size=12) == (12, 12)
    learned_dictionary(quick=True, seed=0)
    assert "patch_size" not in calls[-1]  # the shared quick dictionary's own default
    assert dictionary_patch_shape(None, quick=True) == (8, 8)
    path = save_dataset(xr.Dataset({"dictionary": (("atom", "y", "x"), atoms[:, :5, :7])}),
                        tmp_path / "other.nc")
    assert dictionary_patch_shape(path, quick=True, patch_size=12) == (5, 7)


@pytest.mark.parametrize("quick", [True, False])
def test_learned_patch_size_is_that_of_the_learning(quick, monkeypatch):
    """LEARNED_PATCH_SIZE is what olshausen-field-1996 (the learning of
    learned_dictionary) learns with: its network is built with that patch (stopped
    there, before any image is loaded)."""
    import v1model
    from studies import get_study
    from studies._learned import LEARNED_PATCH_SIZE

    shapes = []

    class Stop(Exception):
        pass

    def network(*args, patch_shape, **kwargs):
        shapes.append(tuple(patch_shape))
        raise Stop

    monkeypatch.setattr(v1model, "SparseCodingNetwork", network)
    with pytest.raises(Stop):
        get_study("olshausen-field-1996").run(quick=quick, progress=False)
    side = LEARNED_PATCH_SIZE[quick]
    assert shapes == [(side, side)]


@pytest.mark.parametrize("name, kwargs", [
    ("activity-ratio", dict(n_updates=10)),
    ("ringach-2002", dict(n_updates=10)),
    ("receptive-field-mapping", dict(n_updates=10)),
    ("zhu-rozell-2013-ncrf", dict(n_updates=10)),
])
def test_a_learning_setting_beside_a_given_dictionary_is_refused(tmp_path, name, kwargs):
    """The atoms of a given file are loaded, not learned: n_updates beside it was
    ignored without a word, and the attrs recorded the file's own n_updates."""
    import xarray as xr

    from studies import get_study

    path = tmp_path / "d.nc"
    xr.Dataset({"dictionary": (("atom", "y", "x"), np.eye(64)[:16].reshape(16, 8, 8))}
               ).to_netcdf(path)
    key = next(iter(kwargs))
    with pytest.raises(ValueError, match=rf"{key}=.* has no effect with dictionary="):
        get_study(name).run(quick=True, dictionary=str(path), progress=False, **kwargs)


def test_the_patch_of_a_netcdf3_dictionary_is_known_before_loading(tmp_path):
    """netCDF-3 files (other tools, xarray's engine="scipy") load since load_dataset reads
    them; their patch shape must be read up front too, or the studies' pre-flight checks
    of sparse_pixels and margin were skipped."""
    import xarray as xr

    from studies._learned import dictionary_patch_shape

    path = tmp_path / "classic.nc"
    xr.Dataset({"dictionary": (("atom", "y", "x"), np.zeros((4, 6, 5)))}).to_netcdf(
        path, engine="scipy")
    assert dictionary_patch_shape(str(path), quick=True) == (6, 5)


@pytest.mark.parametrize("name", ["activity-ratio", "ringach-2002", "receptive-field-mapping",
                                  "zhu-rozell-2013-ncrf"])
@pytest.mark.parametrize("dictionary", [None, "none", "None", ""])
def test_quick_learning_updates_do_not_depend_on_how_no_dictionary_is_said(
        name, dictionary, monkeypatch):
    """``-p dictionary=none`` learns a dictionary as leaving it out does, and must learn
    it the same way: the quick runs learned 1,500 updates (the olshausen-field-1996
    default) for "none" or "" against the documented 1,000 for None."""
    import studies._learned
    from studies import get_study

    class Learned(Exception):
        pass

    def learned(dictionary=None, **kwargs):
        raise Learned(kwargs["n_updates"])

    monkeypatch.setattr(studies._learned, "learned_dictionary", learned)
    extra = {"reference": "none"} if name == "ringach-2002" else {}  # no A144.mat lookup
    with pytest.raises(Learned) as info:
        get_study(name).run(quick=True, dictionary=dictionary, progress=False, **extra)
    assert info.value.args == (1000,)


def test_a_dictionary_file_is_recorded_by_its_absolute_path(tmp_path, monkeypatch):
    """``-p dictionary=results/of96/olshausen-field-1996.nc`` recorded that relative
    path in the result's attrs: it named no file once the result was read from another
    folder (the image source is recorded resolved, for that reason)."""
    net = SparseCodingNetwork(n_atoms=4, patch_shape=(3, 3), lam=0.1)
    net.learn(np.random.default_rng(0).standard_normal((50, 9)), n_updates=2, seed=0,
              progress=False)
    (tmp_path / "of96").mkdir()
    net.save(tmp_path / "of96" / "net.nc")
    monkeypatch.chdir(tmp_path)
    _, source, meta = learned_dictionary("of96/net.nc", quick=True, seed=0)
    expected = str((tmp_path / "of96" / "net.nc").resolve())
    assert meta["dictionary"] == expected and source == expected


#: the olshausen-field-1996 parameters a learned dictionary's provenance records
LEARNING_PARAMETERS = ("quick", "seed", "images", "prewhitened", "patch_size", "n_atoms", "lam",
                       "prior", "sigma", "n_updates", "batch_size", "lr", "lr_final", "n_patches",
                       "n_eval", "heldout_tol", "heldout_max_iter")


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name", ["activity-ratio", "ringach-2002", "receptive-field-mapping",
                                  "zhu-rozell-2013-ncrf"])
def test_a_learned_dictionary_is_recorded_with_its_provenance(name, smallest):
    """The analysis studies recorded of the dictionary they learned only "learned", its
    n_updates and a free-text ``source``: not the learning's lam, patch size, learning
    rate or number of patches (olshausen-field-1996's defaults, which may change between
    versions), so the .nc alone did not tell which dictionary was analysed. Every
    parameter of that run is recorded now, prefixed ``dictionary_``, with the values an
    olshausen-field-1996 run of the same seed records, and its atoms are the ones
    analysed."""
    from studies import get_study

    params = dict(smallest(name, learned=True), progress=False)
    if name == "ringach-2002":
        params["reference"] = "none"  # no A144.mat lookup
    ds = get_study(name).run(quick=True, seed=2, **params)
    # zhu-rozell's quick run learns on a patch of its own (12x12), the others the shared 8x8
    own = getattr(get_study(name), "QUICK_PATCH_SIZE", None)
    learning = get_study("olshausen-field-1996").run(
        quick=True, seed=2, n_updates=params["n_updates"], progress=False,
        **({} if own is None else {"patch_size": own}))
    recorded = {k: v for k, v in ds.attrs.items() if k.startswith("dictionary_")}
    expected = {f"dictionary_{k}": learning.attrs[k] for k in LEARNING_PARAMETERS}
    assert recorded == dict(expected, dictionary_study="olshausen-field-1996")
    assert recorded["dictionary_seed"] == 2 and recorded["dictionary_lam"] == 0.1
    assert ds.attrs["dictionary"] == "learned"
    # the images the learning loaded, as it recorded them (activity-ratio codes them too)
    assert ds.attrs["images"] == recorded["dictionary_images"]
    np.testing.assert_allclose(ds["dictionary"].values, learning["dictionary"].values,
                               rtol=1e-6, atol=1e-7)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name, params", [
    ("activity-ratio", dict(n_lams=2, n_patches=20)),
    ("receptive-field-mapping", dict(n_white=20, n_sparse=20, n_orientations=2,
                                     n_frequencies=1, n_phases=2, n_contrasts=4,
                                     n_sample_units=1)),
])
def test_a_given_dictionary_is_recorded_by_its_path_alone(name, params, random_atoms):
    """A given file is recorded by its absolute path, with no learning provenance: no
    ``dictionary_`` attr describes a learning that did not happen."""
    from pathlib import Path

    from studies import get_study

    ds = get_study(name).run(quick=True, dictionary=random_atoms, progress=False, **params)
    assert ds.attrs["dictionary"] == str(Path(random_atoms).resolve())
    assert not [k for k in ds.attrs if k.startswith("dictionary_")]


def _gabor_atoms(path):
    """16 centred unit-norm 8x8 Gabors in quadrature pairs (8 orientations), saved as a
    study dictionary (atom, y, x): atoms every analysis study finds units in."""
    import xarray as xr

    from stimuli import gabor_patch

    orientation = np.repeat(np.linspace(0, np.pi, 8, endpoint=False), 2)
    atoms = gabor_patch(8, orientation, 0.25, np.tile([0.0, np.pi / 2], 8), 1.5, 2.5)
    atoms /= np.linalg.norm(atoms.reshape(16, -1), axis=1)[:, None, None]
    xr.Dataset({"dictionary": (("atom", "y", "x"), atoms)}).to_netcdf(path)
    return str(path)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name, params", [
    ("ringach-2002", dict(n_starts=1, reference="none")),
    ("receptive-field-mapping", dict(n_white=20, n_sparse=20, n_orientations=2,
                                     n_frequencies=1, n_phases=2, n_contrasts=4,
                                     n_sample_units=1)),
    ("zhu-rozell-2013-ncrf", dict(n_diameters=3, n_lengths=3, n_orientations=4,
                                  n_frequencies=2, n_phases=2, mask_contrasts=(1.0,),
                                  n_mask_phases=2)),
])
def test_images_are_recorded_only_when_they_were_used(name, params, tmp_path):
    """With a dictionary file these studies load no image (their images only learn a
    dictionary), yet attrs['images'] recorded the source given ('skimage' here) as if
    it had been used. It says so now; a learned dictionary's images are its
    ``dictionary_images``."""
    from studies import get_study

    ds = get_study(name).run(quick=True, dictionary=_gabor_atoms(tmp_path / "gabors.nc"),
                             images="skimage", progress=False, **params)
    assert ds.attrs["images"] == "(not used: dictionary given)"


# two 64x64 pictures on purpose: the quick olshausen-field-1996 run draws its 30,000
# training and 2,000 evaluation patches from 1,666 positions each
@pytest.mark.filterwarnings("ignore:n=[0-9]+ patches exceed the [0-9]+ distinct:UserWarning")
def test_a_learned_dictionary_names_its_images_resolved(tmp_path, monkeypatch):
    """The free-text ``source`` of a learned dictionary gave the images as typed
    ('rel'), a path that names nothing from another folder, while the attrs hold the
    resolved one; both name the resolved folder now."""
    from skimage.io import imsave

    (tmp_path / "rel").mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        imsave(tmp_path / "rel" / f"img{i}.png", rng.integers(0, 256, (64, 64), np.uint8))
    monkeypatch.chdir(tmp_path)
    _, source, meta = learned_dictionary(None, quick=True, seed=0, images="rel", n_updates=2)
    resolved = str((tmp_path / "rel").resolve())
    assert f"images={resolved})" in source
    assert meta["dictionary_images"] == resolved


@pytest.mark.slow  # two learning runs, ~2 s each
def test_a_dictionary_learned_for_a_calling_study_is_the_same_dictionary():
    """Naming the calling study in the learning's warnings (study=) changes nothing the
    learning returns: the same atoms, description and provenance as without it."""
    atoms, source, meta = learned_dictionary(None, quick=True, seed=3, n_updates=2)
    named = learned_dictionary(None, quick=True, seed=3, n_updates=2, study="ringach-2002")
    np.testing.assert_array_equal(named[0], atoms)
    assert named[1:] == (source, meta)
