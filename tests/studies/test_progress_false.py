"""``run(..., progress=False)`` of every study draws no progress bar at all (the CLI's
``-p progress=false`` and a sweep's points rely on it).

Several studies called inner functions (patch sampling, lca, fista, Gabor fits, the
convolutional solvers, a second spiking run) without ``progress``: those drew their
automatic bar once they had run ``PROGRESS_DELAY`` s, with progress=False too. The delay
is set to 0 here, so that any bar left on shows on stderr even in these short runs.
"""

import pytest

from studies import get_study, list_studies

FSDD = ("fsdd",)  # /work/shared/data/fsdd, skipped when absent

#: Each study at its smallest sizes (a few seconds each); every study of the registry
#: needs an entry, so that a new one is checked too.
SMALL = {
    "activity-ratio": dict(n_updates=5, n_lams=2, n_patches=50),
    "gregor-lecun-2010-lista": dict(patch_size=4, n_atoms=16, n_updates=3, n_train=300,
                                    n_test=30, depths=(1,), n_steps=10, n_iter_max=5,
                                    batch_size=50),
    "lca-sweep": dict(patch_size=4, n_updates=2, n_train=100, n_test=20),  # with its Gabor fits
    "lewicki-2002-speech": dict(audio_dir=FSDD, n_segments=300, n_updates=2),
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
    # enough updates for atoms with reliable Gabor fits (the study stops without one)
    "zhu-rozell-2013-ncrf": dict(n_updates=100, n_diameters=3, n_lengths=3, n_orientations=4,
                                 n_frequencies=2, n_phases=2, mask_contrasts=(1.0,),
                                 n_mask_phases=2),
    "zylberberg-2011-sailnet": dict(patch_size=4, n_neurons=8, n_updates=3, n_eval=5,
                                    n_brian2=1),
}
#: Other code paths with calls of their own: (study, parameters added to SMALL's).
VARIANTS = [("smith-lewicki-2006-convolutional", {"method": "fista"}),  # encode, not MP
            ("olshausen-field-1996", {"prior": "cauchy"})]  # the Cauchy MAP codes

CASES = ([pytest.param(name, {}, id=name) for name in list_studies()]
         + [pytest.param(name, extra, id=f"{name}-{'-'.join(map(str, extra.values()))}")
            for name, extra in VARIANTS])


# sizes this small leave solvers short of convergence or rates too coarse: warned, not
# what is checked here
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name, extra", CASES)
def test_progress_false_draws_no_bar(name, extra, monkeypatch, capsys, shared_data):
    import v1model.progress

    assert name in SMALL, f"add the smallest sizes of the new study {name!r} to SMALL"
    params = {**SMALL[name], **extra}
    if params.get("audio_dir") == FSDD:
        params["audio_dir"] = str(shared_data(*FSDD))
    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)  # automatic bars at once
    capsys.readouterr()
    get_study(name).run(quick=True, seed=0, progress=False, **params)
    err = capsys.readouterr().err
    assert "%|" not in err, err[-500:]
