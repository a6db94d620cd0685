"""Every study in the registry (:func:`studies.list_studies`) records a Generator seed
by :func:`studies._seed_record.records_seed`: a study whose ``run`` lacked the
decorator recorded ``seed=default_rng(0)`` as "not reproducible", and nothing noticed
until someone tried to re-run it."""

import pytest

from studies import list_studies
from studies._seed_record import is_recording_seed, records_seed


@pytest.mark.parametrize("name", list_studies())
def test_every_registered_study_run_records_its_seed(name):
    run = list_studies()[name].run
    assert is_recording_seed(run), (
        f"study {name!r}: its run is not wrapped by studies._seed_record.records_seed")


def test_the_registry_is_not_empty_and_the_mark_tells_a_bare_run():
    # the parametrised test above passes vacuously on an empty registry
    assert len(list_studies()) >= 10

    def run(quick=False, seed=0):
        return None

    assert not is_recording_seed(run)
    assert is_recording_seed(records_seed(run))
