"""Atomic writes: a failure leaves no half-written file behind."""

import json
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from v1model.io import (ZARR_ALL_CHUNKS_ATTR, _writes_netcdf_to_memory, atomic_path,
                        load_dataset, missing_zarr_chunks, save_dataset)


def test_round_trip_netcdf_and_zarr(tmp_path):
    ds = xr.Dataset({"a": (("sample", "atom"), np.arange(6.0).reshape(2, 3))},
                    attrs={"lam": 0.1, "flag": True, "shape": [2, 3], "none": None,
                           "nested": {"x": 1}})
    for name in ("r.nc", "r.zarr"):
        back = load_dataset(save_dataset(ds, tmp_path / name))
        xr.testing.assert_equal(back["a"], ds["a"])
        assert back.attrs["lam"] == 0.1 and back.attrs["flag"] == 1


def test_files_record_a_format_version_that_older_files_read_as_0(tmp_path):
    """v1model_version is "0.1.0" across every change of layout, so a loader could not
    tell a file of a new layout from an older one: the files record an integer format
    version, 0 for those saved before it."""
    from v1model.io import FORMAT_VERSION, saved_format_version

    ds = xr.Dataset({"a": ("sample", np.arange(3.0))}, attrs={"lam": 0.1})
    assert FORMAT_VERSION == 1
    back = load_dataset(save_dataset(ds, tmp_path / "r.nc"))  # zarr: the test above
    assert saved_format_version(back) == FORMAT_VERSION
    assert isinstance(saved_format_version(back), int)
    assert "v1model_format_version" not in ds.attrs  # the Dataset given is not modified
    ds.to_netcdf(tmp_path / "before.nc")  # as a file saved before the attr was recorded
    older = load_dataset(tmp_path / "before.nc")
    assert saved_format_version(older) == 0
    # a Dataset of an older layout saved again keeps its number
    kept = load_dataset(save_dataset(ds.assign_attrs(v1model_format_version=0),
                                     tmp_path / "again.nc"))
    assert saved_format_version(kept) == 0
    for value in (-1, 1.5, "1", True, [1, 2]):
        with pytest.raises(ValueError,
                           match=rf"v1model_format_version.*got {re.escape(repr(value))}"):
            saved_format_version(ds.assign_attrs(v1model_format_version=value))
    with pytest.raises(TypeError, match="ds must be an xarray.Dataset, got dict"):
        saved_format_version({})


