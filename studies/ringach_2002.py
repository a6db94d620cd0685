"""Ringach (2002): where sparse-coding receptive fields fall in the (nx, ny) plane.

Ringach fitted Gabor functions to the receptive fields of macaque simple cells
and summarised each by ``nx = sigma_x * f`` and ``ny = sigma_y * f`` — the
envelope's width across and along the bars in cycles of the carrier. Cells
spread from blobs (nx, ny < 0.3) to elongated multi-lobed fields, and
sparse-coding bases lie further out along nx than most cells do (his Fig. 4,
with the sparsenet basis). This study fits a Gabor to every atom learned by
the ``olshausen-field-1996`` study and, when Olshausen's sparsenet basis
(``A144.mat``) is available, to that basis too.

Figures: the nx-ny plane (learned atoms and A144), the Gabor tiling of the
learned atoms (orientation x frequency, position x size), and the atoms next
to their fitted Gabors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from v1model.analysis import GABOR_LIKE_R2
from v1model.sweep.preflight import checks_parameters, parameters_checked

NAME = "ringach-2002"
TITLE = "Learned atoms and the sparsenet basis in Ringach's (nx, ny) plane"
REFERENCE = (
    "Ringach, D. L. (2002). Spatial structure and symmetry of simple-cell receptive fields "
    "in macaque primary visual cortex. J. Neurophysiol. 88, 455-463."
)


@checks_parameters
def run(
    quick: bool = False,
    seed: int = 0,
    *,
    dictionary: str | None = None,
    images: str = "skimage",
    n_updates: int | None = None,
    reference: str | None = None,
    min_r2: float = GABOR_LIKE_R2,
    n_starts: int = 4,
    progress: bool = True,
) -> xr.Dataset:
    """Fit Gabors to a learned dictionary (and to A144); return the fits.

    Parameters
    ----------
    quick : bool
        Learn with the quick ``olshausen-field-1996`` variant (8x8 patches,
        64 atoms) for 1,000 updates instead of its full run.
    seed : int
    dictionary : str, optional
        A saved ``olshausen-field-1996`` result (or network) to analyse instead
        of learning one.
    images : str
        Image source of the learning run.
    n_updates : int, optional
        Learning updates (default: 1,000 when quick, the study's own default
        otherwise).
    reference : str, optional
        Path of ``A144.mat``; default ``../shared/data/olshausen/A144.mat``
        when present; ``"none"`` to skip.
    min_r2 : float
        Fits with R^2 at least this good count as Gabor-like (the summary
        statistics use only those); default ``GABOR_LIKE_R2`` (0.8), the
        package's one threshold.
    n_starts : int
        Starts per Gabor fit.
    progress : bool

    Returns
    -------
    xarray.Dataset
        ``dictionary`` (atom, y, x) and its fitted Gabor parameters, ``r2``,
        ``nx``, ``ny`` over ``atom``, the fitted Gabor images ``gabor`` (atom,
        y, x); the same with a ``ref_`` prefix over ``ref_atom`` for A144;
        summaries in attrs.
    """
    from studies._learned import (a144_path, check_dictionary_source, learned_dictionary,
                                  load_a144)
    from v1model.analysis import fit_gabor
    from v1model.validation import check_bool, check_int, check_probability

    quick = check_bool(quick, "quick")  # "no" would be truthy
    min_r2 = check_probability(min_r2, "min_r2", open_interval=False)
    n_starts = check_int(n_starts, "n_starts", minimum=1)
    path = a144_path(reference)  # fail before learning if a given path is wrong
    if n_updates is None and quick and dictionary is None:
        n_updates = 1000
    check_dictionary_source(dictionary, n_updates)
    parameters_checked()  # a sweep's pre-flight stops here, before any work
    D, source, meta = learned_dictionary(dictionary, quick=quick, seed=seed, images=images,
                                         n_updates=n_updates, progress=progress)
    fit = fit_gabor(D, n_starts=n_starts, return_model=True, progress=progress)
    ds = fit.rename({"model": "gabor"})
    ds["dictionary"] = (("atom", "y", "x"), D, {"units": "1", "long_name": "learned atoms"})
    summary = _summary(fit, min_r2)
    ds.attrs.update({f"learned_{k}": v for k, v in summary.items()})

    if path is not None:
        A = load_a144(path)
        ref = fit_gabor(A, n_starts=n_starts, return_model=True, progress=progress)
        ref = ref.rename({"atom": "ref_atom", "y": "ref_y", "x": "ref_x", "model": "gabor"})
        ref = ref.rename({v: f"ref_{v}" for v in ref.data_vars})
        ref["ref_dictionary"] = (("ref_atom", "ref_y", "ref_x"), A,
                                 {"units": "1", "long_name": "sparsenet basis A144"})
        ds = xr.merge([ds, ref], combine_attrs="override")
        ds.attrs.update({f"ref_{k}": v for k, v in _summary(ref.rename(
            {v: v[4:] for v in ref.data_vars}), min_r2).items()})
    ds.attrs.update(
        study=NAME, reference_paper=REFERENCE, quick=int(quick), seed=seed, source=source,
        a144=str(path) if path is not None else "absent", min_r2=min_r2, n_starts=n_starts,
        images=str(images), **meta,
    )
    return ds


def _summary(fit, min_r2):
    r2 = fit["r2"].values
    good = np.isfinite(r2) & (r2 >= min_r2)
    out = {"n_atoms": int(r2.size), "fraction_gabor": float(good.mean()),
           "median_r2": float(np.nanmedian(r2))}
    for name in ("nx", "ny", "frequency", "sigma_x", "sigma_y"):
        out[f"median_{name}"] = float(np.median(fit[name].values[good])) if good.any() else np.nan
    return out


def _fit_view(ds, prefix):
    """The fit variables of one set (learned or ``ref_``) with plain names."""
    names = ("x0", "y0", "orientation", "frequency", "phase", "sigma_x", "sigma_y", "r2",
             "nx", "ny")
    dim = f"{prefix}atom"
    fit = xr.Dataset({n: (("atom",), ds[f"{prefix}{n}"].values) for n in names},
                     coords={"atom": np.arange(ds.sizes[dim])})
    fit.attrs.update(height=ds.sizes[f"{prefix}y"], width=ds.sizes[f"{prefix}x"])
    return fit


def plot(ds: xr.Dataset, outdir) -> list[Path]:
    """nx-ny plane, Gabor tiling, atoms next to their fits."""
    from v1model.io import save_figure
    from v1model.plotting import plot_atoms, plot_gabor_tiling, plot_nx_ny
    from v1model.plotting._mpl import pyplot

    outdir = Path(outdir)
    min_r2 = float(ds.attrs.get("min_r2", GABOR_LIKE_R2))
    fits, labels = [_fit_view(ds, "")], ["learned atoms"]
    if "ref_atom" in ds.dims:
        fits.append(_fit_view(ds, "ref_"))
        labels.append("sparsenet A144")
    paths = [
        save_figure(plot_nx_ny(*fits, labels=labels, min_r2=min_r2),
                    outdir / f"{NAME}_nx_ny.png"),
        save_figure(plot_gabor_tiling(fits[0], min_r2=min_r2,
                                      title="Gabor tiling of the learned atoms"),
                    outdir / f"{NAME}_tiling.png"),
    ]
    plt = pyplot()
    sets = [("dictionary", "gabor", "learned")]
    if "ref_atom" in ds.dims:
        sets.append(("ref_dictionary", "ref_gabor", "A144"))
    fig, axes = plt.subplots(len(sets), 2, figsize=(10, 5 * len(sets)), squeeze=False)
    for row, (atoms, model, label) in zip(axes, sets):
        r2 = ds["r2" if label == "learned" else "ref_r2"].values
        plot_atoms(ds[atoms].values, ax=row[0], title=f"{label} atoms")
        plot_atoms(ds[model].values, ax=row[1],
                   title=f"fitted Gabors (median R² {np.nanmedian(r2):.2f}, "
                         f"{np.mean(r2 >= min_r2):.0%} ≥ {min_r2:g})")
    fig.tight_layout()
    paths.append(save_figure(fig, outdir / f"{NAME}_fits.png"))
    return paths
