"""A seed recorded in a result's attrs (``v1model.io.seed_attr``) runs the call again
(``v1model.io.seed_from_attr``).

A SeedSequence was recorded as its type name, ``"SeedSequence"``, and a Generator as
``"Generator"``: a result seeded with ``SeedSequence(4, spawn_key=(1,))`` (a sweep's
child seed) could not be made again from its file. Now a SeedSequence is recorded as
the JSON text of its entropy and spawn key. A Generator recorded before the call draws
from it (``seed_attr(seed, before_use=True)``, as the learners do) is recorded as the
JSON text of its bit generator's state, which makes a Generator that draws the same;
elsewhere its record says that it is not reproducible (its state before the call is
not known where attrs are written after the run). Every function and estimator of the
package that draws from its seed records it so (the online learner, the spiking LCA,
SAILnet, RF mapping, convolutional learning, LISTA and the sparse autoencoder recorded
a Generator as not reproducible: some drew before writing the attr, some kept the
seed from the constructor to fit).
"""

import json

import numpy as np
import pytest
import xarray as xr

from v1model.amortized import LISTA, lista_error_by_depth
from v1model.analysis import map_receptive_fields
from v1model.convolutional import learn_kernels
from v1model.io import load_dataset, save_dataset, seed_attr, seed_from_attr
from v1model.learning import SparseDictionaryLearner, learn_dictionary, learn_mod, learn_online
from v1model.sae import SparseAutoencoder
from v1model.spiking import learn_sailnet, spiking_convolutional_lca, spiking_lca
from v1model.validation import as_generator

SEQUENCES = {
    "int entropy": np.random.SeedSequence(5),
    "child of a sweep": np.random.SeedSequence(4, spawn_key=(1, 7)),
    "entropy of several ints": np.random.SeedSequence(
        np.array([1, 2, 3], dtype=np.uint32), spawn_key=(2,)),
    "OS entropy (128 bits)": np.random.SeedSequence(),
    "other pool size": np.random.SeedSequence(9, pool_size=8),
}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_a_recorded_seed_sequence_draws_what_it_drew(name, tmp_path):
    seq = SEQUENCES[name]
    record = seed_attr(seq)
    assert isinstance(record, str) and "SeedSequence" in json.loads(record).popitem()[0]
    # through a file, as a result keeps it
    first = save_dataset(xr.Dataset(attrs={"seed": record}), tmp_path / "r.nc")
    path = save_dataset(load_dataset(first), tmp_path / "again.nc")
    again = seed_from_attr(load_dataset(path).attrs["seed"])
    assert isinstance(again, np.random.SeedSequence)
    assert again.spawn_key == seq.spawn_key
    np.testing.assert_array_equal(again.generate_state(8), seq.generate_state(8))
    np.testing.assert_array_equal(as_generator(again).random(4),
                                  as_generator(seq).random(4))


@pytest.mark.parametrize("seed", [0, 2**100, np.int64(7)])
def test_a_recorded_int_is_the_int(seed, tmp_path):
    ds = load_dataset(save_dataset(xr.Dataset(attrs={"seed": seed_attr(seed)}),
                                   tmp_path / "r.nc"))
    again = seed_from_attr(ds.attrs["seed"])
    assert again == int(seed) and type(again) is int


@pytest.mark.parametrize("kind", ["int", "SeedSequence"])
def test_learn_online_runs_again_from_its_recorded_seed(kind, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 16))
    seed = 11 if kind == "int" else np.random.SeedSequence(4, spawn_key=(1,))
    kw = dict(lam=0.2, n_updates=6, batch_size=32, progress=False)
    D, history = learn_online(X, 12, seed=seed, **kw)
    saved = load_dataset(save_dataset(history, tmp_path / "history.nc"))
    D_again, again = learn_online(X, 12, seed=seed_from_attr(saved.attrs["seed"]), **kw)
    np.testing.assert_array_equal(D_again, D, strict=True)
    assert again.attrs["seed"] == saved.attrs["seed"]
    # and the seed mattered: another one learns another dictionary
    other = learn_online(X, 12, seed=12, **kw)[0]
    assert not np.array_equal(other, D)


