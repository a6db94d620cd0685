"""The analysis studies declare the units of their parameters: a sweep over lam, tol or
a stimulus contrast (all in the units of the whitened input X, as the LCA codes they are
compared with) records them on its coordinates, in the saved result too."""

import pytest

from v1model.io import load_dataset
from v1model.sweep import run


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_activity_ratio_sweep_records_the_units_of_tol_and_lam(random_atoms, tmp_path):
    run("activity-ratio", {"tol": [0.0, 0.01], "lam_max": [1.0]},
        params={"dictionary": random_atoms, "n_lams": 2, "n_patches": 20}, quick=True,
        executor="serial", output=tmp_path / "sweep", progress=False)
    saved = load_dataset(tmp_path / "sweep" / "sweep.nc")
    assert (saved["status"] == "ok").all()
    assert saved["tol"].attrs["units"] == "units of X"
    assert saved["lam_max"].attrs["units"] == "units of X"


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
def test_receptive_field_mapping_sweep_records_the_units_of_lam_and_contrast(random_atoms,
                                                                            tmp_path):
    run("receptive-field-mapping", {"lam": [0.05], "grating_contrast": [0.5]},
        params={"dictionary": random_atoms, "n_white": 20, "n_sparse": 20, "n_orientations": 2,
                "n_frequencies": 1, "n_phases": 2, "n_contrasts": 4, "n_sample_units": 1},
        quick=True, executor="serial", output=tmp_path / "sweep", progress=False)
    saved = load_dataset(tmp_path / "sweep" / "sweep.nc")
    assert (saved["status"] == "ok").all(), saved["error"].values
    assert saved["lam"].attrs["units"] == "units of X"
    assert saved["grating_contrast"].attrs["units"] == "units of X"


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
def test_olshausen_field_1997_sweep_records_the_units_of_overcompleteness(tmp_path):
    """A sweep over overcompleteness (how the study learns one dictionary alone) saved
    that coordinate, atoms per pixel, without units, as the study's own Dataset did."""
    run("olshausen-field-1997", {"overcompleteness": [1, 2], "lam": [0.15]},
        params=dict(patch_size=4, n_updates=2, n_patches=300, n_eval=20), quick=True,
        executor="serial", output=tmp_path / "sweep", progress=False)
    saved = load_dataset(tmp_path / "sweep" / "sweep.nc")
    assert (saved["status"] == "ok").all(), saved["error"].values
    assert saved["overcompleteness"].attrs["units"] == "1"
    assert saved["lam"].attrs["units"] == "units of X"
    # the study's own coordinate, renamed beside the swept one
    assert saved["overcompleteness_output"].attrs["units"] == "1"


#: float parameters that have no unit to declare, by study: step sizes of a learning rule,
#: hyper-parameters whose scale is that of whatever they update, not a physical quantity
DIMENSIONLESS = {
    # the Olshausen-Field rule's step on <a r^T> (set for whitened patches), first and last
    "olshausen-field-1996": {"lr", "lr_final"},
    # Adam's step sizes (in the units of each parameter it moves, no single one)
    "gregor-lecun-2010-lista": {"learning_rate"},
    "sae-natural-patches": {"lr"},
    # SAILnet's learning rates of W, Q and theta (v1model.spiking.learn_sailnet)
    "zylberberg-2011-sailnet": {"alpha", "beta", "gamma"},
}


def _takes_floats(parameter) -> bool:
    """A float parameter: annotated float, or a float (or a sequence of them) default."""
    default = parameter.default
    if isinstance(default, (tuple, list)) and default:
        default = default[0]
    return "float" in str(parameter.annotation) or (
        isinstance(default, float) and not isinstance(default, bool))


def test_every_float_parameter_of_every_study_has_units():
    """Several studies declared no PARAMETER_UNITS, so a sweep over their lam (or a
    time constant) saved the coordinate without units. Every float parameter of every
    study's run now has a unit, or is listed above as having none to declare."""
    import inspect

    from studies import list_studies

    missing = []
    for name, module in list_studies().items():
        units = getattr(module, "PARAMETER_UNITS", {})
        unitless = DIMENSIONLESS.get(name, set())
        for parameter in inspect.signature(module.run).parameters.values():
            if _takes_floats(parameter) and parameter.name not in set(units) | unitless:
                missing.append(f"{name}: {parameter.name}")
            assert not (parameter.name in units and parameter.name in unitless), parameter
    assert not missing, missing
    assert set(DIMENSIONLESS) <= set(list_studies())  # no stale entry


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
def test_olshausen_field_1996_sweep_records_the_units_of_lam(tmp_path):
    """The study declared no PARAMETER_UNITS: a sweep over lam saved it without units."""
    run("olshausen-field-1996", {"lam": [0.1, 0.2]},
        params=dict(patch_size=4, n_atoms=16, n_updates=3, n_patches=300, n_eval=20),
        quick=True, executor="serial", output=tmp_path / "sweep", progress=False)
    saved = load_dataset(tmp_path / "sweep" / "sweep.nc")
    assert (saved["status"] == "ok").all(), saved["error"].values
    # the unit depends on the prior (the Cauchy prior's lam is in (units of X)^2): both
    # are stated, and each point's run records its own (the L1 prior's here)
    assert saved["lam"].attrs["units"] == ("units of X (prior 'l1'); "
                                           "(units of X)^2 (prior 'cauchy')")
    assert saved.attrs["lam_units"] == "units of X"
