"""The image studies' evaluation patches share no pixel with their training patches.

Drawn twice from the same pictures, 149 of 2,000 evaluation patches of 16x16 were
exact copies of training ones; the studies now draw them from the held-out columns of
every image (stimuli.split_images) and say so in their attrs."""

import numpy as np
import pytest

from studies import get_study

#: each study drawing evaluation patches, and its parameter that counts them
EVALUATION_SIZE = {
    "olshausen-field-1996": "n_eval",
    "olshausen-field-1997": "n_eval",
    "sae-natural-patches": "n_eval",
    "rozell-2008-lca": "n_eval",
    "lca-sweep": "n_test",
    "gregor-lecun-2010-lista": "n_test",
    "zylberberg-2011-sailnet": "n_eval",
    "spiking-lca": "n_patches",
    # codes patches with the dictionary olshausen-field-1996 learns (its first draw);
    # that study's own evaluation draw comes from the same held-out columns
    "activity-ratio": "n_patches",
}
#: studies whose first draw alone is the training set
FIRST_DRAW_TRAINS = {"activity-ratio"}


#: those whose smallest run takes 2 s or more: the whole run (and its attrs) is slow; the
#: default run stops each at its evaluation draw (olshausen-field-1996's takes ~1 s)
SLOW = set(EVALUATION_SIZE) - {"olshausen-field-1996"}


class _EvaluationDrawn(Exception):
    """Raised once the evaluation patches are drawn: the rest of the run is not needed."""


def _record_draws(monkeypatch, n_eval=None):
    """Every draw of patches (sample_patches and SAILnet's minibatches both cut them with
    ``stimuli.images._cut_patches``), as ``(images, X)`` in a list; with ``n_eval``, the
    run stops at the first draw of ``n_eval`` patches (:class:`_EvaluationDrawn`)."""
    import stimuli.images

    real = stimuli.images._cut_patches
    draws = []

    def recorded(images, size, n, *args, **kwargs):
        X = real(images, size, n, *args, **kwargs)
        draws.append((images, X.copy()))
        if n == n_eval:
            raise _EvaluationDrawn
        return X

    monkeypatch.setattr(stimuli.images, "_cut_patches", recorded)
    return draws


def _check_draws(draws, n_eval, first_only=False):
    """The last draw of ``n_eval`` patches (the evaluation set) shares no pixel with the
    images of any other draw (the training sets; ``first_only``: the first draw), and so
    copies none of its patches."""
    evaluation = [i for i, (_, X) in enumerate(draws) if len(X) == n_eval][-1]
    held_out, X_eval = draws[evaluation]
    training = [d for i, d in enumerate(draws) if i != evaluation][:1 if first_only else None]
    assert training, "the study drew no training patches"
    for images, X in training:
        # no pixel of the held-out part is in the images the training patches came from
        assert not np.shares_memory(held_out, images)
        copies = {r.tobytes() for r in X} & {r.tobytes() for r in X_eval}
        assert not copies, f"{len(copies)} of {len(X_eval)} evaluation patches were trained on"


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in sorted(EVALUATION_SIZE)])
def test_evaluation_patches_come_from_pixels_never_trained_on(name, smallest, monkeypatch):
    params = smallest(name, brian2=False)
    draws = _record_draws(monkeypatch)
    ds = get_study(name).run(quick=True, seed=0, progress=False, **params)
    assert ds.attrs["held_out_fraction"] == 0.2
    assert "stimuli.split_images" in ds.attrs["held_out"]
    _check_draws(draws, params[EVALUATION_SIZE[name]], name in FIRST_DRAW_TRAINS)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(SLOW - {"activity-ratio"}))  # learns first: slow
