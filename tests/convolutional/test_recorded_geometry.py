"""Where a saved convolutional result records its geometry: once, on the codes (their
attrs go with ``ds.codes`` alone, which reconstruct and objective take) and on the
kernels (their shape, their ``lag`` in s). Files written before 2026-12-08 hold a copy
in the Dataset's attrs too: it is read, and refused naming both values when it
disagrees (an edited copy was ignored, unsaid)."""

import re

import numpy as np
import pytest

from v1model.convolutional import (ConvolutionalDictionary, ConvolutionalNetwork, objective,
                                   reconstruct)
from v1model.io import clean_attrs, load_dataset, save_dataset

from .conftest import dense_objective, unit_kernels
from .test_inference import make_problem

GEOMETRY = ("signal_shape", "stride", "boundary")


def head_layout(phi, codes, **attrs):
    """A codes Dataset as HEAD (before 2026-12-08) wrote it: the geometry in the codes'
    attrs and, the same, in the Dataset's."""
    ds = phi.codes_dataset(codes, **attrs)
    ds.attrs.update(clean_attrs({name: ds["codes"].attrs[name] for name in GEOMETRY}))
    return ds


def _codes(phi, seed=5):
    return np.random.default_rng(seed).standard_normal((3, phi.n_kernels) + phi.code_shape)


def test_codes_dataset_records_the_geometry_on_the_codes_only():
    """The geometry stood in ds.attrs and in ds.codes.attrs; the Dataset's copy, edited,
    was ignored by reconstruct(ds.codes, ...). It now stands on the codes alone, the
    Dataset's attrs keep the call's own (lam) and the sound's time attrs."""
    phi = make_problem("1d-full-s2")[0]
    ds = phi.codes_dataset(_codes(phi), sample_rate=8000.0, lam=0.1)
    assert not set(GEOMETRY) & set(ds.attrs)
    assert ds["codes"].attrs["stride"].tolist() == [2]
    assert ds["codes"].attrs["signal_shape"].tolist() == [40]
    assert ds["codes"].attrs["boundary"] == "full"
    assert ds.attrs["lam"] == 0.1 and ds.attrs["sample_rate_hz"] == 8000.0


