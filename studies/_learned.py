"""A learned dictionary for the analysis studies: loaded from a saved result or
learned with the ``olshausen-field-1996`` study."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import numpy as np

from v1model._frames import user_stacklevel

#: The source checkout these studies sit in (the folder with pyproject.toml), or
#: None for an installed package, whose folder (site-packages) holds no reference data.
CHECKOUT = Path(__file__).resolve().parents[1]
CHECKOUT = CHECKOUT if (CHECKOUT / "pyproject.toml").is_file() else None
#: Where the project's reference data sits beside a development checkout (None: installed).
SHARED_DATA = CHECKOUT / ".." / "shared" / "data" if CHECKOUT is not None else None


def _given(dictionary) -> bool:
    if not (dictionary is None or isinstance(dictionary, (str, Path))):
        # str() of an array made a 'file name' (OSError: File name too long)
        raise TypeError(f"dictionary must be the path of a saved dictionary (.nc), got "
                        f"{type(dictionary).__name__}; save the atoms first, e.g. "
                        "SparseCodingNetwork(D).save(path)")
    return dictionary is not None and str(dictionary).strip().lower() not in ("", "none",
                                                                              "null")


def check_dictionary_source(dictionary=None, n_updates=None, images="skimage",
                            seed=None) -> None:
    """The cheap checks of :func:`learned_dictionary`'s arguments (no loading,
    no learning): ``seed`` is one :func:`v1model.validation.as_generator` takes,
    a given file exists, and no ``n_updates`` comes with it (it
    would be ignored; ``images`` are, as a sweep may set them for every point);
    otherwise ``n_updates`` is a positive int and ``images`` a source the
    learning can load (:func:`studies._checks.check_images`)."""
    from studies._checks import check_images
    from v1model.validation import as_generator, check_int, check_path

    # checked only by the learning before: with a dictionary file, ringach-2002 ran
    # seed=1.5 and recorded seed="float", and activity-ratio refused it after loading
    as_generator(seed)
    if _given(dictionary):
        path = check_path(str(dictionary), "dictionary")
        if not path.exists():
            raise FileNotFoundError(f"dictionary: no such file: {str(path)!r}")
        # the atoms are loaded, not learned: n_updates beside them was ignored without a
        # word (and the attrs recorded the file's own n_updates)
        if n_updates is not None:
            raise ValueError(f"n_updates={n_updates!r} has no effect with dictionary="
                             f"{str(dictionary)!r}: the atoms are loaded, not learned; "
                             "leave n_updates out, or leave dictionary out to learn them")
        return
    if n_updates is not None:
        check_int(n_updates, "n_updates", minimum=1)
    check_images(images, name="images")


#: Learning updates of the dictionary a quick analysis study learns (the
#: ``olshausen-field-1996`` study's own quick run has 1,500).
QUICK_UPDATES = 1000
#: what ``dictionary=None`` and ``n_updates=None`` stand for in an analysis study (its
#: ``NONE_MEANS``, shown by ``v1model study show``); 3000 is the full
#: ``olshausen-field-1996`` run's (prior "l1")
DICTIONARY_MEANS = {
    "dictionary": "learned, as the olshausen-field-1996 study does",
    "n_updates": f"{QUICK_UPDATES} with --quick, else olshausen-field-1996's full 3000; "
                 "unused with a dictionary",
}


def default_updates(n_updates, *, quick: bool, dictionary=None):
    """The ``n_updates`` an analysis study passes to :func:`learned_dictionary`:
    :data:`QUICK_UPDATES` for a quick run that learns its dictionary (also when
    ``dictionary`` is ``"none"`` or ``""``, which learn one as None does), else
    ``n_updates`` as given (None: the ``olshausen-field-1996`` study's default)."""
    if n_updates is None and quick and not _given(dictionary):
        return QUICK_UPDATES
    return n_updates


#: Patch side of the dictionary :func:`learned_dictionary` learns, by ``quick``: the
#: ``olshausen-field-1996`` defaults (tests/studies/test_learned_dictionary.py checks them
#: against that study), known before anything is learned.
LEARNED_PATCH_SIZE = {True: 8, False: 16}


def _atom_dim(ds, dictionary) -> str:
    """The name of the atoms' dim of ``ds``'s ``dictionary`` variable (``atom``, or
    ``unit`` in files of v1model <= 0.1.0); a variable missing or not (atom, y, x) in
    some order is refused, naming the file."""
    dims = ds["dictionary"].dims if "dictionary" in ds else None
    first = next((d for d in ("atom", "unit") if d in (dims or ())), None)
    if dims is None or len(dims) != 3 or first is None or not {"y", "x"} <= set(dims):
        found = "no 'dictionary' variable" if dims is None else \
            f"a 'dictionary' variable with dims {dims}"
        raise ValueError(f"dictionary: {str(dictionary)!r} has {found}; expected dims "
                         "(atom, y, x)")
    return first


def dictionary_patch_shape(dictionary=None, *, quick: bool, patch_size: int | None = None):
    """``(height, width)`` of the atoms :func:`learned_dictionary` would return, known
    without learning anything or loading a pixel, so that a study checks its
    patch-dependent parameters before a sweep's pre-flight stops.

    A given file's shape is read from its metadata (a file whose ``dictionary``
    variable is missing or not (atom, y, x) is refused as :func:`learned_dictionary`
    refuses it); a file that cannot be opened gives None (its load says why).
    Otherwise the patch of the learning: ``patch_size`` (pixels, the side) when given,
    as :func:`learned_dictionary` takes it, else ``LEARNED_PATCH_SIZE[quick]``: 8x8
    quick, 16x16 full.
    """
    if not _given(dictionary):
        side = LEARNED_PATCH_SIZE[bool(quick)] if patch_size is None else int(patch_size)
        return side, side
    import xarray as xr

    from v1model.io import netcdf_engine
    from v1model.validation import check_path

    path = check_path(str(dictionary), "dictionary")
    try:  # lazily: the metadata only
        opened = (xr.open_zarr(path) if path.suffix.lower() == ".zarr"
                  else xr.open_dataset(path, engine=netcdf_engine(path)))
    except (OSError, ValueError):  # what load_dataset reports as unreadable
        return None
    with opened as ds:
        _atom_dim(ds, dictionary)
        return int(ds.sizes["y"]), int(ds.sizes["x"])


def learned_dictionary(dictionary=None, *, quick: bool, seed: int, images: str = "skimage",
                       n_updates: int | None = None, progress: bool = False,
                       prewhitened: bool | None = None, study: str | None = None,
                       patch_size: int | None = None):
    """Unit-norm atoms as images ``(n_atoms, h, w)``, a description of their source,
    and the attrs that record it (``dictionary``: the file's absolute path or
    ``"learned"``; ``n_updates``: the learning updates, when known; for a learned
    dictionary also its provenance, prefixed ``dictionary_``: ``dictionary_study``
    and every parameter of that study's run as it recorded it, defaults resolved,
    e.g. ``dictionary_seed``, ``dictionary_images``, ``dictionary_lam``,
    ``dictionary_patch_size``, ``dictionary_n_patches``, ``dictionary_lr``).

    Parameters
    ----------
    dictionary : str or path, optional
        A netCDF file with a ``dictionary`` variable (atom, y, x), e.g. the
        output of ``v1model study run olshausen-field-1996`` or
        ``SparseCodingNetwork.save``. Default: learn one now with the
        ``olshausen-field-1996`` study (its quick variant when ``quick``).
    quick, seed, images, n_updates, progress, prewhitened, patch_size
        Passed to that study (``prewhitened`` and ``patch_size`` only when given:
        ``patch_size``, the side in pixels, also sets its ``n_atoms``, a complete basis;
        default ``LEARNED_PATCH_SIZE[quick]``, the quick dictionary the analysis
        studies share). Unused with a ``dictionary`` file.
    study : str, optional
        The calling study's name: the solvers' warnings of the learning name it (its
        ``-p`` parameters, and that the learning's solver settings are fixed there),
        not ``olshausen-field-1996``'s parameters, which its user does not set. None:
        those of ``olshausen-field-1996``.
    """
    if _given(dictionary):
        from v1model.io import load_dataset

        ds = load_dataset(dictionary, name="dictionary")
        # files of v1model <= 0.1.0 name the first dim of the analysis studies "unit"
        ds = ds.transpose(_atom_dim(ds, dictionary), "y", "x", ...)  # by name, not position
        D = ds["dictionary"].values.astype(np.float64)
        from studies._checks import path_attr

        source = path_attr(dictionary)
        meta = {"dictionary": source}
        # a study output records n_updates; SparseCodingNetwork.save, learning_n_updates
        for key in ("n_updates", "learning_n_updates"):
            if key in ds.attrs:
                meta["n_updates"] = int(ds.attrs[key])
                break
    else:
        from studies import get_study

        params = {"images": images, "progress": progress}
        if n_updates is not None:
            params["n_updates"] = n_updates
        if prewhitened is not None:  # an array of whitened images: not whitened again
            params["prewhitened"] = prewhitened
        if patch_size is not None:  # a study's own patch (zhu-rozell's quick 12x12)
            params["patch_size"] = patch_size
        run = get_study("olshausen-field-1996").run
        if study is None:
            ds = run(quick=quick, seed=seed, **params)
        else:
            from studies._shortfall import run_for

            # its warnings named olshausen-field-1996's -p parameters (heldout_max_iter),
            # which the calling study takes under other names or not at all
            with run_for(study, "the olshausen-field-1996 run learning its dictionary "
                                "(to set them, run that study and pass its result as "
                                "-p dictionary=PATH)"):
                ds = run(quick=quick, seed=seed, **params)
        D = ds["dictionary"].values.astype(np.float64)
        # the images as the learning recorded them (resolved), not as typed: a relative
        # path names nothing once the result is read from another folder
        # the learning's record of its seed: a Generator's state before it drew (after, the
        # study's seed_attr(seed) could only say "not reproducible")
        recorded = ds.attrs.get("seed", seed)
        source = (f"learned by olshausen-field-1996 (quick={quick}, seed={recorded}, "
                  f"n_updates={ds.attrs.get('n_updates')}, images={ds.attrs['images']})")
        meta = {"dictionary": "learned", "n_updates": int(ds.attrs["n_updates"])}
        # which dictionary: the learning's parameters (its defaults may change between
        # versions) and images, that the result alone tells, under a prefix of their own
        learning = ("study", *inspect.signature(run).parameters)
        meta.update({f"dictionary_{k}": ds.attrs[k] for k in learning if k in ds.attrs})
    from v1model.validation import check_dictionary

    # unit-norm atoms; an all-zero atom is refused under the parameter's name
    flat = check_dictionary(D.reshape(len(D), -1), "dictionary", normalized=True)
    return flat.reshape(D.shape), source, meta


#: ``attrs["images"]`` of an analysis study given a dictionary file: its images would only
#: have learned one (a sweep may set them for every point), so none were loaded
IMAGES_NOT_USED = "(not used: dictionary given)"


def images_attr(meta) -> str:
    """``attrs["images"]`` of a study whose images only learn its dictionary, from the
    ``meta`` :func:`learned_dictionary` returned: the source the learning loaded, as it
    recorded it (resolved, ``dictionary_images``), or :data:`IMAGES_NOT_USED` for a
    dictionary file."""
    return meta["dictionary_images"] if meta["dictionary"] == "learned" else IMAGES_NOT_USED


def a144_path(reference=None):
    """Path of Olshausen's sparsenet basis A144.mat, or None when absent/disabled.

    ``reference`` None looks beside the project (``../shared/data/olshausen``
    of the checkout, then of the working directory) and warns when neither
    holds the file; ``"none"`` (or ``"null"``) leaves the basis out; a path must exist.
    """
    if reference is not None:
        if not isinstance(reference, (str, Path)):
            raise TypeError(f"reference must be a path to A144.mat or 'none', got "
                            f"{reference!r}")
        if str(reference).strip().lower() in ("", "none", "null", "false"):
            return None
        from v1model.validation import check_path

        path = check_path(reference, "reference")
        if not path.exists():
            raise FileNotFoundError(f"reference: no such file: {str(path)!r}")
        return path
    # a source checkout keeps the reference data beside the project; an
    # installed package looks beside the working directory's project instead
    relative = Path("..") / "shared" / "data" / "olshausen" / "A144.mat"
    candidates = {}  # resolved path -> (the path, how to name it to the user)
    if SHARED_DATA is not None:
        path = Path(SHARED_DATA) / "olshausen" / "A144.mat"
        candidates[path.resolve()] = (path, f"{str(path.resolve())!r} (beside the checkout)")
    candidates.setdefault((Path.cwd() / relative).resolve(), (
        Path.cwd() / relative,
        f"{str(relative)!r} (from the current directory, {str(Path.cwd())!r})"))
    for path, _ in candidates.values():
        if path.exists():
            return path
    # the figure would lose the A144 comparison without a word otherwise
    warnings.warn(
        "reference: no A144.mat (Olshausen's sparsenet basis) found at "
        + " or at ".join(named for _, named in candidates.values())
        + "; the results compare the learned atoms only. Pass -p reference=PATH "
        "(reference=PATH in Python) with the path of A144.mat to add the sparsenet basis, "
        "or -p reference=none to leave it out without this warning", UserWarning,
        # the line that called the study (a144_path's caller is a study's run, itself
        # called through the package's decorators), not the study's own
        stacklevel=user_stacklevel(skip=("studies",)))
    return None


def load_a144(path, name: str = "reference"):
    """The sparsenet basis as images (144, 12, 12): one column of ``A`` per atom,
    reshaped column-major as MATLAB stores it. A file that is not such a basis is
    a ValueError naming ``name`` and the file."""
    from scipy.io import loadmat

    try:
        content = loadmat(path)
    except Exception as exc:  # noqa: BLE001 - SciPy's messages do not name the file
        raise ValueError(f"{name}: cannot read {str(path)!r} as a .mat file: {exc}") from exc
    if "A" not in content:
        found = sorted(k for k in content if not k.startswith("__"))
        raise ValueError(f"{name}: {str(path)!r} has no key 'A' (sparsenet's basis); it "
                         f"holds {found}")
    try:
        A = np.asarray(content["A"], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: {str(path)!r} key 'A' is not a numeric array") from exc
    side = int(round(np.sqrt(A.shape[0]))) if A.ndim == 2 else 0
    if A.ndim != 2 or side < 2 or side * side != A.shape[0] or not np.all(np.isfinite(A)):
        raise ValueError(f"{name}: {str(path)!r} key 'A' has shape {A.shape}; expected a "
                         "finite (pixels, atoms) basis of square atoms, one per column "
                         "(A144.mat: (144, 144))")
    return np.stack([A[:, i].reshape(side, side, order="F") for i in range(A.shape[1])])
