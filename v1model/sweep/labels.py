"""The values of a sweep folder's points, read without running the study.

``sweep status`` names its failed and warned points by their values
(``failed point 5 (x=3.0, replicate=1)``). It reads them from the folder's
``sweep.json``, which records the grid's values (:func:`grid_fields`, written when
the sweep begins, and by the next ``sweep run`` or ``resume`` into an older folder);
it imported the folder's study to read them from ``spec.toml`` (a ``file.py`` study
was executed just to print the status). For folders begun before the manifest held
them, the grid is read from ``spec.toml`` without the study, and used only when it
hashes to the folder's fingerprint (a spec edited since would name other values);
otherwise the points are named by their failure records and by the assembled result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .grid import REPLICATE_DIM, Axis, Grid

__all__ = ["grid_fields", "manifest_grid", "point_labels"]


def grid_fields(grid: Grid) -> dict:
    """The manifest entries from which :func:`manifest_grid` makes ``grid`` again.

    Parameters
    ----------
    grid : Grid

    Returns
    -------
    dict
        ``"axes"``: one ``{"dim": name, "params": {parameter: [values]}}`` per axis;
        ``"n_seeds"``: the replicates of every combination.
    """
    return {"axes": [{"dim": axis.dim, "params": {k: list(v) for k, v in axis.params.items()}}
                     for axis in grid.axes],
            "n_seeds": int(grid.n_seeds)}


def manifest_grid(info: dict) -> Grid | None:
    """The grid recorded in the manifest ``info`` (:func:`grid_fields`), or None when it
    has none (a folder begun before they were recorded) or one that disagrees with its
    ``dims`` or ``n_points`` (edited by hand): only the values count, not the seeds."""
    axes, n_seeds = info.get("axes"), info.get("n_seeds")
    if not isinstance(axes, list) or isinstance(n_seeds, bool) \
            or not isinstance(n_seeds, int) or n_seeds < 1:
        return None
    try:
        grid = Grid(tuple(Axis(str(a["dim"]), {str(k): tuple(v) for k, v in a["params"].items()})
                          for a in axes), n_seeds)
        # every axis one length (a zipped group's parameters alike), none empty
        if any(not a.params or {len(v) for v in a.params.values()} != {a.size} or not a.size
               for a in grid.axes):
            return None
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    if list(grid.dims) != list(info.get("dims") or ()) or \
            grid.n_points != info.get("n_points"):
        return None
    return grid


def point_labels(output: Path, info: dict, indices, records: dict) -> dict:
    """The values of points ``indices`` of the sweep folder ``output`` (manifest ``info``):
    index -> :meth:`Grid.coordinates`. Runs no study.

    Parameters
    ----------
    output : Path
        The sweep folder.
    info : dict
        Its manifest (``sweep.json``).
    indices : iterable of int
        The points to name.
    records : dict
        Index -> failure record of the failed points (their ``params``).

    Returns
    -------
    dict
        Index -> {parameter: value, ..., "replicate": r when there are several}; from
        the manifest's grid, else from ``spec.toml`` when it is the folder's sweep, else
        the failure record's values and the assembled result's coordinates; a point
        none of these names is left out.
    """
    indices = sorted(indices)
    if not indices:
        return {}
    grid = manifest_grid(info) or _spec_file_grid(output, info)
    if grid is not None:
        return {i: grid.coordinates(i) for i in indices}
    # a folder whose spec.toml was edited since (or that hashes it otherwise): the result
    # assembled from the points holds their values (a warned point had none here)
    out = _result_labels(output, indices)
    # else the values a failure record keeps, the replicate from the grid's shape
    dims, shape = list(info.get("dims") or ()), list(info.get("shape") or ())
    out.update({i: dict(records[i].get("params", {})) for i in indices
                if i in records and i not in out})
    # a manifest with dims but no shape (none that v1model wrote; one edited by hand)
    # raised an IndexError here: without the count, no replicate is named
    n_replicates = shape[-1] if len(shape) == len(dims) else None
    if (dims[-1:] == [REPLICATE_DIM] and isinstance(n_replicates, int)
            and not isinstance(n_replicates, bool) and n_replicates > 0):
        for i in out:
            out[i].setdefault(REPLICATE_DIM, i % n_replicates)
    return {i: values for i, values in sorted(out.items()) if values}


def _spec_file_grid(output: Path, info: dict) -> Grid | None:
    """The grid of the folder's ``spec.toml``, read without importing its study, or None
    when it cannot be read or does not hash to the folder's fingerprint (edited since,
    or a folder that hashes the texts for None otherwise: see
    :meth:`SweepSpec.fingerprints`)."""
    from .spec import SweepSpec, spec_grid
    from .studyref import StudyRef
    from .tomlio import read_toml

    try:
        data = read_toml(output / "spec.toml")
        # parse_spec's own grid (units, zipped groups, order), without the study's units:
        # spec.toml's [units] holds every unit its grid had
        grid = spec_grid(data, {})
        spec = SweepSpec(StudyRef(str(data["study"])), grid, dict(data.get("params", {})),
                         bool(data.get("quick", False)),
                         description=str(data.get("description", "")))
        # the manifest's study: a file.py study that moved with the folder hashes its
        # former path
        same = spec.fingerprint(str(info.get("study")), as_written=True) == \
            info.get("fingerprint")
    except (OSError, ValueError, KeyError, TypeError):  # SpecError is a ValueError
        return None
    return grid if same else None


def _result_labels(output: Path, indices) -> dict:
    """Index -> values of points ``indices`` read from the assembled ``sweep.nc`` (or
    ``sweep.zarr``): the coordinates of its sweep dimensions at the point, ``replicate``
    as its position; {} when there is none or it cannot be read. Reads its
    coordinates, not its data."""
    import xarray as xr

    from ..io import netcdf_engine
    from .storage import FORMATS, _point_params, local_io

    for name in FORMATS.values():
        path = output / name
        if not path.exists():
            continue
        engine = "zarr" if name.endswith(".zarr") else netcdf_engine(path)
        try:
            with local_io(), xr.open_dataset(path, engine=engine) as ds:
                if "status" not in ds:
                    return {}
                status = ds["status"]
                out = {}
                for i in (i for i in indices if 0 <= i < status.size):
                    out[i] = _point_params(ds, i)
                    if REPLICATE_DIM in status.dims:
                        position = np.unravel_index(i, status.shape)
                        out[i][REPLICATE_DIM] = int(position[status.dims.index(REPLICATE_DIM)])
                return out
        except (OSError, ValueError, KeyError):
            return {}
    return {}
