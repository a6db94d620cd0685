"""The probes that take an encoder refuse a stimulus ``shape`` other than the patch shape
of the network the encoder belongs to.

A stimulus shape with the same pixel count and other sides -- ``(4, 16)`` for 8x8 atoms
-- ran unsaid: the network read every stimulus, flattened row by row, as a scrambled
8x8 patch. Measured on eight 8x8 Gabor atoms (orientations 0, 22.5, ..., 157.5 deg) in a
SparseCodingNetwork, gratings of 8x8 gave preferred orientations 0, 18.5, 45, 71.5, 90,
108.5, 135, 161.5 deg and gratings of 4x16 gave 176.5, 38, 96.7, 88.8, 86.1, 85.3,
108.2, 144.5 deg (2026-12-07)."""

import functools

import numpy as np
import pytest

from stimuli import gabor_patch
from v1model import SparseCodingNetwork
from v1model.amortized import LISTA
from v1model.analysis import (cross_orientation_suppression, drifting_grating_responses,
                              grating_responses, length_tuning, map_receptive_fields,
                              size_tuning, contrast_response, tuning_curves)

ORIENTATIONS = np.linspace(0, np.pi, 8, endpoint=False)


@pytest.fixture(scope="module")
def atoms():
    """Eight unit-norm 8x8 Gabor atoms, one per orientation of ORIENTATIONS."""
    D = np.stack([gabor_patch(8, t, 0.2, 0.0, 1.5, 2.5) for t in ORIENTATIONS])
    return D / np.linalg.norm(D, axis=(1, 2), keepdims=True)


@pytest.fixture(scope="module")
def network(atoms):
    return SparseCodingNetwork(atoms.reshape(8, 64), lam=0.1, patch_shape=(8, 8))


def _probes(encoder, shape):
    """Each probe that takes an encoder, called at its smallest with ``shape``."""
    one = dict(units=[0], orientation=[0.0], frequency=[0.2])
    return {
        "grating_responses": lambda: grating_responses(encoder, shape, orientations=4,
                                                       frequencies=[0.2], phases=2),
        "drifting_grating_responses": lambda: drifting_grating_responses(
            encoder, shape, orientations=2, frequencies=[0.2]),
        "contrast_response": lambda: contrast_response(encoder, shape, [0.0], [0.2],
                                                       units=[0], contrasts=3, phases=2),
        "map_receptive_fields": lambda: map_receptive_fields(encoder, shape, n_stimuli=10,
                                                             seed=0),
        "size_tuning": lambda: size_tuning(encoder, shape, diameters=2, phases=2, **one),
        "cross_orientation_suppression": lambda: cross_orientation_suppression(
            encoder, shape, mask_contrasts=(0.0, 0.5), phases=2, mask_phases=2, **one),
        "length_tuning": lambda: length_tuning(encoder, shape, lengths=2, phases=2, **one),
    }


@pytest.mark.parametrize("probe", sorted(_probes(None, None)))
def test_every_probe_refuses_another_shape_of_the_same_pixels(network, probe):
    with pytest.raises(ValueError, match=r"shape=\(4, 16\) but the encoder is "
                                         r"SparseCodingNetwork\.encode of a network whose "
                                         r"patches are 8x8 \(patch_shape\).*pass "
                                         r"shape=\(8, 8\)"):
        _probes(network.encode, (4, 16))[probe]()


def test_the_network_s_own_shape_measures_its_atoms(network):
    """With the network's shape the preferred orientations are the atoms' own (the
    analytic reference: each atom is a Gabor of known orientation; within half a step of
    the 16-orientation grid, 5.6 deg); an int side is the same shape."""
    resp = grating_responses(network.encode, 8, orientations=16, frequencies=[0.2],
                             phases=4, contrast=1.0, progress=False)
    preferred = tuning_curves(resp)["preferred_orientation"].values
    off = np.abs((preferred - ORIENTATIONS + np.pi / 2) % np.pi - np.pi / 2)
    assert np.degrees(off).max() < 5.7