@pytest.mark.parametrize("name", ["1d-full-s2", "2d-valid-s23", "2d-circular-s2"])
def test_a_dataset_of_either_layout_reconstructs_as_the_explicit_matrix(name, tmp_path):
    """The whole Dataset may be given as codes: a file of the new layout and one written
    with HEAD's (the geometry in both attrs), saved and loaded, reconstruct ``A M`` (the
    explicit matrix, float64) and give the dense objective."""
    phi, X, lam = make_problem(name)
    A = _codes(phi)
    want = A.reshape(3, -1) @ phi.as_matrix()
    for layout, make in (("new", phi.codes_dataset), ("head", lambda a: head_layout(phi, a))):
        ds = load_dataset(save_dataset(make(A), tmp_path / f"{layout}.nc"))
        made = reconstruct(ds, ds.kernels)
        np.testing.assert_allclose(made.reshape(3, -1), want, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(reconstruct(ds.codes, ds.kernels), made)
        got = objective(X, ds, ds.kernels, lam)
        np.testing.assert_allclose(got, [dense_objective(phi.as_matrix(), X[i:i + 1],
                                                         A[i:i + 1], lam)
                                         for i in range(3)], rtol=1e-12)


@pytest.mark.parametrize("key, value, own, theirs", [
    ("stride", [3], "(2,)", "(3,)"), ("boundary", "valid", "'full'", "'valid'"),
    ("signal_shape", 41, "(40,)", "(41,)")])
def test_a_dataset_whose_two_copies_disagree_is_refused_naming_both(key, value, own, theirs,
                                                                     tmp_path):
    """A HEAD file whose ds.attrs copy was edited: reconstruct(ds.codes, ...) used the
    codes' and ignored the edit, unsaid. Given the Dataset, reconstruct and objective
    refuse it, naming both values and which is the record."""
    phi, X, lam = make_problem("1d-full-s2")
    ds = load_dataset(save_dataset(head_layout(phi, _codes(phi)), tmp_path / "head.nc"))
    ds.attrs[key] = value
    text = (f"ds['codes'].attrs['{key}']={own} and ds.attrs['{key}']={theirs} disagree: "
            f"the codes' attrs are the record")
    with pytest.raises(ValueError, match="^" + re.escape(text)):
        reconstruct(ds, ds.kernels)
    with pytest.raises(ValueError, match="^" + re.escape(text)):
        objective(X, ds, ds.kernels, lam)


def test_a_dataset_whose_rate_disagrees_with_its_coordinates_is_refused():
    """ds.attrs['sample_rate_hz'] edited beside onsets and lags in s (at 8 kHz, stride 2:
    the onsets step by 2 samples, 250 µs, and are still 8 kHz) is refused naming both."""
    phi = make_problem("1d-full-s2")[0]
    ds = phi.codes_dataset(_codes(phi), sample_rate=8000.0)
    np.testing.assert_allclose(reconstruct(ds, ds.kernels, dtype=np.float64),
                               phi.synthesize(_codes(phi)), rtol=0, atol=1e-12)
    ds.attrs["sample_rate_hz"] = 16000.0
    with pytest.raises(ValueError, match=re.escape(
            "ds.attrs['sample_rate_hz']=16000 and the rate of ds['codes']'s 'time' "
            "coordinate (s, against 'time_sample'), 8000 Hz, disagree")):
        reconstruct(ds, ds.kernels)
    ds = ds.drop_vars(["time", "time_sample"])  # the lags still say 8 kHz
    with pytest.raises(ValueError, match=re.escape(
            "ds.attrs['sample_rate_hz']=16000 and the rate of ds['kernels']'s 'lag' "
            "coordinate (s), 8000 Hz, disagree")):
        reconstruct(ds, ds.kernels)


def test_a_dataset_without_codes_is_refused_by_name():
    ds = ConvolutionalNetwork(unit_kernels(np.random.default_rng(0), (2, 5))).to_dataset()
    with pytest.raises(ValueError, match=r"^codes: the Dataset has none of the variables "
                                         r"'codes', 'code' \(it has 'kernels'\)"):
        reconstruct(ds, ds.kernels, (20,))


def test_codes_saved_before_they_carried_their_geometry_read_it_from_the_dataset(tmp_path):
    """A file older still: the geometry in the Dataset's attrs only. ds.codes alone is
    told to pass the Dataset (or the attrs); the Dataset reconstructs ``A M``."""
    phi = make_problem("2d-valid-s23")[0]
    A = _codes(phi)
    old = head_layout(phi, A)
    for key in GEOMETRY:
        del old["codes"].attrs[key]
    ds = load_dataset(save_dataset(old, tmp_path / "old.nc"))
    with pytest.raises(ValueError, match=re.escape(
            "these codes (a DataArray) record no geometry in their attrs, as ds.codes of a "
            "file saved before the codes carried it: the Dataset's attrs do, so pass the "
            "Dataset itself as codes (reconstruct(ds, ds.kernels)), or "
            "signal_shape=ds.attrs['signal_shape'], stride=ds.attrs['stride'], "
            "boundary=ds.attrs['boundary']")):
        reconstruct(ds.codes, ds.kernels)
    made = reconstruct(ds, ds.kernels)
    np.testing.assert_allclose(made.reshape(3, -1), A.reshape(3, -1) @ phi.as_matrix(),
                               rtol=0, atol=1e-12)
    # or the attrs passed by hand, as a netCDF file gives them back
    np.testing.assert_array_equal(
        reconstruct(ds.codes, ds.kernels, signal_shape=ds.attrs["signal_shape"],
                    stride=ds.attrs["stride"], boundary=ds.attrs["boundary"]), made)
    # plain arrays have no attrs to name
    with pytest.raises(ValueError, match=r"or the codes of codes_dataset, whose attrs record "
                                         r"it\)$"):
        reconstruct(A, phi.kernels)


@pytest.mark.parametrize("as_dataarray", [False, True])
def test_codes_with_a_signal_shape_but_no_stride_name_what_is_missing(as_dataarray):
    """Codes of stride 2 given with signal_shape alone (a plain array, or ds.codes of an
    old file) were refused as "codes must have shape (n_samples, 4, 46) ..., got (3, 4,
    23)", naming neither the stride nor what to pass. The error now names the missing
    stride and boundary and the geometry that gives the codes' shape; objective too."""
    phi, X, lam = make_problem("1d-full-s2")
    A = _codes(phi)
    codes = A
    if as_dataarray:
        codes = phi.codes_dataset(A)["codes"]
        for key in GEOMETRY:
            del codes.attrs[key]
    text = ("codes of shape (3, 4, 23) do not fit signals of shape (40,) with stride=(1,) "
            "and boundary='full' (code shape (46,)): stride and boundary were neither given "
            "nor recorded in the codes' attrs, and the default taken; pass the stride and "
            "boundary the codes were encoded with; stride=2 with boundary='full' gives "
            "their code shape")
    with pytest.raises(ValueError, match="^" + re.escape(text)) as raised:
        reconstruct(codes, phi.kernels, (40,))
    assert ("pass the Dataset itself" in str(raised.value)) == as_dataarray
    with pytest.raises(ValueError, match="^" + re.escape(text)):
        objective(X, codes, phi.kernels, lam)
    # given, they are taken: the explicit matrix's A M and objective
    made = reconstruct(codes, phi.kernels, (40,), stride=2, dtype=np.float64)
    np.testing.assert_allclose(made.reshape(3, -1), A.reshape(3, -1) @ phi.as_matrix(),
                               rtol=0, atol=1e-12)


def test_a_missing_boundary_alone_is_named_with_the_strides_that_fit():
    """Valid-boundary codes given with their stride but not their boundary: only the
    boundary is named missing, and the geometries listed are those that give the
    codes' shape (here "valid" at the stride given)."""
    phi = make_problem("2d-valid-s23")[0]
    with pytest.raises(ValueError, match=re.escape(
            "boundary was neither given nor recorded in the codes' attrs, and the default "
            "taken; pass the boundary the codes were encoded with; stride=(2, 3) with "
            "boundary='valid' gives their code shape")):
        reconstruct(_codes(phi), phi.kernels, phi.signal_shape, stride=(2, 3))


@pytest.mark.parametrize("key, value, text", [
    ("kernel_shape", [9], "ds.attrs['kernel_shape']=[9] and the saved kernels "
                          "(kernel_shape=(8,), ds['kernels'] of shape (3, 8)) disagree"),
    ("n_kernels", 4, "ds.attrs['n_kernels']=4 and the saved kernels (n_kernels=3, "
                     "ds['kernels'] of shape (3, 8)) disagree"),
    ("sample_rate_hz", 16000.0, "ds.attrs['sample_rate_hz']=16000 and the rate of "
                                "ds['kernels']'s 'lag' coordinate (s), 8000 Hz, disagree")])
def test_a_saved_network_whose_attrs_disagree_with_its_kernels_is_refused(key, value, text,
                                                                          tmp_path):
    """A saved network's kernel_shape, n_kernels and sample_rate_hz attrs, edited, were
    ignored (the shape) or taken against the kernels' lag in s (the rate: a network of
    8 kHz kernels loaded as 16 kHz). Refused, naming both; the file as saved loads."""
    net = ConvolutionalNetwork(unit_kernels(np.random.default_rng(0), (3, 8)), stride=2,
                               sample_rate=8000.0)
    path = net.save(tmp_path / "net.nc")
    back = ConvolutionalNetwork.load(path)
    assert back.kernel_shape == (8,) and back.sample_rate == 8000.0
    ds = load_dataset(path)
    ds.attrs[key] = value
    with pytest.raises(ValueError, match="^" + re.escape(text)):
        ConvolutionalNetwork.from_dataset(ds)


def test_a_dictionary_with_the_recorded_geometry_reads_the_dataset():
    """The Dataset with a ConvolutionalDictionary of its own geometry: the same signals."""
    phi = make_problem("2d-circular-s2")[0]
    A = _codes(phi)
    ds = head_layout(phi, A)
    np.testing.assert_array_equal(reconstruct(ds, phi), phi.synthesize(A))
    other = ConvolutionalDictionary(phi.kernels, (18, 18), stride=2, boundary="circular")
    with pytest.raises(ValueError, match=r"^the codes' attrs\['signal_shape'\]=\(16, 16\) "
                                         r"disagree with the ConvolutionalDictionary's own"):
        reconstruct(ds, other)


# --- a learning record's attrs (the call's: the training images' signal_shape) are never
# --- the geometry of codes put beside its kernels

@pytest.fixture(scope="module")
def learning_records():
    """learn_kernels' Dataset and ConvolutionalNetwork.learn's, learned on 24x24 images
    (their attrs: signal_shape (24, 24), stride (2, 2), boundary 'full'), and a
    dictionary of learn_kernels' kernels for 16x16 signals."""
    from v1model.convolutional import learn_kernels

    images = np.random.default_rng(0).standard_normal((2, 24, 24))
    settings = dict(n_updates=2, batch_size=2, crop_size=(12, 12), seed=0, progress=False)
    ds = learn_kernels(images, 3, (4, 4), stride=2, lam=0.1, **settings)
    net = ConvolutionalNetwork(ds.kernels.values.astype(np.float64), stride=2, lam=0.1)
    records = {"learn_kernels": ds, "ConvolutionalNetwork.learn": net.learn(images,
                                                                              **settings)}
    for record in records.values():
        assert list(record.attrs["signal_shape"]) == [24, 24]
        assert list(record.attrs["stride"]) == [2, 2] and record.attrs["boundary"] == "full"
    phi = ConvolutionalDictionary(ds.kernels.values.astype(np.float64), (16, 16), stride=2,
                                  dtype=np.float64)
    return records, phi


@pytest.mark.parametrize("which", ["learn_kernels", "ConvolutionalNetwork.learn"])
def test_a_learning_record_given_codes_reads_the_codes_own_geometry(learning_records,
                                                                   which):
    """ds.assign(codes=phi.codes_dataset(A).codes) for 16x16 signals: reconstruct(ds,
    ds.kernels) refused the codes' signal_shape (16, 16) as disagreeing with
    ds.attrs['signal_shape']=(24, 24) "(files written before 2026-12-08 hold both)",
    which is the training images' shape. The codes' own geometry is read: ``A M`` (the
    explicit matrix) and the dense objective."""
    records = learning_records[0]
    # each record's own kernels (the network's learned on from learn_kernels')
    phi = ConvolutionalDictionary(records[which].kernels.values.astype(np.float64), (16, 16),
                                  stride=2, dtype=np.float64)
    A = _codes(phi)
    X = np.random.default_rng(1).standard_normal((3, 16, 16))
    ds = records[which].assign(codes=phi.codes_dataset(A).codes)
    made = reconstruct(ds, ds.kernels)
    assert made.shape == (3, 16, 16)
    np.testing.assert_allclose(made.reshape(3, -1), A.reshape(3, -1) @ phi.as_matrix(),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(objective(X, ds, ds.kernels, 0.2),
                               [dense_objective(phi.as_matrix(), X[i:i + 1], A[i:i + 1], 0.2)
                                for i in range(3)], rtol=1e-12)


def test_a_learning_record_given_bare_codes_lends_them_no_geometry(learning_records):
    """Codes without attrs put in a learning record: its signal_shape (24, 24) was taken
    as theirs, so codes of 25x25 signals (the same 14x14 code grid at stride 2) came back
    as 24x24 signals, unsaid, and signal_shape=(25, 25) given was refused as disagreeing
    with "the codes' own". None of the record's geometry is taken now: the error says
    so, and the geometry given reconstructs ``A M``."""
    records, phi = learning_records
    phi25 = ConvolutionalDictionary(phi.kernels, (25, 25), stride=2, dtype=np.float64)
    assert phi25.code_shape == (14, 14) == ConvolutionalDictionary(
        phi.kernels, (24, 24), stride=2).code_shape
    A = _codes(phi25)
    ds = records["learn_kernels"].assign(codes=(("sample", "kernel", "y", "x"), A))
    with pytest.raises(ValueError, match=re.escape(
            "reconstruct needs signal_shape, the shape of one signal, with kernels given as "
            "an array (or pass a ConvolutionalDictionary, or the codes of codes_dataset, "
            "whose attrs record it); the Dataset's attrs hold signal_shape=(24, 24), "
            "stride=(2, 2), boundary='full', but it is not a codes file of before "
            "2026-12-08") + ".*not the codes' geometry; pass the signal_shape, stride and "
                           "boundary the codes were encoded with$"):
        reconstruct(ds, ds.kernels)
    # the stride missing too is named, with the same advice
    with pytest.raises(ValueError, match=r"^codes of shape \(3, 3, 14, 14\) do not fit "
                                         r".*the Dataset's attrs hold signal_shape=\(24, 24\)"):
        reconstruct(ds, ds.kernels, (25, 25))
    made = reconstruct(ds, ds.kernels, (25, 25), stride=2, boundary="full")
    np.testing.assert_allclose(made.reshape(3, -1), A.reshape(3, -1) @ phi25.as_matrix(),
                               rtol=0, atol=1e-12)


def head_spiking_layout(phi, codes):
    """spiking_convolutional_lca's Dataset as HEAD (before 2026-12-08) wrote it, without
    running Brian2: codes_dataset's renamed ``code``, the maps of the units, and its
    parameters and model in attrs beside the geometry."""
    ds = head_layout(phi, codes).rename({"codes": "code"})
    dims, geometry = ds["code"].dims, {name: ds["code"].attrs[name] for name in GEOMETRY}
    for name in ("rate", "spike_count", "drive"):
        ds[name] = (dims, np.asarray(codes) * 10.0, dict(geometry))
    ds.attrs.update(tau_m=0.1, dt=1e-4, t_max=0.5, model="spiking convolutional LCA (Tang, "
                    "Lin & Davies 2017 on a convolutional dictionary)")
    return ds


@pytest.mark.parametrize("layout", [head_layout, head_spiking_layout])
def test_head_codes_files_are_still_read_and_an_edited_copy_refused(layout, tmp_path):
    """Codes files of HEAD's layouts (codes_dataset's, the spiking simulator's), saved
    and loaded, are still told from learning records: their attrs complete codes that
    carry no geometry (files older still), reconstructing ``A M``, and an edited copy
    is refused naming both."""
    phi = make_problem("2d-valid-s23")[0]
    A = _codes(phi)
    ds = load_dataset(save_dataset(layout(phi, A), tmp_path / "head.nc"))
    name = "codes" if "codes" in ds else "code"
    np.testing.assert_allclose(reconstruct(ds, ds.kernels).reshape(3, -1),
                               A.reshape(3, -1) @ phi.as_matrix(), rtol=0, atol=1e-12)
    older = ds.copy()
    older[name] = ds[name].copy()
    for key in GEOMETRY:
        del older[name].attrs[key]
    np.testing.assert_allclose(reconstruct(older, older.kernels).reshape(3, -1),
                               A.reshape(3, -1) @ phi.as_matrix(), rtol=0, atol=1e-12)
    ds.attrs["signal_shape"] = [19, 16]
    with pytest.raises(ValueError, match="^" + re.escape(
            f"ds['{name}'].attrs['signal_shape']=(18, 16) and ds.attrs['signal_shape']="
            "(19, 16) disagree: the codes' attrs are the record")):
        reconstruct(ds, ds.kernels)


def test_a_codes_file_in_a_learning_record_is_no_codes_file(learning_records):
    """A learning record given codes_dataset's codes and kernels (their long_name that
    of HEAD's codes files) still keeps its attrs to itself: its update dimension says
    what it is."""
    records, phi = learning_records
    A = _codes(phi)
    made = phi.codes_dataset(A)
    ds = records["learn_kernels"].assign(codes=made.codes, kernels=made.kernels)
    np.testing.assert_allclose(reconstruct(ds, ds.kernels).reshape(3, -1),
                               A.reshape(3, -1) @ phi.as_matrix(), rtol=0, atol=1e-12)
