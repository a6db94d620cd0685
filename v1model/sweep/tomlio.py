"""Reading TOML (``tomllib``, or ``tomli`` on Python 3.10) and writing the
small subset of TOML a normalised sweep spec needs."""

from __future__ import annotations

import json
import math
import numbers
import re
import shlex
from pathlib import Path

try:  # Python >= 3.11
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None

from .errors import SpecError

__all__ = ["read_toml", "loads_toml", "dumps_toml", "toml_value"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def loads_toml(text: str, source: str = "spec") -> dict:
    """Parse TOML text; syntax errors become :class:`SpecError` naming ``source``.

    Parameters
    ----------
    text : str
        TOML document.
    source : str, default "spec"
        Where the text came from, named in error messages.

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    SpecError
        For text that is not valid TOML.
    """
    if tomllib is None:  # pragma: no cover
        raise ImportError("reading sweep specs on Python 3.10 needs the 'tomli' package "
                          "(pip install tomli)")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(source, f"not valid TOML: {exc}") from None


def read_toml(path) -> dict:
    """Read a TOML file.

    Parameters
    ----------
    path : str or path-like
        The file (UTF-8).

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    FileNotFoundError
        For a ``path`` that is not a file (the message says when it is a folder).
    SpecError
        For a file that cannot be read or is not valid TOML.
    """
    path = Path(path)
    if path.is_dir():
        # "no such file: '.'" read as if the folder were missing
        from .storage import is_sweep_folder

        hint = (f"; to continue the sweep in it: `v1model sweep resume "
                f"{shlex.quote(str(path))}`" if is_sweep_folder(path) else "")
        raise FileNotFoundError(f"spec: {str(path)!r} is a folder; a sweep spec is a TOML "
                                f"file (e.g. examples/sweeps/lca_sweep.toml){hint}")
    if not path.is_file():
        raise FileNotFoundError(f"spec: no such file: {str(path)!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), f"cannot read the file: {exc}") from None
    return loads_toml(text, str(path))


def _string(text: str) -> str:
    """A TOML basic string. JSON's escapes are TOML's, but its ``\\uXXXX`` surrogate
    pairs for characters beyond U+FFFF are not (TOML wants scalar values): those
    are written as themselves (the file is UTF-8), and DEL, which JSON leaves raw
    and TOML refuses, escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def toml_value(value) -> str:
    """One value as TOML writes it (``false``, ``"text"``, ``[1, 2]``).

    Parameters
    ----------
    value : bool, number, str, Path, list, tuple or dict

    Returns
    -------
    str
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Path):
        return _string(str(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML: {value!r}")


def dumps_toml(data: dict) -> str:
    """Write a dict as TOML: scalars first, then one ``[table]`` per dict
    (nested once, ``[a.b]``); deeper dicts become inline tables.

    Parameters
    ----------
    data : dict
        Keys are str; values are TOML-writable (:func:`toml_value`).

    Returns
    -------
    str
        The TOML document.
    """
    lines = []
    for key, value in data.items():
        if not isinstance(value, dict):
            lines.append(f"{_key(key)} = {toml_value(value)}")
    for key, value in data.items():
        if not isinstance(value, dict):
            continue
        lines.append("")
        lines.append(f"[{_key(key)}]")
        for k, v in value.items():
            if not isinstance(v, dict):
                lines.append(f"{_key(k)} = {toml_value(v)}")
        for k, v in value.items():
            if isinstance(v, dict):
                lines.append("")
                lines.append(f"[{_key(key)}.{_key(k)}]")
                for kk, vv in v.items():
                    lines.append(f"{_key(kk)} = {toml_value(vv)}")
    return "\n".join(lines) + "\n"
