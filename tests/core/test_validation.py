"""The boundary checks every public function shares."""

import re

import numpy as np
import pytest

from v1model.validation import (
    as_generator,
    check_array,
    check_dictionary,
    check_int,
    check_nonnegative,
    check_positive,
    describe,
)


def test_complex_values_are_refused_not_truncated():
    # numpy would drop the imaginary part with only a ComplexWarning
    with pytest.raises(TypeError, match="X must be real, got complex values"):
        check_array(np.ones(3) + 1j, "X")
    with pytest.raises(TypeError, match="X must be real"):
        check_array([1 + 2j, 3], "X")


def test_pandas_tables_are_described_by_shape_and_dtypes():
    # describe put a DataFrame's whole repr on one line ("a b 0 x 0.0 1 x 1.0 ...")
    pd = pytest.importorskip("pandas")

    frame = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.0, 2.0]})
    assert describe(frame) == "pandas DataFrame of shape (3, 2) with dtypes {'a': int64, " \
                              "'b': float64}"
    wide = pd.DataFrame(np.zeros((2, 6)), columns=list("uvwxyz"))
    assert describe(wide).endswith("'x': float64, ...}")
    assert describe(frame["b"]) == "pandas Series of shape (3,) and dtype float64"


def test_masked_and_sparse_arrays_are_refused_by_name():
    # np.asarray drops a mask (the masked values were read as numbers), and a sparse
    # matrix was refused as "not a numeric array" with scipy's description cut off
    import scipy.sparse as sp

    masked = np.ma.masked_array([[1.0, 2.0], [3.0, 4.0]], mask=[[0, 0], [0, 1]])
    with pytest.raises(ValueError, match=re.escape(
            "X is a masked array with 1 masked value(s), the first at index (1, 1)")):
        check_array(masked, "X")
    with pytest.raises(ValueError, match=r"index 2;"):  # 1-D: the index alone
        check_array(np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 0, 1]), "x")
    # nothing masked: its values, as for a plain array
    np.testing.assert_array_equal(check_array(np.ma.masked_array([1.0, 2.0]), "x"), [1, 2])
    with pytest.raises(TypeError, match=re.escape(
            "D is a sparse matrix (csr_matrix, shape (2, 3)); a dense array is needed: pass "
            "D.toarray()")):
        check_array(sp.csr_matrix(np.eye(2, 3)), "D")


def test_a_masked_scalar_is_refused_by_name():
    # 0-d: no index to give (an IndexError escaped from the message's own formatting)
    for value in (np.ma.masked, np.ma.masked_array(2.0, mask=True)):
        with pytest.raises(ValueError, match=re.escape(
                "lam is a masked array with 1 masked value(s); masks are not used")):
            check_array(value, "lam")


def test_bools_are_not_integers_or_seeds():
    for value in (True, np.True_):
        with pytest.raises(TypeError, match="n_nonzero must be an integer, got (np.)?True"):
            check_int(value, "n_nonzero", minimum=1)
    with pytest.raises(TypeError, match="seed must be None, an int"):
        as_generator(True)
    assert check_int(np.int64(3), "k") == 3 and check_int(4.0, "k") == 4


def test_a_bool_alone_is_not_an_array_of_numbers():
    # a bare True was read as 1.0 (the scalar checks refuse it): grating(contrast=True)
    # drew a full-contrast grating unsaid
    import xarray as xr

    for value in (True, False, np.True_, np.array(True), xr.DataArray(True)):
        with pytest.raises(TypeError, match="contrast must be a number or an array of "
                                            "numbers, got .*(True|False).* \\(a bool\\)"):
            check_array(value, "contrast")
    # an array of bools (a mask, a spike raster) is still read as 0 and 1
    np.testing.assert_array_equal(check_array(np.array([True, False]), "X"), [1.0, 0.0])


def test_dictionary_checks_hold_at_any_scale(rng):
    D = rng.standard_normal((6, 5))
    unit = D / np.linalg.norm(D, axis=1, keepdims=True)
    # the norm of a row of 1e200 overflows float64; the scaled computation does not
    for scale in (1e-200, 1e-13, 1.0, 1e200):
        np.testing.assert_allclose(check_dictionary(scale * D, normalized=True), unit,
                                   rtol=1e-12)
    # a tiny atom still has a direction; only an all-zero one is refused
    tiny = D.copy()
    tiny[2] *= 1e-14
    np.testing.assert_allclose(check_dictionary(tiny, normalized=True), unit, rtol=1e-12)
    tiny[2] = 0.0
    with pytest.raises(ValueError, match="1 atom\\(s\\) \\(rows\\) with zero norm, e.g. row 2"):
        check_dictionary(tiny)


