"""Saving and loading results: atomic netCDF / zarr writes and figure saving.

Nothing writes half a file: every writer writes to a temporary name in the
destination folder and renames it into place, so that a crash leaves either
the old file or the new one, never a truncated one.
"""

from __future__ import annotations

import errno
import functools
import io
import json
import os
import re
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import xarray as xr

from ._cf_encoding import check_no_encoding_attrs
from .validation import check_path, check_positive

__all__ = ["atomic_path", "save_dataset", "load_dataset", "save_figure", "clean_attrs",
           "continue_calls", "count_coord", "flatten_nested", "missing_zarr_chunks",
           "netcdf_engine", "saved_format_version", "seed_attr", "seed_from_attr", "values_by_dims",
           "SavedAsDataset", "FORMAT_VERSION"]

NETCDF_ENGINE = "h5netcdf"


def storage_fault(code) -> str:
    """The kind of a file system's refusal to write, from an OSError's ``errno``.

    One grouping for every message that says what to do about it (a sweep's point
    or result, a study's result): "make room" is no help for a read-only folder.

    Parameters
    ----------
    code : int or None
        ``OSError.errno``.

    Returns
    -------
    str
        "space" (ENOSPC, EDQUOT), "size" (EFBIG: a limit on a file's size),
        "read-only" (EROFS), "permission" (EACCES, EPERM) or "other".
    """
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "space"
    if code == errno.EFBIG:
        return "size"
    if code == errno.EROFS:
        return "read-only"
    if code in (errno.EACCES, errno.EPERM):
        return "permission"
    return "other"


