"""Cheap checks of the parameters several studies share, made before a sweep's
pre-flight stops (:func:`v1model.sweep.parameters_checked`): a value the study
would refuse after loading images or learning is refused at once, with the
message the later check gives."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["check_dictionary_memory", "check_grating_drive", "check_images", "child_seeds",
           "dictionary_working_bytes", "image_count", "image_source_attr", "path_attr",
           "PREWHITENED_MEANS"]

#: what ``prewhitened=None`` stands for in every study that takes images (a study's
#: ``NONE_MEANS``, shown by ``v1model study show``): see stimuli.images.is_prewhitened
PREWHITENED_MEANS = ("guessed from images: True for Olshausen's whitened files (a sparsenet "
                     "raw folder, an IMAGES.mat), else False")


def check_images(images, prewhitened=None, name: str = "images") -> None:
    """What :func:`stimuli.images.load_whitened` checks of ``images`` and
    ``prewhitened`` without loading anything.

    ``prewhitened`` is None or a bool; ``images`` is ``"skimage"``, an existing
    path (a folder, a ``.mat`` file or an image file) or an array of 2 or 3
    dimensions. Unreadable files, folders without images and NaN pixels are
    found when the images are loaded.

    Raises
    ------
    TypeError
        For a ``prewhitened`` that is not a bool or None, or an ``images`` that
        is neither a path nor an array (a number, None).
    FileNotFoundError
        For a path that does not exist.
    ValueError
        For a file that is neither a ``.mat``, an image file nor a sparsenet raw
        file, or an array
        that is not 2-D or 3-D or of 64-bit integers.
    """
    from stimuli.images import image_source_path
    from v1model.validation import check_bool, describe

    if prewhitened is not None:
        check_bool(prewhitened, "prewhitened")
    if isinstance(images, str) and images == "skimage":
        return
    if isinstance(images, (str, os.PathLike)):
        image_source_path(images, name)  # load_images' own check
        return
    try:
        ndim = np.ndim(images)
    except ValueError as exc:  # a ragged list; the message of v1model.validation.check_array
        raise TypeError(f"{name} must be a numeric array, got {describe(images)}") from exc
    if ndim == 0:  # a number or None: no path and no array of pictures
        raise TypeError(f"{name} must be 'skimage', a path (a .mat file, an image file or a "
                        f"folder) or an array of images, got {describe(images)}")
    if ndim not in (2, 3):  # the message of v1model.validation.check_array
        raise ValueError(f"{name} must have 2 or 3 dimension(s), got {ndim} "
                         f"(shape {np.shape(images)})")
    from stimuli.images import _integer_pixels

    _integer_pixels(images, name)  # 64-bit integer pixels are refused


def image_count(images) -> int | None:
    """How many pictures :func:`stimuli.images.load_images` reads from ``images``
    (accepted by :func:`check_images`), where that is known without reading a pixel:
    the scenes the installed scikit-image ships for ``"skimage"``, the picture (or
    sparsenet raw) files of a folder, 1 for a picture file, a PIL image, a 2-D array or
    one colour picture (height, width, 3 or 4), the first axis of another 3-D array (a
    DataArray's ``image`` or ``sample`` dim); None where only loading tells (a ``.mat``
    file, a DataArray naming neither dim)."""
    from stimuli.images import _is_colour_array, _is_pil_image, _skimage_files, _source_files

    if isinstance(images, str) and images == "skimage":
        return len(_skimage_files()[1])
    if isinstance(images, (str, os.PathLike)):
        files = _source_files(images)
        return None if files is None else len(files)
    # load_images reads these as one picture: an RGB (256, 256, 3) array counted 256
    if np.ndim(images) == 2 or _is_pil_image(images) or _is_colour_array(images):
        return 1
    dims = getattr(images, "dims", None)
    if dims is None:
        return int(np.shape(images)[0])
    named = [d for d in ("image", "sample") if d in dims]
    return int(images.sizes[named[0]]) if named else None


def check_grating_drive(lam, contrast, shape, contrast_name: str) -> None:
    """Refuse a ``lam`` that no grating of amplitude ``contrast`` can exceed.

    A grating of amplitude ``c`` on an ``h x w`` patch has norm at most
    ``c * sqrt(h * w)``, so it drives a unit-norm atom by ``|<d, x>|`` no more
    than that: with ``lam`` at or above it every LCA code is zero, whatever
    the dictionary. Checked before the dictionary is learned (minutes for a
    full run), where the studies' own check, after the grating protocol,
    would find no responsive unit.

    Parameters
    ----------
    lam : float
        The LCA threshold (units of X).
    contrast : float
        The grating amplitude (units of X).
    shape : tuple of int or None
        ``(h, w)`` of the patch; None (not known yet) skips the check.
    contrast_name : str
        The study's name of ``contrast``, for the message.

    Raises
    ------
    ValueError
        When ``lam >= contrast * sqrt(h * w)``.
    """
    if shape is None:
        return
    h, w = shape
    bound = float(contrast) * float(np.sqrt(h * w))
    if lam >= bound:
        raise ValueError(f"lam={lam!r} is at least the largest drive |<d, x>| = "
                         f"{contrast_name} * sqrt(pixels) = {bound:.3g} that a grating of "
                         f"{contrast_name}={contrast!r} gives a unit-norm atom on the {h}x{w} "
                         f"patch: no unit can respond; lower lam below {bound:.3g} or raise "
                         f"{contrast_name}")


def child_seeds(seed, n: int) -> list:
    """``n`` independent streams of a study's ``seed``, as SeedSequences.

    ``seed`` takes what :func:`v1model.validation.as_generator` takes, as the
    other studies do (``SeedSequence(seed)`` took only an int, and failed with
    NumPy's own error for a Generator or a SeedSequence): an int or None gives
    the children of ``SeedSequence(seed)``; a SeedSequence the children its
    int would give (the object is not spawned from, so a second run gives the
    same result); a Generator those of the SeedSequence that seeded it, counted
    as spawned from it (``Generator.spawn``: a second run differs).

    Parameters
    ----------
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
    n : int
        Number of streams.

    Returns
    -------
    list of numpy.random.SeedSequence

    Raises
    ------
    TypeError, ValueError
        For a seed that :func:`~v1model.validation.as_generator` refuses.
    """
    from v1model.validation import as_generator

    as_generator(seed)  # a seed of 2.5 or -1, refused by name
    if isinstance(seed, np.random.Generator):
        bits = seed.bit_generator
        # seed_seq is public from NumPy 1.25; _seed_seq before
        return (getattr(bits, "seed_seq", None) or bits._seed_seq).spawn(n)
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key,
                                      pool_size=seed.pool_size).spawn(n)
    # an int, also as a 0-d array or DataArray (a seed read from a result)
    return np.random.SeedSequence(None if seed is None else int(np.asarray(seed))).spawn(n)


def image_source_attr(images) -> str:
    """How a result's attrs name its image source: the source as given for
    ``"skimage"`` and paths; for an array, its shape and dtype (``str()`` of an
    array is a truncated printout of its values)."""
    if isinstance(images, (str, os.PathLike)):
        # a path as typed ("rawsub", "~/imgs") names nothing once the file is elsewhere
        return images if images == "skimage" else path_attr(images)
    shape = np.shape(images)
    dtype = getattr(images, "dtype", None)
    return f"array of shape {shape}" + (f" ({dtype})" if dtype is not None else "")


def path_attr(path) -> str:
    """How a result's attrs name a file or folder it was made from: the absolute path
    (a path as typed, ``"results/of96/x.nc"`` or ``"~/wavs"``, names nothing once the
    result is read from another folder or by another user; ``"$DATA/imgs"`` names nothing
    where DATA is not set)."""
    from v1model.validation import check_path

    return str(check_path(path, kind="file or folder").resolve())


def dictionary_working_bytes(n_atoms: int, n_features: int, n_samples: int,
                             held: dict | None = None) -> dict:
    """The arrays a study holds at once while it learns or codes with a dictionary,
    in bytes: a lower bound of its working memory.

    Every solver that codes many patches (FISTA, LCA, OMP, the learners) builds the
    Gram matrix ``D D^T`` of ``n_atoms**2`` entries beside the dictionary and the
    patches (float64 counted); its step size, the largest eigenvalue of that Gram
    (:func:`v1model.inference._common.spectral_norm_gram`), holds one float64 array
    of the smaller of ``D D^T`` and ``D^T D`` more: a copy of the solver's own Gram
    when that is the smaller one, ``D^T D`` otherwise (LAPACK works in it: no
    second copy since 2026-12-07, when ``np.linalg.eigvalsh``'s copy and, in FISTA
    and IHT, a second ``D D^T`` went). ``held`` adds what the study itself keeps
    beside them. The codes, the solvers' other buffers and the interpreter come on
    top.

    Parameters
    ----------
    n_atoms : int
        Atoms of the largest dictionary the study builds.
    n_features : int
        Pixels of a patch.
    n_samples : int
        Patches held at once (training and evaluation patches together).
    held : dict, optional
        What the study holds besides, ``{description: bytes}``, e.g.
        ``{"3x40000x10000 float32 learned dictionaries": 4.8e9}``: the description
        names it in :func:`check_dictionary_memory`'s message.

    Returns
    -------
    dict
        ``{"Gram matrix": ..., "spectral norm": ..., "dictionary": ..., "patches": ...}``
        and the entries of ``held``, bytes as floats (no overflow for any size given).
    """
    item = float(np.dtype(np.float64).itemsize)
    k, n, m = float(n_atoms), float(n_features), float(n_samples)
    parts = {"Gram matrix": item * k * k, "spectral norm": item * min(k, n) ** 2,
             "dictionary": item * k * n, "patches": item * m * n}
    for name, nbytes in (held or {}).items():
        parts[name] = float(nbytes)
    return parts


def check_dictionary_memory(n_atoms: int, n_features: int, n_samples: int,
                            given: str, held: dict | None = None) -> None:
    """Refuse, before anything is allocated, a dictionary whose working memory
    (:func:`dictionary_working_bytes`) exceeds the memory still available to this
    process: :func:`v1model.validation.physical_memory` (the RAM, a control group's
    limit or ``ulimit -v``) less what the process holds already (its address space
    under ``ulimit -v``, its resident set otherwise).

    Past that limit the run failed late, after the images were loaded and the patches
    sampled, at the Gram matrix ``D @ D.T`` (``rozell-2008-lca --quick -p
    patch_size=100``: 20000 atoms of 10000 pixels): with NumPy's MemoryError naming no
    parameter under ``ulimit -v 6000000``, and once with a segmentation fault (exit
    139) at that line, which a MemoryError cannot be turned into (OpenBLAS does not
    check all of its own allocations).

    Parameters
    ----------
    n_atoms, n_features, n_samples : int
        As in :func:`dictionary_working_bytes`.
    held : dict, optional
        As in :func:`dictionary_working_bytes`.
    given : str
        The study parameters that set these sizes, as the user gave them, e.g.
        ``"patch_size=100, n_atoms=20000"``: the message names them.

    Raises
    ------
    ValueError
        When the working memory exceeds the memory this process may use (no check
        when that cannot be told).
    """
    from v1model.validation import address_space_limit, physical_memory

    parts = dictionary_working_bytes(n_atoms, n_features, n_samples, held)
    needed = sum(parts.values())
    limit = physical_memory()
    if limit is None:
        return
    # what the process holds already counts against the limit: its address space under
    # ulimit -v (the interpreter and libraries, ~0.5 GB), its resident set otherwise
    space = address_space_limit()
    in_use = _memory_in_use(address_space=space is not None and space <= limit)
    available = limit - in_use
    if needed <= available:
        return
    gib = 2.0**30
    extra = "".join(f", and the {name} ({parts[name]:.3g} bytes)" for name in held or {})
    raise ValueError(
        f"{given} needs at least {needed:.4g} bytes ({needed / gib:.3g} GiB) of working "
        f"memory: the {n_atoms}x{n_atoms} Gram matrix D D^T ({parts['Gram matrix']:.3g} "
        f"bytes), one more of the smaller Gram for its spectral norm "
        f"({parts['spectral norm']:.3g} bytes), the {n_atoms}x{n_features} dictionary "
        f"({parts['dictionary']:.3g} bytes) "
        f"and {n_samples} patches of {n_features} pixels ({parts['patches']:.3g} bytes), "
        f"float64{extra}; this process may use {available:.4g} bytes ({available / gib:.3g} GiB: "
        f"the RAM, a control group's or ulimit -v's limit, {limit:.4g} bytes, less the "
        f"{in_use:.3g} it holds); lower patch_size or the number of atoms")


def _memory_in_use(address_space: bool) -> float:
    """Bytes this process holds: its address space (``address_space`` True) or its
    resident set, from ``/proc/self/statm``; 0 where that cannot be read (not Linux)."""
    try:
        fields = Path("/proc/self/statm").read_text().split()
        return float(fields[0 if address_space else 1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
