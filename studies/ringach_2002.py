"""Ringach (2002): where sparse-coding receptive fields fall in the (nx, ny) plane.

Ringach fitted Gabor functions to the receptive fields of macaque simple cells
and summarised each by ``nx = sigma_x * f`` and ``ny = sigma_y * f`` — the
envelope's width across and along the bars in cycles of the carrier. Cells
spread from blobs (nx, ny < 0.3) to elongated multi-lobed fields, and
sparse-coding bases lie further out along nx than most cells do (his Fig. 4,
with the sparsenet basis). This study fits a Gabor to every atom learned by
the ``olshausen-field-1996`` study and, when Olshausen's sparsenet basis
(``A144.mat``) is available, to that basis too.

Only reliable fits enter the nx-ny plane, the tiling and the medians
(:func:`v1model.analysis.reliable_gabor_fits`): R^2 >= ``min_r2``, at least
one carrier cycle across the patch, the envelope centred on the patch,
neither envelope s.d. nor the frequency at a bound of the fit, and a
frequency measured to 50% (its standard error; no cut on nx). A high R^2 alone is not enough:
flat patches, ramps and edges are fitted well by a "Gabor" with less than one
cycle (e.g. f = 0.002 cycles/pixel, nx = 0.012, ny = 0.006) and pile up at the
origin of the plane, exactly where Ringach's blob-like cells lie, imitating
his finding. On the quick run (seed 0) this moves the learned atoms' medians
from (nx, ny) = (0.20, 0.72) over all 54 fits with R^2 >= 0.8 to (0.36, 0.79)
over the 17 reliable ones; the A144 medians barely move, (0.34, 0.46) to
(0.35, 0.48): 103 of its 144 atoms are reliable, of the 143 with R^2 >= 0.8
(re-measured 2026-12-07 with the quick dictionary learned on the left 80% of
every image's columns; before: 55 fits, (0.28, 0.67), 21 reliable, (0.34, 0.72)).
The full run (16x16, 256 atoms, seed 0; measured 2026-12-07 on the same split,
97 s CPU, 6.8 min wall on the loaded 2-core box) moves them from (0.24, 0.66)
over 252 fits with R^2 >= 0.8 to (0.28, 0.74) over 150 reliable ones.

Figures: the nx-ny plane (learned atoms and A144), the Gabor tiling of the
learned atoms (orientation x frequency, position x size), and the atoms next
to their fitted Gabors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from studies._gabor_fit import gabor_fit_attrs, gabor_fit_units
from v1model.analysis import GABOR_LIKE_R2, reliable_gabor_fits
from studies._learned import DICTIONARY_MEANS
from studies._seed_record import records_seed
from v1model.progress import quiet_when_told
from v1model.sweep.preflight import checks_parameters, parameters_checked

NAME = "ringach-2002"
TITLE = "Learned atoms and the sparsenet basis in Ringach's (nx, ny) plane"
REFERENCE = (
    "Ringach, D. L. (2002). Spatial structure and symmetry of simple-cell receptive fields "
    "in macaque primary visual cortex. J. Neurophysiol. 88, 455-463."
)
#: parameters that take a file or folder path, with the texts they take that are no
#: path: a sweep makes their relative paths absolute (see v1model.sweep.spec)
#: units of the parameters, for a sweep's coordinates (v1model.sweep)
PARAMETER_UNITS = {"min_r2": "1", **gabor_fit_units(), **gabor_fit_units("ref_gabor_")}
PATH_PARAMETERS = {"dictionary": ("none", "null"),
                   "images": ("skimage",),
                   "reference": ("none", "null", "false")}

#: what a default None stands for where it is no one value per variant (shown by
#: ``v1model study show``; QUICK_DEFAULTS holds the others)
NONE_MEANS = {
    **DICTIONARY_MEANS,
    "reference": "../shared/data/olshausen/A144.mat beside the project or the working "
                 "folder, when there (else left out, with a warning)",
}

@checks_parameters
@quiet_when_told
@records_seed
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
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
    dictionary : str, optional
        A saved ``olshausen-field-1996`` result (or network) to analyse instead
        of learning one.
        Recorded in attrs: ``dictionary``, the file's absolute path or "learned", and
        a learned one's learning parameters prefixed ``dictionary_``
        (``dictionary_seed``, ``dictionary_lam``, ...;
        :func:`studies._learned.learned_dictionary`).
    images : str
        Image source of the learning run; recorded in attrs as that run
        recorded it (resolved), or as ``"(not used: dictionary given)"`` with
        ``dictionary``, when no image is loaded.
    n_updates : int, optional
        Learning updates (default: 1,000 when quick, the study's own default
        otherwise).
    reference : str, optional
        Path of ``A144.mat``; default ``../shared/data/olshausen/A144.mat``
        when present; ``"none"`` to skip.
    min_r2 : float
        Fits with R^2 at least this good count as Gabor-like; default
        ``GABOR_LIKE_R2`` (0.8), the package's one threshold. The medians,
        the nx-ny plane and the tiling use only the reliable fits among them
        (see the module docstring).
    n_starts : int
        Starts per Gabor fit, 1 to 6 (as :func:`v1model.analysis.fit_gabor`;
        checked before the dictionary is learned).
    progress : bool

    Returns
    -------
    xarray.Dataset
        ``dictionary`` (atom, y, x) and its fitted Gabor parameters, ``r2``,
        ``nx``, ``ny`` over ``atom``, the fitted Gabor images ``gabor`` (atom,
        y, x), ``reliable`` (atom; bool, see
        :func:`v1model.analysis.reliable_gabor_fits`); the same with a
        ``ref_`` prefix over ``ref_atom`` for A144. Summaries in attrs, with
        the prefix ``learned_`` or ``ref_``:

        - ``n_atoms``; ``n_fitted``, the atoms with a fit (finite
          parameters: constant atoms have none); ``median_r2`` over them;
        - ``fraction_gabor``: fraction of the ``n_fitted`` atoms with R^2 >=
          ``min_r2`` (R^2 only, not the reliability criteria; NaN when no
          atom was fitted); ``n_gabor_like``, the same as a count;
        - ``fraction_reliable`` (of the ``n_fitted`` atoms), ``n_reliable``:
          atoms whose fit is reliable;
          how many each criterion excluded: ``n_unfitted`` (constant atoms),
          ``n_low_r2``, and among the Gabor-like fits ``n_sub_cycle``,
          ``n_centre_outside``, ``n_sigma_at_bound``,
          ``n_frequency_at_bound``, ``n_low_nx``, ``n_frequency_unmeasured``
          (overlapping);
        - ``median_nx``, ``median_ny``, ``median_frequency``,
          ``median_sigma_x``, ``median_sigma_y``: over the reliable fits
          only (before this criterion they were over all fits with R^2 >=
          ``min_r2``).

        The settings and bounds of the fits, which the reliable ones depend
        on, with the prefix ``gabor_`` (learned) or ``ref_gabor_`` (A144,
        whose 12x12 patch has bounds of its own): ``n_starts``, ``n_iter``,
        ``polish``, ``max_nfev``, ``min_sigma``, ``max_sigma``,
        ``max_frequency`` (:func:`v1model.analysis.fit_gabor`'s attrs).
    """
    from studies._checks import path_attr
    from studies._learned import (a144_path, check_dictionary_source, default_updates,
                                  images_attr, learned_dictionary, load_a144)
    from v1model.analysis import fit_gabor
    from v1model.io import seed_attr
    from v1model.validation import check_bool, check_int, check_probability

    quick = check_bool(quick, "quick")  # "no" would be truthy
    min_r2 = check_probability(min_r2, "min_r2", open_interval=False)
    # fit_gabor's own range, refused here rather than after the dictionary is learned
    n_starts = check_int(n_starts, "n_starts", minimum=1, maximum=6)
    path = a144_path(reference)  # the sparsenet basis A144.mat, looked up before learning
    A = None if path is None else load_a144(path)  # and read: a wrong file fails before it
    n_updates = default_updates(n_updates, quick=quick, dictionary=dictionary)
    check_bool(progress, "progress")  # fit_gabor's check, before the dictionary is learned
    check_dictionary_source(dictionary, n_updates, images, seed=seed)
    parameters_checked()  # a sweep's pre-flight stops here, before any work
    D, source, meta = learned_dictionary(dictionary, quick=quick, seed=seed, images=images,
                                         n_updates=n_updates, progress=progress, study=NAME)
    fit = fit_gabor(D, n_starts=n_starts, return_model=True, progress=progress)
    reliable = reliable_gabor_fits(fit, min_r2=min_r2)
    ds = fit.rename({"model": "gabor"})
    # fit_gabor's attrs came along unprefixed (analysis="gabor fit", the learned fits'
    # bounds alone): the study's attrs name them as the other studies do, ref's too
    ds.attrs = gabor_fit_attrs(fit)
    ds["dictionary"] = (("atom", "y", "x"), D, {"units": "1", "long_name": "learned atoms"})
    ds["reliable"] = _mask_variable(reliable)
    ds.attrs.update({f"learned_{k}": v for k, v in _summary(fit, reliable).items()})

    if A is not None:
        ref = fit_gabor(A, n_starts=n_starts, return_model=True, progress=progress)
        ref_reliable = reliable_gabor_fits(ref, min_r2=min_r2)  # with ref's own bounds
        ref_summary = _summary(ref, ref_reliable)
        ref["reliable"] = _mask_variable(ref_reliable)
        ref = ref.rename({"atom": "ref_atom", "y": "ref_y", "x": "ref_x", "model": "gabor"})
        ref = ref.rename({v: f"ref_{v}" for v in ref.data_vars})
        ref["ref_dictionary"] = (("ref_atom", "ref_y", "ref_x"), A,
                                 {"units": "1", "long_name": "sparsenet basis A144"})
        ds = xr.merge([ds, ref], combine_attrs="override")
        ds.attrs.update({f"ref_{k}": v for k, v in ref_summary.items()})
        # A144's own bounds: its 12x12 patch has max_sigma 12, the learned atoms 8 or 16
        ds.attrs.update(gabor_fit_attrs(ref, "ref_gabor_"))
    ds.attrs.update(
        study=NAME, reference_paper=REFERENCE, quick=int(quick), seed=seed_attr(seed),
        source=source,
        a144=path_attr(path) if path is not None else "absent", min_r2=min_r2, n_starts=n_starts,
        images=images_attr(meta), **meta,
    )
    return ds


