"""The warnings of the spiking simulators name the user's line, whether the user called
the simulator directly or through another function of the package (a network's
``encode(backend="spiking")`` calling :func:`spiking_lca`).

They had fixed stack levels (``stacklevel=3``, from a helper of the simulator): right for
a direct call only. Through ``encode`` they named a line of v1model/spiking/backend.py;
:func:`v1model._frames.user_stacklevel` finds the first frame outside the package. The
warnings before the run and the saturation after it are all reached on Brian2's numpy
target (nothing compiled) or without Brian2 (SAILnet's numpy simulator and learning).
"""

import numpy as np
import pytest

from v1model import SparseCodingNetwork
from v1model.spiking import (learn_sailnet, sailnet_inference, spiking_convolutional_lca,
                             spiking_lca)

# Brian2 routes warnings to its logger from its import on: import it before pytest.warns
pytest.importorskip("brian2")

_rng = np.random.default_rng(0)
#: 3 Gaussian stimuli of 16 features and 8 unit-norm atoms (drives D x up to 1.5)
D = _rng.standard_normal((8, 16))
D /= np.linalg.norm(D, axis=1, keepdims=True)
X = _rng.standard_normal((3, 16))
#: two unit-norm 2x2 kernels for 4x4 images
KERNELS = 0.5 * np.array([[[1.0, 1.0], [1.0, 1.0]], [[1.0, -1.0], [1.0, -1.0]]])
#: 50 steps of Brian2's numpy target: a counting window of 35 steps
RUN = dict(duration=0.005, dt=1e-4, target="numpy", seed=0, progress=False)
#: 200 normalised 16-pixel patches for SAILnet
POOL = _rng.standard_normal((200, 16))
POOL = (POOL - POOL.mean(axis=1, keepdims=True)) / POOL.std(axis=1, keepdims=True)

#: the calls, each of which gives one RuntimeWarning, and the start of its message
WARNING_CALLS = {
    "spiking_lca: lam at least every drive": (
        spiking_lca, (X, D, 100.0), RUN, r"lam=100.0 is at least every drive"),
    "spiking_lca: a few spikes per code": (
        spiking_lca, (X * 1e-2, D, 1e-3), RUN, r"the largest drive D x - lam is"),
    # tau_m of 1 ms: the codes are worth many spikes, the refractory period alone warns
    "spiking_lca: a long refractory period": (
        spiking_lca, (X, D, 0.1), dict(RUN, tau_m=1e-3, refractory=0.002),
        r"refractory=0.002 s lets a unit fire at most"),
    "spiking_lca: units that fire at every step": (  # after the run
        spiking_lca, (X * 100, D, 0.1), RUN, r"\d+ of 24 units fired at every time step"),
    "spiking_convolutional_lca: lam at least every drive": (
        spiking_convolutional_lca, (X.reshape(3, 4, 4), KERNELS, 100.0),
        dict(RUN, stride=2), r"lam=100.0 is at least every drive"),
    "sailnet_inference: units that fire at every step": (
        sailnet_inference, (np.array([[2.0, 0.0]]), np.array([[1.0, 0.0]]), np.zeros((1, 1)),
                            np.array([1.0])), dict(n_steps=4, eta=0.5, dtype=np.float64),
        r"1 of 1 units fired at every one of the n_steps=4 steps"),
    "sailnet_inference: no unit can reach its threshold": (
        sailnet_inference, (np.array([[2.0, 0.0]]), np.array([[1.0, 0.0]]), np.zeros((1, 1)),
                            np.array([100.0])), dict(n_steps=4, eta=0.5, dtype=np.float64),
        r"no unit can reach its threshold theta in n_steps=4"),
    "learn_sailnet: no unit fires": (
        learn_sailnet, (POOL, 4), dict(theta0=1e3, batch_size=10, n_steps=5, n_updates=101,
                                       progress=False, seed=0),
        r"SAILnet: no unit fired in the last 100 updates"),
}


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
@pytest.mark.parametrize("nested", [False, True], ids=["direct", "through the package"])
@pytest.mark.parametrize("case", list(WARNING_CALLS))
def test_spiking_warnings_name_the_callers_file(case, nested, call_from_the_package):
    function, args, kwargs, match = WARNING_CALLS[case]
    with pytest.warns(RuntimeWarning, match=match) as record:
        if nested:
            call_from_the_package(function, *args, **kwargs)
        else:
            function(*args, **kwargs)
    assert [w.filename for w in record if w.category is RuntimeWarning] == [__file__]


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
@pytest.mark.parametrize("lam, scale, match", [
    (100.0, 1.0, r"lam=100.0 is at least every drive"),  # before the run
    (0.1, 100.0, r"\d+ of 24 units fired at every time step"),  # after it
], ids=["before the run", "after the run"])
def test_a_networks_spiking_encode_names_the_callers_line(lam, scale, match):
    network = SparseCodingNetwork(D, lam=lam, threshold="nonneg", tau=0.01)
    with pytest.warns(RuntimeWarning, match=match) as record:
        network.encode(X * scale, backend="spiking", **RUN)
    # a line of v1model/spiking/backend.py, spiking_lca's caller, before
    assert [w.filename for w in record if w.category is RuntimeWarning] == [__file__]