def test_finite_values_beyond_float32_are_named_as_such():
    # 1e300 is finite: the cast to float32 overflows, which is not a NaN in the input
    with pytest.raises(ValueError, match=r"X has values up to 1e\+300, beyond the range of "
                                         r"float32 \(largest 3.4e\+38\); rescale X"):
        check_array(np.array([1.0, -1e300]), "X", dtype=np.float32)
    with pytest.raises(ValueError, match=r"X contains 1 non-finite value\(s\)"):
        check_array(np.array([1e300, np.nan]), "X", dtype=np.float32)
    np.testing.assert_array_equal(check_array([1e38], "X", dtype=np.float32), [np.float32(1e38)])


def _transposed(name):
    """A callable of (X, D) for each entry point that takes data and a dictionary
    outside v1model.inference (which had its own check)."""
    from v1model.learning.ksvd import ksvd_sweep
    from v1model.learning.olshausen_field import cauchy_inference
    from v1model.spiking import spiking_lca
    from v1model.validation import check_data_and_dictionary, check_same_features

    return {
        "check_same_features": lambda X, D: check_same_features(X, D),
        "check_data_and_dictionary": lambda X, D: check_data_and_dictionary(X, D),
        "spiking_lca": lambda X, D: spiking_lca(X, D, lam=0.1),
        "ksvd_sweep": lambda X, D: ksvd_sweep(X, np.zeros((len(X), 12)), D),
        "cauchy_inference": lambda X, D: cauchy_inference(X, D, lam=0.1),
    }[name]


@pytest.mark.parametrize("name", ["check_same_features", "check_data_and_dictionary",
                                  "spiking_lca", "ksvd_sweep", "cauchy_inference"])
def test_a_dictionary_given_one_atom_per_column_is_named_transposed(name):
    """scikit-learn's orthogonal_mp and Lasso take (n_features, n_atoms): spiking LCA,
    K-SVD and the Cauchy inference answered "expected X of shape (n_samples, 12)",
    pointing at X (only v1model.inference said D looks transposed)."""
    rng = np.random.default_rng(0)
    X, D = rng.standard_normal((6, 8)), rng.standard_normal((12, 8))
    with pytest.raises(ValueError, match=r"D has shape \(8, 12\) but X has 8 features per "
                                         r"sample.*D looks transposed.*pass D\.T, of shape "
                                         r"\(12, 8\)"):
        _transposed(name)(X, D.T)
    # a genuinely different feature count still points at X
    with pytest.raises(ValueError, match=r"expected X of shape \(n_samples, 8\)"):
        _transposed(name)(rng.standard_normal((6, 5)), D)


@pytest.mark.parametrize("value, shown", [("x", "'x'"), (["a", "b"], "['a', 'b']"),
                                          ([[1, 2], [3]], "[[1, 2], [3]]")])
def test_refused_values_are_shown_as_given(value, shown):
    """The message shows the value as the user gave it, not the array it was converted
    to ("got array of shape () and dtype <U1" for 'x')."""
    with pytest.raises(TypeError, match=r"X must be a numeric array, got " + re.escape(shown)):
        check_array(value, "X")


def test_values_lost_to_zero_by_a_narrower_dtype_are_named():
    """1e-300 in float32 became zeros (and the codes of zeros) without a word, where
    1e300 was refused as beyond float32's range."""
    with pytest.raises(ValueError, match=r"^X has values of at most 1e-300, below the range "
                                         r"of float32 \(smallest normal number 1.18e-38\)"):
        check_array(np.array([1e-300, -1e-301]), "X", dtype=np.float32)
    # zeros stay zeros, and tiny values beside normal ones are rounding, not a loss
    np.testing.assert_array_equal(check_array([0.0, 0.0], "X", dtype=np.float32), [0, 0])
    np.testing.assert_array_equal(check_array([1e-300, 1.0], "X", dtype=np.float32), [0, 1])
    assert check_array(np.array([1e-300]), "X").item() == 1e-300  # float64: kept


def test_check_path_names_what_is_not_a_file_name():
    from pathlib import Path

    from v1model.validation import check_path

    for bad in (None, 3, ""):
        with pytest.raises(TypeError, match=r"^folder must be a file name \(str or "
                                            r"os.PathLike\), got "):
            check_path(bad, "folder")
    assert check_path("~/x.nc") == Path.home() / "x.nc"


def test_check_path_says_whether_a_file_or_a_folder_was_wanted():
    """A folder argument that was no path was told it "must be a file name"
    (stimuli.audio.load_wav_folder's and stimuli.digits.load_mnist's ``folder``)."""
    from stimuli.audio import load_wav_folder
    from stimuli.digits import load_mnist
    from stimuli.images import image_source_path
    from v1model.validation import check_path

    for kind in ("file", "folder", "file or folder"):
        with pytest.raises(TypeError, match=rf"^where must be a {kind} name \(str or "
                                            r"os.PathLike\), got None$"):
            check_path(None, "where", kind)
    with pytest.raises(ValueError, match=r"^kind must be one of 'file', 'folder', 'file or "
                                         r"folder'; got 'dir'$"):
        check_path("x", "where", "dir")
    with pytest.raises(TypeError, match=r"^folder must be a folder name .*, got 3$"):
        load_wav_folder(3)
    with pytest.raises(TypeError, match=r"^folder must be a folder name .*, got None$"):
        load_mnist(None)
    with pytest.raises(TypeError, match=r"^source must be a file or folder name .*, got 3$"):
        image_source_path(3)


def test_check_path_expands_environment_variables_and_refuses_unset_ones(monkeypatch):
    # a spec file is no shell: "$SCRATCH/imgs" reached the studies as written
    from pathlib import Path

    from v1model.validation import check_path

    monkeypatch.setenv("V1MODEL_TEST_DIR", "/data/v1")
    monkeypatch.setenv("HOME", "/home/someone")
    monkeypatch.delenv("V1MODEL_TEST_UNSET", raising=False)
    assert check_path("$V1MODEL_TEST_DIR/imgs") == Path("/data/v1/imgs")
    assert check_path(Path("${V1MODEL_TEST_DIR}/a.nc")) == Path("/data/v1/a.nc")
    assert check_path("~/imgs") == Path("/home/someone/imgs")
    assert check_path("price$5.nc") == Path("price$5.nc")  # no variable name: as written
    for bad in ("$V1MODEL_TEST_UNSET/imgs", "/x/${V1MODEL_TEST_UNSET}"):
        with pytest.raises(ValueError, match=rf"^images: '{re.escape(bad)}' uses the environment "
                                             r"variable V1MODEL_TEST_UNSET, which is not set$"):
            check_path(bad, "images")


@pytest.mark.parametrize("bad", ["a/${V1MODEL_TEST_DIR", "${V1MODEL_TEST_UNSET", "a/${}",
                                 "${V1MODEL TEST}/x"])
def test_check_path_refuses_a_brace_that_closes_no_variable_name(monkeypatch, bad):
    """expandvars leaves "${NAME" (no closing brace) as written, set or not: a folder
    literally named "${NAME" was looked for, or created."""
    from v1model.validation import check_path

    monkeypatch.setenv("V1MODEL_TEST_DIR", "/data/v1")
    monkeypatch.delenv("V1MODEL_TEST_UNSET", raising=False)
    with pytest.raises(ValueError, match=rf"^images: '{re.escape(bad)}' has a '\$\{{' that "
                                         r"is not closed after a variable name"):
        check_path(bad, "images")


def test_check_path_takes_an_existing_file_with_a_dollar_in_its_name(tmp_path, monkeypatch):
    # "run$a.nc" was refused as using the unset variable a: a file of the user's, saved
    # before check_path expanded variables, could no longer be loaded
    from v1model.io import load_dataset, save_dataset
    from v1model.validation import check_path

    monkeypatch.delenv("a", raising=False)
    path = tmp_path / "run$a.nc"
    path.write_bytes(b"")
    assert check_path(str(path)) == path
    assert check_path(path) == path
    monkeypatch.setenv("V1MODEL_TEST_DIR", str(tmp_path))
    assert check_path("$V1MODEL_TEST_DIR/run$a.nc") == path
    path.unlink()
    with pytest.raises(ValueError, match="uses the environment variable a, which is not set$"):
        check_path(str(path))  # no such file: a variable left unset
    import xarray as xr

    ds = xr.Dataset({"x": ("i", np.arange(3.0))})
    path.write_bytes(b"")
    save_dataset(ds, path)
    np.testing.assert_array_equal(load_dataset(str(path))["x"].values, [0.0, 1.0, 2.0])