_COUNTS = ("n_gabor_like", "n_reliable", "n_unfitted", "n_low_r2", "n_sub_cycle",
           "n_centre_outside", "n_sigma_at_bound", "n_frequency_at_bound", "n_low_nx",
           "n_frequency_unmeasured")


def _mask_variable(reliable):
    """The reliability mask as a data variable: its criteria in attrs (counts go to ds.attrs)."""
    keep = ("long_name", "units", "min_r2", "min_cycles", "sigma_rtol", "frequency_rtol",
            "min_nx", "max_frequency_rse", "frequency_se_checked", "min_sigma", "max_sigma",
            "max_frequency")
    return xr.DataArray(reliable.values, dims=reliable.dims,
                        attrs={k: v for k, v in reliable.attrs.items() if k in keep})


def _summary(fit, reliable):
    """Counts and medians of one set of fits; the medians over reliable fits only."""
    r2 = fit["r2"].values
    good = reliable.values
    # over the atoms with a fit: a constant atom (NaN fit) counted as "not Gabor-like"
    n_fitted = int(r2.size - reliable.attrs["n_unfitted"])
    out = {"n_atoms": int(r2.size), "n_fitted": n_fitted,
           # R^2 >= min_r2 alone, as before the reliability criteria
           "fraction_gabor": reliable.attrs["n_gabor_like"] / n_fitted if n_fitted else np.nan,
           "fraction_reliable": float(good.sum() / n_fitted) if n_fitted else np.nan,
           "median_r2": float(np.nanmedian(r2)) if np.isfinite(r2).any() else np.nan}
    out.update({k: int(reliable.attrs[k]) for k in _COUNTS})
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