def test_lista_runs_again_from_the_seeds_of_each_call(tmp_path):
    rng = np.random.default_rng(3)
    D = rng.standard_normal((12, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X, lam = rng.standard_normal((40, 8)), 0.3
    kw = dict(n_layers=2, lam=lam, n_steps=6, batch_size=10, record_every=3, progress=False)
    net = LISTA(**kw).fit(X, D, seed=np.random.SeedSequence(3, spawn_key=(0,)))
    net.partial_fit(X, seed=np.random.SeedSequence(3, spawn_key=(1,)))
    loaded = LISTA.load(net.save(tmp_path / "lista.nc"))
    seeds = json.loads(loaded.history_.attrs["seed_per_call"])
    assert len(seeds) == 2
    again = LISTA(**kw).fit(X, D, seed=seed_from_attr(seeds[0]))
    again.partial_fit(X, seed=seed_from_attr(seeds[1], "seed_per_call[1]"))
    np.testing.assert_array_equal(again.encode(X), net.encode(X), strict=True)


def test_a_generator_or_none_is_recorded_as_not_reproducible():
    record = seed_attr(np.random.default_rng(0))
    assert record.startswith("Generator(PCG64): not reproducible from attrs")
    with pytest.raises(ValueError, match=r"^seed is 'Generator\(PCG64\).*cannot be made again"):
        seed_from_attr(record)
    with pytest.raises(ValueError, match=r"^seed is 'None': the run drew fresh OS entropy"):
        seed_from_attr(seed_attr(None))
    with pytest.raises(ValueError, match=r"^seed must be a seed as seed_attr records it .* "
                                         r"got 'soft'"):
        seed_from_attr("soft")
    with pytest.raises(TypeError, match=r"^seed must be a seed .* got float 2\.5"):
        seed_from_attr(2.5)
    # the record given as seed= itself: the message says where it goes
    with pytest.raises(TypeError, match=r"got .*; a seed recorded in attrs is given back by "
                                        r"v1model\.io\.seed_from_attr$"):
        as_generator(seed_attr(np.random.SeedSequence(1)))


#: NumPy's own bit generators: each one's state is recorded as JSON
BIT_GENERATORS = ["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"]


@pytest.mark.parametrize("kind", BIT_GENERATORS)
def test_a_generator_recorded_before_use_draws_what_it_would_have(kind, tmp_path):
    """Its bit generator's state (arrays too: MT19937's key, Philox's buffer), part
    drawn already (a buffered 32-bit half included), through a file."""
    rng = np.random.Generator(getattr(np.random, kind)(9))
    rng.random(3), rng.integers(0, 10, dtype=np.uint32)  # drawn from, a half buffered
    record = seed_attr(rng, before_use=True)
    assert next(iter(json.loads(record))) == "numpy.random.Generator"
    saved = load_dataset(save_dataset(xr.Dataset(attrs={"seed": record}), tmp_path / "r.nc"))
    again = seed_from_attr(saved.attrs["seed"])
    assert type(again.bit_generator).__name__ == kind and again is not rng
    np.testing.assert_array_equal(again.integers(0, 2**32, 7, dtype=np.uint32),
                                  rng.integers(0, 2**32, 7, dtype=np.uint32), strict=True)
    np.testing.assert_array_equal(again.standard_normal(5), rng.standard_normal(5),
                                  strict=True)


@pytest.mark.parametrize("learn", [learn_dictionary, learn_mod], ids=lambda f: f.__name__)
def test_a_learner_given_a_generator_runs_again_from_its_recorded_state(learn, tmp_path):
    """A Generator was recorded "not reproducible from attrs": the learners record its
    state before they draw, and the state read back from the saved history learns the
    same dictionary, bit for bit (the Generator was drawn from before the call)."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((120, 16))  # the Generator given is drawn from already
    kw = dict(lam=0.1, n_updates=4, batch_size=30, progress=False)
    D, history = learn(X, 10, seed=rng, **kw)
    saved = load_dataset(save_dataset(history, tmp_path / "history.nc"))
    again_rng = seed_from_attr(saved.attrs["seed"])
    assert isinstance(again_rng, np.random.Generator)
    D_again, again = learn(X, 10, seed=again_rng, **kw)
    np.testing.assert_array_equal(D_again, D, strict=True)
    assert again.attrs["seed"] == saved.attrs["seed"]
    # and the state mattered: the Generator as the run left it learns another dictionary
    assert not np.array_equal(learn(X, 10, seed=rng, **kw)[0], D)


def test_a_generator_of_a_bit_generator_not_numpys_is_not_reproducible():
    class Counted(np.random.PCG64):  # a user's bit generator: not rebuilt by name
        pass

    record = seed_attr(np.random.Generator(Counted(1)), before_use=True)
    assert record.startswith("Generator(Counted): not reproducible from attrs")
    with pytest.raises(ValueError, match=r"cannot be made again from attrs"):
        seed_from_attr(record)


def _problem(n_samples=60, n_features=16, n_atoms=10, seed=2):
    """Gaussian samples and a unit-norm Gaussian dictionary, from their own Generator."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    return rng.standard_normal((n_samples, n_features)), D / np.linalg.norm(D, axis=1)[:, None]


def _online(seed):
    D, history = learn_online(_problem()[0], 8, lam=0.2, n_updates=4, batch_size=20,
                              seed=seed, progress=False)
    return D, history.attrs["seed"]


def _online_estimator(seed, partial=False):
    """The seed kept by the constructor and drawn at fit (or a stream's first chunk)."""
    learner = SparseDictionaryLearner(8, lam=0.2, n_updates=4, batch_size=20, seed=seed)
    X = _problem()[0]
    learner.partial_fit(X) if partial else learner.fit(X)
    return learner.components_, learner.history_.attrs["seed"]


def _spiking_lca(seed):
    X, D = _problem(n_samples=3, n_atoms=6)
    # uniform initial potentials and noise (Brian2 seeded from the Generator) both drawn
    ds = spiking_lca(3 * X, D, 0.1, duration=0.02, noise=0.5, target="numpy", seed=seed,
                     record_spikes=True)
    assert ds.sizes["spike"] > 10  # spikes to compare
    return (ds["spike_time"].values, ds["spike_atom"].values), ds.attrs["seed"]


def _spiking_convolutional(seed):
    sounds, kernels = _problem(n_samples=2, n_features=64, n_atoms=3)
    ds = spiking_convolutional_lca(3 * sounds, kernels[:, :8], 0.1, stride=4, duration=0.02,
                                   noise=0.5, target="numpy", seed=seed)
    assert ds["code"].values.any()  # spikes to compare
    return ds["code"].values, ds.attrs["seed"]


def _sailnet(seed):
    patches = _problem(n_samples=80, n_features=16)[0]
    ds = learn_sailnet(patches, 6, batch_size=20, n_updates=3, n_steps=20, seed=seed,
                       progress=False)
    return (ds["Q"].values, ds["W"].values), ds.attrs["seed"]


def _mapping(seed):
    W = _problem(n_atoms=4, n_features=25)[1]
    ds = map_receptive_fields(lambda S: S @ W.T, 5, n_stimuli=300, batch_size=100, seed=seed,
                              progress=False)
    return ds["rf"].values, ds.attrs["seed"]


def _kernels(seed):
    sounds = _problem(n_samples=2, n_features=128)[0]
    ds = learn_kernels(sounds, 3, 8, lam=0.1, tol=1e-2, n_updates=2, seed=seed,
                       progress=False)
    return ds["kernels"].values, ds.attrs["seed"]


LISTA_SETTINGS = dict(n_layers=2, lam=0.3, n_steps=6, batch_size=10, record_every=3,
                      progress=False)


def _lista(seed):
    X, D = _problem(n_samples=40, n_features=8, n_atoms=12)
    net = LISTA(**LISTA_SETTINGS).fit(X, D, seed=seed)
    return net.encode(X), net.history_.attrs["seed"]


def _lista_continued(seed):
    """A later partial_fit's Generator, recorded in seed_per_call."""
    X, D = _problem(n_samples=40, n_features=8, n_atoms=12)
    net = LISTA(**LISTA_SETTINGS).fit(X, D, seed=0).partial_fit(X, seed=seed)
    return net.encode(X), json.loads(net.history_.attrs["seed_per_call"])[1]


def _lista_by_depth(seed):
    X, D = _problem(n_samples=40, n_features=8, n_atoms=12)
    ds = lista_error_by_depth(X, X[:10], D, 0.3, depths=(1, 2), seed=seed, n_steps=4,
                              batch_size=10, progress=False)
    return ds["prediction_error"].values, ds.attrs["seed"]


SAE_SETTINGS = dict(n_latents=12, activation="topk", k=3, n_steps=5, batch_size=16,
                    progress=False)


def _autoencoder(seed):
    """The seed kept by the constructor and drawn at fit."""
    sae = SparseAutoencoder(**SAE_SETTINGS, seed=seed).fit(_problem()[0])
    return sae.components_, sae.history_.attrs["seed"]


def _autoencoder_stream(seed):
    """A stream's first chunk draws from the constructor's seed, a later chunk from its
    own: each Generator is recorded (attrs["seed"], seed_per_call)."""
    X = _problem()[0]
    first, later = seed
    sae = SparseAutoencoder(**SAE_SETTINGS, seed=first)
    sae.partial_fit(X[:32]).partial_fit(X[32:], seed=later)
    attrs = sae.history_.attrs
    return sae.components_, json.dumps([attrs["seed"], json.loads(attrs["seed_per_call"])[1]])


#: every call that records a seed it draws from, as a function of that seed giving
#: (its results, the seed as recorded in the result's attrs)
SEEDED_CALLS = {
    "learn_online": _online,
    "SparseDictionaryLearner.fit (online)": _online_estimator,
    "SparseDictionaryLearner.partial_fit": lambda seed: _online_estimator(seed, partial=True),
    "spiking_lca (numpy target)": _spiking_lca,
    "spiking_convolutional_lca (numpy target)": _spiking_convolutional,
    "learn_sailnet": _sailnet,
    "map_receptive_fields": _mapping,
    "learn_kernels": _kernels,
    "LISTA.fit": _lista,
    "LISTA.partial_fit": _lista_continued,
    "lista_error_by_depth": _lista_by_depth,
    "SparseAutoencoder.fit": _autoencoder,
    "SparseAutoencoder.partial_fit": _autoencoder_stream,
}


def _drawn_generator(seed):
    """A Generator drawn from before the call (its state is not its seed's)."""
    rng = np.random.default_rng(seed)
    rng.random(3)
    return rng


@pytest.mark.parametrize("name", list(SEEDED_CALLS))
def test_a_generator_given_as_seed_runs_again_from_its_recorded_state(name):
    """These recorded a Generator as "not reproducible from attrs" (some drew from it
    before the attr was written, some kept it from the constructor to fit): each records
    its state before the first draw, and the Generator seed_from_attr makes of the attr
    gives the same results, bit for bit."""
    call = SEEDED_CALLS[name]
    stream = name == "SparseAutoencoder.partial_fit"
    seed = (_drawn_generator(7), _drawn_generator(8)) if stream else _drawn_generator(7)
    results, record = call(seed)
    records = json.loads(record) if stream else [record]
    again = [seed_from_attr(r) for r in records]
    assert all(isinstance(rng, np.random.Generator) for rng in again)
    results_again, record_again = call(tuple(again) if stream else again[0])
    assert record_again == record
    as_tuple = (lambda r: r if isinstance(r, tuple) else (r,))
    for got, expected in zip(as_tuple(results_again), as_tuple(results), strict=True):
        np.testing.assert_array_equal(got, expected, strict=True)
