"""Checks added by a second mutation-testing audit of v1model.analysis (Gabor fits, tuning,
reverse correlation, non-classical probes, auditory tuning): each one pins a behaviour
that a plausible slip in the code left untested, against an independent computation."""

import numpy as np
import pytest

from v1model.analysis import map_receptive_fields


# ----------------------------------------------------------------------------- mapping
def test_fraction_active_counts_negative_responses_as_responses():
    """``fraction_active`` is the fraction of stimuli with a non-zero response, whatever its
    sign (as the code statistics count |a| > 0): recomputed from the responses themselves."""
    w = np.random.default_rng(0).standard_normal(16)
    seen = []

    def encoder(X):
        r = X @ w
        R = np.stack([r, -np.abs(r), -np.maximum(r, 0.0)], axis=1)
        seen.append(R)
        return R

    ds = map_receptive_fields(encoder, 4, n_stimuli=500, batch_size=200, seed=1)
    R = np.concatenate(seen)
    expected = np.count_nonzero(R, axis=0) / len(R)
    np.testing.assert_array_equal(ds.fraction_active.values, expected)
    assert expected[0] == expected[1] == 1.0 and 0.3 < expected[2] < 0.7


# ----------------------------------------------------------------------------- nonclassical
def test_mask_response_is_the_max_over_mask_phases_of_the_mask_alone():
    """``mask_response``: the rectified response to the mask alone, max over the
    ``mask_phases`` evenly spaced mask phases; recomputed from stimuli.gratings.plaid for
    a rectified linear unit tuned to the mask (whose mean over phases is about half)."""
    from stimuli.gratings import plaid
    from v1model.analysis import cross_orientation_suppression

    shape, o, f = (12, 12), 0.4, 0.2
    w = plaid(shape, o, f, o + np.pi / 2, phase=0.0, mask_phase=0.3, contrast=0.0,
              mask_contrast=1.0).reshape(-1)
    encoder = lambda X: np.maximum(X @ w, 0.0)[:, None]  # noqa: E731
    ds = cross_orientation_suppression(encoder, shape, o, f, mask_contrasts=[0.5, 1.0],
                                       mask_phases=4, phases=2)
    mph = np.linspace(0.0, 2 * np.pi, 4, endpoint=False)
    for mc, got in zip(ds.mask_contrast.values, ds.mask_response.values[0]):
        alone = plaid(shape, o, f, o + np.pi / 2, phase=0.0, mask_phase=mph[:, None, None],
                      contrast=0.0, mask_contrast=mc).reshape(4, -1)
        assert got == pytest.approx(np.maximum(alone @ w, 0.0).max(), rel=1e-12, abs=1e-12)
    assert ds.mask_response.values[0, -1] > 1.0  # the unit is driven by its mask