def _reliable(ds, prefix, min_r2):
    """The saved reliability mask, or (results saved before it existed) recomputed."""
    if f"{prefix}reliable" in ds:
        return np.asarray(ds[f"{prefix}reliable"].values, dtype=bool)
    # fit_gabor's default sigma bounds, which this study uses
    return reliable_gabor_fits(_fit_view(ds, prefix), min_r2=min_r2).values


def plot(ds: xr.Dataset, outdir) -> list[Path]:
    """nx-ny plane and Gabor tiling of the reliable fits, atoms next to their fits."""
    from v1model.io import save_figure
    from v1model.plotting import plot_atoms, plot_gabor_tiling, plot_nx_ny
    from v1model.plotting._mpl import pyplot

    outdir = Path(outdir)
    min_r2 = float(ds.attrs.get("min_r2", GABOR_LIKE_R2))
    prefixes, labels = [""], ["learned atoms"]
    if "ref_atom" in ds.dims:
        prefixes.append("ref_")
        labels.append("sparsenet A144")
    masks = [_reliable(ds, p, min_r2) for p in prefixes]
    # the plotting functions select by R^2 only: hand them the reliable fits alone
    fits = [_fit_view(ds, p).isel(atom=np.flatnonzero(m)) for p, m in zip(prefixes, masks)]
    labels = [f"{label}: {m.sum()} of {m.size} reliable" for label, m in zip(labels, masks)]
    criteria = (f"R² ≥ {min_r2:g}, ≥ 1 cycle, centre on the patch, σ and f inside the fit "
                "bounds, f measured")
    paths = [
        save_figure(plot_nx_ny(*fits, labels=labels, min_r2=min_r2,
                               title=f"Ringach's nx-ny plane, reliable Gabor fits\n({criteria})"),
                    outdir / f"{NAME}_nx_ny.png"),
        save_figure(plot_gabor_tiling(fits[0], min_r2=min_r2,
                                      title=f"Gabor tiling of the {masks[0].sum()} reliably "
                                            f"fitted learned atoms ({criteria})"),
                    outdir / f"{NAME}_tiling.png"),
    ]
    plt = pyplot()
    sets = [("dictionary", "gabor", "learned", "")]
    if "ref_atom" in ds.dims:
        sets.append(("ref_dictionary", "ref_gabor", "A144", "ref_"))
    fig, axes = plt.subplots(len(sets), 2, figsize=(10, 5 * len(sets)), squeeze=False)
    for row, (atoms, model, label, prefix), mask in zip(axes, sets, masks):
        r2 = ds[f"{prefix}r2"].values
        fitted = np.isfinite(r2)  # shares of the fitted atoms, as the attrs fraction_gabor
        n_fitted = max(int(fitted.sum()), 1)
        plot_atoms(ds[atoms].values, ax=row[0], title=f"{label} atoms")
        # an atom with no fit has a NaN model, drawn as an empty cell: the title counts
        # the fitted ones, plot_atoms' warning about them would say nothing new (a
        # catch_warnings here, one per process, also hid another thread's warnings)
        plot_atoms(ds[model].values, ax=row[1], nan_atoms="empty",
                   title=f"fitted Gabors (median R² {np.nanmedian(r2):.2f}; of the "
                         f"{fitted.sum()} fitted, "
                         f"{np.sum(r2[fitted] >= min_r2) / n_fitted:.0%} ≥ {min_r2:g}, "
                         f"{mask[fitted].sum() / n_fitted:.0%} reliable)")
    fig.tight_layout()
    paths.append(save_figure(fig, outdir / f"{NAME}_fits.png"))
    return paths
