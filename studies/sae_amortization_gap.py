"""The amortisation gap of a sparse autoencoder: iterative inference with the
SAE's own decoder codes held-out data better than the SAE's encoder.

A sparse autoencoder replaces sparse inference by one linear map and a
nonlinearity. O'Neill, Gumran & Klindt (2025) prove that such an encoder
cannot recover every sparse code once the data are compressed (fewer
features than sources), and show that sparse-coding inference with the same
decoder does better. This study measures that gap on planted data:

- sources: ``n_sources`` unit-norm Gaussian atoms in ``n_features``
  dimensions, ``k`` active per sample with coefficients U(1, 2), plus a
  little noise;
- for each ``n_features`` (the compression ``n_features / n_sources``), a
  TopK SAE with ``n_sources`` latents and the same ``k`` is trained, then the
  held-out samples are coded with ``k`` active latents four ways: the SAE's
  encoder, matching pursuit and orthogonal matching pursuit (non-negative)
  with the SAE's decoder (``x - b_dec`` coded, ``b_dec`` added back), and
  OMP with the true dictionary (the reference for the support; OMP is greedy,
  so its codes are not the best ``k``-term fit, and at 8 features OMP with
  the SAE's decoder and ``b_dec`` left less variance unexplained: 0.015
  against 0.017 in the README's full run);
- each code is scored by the fraction of variance it leaves unexplained
  (FVU: the squared error over the held-out samples' squared deviation from
  their own mean, per feature) and by how well its support matches the true sources (F1 after
  matching latents to sources one to one by the decoder's cosines,
  :func:`scipy.optimize.linear_sum_assignment`; signed cosines, since the
  sources' coefficients and the codes are non-negative: an atom pointing
  against a source cannot code it, and before 2026-12-07 |cos| counted it).

Defaults and their sources
--------------------------
- 64 sources, k = 4, noise s.d. 0.01: a small version of the paper's
  synthetic setting (sparse sources projected to fewer dimensions);
  compressions 0.25-0.75 (quick) and 0.125-1 (full).
- TopK SAE as in :mod:`v1model.sae` (Adam, lr 3e-3, batches of 256, AuxK),
  3,000 steps on 10,000 samples (quick: 2,000 on 8,000).
- Seeds: each compression draws its data and its SAE (initialisation and
  minibatches) from two streams of its own, children of ``seed`` keyed by its
  feature count, so that a compression's numbers do not change with the SAE's
  settings (``n_steps``) or with the other compressions run (before
  2026-12-07 all were drawn in turn from one Generator).

Measured (quick, seeds 0-3, 2026-12-07): OMP with the SAE's decoder leaves
0.56-0.60, 0.17-0.40 and 0.55-0.73 of the SAE encoder's unexplained variance at
16, 32 and 48 features, with the same number of active latents; the full run's
table is in the README (0.18-0.71 from 8 to 64 features, seed 0; 0.16-0.89,
seed 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from studies._seed_record import records_seed
from v1model.progress import quiet_when_told
from v1model.sweep.preflight import checks_parameters, parameters_checked

NAME = "sae-amortization-gap"
TITLE = "Sparse autoencoders: iterative inference with the SAE's own decoder beats its encoder"
REFERENCE = (
    "O'Neill, C., Gumran, A. & Klindt, D. (2025). Compute optimal inference and provable "
    "amortisation gap in sparse autoencoders. Proc. 42nd ICML, PMLR 267, 46877-46896 "
    "(arXiv:2411.13117)."
)
PARAMETER_UNITS = {"n_sources": "1", "k": "1", "noise": "1", "min_ratio": "1",
                   "max_ratio": "1", "n_ratios": "1", "n_steps": "1"}
#: parameters that take a file or folder path, with the texts they take that are no
#: path: a sweep makes their relative paths absolute (see v1model.sweep.spec)
PATH_PARAMETERS = {}

#: defaults, (quick, full), of the parameters whose default None ``run`` replaces
#: by the variant's: a sweep records them without running the study
#: (:meth:`v1model.sweep.SweepSpec.study_defaults`)
QUICK_DEFAULTS = {
    "min_ratio": (0.25, 0.125),
    "max_ratio": (0.75, 1.0),
    "n_ratios": (3, 8),
    "n_steps": (2000, 3000),
    "n_train": (8000, 10000),
}

#: the codes compared, in the Dataset's ``coder`` order (not "method": ``.sel(method=)``
#: is xarray's own keyword)
CODERS = ("sae_encoder", "mp", "omp", "omp_true_dictionary")
CODER_LABELS = {"sae_encoder": "SAE encoder (TopK)", "mp": "MP, SAE decoder",
                 "omp": "OMP, SAE decoder", "omp_true_dictionary": "OMP, true dictionary"}
#: a learned atom matches its source above this cosine (signed, as in the SAE's recovery
#: tests, since the sources and the codes are non-negative; MOD's and K-SVD's use |cos|)
MATCH_COSINE = 0.95
#: what ``fvu`` divides by (attrs["definition"]): the variance about the held-out mean,
#: so 1 is no better than predicting each feature's held-out mean
FVU_DEFINITION = ("sum over held-out samples of ||x - x_hat||^2 / sum of ||x - mean||^2, "
                  "mean: of the held-out samples, per feature "
                  "(v1model.analysis.fraction_variance_unexplained)")
#: samples per Adam step of each SAE (the autoencoder's default); n_train needs as many
SAE_BATCH_SIZE = 256


def planted_sources(n_samples, n_features, n_sources, k, noise, rng):
    """``X = Z D + noise``: ``k`` of ``n_sources`` unit-norm Gaussian atoms per
    sample with coefficients U(1, 2).

    Returns
    -------
    X : ndarray, shape (n_samples, n_features)
    D : ndarray, shape (n_sources, n_features)
    Z : ndarray, shape (n_samples, n_sources)
    """
    D = rng.standard_normal((n_sources, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    Z = np.zeros((n_samples, n_sources))
    # k distinct sources per sample: the k smallest of n_sources uniform keys
    active = np.argsort(rng.random((n_samples, n_sources)), axis=1)[:, :k]
    np.put_along_axis(Z, active, rng.uniform(1.0, 2.0, (n_samples, k)), axis=1)
    return Z @ D + noise * rng.standard_normal((n_samples, n_features)), D, Z


def _support_f1(Z_est, Z_true):
    """Mean over samples of the F1 score of the estimated support (1 where both
    supports are empty)."""
    est, true = Z_est != 0, Z_true != 0
    both = np.count_nonzero(est & true, axis=1)
    total = np.count_nonzero(est, axis=1) + np.count_nonzero(true, axis=1)
    return float(np.mean(np.where(total > 0, 2 * both / np.maximum(total, 1), 1.0)))


def _ratios(min_ratio, max_ratio, n_ratios, n_sources):
    """Feature counts between ``min_ratio`` and ``max_ratio`` times ``n_sources``,
    evenly spaced, distinct, at least 2."""
    counts = np.round(np.linspace(min_ratio, max_ratio, n_ratios) * n_sources).astype(int)
    return np.unique(np.maximum(counts, 2))


@checks_parameters
@quiet_when_told
@records_seed
def run(
    quick: bool = False,
    seed: int = 0,
    *,
    n_sources: int = 64,
    k: int = 4,
    noise: float = 0.01,
    min_ratio: float | None = None,
    max_ratio: float | None = None,
    n_ratios: int | None = None,
    n_steps: int | None = None,
    n_train: int | None = None,
    n_test: int = 2000,
    progress: bool = True,
) -> xr.Dataset:
    """Train a TopK SAE per compression; code held-out data with its encoder,
    with MP and OMP on its decoder, and with OMP on the true dictionary.

    Parameters
    ----------
    quick : bool
        3 compressions (16, 32 and 48 of 64 features), 2,000 steps on 8,000
        samples (about 15 s) instead of 8 compressions (8 to 64 features in
        steps of 8), 3,000 steps on 10,000 samples (1-1.5 minutes).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Root seed (dictionaries, codes, noise, SAE initialisation and batches):
        each compression's data and SAE from children of it keyed by the
        feature count (a Generator is spawned from, so a second run differs).
    n_sources : int
        Sources (true atoms), and latents of each SAE.
    k : int
        Active sources per sample; the SAE's k and the pursuits' atom count.
    noise : float
        Standard deviation of the additive Gaussian noise (units of X; the
        atoms have unit norm and the coefficients are 1 to 2).
    min_ratio, max_ratio : float, optional
        Smallest and largest compression ``n_features / n_sources``, in (0, 1].
    n_ratios : int, optional
        Compressions between them (evenly spaced; two that round to the same
        feature count are run once, so ``n_features`` may be shorter).
    n_steps : int, optional
        Adam steps of each SAE.
    n_train : int, optional
        Training samples per compression.
    n_test : int
        Held-out samples per compression, at least 2 (the FVU is relative
        to their variance about their mean).
    progress : bool

    Returns
    -------
    xarray.Dataset
        Over (``n_features``, ``coder``): ``fvu`` (fraction of variance
        unexplained: ``sum ||x - x_hat||^2 / sum ||x - mean||^2`` over the held-out
        samples, about their own mean, ``attrs["definition"]``), ``support_f1``
        and ``l0`` (active latents per sample);
        over ``n_features``: ``atoms_recovered`` (fraction of sources matched
        one to one by a decoder atom with cos > 0.95: signed, since the codes
        are non-negative), ``compression`` and the
        SAE's final training ``sae_training_fvu``; parameters in attrs.
    """
    from scipy.optimize import linear_sum_assignment
    from threadpoolctl import threadpool_limits

    from studies._checks import child_seeds
    from studies._defaults import quick_default
    from v1model.analysis import fraction_variance_unexplained
    from v1model.inference import encode
    from v1model.io import seed_attr
    from v1model.progress import progress_bar
    from v1model.sae import SparseAutoencoder
    from v1model.validation import (as_generator, check_bool, check_int, check_nonnegative,
                                    check_probability)

    quick = check_bool(quick, "quick")  # "no" would be truthy
    n_sources = check_int(n_sources, "n_sources", minimum=2)
    k = check_int(k, "k", minimum=1, maximum=n_sources)
    noise = check_nonnegative(noise, "noise")
    min_ratio = check_probability(quick_default(min_ratio, quick, *QUICK_DEFAULTS["min_ratio"]),
                                  "min_ratio",
                                  open_interval=False)
    max_ratio = check_probability(quick_default(max_ratio, quick, *QUICK_DEFAULTS["max_ratio"]),
                                  "max_ratio",
                                  open_interval=False)
    if not 0 < min_ratio <= max_ratio:
        raise ValueError(f"min_ratio and max_ratio must satisfy 0 < min_ratio <= max_ratio "
                         f"<= 1, got min_ratio={min_ratio!r}, max_ratio={max_ratio!r}")
    n_ratios = check_int(quick_default(n_ratios, quick, *QUICK_DEFAULTS["n_ratios"]),
                         "n_ratios", minimum=1)
    n_steps = check_int(quick_default(n_steps, quick, *QUICK_DEFAULTS["n_steps"]),
                        "n_steps", minimum=1)
    n_train = check_int(quick_default(n_train, quick, *QUICK_DEFAULTS["n_train"]),
                        "n_train", minimum=1)
    if n_train < SAE_BATCH_SIZE:  # no parameter of the study: say where the bound comes from
        raise ValueError(f"n_train must be >= {SAE_BATCH_SIZE} (the SAE's minibatch of "
                         f"{SAE_BATCH_SIZE} samples), got {n_train}")
    # the FVU divides by the variance about the held-out mean: none with one sample
    n_test = check_int(n_test, "n_test", minimum=2)
    progress = check_bool(progress, "progress")
    counts = _ratios(min_ratio, max_ratio, n_ratios, n_sources)
    if np.any(counts < k):
        raise ValueError(f"min_ratio={min_ratio!r} gives {counts.min()} features for k={k} "
                         f"active sources; raise min_ratio or lower k")
    as_generator(seed)  # refused by name before any work (child_seeds checks it too)
    parameters_checked()  # a sweep's pre-flight stops here, before any work
    data_seq, sae_seq = child_seeds(seed, 2)

    shape = (len(counts), len(CODERS))
    fvu, f1, l0 = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    recovered, train_fvu = np.full(len(counts), np.nan), np.full(len(counts), np.nan)
    # small matrices: BLAS threads only contend (see the SAE study)
    with threadpool_limits(limits=1, user_api="blas"):
        for i, m in enumerate(progress_bar(progress, total=len(counts), desc="compressions",
                                           unit="compression", iterable=counts)):
            # the data and the SAE of each compression from streams of their own, keyed by
            # its feature count: drawn from one Generator in turn, the data of every
            # compression but the first changed with n_steps (the SAE before it drew its
            # minibatches from the same stream) and with the other compressions run, so
            # that OMP with the true dictionary, which no SAE touches, gave 0.0035 at 32
            # features after 2,000 SAE steps and 0.0018 after 6,000
            X, D_true, Z_true = planted_sources(n_train + n_test, int(m), n_sources, k, noise,
                                                _stream(data_seq, m))
            X_train, X_test, Z_test = X[:n_train], X[n_train:], Z_true[n_train:]
            sae = SparseAutoencoder(n_sources, "topk", k=k, n_steps=n_steps, lr=3e-3,
                                    batch_size=SAE_BATCH_SIZE, seed=_stream(sae_seq, m),
                                    progress=False, dtype="float64").fit(X_train)
            D = sae.components_
            b_dec = sae.decoder_bias_
            # signed: the sources' coefficients and every code here are non-negative, so a
            # latent whose atom points against a source (cos < 0) cannot code it; matched
            # by |cos| it counted as recovering it, and its support as the source's
            cosines = D_true @ D.T
            rows, cols = linear_sum_assignment(-cosines)
            recovered[i] = np.mean(cosines[rows, cols] > MATCH_COSINE)
            to_source = np.empty(n_sources, dtype=int)
            to_source[cols] = rows  # latent -> the source it is matched with
            codes = {
                "sae_encoder": (sae.encode(X_test), D, b_dec),
                # no bars of their own (MP and OMP draw one once slow): the compressions' bar
                "mp": (encode(X_test - b_dec, D, "mp", n_nonzero=k, positive=True,
                              dtype=np.float64, progress=False), D, b_dec),
                "omp": (encode(X_test - b_dec, D, "omp", n_nonzero=k, positive=True,
                               dtype=np.float64, progress=False), D, b_dec),
                "omp_true_dictionary": (encode(X_test, D_true, "omp", n_nonzero=k,
                                               positive=True, dtype=np.float64,
                                               progress=False), D_true, 0.0),
            }
            for j, coder in enumerate(CODERS):
                Z, basis, offset = codes[coder]
                fvu[i, j] = fraction_variance_unexplained(X_test, Z @ basis + offset)
                as_sources = Z if basis is D_true else _permute(Z, to_source)
                f1[i, j] = _support_f1(as_sources, Z_test)
                l0[i, j] = np.count_nonzero(Z) / len(Z)
            train_fvu[i] = float(sae.history_["fvu"][-100:].mean())

    ds = xr.Dataset(coords={"n_features": ("n_features", counts, {"units": "1"}),
                            "coder": ("coder", list(CODERS))})
    ds["compression"] = ("n_features", counts / n_sources, {
        "long_name": "features per source (n_features / n_sources)", "units": "1"})
    dims = ("n_features", "coder")
    ds["fvu"] = (dims, fvu, {"long_name": "held-out fraction of variance unexplained",
                             "units": "1", "definition": FVU_DEFINITION})
    ds["support_f1"] = (dims, f1, {
        "long_name": "F1 of the code's support against the true sources (latents matched "
                     "to sources one to one)", "units": "1"})
    ds["l0"] = (dims, l0, {"long_name": "active latents per held-out sample", "units": "1"})
    ds["atoms_recovered"] = ("n_features", recovered, {
        "long_name": f"fraction of sources matched one to one by a decoder atom with "
                     f"cos > {MATCH_COSINE} (signed: the codes are non-negative)",
        "units": "1"})
    ds["sae_training_fvu"] = ("n_features", train_fvu, {
        "long_name": "SAE training FVU (mean of the last 100 minibatches)", "units": "1",
        "definition": "history_.fvu of the SAE: each minibatch's squared error over its "
                      "squared deviation from the mean of every sample trained on so far"})
    ds.attrs.update(
        study=NAME, title=TITLE, reference=REFERENCE, quick=int(quick), seed=seed_attr(seed),
        n_sources=n_sources, k=k, noise=noise, min_ratio=min_ratio, max_ratio=max_ratio,
        n_ratios=n_ratios, n_steps=n_steps, n_train=n_train, n_test=n_test,
        sae_activation="topk", sae_lr=3e-3, match_cosine=MATCH_COSINE,
        coders=", ".join(f"{c}: {CODER_LABELS[c]}" for c in CODERS),
        max_fvu_ratio_omp_to_sae=float(np.max(fvu[:, 2] / fvu[:, 0])),
    )
    return ds


def _stream(parent, n_features):
    """The Generator of the child of SeedSequence ``parent`` keyed by ``n_features``:
    the same for a feature count whatever the other compressions and settings."""
    return np.random.default_rng(np.random.SeedSequence(
        parent.entropy, spawn_key=(*parent.spawn_key, int(n_features)),
        pool_size=parent.pool_size))


def _permute(Z, to_source):
    """Latent codes (n, n_latents) re-indexed by the source each latent matches."""
    out = np.zeros_like(Z)
    out[:, to_source] = Z
    return out


def plot(ds: xr.Dataset, outdir) -> list[Path]:
    """Held-out FVU and support F1 against compression, one line per code, as a PNG."""
    from v1model.io import save_figure
    from v1model.plotting._mpl import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    x = ds["compression"].values
    for coder in ds["coder"].values:
        style = "--" if coder == "omp_true_dictionary" else "-"
        for ax, var in zip(axes, ("fvu", "support_f1")):
            ax.plot(x, ds[var].sel(coder=coder).values, style, marker="o",
                    label=CODER_LABELS.get(str(coder), str(coder)))
    axes[0].set_yscale("log")
    axes[0].set_ylabel("held-out variance unexplained (fraction)")
    axes[0].set_title(f"k = {ds.attrs['k']} of {ds.attrs['n_sources']} sources", fontsize=9)
    axes[1].set_ylabel("support F1 against the true sources")
    axes[1].set_ylim(0, 1.02)
    axes[1].set_title("which sources are active", fontsize=9)
    for ax in axes:
        ax.set_xlabel("features per source (n_features / n_sources)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return [save_figure(fig, Path(outdir) / f"{NAME}.png")]