def test_zero_dimensional_arrays_are_scalars():
    """A number read from a result (ds["lam"].values) is a 0-d array: it was refused."""
    from v1model.validation import check_nonnegative, check_positive, check_probability

    assert check_positive(np.array(0.5), "tau") == 0.5
    assert type(check_nonnegative(np.array(2, dtype=np.int32), "lam")) is float
    assert check_probability(np.array(np.float32(0.25)), "p") == 0.25
    n = check_int(np.array(7), "n_atoms", minimum=1)
    assert n == 7 and type(n) is int
    assert check_int(np.array(3.0), "k") == 3
    for value in (np.array(True), np.array(1 + 2j), np.array("0.1"), np.array(None)):
        with pytest.raises(TypeError, match="lam must be a real number"):
            check_positive(value, "lam")
    with pytest.raises(TypeError, match="n_atoms must be an integer"):
        check_int(np.array(True), "n_atoms")
    with pytest.raises(TypeError, match="n_atoms must be an integer"):
        check_int(np.array(2.5), "n_atoms")
    # a seed too: the same stream as the int itself
    assert as_generator(np.array(5)).random() == np.random.default_rng(5).random()
    with pytest.raises(TypeError, match="seed must be None, an int"):
        as_generator(np.array(True))


def test_the_memory_limit_of_a_job_is_its_control_groups(tmp_path, monkeypatch):
    """Inside a SLURM job or a container the machine's RAM is not what the process may
    use: its control group's limit is, the tightest along its path (v2 and v1)."""
    import v1model.validation as validation

    root = tmp_path / "cgroup"
    # cgroup v2: the job's group limits to 16 GiB under a parent without a limit
    (root / "slurm" / "job_7").mkdir(parents=True)
    (root / "memory.max").write_text("max\n")
    (root / "slurm" / "memory.max").write_text("max\n")
    (root / "slurm" / "job_7" / "memory.max").write_text(f"{16 * 2**30}\n")
    proc = tmp_path / "cgroup_v2"
    proc.write_text("0::/slurm/job_7\n")
    assert validation.cgroup_memory_limit(proc, root) == 16 * 2**30
    # cgroup v1: the memory controller's hierarchy; the parent's 8 GiB binds
    (root / "memory" / "user" / "task").mkdir(parents=True)
    (root / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (root / "memory" / "user" / "memory.limit_in_bytes").write_text(f"{8 * 2**30}\n")
    (root / "memory" / "user" / "task" / "memory.limit_in_bytes").write_text(f"{2**40}\n")
    proc1 = tmp_path / "cgroup_v1"
    proc1.write_text("12:cpu,cpuacct:/user\n4:memory:/user/task\n")
    assert validation.cgroup_memory_limit(proc1, root) == 8 * 2**30
    # no limit, or not Linux
    proc_none = tmp_path / "cgroup_none"
    proc_none.write_text("0::/\n")
    assert validation.cgroup_memory_limit(proc_none, root) is None
    assert validation.cgroup_memory_limit(tmp_path / "absent", root) is None
    # physical_memory takes the lower of the RAM and the limit
    monkeypatch.setattr(validation, "cgroup_memory_limit", lambda: 2.0**30)
    assert validation.physical_memory() == 2.0**30
    monkeypatch.setattr(validation, "cgroup_memory_limit", lambda: None)
    ram = validation.physical_memory()
    monkeypatch.setattr(validation, "cgroup_memory_limit", lambda: 2.0**70)
    assert validation.physical_memory() == ram


def test_zero_dimensional_dataarrays_are_scalars():
    """A number read from a result as ds["lam"] (a 0-d DataArray) was refused as "lam
    must be a real number"; public functions now take it as the number it holds."""
    import xarray as xr

    from v1model import SparseCodingNetwork
    from v1model.inference import fista, orthogonal_mp
    from v1model.validation import check_positive

    rng = np.random.default_rng(0)
    D = rng.standard_normal((6, 10))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((4, 10))
    result = xr.Dataset({"lam": 0.1, "n_nonzero": 2, "seed": 5})
    net = SparseCodingNetwork(D, lam=result["lam"])
    assert net.lam == 0.1 and type(net.lam) is float
    np.testing.assert_array_equal(fista(X, D, result["lam"]), fista(X, D, 0.1))
    np.testing.assert_array_equal(orthogonal_mp(X, D, n_nonzero=result["n_nonzero"]),
                                  orthogonal_mp(X, D, n_nonzero=2))
    assert check_int(result["n_nonzero"], "n_nonzero") == 2
    assert as_generator(result["seed"]).random() == np.random.default_rng(5).random()
    # only 0-d: a DataArray of several values is not a scalar, a bool is not a number
    with pytest.raises(TypeError, match="lam must be a real number"):
        check_positive(xr.DataArray([0.1, 0.2]), "lam")
    with pytest.raises(TypeError, match="lam must be a real number"):
        check_positive(xr.DataArray(True), "lam")


def test_the_finite_check_needs_no_temporary_the_size_of_the_data(peak_memory):
    X = np.ones((20_000, 256), dtype=np.float32)  # 20 MB; np.isfinite(X): a 5 MB bool
    checked, peak = peak_memory(lambda: check_array(X, "X", ndim=2, dtype=np.float32))
    assert checked is X
    assert peak < X.size / 2  # a block of rows (1 MB), not X.size bytes


@pytest.mark.parametrize("shape", [(20_000, 256), (3_000_000,), (2, 3, 4)])
def test_non_finite_values_are_counted_and_named_as_before(shape):
    X = np.zeros(shape)
    flat = X.reshape(-1)
    flat[[5, -1]] = np.nan  # one in the first block of rows, one in the last
    flat[-2] = -np.inf
    message = "X contains {} non-finite value(s) (NaN or inf)"
    with pytest.raises(ValueError, match=re.escape(message.format(3))):
        check_array(X, "X")
    flat[:] = 0.0
    flat[-1] = np.inf
    with pytest.raises(ValueError, match=re.escape(message.format(1))):
        check_array(X, "X")
    with pytest.raises(ValueError, match=re.escape("x contains 1 non-finite value(s)")):
        check_array(np.nan, "x")


@pytest.mark.parametrize("shape", [(20_000, 256), (3_000_000,), (2, 3, 4)])
def test_the_first_non_finite_value_is_located(shape):
    # a count alone left the user searching a large array for the bad value
    X = np.zeros(shape)
    flat = X.reshape(-1)
    flat[[-3, -1]] = np.nan
    flat[-2] = -np.inf
    first = np.unravel_index(flat.size - 3, shape)
    where = str(tuple(int(i) for i in first)) if len(shape) > 1 else str(int(first[0]))
    with pytest.raises(ValueError, match=re.escape(f"the first at index {where} (nan)")):
        check_array(X, "X")
    if len(shape) == 2:  # the learners' own pass over the data, block by block
        from v1model.learning._data import check_training_rows

        flat[-3] = 0.0
        with pytest.raises(ValueError, match=re.escape(
                f"X contains 2 non-finite value(s) (NaN or inf), the first at index "
                f"({shape[0] - 1}, {shape[1] - 2}) (-inf)")):
            check_training_rows(X, "X")


def test_a_labelled_frames_missing_or_nan_value_is_named_by_its_labels():
    """A DataFrame indexed by sample names: its pd.NA (nullable Float64) or NaN was named
    by position alone ("index (3, 0)"), which the user of ``frame.loc["s17"]`` had to
    count out; the row and column labels are given with the position. Axes whose labels
    are their positions (the default RangeIndex) add nothing."""
    pd = pytest.importorskip("pandas")
    from v1model.inference import encode
    from v1model.learning import SparseDictionaryLearner
    from v1model.learning._data import check_training_rows

    X = np.random.default_rng(0).standard_normal((6, 3))
    rows = [f"s{i}" for i in range(14, 20)]
    nullable = pd.DataFrame(X, index=rows, columns=["a", "b", "c"]).astype("Float64")
    nullable.iloc[3, 1] = pd.NA
    plain = pd.DataFrame(X, index=rows, columns=["a", "b", "c"])
    plain.iloc[3, 1] = np.nan
    missing = re.escape("X contains 1 missing value(s) (pd.NA, NaN or None), the first at "
                        "index (3, 1), row label 's17', column 'b'; drop or fill them")
    non_finite = re.escape("X contains 1 non-finite value(s) (NaN or inf), the first at "
                           "index (3, 1) (nan), row label 's17', column 'b'")
    for frame, match in ((nullable, missing), (plain, non_finite)):
        for check in (lambda v: check_array(v, "X"), lambda v: check_training_rows(v, "X"),
                      lambda v: SparseDictionaryLearner(3, lam=0.1, n_updates=1, seed=0,
                                                        progress=False).fit(v),
                      lambda v: encode(v, np.eye(3), "fista", lam=0.1, progress=False)):
            with pytest.raises(ValueError, match=match + "$" if frame is plain else match):
                check(frame)
    # integer labels that are not the positions (a slice of a longer frame) are named too
    with pytest.raises(ValueError, match=re.escape("index (3, 1) (nan), row label 103") + "$"):
        check_array(plain.set_axis(range(100, 106)).set_axis(range(3), axis=1), "X")
    # the default RangeIndex on both axes: the position alone, as before
    with pytest.raises(ValueError, match=re.escape("the first at index (3, 1) (nan)") + "$"):
        check_array(plain.reset_index(drop=True).set_axis(range(3), axis=1), "X")
    with pytest.raises(ValueError, match=re.escape("the first at index 3 (nan), row label "
                                                   "'s17'") + "$"):
        check_array(plain["b"], "x")


def test_big_endian_dtype_is_its_precision():
    # dtype=X.dtype of a big-endian X (.mat, netCDF, sparsenet's raw files) was refused:
    # "dtype must be float32 or float64, got >f4"
    from v1model.inference import encode
    from v1model.validation import check_dtype

    assert check_dtype(np.dtype(">f4")) == np.float32
    assert check_dtype(">f8") == np.float64
    X = np.random.default_rng(0).standard_normal((5, 4)).astype(">f4")
    codes = encode(X, np.eye(4), "fista", lam=0.5, dtype=X.dtype)
    assert codes.dtype == np.float32
    # the identity dictionary: the LASSO codes are the soft threshold of X
    expected = np.sign(X) * np.maximum(np.abs(X.astype(np.float64)) - 0.5, 0)
    np.testing.assert_allclose(codes, expected, atol=1e-5)
    with pytest.raises(ValueError, match="dtype must be float32 or float64, got float16"):
        check_dtype(">f2")


def test_messages_show_numpy_scalars_as_plain_numbers():
    # NumPy 2 reprs a scalar as "np.float64(1.5)": messages show the number itself
    with pytest.raises(TypeError, match=r"depths must be an integer, got 1\.5$"):
        check_int(np.float64(1.5), "depths")
    with pytest.raises(TypeError, match=r"n must be an integer, got True$"):
        check_int(np.True_, "n")
    assert describe(np.float32(0.5)) == "0.5"
    assert describe(np.int64(3)) == "3"


def test_messages_show_a_0d_array_and_a_float32_by_their_value():
    # describe() turned a 0-d array into "array of shape () and dtype float64" (the value
    # -0.5 the message was about lost; it said array(-0.5) before), a float32 -0.1 into
    # -0.10000000149011612, and a datetime64 into a bare integer
    with pytest.raises(ValueError, match=r"lam must be a non-negative finite number, "
                                         r"got -0\.5$"):
        check_nonnegative(np.array(-0.5), "lam")
    with pytest.raises(ValueError, match=r"tau must be a positive finite number, got -0\.1$"):
        check_positive(np.float32(-0.1), "tau")
    with pytest.raises(TypeError, match=r"lam must be a real number, got "
                                        r"np\.datetime64\('2020-01-01T00:00:00"):
        check_positive(np.datetime64("2020-01-01T00:00:00.000000000"), "lam")
    assert describe(np.array([1.0, 2.0])) == "array of shape (2,) and dtype float64"
    assert describe(np.str_("soft")) == "'soft'"


def test_did_you_mean_suggests_the_closest_names_or_nothing():
    """One helper builds the "did you mean" hint of every unknown-name error (it was
    written out four times, each with difflib): the closest first, at most ``n``, by
    part of a name before spelling when asked, and nothing when no name is close."""
    from v1model.validation import did_you_mean

    assert did_you_mean("n_stepz", ["tol", "n_steps", "dt"]) == " (did you mean 'n_steps'?)"
    # difflib's ratio orders them: 0.75 for tau_m, 0.6 (the cutoff) for tau_syn
    names = ["n", "progress", "tau_m", "tau_syn"]
    assert did_you_mean("tau", names, n=3) == " (did you mean 'tau_m' or 'tau_syn'?)"
    assert did_you_mean("tau", names) == " (did you mean 'tau_m'?)"
    assert did_you_mean("xyz", names, n=3) == ""  # nothing close: no empty parentheses
    studies = ["rozell-2008-lca", "olshausen-field-1996", "zhu-rozell-2013-ncrf"]
    # a part of a name, in the names' order; spelling alone finds neither
    assert did_you_mean("rozell", studies, n=3, parts=True) == (
        " (did you mean 'rozell-2008-lca' or 'zhu-rozell-2013-ncrf'?)")
    assert did_you_mean("rozell", studies, n=3) == ""
    assert did_you_mean("olshausen-field-96", studies, n=3, parts=True) == (
        " (did you mean 'olshausen-field-1996'?)")
    assert did_you_mean("", studies, parts=True) == ""  # "" is part of every name


def test_row_coords_keeps_the_labels_of_the_rows():
    """The labels a result with one row per sample carries (SAE encode/decode, the LCA
    trajectory): the rows' index and every coordinate along them, read by dim name
    (transposed) or by position (other dim names: kept under their own names), the
    scalar ones, one sample's label, and 0 ... n - 1 for an array."""
    import xarray as xr

    from v1model.validation import row_coords

    X = xr.DataArray(np.zeros((3, 4)), dims=("sample", "feature"),
                     coords={"sample": ("sample", [5, 6, 7], {"units": "1"}),
                             "label": ("sample", ["a", "b", "c"]), "feature": np.arange(4),
                             "contrast": 0.5})
    for given in (X, X.T):
        ds = xr.Dataset(coords=row_coords(given, 3))
        assert ds["sample"].values.tolist() == [5, 6, 7] and ds["sample"].attrs == {"units": "1"}
        assert ds["label"].dims == ("sample",) and ds["label"].values.tolist() == ["a", "b",
                                                                                   "c"]
        assert float(ds["contrast"]) == 0.5 and "feature" not in ds.coords
    patches = xr.DataArray(np.zeros((3, 4)), dims=("patch", "pixel"),
                           coords={"patch": [10, 20, 30]})
    ds = xr.Dataset(coords=row_coords(patches, 3))
    assert ds["sample"].values.tolist() == [0, 1, 2]
    assert ds["patch"].dims == ("sample",) and ds["patch"].values.tolist() == [10, 20, 30]
    one = xr.Dataset(coords=row_coords(X.isel(sample=1), 1))
    assert one["sample"].values.tolist() == [6] and one["label"].item() == "b"
    assert xr.Dataset(coords=row_coords(np.zeros((3, 4)), 3))["sample"].values.tolist() == [
        0, 1, 2]


def test_a_3d_dictionary_that_does_not_fit_x_is_named_as_given():
    """Atoms read as images are flattened before the features are compared: a 3-D D that
    does not fit X (convolutional kernels passed to a dense solver, a dictionary with a
    trailing axis) was refused naming D of shape (n_atoms, h * w), which the caller
    never passed, and without a word of what a 3-D D is taken for."""
    from v1model.inference import encode, lca

    rng = np.random.default_rng(0)
    kernels = rng.standard_normal((6, 8, 8))
    images = rng.standard_normal((3, 32, 32))
    as_given = r"D of shape \(6, 8, 8\) is read as 6 atoms, images of 8x8 = 64 pixels.*"
    with pytest.raises(ValueError, match=r"^X has 1024 features per sample \(shape "
                                         r"\(3, 1024\)\) but " + as_given
                                         + "v1model.convolutional"):
        encode(images.reshape(3, -1), kernels, "fista", lam=0.1)
    with pytest.raises(ValueError, match=r"^X has patches of shape \(32, 32\) .* but "
                                         + as_given + "v1model.convolutional"):
        encode(images, kernels, "fista", lam=0.1)
    # one 8x8 patch given as an image is read as 8 samples of 8 features: said so
    with pytest.raises(ValueError, match=r"^X has 8 features per sample \(shape \(8, 8\)\) "
                                         r"but " + as_given + r"one patch as an image: pass "
                                         r"it as shape \(1, height, width\)"):
        lca(images[0, :8, :8], kernels, 0.1)
    with pytest.raises(ValueError, match=r"^X has 64 features .* D of shape \(6, 64, 3\) is "
                                         r"read as 6 atoms, images of 64x3 = 192 pixels.*must "
                                         r"be 2-D \(n_atoms, n_features\)"):
        encode(rng.standard_normal((5, 64)), rng.standard_normal((6, 64, 3)), "fista", lam=0.1)
    # patches that fit are coded as before, flat or as images
    flat = encode(images[:, :8, :8].reshape(3, 64), kernels, "omp", n_nonzero=3)
    np.testing.assert_array_equal(encode(images[:, :8, :8], kernels, "omp", n_nonzero=3),
                                  flat)


def test_atoms_as_images_are_flattened_row_major_as_patches_are():
    """A dictionary of atoms as images (atom, y, x), e.g. a network's ds["dictionary"], was
    refused by every dense solver as "D must have 2 dimension(s)"."""
    import xarray as xr

    from v1model.inference import fista, orthogonal_mp
    from v1model.network import SparseCodingNetwork
    from v1model.validation import check_data_and_dictionary

    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 20))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((3, 20))
    # the network's own Dataset: (atom, y, x) with patch_shape (4, 5), row-major
    images = SparseCodingNetwork(D, patch_shape=(4, 5)).to_dataset()["dictionary"]
    patches = xr.DataArray(X.reshape(3, 4, 5), dims=("sample", "y", "x"))
    ref = fista(X, D, 0.1, dtype=np.float64, progress=False)
    ref_omp = orthogonal_mp(X, D, n_nonzero=3, dtype=np.float64)
    for atoms, data in ((images, X), (images.transpose("x", "atom", "y"), X),
                        (images.values, X.reshape(3, 4, 5)),
                        (images, patches.transpose("x", "y", "sample"))):
        got_X, got_D = check_data_and_dictionary(data, atoms)
        np.testing.assert_array_equal(got_D, D)
        np.testing.assert_array_equal(got_X, X)
        np.testing.assert_allclose(fista(data, atoms, 0.1, dtype=np.float64, progress=False),
                                   ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(orthogonal_mp(data, atoms, n_nonzero=3, dtype=np.float64),
                                   ref_omp, rtol=0, atol=1e-12)
    # patches of another shape than the atoms' are refused naming both
    with pytest.raises(ValueError, match=r"^X has patches of shape \(5, 4\) .* D of shape "
                                         r"\(12, 4, 5\) is read as 12 atoms, images of 4x5"):
        check_data_and_dictionary(X.reshape(3, 5, 4), images)
    # a stack of patches with a 2-D dictionary is still refused as before
    with pytest.raises(ValueError, match="X must have 1 or 2 dimension"):
        check_data_and_dictionary(X.reshape(3, 4, 5), D)


def test_abs_max_is_the_largest_absolute_value_without_a_copy(peak_memory):
    """abs_max gives np.abs(arr).max(axis) (negative extremes included) without the |arr|
    temporary, which was a float64 copy of every dictionary at every solver call."""
    from v1model.validation import abs_max

    rng = np.random.default_rng(0)
    arr = rng.standard_normal((512, 256))
    arr[3, 7], arr[9, 1] = -50.0, 40.0  # row 3's and the whole array's extreme: negative
    np.testing.assert_array_equal(abs_max(arr, axis=1), np.abs(arr).max(axis=1))
    np.testing.assert_array_equal(abs_max(arr, axis=0), np.abs(arr).max(axis=0))
    assert abs_max(arr) == 50.0
    _, peak = peak_memory(lambda: abs_max(arr, axis=1))
    assert peak < 0.05 * arr.nbytes
