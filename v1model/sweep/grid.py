"""The parameter grid of a sweep: axes, point indices and point seeds.

A grid is a list of axes. Each axis is one dimension of the result: either one
swept parameter (its values are the dimension's coordinate) or a *zipped*
group of parameters that vary together along one dimension. The full grid is
the product of the axes, times ``n_seeds`` replicates (dimension
``replicate``, last, present when ``n_seeds > 1``).

Points are numbered in C order over ``grid.shape`` (the last dimension varies
fastest), and every point's seed is derived from the root seed and that index
with :class:`numpy.random.SeedSequence`, so a point's result does not depend
on which worker ran it or in which order.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from ..validation import describe
from .errors import SpecError

__all__ = ["Axis", "Grid", "zipped", "values_from_range", "point_seed", "REPLICATE_DIM"]

#: largest number of points a sweep takes (each point is a study run and a file)
MAX_POINTS = 10_000_000

#: Name of the replicate dimension (one point per seed of every combination).
REPLICATE_DIM = "replicate"
_SCALARS = (bool, numbers.Integral, numbers.Real, str)


def plain_scalar(value):
    """``value`` as plain Python when it is a NumPy scalar, else as it is.

    A float32 (or float16) value becomes the float of its shortest text, the number
    one reads and types (``np.float32(0.1)`` -> ``0.1``, which is ``np.float32(0.1)``
    again in float32): unwrapped as it is, it was ``0.10000000149011612`` in the
    coordinate, the study's argument and the labels of ``sweep status``. float64 and
    integer scalars are unwrapped unchanged (the seeds and fingerprints of their
    sweeps stay as they were).
    """
    if isinstance(value, np.floating) and value.dtype.itemsize < 8:
        return float(str(value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def _scalar(value, field: str):
    """A TOML-able scalar as a plain Python value (numpy scalars unwrapped,
    :func:`plain_scalar`)."""
    value = plain_scalar(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(field, f"values must be finite, got {value!r}")
    if value is None:  # TOML has no null: a spec says "none", as `-p KEY=none`
        raise SpecError(field, 'values must be numbers, strings or booleans, got None; give '
                               'the text "none" for a parameter that takes None')
    if not isinstance(value, _SCALARS):
        raise SpecError(
            field, f"values must be numbers, strings or booleans, got {describe(value)}"
        )
    return value


#: swept numbers closer than this, relative to the larger, are one value up to float
#: rounding (16 units in the last place: 0.1 * 3 is 0.3 plus one)
_ROUNDING_RTOL = 16 * np.finfo(np.float64).eps


def _check_distinct(values, field: str, what: str) -> None:
    """Refuse ``values`` (one coordinate) with two equal ones, or two floats equal within
    float rounding: ``[0.3, 0.1 * 3]`` was two points whose coordinate printed
    ``0.3 0.3``, told apart by nothing a reader sees."""
    if len(set(values)) != len(values):
        raise SpecError(field, f"{what} must be distinct (they become a coordinate), got "
                               f"{describe(list(values))}")
    numbers_only = [v for v in values if _kind(v) == "number"]
    if not any(isinstance(v, float) for v in numbers_only):
        return  # integers (and strings, booleans) are equal only when ==
    ordered = sorted(numbers_only, key=float)
    for low, high in zip(ordered, ordered[1:]):
        if float(high) - float(low) <= _ROUNDING_RTOL * max(abs(float(low)), abs(float(high))):
            raise SpecError(field, f"{what} must be distinct (they become a coordinate), got "
                                   f"{low!r} and {high!r}, one value up to float rounding "
                                   f"(as 0.1 * 3 is 0.30000000000000004): give it once")


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, numbers.Real):
        return "number"
    return "str"


def values_from_range(spec: dict, field: str) -> list:
    """Expand a range table into a list of values.

    Accepted forms (``stop`` is included):

    - ``{start, stop, num}``: ``num`` evenly spaced values (``numpy.linspace``);
    - ``{start, stop, num, log = true}``: ``num`` log-spaced values
      (``numpy.geomspace``; ``start`` and ``stop`` must be positive);
    - ``{start, stop, step}``: ``start, start + step, ...`` up to ``stop``
      (integers stay integers);
    - ``{values = [...]}``: explicit values.

    Any of them may also carry ``units = "..."`` (read by the caller).

    Parameters
    ----------
    spec : dict
        The range table.
    field : str
        Its name in error messages (e.g. ``"sweep.lam"``).

    Returns
    -------
    list
        The values.

    Raises
    ------
    SpecError
        Naming ``field`` (or one of its keys) for a table of none of these forms
        or values out of range.
    """
    keys = set(spec) - {"units"}
    if "values" in keys:
        if keys != {"values"}:
            raise SpecError(field, f"'values' cannot be combined with {sorted(keys - {'values'})}")
        values = spec["values"]
        if not isinstance(values, (list, tuple, np.ndarray)):
            raise SpecError(f"{field}.values", f"must be a list, got {describe(values)}")
        return list(values)
    allowed = {"start", "stop", "num", "step", "log"}
    unknown = keys - allowed
    if unknown:
        raise SpecError(
            field,
            f"unknown key(s) {sorted(unknown)} in a range; a range is "
            "{start, stop, num[, log]} or {start, stop, step} or {values = [...]}",
        )
    for key in ("start", "stop"):
        if key not in spec:
            raise SpecError(field, f"a range needs '{key}', got keys {sorted(keys)}")
        if (isinstance(spec[key], bool) or not isinstance(spec[key], numbers.Real)
                or not _finite(spec[key])):
            raise SpecError(f"{field}.{key}", f"must be a finite number, got "
                                              f"{describe(spec[key])}")
    # float32 ends give the values one reads (0.1, not 0.10000000149), as listed ones do
    start, stop = plain_scalar(spec["start"]), plain_scalar(spec["stop"])
    if not math.isfinite(stop - start):  # 1.7e308 - -1.7e308: inf steps, NaN values
        raise SpecError(field, f"the range from {start!r} to {stop!r} spans more than a float "
                               "can hold")
    if ("num" in spec) == ("step" in spec):
        raise SpecError(field, "a range needs exactly one of 'num' or 'step'")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise SpecError(f"{field}.log", f"must be true or false, got {describe(log)}")
    if "num" in spec:
        num = spec["num"]
        if isinstance(num, bool) or not isinstance(num, numbers.Integral) or num < 1:
            raise SpecError(f"{field}.num", f"must be a positive integer, got {describe(num)}")
        if num > MAX_POINTS:
            raise SpecError(f"{field}.num", f"{num} values is more than a sweep can hold "
                                            f"({MAX_POINTS:,} points at most)")
        if log:
            if not (start > 0 and stop > 0):
                raise SpecError(field, f"a log range needs start > 0 and stop > 0, got "
                                       f"start={start!r}, stop={stop!r}")
            return [_tidy(v) for v in np.geomspace(start, stop, num)]
        return [_tidy(v) for v in np.linspace(start, stop, num)]
    if log:
        raise SpecError(f"{field}.log", "a log range is given by 'num', not 'step'")
    step = plain_scalar(spec["step"])
    if (isinstance(step, bool) or not isinstance(step, numbers.Real) or step == 0
            or not _finite(step)):
        raise SpecError(f"{field}.step", f"must be a non-zero finite number, got "
                                         f"{describe(step)}")
    steps = (stop - start) / step + 1e-9  # +-inf for a tiny step over a wide range
    if steps >= MAX_POINTS:
        raise SpecError(field, f"the range from {start!r} to {stop!r} by {step!r} has "
                               f"{steps + 1:.3g} values, more than a sweep can hold "
                               f"({MAX_POINTS:,} points at most)")
    if steps < 0:
        raise SpecError(field, f"the range from {start!r} to {stop!r} by {step!r} is empty")
    n = math.floor(steps) + 1
    if all(isinstance(v, numbers.Integral) for v in (start, stop, step)):
        return [int(start + k * step) for k in range(n)]
    return [_tidy(start + k * step) for k in range(n)]


def _finite(value) -> bool:
    """Whether the number ``value`` is finite as a float (an int beyond float's range,
    which math.isfinite refuses with an OverflowError, is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _tidy(value) -> float:
    """Round to 12 significant digits: 0.2, not 0.19999999999999998 (the values
    become coordinates and study arguments that people read)."""
    return float(f"{float(value):.12g}")


def parse_values(spec, field: str) -> tuple[list, str | None]:
    """A swept parameter's values from a list or a range table, and its units."""
    units = None
    if isinstance(spec, dict):
        units = spec.get("units")
        if units is not None and not isinstance(units, str):
            raise SpecError(f"{field}.units", f"must be a string, got {describe(units)}")
        values = values_from_range(spec, field)
    elif isinstance(spec, (list, tuple, np.ndarray)):
        values = list(spec)
    elif isinstance(spec, (range,)):
        values = list(spec)
    else:
        raise SpecError(
            field, f"must be a list of values or a range table, got {describe(spec)}"
        )
    if len(values) == 0:
        raise SpecError(field, "the grid is empty: no values to sweep")
    values = [_scalar(v, field) for v in values]
    kinds = {_kind(v) for v in values}
    if len(kinds) > 1:
        raise SpecError(field, f"values must all be numbers, all strings or all booleans, "
                               f"got a mix: {describe(values)}")
    return values, units


@dataclass(frozen=True)
class Axis:
    """One dimension of the grid.

    Parameters
    ----------
    dim : str
        Dimension name.
    params : dict
        Parameter name -> tuple of values, all of the dimension's length.
        One entry for an ordinary swept parameter (``dim`` is its name); several
        for a zipped group.
    units : dict
        Parameter name -> units string, where known.
    """

    dim: str
    params: dict
    units: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of values along the dimension."""
        return len(next(iter(self.params.values())))

    @property
    def zipped(self) -> bool:
        """Whether the axis is a zipped group rather than one swept parameter."""
        return len(self.params) > 1 or self.dim not in self.params

    def coordinate(self) -> np.ndarray:
        """Values of the dimension's index coordinate.

        Returns
        -------
        ndarray, shape (size,)
            The swept values (fixed-width unicode for strings, as a reload
            gives them), or ``0 .. size - 1``
            for a zipped group not named after one of its parameters.
        """
        if self.dim in self.params:
            return _coordinate_values(self.params[self.dim])
        return np.arange(self.size)


def _coordinate_values(values) -> np.ndarray:
    if all(isinstance(v, str) for v in values):
        # '<U' of the longest, as load_dataset reads text back: run() returned object
        # dtype and load() of the same sweep '<U5'
        return np.array(values, dtype=str)
    return np.asarray(values)


@dataclass(frozen=True)
class Zipped:
    """Parameters that vary together along one dimension (see :func:`zipped`)."""

    params: dict


def zipped(**params) -> Zipped:
    """Parameters swept together (not as a product), all lists of one length.

    Use as a value of the ``grid`` dict: the key is the dimension name::

        grid = {"lam": [0.1, 0.2], "patch": zipped(patch_size=[8, 12], n_atoms=[64, 144])}

    Parameters
    ----------
    **params : list
        Parameter name -> values, all lists of one length (checked when the
        spec is built).

    Returns
    -------
    Zipped

    Raises
    ------
    ValueError
        For no parameter at all.
    """
    if not params:
        raise ValueError("zipped needs at least one parameter, got none")
    return Zipped(dict(params))


def make_axis(dim: str, spec, field: str, units: dict | None = None) -> Axis:
    """Build an axis from a values spec or a :class:`Zipped` / dict group."""
    units = dict(units or {})
    if isinstance(spec, Zipped):
        spec = spec.params
        group = True
    else:
        group = False
    if group or (isinstance(spec, dict) and field.startswith("zip.")):
        if not isinstance(spec, dict) or not spec:
            raise SpecError(field, "a zipped group needs at least one parameter")
        params, lengths = {}, {}
        for name, values in spec.items():
            vals, unit = parse_values(values, f"{field}.{name}")
            params[name] = tuple(vals)
            lengths[name] = len(vals)
            if unit is not None:
                units[name] = unit
        if len(set(lengths.values())) > 1:
            raise SpecError(field, f"zipped parameters must have the same number of values, "
                                   f"got {lengths}")
        if dim in params:
            _check_distinct(params[dim], f"{field}.{dim}",
                            "the values of the parameter that names the dimension")
        return Axis(dim, params, units)
    vals, unit = parse_values(spec, field)
    _check_distinct(vals, field, "values")
    if unit is not None:
        units[dim] = unit
    return Axis(dim, {dim: tuple(vals)}, units)


def point_seed(root_seed: int, index: int) -> int:
    """The seed of point ``index``: 32 bits drawn from
    ``SeedSequence(root_seed).spawn(...)[index]``.

    Computed directly as ``SeedSequence(root_seed, spawn_key=(index,))``, which is
    what ``spawn`` yields for child ``index``; an int is passed to the study so
    it can be recorded and used by Brian2 as well as by NumPy.

    Parameters
    ----------
    root_seed : int
        The sweep's seed, >= 0.
    index : int
        Flat index of the point (or the replicate, with common seeds), >= 0.

    Returns
    -------
    int
        In ``[0, 2**32)``.

    Raises
    ------
    ValueError
        For a ``root_seed`` or ``index`` that is not a non-negative integer.
    """
    for name, value in (("root_seed", root_seed), ("index", index)):
        if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)
                or value < 0):
            raise ValueError(f"{name} must be a non-negative integer, got {describe(value)}")
    ss = np.random.SeedSequence(int(root_seed), spawn_key=(int(index),))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


@dataclass(frozen=True)
class Grid:
    """The full grid: axes x replicates.

    Parameters
    ----------
    axes : tuple of Axis
    n_seeds : int, default 1
        Replicates of every parameter combination (dimension ``replicate``
        when > 1).
    root_seed : int, default 0
        The one seed every point's seed derives from.
    common_seeds : bool, default False
        If true, replicate ``r`` gets the same seed at every parameter
        combination (common random numbers: e.g. the same training patches
        at every lambda); otherwise every point gets its own seed.
    """

    axes: tuple
    n_seeds: int = 1
    root_seed: int = 0
    common_seeds: bool = False

    def __post_init__(self):
        names = [p for a in self.axes for p in a.params]
        dims = [a.dim for a in self.axes]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise SpecError("sweep", f"parameter(s) {sorted(dup)} are swept twice")
        dup = {d for d in dims if dims.count(d) > 1} | ({REPLICATE_DIM} & set(dims + names))
        if dup:
            raise SpecError("sweep", f"dimension name(s) {sorted(dup)} used twice "
                                     f"({REPLICATE_DIM!r} is reserved)")
        clash = {a.dim for a in self.axes if a.zipped} & set(names)
        clash -= {a.dim for a in self.axes if a.dim in a.params}
        if clash:
            raise SpecError("zip", f"dimension name(s) {sorted(clash)} are also swept "
                                   "parameters of another axis")

    @property
    def dims(self) -> tuple:
        """Dimension names: one per axis, then ``replicate`` when ``n_seeds > 1``."""
        dims = tuple(a.dim for a in self.axes)
        return dims + ((REPLICATE_DIM,) if self.n_seeds > 1 else ())

    @property
    def shape(self) -> tuple:
        """Size of each of :attr:`dims`."""
        shape = tuple(a.size for a in self.axes)
        return shape + ((self.n_seeds,) if self.n_seeds > 1 else ())

    @property
    def n_points(self) -> int:
        """Number of points (study runs) of the grid."""
        return math.prod(self.shape)  # Python ints: a huge grid cannot wrap around

    @property
    def swept_parameters(self) -> tuple:
        """Names of all swept parameters, zipped ones included."""
        return tuple(p for a in self.axes for p in a.params)

    @property
    def units(self) -> dict:
        """Parameter name -> units string, where known."""
        out = {}
        for a in self.axes:
            out.update(a.units)
        return out

    def position(self, index: int) -> tuple:
        """Multi-index of point ``index`` over ``self.shape`` (C order).

        Parameters
        ----------
        index : int
            Flat index, ``0 <= index < n_points``.

        Returns
        -------
        tuple of int

        Raises
        ------
        IndexError
            For an index outside the grid.
        """
        if not 0 <= index < self.n_points:
            raise IndexError(f"point index {index} outside the grid of {self.n_points} points")
        return tuple(int(i) for i in np.unravel_index(index, self.shape)) if self.shape else ()

    def replicate(self, index: int) -> int:
        """The replicate of point ``index`` (0 when ``n_seeds == 1``)."""
        return self.position(index)[-1] if self.n_seeds > 1 else 0

    def parameters(self, index: int) -> dict:
        """Swept parameter values at point ``index``.

        Parameters
        ----------
        index : int
            Flat index of the point.

        Returns
        -------
        dict
            Parameter name -> value.
        """
        pos = self.position(index)
        out = {}
        for axis, i in zip(self.axes, pos):
            for name, values in axis.params.items():
                out[name] = values[i]
        return out

    def coordinates(self, index: int) -> dict:
        """Where point ``index`` lies in the result: its swept values
        (:meth:`parameters`), then its ``replicate`` when ``n_seeds > 1``.

        Parameters
        ----------
        index : int
            Flat index of the point.

        Returns
        -------
        dict
            Parameter name (and ``"replicate"``) -> value.
        """
        out = self.parameters(index)
        if self.n_seeds > 1:
            out[REPLICATE_DIM] = self.replicate(index)
        return out

    def seed(self, index: int) -> int:
        """The integer seed passed to the study at point ``index``.

        Parameters
        ----------
        index : int
            Flat index of the point.

        Returns
        -------
        int
            :func:`point_seed` of the point (of its replicate, with
            ``common_seeds``).
        """
        if self.common_seeds:
            return point_seed(self.root_seed, self.replicate(index))
        return point_seed(self.root_seed, index)

    def coords(self) -> dict:
        """xarray coordinates of the sweep dimensions (with units where known).

        Returns
        -------
        dict
            Name -> ``(dim, values, attrs)``, for ``xarray.Dataset(coords=...)``.
        """
        coords = {}
        for axis in self.axes:
            attrs = {"long_name": f"swept parameter {axis.dim}"}
            if axis.dim in axis.units:
                attrs["units"] = axis.units[axis.dim]
            if axis.dim not in axis.params:
                attrs = {"long_name": f"index along the zipped parameters "
                                      f"{', '.join(axis.params)}"}
            coords[axis.dim] = (axis.dim, axis.coordinate(), attrs)
            for name, values in axis.params.items():
                if name == axis.dim:
                    continue
                attrs = {"long_name": f"swept parameter {name} (zipped along {axis.dim})"}
                if name in axis.units:
                    attrs["units"] = axis.units[name]
                coords[name] = (axis.dim, _coordinate_values(values), attrs)
        if self.n_seeds > 1:
            coords[REPLICATE_DIM] = (
                REPLICATE_DIM,
                np.arange(self.n_seeds),
                {"long_name": "replicate (its seed is point_seed, derived from the root seed)",
                 "units": "1"},
            )
        return coords
