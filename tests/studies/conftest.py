"""Shared by the registry-wide study tests: every study at its smallest sizes."""

import numpy as np
import pytest

FSDD = ("fsdd",)  # /work/shared/data/fsdd, skipped when absent
#: a file of known Gabor atoms (written by ``smallest``): a study that takes ``dictionary=``
#: runs its analysis without learning one (the learning is tested with LEARNED's sizes)
GABORS = ("gabors",)

#: Each study at its smallest sizes (a few seconds each); every study of the registry
#: needs an entry, so that a new one is checked too.
SMALL = {
    "activity-ratio": dict(n_updates=5, n_lams=2, n_patches=50),
    "gregor-lecun-2010-lista": dict(patch_size=4, n_atoms=16, n_updates=3, n_train=300,
                                    n_test=30, depths=(1,), n_steps=10, n_iter_max=5,
                                    batch_size=50),
    "lca-sweep": dict(patch_size=4, n_updates=2, n_train=100, n_test=20),  # with its Gabor fits
    "lewicki-2002-speech": dict(audio_dir=FSDD, n_segments=300, n_updates=2, n_eval=20),
    "olshausen-field-1996": dict(patch_size=4, n_atoms=16, n_updates=3, n_patches=300,
                                 n_eval=20),
    "olshausen-field-1997": dict(overcompleteness=1, patch_size=4, n_updates=2, n_patches=300,
                                 n_eval=20),
    "receptive-field-mapping": dict(n_updates=5, n_white=100, n_sparse=100, n_orientations=4,
                                    n_frequencies=2, n_phases=2, n_contrasts=4,
                                    n_sample_units=2),
    "ringach-2002": dict(n_updates=5, n_starts=1),
    "rozell-2008-lca": dict(n_train=300, n_updates=3, n_eval=5, n_levels=2, t_max=0.01),
    "sae-amortization-gap": dict(n_sources=16, k=2, n_ratios=1, n_steps=10, n_train=256,
                                 n_test=20),
    "sae-natural-patches": dict(patch_size=4, n_steps=5, batch_size=64, n_patches=300,
                                n_eval=20),
    # patch_updates > 0: the patch-learned configuration samples patches
    "schultz-2014-replicating-kernels": dict(kernel_size=4, strides=[4, 2],
                                             extra_kernel_size=2, n_updates=2,
                                             patch_updates=2, n_patches=200, n_eval=1,
                                             eval_lams=[1.0, 2.0], eval_max_iter=20,
                                             max_iter=20, batch_size=2),
    "smith-lewicki-2006-convolutional": dict(audio_dir=FSDD, kernel_size=16, n_kernels=4,
                                             n_excerpts=10, n_updates=2, control_updates=2,
                                             n_eval=2, max_iter=20),
    "spiking-lca": dict(patch_size=4, n_atoms=16, n_patches=3, dictionary_updates=3,
                        duration=0.02),
    # Gabor atoms: learning 100 updates for atoms with reliable Gabor fits took ~10 s a run
    "zhu-rozell-2013-ncrf": dict(dictionary=GABORS, n_diameters=3, n_lengths=3, n_orientations=4,
                                 n_frequencies=2, n_phases=2, mask_contrasts=(1.0,),
                                 n_mask_phases=2),
    "zylberberg-2011-sailnet": dict(patch_size=4, n_neurons=8, n_updates=3, n_eval=5,
                                    n_brian2=1),
}
#: the learning in place of ``GABORS``, for the tests of a learned dictionary: enough
#: updates for atoms with reliable Gabor fits that respond at the lowest contrast (the
#: study stops without one; since the held-out split, seed 2 needs more than 150 updates)
LEARNED = {"zhu-rozell-2013-ncrf": dict(dictionary=None, n_updates=200)}
#: the same without a Brian2 run (its Cython compiles for minutes on first use)
WITHOUT_BRIAN2 = {"spiking-lca": {"target": "numpy"}, "zylberberg-2011-sailnet": {"n_brian2": 0}}


def write_gabor_atoms(path):
    """Four centred unit-norm 8x8 Gabors (two orientations, each in quadrature), saved
    as a study dictionary (atom, y, x): each has a reliable Gabor fit."""
    import xarray as xr

    from stimuli import gabor_patch

    atoms = gabor_patch(8, np.repeat([0.0, np.pi / 2], 2), 0.25, np.tile([0.0, np.pi / 2], 2),
                        1.5, 2.5)
    atoms /= np.linalg.norm(atoms.reshape(4, -1), axis=1)[:, None, None]
    xr.Dataset({"dictionary": (("atom", "y", "x"), atoms)}).to_netcdf(path)
    return str(path)


@pytest.fixture
def smallest(shared_data, tmp_path):
    """``smallest(name, brian2=True, learned=False)``: the parameters of
    ``SMALL[name]``, the FSDD folder's path in place of its marker (the test skipped
    when it is absent), a file of Gabor atoms in place of ``GABORS`` (``learned``:
    ``LEARNED[name]``, the learning of a dictionary, instead)."""
    def sizes(name, brian2=True, learned=False):
        assert name in SMALL, (f"add the smallest sizes of the new study {name!r} to SMALL "
                               "in tests/studies/conftest.py")
        params = dict(SMALL[name], **({} if brian2 else WITHOUT_BRIAN2.get(name, {})))
        if params.get("audio_dir") == FSDD:
            params["audio_dir"] = str(shared_data(*FSDD))
        if params.get("dictionary") == GABORS:
            if learned:
                params.update(LEARNED[name])
            else:
                params["dictionary"] = write_gabor_atoms(tmp_path / "gabors.nc")
        return params
    return sizes


