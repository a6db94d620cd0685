"""activity-ratio, gregor-lecun-2010-lista and lca-sweep take ``prewhitened`` as the
other image studies do: an array of whitened images (e.g. Olshausen's) given with
prewhitened=True is used as it is, not whitened a second time. Reference: the same
study run on the unwhitened array, which it whitens itself with :func:`stimuli.whiten`
— the two runs see the same pixels, so their results are equal."""

import warnings

import numpy as np
import pytest

from studies import get_study

TINY = {
    "lca-sweep": dict(n_updates=0, n_train=200, n_test=20, gabor=False, patch_size=6,
                      overcompleteness=1),
    "activity-ratio": dict(n_updates=3, n_lams=2, n_patches=20),
    "gregor-lecun-2010-lista": dict(patch_size=6, n_atoms=12, n_updates=3, n_train=100,
                                    n_test=20, depths=[1], n_steps=2, n_iter_max=3,
                                    batch_size=20),
}


@pytest.fixture(scope="module")
def raw():
    from stimuli import load_images

    return load_images("skimage", size=64)


@pytest.mark.parametrize("name", sorted(TINY))
def test_prewhitened_array_is_not_whitened_again(name, raw):
    from stimuli import whiten

    run = get_study(name).run
    kw = dict(quick=True, seed=0, progress=False, **TINY[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a handful of updates and steps, on purpose
        given = run(images=whiten(raw), prewhitened=True, **kw)
        whitened_here = run(images=raw, **kw)
        twice = run(images=whiten(raw), prewhitened=False, **kw)
    assert given.attrs["prewhitened"] == 1 and whitened_here.attrs["prewhitened"] == 0
    assert "dictionary" in given
    np.testing.assert_allclose(given["dictionary"].values,
                               whitened_here["dictionary"].values, rtol=1e-10, atol=1e-12)
    # the control: whitening the whitened array again changes what is learned
    assert not np.allclose(twice["dictionary"].values, given["dictionary"].values)