@contextmanager
def atomic_path(path, suffix: str | None = None, example: str = "result.nc"):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On an exception the temporary file (or folder) is removed and ``path`` is
    left untouched. An existing folder at ``path`` is replaced only if it is a
    zarr store; any other folder is refused before anything is written.

    Parameters
    ----------
    path : str or path-like
        Final destination (``~`` is expanded); its parent folders are created.
    suffix : str, optional
        Suffix of the temporary name, after ``.tmp``; default that of ``path``.
    example : str, default "result.nc"
        The file name that the error for a folder's name offers instead
        (:func:`save_figure`'s ``"figure.png"``).

    Yields
    ------
    tmp : pathlib.Path
        A path in the same folder that does not exist yet; write to it.

    Raises
    ------
    OSError
        Naming ``path``, when its folder cannot be created (a file in the way:
        ``NotADirectoryError``) or written to (e.g. ``PermissionError``), or
        when it names a folder (``IsADirectoryError``): an existing one other
        than a zarr store, or a name ending in a separator, ``"."`` or ``".."``
        (``"results/"``, ``"results/."``).
    """
    path = _destination(path, example)
    replace_store = path.is_dir() and not path.is_symlink()
    if replace_store and not _is_zarr_store(path):
        raise IsADirectoryError(
            f"path: {str(path)!r} is an existing folder, not a file or a zarr store; give a "
            f"file name (e.g. {str(path / example)!r})")
    if _is_zarr_path(path) and path.exists() and not path.is_dir():
        raise FileExistsError(f"path: {str(path)!r} is an existing file, not a zarr store "
                              "(a folder); remove it or choose another name")
    _make_parent(path)
    suffix = path.suffix if suffix is None else suffix
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{_short_stem(path, suffix)}.",
                                   suffix=f".tmp{suffix}", dir=path.parent)
    except OSError as exc:
        # the OS's message named the temporary file, which the caller never gave
        raise OSError(exc.errno, f"path: cannot write {str(path)!r}: cannot create a file in "
                                 f"its folder {str(path.parent)!r} ({exc.strerror})") from exc
    os.close(fd)
    os.unlink(tmp)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.is_file():
            _fsync(tmp)  # the data reaches the disk before the name points at it
        if replace_store and path.is_dir():
            # move the old store aside first: the new one is in place before it goes
            old = tmp.with_name(tmp.name + ".old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        _fsync(path.parent)  # and the rename itself survives a crash of the node
    except BaseException:
        if tmp.is_dir():
            _remove_tree(tmp)
        elif tmp.exists():
            tmp.unlink()
        raise


def _destination(path, example: str = "result.nc") -> Path:
    """:func:`check_path` for a file to write, refusing a name that ends in a
    separator, ``"."`` or ``".."`` (``"results/"``, ``"results/."``, ``"."``: a folder's
    name; a zarr store's is allowed): ``Path`` drops a trailing separator and
    ``"/."``, and a file named ``results`` was written in its place."""
    raw = os.fspath(path) if isinstance(path, (str, os.PathLike)) else path
    path = check_path(path)
    if isinstance(raw, str):
        seps = tuple(filter(None, (os.sep, os.altsep)))
        last = raw
        for sep in seps:
            last = last.rsplit(sep, 1)[-1]
        # "" after a trailing separator; an existing folder ("results/..") is refused
        # by atomic_path, as such (Path keeps "..": never a zarr store's name)
        folder = last == "" or (last in (".", "..") and not path.is_dir())
        if folder and not _is_zarr_path(path):
            end = raw[-1] if last == "" else last
            raise IsADirectoryError(
                f"path: {raw!r} ends in {end!r}, so it names a folder, not a file; give "
                f"a file name (e.g. {str(path / example)!r})")
    return path


def _short_stem(path: Path, suffix: str) -> str:
    """``path``'s name, cut so that the temporary name made from it fits the file
    system's limit on a name (255 bytes): a legal name of 241-255 bytes failed with
    "File name too long" on ``.NAME.XXXXXXXX.tmpSUFFIX.old``."""
    try:
        limit = os.pathconf(path.parent, "PC_NAME_MAX") if path.parent.is_dir() else 255
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows)
        limit = 255
    # "." + NAME + "." + 8 random characters + ".tmp" + suffix + ".old" (a store moved aside)
    room = limit - len(f"..{'x' * 8}.tmp{suffix}.old".encode())
    raw = os.fsencode(path.name)
    if len(raw) <= room:
        return path.name
    return raw[:max(room, 1)].decode("utf-8", "ignore") or "tmp"


def _make_parent(path: Path) -> None:
    """Create the folders of ``path``; an OSError that names ``path`` and what is wrong
    (mkdir's own named only the folder: "File exists: 'afile'" for a file in the way)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()),
                       None)
        if blocker is not None:
            raise NotADirectoryError(
                errno.ENOTDIR, f"path: cannot write {str(path)!r}: {str(blocker)!r} is a "
                               "file, not a folder") from exc
        raise OSError(exc.errno, f"path: cannot write {str(path)!r}: cannot create its folder "
                                 f"{str(path.parent)!r} ({exc.strerror})") from exc


def _remove_tree(path: Path, timeout: float = 10.0, settle: float = 0.25) -> None:
    """Remove a folder that writer threads may still be adding to: zarr's chunk
    writes that were in flight when another one failed can land after a first
    rmtree, re-creating the folder (a temporary store was left behind about once
    in 14 failed writes, and, on a loaded machine, after a second later). The
    folder must stay gone for ``settle`` seconds; up to ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        shutil.rmtree(path, ignore_errors=True)
        time.sleep(settle)  # writes still in flight land now, or never
        if not path.exists() or time.monotonic() > deadline:
            return


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file or a folder) to the disk, where the system allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # folders cannot be synced on some systems
        pass
    finally:
        os.close(fd)


def _is_zarr_store(path: Path) -> bool:
    """A folder written by zarr (v2 or v3 metadata at its top level)."""
    return _is_zarr_path(path) and any(
        (path / name).exists() for name in (".zgroup", ".zmetadata", ".zattrs", "zarr.json"))


def _is_zarr_path(path: Path) -> bool:
    return path.suffix.lower() == ".zarr"


def flatten_nested(table: dict, prefix: str = "") -> dict:
    """Nested dicts as one level of dotted keys: ``{"method_params": {"tol": 1e-4}}``
    gives ``{"method_params.tol": 1e-4}`` (netCDF attrs and TOML tables are flat that
    way); an empty nested dict adds no key.

    Parameters
    ----------
    table : dict
        Possibly nested; the leaves are kept as they are.
    prefix : str, default ""
        Put before every key.

    Returns
    -------
    dict

    Raises
    ------
    TypeError
        For a ``table`` that is not a dict or a ``prefix`` that is not a str.
    """
    if not isinstance(table, dict):
        raise TypeError(f"table must be a dict, got {type(table).__name__}")
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(flatten_nested(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


#: Attrs that the netCDF library writes into (or reports of) a netCDF-4 file itself: its
#: provenance, strictness, dimension ids and format. A Dataset read by another tool may
#: carry them (``_NCProperties`` from netCDF4-python, or through a zarr copy), and
#: h5netcdf refused to write them ("cannot write attribute with reserved name
#: '_NCProperties'"): :func:`clean_attrs` and :func:`load_dataset` leave them out
NETCDF_LIBRARY_ATTRS = frozenset({"_NCProperties", "_nc3_strict", "_Netcdf4Dimid",
                                  "_Netcdf4Coordinates", "_IsNetcdf4", "_SuperblockVersion",
                                  "_Format"})
#: Attr names that HDF5 keeps for its dimension scales, which netCDF-4 files are built on:
#: no netCDF-4 library writes them as attrs (:func:`clean_attrs` refuses them)
HDF5_RESERVED_ATTRS = frozenset({"CLASS", "NAME", "DIMENSION_LIST", "REFERENCE_LIST"})


def clean_attrs(attrs: dict, name: str = "attrs") -> dict:
    """Make attrs serialisable by netCDF and zarr alike: None -> "None", bools
    -> int (lists, tuples and 1-D arrays of bools -> int arrays of 0/1), NumPy
    strings -> str, integers beyond 64 bits -> their decimal string, long
    doubles -> float64 (zarr refuses them; netCDF wrote HDF5 long doubles),
    half floats (float16) -> float32 (exact; netCDF has no float16),
    complex numbers -> their ``str`` (``complex()`` reads it
    back), 0-d arrays -> their one value (as above), dicts, lists of mixed
    types and arrays of more than one dimension -> JSON strings (NumPy
    numbers in them as JSON numbers), any other object (a ``datetime``,
    ``np.datetime64``, a dtype) -> its ``str``, the bytes of a file name
    that are not UTF-8 (``os.fsdecode`` keeps them as surrogates
    U+DC80-U+DCFF) -> ``\\xNN`` escapes. The attrs that the netCDF library
    writes into a file of its own (:data:`NETCDF_LIBRARY_ATTRS`, such as
    ``_NCProperties``) are left out: they describe the file a Dataset was read
    from, the new file gets its own, and h5netcdf refused to write them.

    Parameters
    ----------
    attrs : dict
        Attributes of a Dataset or variable.
    name : str, default "attrs"
        Name of ``attrs`` in error messages (e.g. ``"ds['v'].attrs"``).

    Returns
    -------
    dict
        A new dict with the same keys and netCDF-safe values.

    Raises
    ------
    TypeError
        For ``attrs`` that is not a dict.
    ValueError
        For a string holding a NUL character or another lone surrogate, which
        netCDF (UTF-8 strings) cannot store, a key holding a NUL, or a key
        that HDF5 keeps for its dimension scales (:data:`HDF5_RESERVED_ATTRS`:
        ``CLASS``, ``NAME``, ``DIMENSION_LIST``, ``REFERENCE_LIST``); refused
        for zarr too, so that a result saved in one format can be saved in
        the other.
    """
    if not isinstance(attrs, dict):
        raise TypeError(f"attrs must be a dict, got {type(attrs).__name__}")
    out = {}
    for key, value in attrs.items():
        if key in NETCDF_LIBRARY_ATTRS:
            continue
        if key in HDF5_RESERVED_ATTRS:
            # h5netcdf's own AttributeError ("cannot write attribute with reserved name")
            # came from inside the write; a user's "NAME" is not dropped unsaid
            raise ValueError(f"{name} has a key {key!r}, a name that netCDF-4 files keep "
                             "for HDF5's dimension scales; rename it (e.g. "
                             f"{key.lower()!r})")
        if isinstance(key, str) and "\x00" in key:
            # HDF5 cut the name at the NUL: {"a": 1, "a\x00b": 2} was saved as a = 2
            raise ValueError(f"{name} has a key {key!r} holding a NUL character, which netCDF "
                             f"cannot store (it would be saved as {key.split(chr(0))[0]!r}); "
                             "rename it")
        if isinstance(value, Path):
            value = str(value)
        if isinstance(value, np.ndarray) and value.ndim == 0:
            # a 0-d array (ds["x"].mean().values) is its one value: it was written as
            # the JSON text "3.0" ('"soft"' for a string), read back as a str
            value = value[()]
        if isinstance(value, str):  # np.str_ included
            value = _storable_string(value, f"{name}[{key!r}]")
        if value is None:
            out[key] = "None"
        elif isinstance(value, (bool, np.bool_)):
            out[key] = int(value)
        elif isinstance(value, int) and not _fits_64_bits(value):
            # netCDF integers have 64 bits: a 128-bit seed (numpy's advice,
            # secrets.randbits(128)) failed the write with "Object dtype has no native
            # HDF5 equivalent"; its decimal digits keep it exactly
            out[key] = str(value)
        elif isinstance(value, (np.str_, np.timedelta64)):
            # a str (an integer), but h5netcdf has no conversion for NumPy's '<U' ('<m8')
            # scalars: a spec read from an array (threshold=np.array(["soft"])[0]) failed
            # the save with "No conversion path for dtype: dtype('<U4')"
            out[key] = str(value)
        elif isinstance(value, np.longdouble):
            # zarr refused it ("Invalid attribute in Dataset.attrs")
            out[key] = _as_float64(value)
        elif isinstance(value, np.float16):
            out[key] = np.float32(value)  # h5netcdf wrote an HDF5 half float (see save_dataset)
        elif isinstance(value, (complex, np.complexfloating)):
            # neither format has complex attrs; the JSON of its str added quotes
            out[key] = str(complex(value))
        elif isinstance(value, (str, int, float, np.integer, np.floating)):
            out[key] = value
        elif isinstance(value, np.ndarray) and value.ndim == 1 and value.size and (
                value.dtype.kind in "biuf"):
            if value.dtype.kind == "b":
                value = value.astype(int)
            elif value.dtype == np.longdouble:
                value = _as_float64(value)
            elif value.dtype == np.float16:
                value = value.astype(np.float32)
            out[key] = value
        elif isinstance(value, (list, tuple)) and len(value) and all(
                isinstance(v, (bool, np.bool_)) for v in value):
            # as a single bool is: [True, False] was the JSON text '[true, false]'
            out[key] = np.asarray(value).astype(int)
        elif isinstance(value, (list, tuple)) and len(value) and all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            for v in value
        ) and _fits_one_dtype(value):
            out[key] = np.asarray(value)
        elif isinstance(value, np.ndarray):
            # netCDF attributes are 1-D: keep every element (str() would elide them)
            out[key] = json.dumps(value.tolist(), default=_json_default)
        elif isinstance(value, (dict, list, tuple)):
            out[key] = json.dumps(value, default=_json_default)
        else:
            # a datetime, np.datetime64, dtype, Enum, ...: the JSON of its str added
            # quotes ('"2026-12-06 03:00:00"', read back with them)
            out[key] = _storable_string(str(value), f"{name}[{key!r}]")
    return out


def _as_float64(value):
    """A long double (scalar or 1-D array) as float64; where that overflows, as its
    decimal string (inf in place of a finite 1e400 would be another value)."""
    with np.errstate(over="ignore"):
        wide = np.asarray(value).astype(np.float64)
    if np.any(np.isinf(wide) & np.isfinite(value)):
        return json.dumps([str(v) for v in value]) if np.ndim(value) else str(value)
    return wide if np.ndim(value) else wide[()]


def _storable_string(value: str, name: str) -> str:
    """``value`` as netCDF can store it, or a ValueError naming it (h5py's own message,
    "VLEN strings do not support embedded NULLs" or a UnicodeEncodeError, named no attr).

    The bytes of a file name that are not UTF-8 become ``\\xNN`` escapes: a folder
    named in Latin-1 (``caf\\xe9``) reaches Python as ``'caf\\udce9'``
    (``os.fsdecode``'s surrogateescape), and a study recording it in its attrs failed
    its save after the whole run ("surrogates not allowed"). A NUL or another lone
    surrogate is refused.
    """
    if "\x00" in value:
        raise ValueError(f"{name} holds a NUL character (at index {value.index(chr(0))}), "
                         "which netCDF cannot store; remove it or store the string's repr()")
    try:
        value.encode("utf-8")
        return value  # the usual case: one encoding, no copy
    except UnicodeEncodeError as exc:
        first = exc.start
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte
        raise ValueError(f"{name} holds a lone surrogate {value[first]!r} (at index "
                         f"{first}), which UTF-8, and so netCDF, cannot store; decode "
                         "the bytes it came from with errors='replace', or store the "
                         "string's repr()") from None


def _json_default(value):
    """JSON for what :func:`json.dumps` cannot take: NumPy scalars and arrays as the
    numbers they hold (``str`` made ``{"n": np.int64(64)}`` read back ``{"n": "64"}``),
    anything else as its ``str``."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _fits_64_bits(value: int) -> bool:
    """An int netCDF can store: int64, or uint64 for the non-negative ones."""
    return -(2**63) <= value < 2**64


def _fits_one_dtype(values) -> bool:
    """Whether a list of numbers becomes one array without changing an int: its Python
    ints all fit int64, or float64 exactly (|n| <= 2**53) when floats are mixed in
    ([-1, 2**63] or [1.5, 2**60] went to float64, rounded). NumPy's own promotion decides:
    a NumPy uint64 among other ints makes float64 too ([np.uint64(2**62 + 1), 1] was
    saved rounded), and one beyond int64 raised OverflowError."""
    try:
        kind = np.asarray(values).dtype.kind
    except OverflowError:
        return False
    if kind == "f":
        return all(abs(int(v)) <= 2**53 for v in values if isinstance(v, (int, np.integer)))
    return kind in "iu"


#: How a SeedSequence seed is written as JSON (:func:`seed_sequence_to_json`): in the
#: attrs of results (:func:`seed_attr`) and in the saved parameters of the learners
SEED_SEQUENCE = "numpy.random.SeedSequence"
#: The start of the text :func:`seed_attr` records for a ``numpy.random.Generator``
#: whose state it does not record
GENERATOR_SEED_TEXT = "Generator"
#: How :func:`seed_attr` writes a Generator's state as JSON, before the call draws
#: from it: ``{GENERATOR_STATE: <its bit generator's state>}`` (:func:`generator_to_json`)
GENERATOR_STATE = "numpy.random.Generator"
#: Beside it, the SeedSequence that seeded the Generator and how many children it had
#: spawned (``SeedSequence`` JSON with ``n_children_spawned``), so that the remade
#: Generator's ``spawn`` (and a study's ``child_seeds``) gives the original's children
GENERATOR_SEED_SEQUENCE = "seed_sequence"


def seed_sequence_to_json(seed: np.random.SeedSequence) -> dict:
    """A SeedSequence as JSON holds it: ``{SEED_SEQUENCE: {"entropy": ..., "spawn_key":
    [...]}}`` (and ``"pool_size"`` when it is not NumPy's 4), what makes the same
    sequence again (:func:`seed_from_json`); its entropy as Python ints (NumPy's
    failed ``json.dumps``)."""
    entropy = seed.entropy  # an int, or a sequence of ints (an array, too)
    entropy = (int(entropy) if isinstance(entropy, (int, np.integer))
               else [int(e) for e in entropy])
    saved = {"entropy": entropy, "spawn_key": [int(k) for k in seed.spawn_key]}
    if seed.pool_size != 4:  # numpy's default; another size gives other states
        saved["pool_size"] = int(seed.pool_size)
    return {SEED_SEQUENCE: saved}


def seed_from_json(seed):
    """The seed that JSON holds: the SeedSequence that :func:`seed_sequence_to_json`
    wrote, a Generator in the state that :func:`seed_attr` recorded (its JSON read
    back), or ``seed`` itself (an int or None)."""
    if isinstance(seed, dict) and GENERATOR_STATE in seed:
        return _generator_from_state(seed[GENERATOR_STATE], "seed",
                                     seed.get(GENERATOR_SEED_SEQUENCE))
    if isinstance(seed, dict) and SEED_SEQUENCE in seed:
        saved = seed[SEED_SEQUENCE]
        return np.random.SeedSequence(saved["entropy"], spawn_key=tuple(saved["spawn_key"]),
                                      pool_size=int(saved.get("pool_size", 4)))
    return seed


def seed_attr(seed, before_use: bool = False):
    """How a seed is recorded in attrs, so that the run can be made again from them
    (:func:`seed_from_attr`).

    - an int: the int itself (its decimal string beyond 64 bits, which netCDF
      integers cannot hold);
    - a ``numpy.random.SeedSequence``: the JSON text of
      :func:`seed_sequence_to_json`, ``{"numpy.random.SeedSequence": {"entropy":
      ..., "spawn_key": [...]}}``, what makes the same sequence again (one made
      from OS entropy, ``SeedSequence()``, records the entropy it drew);
    - a ``numpy.random.Generator`` recorded ``before_use``: the JSON text
      ``{"numpy.random.Generator": <its bit generator's state>, "seed_sequence":
      {"entropy": ..., "spawn_key": [...], "n_children_spawned": ...}}`` (NumPy's own
      bit generators: PCG64, PCG64DXSM, MT19937, Philox, SFC64; the SeedSequence that
      seeded it, where it has one), from which :func:`seed_from_attr` makes a
      Generator that draws the same numbers as the call did and spawns the same
      children;
    - any other Generator: the text ``"Generator(PCG64): not reproducible from
      attrs; ..."``. How far it had been drawn from before the call is not known
      where the attrs are written after the run has drawn from it (or its bit
      generator is not NumPy's), so no state is recorded that could be taken for the
      call's start; pass an int or a SeedSequence to record a seed that re-runs;
    - None: ``"None"`` (fresh OS entropy, not recorded: no re-run).

    Parameters
    ----------
    seed : int, Generator, SeedSequence or None
        A seed as given to a function of the package.
    before_use : bool, default False
        True where the call records its seed before anything draws from it: a
        Generator's state is then its state at the call's start, and recorded.

    Returns
    -------
    int or str
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        # numpy's advice for seeds is secrets.randbits(128): as an int it failed
        # Dataset.to_netcdf of the results that are saved as they are
        # (lista_error_by_depth) with "Object dtype ... has no native HDF5 equivalent"
        return int(seed) if _fits_64_bits(int(seed)) else str(int(seed))
    if isinstance(seed, np.random.SeedSequence):
        # its type name alone ("SeedSequence") could not be run again
        return json.dumps(seed_sequence_to_json(seed))
    if isinstance(seed, np.random.Generator):
        state = _generator_state_json(seed) if before_use else None
        if state is not None:
            return state
        return (f"{GENERATOR_SEED_TEXT}({type(seed.bit_generator).__name__}): not "
                "reproducible from attrs; pass an int or a numpy SeedSequence as seed to "
                "record one that is")
    return "None" if seed is None else type(seed).__name__


def seed_param(seed, recorded: str | None = None):
    """A saved estimator's ``seed`` parameter as JSON can hold it, and whether it was
    kept: an int or None as it is, a SeedSequence as :func:`seed_sequence_to_json`, a
    Generator as the dict of its state that ``recorded`` (:func:`seed_attr`
    ``before_use`` text, taken when a fit began) or else its state now holds, which
    :func:`seed_from_json` turns back into a Generator. ``(None, False)`` for a
    Generator of a bit generator that is not NumPy's (its state is not kept)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed_sequence_to_json(seed), True
    if not isinstance(seed, np.random.Generator):
        return seed, True
    record = recorded if recorded is not None else seed_attr(seed, before_use=True)
    try:
        saved = json.loads(record)
    except ValueError:  # "Generator(...): not reproducible from attrs; ..."
        return None, False
    kept = isinstance(saved, dict) and GENERATOR_STATE in saved
    return (saved if kept else None), kept


def recorded_at_fit(estimator, seed) -> str | None:
    """The :func:`seed_attr` ``before_use`` record ``estimator`` kept of ``seed`` when
    its last fit began (its ``_seed_at_fit``, a ``(seed, record)`` pair), or None when it
    kept none of this seed (no fit yet, or the seed was replaced since)."""
    used = getattr(estimator, "_seed_at_fit", None)
    return used[1] if used is not None and used[0] is seed else None


def _generator_state_json(generator: np.random.Generator) -> str | None:
    """The JSON text ``{GENERATOR_STATE: <generator's bit generator state>}``, or None
    when its bit generator is not one of NumPy's own or its state does not come back
    whole from the text."""
    kind = type(generator.bit_generator)
    if getattr(np.random, kind.__name__, None) is not kind:  # a user's bit generator
        return None
    state = generator_to_json(generator)
    try:
        again = _generator_from_state(json.loads(state), "seed")
    except (TypeError, ValueError, KeyError):
        return None
    # the state as it comes back: a Generator that would not draw the same is not recorded
    if generator_to_json(again) != state:
        return None
    record = {GENERATOR_STATE: json.loads(state)}
    sequence = _seed_sequence_of(generator)
    if sequence is not None:
        # what Generator.spawn and a study's child_seeds take their children from
        record[GENERATOR_SEED_SEQUENCE] = dict(
            seed_sequence_to_json(sequence)[SEED_SEQUENCE],
            n_children_spawned=int(sequence.n_children_spawned))
    return json.dumps(record)


def _seed_sequence_of(generator: np.random.Generator):
    """The SeedSequence that seeded ``generator``'s bit generator, or None (a bit
    generator seeded otherwise, e.g. from a legacy seed)."""
    bits = generator.bit_generator
    # seed_seq is public from NumPy 1.25; _seed_seq before
    sequence = getattr(bits, "seed_seq", None) or getattr(bits, "_seed_seq", None)
    return sequence if isinstance(sequence, np.random.SeedSequence) else None


def generator_to_json(rng) -> str:
    """The state of ``rng`` (a numpy Generator) as JSON, for :func:`generator_from_json`."""
    return json.dumps(rng.bit_generator.state, default=_jsonable)


def generator_from_json(text, name) -> np.random.Generator:
    """The Generator whose state :func:`generator_to_json` wrote; ``name`` is
    where ``text`` was found (for the message)."""
    return _generator_from_state(json.loads(text), name)


def _generator_from_state(saved, name, sequence=None) -> np.random.Generator:
    """A new Generator of the bit generator state ``saved`` (read from JSON), seeded
    by the SeedSequence ``sequence`` (its JSON, with ``n_children_spawned``) if given."""
    # the state may come from any of NumPy's bit generators (PCG64, MT19937, Philox, ...)
    kind = getattr(np.random, str(saved.get("bit_generator")), None)
    if not (isinstance(kind, type) and issubclass(kind, np.random.BitGenerator)):
        raise ValueError(f"{name} names the bit generator "
                         f"{saved.get('bit_generator')!r}, which this NumPy does not have")
    if sequence is None:  # a record without one (written before 2026-12-07)
        bit_generator = kind()  # its own entropy, replaced by the state
    else:  # its spawn gives the original's children
        bit_generator = kind(np.random.SeedSequence(
            sequence["entropy"], spawn_key=tuple(sequence["spawn_key"]),
            pool_size=int(sequence.get("pool_size", 4)),
            n_children_spawned=int(sequence["n_children_spawned"])))
    bit_generator.state = _like(saved, bit_generator.state)  # JSON lists back to arrays
    return np.random.Generator(bit_generator)


def _like(value, template):
    """``value`` read from JSON, with lists turned into arrays where ``template`` has them."""
    if isinstance(template, dict) and isinstance(value, dict):
        return {k: _like(v, template.get(k)) for k, v in value.items()}
    if isinstance(template, np.ndarray):
        return np.asarray(value, dtype=template.dtype)
    return value


def _jsonable(value):
    """JSON for numpy scalars and arrays (bit-generator states hold uint64s)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.dtype) or (isinstance(value, type)
                                       and issubclass(value, np.generic)):
        return np.dtype(value).name  # "float64", not "<class 'numpy.float64'>"
    return str(value)


def seed_from_attr(value, name: str = "seed"):
    """The seed that :func:`seed_attr` recorded, to run the call again.

    Parameters
    ----------
    value : int, str, or 0-d integer array
        A recorded seed, e.g. ``ds.attrs["seed"]`` or an element of
        ``seed_per_call`` (as saved and reloaded, too).
    name : str, default "seed"
        Name of ``value`` in error messages.

    Returns
    -------
    int, numpy.random.SeedSequence or numpy.random.Generator
        Give it as ``seed=`` to the function that made the result: an int seed
        comes back as the int, a SeedSequence as a new one of the same entropy and
        spawn key (which draws the same numbers), a Generator whose state was
        recorded as a new Generator in that state (it draws what the call drew; it
        is used up by the re-run, so ask again for another; its ``spawn`` gives the
        original's children, except from a record without ``"seed_sequence"``,
        written before 2026-12-07).

    Raises
    ------
    ValueError
        For a record that cannot be run again (a Generator's, ``"None"``), or text
        that no seed gives.
    TypeError
        For any other type.

    Examples
    --------
    >>> import numpy as np
    >>> seq = seed_from_attr(seed_attr(np.random.SeedSequence(5, spawn_key=(2,))))
    >>> seq.entropy, seq.spawn_key
    (5, (2,))
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a seed as seed_attr records it (an int or its "
                        f"text), got {type(value).__name__} {value!r}")
    text = value.strip()
    if text.isascii() and text.isdigit():  # an int beyond 64 bits, recorded as its digits
        return int(text)
    if text == "None":
        raise ValueError(f"{name} is 'None': the run drew fresh OS entropy, which was not "
                         "recorded; it cannot be run again")
    if text.startswith(GENERATOR_SEED_TEXT):
        raise ValueError(f"{name} is {value!r}: a Generator's run cannot be made again "
                         "from attrs")
    expected = (f"{name} must be a seed as seed_attr records it (an int, its digits, or "
                f"a SeedSequence's or a Generator state's JSON text), got {value!r}")
    try:
        saved = json.loads(text)
        if isinstance(saved, dict) and GENERATOR_STATE in saved:
            return _generator_from_state(saved[GENERATOR_STATE], name,
                                         saved.get(GENERATOR_SEED_SEQUENCE))
        seed = seed_from_json(saved)
        if isinstance(seed, np.random.SeedSequence):
            return seed
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # not a seed's JSON
        raise ValueError(expected) from exc
    raise ValueError(expected)


#: The attr marking a zarr store that :func:`save_dataset` wrote with every chunk file,
#: even those of fill values alone (which zarr skips by default): in such a store a
#: missing chunk file is lost data, which zarr reads as the fill value (NaN) unsaid
ZARR_ALL_CHUNKS_ATTR = "v1model_zarr_all_chunks"


#: The attr naming the Dataset's one-element list attrs (JSON), which netCDF reads back
#: as scalars: ``depths=[2]`` came back as ``2`` and ``len(ds.attrs["depths"])`` failed
ONE_ELEMENT_ATTRS = "v1model_one_element_attrs"


def _cleaned(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    ds.attrs = _cleaned_attrs(ds.attrs, "ds.attrs")
    for name in list(ds.variables):
        # a variable's one-element lists too: its attrs read back as scalars alike
        ds[name].attrs = _cleaned_attrs(ds[name].attrs, f"ds[{name!r}].attrs")
    return ds


def _cleaned_attrs(attrs: dict, name: str = "attrs") -> dict:
    """:func:`clean_attrs`, with the names of the one-element lists under
    :data:`ONE_ELEMENT_ATTRS`."""
    out = clean_attrs({k: v for k, v in attrs.items() if k != ONE_ELEMENT_ATTRS}, name)
    ones = [k for k, v in out.items() if isinstance(v, np.ndarray) and v.size == 1]
    if ones:
        out[ONE_ELEMENT_ATTRS] = json.dumps(ones)
    return out


def _one_element_attrs_restored(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with the attrs (its own and its variables') that :func:`_cleaned` named
    as one-element lists made 1-D arrays again (netCDF reads them as scalars)."""
    for attrs in (ds.attrs, *(var.attrs for var in ds.variables.values())):
        names = attrs.pop(ONE_ELEMENT_ATTRS, None)
        try:
            names = json.loads(names) if isinstance(names, str) else []
        except ValueError:  # edited by hand: the attrs stay as read
            names = []
        for key in names if isinstance(names, list) else []:
            if isinstance(key, str) and key in attrs and np.ndim(attrs[key]) == 0:
                attrs[key] = np.atleast_1d(attrs[key])
    return ds


def check_dims(ds: xr.Dataset, name: str, dims: tuple) -> None:
    """Raise a ValueError unless ``ds[name]`` has the dims ``dims`` (in any order),
    naming the variable and the dims it should have: what a file edited or
    renamed by hand would otherwise turn into a scrambled load or a KeyError.

    Parameters
    ----------
    ds : xarray.Dataset
    name : str
        Variable of ``ds``.
    dims : tuple of str

    Raises
    ------
    ValueError
        When ``ds`` has no variable ``name`` (listing those it has), or its dims
        are not ``dims``.
    """
    if name not in ds.variables:  # xarray's bare KeyError named neither the file's variables
        raise ValueError(f"ds has no variable {name!r} (expected dims {tuple(dims)}); it has "
                         f"{sorted(str(v) for v in ds.variables)}")
    if set(ds[name].dims) != set(dims):
        raise ValueError(f"ds[{name!r}] has dims {ds[name].dims}, expected {tuple(dims)}")


def values_by_dims(ds: xr.Dataset, name: str, dims: tuple) -> np.ndarray:
    """The values of ``ds[name]`` in the order ``dims``, read by dim name: a saved
    model's arrays, which a file transposed or renamed by hand would otherwise
    load scrambled. A ValueError names the variable and the dims it should have.

    Parameters
    ----------
    ds : xarray.Dataset
    name : str
        Variable of ``ds``.
    dims : tuple of str
        Its expected dims, in the order wanted.

    Returns
    -------
    ndarray
        The values, with the axes in the order of ``dims``.

    Raises
    ------
    ValueError
        As :func:`check_dims`: for a missing variable or wrong dims.
    """
    check_dims(ds, name, dims)
    return ds[name].transpose(*dims).values


#: suffixes of other formats, refused by :func:`save_dataset`: a netCDF file named
#: "model.npy" fails in the reader its name promises (np.load), with no word at saving
OTHER_FORMAT_SUFFIXES = {
    ".npy": "NumPy", ".npz": "NumPy", ".pkl": "pickle", ".pickle": "pickle",
    ".joblib": "joblib", ".pt": "PyTorch", ".pth": "PyTorch", ".json": "JSON",
    ".csv": "CSV", ".txt": "text", ".mat": "MATLAB", ".toml": "TOML",
    # a study's figures are NAME_*.png beside NAME.nc: net.save("atoms.png") wrote netCDF
    # under a picture's name, which no viewer opened
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".pdf", ".svg", ".eps", ".tif", ".tiff",
                     ".gif", ".webp"), "image"),
}


#: the attr in which :func:`save_dataset` records :data:`FORMAT_VERSION`
FORMAT_VERSION_ATTR = "v1model_format_version"
#: the layout of the files v1model writes, an integer: raised by one when a loader must
#: tell files of a new layout from older ones and no attr or variable they have tells
#: (a variable whose meaning changed). v1model_version could not tell: it stays "0.1.0"
#: across such changes, and the loaders went by whether an attr was there. 1: the first
#: files that record it (7 Dec 2026); every file before reads as 0
FORMAT_VERSION = 1


def check_saved_kind(ds, kind: str, what: str, hint: str = "") -> None:
    """Refuse ``ds`` unless it is a Dataset saved as ``kind`` (its ``attrs["kind"]``), as
    every ``from_dataset`` reads its own files.

    Parameters
    ----------
    ds : object
        What the user gave as a saved object.
    kind : str
        The ``attrs["kind"]`` its writer records, e.g. ``"v1model.ConvolutionalNetwork"``.
    what : str
        What such a file holds, in the message (``"convolutional network"``).
    hint : str, optional
        What to do instead, appended in parentheses.

    Raises
    ------
    TypeError
        When ``ds`` is not a Dataset.
    ValueError
        When its ``attrs["kind"]`` is not ``kind``, naming both.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if ds.attrs.get("kind") != kind:
        raise ValueError(f"ds is not a saved {what}: attrs['kind'] is "
                         f"{ds.attrs.get('kind')!r}, not {kind!r}"
                         + (f" ({hint})" if hint else ""))


def saved_format_version(ds: xr.Dataset) -> int:
    """The :data:`FORMAT_VERSION` a Dataset loaded from a file was saved with.

    Parameters
    ----------
    ds : xarray.Dataset
        A Dataset read by :func:`load_dataset` (or one about to be saved).

    Returns
    -------
    int
        Its ``v1model_format_version`` attr; 0 for a file saved before
        :func:`save_dataset` recorded it.

    Raises
    ------
    TypeError
        When ``ds`` is not a Dataset.
    ValueError
        When the attr is not a non-negative whole number, naming its value.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    value = ds.attrs.get(FORMAT_VERSION_ATTR, 0)
    # netCDF gives a 0-d array or a numpy integer back, never a bool or a float
    if (isinstance(value, (bool, np.bool_)) or np.ndim(value) != 0
            or not isinstance(np.asarray(value).item(), int) or int(value) < 0):
        raise ValueError(f"ds.attrs[{FORMAT_VERSION_ATTR!r}] must be a non-negative whole "
                         f"number (the file's format version), got {value!r}")
    return int(value)


def save_dataset(ds: xr.Dataset, path) -> Path:
    """Save ``ds`` atomically as netCDF (``.nc``) or zarr (``.zarr``).

    A DataArray is saved as a Dataset of its one variable. The attrs are made
    netCDF-safe (:func:`clean_attrs`) and record ``v1model_version`` and
    ``v1model_format_version`` (:data:`FORMAT_VERSION`, read back by
    :func:`saved_format_version`) unless they already do. A zarr store gets
    every chunk file, those of fill values alone too, and the attr
    :data:`ZARR_ALL_CHUNKS_ATTR`, so that :func:`load_dataset` can tell a lost
    chunk file. Returns the final path.

    float16 variables are written as float32 (exactly: netCDF has no float16)
    marked with the attr :data:`SAVED_FROM_DTYPE_ATTR`, which
    :func:`load_dataset` reads back as float16; zarr stores keep float16. A
    netCDF file refuses a variable of another dtype whose ``encoding["dtype"]``
    asks for float16 (to keep half precision, make the variable float16).

    Complex variables are written as netCDF-4 compound types, which
    :func:`load_dataset` and ``xr.open_dataset`` with h5netcdf read back as
    complex; the netCDF4 engine (xarray's default where netCDF4 is installed)
    needs ``xr.open_dataset(path, engine="netcdf4", auto_complex=True)``:
    without it, it gives raw bytes (dtype ``V16``) without a word.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        What to save (not modified).
    path : str or path-like
        Destination: a ``.zarr`` suffix writes a zarr store, anything else netCDF.

    Returns
    -------
    path : pathlib.Path
        The path written (``~`` expanded).

    Raises
    ------
    TypeError
        When ``ds`` is not a Dataset or DataArray.
    ValueError
        For a string attr netCDF cannot store (see :func:`clean_attrs`), a dim
        indexed by a MultiIndex (``ds.stack(...)``; save ``ds.reset_index(dim)``),
        a variable of another dtype whose ``encoding["dtype"]`` is float16 (to
        netCDF), a long double variable (float128, complex256, to either format:
        netCDF-C readers crash on them; convert it to float64 or complex128), an attr
        that xarray takes for encoding on saving or loading, which would change the data
        or fail the load (a variable's ``_FillValue``, ``missing_value``,
        ``scale_factor``, ``add_offset``, ``_Unsigned``, ``_Encoding``,
        ``coordinates``: :data:`~v1model._cf_encoding.ENCODING_ATTRS`; a ``units``
        with "since", ...; ``ds.attrs["coordinates"]``), or a variable's
        ``encoding`` whose ``_FillValue``, ``missing_value``, ``scale_factor``,
        ``add_offset`` or ``dtype`` would change its values or dtype on reload
        (:data:`~v1model._cf_encoding.VALUE_ENCODINGS`, e.g.
        ``encoding["_FillValue"] = 1``: 1 loaded as NaN), naming the variable, the
        attr or key and its value (every one of them in one message), and
        for a ``path`` whose suffix is another format's (``.npy``, ``.npz``, ``.pkl``,
        ``.json``, ``.csv``, ``.mat``, a picture's ``.png``, ``.pdf``, ...:
        :data:`OTHER_FORMAT_SUFFIXES`);
        before anything is written.
    OSError
        Naming ``path``, when it cannot be written (a file where a folder
        should be, a folder that is not writable, a full disk), or when it
        names a folder (``IsADirectoryError``: an existing folder that is not
        a zarr store, or a name ending in a separator, ``"."`` or ``".."``:
        ``"results/"``, ``"results/."``).
    """
    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name if ds.name is not None else "data")
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    path = _destination(path)
    _check_no_multi_index(ds)
    _check_no_long_double(ds)
    kind = OTHER_FORMAT_SUFFIXES.get(path.suffix.lower())
    if kind is not None:
        figure = "; a figure is saved by v1model.io.save_figure" if kind == "image" else ""
        raise ValueError(f"path: {str(path)!r} ends in {path.suffix!r}, the suffix of {kind} "
                         f"files, but this writes netCDF: name it "
                         f"{str(path.with_suffix('.nc'))!r} (or .zarr for a zarr store)"
                         f"{figure}")
    ds = _cleaned(ds)
    if "v1model_version" not in ds.attrs:
        from . import __version__

        ds.attrs["v1model_version"] = __version__
    # kept as the Dataset has it (one loaded from an older file and saved again)
    ds.attrs.setdefault(FORMAT_VERSION_ATTR, FORMAT_VERSION)
    if _is_zarr_path(path):
        check_no_encoding_attrs(ds)  # _netcdf_ready does it for netCDF
    else:
        ds = _netcdf_ready(ds)
        if not _netcdf_through_memory(ds):
            _check_room(path, ds.nbytes)
    # a dask.distributed client in this process would otherwise route
    # xarray's file locks through its scheduler
    with _local_scheduler(), atomic_path(path) as tmp:
        try:
            if _is_zarr_path(path):
                # consolidated metadata lets a plain xr.open_zarr(path) open the store
                # without its "failed to open with consolidated metadata" warning;
                # zarr 3 warns that consolidation is not in the v3 spec yet. Kept (one per
                # process), narrowed to that message: zarr warns from its own event-loop
                # thread ("zarr_io"), which nothing of this thread's reaches, with no switch
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="Consolidated metadata",
                                            category=UserWarning)
                    # every chunk written, so that load_dataset can tell a lost one
                    ds.attrs[ZARR_ALL_CHUNKS_ATTR] = 1
                    ds.to_zarr(tmp, mode="w", consolidated=True, write_empty_chunks=True)
            else:
                write_netcdf(ds, tmp)
        except (OSError, RuntimeError) as exc:
            # HDF5's and zarr's messages name the temporary file, or no file at all
            raise _write_error(path, exc) from exc
    return path


def _check_no_multi_index(ds: xr.Dataset) -> None:
    """Refuse a dim indexed by a pandas MultiIndex (``ds.stack(...)``), which neither
    netCDF nor zarr can store: xarray's NotImplementedError, a RuntimeError, was
    reported as an OSError, "cannot write PATH", as if the disk had failed."""
    import pandas as pd

    stacked = [dim for dim, index in ds.indexes.items()
               if dim in ds.dims and isinstance(index, pd.MultiIndex)]
    if stacked:
        dim = stacked[0]
        raise ValueError(f"ds: dim {dim!r} has a MultiIndex (levels "
                         f"{list(ds.indexes[dim].names)}), which netCDF and zarr cannot "
                         f"store; save ds.reset_index({dim!r}) (its levels become plain "
                         f"coordinates) or ds.unstack({dim!r})")


#: Datasets up to this size are written to netCDF through memory (see write_netcdf)
IN_MEMORY_NETCDF_BYTES = 256 * 2**20


@functools.lru_cache(maxsize=None)
def _writes_netcdf_to_memory() -> bool:
    """Whether this xarray writes h5netcdf files into a file object: from 2025.8
    (2025.7 closed the buffer before it could be read, 2025.1 wrote netCDF3)."""
    try:
        return tuple(int(p) for p in xr.__version__.split(".")[:2]) >= (2025, 8)
    except ValueError:  # a version string of another form: the file path, as before
        return False


def _netcdf_through_memory(ds: xr.Dataset) -> bool:
    """Whether :func:`write_netcdf` builds ``ds``'s file in memory."""
    return ds.nbytes <= IN_MEMORY_NETCDF_BYTES and _writes_netcdf_to_memory()


def _check_room(path: Path, nbytes: int) -> None:
    """Refuse a netCDF file written through HDF5 that its disk has no room for.

    HDF5 meeting a full disk can kill the interpreter with a segmentation fault
    (see :func:`write_netcdf`); files built in memory do not need this. A quota
    is not seen by ``statvfs``: this catches the full disk only.
    """
    folder = next((p for p in path.parents if p.exists()), path.parent)  # made on writing
    try:
        free = shutil.disk_usage(folder).free
    except OSError:  # a file system without statvfs
        return
    need = int(nbytes * 1.01) + 2**20  # the data, HDF5's chunk index and attributes
    if free < need:
        raise OSError(errno.ENOSPC,
                      f"cannot write {str(path)!r}: the dataset needs about "
                      f"{need / 2**20:.0f} MiB and its disk has {free / 2**20:.0f} MiB free")


def write_netcdf(ds: xr.Dataset, path) -> None:
    """``ds.to_netcdf(path)`` with the package's engine, safe when the write fails.

    No temporary name, no attrs cleaning: the callers (:func:`save_dataset`,
    the sweep's in-memory store) do that.
    """
    if _netcdf_through_memory(ds):
        # built in memory and written out by Python: a full disk or a quota met by HDF5
        # itself while it writes a small file's metadata (a sweep's point files) crashed
        # the interpreter (a segmentation fault while h5netcdf undid a half-created
        # variable, or at exit, when HDF5 closed the failed file); Python's own write
        # raises a plain OSError
        with open(path, "wb") as f:
            f.write(netcdf_bytes(ds))
        return
    try:
        ds.to_netcdf(path, engine=NETCDF_ENGINE)
    except BaseException:
        _disarm_failed_netcdf(path)
        raise


def netcdf_bytes(ds: xr.Dataset) -> bytes:
    """The bytes of ``ds`` as a netCDF file of the package's engine (no attrs cleaning).

    Built in memory where xarray can (from 2025.8); before that, ``to_netcdf`` of a
    file object silently switched to netCDF3, so the file goes through a temporary
    folder.
    """
    if _writes_netcdf_to_memory():
        buffer = io.BytesIO()
        ds.to_netcdf(buffer, engine=NETCDF_ENGINE)
        return buffer.getvalue()
    with tempfile.TemporaryDirectory(prefix="v1model-netcdf-") as tmp:
        target = Path(tmp) / "data.nc"
        write_netcdf(ds, target)
        return target.read_bytes()


def _write_error(path, exc) -> OSError:
    """An OSError naming ``path``, with the errno of ``exc`` (also when HDF5 only
    writes it into its message, as for a full disk: ``errno = 28``)."""
    code = getattr(exc, "errno", None)
    if code is None:
        found = re.search(r"errno = (\d+)", str(exc))
        code = int(found.group(1)) if found else None
    reason = os.strerror(code) if code else str(exc).strip().splitlines()[0][:300]
    message = f"cannot write {str(path)!r}: {reason}"
    return OSError(code, message) if code else OSError(message)


def _disarm_failed_netcdf(tmp) -> None:
    """Mark the h5netcdf file of a failed write as closed.

    When writing fails while the file is closed (a full disk, a quota), h5netcdf
    keeps the file marked open; closing it again when it is garbage-collected
    touches the HDF5 file that failed to close, which kills the interpreter with
    a segmentation fault. The temporary file is deleted anyway.
    """
    import gc

    import h5netcdf

    target = os.path.abspath(tmp)
    for obj in gc.get_objects():
        if (isinstance(obj, h5netcdf.File) and not getattr(obj, "_closed", True)
                and os.path.abspath(str(getattr(obj, "_filename", ""))) == target):
            obj._closed = True


def _local_scheduler():
    import dask

    return dask.config.set(scheduler="synchronous")


def load_dataset(path, name: str = "path") -> xr.Dataset:
    """Load a Dataset saved by :func:`save_dataset` fully into memory.

    ``name`` is the caller's name of ``path`` (e.g. ``"dictionary"``), used in messages.

    Parameters
    ----------
    path : str or path-like
        A netCDF file (netCDF-4, as :func:`save_dataset` writes, or netCDF-3
        "classic", as other tools often do), or a zarr store (``.zarr``).
    name : str, default "path"
        Name of ``path`` in error messages.

    Returns
    -------
    xarray.Dataset
        Loaded into memory (the file is closed). Numeric attrs are NumPy
        scalars and 1-D arrays from either format (from zarr, whose attrs are
        JSON, as int64, uint64 or float64, whatever dtype they were saved in);
        float16 variables come back as float16 from either format (see
        :func:`save_dataset`); text variables and coordinates are fixed-width
        unicode (``<U``) from every format (zarr v3 reads them as NumPy's
        ``StringDType``, netCDF-3 as object arrays). The attrs the netCDF
        library keeps for itself (:data:`NETCDF_LIBRARY_ATTRS`, e.g.
        ``_NCProperties``) are left out, so that the result saves again.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        Naming ``path``, when it cannot be read; for a zarr store written by
        :func:`save_dataset` with chunk files missing (which zarr would read
        as fill values, NaN), naming the variables and files
        (:func:`missing_zarr_chunks`).
    """
    path = check_path(path, name)
    if not path.exists():
        raise FileNotFoundError(f"{name}: no such file: {str(path)!r}")
    if path.is_dir() and not _is_zarr_path(path):
        # HDF5's message for it ran over lines, with a time stamp and a file descriptor
        raise ValueError(f"{name}: {str(path)!r} is a folder, not a netCDF file (a zarr "
                         "store's name ends in .zarr)")
    kind = "Zarr store" if _is_zarr_path(path) else "netCDF file"
    try:
        with _local_scheduler():
            if _is_zarr_path(path):
                _check_zarr_chunks(path)
                with xr.open_zarr(path) as ds:
                    ds = _netcdf_attr_types(_fixed_width_strings(ds.load()))
                    ds.attrs.pop(ZARR_ALL_CHUNKS_ATTR, None)
                    return _without_library_attrs(_one_element_attrs_restored(ds))
            engine = netcdf_engine(path)
            with xr.open_dataset(path, engine=engine) as ds:
                ds = ds.load()
                if engine == "scipy":  # netCDF-3's text reads back as object arrays
                    ds = _fixed_width_strings(ds)
                return _without_library_attrs(_netcdf_restored(ds))
    except (OSError, ValueError) as exc:
        # h5py's and zarr's own messages do not say which file they choked on
        raise ValueError(f"{name}: cannot read {str(path)!r} as a {kind}: {exc}") from exc


def _without_library_attrs(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` (loaded, owned) without :data:`NETCDF_LIBRARY_ATTRS`, its own and its
    variables': they describe the file read (h5netcdf hides some of them, not
    ``_IsNetcdf4``; zarr none), and continuing or saving the result again carried them
    into attrs that h5netcdf refused to write."""
    for attrs in (ds.attrs, *(var.attrs for var in ds.variables.values())):
        for key in NETCDF_LIBRARY_ATTRS.intersection(attrs):
            del attrs[key]
    return ds


def missing_zarr_chunks(path) -> dict:
    """The chunk files missing from a zarr store that :func:`save_dataset` wrote.

    zarr reads a missing chunk file as its fill value (NaN for floats) without a
    word: a store copied in part, or a file deleted, loaded as valid data.
    :func:`save_dataset` writes every chunk file and marks the store
    (:data:`ZARR_ALL_CHUNKS_ATTR`); a store without the mark (written by other
    tools, or before the mark) may omit chunks of fill values by design and
    is not checked.

    Parameters
    ----------
    path : str or path-like
        A zarr store (a ``.zarr`` folder).

    Returns
    -------
    dict
        Variable name -> its missing chunk files, relative to ``path``
        (``"y/c/0"``), in chunk order; empty when nothing is missing or the
        store is not marked.
    """
    import itertools

    import zarr

    group = zarr.open_group(str(path), mode="r")
    if ZARR_ALL_CHUNKS_ATTR not in group.attrs:
        return {}
    missing = {}
    for name, array in group.arrays():
        for position in itertools.product(*(range(n) for n in array.cdata_shape)):
            if hasattr(array, "metadata"):  # zarr 3
                key = f"{name}/{array.metadata.encode_chunk_key(position)}"
            else:  # zarr 2 (Python 3.10): the key with the array's path, "y/0.0"
                key = array._chunk_key(position)
            if not (Path(path) / key).is_file():
                missing.setdefault(name, []).append(key)
    return missing


def _check_zarr_chunks(path) -> None:
    """Refuse a zarr store with chunk files missing (:func:`missing_zarr_chunks`),
    naming the variables and the first missing file of each."""
    missing = missing_zarr_chunks(path)
    if missing:
        raise ValueError(f"the store is incomplete ({missing_chunks_text(missing)}): zarr "
                         "would read the missing chunks as fill values (NaN); copy the store "
                         "again, or save it anew")


def missing_chunks_text(missing: dict, show=repr) -> str:
    """``"variable 'y': 1 chunk file(s) missing, e.g. 'y/c/0'; ..."`` for the result of
    :func:`missing_zarr_chunks`, each first file given by ``show``."""
    return "; ".join(f"variable {name!r}: {len(keys)} chunk file(s) missing, e.g. "
                     f"{show(keys[0])}" for name, keys in missing.items())


def netcdf_engine(path) -> str:
    """The engine that reads the netCDF file ``path``: the package's (netCDF-4, HDF5),
    or SciPy's for a netCDF-3 file (read from its first bytes).

    Files written by other tools are often netCDF-3 ("classic", e.g. xarray's
    ``engine="scipy"``, R's ncdf4, NCO): h5netcdf refused them with "file
    signature not found", reported as "cannot read ... as a netCDF file".

    Parameters
    ----------
    path : str or os.PathLike
        A netCDF file (one that cannot be opened gets the package's engine,
        whose error then names it).

    Returns
    -------
    str
        ``"scipy"`` or :data:`NETCDF_ENGINE`.

    Raises
    ------
    TypeError
        For a ``path`` that is not a file name.
    """
    path = check_path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError:
        return NETCDF_ENGINE  # its own error names the file below
    return "scipy" if magic[:3] == b"CDF" and magic[3:] in (b"\x01", b"\x02") else NETCDF_ENGINE


def _netcdf_attr_types(ds: xr.Dataset) -> xr.Dataset:
    """Zarr's attrs (JSON) read back as Python numbers and lists; give them the types a
    netCDF reload has, NumPy scalars and 1-D arrays, so that a result reads back the same
    from either format (``ds.attrs["shape"].tolist()`` failed on the zarr reload)."""
    for attrs in (ds.attrs, *(var.attrs for var in ds.variables.values())):
        for key, value in attrs.items():
            if _is_number(value):
                attrs[key] = np.asarray(value)[()]
            elif isinstance(value, list) and value and all(_is_number(v) for v in value):
                attrs[key] = np.asarray(value)
    return ds


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fixed_width_strings(ds: xr.Dataset) -> xr.Dataset:
    """Zarr v3 reads strings back as NumPy's variable-width ``StringDType``, netCDF-3
    (SciPy's engine) as object arrays; give them the fixed-width unicode dtype a
    netCDF-4 reload has, so that a result reads back the same from every format."""
    fixed = {}
    for name, var in ds.variables.items():
        if var.dtype.kind in "TO" and all(isinstance(v, str) for v in var.values.ravel()):
            values = np.array(var.values.tolist(), dtype=str)  # <U of the longest string
            fixed[name] = xr.Variable(var.dims, values, var.attrs, var.encoding)
    return _with_variables(ds, fixed)


def _with_variables(ds: xr.Dataset, new: dict) -> xr.Dataset:
    """``ds`` with the variables ``new`` (name -> xr.Variable) in place of its own."""
    coords = {k: v for k, v in new.items() if k in ds.coords}
    return ds.assign_coords(coords).assign({k: v for k, v in new.items() if k not in coords})


#: The attr of a variable that :func:`save_dataset` wrote as float32 because it was
#: float16, which netCDF lacks: h5netcdf wrote HDF5's half floats, and the netCDF4
#: library (xarray's default engine where installed) crashed reading them
SAVED_FROM_DTYPE_ATTR = "v1model_saved_from_dtype"


def _check_no_half_float_encoding(ds: xr.Dataset) -> None:
    """Refuse a variable (not float16 itself) whose ``encoding["dtype"]`` is float16:
    h5netcdf wrote its values rounded to HDF5's half floats, unsaid, which netCDF-C
    readers crash on, and the reload came back float16."""
    for name, var in ds.variables.items():
        wanted = var.encoding.get("dtype")
        try:
            half = wanted is not None and np.dtype(wanted) == np.float16
        except TypeError:  # not a dtype: xarray's own error names it
            continue
        if half and var.dtype != np.float16:
            raise ValueError(
                f"ds: variable {name!r} ({var.dtype}) has encoding['dtype']={wanted!r}, a "
                f"float16 that netCDF has no type for (HDF5's half floats would round its "
                f"values, and netCDF-C readers crash on them): drop it "
                f"(del ds[{name!r}].encoding['dtype']) to save the values as they are, or make "
                f"the variable float16 (ds[{name!r}].astype('float16'): saved as float32, "
                f"read back as float16), or save to .zarr, which stores float16")


def _check_no_long_double(ds: xr.Dataset) -> None:
    """Refuse a long double variable (float128, complex256), which neither format has:
    h5netcdf wrote HDF5's 128-bit floats, on which netCDF-C readers (netCDF4-python,
    ncdump, ncview, MATLAB) died with a segmentation fault; complex256 and zarr failed
    with messages that named no variable."""
    for name, var in ds.variables.items():
        kind, size = var.dtype.kind, var.dtype.itemsize
        if (kind == "f" and size > 8) or (kind == "c" and size > 16):
            wide = "complex128" if kind == "c" else "float64"
            raise ValueError(
                f"ds: variable {name!r} is {var.dtype} (a long double), which netCDF and "
                f"zarr have no type for (netCDF-C readers crash on HDF5's 128-bit floats): "
                f"convert it first: ds[{name!r}] = ds[{name!r}].astype({wide!r})")


def _half_floats_widened(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with its float16 variables as float32 (exact), marked for
    :func:`_half_floats_restored`."""
    wide = {}
    for name, var in ds.variables.items():
        if var.dtype == np.float16:
            # a float16 dtype or fill value kept from a file read would be written again
            encoding = {k: v for k, v in var.encoding.items() if k not in ("dtype", "_FillValue")}
            wide[name] = xr.Variable(var.dims, var.values.astype(np.float32),
                                     {**var.attrs, SAVED_FROM_DTYPE_ATTR: "float16"}, encoding)
    return _with_variables(ds, wide) if wide else ds


def _netcdf_ready(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` as every netCDF writer of the package writes it (:func:`save_dataset`, the
    sweep's in-memory store): float16 variables widened (h5netcdf wrote HDF5's half
    floats, which netCDF-C readers crash on), a float16 ``encoding["dtype"]`` and long
    double variables and attrs that xarray reads as encoding
    (:func:`~v1model._cf_encoding.check_no_encoding_attrs`) refused.
    :func:`_netcdf_restored` undoes it on reading."""
    _check_no_half_float_encoding(ds)
    _check_no_long_double(ds)
    wide = _half_floats_widened(ds)
    # after the widening, which drops a float16 variable's own dtype encoding
    check_no_encoding_attrs(wide)
    return wide


def _netcdf_restored(ds: xr.Dataset) -> xr.Dataset:
    """A netCDF file's Dataset (loaded) as it was saved: float16 variables
    (:func:`_netcdf_ready`) and one-element list attrs restored."""
    return _one_element_attrs_restored(_half_floats_restored(ds))


def _half_floats_restored(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with the variables :func:`_half_floats_widened` marked float16 again."""
    narrow = {}
    for name, var in ds.variables.items():
        if var.attrs.get(SAVED_FROM_DTYPE_ATTR) == "float16" and var.dtype == np.float32:
            attrs = {k: v for k, v in var.attrs.items() if k != SAVED_FROM_DTYPE_ATTR}
            narrow[name] = xr.Variable(var.dims, var.values.astype(np.float16), attrs,
                                       var.encoding)
    return _with_variables(ds, narrow) if narrow else ds


def save_figure(fig, path, dpi: int = 120) -> Path:
    """Save a matplotlib figure atomically and close it.

    The format follows the suffix of ``path`` (``.png``, ``.pdf``, ``.svg``, ...).
    A ``path`` with no suffix gets ``.png`` appended and is written as PNG
    (``"results/atoms"`` writes ``results/atoms.png``): a PNG under the bare name
    was overwritten by, or overwrote, a ``net.save("results/atoms")`` beside it.
    The figure is closed also when the save is refused, fails or is interrupted
    (it stayed open, a leak in long sweeps).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
        Destination file; ``.png`` is appended when it has no suffix.
    dpi : float, default 120
        Resolution of raster formats, in dots per inch.

    Returns
    -------
    path : pathlib.Path
        The path written (``~`` expanded, ``.png`` appended to a bare name).

    Raises
    ------
    TypeError
        When ``fig`` is not a Figure.
    IsADirectoryError
        When ``path`` names a folder (``"."``, ``"results/"``, an existing
        folder); the message offers a file name in it (``figure.png``).
    ValueError
        For a suffix matplotlib cannot write (``.nc``, ``.foo``; the part of
        ``"lam_0.1"`` after its dot), naming it, the formats it can write and the
        name with ``.png`` appended.
    """
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    # closed however the save ends: a failed or interrupted one left it open, and pyplot
    # kept every such figure of a long sweep alive
    try:
        path = _destination(path, example="figure.png")
        dpi = check_positive(dpi, "dpi")
        # a bare name: "x" beside a network saved as "x" was one file (an existing folder,
        # "." or "results", is refused by atomic_path, a figure's name offered)
        if not path.suffix and not path.is_dir():
            path = path.with_name(path.name + ".png")
        fmt = path.suffix[1:].lower() or "png"  # a folder's: refused below
        supported = fig.canvas.get_supported_filetypes()
        if fmt not in supported:
            # a dot in a name ("lam_0.1") reads as a suffix: offer it with ".png" after it
            named = any(c.isdigit() for c in fmt)
            offer = path.with_name(path.name + ".png") if named else path.with_suffix(".png")
            raise ValueError(f"path: matplotlib cannot write {path.suffix!r} files "
                             f"({str(path)!r}); use one of {sorted(supported)}, e.g. "
                             f"{str(offer)!r}")
        # an existing folder ("." or "results") is refused there, a figure's name offered
        with atomic_path(path, suffix=f".{fmt}", example="figure.png") as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=fmt)
    finally:
        plt.close(fig)
    return path


#: prefix of a learning history's attrs inside a saved network's attrs
HISTORY_PREFIX = "learning_"


def attach_history(ds: xr.Dataset, history: xr.Dataset | None) -> xr.Dataset:
    """``ds`` (a saved network) with the learning history's variables (over
    ``update``) merged in and its attrs kept apart under ``learning_`` (they
    share names with the network's spec: lam, tau, ...); ``ds`` itself without one."""
    if history is None:
        return ds
    # a copy: the saved record must not change with the network's history, nor it
    out = ds.merge(history.copy(deep=True), combine_attrs="override")
    out.attrs.update({HISTORY_PREFIX + k: v for k, v in history.attrs.items()})
    return out


def detach_history(ds: xr.Dataset) -> xr.Dataset | None:
    """The learning history :func:`attach_history` put into ``ds`` (its variables over
    ``update``, its attrs without the prefix), or None."""
    names = [v for v in ds.data_vars if "update" in ds[v].dims]
    if not names:
        if any(k.startswith(HISTORY_PREFIX) for k in ds.attrs):
            # its attrs are there, its variables are not: a renamed dim or a damaged file
            raise ValueError("ds holds a learning history's attrs (learning_*) but no variable "
                             f"over 'update' (variables: {list(ds.data_vars)}); the file is "
                             "damaged or its 'update' dim was renamed")
        return None
    history = ds[names].copy(deep=True)  # the network's own, not the Dataset's arrays
    history.attrs = {k[len(HISTORY_PREFIX):]: v for k, v in ds.attrs.items()
                     if k.startswith(HISTORY_PREFIX)}
    return history


#: long_names of the histories' counters (:func:`count_coord`): a solver's, where the
#: first record is the start (0) or the state after the first iteration (1)
ITERATIONS_DONE = "iterations done when recorded"
#: a dictionary learner's history, one row per update, numbered from 0
UPDATES_BEFORE = "dictionary update: updates made before this one"
#: a history recorded after every ``record_every`` updates, counting the updates made
#: (SAILnet's: 2, 4, ... over all the calls of a continued run)
UPDATES_DONE = "updates made when recorded"


def count_coord(dim: str, counts, long_name: str) -> tuple:
    """A history's counter coordinate (``iteration``, ``update``, ``step``), labelled.

    Only the LCA's ``iteration`` had a ``long_name``; the other solvers', the
    learners' and the autoencoders' histories left their counters unlabelled (or
    each labelled them its own way): this one helper gives each the same form.

    Parameters
    ----------
    dim : str
        The history's dim, e.g. ``"iteration"``.
    counts : array_like of int, shape (n_records,)
        The counter's values (iterations, updates or steps).
    long_name : str
        What the counter counts, e.g. :data:`ITERATIONS_DONE`.

    Returns
    -------
    tuple
        ``(dim, counts as int64, {"long_name": long_name, "units": "1"})``, a
        value for ``xr.Dataset(coords={dim: ...})`` or ``assign_coords``.
    """
    return (dim, np.asarray(counts, dtype=np.int64), {"long_name": long_name, "units": "1"})


#: the value of an integer count (``n_unconverged``) in the updates of a call whose
#: learner did not record it: :func:`continue_history` (as an older saved stream's)
NOT_RECORDED_COUNT = -1


def _counts_of_every_call(history: xr.Dataset, other: xr.Dataset) -> xr.Dataset:
    """``history`` with the integer counts over ``update`` that only ``other`` has, at
    :data:`NOT_RECORDED_COUNT` for its updates: concatenated, a count one call did not
    record (an L1 call's ``n_unconverged`` continued with the Cauchy prior) became
    floats with NaN, which its int64 encoding could not save ("invalid value
    encountered in cast")."""
    missing = {}
    for name, var in other.data_vars.items():
        if (name not in history.data_vars and var.dims == ("update",)
                and np.issubdtype(var.dtype, np.integer)):
            attrs = dict(var.attrs, comment=f"{NOT_RECORDED_COUNT}: an update of a call that "
                                            "did not record it")
            missing[name] = ("update", np.full(history.sizes.get("update", 0),
                                               NOT_RECORDED_COUNT, dtype=var.dtype), attrs)
    return history.assign(missing) if missing else history


def continue_history(previous: xr.Dataset | None, history: xr.Dataset, *,
                     labels: str = "call", first_call: tuple = ()) -> xr.Dataset:
    """A network's learning history after one more ``learn()`` call.

    Parameters
    ----------
    previous : xarray.Dataset or None
        The history of the calls before (over ``update``), or None before the first.
    history : xarray.Dataset
        This call's history, with ``n_updates`` and ``init`` in its attrs (and
        ``record_every``, where the learner records one).
    labels : {"call", "run"}, default "call"
        How ``history``'s ``update`` index counts: ``"call"``, from 0 at this
        call's first update, the last update always recorded (the dictionary
        learners); ``"run"``, already over all the calls, kept as it is: the
        updates made when recorded, on a grid of the whole run that need not
        hold a call's last update (:func:`v1model.spiking.learn_sailnet`). Then
        ``previous`` counts its updates in ``n_updates``.
    first_call : tuple of str, default ()
        Attrs that say how the first call started, as ``init`` does (SAILnet's
        ``init_W``): kept from ``previous``, not compared between calls.

    Returns
    -------
    xarray.Dataset
        ``history`` appended to ``previous``, its ``update`` index shifted past the
        previous updates (``labels="call"``); attrs are this call's, except
        ``n_updates`` (the updates of all calls), ``init`` (how the first call
        started) and, after a second call, ``updates_per_call`` (one count per
        call, in order) and, where every call's history has a ``record_every``,
        ``record_every_per_call`` (one per call, in order: the spacing of the
        ``update`` index changes where they differ). Every other setting that
        differs between calls (``lam``, ``lr``, ``seed``, ``prior``, ...) gets
        ``<name>_per_call``, one value per call, in order (a bool as 0 or 1,
        as a file stores it), and
        ``changed_between_calls`` names them (comma-separated; ``""`` when
        none did; a ``wall_time`` gets its list but is not named there, as it
        differs in every call; the ``v1model_version`` that :func:`save_dataset`
        records in a file is none of a call's settings); a setting that only some calls have (e.g.
        ``inference_params.tol`` of an L1 call continued with the Cauchy prior)
        is listed too, ``"None"`` for the calls without it; an integer count over
        ``update`` that only some calls record (``n_unconverged``) is
        :data:`NOT_RECORDED_COUNT` (-1) in the updates of the others; a ``previous`` continued
        before these were kept gets none. A list holds numbers or text; one that mixes
        them (``[1e-4, "None"]``) is its JSON text, as a file gives it back: the
        history saves with xarray's own ``to_netcdf`` too.

    Raises
    ------
    ValueError
        For ``labels`` other than the two, or with ``labels="run"`` when
        ``history``'s first label is not past ``previous``'s last.
    """
    if labels not in ("call", "run"):
        raise ValueError(f"labels must be 'call' or 'run', got {labels!r}")
    if previous is None:
        return history
    if labels == "call":
        # the last update of a call is always recorded, so the index carries on from it
        done = int(previous["update"][-1]) + 1
        history = history.assign_coords(update=history["update"] + done)
    else:
        if "n_updates" not in previous.attrs:
            raise ValueError("previous has no n_updates in its attrs (needed with "
                             "labels='run'): pass the history the learner returned as it is")
        done = int(previous.attrs["n_updates"])
        if int(history["update"][0]) <= int(previous["update"][-1]):
            raise ValueError(
                f"history's update labels (from {int(history['update'][0])}) do not continue "
                f"previous's (to {int(previous['update'][-1])}) though labels='run'")
    # one call's history has no updates_per_call (a one-element list would not reload
    # from netCDF as a list)
    before = [int(n) for n in np.atleast_1d(previous.attrs.get("updates_per_call", done))]
    # the second call's alone was kept before, though it went on from the first's result
    previous, history = (_counts_of_every_call(previous, history),
                         _counts_of_every_call(history, previous))
    out = xr.concat([previous, history], dim="update", combine_attrs="override")
    out.attrs = dict(history.attrs, n_updates=done + int(history.attrs["n_updates"]),
                     init=previous.attrs.get("init", history.attrs["init"]),
                     updates_per_call=before + [int(history.attrs["n_updates"])])
    # record_every is this call's: a history continued with another one changes its
    # spacing midway, which only the list of every call's says
    if "record_every_per_call" in previous.attrs:
        every = previous.attrs["record_every_per_call"]
    elif "updates_per_call" not in previous.attrs:  # one call: its own
        every = previous.attrs.get("record_every")
    else:  # continued before the list was kept: the earlier calls' are not known
        every = None
    if every is not None and "record_every" in history.attrs:
        out.attrs["record_every_per_call"] = [int(r) for r in np.atleast_1d(every)] + [
            int(history.attrs["record_every"])]
    # the other settings, where they changed: the attrs held the last call's alone, so a
    # dictionary learned at lam 0.15, then 0.2 (or with another seed, lr, prior) said
    # lam = 0.2 for every update, and what made it was lost
    if "updates_per_call" not in previous.attrs or CHANGED_ATTR in previous.attrs:
        changed = []
        # an earlier call's setting that this call has not (inference_params.tol of an
        # L1 call continued with prior="cauchy") was lost with the attrs of that call
        earlier = [key for key in previous.attrs if not key.endswith("_per_call")] + [
            key[: -len("_per_call")] for key in previous.attrs if key.endswith("_per_call")]
        keys = list(history.attrs) + [key for key in dict.fromkeys(earlier)
                                      if key not in history.attrs]
        for key in keys:
            if (key in _AGGREGATED_ATTRS or f"{key}_per_call" in _AGGREGATED_ATTRS
                    or key in _SAVED_ATTRS or key in first_call
                    or key.endswith("_per_call")):
                continue
            if _add_per_call(out.attrs, previous.attrs, key, history.attrs.get(key),
                             len(before)) and key not in _MEASURED_ATTRS:
                changed.append(key)  # a setting, not a measurement
        out.attrs[CHANGED_ATTR] = ", ".join(changed)
    out.attrs.update({k: previous.attrs[k] for k in first_call if k in previous.attrs})
    return out


#: attrs of a continued history naming the settings that changed between calls
CHANGED_ATTR = "changed_between_calls"
#: attrs that continue_history sums or keeps itself
_AGGREGATED_ATTRS = ("n_updates", "init", "updates_per_call", "record_every", CHANGED_ATTR)
#: attrs that measure a call rather than set it: listed per call, never named as changed
_MEASURED_ATTRS = ("wall_time",)
#: attrs that save_dataset adds to the file, not to a call: a previous loaded from a file
#: had v1model_version, the next call none, and it was named as a changed setting
_SAVED_ATTRS = ("v1model_version", FORMAT_VERSION_ATTR)


def continue_calls(previous: dict, call: dict, steps: int, *,
                   steps_key: str = "steps_per_call") -> dict:
    """The attrs that record the calls of a model trained in several calls (``fit`` then
    ``partial_fit``, or ``partial_fit`` on the chunks of a stream), after one more call;
    the convention of :func:`continue_history` for models whose history attrs otherwise
    keep their first call's settings (:class:`v1model.amortized.LISTA`,
    :class:`v1model.sae.SparseAutoencoder`).

    Parameters
    ----------
    previous : dict
        The history's attrs before this call (as saved and reloaded, too).
    call : dict
        This call's settings as attrs record them (e.g. ``{"seed": seed_attr(seed)}``).
    steps : int
        Steps (or updates) this call made.
    steps_key : str, default "steps_per_call"
        The attr counting the steps of each call, in order; a ``previous`` without it
        is one call of ``previous["n_steps"]`` steps.

    Returns
    -------
    dict
        The attrs to update ``previous`` with: ``steps_key`` (one count per call) and,
        for each setting of ``call`` that differs between the calls, ``<name>_per_call``
        (one value per call, in order; ``previous``'s ``<name>`` stands for every
        earlier call without a list; None as ``"None"``). The lists of ``previous``
        that are Python lists are extended in place (a stream of many calls takes
        constant time per call): pass a ``previous`` that owns them. A list may mix
        numbers and text (``[0, "None"]``), which xarray's ``to_netcdf`` cannot
        store: pass the attrs through :func:`clean_attrs` (JSON text) before they
        reach a Dataset, as the histories of LISTA and the autoencoder do.
    """
    counts = previous.get(steps_key, previous.get("n_steps"))
    if not isinstance(counts, list):  # one call, or the lists as a file gives them back
        counts = [int(n) for n in np.atleast_1d(counts)]
    n_before = len(counts)
    counts.append(int(steps))
    out = {steps_key: counts}
    for key, value in call.items():
        values = previous.get(f"{key}_per_call")
        if isinstance(values, list):  # they differed already: this call's goes on the end
            values.append(_storable_item(value))
            out[f"{key}_per_call"] = values
        else:
            _add_per_call(out, previous, key, value, n_before, as_text=False)
    return out


def _add_per_call(out: dict, previous: dict, key: str, value, n_before: int, *,
                  as_text: bool = True) -> bool:
    """Set ``out["<key>_per_call"]`` to the ``n_before`` values of ``key`` that
    ``previous`` (a history's attrs) records and this call's ``value``, when they
    differ; whether they did. ``as_text``: a list mixing numbers and text as its JSON
    text (:func:`_storable_list`), else as a list (which :func:`clean_attrs` turns to
    that text when the attrs reach a Dataset)."""
    if f"{key}_per_call" not in previous and _same_attr(previous.get(key), value):
        # every call had it: in constant time (a stream of many partial_fit calls
        # compares a dozen settings per call)
        return False
    values = [_storable_item(v) for v in _per_call(previous, key, n_before) + [value]]
    if all(_same_attr(v, values[0]) for v in values[1:]):
        return False
    out[f"{key}_per_call"] = _storable_list(values) if as_text else values
    return True


def _storable_item(value):
    """One call's value in a ``<name>_per_call`` list: None as ``"None"`` (a list holding
    None failed xarray's own ``to_netcdf`` with "Object dtype dtype('O') has no native
    HDF5 equivalent"), a bool as the 0/1 a file gives back ([True, False] reloaded as
    [1, 0], and the next call appended False to it, [1, 0, False]), a NumPy scalar as
    the Python number it holds (a loaded history's lam, np.float64(0.15), began
    ``[np.float64(0.15), 0.2]``)."""
    if value is None:
        return "None"
    if isinstance(value, (np.number, np.bool_, np.str_)):
        value = value.item()
    return int(value) if isinstance(value, bool) else value


def _same_kind(a, b) -> bool:
    """Both text, or both numbers: a list of them netCDF stores as it is."""
    number = (int, float, np.integer, np.floating)
    return (isinstance(a, str) and isinstance(b, str)) or (
        isinstance(a, number) and isinstance(b, number))


def _storable_list(values: list):
    """``values`` (of :func:`_storable_item`) as netCDF stores them with xarray's own
    ``to_netcdf``: a list of numbers or of text as it is, another one (numbers mixed with
    text such as "None", or lists) as its JSON text, as :func:`clean_attrs` saves it
    (h5py refused ``[0.1, "None"]``: "No conversion path for dtype: dtype('<U32')");
    :func:`_per_call` reads either back."""
    if all(_same_kind(v, values[0]) for v in values[1:]) and (
            isinstance(values[0], str) or _fits_one_dtype(values)):
        return values
    return json.dumps(values, default=_json_default)


def _per_call(attrs: dict, key: str, n_calls: int) -> list:
    """The value of ``key`` in each of the ``n_calls`` calls a history's ``attrs``
    describe: its ``<key>_per_call`` (a list; an array or JSON text once saved), else
    its one value, the same in every call (None when absent)."""
    if f"{key}_per_call" not in attrs:
        return [attrs.get(key)] * n_calls
    values = attrs[f"{key}_per_call"]
    if isinstance(values, str):  # a list of text or of mixed types, saved as JSON
        values = json.loads(values)
    return list(np.asarray(values).tolist() if isinstance(values, np.ndarray) else values)


def _same_attr(a, b) -> bool:
    """Two attr values are equal (numbers of any type, text, arrays; None as saved, "None")."""
    a, b = ("None" if v is None else v for v in (a, b))
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):
        return False


class SavedAsDataset:
    """``save`` and ``load`` for a class that converts itself to and from an
    xarray Dataset (``to_dataset()`` and the classmethod ``from_dataset(ds)``):
    one copy of the two methods the networks, LISTA, the dictionary learner
    and the sparse autoencoder share."""

    def save(self, path) -> Path:
        """Save :meth:`to_dataset` atomically as netCDF (``.nc``) or zarr (``.zarr``).

        Parameters
        ----------
        path : str or path-like
            Destination file or store.

        Returns
        -------
        path : pathlib.Path
            The path written.

        Raises
        ------
        ValueError
            For a ``path`` with another format's suffix (``.npy``, ``.pkl``, ...;
            :data:`v1model.io.OTHER_FORMAT_SUFFIXES`), before anything is written.
        """
        return save_dataset(self.to_dataset(), path)

    @classmethod
    def load(cls, path):
        """The object written by :meth:`save`, through :meth:`from_dataset`.

        Parameters
        ----------
        path : str or path-like
            File or zarr store written by :meth:`save`.

        Returns
        -------
        object
            An instance of this class, as :meth:`from_dataset` gives it.

        Raises
        ------
        ValueError
            Naming ``path``, when it cannot be read or holds no saved object of
            this class (e.g. an autoencoder's file given to a network's
            ``load``, or a study's result).
        """
        ds = load_dataset(path)
        try:
            return cls.from_dataset(ds)
        except ValueError as exc:
            # from_dataset's own message names "ds", which the caller never gave
            raise ValueError(f"path: cannot load {str(check_path(path))!r} as a "
                             f"{cls.__name__}: {exc}") from exc