def same_values(a, b) -> bool:
    """Whether two attrs hold the same values (NaN equal to NaN where it can be)."""
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
    except TypeError:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))


@pytest.fixture
def same():
    """:func:`same_values`, for the tests (which cannot import this conftest)."""
    return same_values


@pytest.fixture
def random_atoms(tmp_path):
    """Path (str) of a netCDF file of 16 random unit-norm 8x8 atoms (seed 0), variable
    ``dictionary`` over (atom, y, x): what a study's ``dictionary=`` argument loads."""
    import xarray as xr

    rng = np.random.default_rng(0)
    D = rng.standard_normal((16, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    path = tmp_path / "atoms.nc"
    xr.Dataset({"dictionary": (("atom", "y", "x"), D.reshape(16, 8, 8))}).to_netcdf(path)
    return str(path)


@pytest.fixture
def record_lca(monkeypatch):
    """``record_lca() -> calls``: replaces ``v1model.inference.lca``, which the studies
    call, by the real solver that also appends ``(X, D, lam, codes)`` of every call to
    ``calls`` (X, D and codes as float64 copies). Each call of ``record_lca`` wraps the
    real solver again, into a new list."""
    import v1model.inference

    real_lca = v1model.inference.lca

    def record():
        calls = []

        def recording_lca(X, D, lam, **kwargs):
            codes = real_lca(X, D, lam, **kwargs)
            calls.append((np.array(X, dtype=np.float64), np.array(D, dtype=np.float64), lam,
                          np.array(codes, dtype=np.float64)))
            return codes

        monkeypatch.setattr(v1model.inference, "lca", recording_lca)
        return calls

    return record


class _Stop(Exception):
    pass


@pytest.fixture
def run_arguments(monkeypatch):
    """``run_arguments(name, *params)``: the keyword arguments ``v1model study run NAME
    --quick -p ...`` passes to the study's run (replaced by a recorder with run's own
    signature)."""
    import functools

    from studies import get_study
    from v1model import cli

    def given(name, *params):
        study = get_study(name)
        calls = []

        @functools.wraps(study.run)
        def record(**kwargs):
            calls.append(kwargs)
            raise _Stop

        monkeypatch.setattr(study, "run", record)
        argv = ["study", "run", name, "--quick"]
        for p in params:
            argv += ["-p", p]
        with pytest.raises(_Stop):
            cli.main(argv)
        return calls[0]

    return given


@pytest.fixture
def gabor_fit_settings():
    """``gabor_fit_settings(side, prefix="gabor_", **settings)``: the attrs a study records
    (studies._gabor_fit) of Gabor fits of ``side`` x ``side`` atoms made with
    :func:`v1model.analysis.fit_gabor`'s ``settings``, read off a fit of one Gabor (the
    settings and bounds do not depend on the atoms, only on their shape)."""
    from stimuli import gabor_patch
    from studies._gabor_fit import GABOR_FIT_ATTRS
    from v1model.analysis import fit_gabor

    def expected(side, prefix="gabor_", **settings):
        atom = gabor_patch(side, 0.3, 0.25, 0.0, 1.5, 2.0)[None]
        attrs = fit_gabor(atom, progress=False, **settings).attrs
        return {f"{prefix}{name}": attrs[name] for name in GABOR_FIT_ATTRS}

    return expected


@pytest.fixture(scope="session")
def recording_fvu():
    """``with recording_fvu() as calls:``: within the block,
    ``v1model.analysis.fraction_variance_unexplained``, which the studies import when
    they run, is the real helper that also appends ``(X, X_hat, result)`` of every call
    to ``calls`` (X and X_hat as float64 copies). Usable from module-scoped fixtures."""
    import contextlib

    import v1model.analysis

    real = getattr(v1model.analysis, "fraction_variance_unexplained", None)

    @contextlib.contextmanager
    def recording():
        calls = []

        def recorded(X, X_hat):
            result = real(X, X_hat)
            calls.append((np.array(X, dtype=np.float64), np.array(X_hat, dtype=np.float64),
                          result))
            return result

        with pytest.MonkeyPatch.context() as patch:
            # raising=False: a study that does not call it leaves calls empty, which the
            # test names, rather than an error here
            patch.setattr(v1model.analysis, "fraction_variance_unexplained", recorded,
                          raising=False)
            yield calls

    return recording


@pytest.fixture(scope="module")
def quick_run_scored(recording_fvu, request):
    """``(study, ds, calls)``: the quick run (seed 0) of the study the test module names
    in its ``STUDY``, and the calls of v1model.analysis.fraction_variance_unexplained it
    made (``(X, X_hat, result)`` each). Once per module."""
    from studies import get_study

    name = getattr(request.module, "STUDY", None)
    assert name is not None, f"{request.module.__name__} names no STUDY for quick_run"
    study = get_study(name)
    with recording_fvu() as calls:
        ds = study.run(quick=True, seed=0, progress=False)
    return study, ds, calls


@pytest.fixture(scope="module")
def quick_run(quick_run_scored):
    """``(study, ds)`` of :func:`quick_run_scored`."""
    return quick_run_scored[:2]
