"""The warning of a BatchTopK stream whose first chunk sets no inference threshold names
the user's ``partial_fit`` line, called directly or through another function of the
package. Its fixed ``stacklevel=4`` named the line above the user's (the caller of the
caller of ``partial_fit``); :func:`v1model._frames.user_stacklevel` finds the first frame
outside the package."""

import numpy as np
import pytest

from v1model.sae import SparseAutoencoder


@pytest.mark.parametrize("nested", [False, True], ids=["direct", "through the package"])
def test_a_first_chunk_without_threshold_names_the_callers_file(nested,
                                                                call_from_the_package):
    # one sample sets the decoder bias to itself: nothing is active, no threshold yet
    X = np.random.default_rng(0).standard_normal((1, 16))
    sae = SparseAutoencoder(8, "batchtopk", k=2, batch_size=4, seed=0, progress=False)
    with pytest.warns(UserWarning, match="batchtopk: no training batch so far kept a "
                                         "positive activation") as record:
        if nested:
            call_from_the_package(sae.partial_fit, X)
        else:
            sae.partial_fit(X)
    assert [w.filename for w in record if w.category is UserWarning] == [__file__]