def test_zarr_store_opens_with_plain_xarray_without_warnings(tmp_path):
    # consolidated metadata: xarray's default open finds it, no fallback warning
    ds = xr.Dataset({"a": ("sample", np.arange(4.0))}, attrs={"lam": 0.1})
    path = save_dataset(ds, tmp_path / "r.zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = xr.open_zarr(path).load()
    from v1model import __version__

    assert back.attrs.pop("v1model_version") == __version__  # provenance, added on save
    assert back.attrs.pop("v1model_format_version") == 1
    assert back.attrs.pop(ZARR_ALL_CHUNKS_ATTR) == 1  # every chunk written: load_dataset checks
    xr.testing.assert_identical(back, ds)


def test_a_zarr_store_with_a_chunk_file_missing_is_refused_naming_it(tmp_path):
    """zarr reads a missing chunk file as the fill value: a store copied in part loaded
    NaN (and 0 for integers) as data, without a word. save_dataset writes every chunk,
    those of fill values alone too (zarr skips them by default, which would look like
    lost files), so load_dataset can refuse a store with one missing, naming the
    variable and the file; a store without the mark (zarr's own writes) is not checked."""
    ds = xr.Dataset({"y": ("x", np.arange(4.0)), "nan": ("x", np.full(4, np.nan)),
                     "zero": ("x", np.zeros(4, dtype=np.int64)),
                     "text": ("x", np.array([""] * 4, dtype=object))},
                    coords={"x": np.arange(4)})
    chunked = ds.chunk({"x": 2})  # two chunks per variable
    chunked["text"] = ds["text"]  # (dask would compute it to find a dtype, with a warning)
    path = save_dataset(chunked, tmp_path / "r.zarr")
    assert missing_zarr_chunks(path) == {}
    back = load_dataset(path)  # fill values alone are data, not lost chunks
    xr.testing.assert_equal(back[["y", "nan", "zero"]], ds[["y", "nan", "zero"]])
    assert ZARR_ALL_CHUNKS_ATTR not in back.attrs
    # the chunk keys of zarr 3 (y/c/1) and of zarr 2, the one for Python 3.10 (y/1), which
    # has no array.metadata: missing_zarr_chunks raised AttributeError on every zarr load
    c = "c/" if int(zarr.__version__.split(".")[0]) >= 3 else ""
    (path / "y" / f"{c}1").unlink()  # the second of y's two chunks
    (path / "zero" / f"{c}0").unlink()
    assert missing_zarr_chunks(path) == {"y": [f"y/{c}1"], "zero": [f"zero/{c}0"]}
    with pytest.raises(ValueError, match=r"r\.zarr' as a Zarr store: the store is incomplete "
                                         r"\(variable 'y': 1 chunk file\(s\) missing, e\.g\. "
                                         rf"'y/{c}1'; variable 'zero': .*'zero/{c}0'\)"):
        load_dataset(path)
    plain = tmp_path / "plain.zarr"  # written by zarr's defaults: empty chunks omitted
    with warnings.catch_warnings():  # zarr 3's on consolidated metadata
        warnings.simplefilter("ignore")
        ds.to_zarr(plain, consolidated=True)
    assert missing_zarr_chunks(plain) == {}
    assert np.isnan(load_dataset(plain)["nan"].values).all()


def test_failed_write_leaves_previous_file(tmp_path):
    path = tmp_path / "x.nc"
    save_dataset(xr.Dataset({"a": ("t", [1.0])}), path)
    with pytest.raises(RuntimeError, match="crash mid-write"):
        with atomic_path(path) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("crash mid-write")
    assert load_dataset(path)["a"].values.tolist() == [1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.nc"]


def test_load_dataset_names_an_unreadable_file(tmp_path):
    bad = tmp_path / "notes.nc"
    bad.write_text("not a netCDF file")
    with pytest.raises(ValueError, match="path: cannot read .*notes.nc' as a netCDF file"):
        load_dataset(bad)
    with pytest.raises(FileNotFoundError, match="path: no such file"):
        load_dataset(tmp_path / "missing.nc")


def test_an_existing_folder_is_never_replaced(tmp_path):
    ds = xr.Dataset({"a": ("t", [1.0, 2.0])})
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    for target in (folder, tmp_path / "results" / "..", tmp_path):
        with pytest.raises(IsADirectoryError, match="is an existing folder"):
            save_dataset(ds, target)
    assert (folder / "notes.txt").read_text() == "keep me"
    # a folder merely named like a store is not a store either
    (tmp_path / "fake.zarr").mkdir()
    (tmp_path / "fake.zarr" / "notes.txt").write_text("keep me")
    with pytest.raises(IsADirectoryError, match="fake.zarr' is an existing folder, not a file "
                                                "or a zarr store"):
        save_dataset(ds, tmp_path / "fake.zarr")
    assert (tmp_path / "fake.zarr" / "notes.txt").exists()


@pytest.mark.parametrize("end", ["", ".", ".."])
def test_a_name_of_a_folder_is_refused_not_written_as_a_file(tmp_path, end):
    """``Path`` drops a trailing separator and "/.": save_dataset(ds, "results/") and
    save_dataset(ds, "results/.") wrote a netCDF file named "results" (save_figure a
    PNG), where a folder was meant; "results/.." failed in os.rename with "Device or
    resource busy" after creating the folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from v1model import SparseCodingNetwork
    from v1model.io import save_figure

    ds = xr.Dataset({"a": ("t", [1.0, 2.0])})
    target = f"{tmp_path / 'results'}{os.sep}{end}"
    shown = re.escape(end or os.sep)
    with pytest.raises(IsADirectoryError, match=rf"path: .*results/\.*' ends in '{shown}', so "
                                                r"it names a folder.*results/(\.\./)?result\.nc"):
        save_dataset(ds, target)
    with pytest.raises(IsADirectoryError, match="names a folder"):
        SparseCodingNetwork(np.eye(4)).save(target)
    fig = plt.figure()
    with pytest.raises(IsADirectoryError, match=r"results/(\.\./)?figure\.png"):
        save_figure(fig, target)
    plt.close(fig)
    assert list(tmp_path.iterdir()) == []
    if end:
        with pytest.raises(IsADirectoryError, match="is an existing folder"):
            save_dataset(ds, end)  # the current folder or its parent: no file written there
    # a zarr store is a folder: "r.zarr/" and "r.zarr/." are the store itself,
    # "r.zarr/.." is not
    if end != "..":
        store = save_dataset(ds, f"{tmp_path / 'r.zarr'}{os.sep}{end}")
        assert store == tmp_path / "r.zarr"
        xr.testing.assert_equal(load_dataset(store)["a"], ds["a"])


def test_save_figure_to_an_existing_folder_offers_a_figure_name(tmp_path, monkeypatch):
    """save_figure(fig, ".") offered 'result.nc', a Dataset's name, for a figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from v1model.io import save_figure

    monkeypatch.chdir(tmp_path)
    fig = plt.figure()
    for folder, example in ((".", "figure.png"), (tmp_path, str(tmp_path / "figure.png"))):
        with pytest.raises(IsADirectoryError, match=rf"is an existing folder.*e\.g\. "
                                                    rf"{re.escape(repr(example))}"):
            save_figure(fig, folder)
    plt.close(fig)
    assert list(tmp_path.iterdir()) == []


def test_zarr_store_is_overwritten_and_suffix_case_ignored(tmp_path):
    path = tmp_path / "r.ZARR"
    save_dataset(xr.Dataset({"a": ("t", [1.0])}), path)
    save_dataset(xr.Dataset({"a": ("t", [5.0, 6.0])}), path)
    assert path.is_dir()  # a zarr store, not a netCDF file with a zarr name
    assert load_dataset(path)["a"].values.tolist() == [5.0, 6.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.ZARR"]


def test_save_figure_writes_the_format_of_its_suffix(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from v1model.io import save_figure

    for name, magic in (("f.png", b"\x89PNG"), ("f.pdf", b"%PDF"), ("f.svg", b"<?xml")):
        fig, ax = plt.subplots()
        ax.plot([0, 1])
        assert save_figure(fig, tmp_path / name).read_bytes().startswith(magic)
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="cannot write '.docx' files"):
        save_figure(fig, tmp_path / "f.docx")
    plt.close(fig)


def test_save_figure_gives_a_bare_name_the_png_suffix(tmp_path):
    """save_figure(fig, "x") wrote a PNG named "x", which a network saved as "x" beside it
    overwrote (and the other way round); a dot in a name ("lam_0.1") was refused as an
    unknown suffix with no way out offered."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from v1model.io import save_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    written = save_figure(fig, tmp_path / "atoms")
    assert written == tmp_path / "atoms.png"
    assert written.read_bytes().startswith(b"\x89PNG")
    # as net.save("atoms") does: netCDF under the bare name
    save_dataset(xr.Dataset({"a": ("t", [1.0])}), tmp_path / "atoms")
    assert written.read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atoms", "atoms.png"]
    for name, offered in (("lam_0.1", "lam_0.1.png"), ("atoms.nc", "atoms.png")):
        fig = plt.figure()
        with pytest.raises(ValueError, match=rf"cannot write '\.\w+' files .*e\.g\. "
                                             rf"{re.escape(repr(str(tmp_path / offered)))}"):
            save_figure(fig, tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atoms", "atoms.png"]


@pytest.mark.parametrize("cls", ["SparseDictionaryLearner", "SparseAutoencoder"])
@pytest.mark.parametrize("bad", ["bogus", 3])
def test_a_bad_transform_output_attr_is_named_with_the_file(tmp_path, cls, bad):
    """A file whose ``transform_output`` attr was edited failed on load with set_output's
    "transform must be one of ..., got '3'", which named neither the attr nor (from
    from_dataset) anything the caller gave, and showed the number 3 as text."""
    from v1model.learning import SparseDictionaryLearner
    from v1model.sae import SparseAutoencoder

    X = np.random.default_rng(0).standard_normal((200, 16)).astype(np.float32)
    if cls == "SparseDictionaryLearner":
        model = SparseDictionaryLearner(4, lam=0.3, n_updates=3, batch_size=50, seed=0)
    else:
        model = SparseAutoencoder(8, "topk", k=2, n_steps=5, batch_size=100, seed=0,
                                  progress=False)
    model.set_output(transform="pandas").fit(X)
    ds = model.to_dataset()
    ds.attrs["transform_output"] = bad
    path = save_dataset(ds, tmp_path / "model.nc")
    attr = re.escape(f"ds.attrs['transform_output'] holds {bad!r}, which is no set_output")
    with pytest.raises(ValueError, match=rf"^path: cannot load {re.escape(repr(str(path)))} "
                                         rf"as a {cls}: {attr}"):
        type(model).load(path)
    with pytest.raises(ValueError, match=rf"^{attr}"):
        type(model).from_dataset(ds)


def test_save_figure_closes_the_figure_when_the_save_fails(tmp_path, monkeypatch):
    """The figure was closed only after a save that succeeded: one that failed (a file
    where the folder should be) or was interrupted stayed open in pyplot, a leak of one
    figure per point in a long sweep."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from v1model.io import save_figure

    (tmp_path / "a_file").write_text("")
    before = plt.get_fignums()
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    with pytest.raises(NotADirectoryError, match="a_file"):
        save_figure(fig, tmp_path / "a_file" / "f.png")
    assert plt.get_fignums() == before

    fig, _ = plt.subplots()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fig, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_figure(fig, tmp_path / "g.png")
    assert plt.get_fignums() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]  # nothing half-written


def test_array_attrs_keep_every_element():
    import json

    from v1model.io import clean_attrs

    big = np.arange(2000.0).reshape(40, 50)
    out = clean_attrs({"big": big, "mask": np.array([True, False]), "v": np.arange(3.0)})
    np.testing.assert_array_equal(np.array(json.loads(out["big"])), big)
    np.testing.assert_array_equal(out["mask"], [1, 0])
    np.testing.assert_array_equal(out["v"], [0.0, 1.0, 2.0])


def test_bad_paths_figures_and_attrs_are_named(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from v1model.io import clean_attrs, save_figure

    ds = xr.Dataset({"a": ("x", [1.0, 2.0])})
    (tmp_path / "x.zarr").write_text("not a store")
    with pytest.raises(FileExistsError, match="path: .*x.zarr' is an existing file, not a zarr"):
        save_dataset(ds, tmp_path / "x.zarr")
    assert (tmp_path / "x.zarr").read_text() == "not a store"
    with pytest.raises(TypeError, match="path must be a file name .* got None"):
        save_dataset(ds, None)
    with pytest.raises(TypeError, match="path must be a file name"):
        load_dataset(None)
    fig = plt.figure()
    with pytest.raises(ValueError, match="dpi must be a positive finite number, got 0"):
        save_figure(fig, tmp_path / "f.png", dpi=0)
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure, got NoneType"):
        save_figure(None, tmp_path / "f.png")
    with pytest.raises(TypeError, match="attrs must be a dict, got list"):
        clean_attrs([1, 2])
    plt.close(fig)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.zarr"]  # nothing half-written


def test_clean_attrs_by_hand():
    """netCDF-safe attrs: None -> "None", bools -> int, bool arrays -> int arrays, numeric
    lists -> arrays, 2-D arrays -> JSON."""
    from v1model.io import clean_attrs

    out = clean_attrs({"a": None, "b": True, "m": np.array([True, False]), "l": [1, 2.5],
                       "g": np.arange(4).reshape(2, 2), "d": {"x": 1}})
    assert out["a"] == "None" and out["b"] == 1 and type(out["b"]) is int
    assert out["m"].dtype.kind == "i" and out["m"].tolist() == [1, 0]
    np.testing.assert_array_equal(out["l"], [1.0, 2.5])
    assert out["g"] == "[[0, 1], [2, 3]]" and out["d"] == '{"x": 1}'


def test_tilde_path_is_the_same_file_for_save_and_load(tmp_path, monkeypatch):
    # "~/r.nc" used to be written to ./~/r.nc and read from $HOME/r.nc (h5py expands ~)
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    save_dataset(xr.Dataset({"v": ("i", np.ones(2))}), home / "r.nc")  # an older result
    path = save_dataset(xr.Dataset({"v": ("i", np.zeros(2))}), "~/r.nc")
    assert path == home / "r.nc" and not (cwd / "~").exists()
    np.testing.assert_array_equal(load_dataset("~/r.nc")["v"].values, 0.0)


def test_data_array_is_saved_as_its_dataset(tmp_path):
    da = xr.DataArray(np.arange(3.0), dims="t", name="rate", attrs={"units": "Hz"})
    back = load_dataset(save_dataset(da, tmp_path / "r.nc"))
    xr.testing.assert_identical(back["rate"], da)


FULL_DISK_SCRIPT = """
import os, resource, signal, sys
import numpy as np, xarray as xr
from v1model.io import save_dataset

# a file-size limit fails the write as a full disk or a quota does (EFBIG for ENOSPC)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
ds = xr.Dataset({"a": (("i", "j"), np.random.default_rng(0).random((200, 200)))})  # 320 kB
for name in ("r.nc", "r.zarr"):
    path = os.path.join(sys.argv[1], name)
    try:
        save_dataset(ds, path)
    except OSError as exc:
        print(name, exc.errno, exc)
    else:
        print(name, "saved")
import gc
gc.collect()
print("exit")
"""


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="RLIMIT_FSIZE behaves as on Linux")
def test_write_that_runs_out_of_space_is_an_oserror_naming_the_file(tmp_path):
    """A write that fails in the middle (full disk, quota, file-size limit) is an
    OSError that names the file, leaves nothing behind, and the interpreter
    lives on: h5netcdf used to close the failed file again when it was
    garbage-collected, killing Python with a segmentation fault."""
    import errno
    import subprocess

    done = subprocess.run([sys.executable, "-c", FULL_DISK_SCRIPT, str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr[-2000:])
    lines = done.stdout.splitlines()
    assert lines[-1] == "exit"
    for name in ("r.nc", "r.zarr"):
        line = next(line for line in lines if line.startswith(name + " "))
        assert line == (f"{name} {errno.EFBIG} [Errno {errno.EFBIG}] cannot write "
                        f"{str(tmp_path / name)!r}: {os.strerror(errno.EFBIG)}"), line
    assert list(tmp_path.iterdir()) == []


def test_a_list_that_no_one_dtype_holds_exactly_is_kept_as_text(tmp_path):
    """[-1, 2**63] fits neither int64 nor uint64 and [1.5, 2**60] not float64: both were
    saved as float64, rounded. As text they come back exactly; plain lists stay arrays."""
    import json

    from v1model.io import clean_attrs, load_dataset, save_dataset

    attrs = clean_attrs({"wide": [-1, 2**63], "mixed": [1.5, 2**60], "plain": [3, -4],
                         "floats": [1, 2.5]})
    assert json.loads(attrs["wide"]) == [-1, 2**63]
    assert json.loads(attrs["mixed"]) == [1.5, 2**60]
    ds = xr.Dataset(attrs=attrs)
    back = load_dataset(save_dataset(ds, tmp_path / "a.nc"))
    assert back.attrs["plain"].tolist() == [3, -4]
    assert back.attrs["floats"].tolist() == [1.0, 2.5]
    assert json.loads(back.attrs["wide"]) == [-1, 2**63]


def test_flatten_nested_and_netcdf_engine_name_bad_arguments(tmp_path):
    from v1model.io import NETCDF_ENGINE, flatten_nested, netcdf_engine

    assert flatten_nested({"a": {"b": 1, "c": {}}, "d": 2}) == {"a.b": 1, "d": 2}
    with pytest.raises(TypeError, match="table must be a dict, got list"):
        flatten_nested([("a", 1)])
    with pytest.raises(TypeError, match="path must be a file name"):
        netcdf_engine(3)
    path = tmp_path / "a.nc"
    xr.Dataset({"v": ("x", [1.0])}).to_netcdf(path, engine="scipy")
    assert netcdf_engine(str(path)) == "scipy"
    xr.Dataset({"v": ("x", [1.0])}).to_netcdf(tmp_path / "b.nc", engine=NETCDF_ENGINE)
    assert netcdf_engine(tmp_path / "b.nc") == NETCDF_ENGINE


SMALL_FILE_FULL_DISK_SCRIPT = """
import os, resource, signal, sys
import numpy as np, xarray as xr
from v1model.io import save_dataset

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
# a sweep's point file: a few kB, so the space runs out while HDF5 writes its metadata
ds = xr.Dataset({"y": ((), 1.0), "v": (("k",), np.arange(3.0), {"units": "m"})},
                coords={"k": np.arange(3)}, attrs={"note": "hi"})
try:
    save_dataset(ds, os.path.join(sys.argv[1], "p.nc"))
except OSError as exc:
    print("OSError", exc.errno)
print("exit")
"""


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="RLIMIT_FSIZE behaves as on Linux")
@pytest.mark.skipif(not _writes_netcdf_to_memory(),
                    reason="xarray < 2025.8 writes netCDF files only through HDF5")
@pytest.mark.parametrize("limit", [512, 2048, 4096, 6000])
def test_a_small_file_that_meets_a_full_disk_does_not_crash_python(tmp_path, limit):
    """The space running out while HDF5 wrote a small file's metadata (a sweep's point
    files) killed Python with a segmentation fault, in the write or at exit."""
    import errno
    import subprocess

    done = subprocess.run([sys.executable, "-c", SMALL_FILE_FULL_DISK_SCRIPT, str(tmp_path),
                           str(limit)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr[-2000:])
    assert done.stdout.splitlines() == [f"OSError {errno.EFBIG}", "exit"]
    assert list(tmp_path.iterdir()) == []


def test_a_large_netcdf_file_the_disk_has_no_room_for_is_refused_before_hdf5_writes(
        tmp_path, monkeypatch):
    """Files over the in-memory size are written by HDF5, which can crash Python when
    the disk fills up under it: the free space is checked first."""
    import errno
    import shutil

    import v1model.io as vio

    ds = xr.Dataset({"x": (("n",), np.zeros(300_000))})  # 2.4 MB
    monkeypatch.setattr(vio, "IN_MEMORY_NETCDF_BYTES", 1000)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(vio.shutil, "disk_usage",
                        lambda p: usage._replace(free=2 * 2**20))
    target = tmp_path / "new" / "big.nc"
    with pytest.raises(OSError, match=r"big\.nc.*needs about 3 MiB.*has 2 MiB free") as info:
        save_dataset(ds, target)
    assert info.value.errno == errno.ENOSPC
    assert not target.parent.exists() or list(target.parent.iterdir()) == []
    # with room, the same file is written through HDF5 and reads back
    monkeypatch.setattr(vio.shutil, "disk_usage", lambda p: usage._replace(free=4 * 2**20))
    save_dataset(ds, target)
    assert load_dataset(target)["x"].shape == (300_000,)


def test_one_element_list_attrs_reload_as_lists(tmp_path):
    """netCDF reads a one-element attribute as a scalar: a study run with depths=[2]
    reloaded depths=2, and len(ds.attrs["depths"]) failed."""
    ds = xr.Dataset({"x": (("n",), np.arange(3.0))},
                    attrs={"depths": [2], "lams": (0.1, 0.2), "one": np.array([0.5]),
                           "scalar": 3})
    for suffix in ("nc", "zarr"):
        back = load_dataset(save_dataset(ds, tmp_path / f"r.{suffix}"))
        assert list(back.attrs["depths"]) == [2] and list(back.attrs["one"]) == [0.5]
        assert list(back.attrs["lams"]) == [0.1, 0.2] and np.ndim(back.attrs["scalar"]) == 0
        assert "v1model_one_element_attrs" not in back.attrs
        # saved again, the same
        again = load_dataset(save_dataset(back, tmp_path / f"again.{suffix}"))
        assert list(again.attrs["depths"]) == [2] and np.ndim(again.attrs["scalar"]) == 0


def test_numpy_strings_and_numbers_in_attrs_reload_as_given(tmp_path):
    """A NumPy string attr (a spec read from an array) failed the save with h5netcdf's
    "No conversion path for dtype"; NumPy numbers inside a dict or a list went to JSON
    as strings ({"n": np.int64(64)} read back {"n": "64"})."""
    import json

    from v1model import SparseCodingNetwork

    params = {"n_atoms": np.int64(64), "lam": np.float32(0.5), "positive": np.bool_(True),
              "grid": [np.int64(1), "a"]}
    ds = xr.Dataset({"x": ("n", np.arange(3.0), {"unit_name": np.str_("pixel")})},
                    attrs={"threshold": np.array(["soft", "hard"])[0], "params": params,
                           "timeout": np.timedelta64(5, "s")})
    for suffix in ("nc", "zarr"):
        back = load_dataset(save_dataset(ds, tmp_path / f"r.{suffix}"))
        assert back.attrs["threshold"] == "soft" and back["x"].attrs["unit_name"] == "pixel"
        assert back.attrs["timeout"] == "5 seconds"
        assert json.loads(back.attrs["params"]) == {"n_atoms": 64, "lam": 0.5,
                                                     "positive": True, "grid": [1, "a"]}
    D = np.eye(4)
    net = SparseCodingNetwork(D, threshold=np.array(["nonneg"])[0])
    assert SparseCodingNetwork.load(net.save(tmp_path / "net.nc")).threshold == "nonneg"


def test_zero_dimensional_array_attrs_reload_as_their_value(tmp_path):
    """A 0-d array attr (``ds["x"].mean().values``) was saved as JSON text: the mean
    3.0 read back as the str "3.0", a string as '"soft"' with its quotes; plain
    ``to_netcdf`` keeps the number."""
    ds = xr.Dataset({"x": ("t", [1.0, 2.0, 3.0, 6.0], {"peak": np.array(6.0)})})
    ds.attrs.update(mean=ds["x"].mean().values, n=np.array(4), flag=np.array(True),
                    threshold=np.array("soft"), gain=np.array(1 + 2j))
    for suffix in ("nc", "zarr"):
        back = load_dataset(save_dataset(ds, tmp_path / f"r.{suffix}"))
        assert back.attrs["mean"] == 3.0 and isinstance(back.attrs["mean"], np.floating)
        assert back.attrs["n"] == 4 and isinstance(back.attrs["n"], np.integer)
        assert back.attrs["flag"] == 1 and back.attrs["threshold"] == "soft"
        assert complex(back.attrs["gain"]) == 1 + 2j
        assert back["x"].attrs["peak"] == 6.0


def test_dates_and_other_objects_in_attrs_reload_as_their_text_without_quotes(tmp_path):
    """A datetime, np.datetime64 or dtype attr went through json.dumps of its str and
    read back with quotes in it ('"2026-12-06 03:00:00"'), as complex numbers did."""
    import datetime

    ds = xr.Dataset(attrs={"created": datetime.datetime(2026, 12, 6, 3, 0),
                           "day": datetime.date(2026, 12, 6),
                           "stamp": np.datetime64("2026-12-06T03:00"),
                           "dtype": np.dtype("float32"),
                           "run": {"day": datetime.date(2026, 12, 6)}})
    for suffix in ("nc", "zarr"):
        back = load_dataset(save_dataset(ds, tmp_path / f"r.{suffix}"))
        assert back.attrs["created"] == "2026-12-06 03:00:00"
        assert datetime.datetime.fromisoformat(back.attrs["created"]) == ds.attrs["created"]
        assert back.attrs["day"] == "2026-12-06"
        assert np.datetime64(back.attrs["stamp"]) == ds.attrs["stamp"]
        assert np.dtype(back.attrs["dtype"]) == np.float32
        assert back.attrs["run"] == '{"day": "2026-12-06"}'  # a dict stays JSON


def test_one_element_list_attrs_of_variables_reload_as_lists(tmp_path):
    """The one-element lists of a variable's attrs read back as scalars, as the
    Dataset's own did."""
    ds = xr.Dataset({"x": ("n", np.arange(3.0), {"sizes": [8], "scalar": 2})},
                    coords={"n": ("n", np.arange(3), {"edges": [0.5]})})
    for suffix in ("nc", "zarr"):
        back = load_dataset(save_dataset(ds, tmp_path / f"r.{suffix}"))
        assert list(back["x"].attrs["sizes"]) == [8] and np.ndim(back["x"].attrs["scalar"]) == 0
        assert list(back["n"].attrs["edges"]) == [0.5]
        assert "v1model_one_element_attrs" not in back["x"].attrs


def test_attrs_reload_with_the_same_types_from_netcdf_and_zarr(tmp_path):
    """Zarr gave Python lists and numbers back where netCDF gave arrays and NumPy
    scalars; a long double failed the zarr save ("Invalid attribute in Dataset.attrs")
    and went to netCDF as an HDF5 long double."""
    ds = xr.Dataset({"x": ("n", np.arange(3.0), {"sizes": [8, 16], "scale": 0.5})},
                    attrs={"shape": [2, 3], "lams": np.array([0.1, 0.2]), "lam": 0.1,
                           "n": 7, "ld": np.longdouble(1.5),
                           "lds": np.array([0.25, 2.0], dtype=np.longdouble),
                           "huge": np.longdouble("1e400"),
                           "z": 1 + 2j, "zs": np.complex64(-0.5j)})
    loads = {suffix: load_dataset(save_dataset(ds, tmp_path / f"r.{suffix}"))
             for suffix in ("nc", "zarr")}
    for back in loads.values():
        assert isinstance(back.attrs["shape"], np.ndarray)
        assert back.attrs["shape"].dtype == np.int64 and back.attrs["shape"].tolist() == [2, 3]
        assert isinstance(back.attrs["lams"], np.ndarray)
        np.testing.assert_array_equal(back.attrs["lams"], [0.1, 0.2])
        assert type(back.attrs["lam"]) is np.float64 and back.attrs["lam"] == 0.1
        assert type(back.attrs["n"]) is np.int64 and back.attrs["n"] == 7
        # long doubles as float64, the widest both formats hold
        assert type(back.attrs["ld"]) is np.float64 and back.attrs["ld"] == 1.5
        assert back.attrs["lds"].dtype == np.float64 and back.attrs["lds"].tolist() == [0.25, 2]
        # complex numbers as the text complex() reads back
        assert complex(back.attrs["z"]) == 1 + 2j and complex(back.attrs["zs"]) == -0.5j
        assert isinstance(back["x"].attrs["sizes"], np.ndarray)
        assert back["x"].attrs["sizes"].tolist() == [8, 16]
        assert type(back["x"].attrs["scale"]) is np.float64
        if np.finfo(np.longdouble).maxexp > 1024:  # beyond float64: its digits, not inf
            assert back.attrs["huge"] == "1e+400"
    nc, zarr = loads["nc"].attrs, loads["zarr"].attrs
    assert nc.keys() == zarr.keys()
    for key in nc:
        assert type(nc[key]) is type(zarr[key]), key


@pytest.mark.parametrize("text, what", [("a\x00b", "a NUL character"),
                                        ("half \ud800 pair", "a lone surrogate")])
@pytest.mark.parametrize("suffix", ["nc", "zarr"])
def test_strings_netcdf_cannot_store_are_refused_by_attr_name(tmp_path, text, what, suffix):
    """h5py's own message ("VLEN strings do not support embedded NULLs", or a
    UnicodeEncodeError) named no attr; zarr stored them, so that the result could not be
    saved as netCDF later."""
    ds = xr.Dataset({"v": ("n", [1.0], {"note": text})}, attrs={"ok": "fine"})
    with pytest.raises(ValueError, match=rf"ds\['v'\]\.attrs\['note'\] holds {what}"):
        save_dataset(ds, tmp_path / f"r.{suffix}")
    with pytest.raises(ValueError, match=rf"ds\.attrs\['title'\] holds {what}"):
        save_dataset(xr.Dataset(attrs={"title": np.str_(text)}), tmp_path / f"r.{suffix}")
    assert list(tmp_path.iterdir()) == []  # refused before anything is written
    # inside a dict or list they are JSON-escaped, and read back as given
    import json

    back = load_dataset(save_dataset(xr.Dataset(attrs={"d": {"t": text}}),
                                     tmp_path / f"ok.{suffix}"))
    assert json.loads(back.attrs["d"]) == {"t": text}


def test_an_attr_name_holding_a_nul_is_refused_not_cut(tmp_path):
    """HDF5 cut an attr's name at a NUL: {"a": 1, "a\\x00b": 2} was saved as a = 2, the
    first value lost without a word."""
    with pytest.raises(ValueError, match=r"ds\.attrs has a key 'a\\x00b' holding a NUL "
                                         r"character.*saved as 'a'"):
        save_dataset(xr.Dataset(attrs={"a": 1, "a\x00b": 2}), tmp_path / "r.nc")
    with pytest.raises(ValueError, match=r"ds\['v'\]\.attrs has a key"):
        save_dataset(xr.Dataset({"v": ("n", [1.0], {"u\x00": "s"})}), tmp_path / "r.nc")
    assert list(tmp_path.iterdir()) == []


def test_a_file_in_the_way_of_the_folder_is_named(tmp_path):
    # it was mkdir's "File exists: 'afile'"
    (tmp_path / "afile").write_text("data")
    ds = xr.Dataset({"a": ("t", [1.0])})
    for name in ("afile/r.nc", "afile/sub/r.zarr"):
        with pytest.raises(NotADirectoryError, match=rf"path: cannot write '.*{name}': "
                                                     r"'.*afile' is a file, not a folder"):
            save_dataset(ds, tmp_path / name)
    assert (tmp_path / "afile").read_text() == "data"


def test_an_unwritable_folder_is_named_not_the_temporary_file(tmp_path, monkeypatch):
    """The error named the temporary '.r.nc.XXXX.tmp.nc', which the caller never gave."""
    import errno
    import tempfile

    def refuse(*args, dir=None, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/.r.nc.x1y2.tmp.nc")

    ds = xr.Dataset({"a": ("t", [1.0])})
    with monkeypatch.context() as m:  # as a non-root user without write permission
        m.setattr(tempfile, "mkstemp", refuse)
        with pytest.raises(PermissionError, match=r"path: cannot write '.*r.nc': cannot create "
                                                  r"a file in its folder .*Permission denied") as e:
            save_dataset(ds, tmp_path / "r.nc")
        assert ".tmp" not in str(e.value)


@pytest.mark.parametrize("name", ["r.nc", "r.zarr", "sub/r.nc"])
def test_a_read_only_folder_is_named(tmp_path, name):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        try:  # root (with CAP_DAC_OVERRIDE) writes into it all the same
            (folder / "probe").touch()
        except PermissionError:
            pass
        else:
            pytest.skip("the mode does not bind for this user (root)")
        with pytest.raises(PermissionError, match=rf"path: cannot write '.*ro/{name}': cannot "
                                                  r"create .*Permission denied") as e:
            save_dataset(xr.Dataset({"a": ("t", [1.0])}), folder / name)
        assert ".tmp" not in str(e.value)
    finally:
        folder.chmod(0o700)


def test_a_file_name_that_is_not_utf8_in_attrs_saves(tmp_path):
    """A study records its image folder in its attrs; a folder named in Latin-1
    (``café`` as the byte 0xe9: Python gives it as the lone surrogate '\\udce9')
    failed the save with "surrogates not allowed" after the whole run."""
    folder = os.fsdecode(b"/data/caf\xe9 images")
    ds = xr.Dataset({"x": ("n", np.arange(3.0), {"source": folder})},
                    attrs={"images": folder, "audio_dir": Path(folder),
                           "plain": "é ü"})
    for suffix in ("nc", "zarr"):
        back = load_dataset(save_dataset(ds, tmp_path / f"r.{suffix}"))
        # the undecodable byte as an escape; valid UTF-8 as it was
        assert back.attrs["images"] == "/data/caf\\xe9 images"
        assert back.attrs["audio_dir"] == "/data/caf\\xe9 images"
        assert back["x"].attrs["source"] == "/data/caf\\xe9 images"
        assert back.attrs["plain"] == "é ü"
        np.testing.assert_array_equal(back["x"].values, [0.0, 1.0, 2.0])


@pytest.mark.parametrize("suffix", ["nc", "zarr"])
def test_a_long_legal_file_name_saves(tmp_path, suffix):
    """The temporary name (``.NAME.XXXXXXXX.tmp.SUFFIX``) is ~15 bytes longer than the
    target: a legal name of 241-255 bytes failed with "File name too long"."""
    if os.pathconf(tmp_path, "PC_NAME_MAX") < 255:
        pytest.skip("this file system's names are shorter than 255 bytes")
    name = "é" * 60 + "r" * (255 - 120 - len(suffix) - 1) + f".{suffix}"  # 255 bytes
    assert len(name.encode()) == 255
    ds = xr.Dataset({"a": ("t", [1.0, 2.0])}, attrs={"n": 3})
    out = save_dataset(ds, tmp_path / name)
    back = load_dataset(out)
    np.testing.assert_array_equal(back["a"].values, [1.0, 2.0])
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary left


def test_values_by_dims_names_a_missing_variable_and_lists_the_present_ones():
    """xarray's bare KeyError named neither what a file edited by hand lacks nor what it
    holds; the loaders catch ValueError."""
    from v1model.io import values_by_dims

    ds = xr.Dataset({"a": (("atom",), np.ones(3)), "b": (("atom", "feature"), np.ones((3, 2)))})
    with pytest.raises(ValueError, match=r"^ds has no variable 'nope' \(expected dims "
                                         r"\('atom',\)\); it has \['a', 'b'\]$"):
        values_by_dims(ds, "nope", ("atom",))
    np.testing.assert_array_equal(values_by_dims(ds, "b", ("feature", "atom")), np.ones((2, 3)))


def _history(update, n_updates, record_every, value=0.0):
    return xr.Dataset({"objective": ("update", np.full(len(update), value))},
                      coords={"update": np.asarray(update)},
                      attrs={"n_updates": n_updates, "init": "data",
                             "record_every": record_every})


def test_continue_history_keeps_labels_that_count_the_whole_run():
    """SAILnet's labels are the updates made when recorded, over all the calls, and a
    call's last update need not be among them: 5 updates recorded at 2, 4, then 4 at
    6, 9 were shifted past the last label as a call's own labels from 0 (to 11, 14).
    labels="run" keeps them and counts the updates from n_updates."""
    from v1model.io import continue_history

    first = _history([2, 4], 5, 2, 1.0)
    second = _history([6, 9], 4, 3, 2.0)
    out = continue_history(first, second, labels="run")
    np.testing.assert_array_equal(out["update"], [2, 4, 6, 9])
    np.testing.assert_array_equal(out["objective"], [1.0, 1.0, 2.0, 2.0])
    assert out.attrs["n_updates"] == 9 and out.attrs["updates_per_call"] == [5, 4]
    # the spacing changes midway: record_every is this call's, the list says so
    assert out.attrs["record_every"] == 3 and out.attrs["record_every_per_call"] == [2, 3]
    third = continue_history(out, _history([10], 1, 1), labels="run")
    assert third.attrs["record_every_per_call"] == [2, 3, 1]
    assert third.attrs["updates_per_call"] == [5, 4, 1] and third.attrs["n_updates"] == 10
    with pytest.raises(ValueError, match=r"history's update labels \(from 4\) do not "
                                         r"continue previous's \(to 4\)"):
        continue_history(first, _history([4], 1, 1), labels="run")
    with pytest.raises(ValueError, match="labels must be 'call' or 'run', got 'runs'"):
        continue_history(first, second, labels="runs")
    bare = first.copy()
    bare.attrs = {}
    with pytest.raises(ValueError, match=r"previous has no n_updates in its attrs"):
        continue_history(bare, second, labels="run")  # was a bare KeyError


def test_continue_history_shifts_a_calls_labels_and_records_every_spacing():
    # labels="call" (the dictionary learners: from 0, the last update recorded): 5
    # updates recorded at 0, 2, 4, then 4 recorded at 0, 3 carry on as 5, 8
    from v1model.io import continue_history

    out = continue_history(_history([0, 2, 4], 5, 2), _history([0, 3], 4, 3))
    np.testing.assert_array_equal(out["update"], [0, 2, 4, 5, 8])
    assert out.attrs["n_updates"] == 9 and out.attrs["record_every_per_call"] == [2, 3]
    # a history continued before the list was kept: the earlier calls' are unknown
    old = out.copy()
    del old.attrs["record_every_per_call"]
    assert "record_every_per_call" not in continue_history(old, _history([0], 1, 1)).attrs


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_continued_bool_setting_lists_the_same_values_after_a_round_trip(tmp_path, suffix):
    """A bool setting's <name>_per_call, [True, False], came back from a file as [1, 0]
    and the next call appended False: [1, 0, False] (saved next as the JSON text
    '[1, 0, false]'). Kept as 0/1 from the start, it reads back as it was written."""
    from v1model.io import continue_history

    def call(flag):
        history = _history([0, 1], 2, 1)
        history.attrs["positive"] = flag
        return history

    two = continue_history(call(True), call(False))
    assert two.attrs["positive_per_call"] == [1, 0]
    back = load_dataset(save_dataset(two, tmp_path / f"two{suffix}"))
    assert list(np.asarray(back.attrs["positive_per_call"]).tolist()) == [1, 0]
    three = continue_history(back, call(False))
    assert three.attrs["positive_per_call"] == [1, 0, 0]
    assert all(type(v) is int for v in three.attrs["positive_per_call"])
    again = load_dataset(save_dataset(three, tmp_path / f"three{suffix}"))
    np.testing.assert_array_equal(again.attrs["positive_per_call"], [1, 0, 0])
    assert continue_history(again, call(True)).attrs["positive_per_call"] == [1, 0, 0, 1]


def test_every_save_refuses_another_formats_suffix_with_one_message(tmp_path):
    """SparseAutoencoder.save("x.npy") (and every other save) wrote a netCDF file under a
    NumPy name without a word; np.load then failed on it. One rule, in save_dataset:
    another format's suffix is refused before anything is written; .nc, .zarr, no
    suffix and HDF5's .h5 are written."""
    from v1model import SparseCodingNetwork
    from v1model.io import load_dataset, save_dataset
    from v1model.sae import SparseAutoencoder

    rng = np.random.default_rng(0)
    D = rng.standard_normal((8, 4))
    net = SparseCodingNetwork(D / np.linalg.norm(D, axis=1, keepdims=True))
    sae = SparseAutoencoder(8, k=2, n_steps=2, batch_size=16, progress=False,
                            seed=0).fit(rng.standard_normal((50, 4)))
    ds = xr.Dataset({"a": ("x", [1.0, 2.0])})
    savers = {"net": net.save, "sae": sae.save, "ds": lambda p: save_dataset(ds, p)}
    for name, save in savers.items():
        for suffix, kind in ((".npy", "NumPy"), (".PKL", "pickle"), (".json", "JSON")):
            path = tmp_path / f"{name}{suffix}"
            with pytest.raises(ValueError, match=re.escape(
                    f"path: {str(path)!r} ends in {suffix!r}, the suffix of {kind} files, but "
                    f"this writes netCDF: name it {str(tmp_path / (name + '.nc'))!r} (or "
                    ".zarr for a zarr store)")):
                save(path)
        for ok in (f"{name}.nc", f"{name}.h5", name):
            assert load_dataset(save(tmp_path / ok)).sizes
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}{s}" for n in savers for s in (".nc", ".h5", ""))


def test_saves_refuse_a_pictures_suffix_and_point_to_save_figure(tmp_path):
    """A study's figures are NAME_*.png beside NAME.nc; net.save("atoms.png") and
    save_dataset(ds, "fit.pdf") wrote netCDF under a picture's name, which no viewer
    opens. Refused before anything is written, the message naming save_figure."""
    from v1model import SparseCodingNetwork

    rng = np.random.default_rng(0)
    D = rng.standard_normal((8, 4))
    net = SparseCodingNetwork(D / np.linalg.norm(D, axis=1, keepdims=True))
    ds = xr.Dataset({"a": ("x", [1.0, 2.0])})
    for save, name in ((net.save, "atoms.png"), (lambda p: save_dataset(ds, p), "fit.PDF"),
                       (lambda p: save_dataset(ds, p), "r.svg")):
        path = tmp_path / name
        with pytest.raises(ValueError, match=re.escape(
                f"the suffix of image files, but this writes netCDF: name it "
                f"{str(path.with_suffix('.nc'))!r} (or .zarr for a zarr store); a figure "
                "is saved by v1model.io.save_figure")):
            save(path)
    assert list(tmp_path.iterdir()) == []


def test_save_dataset_refuses_a_multi_index_as_a_value_error_before_writing(tmp_path):
    # a stacked dim: xarray's NotImplementedError was reported as an OSError,
    # "cannot write PATH", as if the disk had failed
    ds = xr.Dataset({"v": (("a", "b"), np.ones((2, 2)))},
                    coords={"a": [0, 1], "b": ["x", "y"]}).stack(ab=("a", "b"))
    path = tmp_path / "r.nc"
    save_dataset(xr.Dataset({"old": ("x", [1.0])}), path)
    for target in (path, tmp_path / "r.zarr"):
        with pytest.raises(ValueError, match=r"ds: dim 'ab' has a MultiIndex \(levels "
                                             r"\['a', 'b'\]\).*ds.reset_index\('ab'\)"):
            save_dataset(ds, target)
    assert list(load_dataset(path).data_vars) == ["old"]  # the file before is kept
    assert not (tmp_path / "r.zarr").exists()
    back = load_dataset(save_dataset(ds.reset_index("ab"), tmp_path / "flat.nc"))
    np.testing.assert_array_equal(back["v"].values, ds["v"].values)


def test_load_dataset_reads_netcdf3_text_as_netcdf4_text(tmp_path):
    # SciPy's engine (netCDF-3, as other tools write) gave object arrays where the
    # package's own files and zarr stores give fixed-width unicode
    ds = xr.Dataset({"flag": ("unit", ["ok", "not saturating"]), "v": ("unit", [1.0, 2.0])},
                    coords={"unit": ["a", "bb"], "name": ("unit", ["x", "yyy"])})
    ds.to_netcdf(tmp_path / "classic.nc", engine="scipy")
    classic = load_dataset(tmp_path / "classic.nc")
    own = load_dataset(save_dataset(ds, tmp_path / "own.nc"))
    for name in ("flag", "unit", "name"):
        assert classic[name].dtype == own[name].dtype == ds[name].dtype
        assert classic[name].values.tolist() == ds[name].values.tolist()
    assert classic.indexes["unit"].tolist() == ["a", "bb"]


def _hdf5_half_floats(path) -> list:
    """Names of the HDF5 datasets and attributes of ``path`` stored as half floats."""
    import h5py

    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype == np.float16:
            found.append(name)
        found.extend(f"{name}@{key}" for key, value in obj.attrs.items()
                     if getattr(value, "dtype", None) == np.float16)

    with h5py.File(path, "r") as f:
        visit("/", f)
        f.visititems(visit)
    return found


def test_float16_is_saved_as_float32_and_reloads_as_float16(tmp_path):
    # netCDF has no float16: h5netcdf wrote HDF5 half floats, which made
    # xr.open_dataset(path, engine="netcdf4") crash the interpreter (netCDF-C)
    values = np.array([1.0, 0.1, -65504.0, 6e-8, np.nan, np.inf], dtype=np.float16)
    ds = xr.Dataset({"k": ("n", values, {"units": "1", "scale": np.float16(0.5)})},
                    coords={"n": np.arange(6), "w": ("n", values[::-1].copy())},
                    attrs={"gain": np.float16(2.5), "gains": np.array([1, 3], np.float16)})
    raw = tmp_path / "raw.nc"
    ds.to_netcdf(raw, engine="h5netcdf")  # what save_dataset wrote before
    assert set(_hdf5_half_floats(raw)) >= {"k", "w", "/@gain", "/@gains", "k@scale"}
    reread = load_dataset(raw)  # its float16 encoding would be written again
    for source in (ds, reread):
        path = save_dataset(source, tmp_path / "saved.nc")
        assert _hdf5_half_floats(path) == []
        back = load_dataset(path)
        for name in ("k", "w"):
            assert back[name].dtype == np.float16
            # exact: float16 -> float32 -> float16 keeps every bit
            np.testing.assert_array_equal(back[name].values.view(np.uint16),
                                          values.view(np.uint16)[::1 if name == "k" else -1])
        assert back["k"].attrs == {"units": "1", "scale": 0.5}
        assert back.attrs["gain"] == 2.5 and back.attrs["gains"].tolist() == [1.0, 3.0]
    with xr.open_dataset(path, engine="h5netcdf") as plain:  # as other readers see it
        assert plain["k"].dtype == np.float32
        assert plain["k"].attrs["v1model_saved_from_dtype"] == "float16"
    zarr_back = load_dataset(save_dataset(ds, tmp_path / "saved.zarr"))
    assert zarr_back["k"].dtype == np.float16
    np.testing.assert_array_equal(zarr_back["k"].values, values)


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize <= 8,
                    reason="long double is float64 here")
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
@pytest.mark.parametrize("where", ["data", "coord", "complex"])
def test_save_dataset_refuses_a_long_double_variable(tmp_path, where, suffix):
    # h5netcdf wrote HDF5's 128-bit floats, which netCDF4-python (netCDF-C) died on
    # with a segmentation fault on opening; complex256 and zarr failed with messages
    # that named no variable
    values = np.array([0.1, 1 / 3], dtype=np.longdouble)
    if where == "complex":
        values = values.astype(np.clongdouble)
    ds = xr.Dataset({"v": ("i", values)} if where != "coord" else {},
                    coords={"i": [0, 1]} if where != "coord" else {"i": values})
    name = "i" if where == "coord" else "v"
    wide = "complex128" if where == "complex" else "float64"
    path = tmp_path / f"long{suffix}"
    with pytest.raises(ValueError, match=re.escape(
            f"ds: variable {name!r} is {values.dtype} (a long double), which netCDF and zarr "
            f"have no type for (netCDF-C readers crash on HDF5's 128-bit floats): convert "
            f"it first: ds[{name!r}] = ds[{name!r}].astype({wide!r})")):
        save_dataset(ds, path)
    assert not path.exists()
    # as the message says: as float64 every HDF5 float of the file is one netCDF has
    ds[name] = ds[name].astype(wide)
    back = load_dataset(save_dataset(ds, path))
    np.testing.assert_array_equal(back[name].values, values.astype(wide))
    if suffix == ".nc":
        import h5py

        with h5py.File(path, "r") as f:
            assert f[name].dtype == np.dtype(wide)


@pytest.mark.parametrize("wanted", ["float16", np.float16, np.dtype("<f2")])
def test_save_dataset_refuses_a_float16_encoding_of_a_wider_variable(tmp_path, wanted):
    # float16 data is saved as float32, but a float32 variable asking for float16 in its
    # encoding was written as HDF5 half floats: rounded (1/3 -> 0.33325) and read back
    # float16, unsaid, and netCDF-C readers crash on them
    values = np.array([0.1, 1 / 3, 1234.5678], dtype=np.float32)
    ds = xr.Dataset({"x": ("i", values), "y": ("i", values.astype(np.float16))})
    ds["x"].encoding["dtype"] = wanted
    ds["y"].encoding["dtype"] = wanted  # float16 data: saved as float32, read back float16
    path = tmp_path / "half.nc"
    with pytest.raises(ValueError, match=re.escape(
            f"ds: variable 'x' (float32) has encoding['dtype']={wanted!r}, a float16 that "
            f"netCDF has no type for (HDF5's half floats would round its values, and netCDF-C "
            f"readers crash on them): drop it (del ds['x'].encoding['dtype']) to save the "
            f"values as they are, or make the variable float16")):
        save_dataset(ds, path)
    assert not path.exists()
    # as the message says: without the encoding the values round-trip exactly, float16
    # data as float16 (stored as float32, which every netCDF reader reads)
    del ds["x"].encoding["dtype"]
    back = load_dataset(save_dataset(ds, path))
    assert back["x"].dtype == np.float32 and back["y"].dtype == np.float16
    np.testing.assert_array_equal(back["x"].values, values)
    np.testing.assert_array_equal(back["y"].values, values.astype(np.float16))
    assert _hdf5_half_floats(path) == []
    half = ds.assign(x=ds["x"].astype(np.float16))
    half["x"].encoding["dtype"] = wanted
    back = load_dataset(save_dataset(half, path))
    np.testing.assert_array_equal(back["x"].values, values.astype(np.float16))
    assert back["x"].dtype == np.float16 and _hdf5_half_floats(path) == []


def test_continue_calls_lists_each_calls_steps_and_differing_settings(tmp_path):
    """The record of a model trained in calls (LISTA, SparseAutoencoder partial_fit):
    the steps of each call and, once they differ, each call's seed, through a file."""
    from v1model.io import continue_calls, load_dataset, save_dataset

    one = {"seed": 0, "n_steps": 20}
    assert continue_calls(one, {"seed": 0}, 15) == {"steps_per_call": [20, 15]}
    two = dict(one, **continue_calls(one, {"seed": 1}, 15))
    assert two["seed_per_call"] == [0, 1] and two["seed"] == 0
    # a file gives the lists back as an array and JSON text: the next call goes on from them
    ds = save_dataset(xr.Dataset(attrs=dict(two, **continue_calls(two, {"seed": "None"}, 5))),
                      tmp_path / "calls.nc")
    back = load_dataset(ds).attrs
    assert back["seed_per_call"] == '[0, 1, "None"]'
    assert list(back["steps_per_call"]) == [20, 15, 5]
    assert continue_calls(back, {"seed": 7}, 3) == {
        "steps_per_call": [20, 15, 5, 3], "seed_per_call": [0, 1, "None", 7]}


def test_continued_history_saves_with_xarrays_own_to_netcdf(tmp_path):
    """A setting only the first call had (a study's name) was listed as
    ['zylberberg-2011-sailnet', None], and one mixing a number with the None of a call
    without it as [1e-4, None]: xarray's own to_netcdf failed ("Object dtype dtype('O')
    has no native HDF5 equivalent"), only save_dataset cleaned them. The lists hold
    "None" (text lists as they are, mixed ones as JSON text); a next call continued from
    either file reads them back alike."""
    from v1model.io import continue_history, load_dataset, save_dataset

    first = _history([0, 1], 2, 1).assign_attrs(study="zylberberg-2011-sailnet", tol=1e-4)
    both = continue_history(first, _history([0, 1], 2, 1))
    assert both.attrs["study_per_call"] == ["zylberberg-2011-sailnet", "None"]
    assert both.attrs["tol_per_call"] == '[0.0001, "None"]'
    both.to_netcdf(tmp_path / "plain.nc")
    plain = xr.open_dataset(tmp_path / "plain.nc")
    saved = load_dataset(save_dataset(both, tmp_path / "saved.nc"))
    for back in (plain, saved):
        third = continue_history(back, _history([0], 1, 1).assign_attrs(tol=1e-4))
        assert json.loads(third.attrs["tol_per_call"]) == [1e-4, "None", 1e-4]
        assert third.attrs["study_per_call"] == ["zylberberg-2011-sailnet", "None", "None"]
        assert third.attrs["changed_between_calls"] == "tol, study"
    plain.close()
