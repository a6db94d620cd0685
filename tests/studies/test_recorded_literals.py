"""Numbers a study's result depends on are recorded in its attrs, as every parameter is
(STYLE.md, practice 3), and are the numbers the run used: spiking-lca learned its
dictionary on a pool of 20000 patches and smith-lewicki-2006-convolutional averaged its
final training error over the last 20 updates, and neither number was in the result.
The attrs of full runs are checked on the module fixtures of
tests/spiking/test_spiking_studies.py and test_smith_lewicki_2006_convolutional.py."""

import numpy as np
import pytest

from studies import get_study


class _Learned(Exception):
    """Stops the study once its dictionary's learning pool is seen."""


def test_spiking_lca_learns_on_the_pool_it_records(monkeypatch):
    """The pool the learner gets is LEARNING_POOL_SIZE patches, the number recorded as
    ``attrs["learning_pool_size"]``: a smaller one patched in is what learn gets."""
    import studies.spiking_lca as study
    from v1model import SparseCodingNetwork

    assert study.LEARNING_POOL_SIZE == 20000
    pools = []

    def spy(self, X, *args, **kwargs):
        pools.append(np.shape(X))
        raise _Learned

    monkeypatch.setattr(SparseCodingNetwork, "learn", spy)
    monkeypatch.setattr(study, "LEARNING_POOL_SIZE", 500)
    with pytest.raises(_Learned):
        get_study("spiking-lca").run(quick=True, n_patches=2, progress=False)
    assert pools == [(500, 64)]


@pytest.mark.slow  # ~6 s; the default run checks a 100-update run (fsdd_run)
def test_smith_lewicki_final_error_of_a_short_run_averages_every_update():
    """Fewer updates than FINAL_ERROR_UPDATES: the mean of all, and attrs say how many."""
    ds = get_study("smith-lewicki-2006-convolutional").run(
        quick=True, seed=0, audio_dir="synthetic", n_excerpts=20, n_updates=3,
        control_updates=1, n_eval=2, excerpt_length=256, progress=False)
    assert ds.attrs["final_reconstruction_error_updates"] == 3
    history = ds["history_reconstruction_error"].values
    assert history.shape == (3,)
    assert ds.attrs["final_reconstruction_error"] == pytest.approx(history.mean(), rel=1e-12)