def test_the_slower_studies_draw_their_evaluation_patches_held_out(name, smallest,
                                                                   monkeypatch):
    """The quick variant of the test above: each run stopped at its evaluation draw."""
    params = smallest(name, brian2=False)
    n_eval = params[EVALUATION_SIZE[name]]
    draws = _record_draws(monkeypatch, n_eval)
    with pytest.raises(_EvaluationDrawn):
        get_study(name).run(quick=True, seed=0, progress=False, **params)
    _check_draws(draws, n_eval, name in FIRST_DRAW_TRAINS)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_small_pictures_hold_out_one_patch_width_or_name_patch_size(monkeypatch):
    """64x64 pictures: 20% of the columns (13) cannot hold an 8x8 patch with its 4-pixel
    borders, so 16 are held out; 24x24 ones fit one such patch but not two side by side,
    and the study says so in its own terms, before learning anything."""
    study = get_study("olshausen-field-1996")
    small = dict(quick=True, prewhitened=True, patch_size=8, n_updates=1, n_patches=50,
                 n_eval=5, progress=False)
    draws = _record_draws(monkeypatch, 5)
    images = np.random.default_rng(0).standard_normal((2, 64, 64))
    with pytest.raises(_EvaluationDrawn):
        study.run(images=images, **small)
    assert draws[0][0].shape == (2, 64, 48) and draws[-1][0].shape == (2, 64, 16)
    with pytest.raises(ValueError, match=r"patch_size=8 with border=4 \(16 columns\) does not "
                       r"fit twice side by side in images 24x24 \(height x width\)"):
        study.run(images=images[:, :24, :24], **small)


def _positions(held_out, patch_size, border=4):
    """Distinct positions of ``patch_size`` patches with ``border`` in ``held_out``."""
    n_img, h, w = held_out.shape
    return n_img * (h - 2 * border - patch_size + 1) * (w - 2 * border - patch_size + 1)


@pytest.mark.parametrize("n_eval, columns", [(None, 16), (490, 16), (491, 17), (2000, 20),
                                             (10**6, 32)])
def test_small_pictures_hold_out_enough_columns_for_distinct_evaluation_patches(n_eval,
                                                                               columns):
    """Ten 64x64 pictures: 16 held-out columns hold 490 positions of 8x8 patches (49 rows
    of 10 pictures, one column of positions); every further column holds 490 more, up to
    half the columns (32): beyond that the training part would be the smaller."""
    from studies._held_out import held_out_split

    imgs = np.zeros((10, 64, 64))
    train, held_out, attrs = held_out_split(imgs, 8, n_eval=n_eval)
    assert held_out.shape == (10, 64, columns) and train.shape == (10, 64, 64 - columns)
    assert attrs["held_out_fraction"] == columns / 64
    widened = n_eval is not None and n_eval > 490
    assert ("widened" in attrs["held_out"]) == widened
    if widened and n_eval <= _positions(held_out, 8):
        assert f"to hold the n_eval={n_eval} evaluation patches" in attrs["held_out"]
    elif widened:  # 10**6 patches: more than half the columns hold (490 * 17 = 8330)
        assert _positions(held_out, 8) == 8330
        assert "which still exceed the distinct positions" in attrs["held_out"]


def test_the_embedded_pictures_keep_their_fifth_for_any_default_evaluation_size():
    """The default pictures (ten of 256x256) hold 86,760 positions of 8x8 patches in their
    right 51 columns: no study's evaluation size widens them (2,000 at most)."""
    from studies._held_out import held_out_split

    imgs = np.zeros((10, 256, 256))
    for size, n in ((8, 2000), (16, 2000), (8, 5000), (16, 5000)):
        _, held_out, attrs = held_out_split(imgs, size, n_eval=n)
        assert held_out.shape[2] == 51 and attrs["held_out_fraction"] == 0.2
        assert n <= _positions(held_out, size)
    assert _positions(held_out_split(imgs, 8)[1], 8) == 86760


@pytest.mark.filterwarnings("error:n=[0-9]+ patches exceed the [0-9]+ distinct:UserWarning")
def test_a_quick_run_on_small_pictures_draws_its_evaluation_patches_at_distinct_positions(
        monkeypatch):
    """olshausen-field-1996 --quick on ten 64x64 pictures: its 2,000 evaluation patches
    came from 16 held-out columns, 490 positions (sample_patches warned of at least 1,510
    repeats, a warning the test suite's filter hid); 20 columns hold 2,450."""
    study = get_study("olshausen-field-1996")
    draws = _record_draws(monkeypatch, 2000)
    images = np.random.default_rng(0).standard_normal((10, 64, 64))
    with pytest.raises(_EvaluationDrawn):
        study.run(images=images, quick=True, prewhitened=True, n_updates=1, n_patches=50,
                  progress=False)
    held_out, X_eval = draws[-1]
    assert held_out.shape == (10, 64, 20) and draws[0][0].shape == (10, 64, 44)
    assert len(X_eval) == 2000 <= _positions(held_out, 8)
