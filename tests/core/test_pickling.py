"""The model objects as Python objects that users pass around: pickle (default
protocol and 5), ``copy.deepcopy``, a fresh process, ``sklearn.base.clone``,
``joblib.Parallel``, ``to_dataset`` and ``repr``.

A copy must encode bit for bit as the original, hold the same fitted state and
share no array with it (changing the copy's dictionary leaves the original
alone), before and after fitting, and continue ``partial_fit`` exactly as the
original does.
"""

import copy
import dataclasses
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import xarray as xr

from v1model import SparseCodingNetwork
from v1model.amortized import LISTA
from v1model.convolutional import ConvolutionalDictionary, ConvolutionalNetwork
from v1model.learning import SparseDictionaryLearner
from v1model.sae import SparseAutoencoder

COPIERS = {
    "pickle": lambda obj: pickle.loads(pickle.dumps(obj)),
    "pickle5": lambda obj: pickle.loads(pickle.dumps(obj, protocol=5)),
    "deepcopy": copy.deepcopy,
}


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((240, 16)).astype(np.float32)
    D = rng.standard_normal((24, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    kernels = rng.standard_normal((3, 4, 4))
    images = rng.standard_normal((2, 20, 20))
    return X, D, kernels, images


X, D, KERNELS, IMAGES = _data()


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit()


def _make(name):
    """A fitted object and the function that encodes with it."""
    if name == "network":
        net = SparseCodingNetwork(D, lam=0.1)
        return net, lambda o: o.encode(X[:30], method="fista")
    if name == "network_learned":
        net = _quiet(lambda: SparseCodingNetwork(n_atoms=24, lam=0.1).fit(
            X, n_updates=3, batch_size=60, seed=0, progress=False))
        return net, lambda o: o.encode(X[:30], method="fista")
    if name == "learner_online":
        est = _quiet(lambda: SparseDictionaryLearner(24, lam=0.1, n_updates=4, batch_size=60,
                                                     seed=0).fit(X))
        return est, lambda o: o.transform(X[:30])
    if name == "learner_mod":
        est = _quiet(lambda: SparseDictionaryLearner(24, algorithm="mod", lam=0.1, n_updates=2,
                                                     seed=0).fit(X))
        return est, lambda o: o.transform(X[:30])
    if name == "autoencoder":
        sae = SparseAutoencoder(32, "topk", k=4, n_steps=10, batch_size=60, seed=0,
                                progress=False).fit(X)
        return sae, lambda o: o.encode(X[:30])
    if name in ("lista_full", "lista_step"):
        net = LISTA(2, 0.5, parametrization=name[6:], n_steps=6, batch_size=40,
                    dtype="float64").fit(X, D, seed=0)
        return net, lambda o: o.encode(X[:30])
    if name == "conv_network":
        net = ConvolutionalNetwork(KERNELS, stride=2, lam=0.3)
        return net, lambda o: o.encode(IMAGES, method="fista", n_steps=20)
    if name == "conv_network_learned":
        net = _quiet(lambda: ConvolutionalNetwork(n_kernels=3, kernel_shape=(4, 4), stride=2,
                                                  lam=0.1).fit(IMAGES, n_updates=2,
                                                               batch_size=2, crop_size=12,
                                                               seed=0, progress=False))
        return net, lambda o: o.encode(IMAGES, method="fista", n_steps=20)
    if name == "conv_dictionary":
        phi = ConvolutionalDictionary(KERNELS, (20, 20), stride=2)
        return phi, lambda o: o.analyze(IMAGES.astype(np.float32))
    raise KeyError(name)


NAMES = ["network", "network_learned", "learner_online", "learner_mod", "autoencoder",
         "lista_full", "lista_step", "conv_network", "conv_network_learned", "conv_dictionary"]


def _dictionary(obj):
    """The array a user would change: the object's dictionary or kernels."""
    for attr in ("dictionary", "kernels", "components_", "dictionary_"):
        value = getattr(obj, attr, None)
        if isinstance(value, np.ndarray):
            return value
    raise AttributeError(type(obj).__name__)


def _learned(obj):
    """The array that training changes."""
    if isinstance(obj, LISTA):
        return obj.encoder_weight_ if obj.parametrization_ == "full" else obj.step_size_
    return _dictionary(obj)


def _arrays(obj, seen=None):
    """Every ndarray reachable from ``obj`` (attributes, containers, Datasets)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, (xr.Dataset, xr.DataArray)):
        # index coordinates are immutable pandas indexes, which xarray's deepcopy shares
        return [v.values for v in obj.variables.values() if not isinstance(v, xr.IndexVariable)]
    if isinstance(obj, dict):
        return [a for v in obj.values() for a in _arrays(v, seen)]
    if isinstance(obj, (list, tuple)):
        return [a for v in obj for a in _arrays(v, seen)]
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return _arrays(vars(obj), seen)
    return []


def assert_same_state(a, b, where="obj"):
    """``a`` and ``b`` hold equal state: arrays bit for bit (dtype included),
    Datasets identical, generators in the same state."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where, strict=True)
    elif isinstance(a, xr.Dataset):
        assert a.identical(b), where
    elif isinstance(a, np.random.Generator):
        assert str(a.bit_generator.state) == str(b.bit_generator.state), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_state(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{where}[{i}]")
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            assert_same_state(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif hasattr(a, "__dict__") and not isinstance(a, type) and type(a).__module__ != "builtins":
        assert type(a) is type(b), where
        assert_same_state(vars(a), vars(b), where)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


@pytest.mark.parametrize("how", list(COPIERS))
@pytest.mark.parametrize("name", NAMES)
def test_copy_encodes_bit_for_bit_keeps_state_and_is_independent(name, how):
    obj, encode = _make(name)
    expected = encode(obj)
    dup = COPIERS[how](obj)
    assert type(dup) is type(obj)
    assert_same_state(vars(obj), vars(dup))
    np.testing.assert_array_equal(encode(dup), expected, strict=True)
    # no array shared with the original: changing the copy's dictionary leaves it alone
    ours = _arrays(obj)
    assert not any(np.shares_memory(x, y) for x in _arrays(dup) for y in ours)
    for array in _arrays(dup):  # the dictionary and everything else the copy holds
        if array.flags.writeable and array.dtype.kind == "f":
            array[...] = 0.0
    np.testing.assert_array_equal(encode(obj), expected, strict=True)


UNFITTED = {
    "network": (lambda: SparseCodingNetwork(n_atoms=24, lam=0.1),
                lambda o: o.fit(X, n_updates=3, batch_size=60, seed=0,
                                progress=False).dictionary),
    "learner": (lambda: SparseDictionaryLearner(24, lam=0.1, n_updates=4, batch_size=60,
                                                seed=0),
                lambda o: o.fit(X).transform(X[:30])),
    "learner_generator_seed": (
        lambda: SparseDictionaryLearner(24, lam=0.1, n_updates=4, batch_size=60,
                                        seed=np.random.default_rng(5)),
        lambda o: o.fit(X).transform(X[:30])),
    "autoencoder": (lambda: SparseAutoencoder(32, "topk", k=4, n_steps=10, batch_size=60,
                                              seed=np.random.default_rng(5), progress=False),
                    lambda o: o.fit(X).encode(X[:30])),
    "lista": (lambda: LISTA(2, 0.5, n_steps=6, batch_size=40),
              lambda o: o.fit(X, D, seed=0).encode(X[:30])),
    "conv_network": (lambda: ConvolutionalNetwork(n_kernels=3, kernel_shape=(4, 4), stride=2),
                     lambda o: o.fit(IMAGES, n_updates=2, batch_size=2, crop_size=12, seed=0,
                                     progress=False).kernels),
}


@pytest.mark.parametrize("how", list(COPIERS))
@pytest.mark.parametrize("name", list(UNFITTED))
def test_unfitted_copy_fits_as_the_original(name, how):
    make, fit = UNFITTED[name]
    obj = make()
    dup = COPIERS[how](obj)
    # a Generator seed is copied with its state: both fit alike
    first = _quiet(lambda: fit(obj))
    np.testing.assert_array_equal(_quiet(lambda: fit(dup)), first, strict=True)


STREAMS = {
    "learner": (lambda: _make("learner_online")[0], lambda o: o.partial_fit(X[:100]),
                lambda o: o.components_),
    "autoencoder": (lambda: _make("autoencoder")[0], lambda o: o.partial_fit(X[:100]),
                    lambda o: o.components_),
}


@pytest.mark.parametrize("how", list(COPIERS))
@pytest.mark.parametrize("name", list(STREAMS))
def test_copy_continues_partial_fit_as_the_original(name, how):
    make, step, read = STREAMS[name]
    obj = make()
    dup = COPIERS[how](obj)
    before = read(obj).copy()
    step(dup)
    np.testing.assert_array_equal(read(obj), before)  # the copy's training stays its own
    step(obj)
    np.testing.assert_array_equal(read(dup), read(obj), strict=True)
    xr.testing.assert_identical(dup.history_.drop_vars("wall_time"),
                                obj.history_.drop_vars("wall_time"))


@pytest.mark.parametrize("name", ["network_learned", "learner_online", "learner_mod",
                                  "autoencoder", "lista_full", "conv_network_learned"])
def test_shallow_copy_fit_leaves_the_original_alone(name):
    """``fit``/``learn`` on a shallow copy binds new arrays: the original keeps its own
    (``partial_fit`` on a shallow copy is another matter: it continues the training
    state the two share, as it is in place)."""
    obj, encode = _make(name)
    expected = encode(obj)
    learned = _learned(obj).copy()
    dup = copy.copy(obj)
    if isinstance(obj, LISTA):
        dup.fit(X[::-1], D, seed=1)
    elif isinstance(obj, ConvolutionalNetwork):
        _quiet(lambda: dup.fit(IMAGES[::-1], n_updates=2, batch_size=2, crop_size=12, seed=1,
                               progress=False))
    elif isinstance(obj, SparseCodingNetwork):
        _quiet(lambda: dup.fit(X[::-1], n_updates=2, batch_size=60, seed=1, progress=False))
    else:
        _quiet(lambda: dup.set_params(seed=1).fit(X[::-1]) if hasattr(dup, "set_params")
               else dup.fit(X[::-1], seed=1))
    assert not np.array_equal(_learned(dup), learned)
    np.testing.assert_array_equal(_learned(obj), learned, strict=True)
    np.testing.assert_array_equal(encode(obj), expected, strict=True)


_CHILD = """
import pickle, sys
with open(sys.argv[1], "rb") as f:
    objects, X, D, kernels, images = pickle.load(f)
out = {}
for name, obj in objects.items():
    if name.startswith("conv"):
        out[name] = obj.encode(images, method="fista", n_steps=20)
    elif name.startswith("learner"):
        out[name] = obj.transform(X[:30])
    elif name == "network":
        out[name] = obj.encode(X[:30], method="fista")
    else:
        out[name] = obj.encode(X[:30])
    if name == "learner_online":  # and the stream goes on as in the parent
        out["stream"] = obj.partial_fit(X[:100]).components_
with open(sys.argv[2], "wb") as f:
    pickle.dump(out, f)
"""


def test_unpickled_in_a_fresh_process_encodes_the_same(tmp_path):
    names = ["network_learned", "learner_online", "autoencoder", "lista_step",
             "conv_network"]
    objects, expected = {}, {}
    for name in names:
        obj, encode = _make(name)
        key = name.replace("_learned", "").replace("lista_step", "lista")
        objects[key] = obj
        expected[key] = encode(obj)
    with open(tmp_path / "in.pkl", "wb") as f:
        pickle.dump((objects, X, D, KERNELS, IMAGES), f)
    expected["stream"] = copy.deepcopy(objects["learner_online"]).partial_fit(
        X[:100]).components_
    (tmp_path / "child.py").write_text(_CHILD)
    subprocess.run([sys.executable, str(tmp_path / "child.py"), str(tmp_path / "in.pkl"),
                    str(tmp_path / "out.pkl")], check=True, env=dict(os.environ),
                   cwd=tmp_path, timeout=300)
    with open(tmp_path / "out.pkl", "rb") as f:
        got = pickle.load(f)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key, strict=True)


@pytest.mark.parametrize("name", ["learner_online", "autoencoder", "lista_full"])
def test_sklearn_clone_gives_an_unfitted_estimator_with_equal_params(name):
    from sklearn.base import clone

    obj, _ = _make(name)
    dup = clone(obj)
    assert type(dup) is type(obj)
    params, cloned = obj.get_params(), dup.get_params()
    assert params.keys() == cloned.keys()
    assert all(cloned[k] == v for k, v in params.items())
    fitted = [key for key in vars(dup) if key.endswith("_") or key.startswith("_")]
    assert fitted == []
    with pytest.raises(ValueError, match="not fitted"):
        dup.encode(X[:2]) if hasattr(dup, "encode") else dup.transform(X[:2])


def test_sklearn_clone_copies_array_and_generator_params():
    from sklearn.base import clone

    gen = np.random.default_rng(3)
    est = SparseDictionaryLearner(24, init=D.copy(), seed=gen)
    dup = clone(est)
    assert dup.seed is not gen and dup.init is not est.init
    np.testing.assert_array_equal(dup.init, est.init)


def test_joblib_chunks_give_the_codes_of_one_call():
    from joblib import Parallel, delayed

    objects = {name: _make(name) for name in ("network", "learner_online", "autoencoder",
                                              "lista_full", "lista_step")}
    chunks = np.array_split(X, 3)
    calls = [(name, chunk) for name in objects for chunk in chunks]

    def code(obj, chunk):
        if isinstance(obj, SparseCodingNetwork):
            return obj.encode(chunk, method="fista")
        return obj.transform(chunk) if hasattr(obj, "transform") else obj.encode(chunk)

    parts = Parallel(n_jobs=2)(delayed(code)(objects[name][0], chunk) for name, chunk in calls)
    for i, name in enumerate(objects):
        obj = objects[name][0]
        whole = code(obj, X)
        joined = np.vstack(parts[3 * i:3 * i + 3])
        if name in ("network", "learner_online"):
            # LASSO solvers stop at a tolerance: BLAS may round fewer rows otherwise
            # (another kernel), which moves where a sample stops (codes 5e-3 apart on an
            # AMD EPYC); each stop is within tol ||x||^2 of the optimum
            D = np.asarray(obj.dictionary if name == "network" else obj.components_,
                           np.float64)
            gaps = 1e-4 * (X ** 2).sum(axis=1)
            f_joined, f_whole = (0.5 * ((X - A @ D) ** 2).sum(axis=1) + 0.1 * np.abs(A).sum(axis=1)
                                 for A in (joined.astype(np.float64), whole.astype(np.float64)))
            assert np.all(np.abs(f_joined - f_whole) <= gaps), name
            continue
        # not bit for bit: BLAS may pick other kernels (another rounding) for fewer rows
        np.testing.assert_allclose(joined, whole, rtol=1e-4, atol=1e-5 * np.abs(whole).max(),
                                   err_msg=name)


@pytest.mark.parametrize("name", ["network", "network_learned", "learner_online",
                                  "autoencoder", "lista_full", "lista_step", "conv_network"])
def test_to_dataset_and_from_dataset_share_no_array_with_the_object(name):
    """A saved record does not change with the object, nor the object with it
    (the model's arrays and its learning history)."""
    obj, encode = _make(name)
    expected = encode(obj)
    ds = obj.to_dataset()
    model = [v.values for v in ds.data_vars.values()]
    assert model
    assert not any(np.shares_memory(v, a) for v in model for a in _arrays(obj))
    back = _quiet(lambda: type(obj).from_dataset(ds))
    np.testing.assert_array_equal(encode(back), expected, strict=True)
    assert not any(np.shares_memory(v, a) for v in model for a in _arrays(back))


@pytest.mark.parametrize("parametrization", ["full", "step"])
@pytest.mark.parametrize("how", ["fit", "initialize"])
def test_lista_keeps_its_own_dictionary(parametrization, how):
    """A float64 D passed the checks as it was: the network held the caller's array,
    and the step network's codes changed with it."""
    mine = D.copy()
    net = LISTA(2, 0.5, parametrization=parametrization, n_steps=6, batch_size=40,
                dtype="float64")
    net.fit(X, mine, seed=0) if how == "fit" else net.initialize(mine)
    expected = net.encode(X[:30])
    assert not np.shares_memory(net.dictionary_, mine)
    mine *= -2.0
    np.testing.assert_array_equal(net.encode(X[:30]), expected, strict=True)
    np.testing.assert_array_equal(net.dictionary_, D, strict=True)


def _reprs(name):
    if name in UNFITTED:
        yield repr(UNFITTED[name][0]())
    if name in NAMES:
        obj, _ = _make(name)
        yield repr(obj)
        yield str(obj)


@pytest.mark.parametrize("name", sorted(set(NAMES) | set(UNFITTED)))
def test_repr_is_one_short_line(name):
    for text in _reprs(name):
        assert "\n" not in text and len(text) < 160, text


def test_learner_repr_describes_an_array_init_by_its_shape():
    """The whole array was printed: ~5800 characters for 24 x 16."""
    text = repr(SparseDictionaryLearner(24, init=D))
    assert text == ("SparseDictionaryLearner(n_atoms=24, init=<array of shape (24, 16) and "
                    "dtype float64>)")
    short = repr(SparseDictionaryLearner(24, lam=0.5, method_params={"tol": 1e-3}))
    assert short == "SparseDictionaryLearner(n_atoms=24, lam=0.5, method_params={'tol': 0.001})"
