"""Fitting 2-D Gabor functions to atoms and receptive fields.

The model (Ringach 2002; geometry as in :mod:`stimuli.gratings`) is

    g(x, y) = offset + amplitude * exp(-x'^2 / (2 sigma_x^2) - y'^2 / (2 sigma_y^2))
                                 * cos(2 pi frequency x' + phase)

    x' =  (x - x0) cos(theta) - (y - y0) sin(theta)     (across the bars)
    y' = -(x - x0) sin(theta) - (y - y0) cos(theta)     (along the bars)

with ``x`` the column and ``y`` the row of a pixel (row 0 at the top), so
that ``theta`` (``orientation``) is the direction of the carrier's wave
vector counter-clockwise as displayed. Ringach's shape parameters are
``nx = sigma_x * frequency`` and ``ny = sigma_y * frequency``: the envelope's
width across and along the bars in cycles of the carrier.

How a fit is made, for every atom at once:

1. initial guesses: the centre from the energy centroid (and, as a second
   candidate, the peak of the smoothed energy), orientation and frequency
   from the peak of the zero-padded Fourier amplitude (and the second
   peak), envelope widths from the energy's second moments along and across
   the carrier, phase by demodulation, amplitude and offset by linear least
   squares;
2. several starts built from those candidates are refined together by a
   vectorised, bounded Levenberg-Marquardt loop over all atoms and starts
   (NumPy, analytic Jacobian);
3. the best start of each atom is polished by
   :func:`scipy.optimize.least_squares` (trust-region reflective, bounds,
   analytic Jacobian), which gives the reported parameters.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from .._frames import user_stacklevel
from ..progress import check_progress, progress_bar
from ..validation import check_array, check_bool, check_int, check_positive, describe, dim_coord
from ..scaling import pow2_scale
from ._common import atoms_as_images

__all__ = ["fit_gabor", "gabor_model", "reliable_gabor_fits", "GABOR_PARAMS", "GABOR_LIKE_R2"]

#: Fitted parameters, in the order of the internal parameter vector.
GABOR_PARAMS = ("x0", "y0", "orientation", "frequency", "phase", "sigma_x", "sigma_y",
                "amplitude", "offset")

_UNITS = {
    "x0": ("pixel", "envelope centre, column index into the array (0-based)"),
    "y0": ("pixel", "envelope centre, row index into the array (0-based, 0 at the top)"),
    "orientation": ("rad", "direction of the carrier's wave vector, in [0, pi)"),
    "frequency": ("cycles/pixel", "spatial frequency of the carrier"),
    "phase": ("rad", "carrier phase at the centre, in (-pi, pi]"),
    "sigma_x": ("pixel", "envelope s.d. across the bars (along the wave vector)"),
    "sigma_y": ("pixel", "envelope s.d. along the bars"),
    "amplitude": ("1", "peak amplitude, >= 0 (same units as the atom)"),
    "offset": ("1", "constant offset (same units as the atom)"),
}
_TWO_PI = 2.0 * np.pi
#: R^2 from which a fit counts as Gabor-like in the studies and summaries
GABOR_LIKE_R2 = 0.8
#: Minimum number of carrier cycles across the patch for a fit to have a frequency
MIN_CYCLES = 1.0
#: Default minimum nx = sigma_x * frequency: 0, no cut, because Ringach's blob-like cells
#: (nx, ny < ~0.2) are what the nx-ny plane compares; 0.2 keeps only fits whose carrier is
#: more than its f -> 0 limit (a blob, a thin bar or a Gaussian derivative)
MIN_NX = 0.0
#: Largest relative standard error of a measured frequency (2 s.e. above 0)
MAX_FREQUENCY_RSE = 0.5
#: A fitted sigma within this fraction of a bound of fit_gabor is "at the bound"
SIGMA_BOUND_RTOL = 1e-3
_MAX_STARTS = 6
# a Levenberg-Marquardt fit stops once an accepted step improves its cost by less than this
_GAIN_TOL = 1e-6


def gabor_model(params, shape=None):
    """Evaluate Gabor functions.

    Parameters
    ----------
    params : array_like, shape (n, 9) or (9,), or xarray.Dataset
        Columns in the order of :data:`GABOR_PARAMS`, or a Dataset returned
        by :func:`fit_gabor` (it must hold no NaN parameters: fits of
        constant atoms have them). All finite; ``sigma_x`` and ``sigma_y``
        positive.
    shape : int or (height, width), optional
        Image size in pixels (an int for a square). Default, for a Dataset of
        :func:`fit_gabor`: the patch it was fitted on (``attrs["height"]``,
        ``attrs["width"]``); required for an array of parameters.

    Returns
    -------
    ndarray, shape (n, height, width)
        The Gabor images; ``(height, width)`` for a single parameter vector.

    Raises
    ------
    ValueError
        For a Dataset missing a parameter, a wrong number of columns,
        non-finite parameters or a non-positive ``sigma_x``/``sigma_y``; for no
        ``shape`` with an array, or with a Dataset without height/width attrs.
    """
    from ._common import image_shape

    if shape is None:
        # the fit records its patch: gabor_model(fit) failed with "missing 1 required
        # positional argument: 'shape'"
        if not isinstance(params, xr.Dataset):
            raise ValueError(f"shape=None with params {describe(params)}: pass the image size "
                             "shape=(height, width) (only a Dataset of fit_gabor carries it)")
        if "height" not in params.attrs or "width" not in params.attrs:
            raise ValueError("shape=None but the params Dataset has no height/width attrs (the "
                             "patch fit_gabor fitted); pass shape=(height, width)")
        shape = (int(params.attrs["height"]), int(params.attrs["width"]))
    h, w = image_shape(shape)
    if isinstance(params, xr.Dataset):
        missing = [name for name in GABOR_PARAMS if name not in params]
        if missing:
            raise ValueError(f"params Dataset lacks {missing}; expected the output of fit_gabor "
                             f"with variables {GABOR_PARAMS}")
        params = np.stack([params[name].values for name in GABOR_PARAMS], axis=-1)
    P = check_array(params, "params", ndim=(1, 2), finite=False)
    if P.shape[-1] != len(GABOR_PARAMS):
        raise ValueError(f"params must have {len(GABOR_PARAMS)} columns {GABOR_PARAMS}, "
                         f"got shape {P.shape}")
    single = P.ndim == 1
    P = np.atleast_2d(P)
    bad = np.flatnonzero(~np.isfinite(P).all(axis=1))
    if bad.size:
        raise ValueError(f"params has {bad.size} row(s) with NaN or inf, e.g. row {int(bad[0])}: "
                         f"{describe(P[bad[0]].tolist(), 200)} (fit_gabor gives NaN parameters "
                         "to constant atoms; select the fitted ones, e.g. "
                         "fit.where(np.isfinite(fit.r2), drop=True))")
    for i in (GABOR_PARAMS.index("sigma_x"), GABOR_PARAMS.index("sigma_y")):
        if np.any(P[:, i] <= 0):
            raise ValueError(f"params column {GABOR_PARAMS[i]} (envelope s.d. in pixels) must be "
                             f"positive, got a minimum of {float(P[:, i].min())!r}")
    X, Y = _grid(h, w)
    out = _evaluate(P, X, Y).reshape(-1, h, w)
    return out[0] if single else out


def _grid(h, w):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return x.ravel(), y.ravel()


def _evaluate(P, X, Y, jac=False):
    """Model values (n, n_pix) and optionally the Jacobian (n, 9, n_pix)."""
    x0, y0, th, f, ph, sx, sy, A, c = (P[:, i : i + 1] for i in range(9))
    u = X - x0
    v = y0 - Y
    ct, st = np.cos(th), np.sin(th)
    xp = u * ct + v * st
    yp = v * ct - u * st
    E = np.exp(-0.5 * ((xp / sx) ** 2 + (yp / sy) ** 2))
    arg = _TWO_PI * f * xp + ph
    C = np.cos(arg)
    EC = E * C
    g = A * EC + c
    if not jac:
        return g
    S = np.sin(arg)
    AES = A * E * S
    AEC = A * EC
    d_xp = -AEC * xp / sx**2 - _TWO_PI * f * AES  # dg/dx'
    d_yp = -AEC * yp / sy**2  # dg/dy'
    J = np.empty((g.shape[0], 9, g.shape[1]), dtype=g.dtype)  # (n, param, pixel)
    J[:, 0] = -d_xp * ct + d_yp * st
    J[:, 1] = d_xp * st + d_yp * ct
    J[:, 2] = d_xp * yp - d_yp * xp
    J[:, 3] = -_TWO_PI * AES * xp
    J[:, 4] = -AES
    J[:, 5] = AEC * xp**2 / sx**3
    J[:, 6] = AEC * yp**2 / sy**3
    J[:, 7] = EC
    J[:, 8] = 1.0
    return g, J


def _bounds(h, w, min_sigma, max_sigma, max_frequency):
    lo = np.array([-1.0, -1.0, -np.inf, 0.0, -np.inf, min_sigma, min_sigma, 0.0, -np.inf])
    hi = np.array([w, h, np.inf, max_frequency, np.inf, max_sigma, max_sigma, np.inf, np.inf])
    return lo, hi


# ----------------------------------------------------------------------------- initial guesses
def _fourier_peaks(Z, pad):
    """(frequency, orientation) of the two largest peaks of |FFT| of each image."""
    n, h, w = Z.shape
    F = np.abs(np.fft.fft2(Z, s=(pad, pad), axes=(1, 2)))
    F[:, 0, 0] = 0.0  # the mean was removed; ignore any residue
    k = np.fft.fftfreq(pad)  # cycles/pixel along rows (fy) and columns (fx)
    r1, c1 = np.unravel_index(F.reshape(n, -1).argmax(axis=1), (pad, pad))
    # suppress the first peak and its mirror image (one bin of the unpadded
    # transform around each) before looking for the second
    rad = 1.0 / max(h, w)
    fy, fx = k[:, None][None], k[None, :][None]
    py, px = k[r1][:, None, None], k[c1][:, None, None]
    near = (np.hypot(fy - py, fx - px) <= rad) | (np.hypot(fy + py, fx + px) <= rad)
    F2 = np.where(near, 0.0, F)
    r2, c2 = np.unravel_index(F2.reshape(n, -1).argmax(axis=1), (pad, pad))
    # z ~ cos(2 pi (fx x + fy y)) with x' = (x - x0) cos(theta) - (y - y0) sin(theta):
    # fx = f cos(theta), fy = -f sin(theta)
    return [(np.hypot(k[c], k[r]), np.mod(np.arctan2(-k[r], k[c]), np.pi))
            for r, c in ((r1, c1), (r2, c2))]


def _energy_centres(Z, X, Y):
    """Energy centroid and peak of the smoothed energy, (n, 2) each, as (x, y)."""
    from scipy.ndimage import gaussian_filter

    n, h, w = Z.shape
    E = Z**2
    tot = E.reshape(n, -1).sum(axis=1)
    cx = (E.reshape(n, -1) * X).sum(axis=1) / tot
    cy = (E.reshape(n, -1) * Y).sum(axis=1) / tot
    Es = gaussian_filter(E, sigma=(0, 1.5, 1.5), mode="constant")
    k = Es.reshape(n, -1).argmax(axis=1)
    return np.stack([cx, cy], 1), np.stack([X[k], Y[k]], 1)


def _complete_guess(Zf, X, Y, centre, f, th, sigma_scale, lo, hi):
    """Fill in widths (energy moments), phase (demodulation), amplitude and offset."""
    n = Zf.shape[0]
    u = X - centre[:, :1]
    v = centre[:, 1:] - Y
    ct, st = np.cos(th)[:, None], np.sin(th)[:, None]
    xp = u * ct + v * st
    yp = v * ct - u * st
    E = Zf**2
    tot = E.sum(axis=1)
    # env^2 has s.d. sigma / sqrt(2); the carrier's cos^2 averages out
    sx = np.sqrt(2.0 * (E * xp**2).sum(axis=1) / tot) * sigma_scale
    sy = np.sqrt(2.0 * (E * yp**2).sum(axis=1) / tot) * sigma_scale
    sx = np.clip(sx, lo[5], hi[5])
    sy = np.clip(sy, lo[6], hi[6])
    fcol = f[:, None]
    env = np.exp(-0.5 * ((xp / sx[:, None]) ** 2 + (yp / sy[:, None]) ** 2))
    demod = (Zf * env * np.exp(-1j * _TWO_PI * fcol * xp)).sum(axis=1)
    ph = np.angle(demod)
    basis = env * np.cos(_TWO_PI * fcol * xp + ph[:, None])
    # amplitude and offset: linear least squares on (basis, 1)
    bm = basis.mean(axis=1, keepdims=True)
    zm = Zf.mean(axis=1, keepdims=True)
    var = ((basis - bm) ** 2).sum(axis=1)
    A = ((basis - bm) * (Zf - zm)).sum(axis=1) / np.maximum(var, 1e-12)
    ph = np.where(A < 0, ph + np.pi, ph)
    A = np.abs(A)
    c = (Zf - A[:, None] * env * np.cos(_TWO_PI * fcol * xp + ph[:, None])).mean(axis=1)
    P = np.stack([centre[:, 0], centre[:, 1], th, f, ph, sx, sy, A, c], axis=1)
    return np.clip(P, lo, hi).reshape(n, 9)


def _initial_guesses(Z, X, Y, n_starts, lo, hi):
    """(n_atoms, n_starts, 9) starting points."""
    n, h, w = Z.shape
    Zf = Z.reshape(n, -1)
    pad = max(64, 4 * max(h, w))
    (f1, th1), (f2, th2) = _fourier_peaks(Z, pad)
    f1 = np.clip(f1, lo[3], hi[3])
    f2 = np.clip(f2, lo[3], hi[3])
    centroid, peak = _energy_centres(Z, X, Y)
    centroid = np.clip(centroid, lo[:2], hi[:2])
    blob_f = np.full(n, min(0.5 / max(h, w), hi[3]))
    recipes = [
        (centroid, f1, th1, 1.0),
        (peak, f1, th1, 0.7),
        (centroid, f2, th2, 1.0),
        (peak, f1, th1, 1.5),
        (centroid, blob_f, th1, 1.0),
        (peak, f2, th2, 0.7),
    ][:n_starts]
    starts = [_complete_guess(Zf, X, Y, c, f, th, s, lo, hi) for c, f, th, s in recipes]
    return np.stack(starts, axis=1)


# ----------------------------------------------------------------------------- optimisation
def _batch_lm(Zf, P, X, Y, lo, hi, n_iter):
    """Bounded (projected) Levenberg-Marquardt on many independent fits at once."""
    P = P.copy()
    g, J = _evaluate(P, X, Y, jac=True)
    r = g - Zf
    cost = np.einsum("np,np->n", r, r)
    mu = np.full(len(P), 1e-2)
    eye = np.eye(P.shape[1])
    active = np.ones(len(P), bool)
    for _ in range(n_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Ja, ra = J[idx], r[idx]
        JTJ = Ja @ Ja.transpose(0, 2, 1)
        JTr = (Ja @ ra[..., None])[..., 0]
        d = np.einsum("nii->ni", JTJ)
        d = np.maximum(d, 1e-9 * d.max(axis=1, keepdims=True) + 1e-12)
        M = JTJ + mu[idx, None, None] * d[:, :, None] * eye
        try:
            step = -np.linalg.solve(M, JTr[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = -JTr / d
        Pn = np.clip(P[idx] + step, lo, hi)
        gn, Jn = _evaluate(Pn, X, Y, jac=True)
        rn = gn - Zf[idx]
        cn = np.einsum("np,np->n", rn, rn)
        better = cn < cost[idx]
        acc = idx[better]
        gain = (cost[acc] - cn[better]) / np.maximum(cost[acc], 1e-300)
        P[acc], J[acc], r[acc], cost[acc] = Pn[better], Jn[better], rn[better], cn[better]
        mu[acc] = np.maximum(mu[acc] / 3.0, 1e-7)
        rej = idx[~better]
        mu[rej] = mu[rej] * 4.0
        # stop a fit whose relative improvement is negligible or whose damping exploded
        done = np.zeros(len(P), bool)
        done[acc[gain < _GAIN_TOL]] = True
        done[rej[mu[rej] > 1e8]] = True
        active &= ~done
    return P, cost


def _polish_one(z, p0, X, Y, lo, hi, max_nfev):
    from scipy.optimize import least_squares

    def fun(p):
        return _evaluate(p[None], X, Y)[0] - z

    def jac(p):
        return _evaluate(p[None], X, Y, jac=True)[1][0].T

    # least_squares wants x0 strictly inside finite bounds
    span = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
    x0 = np.clip(p0, lo + 1e-9 * span, hi - 1e-9 * span)
    res = least_squares(fun, x0, jac=jac, bounds=(lo, hi), method="trf", x_scale="jac",
                        max_nfev=max_nfev, xtol=1e-8, ftol=1e-8, gtol=1e-8)
    return res.x, 2.0 * res.cost, res.nfev


#: atoms per process below which the fits stay in this process (starting the workers
#: costs about a second the first time; a noisy 16x16 atom takes ~30 ms)
_ATOMS_PER_JOB = 64


def _check_n_jobs(n_jobs) -> int:
    import os

    n_jobs = check_int(n_jobs, "n_jobs", minimum=-1)
    if n_jobs == 0:
        raise ValueError("n_jobs must be a positive number of processes or -1 (every "
                         "available core), got 0")
    if n_jobs == -1:
        cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        n_jobs = len(cores) if cores else (os.cpu_count() or 1)
    return n_jobs


def _best_and_polished(Zf, P_all, cost_all, X, Y, lo, hi, polish, max_nfev, bar=None):
    """The best start of every atom, polished: (parameters (m, 9), winning start)."""
    m = len(Zf)
    start = cost_all.argmin(axis=1)
    P_best = P_all[np.arange(m), start]
    cost = cost_all[np.arange(m), start]
    if polish:
        if bar is not None:
            bar.reset(total=m)
            bar.set_description("Gabor fits (polish)")
        for i in range(m):
            p, c, _ = _polish_one(Zf[i], P_best[i], X, Y, lo, hi, max_nfev)
            if c <= cost[i]:
                P_best[i], cost[i] = p, c
            if bar is not None:
                bar.update(1)
    return P_best, start


def _fit_rows(Zf, starts, X, Y, lo, hi, n_iter, polish, max_nfev):
    """Both stages for a chunk of atoms (run in a worker process)."""
    k, n_starts = starts.shape[:2]
    Pc, cc = _batch_lm(np.repeat(Zf, n_starts, axis=0), starts.reshape(-1, 9), X, Y, lo, hi,
                       n_iter)
    return _best_and_polished(Zf, Pc.reshape(k, n_starts, 9), cc.reshape(k, n_starts), X, Y,
                              lo, hi, polish, max_nfev)


def _fit_in_processes(Zf, starts, X, Y, lo, hi, n_iter, polish, max_nfev, n_jobs, bar):
    """The fits of all atoms in ``n_jobs`` processes (joblib's loky pool: reused
    between calls, no ``__main__`` guard needed in scripts). Every fit is
    computed row by row, so the chunking does not change any of them."""
    from joblib import Parallel, delayed

    m = len(Zf)
    chunks = [rows for rows in np.array_split(np.arange(m), 4 * n_jobs) if len(rows)]
    bar.set_description(f"Gabor fits ({n_jobs} processes)")
    P_best, start = np.empty((m, 9)), np.empty(m, int)
    results = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(
        delayed(_fit_rows)(Zf[rows], starts[rows], X, Y, lo, hi, n_iter, polish, max_nfev)
        for rows in chunks)
    for rows, (P, s) in zip(chunks, results):
        P_best[rows], start[rows] = P, s
        bar.update(len(rows))
    return P_best, start


def _frequency_se(Zf, P, X, Y, rcond=1e-8, chunk=512):
    """Standard error of the frequency of each fit: sqrt of s^2 (J^T J)^-1 at the fit (J:
    pixels x parameters), with s^2 = residual sum of squares / (pixels - 9), as
    scipy.optimize.curve_fit's pcov.

    The Jacobian's columns (one per parameter: the rows of :func:`_evaluate`'s (param,
    pixel) array) are scaled to unit norm, which the last division undoes, and its singular
    values floored at ``rcond`` of the largest, so that a (near) rank-deficient Jacobian --
    a frequency that other parameters can trade against with no change of the pixels --
    gives a huge, finite error rather than a solver failure; a zero frequency column gives
    inf."""
    m, n_pix = Zf.shape
    dof = n_pix - P.shape[1]
    out = np.empty(m)
    for s in range(0, m, chunk):
        g, J = _evaluate(P[s : s + chunk], X, Y, jac=True)
        ss = ((g - Zf[s : s + chunk]) ** 2).sum(axis=1)
        d = np.sqrt(np.einsum("kpn,kpn->kp", J, J))
        U, S, _ = np.linalg.svd(J / np.where(d > 0, d, 1.0)[..., None], full_matrices=False)
        S = np.maximum(S, rcond * S[:, :1])
        var = (U[:, 3, :] ** 2 / S**2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = ss / dof if dof > 0 else np.full(len(ss), np.inf)
            out[s : s + chunk] = np.sqrt(var * s2) / d[:, 3]
    return out


def _canonical(P):
    """Wrap angles: orientation to [0, pi) (flipping the phase), phase to (-pi, pi]."""
    P = P.copy()
    th = np.mod(P[:, 2], _TWO_PI)
    # mod(-1e-16, 2 pi) rounds to 2 pi itself, which is orientation 0, not pi
    th = np.where(th >= _TWO_PI, 0.0, th)
    flip = th >= np.pi  # (theta, phase) and (theta - pi, -phase) are the same Gabor
    P[:, 2] = np.where(flip, th - np.pi, th)  # exact (Sterbenz): stays below pi
    ph = np.where(flip, -P[:, 4], P[:, 4])
    P[:, 4] = np.pi - np.mod(np.pi - ph, _TWO_PI)
    return P


# ----------------------------------------------------------------------------- public
def fit_gabor(
    atoms,
    shape=None,
    *,
    n_starts: int = 4,
    n_iter: int = 60,
    polish: bool = True,
    max_nfev: int = 100,
    min_sigma: float = 0.5,
    max_sigma: float | None = None,
    max_frequency: float = 0.5,
    return_model: bool = False,
    progress: bool | None = None,
    n_jobs: int = 1,
) -> xr.Dataset:
    """Fit a 2-D Gabor function to every atom (or receptive field).

    Parameters
    ----------
    atoms : array_like, shape (n_atoms, n_features) or (n_atoms, height, width)
        Dictionary rows or receptive-field images (any scale, e.g. 1e-300 or
        1e200: each is fitted on its own after dividing it by a power of two
        near its largest absolute value; ``amplitude`` and ``offset`` are
        reported in the atom's units). Flat atoms are reshaped row-major. A
        2-D array is always read as flat atoms; pass one image as
        ``image[None]``. An ``xarray.DataArray`` with dims ``atom``, ``y``,
        ``x`` is read by name, in any order (one naming only some of them is
        refused; xarray's ``dim_0``, ... are read by position).
    shape : int or (height, width), optional
        Needed for flat atoms that are not square.
    n_starts : int, default 4
        Starting points per atom, 1 to 6 (see the module docstring).
    n_iter : int, default 60
        Maximum iterations of the vectorised Levenberg-Marquardt stage.
    polish : bool, default True
        Refine the best start of every atom with
        :func:`scipy.optimize.least_squares` (bounded trust-region).
    max_nfev : int, default 100
        Function evaluations allowed to each polishing run.
    min_sigma, max_sigma : float, default 0.5, None
        Bounds of both envelope s.d. in pixels; ``max_sigma`` defaults to the
        patch's larger side (an envelope that wide is flat over the patch, so
        its size is not identifiable beyond).
    max_frequency : float, default 0.5
        Upper bound of the carrier frequency in cycles/pixel, in (0, 0.5]
        (0.5: Nyquist; a carrier above it aliases to a lower frequency).
    return_model : bool, default False
        Also return the fitted images as ``model`` (atom, y, x), on the ``y``, ``x``
        coordinates of a DataArray ``atoms`` that has them (1-D), so that
        ``atoms - fit.model`` pairs the same pixels; else on 0 ... height - 1,
        0 ... width - 1 (pixel).
    progress : bool or None, default None
        A progress bar over both stages (batched fits, then the polish):
        None once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never.
    n_jobs : int, default 1
        Processes that share the atoms (``-1``: every available core). The
        fits are the same whatever ``n_jobs``. The workers (joblib's loky
        pool) take about a second to start the first time and are then
        reused; sets under 64 atoms per process are fitted here.

    Returns
    -------
    xarray.Dataset
        Over ``atom`` (the coordinate of a DataArray ``atoms``, else 0 ...
        n_atoms - 1) with ``x0``, ``y0`` (pixel: 0-based column and row indices into the
        array, whatever the ``x``, ``y`` coordinates of a DataArray ``atoms``; :func:`gabor_model`
        reads them so), ``orientation`` (rad, [0, pi)), ``frequency``
        (cycles/pixel), ``phase`` (rad, (-pi, pi]), ``sigma_x``, ``sigma_y`` (pixel),
        ``amplitude`` (>= 0: a Gabor of the opposite sign is the same one with its
        phase shifted by pi; the pair (orientation + pi, -phase) is folded onto
        orientation in [0, pi) likewise), ``offset`` (both, and ``model``, in the
        ``units`` of a DataArray ``atoms``, else "1"), ``r2`` (coefficient of determination of
        the fit over the atom's pixels), ``frequency_se`` (cycles/pixel: the frequency's
        standard error, from the Jacobian at the fit and the residual variance, as
        :func:`scipy.optimize.curve_fit`'s ``pcov``; huge when other parameters trade off
        against the frequency with no change of the pixels), ``nx`` = sigma_x * frequency and
        ``ny`` = sigma_y * frequency (Ringach 2002), ``start`` (which start
        won). Constant atoms get NaN parameters and a warning. Patches of at most 9
        pixels (no more than the 9 parameters, e.g. 3x3) get NaN ``r2`` and a warning:
        a fit there matches any pattern, white noise included. The attrs
        record the patch size and the bounds used (``min_sigma``,
        ``max_sigma``, ``max_frequency``); ``polish`` is stored as 0/1 so the
        Dataset saves with a plain ``to_netcdf``. A high R^2 alone does not
        make a Gabor: see :func:`reliable_gabor_fits`.

    Raises
    ------
    ValueError
        For atoms that are not 2-D or 3-D or do not match ``shape``, flat
        non-square atoms without ``shape``, a DataArray naming only some of
        the dims ``atom``, ``y``, ``x``, ``n_starts`` outside 1 to 6,
        ``max_sigma <= min_sigma``, or ``max_frequency`` outside (0, 0.5].

    References
    ----------
    Jones, J. P. & Palmer, L. A. (1987). An evaluation of the two-dimensional
    Gabor filter model of simple receptive fields in cat striate cortex.
    J. Neurophysiol. 58, 1233-1258.

    Ringach, D. L. (2002). Spatial structure and symmetry of simple-cell
    receptive fields in macaque primary visual cortex. J. Neurophysiol. 88,
    455-463.

    Examples
    --------
    >>> from stimuli import gabor_patch
    >>> atom = gabor_patch(16, orientation=0.6, frequency=0.15, phase=0.3,
    ...                    sigma_x=2.5, sigma_y=3.5)
    >>> fit = fit_gabor(atom[None])
    >>> round(float(fit.orientation[0]), 3), round(float(fit.r2[0]), 3)
    (0.6, 1.0)
    """
    Z = atoms_as_images(atoms, shape)
    n, h, w = Z.shape
    # a DataArray's atom labels and units (mapped RFs: response per unit of stimulus) carry
    # over to the fits; numbered from 0 and labelled "1", they were neither
    atom_coord = dim_coord(atoms, "atom", n)
    atom_units = atoms.attrs.get("units") if isinstance(atoms, xr.DataArray) else None
    atom_units = atom_units if isinstance(atom_units, str) and atom_units.strip() else "1"
    n_starts = check_int(n_starts, "n_starts", minimum=1, maximum=_MAX_STARTS)
    n_iter = check_int(n_iter, "n_iter", minimum=0)
    max_nfev = check_int(max_nfev, "max_nfev", minimum=1)
    min_sigma = check_positive(min_sigma, "min_sigma")
    max_sigma = float(max(h, w)) if max_sigma is None else check_positive(max_sigma, "max_sigma")
    if max_sigma <= min_sigma:
        raise ValueError(f"max_sigma={max_sigma} must exceed min_sigma={min_sigma}")
    from stimuli.gratings import check_frequency

    # above Nyquist a carrier aliases to a lower frequency: the fit could not tell them apart
    max_frequency = float(check_frequency(check_positive(max_frequency, "max_frequency"),
                                          "max_frequency", positive=True))
    polish = check_bool(polish, "polish")
    return_model = check_bool(return_model, "return_model")
    progress = check_progress(progress)
    n_jobs = _check_n_jobs(n_jobs)
    lo, hi = _bounds(h, w, min_sigma, max_sigma, max_frequency)
    X, Y = _grid(h, w)

    # each atom divided by a power of two near its largest |value| (exact, so the fit is
    # the same as on the atom itself): neither the moments below nor the R^2 overflow
    # (atoms * 1e200) or underflow (atoms * 1e-300); amplitude and offset are scaled back
    peak = pow2_scale(Z.reshape(n, -1), axis=1)
    flat = Z.reshape(n, -1) / peak[:, None]
    Z = flat.reshape(n, h, w)
    mean = flat.mean(axis=1)
    scale = flat.std(axis=1)
    ok = scale > 1e-12 * np.maximum(np.abs(flat).max(axis=1), 1e-300)
    ok &= scale > 0
    if not ok.all():
        warnings.warn(f"{int((~ok).sum())} constant atom(s) cannot be fitted; their "
                      "parameters are NaN", RuntimeWarning, stacklevel=user_stacklevel())
    # fit on standardised atoms so that tolerances do not depend on scale
    Zs = (Z[ok] - mean[ok, None, None]) / scale[ok, None, None]
    m = Zs.shape[0]
    P_best = np.full((m, 9), np.nan)
    start = np.zeros(m, int)
    f_se = np.full(m, np.nan)
    if m:
        # one bar over both stages: the batched fits (by chunk), then the polish (by atom)
        bar = progress_bar(progress, total=m, desc="Gabor fits (batched)", unit="atom")
        starts = _initial_guesses(Zs, X, Y, n_starts, lo, hi)
        Zf = Zs.reshape(m, -1)
        jobs = min(n_jobs, max(1, m // _ATOMS_PER_JOB))
        if jobs > 1:  # both stages, chunk by chunk, in worker processes
            P_best, start = _fit_in_processes(Zf, starts, X, Y, lo, hi, n_iter, polish,
                                              max_nfev, jobs, bar)
        else:
            chunk = max(1, 4096 // n_starts)
            P_all = np.empty_like(starts)
            cost_all = np.empty(starts.shape[:2])
            for s in range(0, m, chunk):
                sl = slice(s, min(s + chunk, m))
                k = sl.stop - sl.start
                Pc, cc = _batch_lm(np.repeat(Zf[sl], n_starts, axis=0),
                                   starts[sl].reshape(-1, 9), X, Y, lo, hi, n_iter)
                P_all[sl] = Pc.reshape(k, n_starts, 9)
                cost_all[sl] = cc.reshape(k, n_starts)
                bar.update(k)
            P_best, start = _best_and_polished(Zf, P_all, cost_all, X, Y, lo, hi, polish,
                                               max_nfev, bar)
        bar.close()
        P_best = _canonical(P_best)
        f_se = _frequency_se(Zf, P_best, X, Y)  # cycles/pixel: the same on the standardised atom

    P = np.full((n, 9), np.nan)
    P[ok] = P_best
    P[ok, 7] *= scale[ok]
    P[ok, 8] = P[ok, 8] * scale[ok] + mean[ok]
    model = np.full_like(flat, np.nan)
    if ok.any():
        model[ok] = _evaluate(P[ok], X, Y)
    ss_res = ((flat - model) ** 2).sum(axis=1)
    ss_tot = ((flat - mean[:, None]) ** 2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(ok, 1.0 - ss_res / ss_tot, np.nan)
    if h * w <= len(GABOR_PARAMS) and ok.any():
        # as many parameters as pixels: the fit interpolates anything (white noise on 3x3
        # patches gave a median R^2 of 0.95), so its R^2 says nothing about Gabor-likeness
        warnings.warn(f"{h}x{w} patches have {h * w} pixels, no more than the "
                      f"{len(GABOR_PARAMS)} Gabor parameters: a fit matches any pattern, "
                      "even white noise, so r2 is set to NaN (fit patches of more pixels)",
                      RuntimeWarning, stacklevel=user_stacklevel())
        r2 = np.full(n, np.nan)
    # back to the atoms' own units
    P[:, 7:9] *= peak[:, None]
    model *= peak[:, None]

    ds = xr.Dataset(coords={"atom": atom_coord})
    for i, name in enumerate(GABOR_PARAMS):
        units, long_name = _UNITS[name]
        units = atom_units if name in ("amplitude", "offset") else units
        ds[name] = ("atom", P[:, i], {"units": units, "long_name": long_name})
    ds["r2"] = ("atom", r2, {"units": "1", "long_name": "R^2 of the fit"})
    fse = np.full(n, np.nan)
    fse[ok] = f_se
    ds["frequency_se"] = ("atom", fse, {
        "units": "cycles/pixel",
        "long_name": "standard error of frequency (s^2 (J^T J)^-1 at the fit, as curve_fit)"})
    ds["nx"] = ("atom", P[:, 5] * P[:, 3],
                {"units": "1", "long_name": "nx = sigma_x * frequency (Ringach 2002)"})
    ds["ny"] = ("atom", P[:, 6] * P[:, 3],
                {"units": "1", "long_name": "ny = sigma_y * frequency (Ringach 2002)"})
    st = np.full(n, -1)
    st[ok] = start
    ds["start"] = ("atom", st, {"units": "1", "long_name": "index of the winning start"})
    if return_model:
        # the input's own y/x labels: numbered from 0, the model of a crop
        # (rf.isel(y=slice(2, 14))) met the crop at other pixels in ``crop - model``
        ds = ds.assign_coords(y=_pixel_coord(atoms, "y", h), x=_pixel_coord(atoms, "x", w))
        ds["model"] = (("atom", "y", "x"), model.reshape(n, h, w),
                       {"units": atom_units, "long_name": "fitted Gabor"})
    ds.attrs.update(
        analysis="gabor fit", height=h, width=w, n_starts=n_starts, n_iter=n_iter,
        polish=int(polish), max_nfev=max_nfev, min_sigma=min_sigma, max_sigma=max_sigma,
        max_frequency=max_frequency,
    )
    return ds


def _pixel_coord(atoms, dim, n):
    """The model's ``dim`` coordinate: the input's own (:func:`dim_coord`), else the pixel
    indices 0 ... n - 1 in ``pixel``."""
    coord = dim_coord(atoms, dim, n)
    return (dim, coord, {"units": "pixel"}) if isinstance(coord, np.ndarray) else coord


def reliable_gabor_fits(
    fit: xr.Dataset,
    shape=None,
    *,
    min_r2: float = GABOR_LIKE_R2,
    min_cycles: float = MIN_CYCLES,
    sigma_rtol: float = SIGMA_BOUND_RTOL,
    frequency_rtol: float = SIGMA_BOUND_RTOL,
    min_nx: float = MIN_NX,
    max_frequency_rse: float = MAX_FREQUENCY_RSE,
) -> xr.DataArray:
    """Which Gabor fits describe a localised, oriented, banded receptive field.

    A high R^2 is not enough: a flat patch, a ramp or an edge is fitted well
    by a "Gabor" with less than one carrier cycle across the patch, or with
    an envelope as wide as the fit allows, or centred off the patch. Such
    fits have arbitrary ``nx``, ``ny`` (a flat patch gives nx, ny ~ 0, where
    Ringach's blob-like cells lie). The sub-cycle fits also include thin
    single-lobe bars (sigma_x ~ 1 pixel): localized and oriented, but with
    sigma_x * frequency << 1 the carrier's frequency trades off against its
    phase, so their ``nx`` is not measured either (a full 16x16
    olshausen-field-1996 run: 66 of 253 fits with R^2 >= 0.8 are sub-cycle,
    about 46 of them such bars; ``attrs["n_sub_cycle"]`` counts them). A fit
    is reliable when all of:

    1. ``r2 >= min_r2`` (and the atom was fitted at all: not constant);
    2. at least ``min_cycles`` carrier cycles across the patch:
       ``frequency >= min_cycles / max(height, width)`` (cycles/pixel);
    3. the envelope centre lies on the patch: ``-0.5 <= x0 <= width - 0.5``
       and ``-0.5 <= y0 <= height - 0.5`` (pixel centres are 0 ...
       width - 1; :func:`fit_gabor` allows -1 ... width);
    4. neither envelope s.d. is at a bound of the fit: ``sigma_x`` and
       ``sigma_y`` lie strictly inside ``[min_sigma, max_sigma]`` by more
       than ``sigma_rtol`` of the bound (bounds read from ``fit.attrs``,
       as used by :func:`fit_gabor`);
    5. the frequency is not at a bound of the fit either: it lies strictly
       inside ``[0, max_frequency]`` by more than ``frequency_rtol`` of the
       bound (``max_frequency`` from ``fit.attrs``, default 0.5). A fit
       pinned there would have gone further: its frequency, and with it
       ``nx``, ``ny``, is the bound's, not the atom's;
    6. optional (``min_nx``, default 0: off): at least ``min_nx`` carrier
       cycles per envelope s.d. across the bars, ``nx = sigma_x * frequency
       >= min_nx``. Below nx ~ 0.2 the carrier is its f -> 0 limit to
       within a few percent of the amplitude (an even carrier only narrows
       a Gaussian blob; an odd one is a Gaussian derivative whose amplitude
       trades off against its frequency), so frequency and phase are not
       measured, though the small nx is: a noisy round blob or a thin bar is
       fitted with R^2 > 0.9 and nx ~ 0.1. In Olshausen's sparsenet basis
       (A144) the frequency's standard error is 43-66% of it for the fits
       with nx < 0.17, at most 12% from nx = 0.21 up. Off by default because
       such low-nx fits are Ringach's blob-like cells, which the nx-ny plane
       compares (a cut would move its medians); pass ``min_nx=0.2`` when the
       frequencies or phases themselves are compared;
    7. the frequency is measured: its standard error ``frequency_se`` (from
       :func:`fit_gabor`) is at most ``max_frequency_rse`` of it (default
       0.5: the frequency lies two standard errors above 0). A carrier
       sampled by one or two pixels (an envelope under a pixel wide) fits
       its pixels at many frequencies, whatever its ``nx``. Checked only
       when ``fit`` has ``frequency_se`` (attrs ``frequency_se_checked``:
       1 or 0).

    Parameters
    ----------
    fit : xarray.Dataset
        Output of :func:`fit_gabor` (or a Dataset with its variables
        ``r2``, ``frequency``, ``x0``, ``y0``, ``sigma_x``, ``sigma_y`` over
        one dimension).
    shape : int or (height, width), optional
        Patch size in pixels; default ``fit.attrs["height"]``,
        ``fit.attrs["width"]``.
    min_r2 : float, default GABOR_LIKE_R2 (0.8)
        Smallest R^2 of a Gabor-like fit, in [0, 1].
    min_cycles : float, default 1.0
        Smallest number of carrier cycles across the patch's larger side
        (default 1: less is a blob, a ramp or an edge, with no frequency
        band).
    sigma_rtol : float, default 1e-3
        Relative distance to a sigma bound (pixels) below which the fit
        counts as stuck at the bound (default 1e-3; fits that hit a bound sit
        on it to rounding).
    frequency_rtol : float, default 1e-3
        The same for the frequency bounds, relative to ``max_frequency``
        (the lower bound 0 only excludes a frequency of 0).
    min_nx : float, default 0
        Smallest ``nx = sigma_x * frequency`` (carrier cycles per envelope
        s.d. across the bars) of a reliable fit; 0.2 keeps only fits whose
        carrier is measured as more than a blob or an edge.
    max_frequency_rse : float, default 0.5
        Largest relative standard error ``frequency_se / frequency`` of a
        measured frequency.

    Returns
    -------
    xarray.DataArray of bool
        Named ``reliable``, over the fit's dimension (``atom``). Its attrs
        give the criteria and how many atoms each one excluded:
        ``n_atoms``; ``n_unfitted`` (NaN r2: constant atoms, or patches of at most 9
        pixels); ``n_low_r2`` (fitted, R^2 < min_r2); among the fits with R^2 >= min_r2 (the
        "Gabor-like" ones), ``n_sub_cycle``, ``n_centre_outside``,
        ``n_sigma_at_bound``, ``n_frequency_at_bound``, ``n_low_nx`` and
        ``n_frequency_unmeasured`` (a fit may fail several criteria, so
        these counts overlap);
        ``n_gabor_like`` and ``n_reliable``. All attrs are numbers, so the
        mask saves with ``to_netcdf``.

    Raises
    ------
    TypeError
        When ``fit`` is not a Dataset.
    ValueError
        For a ``fit`` missing a needed variable, or without height/width
        attrs when ``shape`` is not given; for ``min_r2`` outside [0, 1] or
        a negative ``min_cycles``/``sigma_rtol``/``frequency_rtol``/``min_nx``/
        ``max_frequency_rse``.

    Examples
    --------
    >>> import numpy as np
    >>> from stimuli import gabor_patch
    >>> atom = gabor_patch(12, orientation=0.6, frequency=0.2, phase=0.3,
    ...                    sigma_x=2.0, sigma_y=3.0)
    >>> ramp = np.tile(np.linspace(-1, 1, 12), (12, 1))
    >>> mask = reliable_gabor_fits(fit_gabor(np.stack([atom, ramp])))
    >>> mask.values.tolist(), mask.attrs["n_sub_cycle"]
    ([True, False], 1)
    """
    from ..validation import check_nonnegative, check_probability
    from ._common import image_shape

    if not isinstance(fit, xr.Dataset):
        raise TypeError(f"fit must be the Dataset returned by fit_gabor, got {describe(fit)}")
    needed = ("r2", "frequency", "x0", "y0", "sigma_x", "sigma_y")
    missing = [name for name in needed if name not in fit]
    if missing:
        raise ValueError(f"fit lacks {missing}; expected the output of fit_gabor with "
                         f"variables {needed}")
    if shape is None:
        if "height" not in fit.attrs or "width" not in fit.attrs:
            raise ValueError("fit has no height/width attrs (the patch size); pass "
                             "shape=(height, width)")
        shape = (int(fit.attrs["height"]), int(fit.attrs["width"]))
    h, w = image_shape(shape)
    if "height" in fit.attrs and "width" in fit.attrs:
        fitted_shape = (int(fit.attrs["height"]), int(fit.attrs["width"]))
        if (h, w) != fitted_shape:
            # the frequency and centre criteria are in units of the patch: (16, 16) for a
            # fit of 8x8 atoms counted sub-cycle and off-patch fits as reliable, unsaid
            raise ValueError(f"shape={shape!r} but fit was made on patches of "
                             f"{fitted_shape} (fit.attrs height, width); pass shape="
                             f"{fitted_shape} or leave it out")
    min_r2 = check_probability(min_r2, "min_r2", open_interval=False)
    min_cycles = check_nonnegative(min_cycles, "min_cycles")
    sigma_rtol = check_nonnegative(sigma_rtol, "sigma_rtol")
    frequency_rtol = check_nonnegative(frequency_rtol, "frequency_rtol")
    min_nx = check_nonnegative(min_nx, "min_nx")
    max_frequency_rse = check_nonnegative(max_frequency_rse, "max_frequency_rse")
    # the bounds fit_gabor used (its defaults when the attrs are gone)
    min_sigma = float(fit.attrs.get("min_sigma", 0.5))
    max_sigma = float(fit.attrs.get("max_sigma", max(h, w)))
    max_frequency = float(fit.attrs.get("max_frequency", 0.5))

    def values(name):
        return np.asarray(fit[name].values, dtype=np.float64)

    r2, f = values("r2"), values("frequency")
    x0, y0, sx, sy = values("x0"), values("y0"), values("sigma_x"), values("sigma_y")
    fitted = np.isfinite(r2)
    with np.errstate(invalid="ignore"):
        gabor_like = fitted & (r2 >= min_r2)
        banded = f >= min_cycles / max(h, w)
        inside = (x0 >= -0.5) & (x0 <= w - 0.5) & (y0 >= -0.5) & (y0 <= h - 0.5)
        free = np.ones_like(r2, dtype=bool)
        for s in (sx, sy):
            free &= (s > min_sigma * (1 + sigma_rtol)) & (s < max_sigma * (1 - sigma_rtol))
        # a fit pinned at max_frequency (or 0) counted as reliable, its nx, ny the bound's
        free_f = (f > 0) & (f < max_frequency * (1 - frequency_rtol))
        # computed here, not read from fit.nx: a table or a saved subset may lack it
        measured = sx * f >= min_nx
        # a table or a fit saved before frequency_se existed: this criterion is not applied
        se_checked = "frequency_se" in fit
        known_f = (values("frequency_se") <= max_frequency_rse * f if se_checked
                   else np.ones_like(r2, dtype=bool))
    reliable = gabor_like & banded & inside & free & free_f & measured & known_f
    dim = fit["r2"].dims
    out = xr.DataArray(reliable, dims=dim, coords={d: fit[d] for d in dim if d in fit.coords},
                       name="reliable")
    out.attrs.update(
        long_name="reliable Gabor fit (R^2, >= min_cycles cycles, centre on the patch, "
                  "sigma and frequency inside the fit bounds, nx >= min_nx, frequency "
                  "measured)",
        units="1", min_r2=min_r2, min_cycles=min_cycles, sigma_rtol=sigma_rtol,
        frequency_rtol=frequency_rtol, min_nx=min_nx, max_frequency_rse=max_frequency_rse,
        frequency_se_checked=int(se_checked), min_sigma=min_sigma,
        max_sigma=max_sigma,
        max_frequency=max_frequency, height=h, width=w,
        n_atoms=int(r2.size), n_unfitted=int((~fitted).sum()),
        n_low_r2=int((fitted & ~gabor_like).sum()), n_gabor_like=int(gabor_like.sum()),
        n_sub_cycle=int((gabor_like & ~banded).sum()),
        n_centre_outside=int((gabor_like & ~inside).sum()),
        n_sigma_at_bound=int((gabor_like & ~free).sum()),
        n_frequency_at_bound=int((gabor_like & ~free_f).sum()),
        n_low_nx=int((gabor_like & ~measured).sum()),
        n_frequency_unmeasured=int((gabor_like & ~known_f).sum()),
        n_reliable=int(reliable.sum()),
    )
    return out
