"""Figures of dictionaries and of learning: atom grids, learning curves,
coefficient histograms."""

from __future__ import annotations

import numpy as np

from ._mpl import pyplot


def atom_images(D, patch_shape=None):
    """Reshape a dictionary (n_atoms, n_features) or (n_atoms, h, w) to images."""
    D = np.asarray(D)
    if D.ndim == 3:
        return D
    n, p = D.shape
    if patch_shape is None:
        side = int(round(np.sqrt(p)))
        if side * side != p:
            raise ValueError(
                f"atoms have {p} features, which is not a square patch; pass patch_shape"
            )
        patch_shape = (side, side)
    return D.reshape(n, *patch_shape)


def tile_atoms(D, patch_shape=None, n_cols=None, pad=1, normalize="each"):
    """Arrange atoms in one image with a grey border, as in Olshausen & Field's figures.

    Each atom is scaled so that its largest absolute value maps to +-1
    (``normalize="each"``) or all share one scale (``"all"``).
    """
    atoms = atom_images(D, patch_shape).astype(float)
    n, h, w = atoms.shape
    n_cols = n_cols or int(np.ceil(np.sqrt(n)))
    n_rows = int(np.ceil(n / n_cols))
    if normalize == "each":
        scale = np.abs(atoms).reshape(n, -1).max(axis=1)
    else:
        scale = np.full(n, np.abs(atoms).max())
    atoms = atoms / np.maximum(scale, 1e-12)[:, None, None]
    canvas = np.full((n_rows * (h + pad) + pad, n_cols * (w + pad) + pad), np.nan)
    for i in range(n):
        r, c = divmod(i, n_cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        canvas[y : y + h, x : x + w] = atoms[i]
    return canvas


def plot_atoms(D, patch_shape=None, n_cols=None, title=None, ax=None, normalize="each"):
    """Grid of atoms (receptive fields), grey = 0, white positive, black negative."""
    plt = pyplot()
    canvas = tile_atoms(D, patch_shape, n_cols, normalize=normalize)
    if ax is None:
        size = min(12, 2 + canvas.shape[1] / 25)
        fig, ax = plt.subplots(figsize=(size, size * canvas.shape[0] / canvas.shape[1]))
    else:
        fig = ax.figure
    cmap = plt.get_cmap("gray").with_extremes(bad=(0.5, 0.5, 0.5))
    ax.imshow(np.ma.masked_invalid(canvas), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def plot_learning_curve(history, variables=("objective", "reconstruction_error", "fraction_active")):
    """Learning history (Dataset over ``update``): one panel per variable."""
    plt = pyplot()
    variables = [v for v in variables if v in history]
    fig, axes = plt.subplots(1, len(variables), figsize=(4 * len(variables), 3.2), squeeze=False)
    x = history[history[variables[0]].dims[0]]
    for ax, name in zip(axes[0], variables):
        y = history[name].values
        ax.plot(x, y, lw=0.8, color="0.6")
        if y.size >= 20:
            k = max(y.size // 50, 2)
            ax.plot(x[k - 1 :], np.convolve(y, np.ones(k) / k, mode="valid"), color="C0")
        ax.set_xlabel(x.name)
        units = history[name].attrs.get("units")
        ax.set_ylabel(name.replace("_", " ") + (f" ({units})" if units not in (None, "1") else ""))
        ax.set_title(history[name].attrs.get("long_name", name), fontsize=9)
    fig.tight_layout()
    return fig


def plot_coefficient_histogram(codes, bins=101, ax=None, title=None):
    """Histogram of coefficients on a log scale against a Gaussian of equal variance.

    The sparse code's distribution has a sharp peak at zero and heavy tails
    (Olshausen & Field 1996, Fig. 4); a Gaussian of the same variance is the
    dense reference.
    """
    plt = pyplot()
    a = np.asarray(codes, dtype=float).ravel()
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.5))
    else:
        fig = ax.figure
    sd = a.std() if a.std() > 0 else 1.0
    lim = max(np.abs(a).max(), 4 * sd)
    edges = np.linspace(-lim, lim, bins + 1)
    hist, _ = np.histogram(a, bins=edges, density=True)
    centers = 0.5 * (edges[1:] + edges[:-1])
    ax.semilogy(centers, np.where(hist > 0, hist, np.nan), ".-", ms=3, label="coefficients")
    gauss = np.exp(-0.5 * (centers / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
    ax.semilogy(centers, gauss, "--", color="0.4", label="Gaussian, equal variance")
    positive = hist[hist > 0]
    ax.set_ylim(max(1e-4 / sd, positive.min() / 2), max(positive.max(), gauss.max()) * 2)
    ax.set_xlabel("coefficient value")
    ax.set_ylabel("probability density")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig
