"""Learning history: one row of statistics per dictionary update, kept in a
compact float array (a streamed learner's memory grows by 64 bytes per
update, not by the patches it has seen) and returned as an xarray Dataset
over the dim ``update``."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from .._frames import user_stacklevel
from ..inference._common import UNCONVERGED_HISTORY
from ..io import NOT_RECORDED_COUNT, UPDATES_BEFORE, clean_attrs, count_coord, flatten_nested

#: variable -> (long_name, units); reconstruction_error follows
#: v1model.learning.olshausen_field (mean of per-sample ratios)
FIELDS = {
    "objective": ("mean objective per sample, 0.5||x - aD||^2 + penalty(a)", "(units of X)^2"),
    "reconstruction_error": ("relative reconstruction error ||x - aD||^2 / ||x||^2, "
                             "mean over samples", "1"),
    "mean_abs_code": ("mean |a| (unit-norm atoms)", "units of X"),
    "fraction_active": ("fraction of coefficients that are non-zero", "1"),
    "n_reseeded": ("atoms re-seeded at this update (dead or duplicate)", "1"),
    "n_samples": ("samples coded in this update", "1"),
    # as every learner records it, the convolutional one too
    UNCONVERGED_HISTORY[0]: tuple(UNCONVERGED_HISTORY[1][key] for key in ("long_name", "units")),
    "wall_time": ("cumulative time spent in updates", "s"),
}


#: variables a history saved (or pickled) before they were recorded lacks: read as
#: NOT_RECORDED for its updates, not refused
ADDED_FIELDS = (UNCONVERGED_HISTORY[0],)
#: the value of an ADDED_FIELDS count that an older history did not record
NOT_RECORDED = NOT_RECORDED_COUNT


def relative_error(rr, xx):
    """``rr / xx`` per sample (squared residual over squared norm); an all-zero
    sample (``xx = 0``) gives its ``rr`` over the smallest normal number, not a
    floor in units of the data (a floor of 1e-12 read data scaled by 1e-8 as
    reconstructed perfectly)."""
    return rr / np.maximum(xx, np.finfo(np.result_type(xx, np.float32)).tiny)


def batch_statistics(X, D, A, coder) -> dict:
    """Objective, relative error, mean |a| and fraction active of one batch."""
    R = X - A @ D
    rr = np.einsum("ij,ij->i", R, R)
    xx = np.einsum("ij,ij->i", X, X)
    return {
        "objective": float(coder.objective(X, D, A, R).mean()),
        "reconstruction_error": float(np.mean(relative_error(rr, xx))),
        "mean_abs_code": float(np.abs(A).mean()),
        "fraction_active": float(np.count_nonzero(A) / A.size),
        "n_samples": float(X.shape[0]),
    }


class History:
    """Append-only table of per-update statistics."""

    def __init__(self, capacity: int = 64):
        self._rows = np.empty((max(capacity, 1), len(FIELDS)))
        self._n = 0
        self.wall_time = 0.0

    def __len__(self):
        return self._n

    def __setstate__(self, state):
        # a history pickled before a column was recorded (an OnlineState's) has rows
        # without it: the next record failed to fit its row. Its updates get NOT_RECORDED
        self.__dict__.update(state)
        rows = self._rows
        if rows.shape[1] < len(FIELDS):
            names = list(FIELDS)
            grown = np.full((len(rows), len(FIELDS)), float(NOT_RECORDED))
            old = [name for name in names if name not in ADDED_FIELDS]
            grown[:, [names.index(name) for name in old]] = rows
            self._rows = grown

    def record(self, stats: dict, n_reseeded: int, n_unconverged: int, seconds: float):
        """One update's row: ``stats`` (:func:`batch_statistics`), the atoms re-seeded,
        the samples the solver left short (``NotConvergedTally.take_unconverged``)
        and the update's time (s)."""
        if self._n == len(self._rows):
            grown = np.empty((2 * len(self._rows), len(FIELDS)))
            grown[: self._n] = self._rows
            self._rows = grown
        self.wall_time += seconds
        values = dict(stats, n_reseeded=float(n_reseeded), n_unconverged=float(n_unconverged),
                      wall_time=self.wall_time)
        self._rows[self._n] = [values[name] for name in FIELDS]
        self._n += 1
        if not np.isfinite(values["objective"]):
            raise FloatingPointError(
                f"learning diverged at update {self._n - 1}: objective {values['objective']}"
            )

    def warn_if_nothing_coded(self, coder) -> None:
        """Warn when every code of the last quarter of the updates (at least one) was
        zero: a ``lam`` below the bound that :func:`check_lam_below_data` refuses up
        front can still zero every code of the dictionary at hand (IHT's threshold
        grows with the dictionary's coherence), and then only re-seeding moves the
        atoms: the run ends with nothing learned and no error. So can the
        squared-residual ``tol`` of MP and OMP, which gives no atom to a sample
        within ``tol`` of zero."""
        tol = coder.residual_tol
        if (coder.penalty_kind is None and tol is None) or not self._n:
            return  # n_nonzero codes are never all zero
        tail = self._rows[self._n - max(self._n // 4, 1):self._n, list(FIELDS).index(
            "fraction_active")]
        if np.all(tail == 0):
            warnings.warn(
                f"every code of the last {tail.size} of {self._n} updates was zero "
                f"(method={coder.method!r}, "
                + (f"tol={tol!r}" if tol is not None else f"lam={coder.lam!r}")
                + "): the atoms moved only by re-seeding and nothing was learned; lower "
                + ("tol" if tol is not None else "lam")
                + " (see the history's fraction_active)", UserWarning,
                stacklevel=user_stacklevel())

    def last(self, name):
        return float(self._rows[self._n - 1, list(FIELDS).index(name)]) if self._n else np.nan

    def to_dataset(self, attrs: dict) -> xr.Dataset:
        rows = self._rows[: self._n]
        data = {}
        for j, (name, (long_name, units)) in enumerate(FIELDS.items()):
            col = (rows[:, j].astype(np.int64) if name in ("n_reseeded", "n_samples",
                                                           "n_unconverged") else rows[:, j])
            data[name] = ("update", col, {"long_name": long_name, "units": units})
        ds = xr.Dataset(data, coords={"update": count_coord("update", np.arange(self._n),
                                                            UPDATES_BEFORE)})
        # netCDF-safe in memory too: a plain ds.to_netcdf works, and reloading gives the same
        ds.attrs.update(clean_attrs(flatten_nested(attrs)))
        return ds