def test_a_partial_and_a_lista_are_checked_a_plain_function_is_not(network, atoms):
    """A functools.partial of the method is the same network; a LISTA made on atoms
    as images records their shape (``patch_shape_``); a lambda says nothing, so any shape
    of the right pixel count is taken; a network whose features are not a square (its
    patch_shape a row, (1, n)) checks nothing."""
    partial = functools.partial(network.encode)
    with pytest.raises(ValueError, match=r"patches are 8x8 \(patch_shape\)"):
        map_receptive_fields(partial, (4, 16), n_stimuli=10, seed=0)
    lista = LISTA(2, 0.1).initialize(atoms)
    assert lista.patch_shape_ == (8, 8)
    with pytest.raises(ValueError, match=r"LISTA\.encode of a network whose patches are 8x8 "
                                         r"\(patch_shape_\).*pass shape=\(8, 8\)$"):
        map_receptive_fields(lista.encode, (4, 16), n_stimuli=10, seed=0)
    assert map_receptive_fields(lista.encode, 8, n_stimuli=10, seed=0)["rf"].shape == (8, 8, 8)
    lam = lambda X: network.encode(X)  # noqa: E731
    assert map_receptive_fields(lam, (4, 16), n_stimuli=10, seed=0)["rf"].shape == (8, 4, 16)
    row = SparseCodingNetwork(atoms.reshape(8, 64)[:, :48], lam=0.1)
    assert row.patch_shape == (1, 48)
    assert map_receptive_fields(row.encode, (6, 8), n_stimuli=10,
                                seed=0)["rf"].shape == (8, 6, 8)


class _LoggingNetwork(SparseCodingNetwork):
    """A user's subclass, defined outside v1model (here: in this test module)."""

    def encode(self, X, **kwargs):
        self.n_calls = getattr(self, "n_calls", 0) + 1
        return super().encode(X, **kwargs)


class _DeeperLISTA(LISTA):
    """A user's subclass of LISTA, defined outside v1model."""


class _KernelModel:
    """Not a v1model network: its patch_shape is a kernel's, and encode takes whole
    images of any shape."""

    patch_shape = (8, 8)

    def __init__(self, network):
        self.network = network

    def encode(self, X):
        return self.network.encode(X)


def test_a_user_s_subclass_of_a_network_is_checked(network, atoms):
    # the check ran only for classes defined inside v1model (type(owner).__module__): a
    # subclass of SparseCodingNetwork or LISTA in the user's own module saw 4x16 gratings
    # as scrambled 8x8 patches, unsaid
    mine = _LoggingNetwork(atoms.reshape(8, 64), lam=0.1, patch_shape=(8, 8))
    assert not type(mine).__module__.startswith("v1model.")
    with pytest.raises(ValueError, match=r"^shape=\(4, 16\) but the encoder is "
                                         r"_LoggingNetwork\.encode of a network whose patches "
                                         r"are 8x8 \(patch_shape\).*pass shape=\(8, 8\)"):
        map_receptive_fields(mine.encode, (4, 16), n_stimuli=10, seed=0)
    with pytest.raises(ValueError, match=r"_LoggingNetwork\.encode .* \(patch_shape\)"):
        grating_responses(functools.partial(mine.encode), (4, 16), orientations=4,
                          frequencies=[0.2], phases=2)
    assert getattr(mine, "n_calls", 0) == 0  # refused before any stimulus was encoded
    # its own shape gives the responses of the network it extends, exactly
    ours = map_receptive_fields(mine.encode, 8, n_stimuli=10, seed=0)["rf"].values
    theirs = map_receptive_fields(network.encode, 8, n_stimuli=10, seed=0)["rf"].values
    np.testing.assert_array_equal(ours, theirs)
    lista = _DeeperLISTA(2, 0.1).initialize(atoms)
    with pytest.raises(ValueError, match=r"_DeeperLISTA\.encode of a network whose patches "
                                         r"are 8x8 \(patch_shape_\)"):
        map_receptive_fields(lista.encode, (4, 16), n_stimuli=10, seed=0)
    # an object that is no v1model network is not read for a patch shape, whatever its
    # attributes say
    other = _KernelModel(network)
    assert map_receptive_fields(other.encode, (4, 16), n_stimuli=10,
                                seed=0)["rf"].shape == (8, 4, 16)
