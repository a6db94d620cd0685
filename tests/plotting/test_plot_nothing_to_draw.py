"""Figures with nothing, or the wrong thing, to draw: a threshold no atom reaches, a
silent network, no input at all, a Dataset transposed by the user. Each was a blank
panel with no word, or a figure drawn from the wrong axis."""

import warnings

import numpy as np
import pytest
import xarray as xr

from stimuli import gabor_patch
from v1model.analysis import fit_gabor, grating_responses, tuning_curves
from v1model.plotting import (plot_babel_curves, plot_error_vs_time, plot_gabor_tiling,
                              plot_learning_curve, plot_nx_ny, plot_tuning_curves)

#: three 8x8 patches of white noise: no Gabor fits them well (R² about 0.2)
NOISE = np.random.default_rng(0).standard_normal((3, 8, 8))


@pytest.fixture(scope="module")
def noise_fit():
    return fit_gabor(NOISE, progress=False)


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _notes(fig):
    """The texts of each Axes that say no atom reaches the threshold."""
    return [[t for t in _texts(ax) if t.startswith("no atom with R²")] for ax in fig.axes]


def test_gabor_tiling_says_no_atom_reaches_min_r2_with_the_best_r2(noise_fit):
    best = float(np.nanmax(noise_fit["r2"].values))
    assert 0.05 < best < 0.5  # the premise: no good fit, but finite ones
    with pytest.warns(RuntimeWarning) as record:
        fig = plot_gabor_tiling(noise_fit, min_r2=0.8)
    said = f"best R² {best:.3g} of 3 atoms"
    messages = [str(w.message) for w in record if w.category is RuntimeWarning]
    assert len(messages) == 1 and "min_r2=0.8" in messages[0] and said in messages[0]
    polar, plane, _colour_bar = fig.axes
    # both data panels (not the colour bar) carry the note, and draw no atom
    assert _notes(fig) == [[f"no atom with R² ≥ 0.8\n({said})"]] * 2 + [[]]
    assert [c.get_offsets().shape[0] for c in polar.collections + plane.collections] == [0, 0]
    assert not [p for p in plane.patches if type(p).__name__ == "Ellipse"]


def test_gabor_tiling_draws_no_note_when_an_atom_reaches_min_r2(noise_fit):
    # the note is for the empty case only: at a threshold under the best fit, no word
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_gabor_tiling(noise_fit, min_r2=0.1)
    assert _notes(fig) == [[], [], []]


@pytest.mark.parametrize("case, why", [
    ("no atom", "the fit holds no atom"),
    ("no finite fit", "none of its 3 atoms has a finite R²"),
])
def test_gabor_tiling_of_no_fit_says_why(noise_fit, case, why):
    # a study hands over its reliable fits alone: none was a ValueError, and ringach-2002's
    # plot saved no figure at all
    fit = noise_fit.isel(atom=[]) if case == "no atom" else noise_fit.assign(
        r2=noise_fit["r2"] * np.nan)
    with pytest.warns(RuntimeWarning, match=rf"min_r2=0\.8 \({why}\)"):
        fig = plot_gabor_tiling(fit)
    assert _notes(fig)[:2] == [[f"no atom with R² ≥ 0.8\n({why})"]] * 2


def test_nx_ny_names_the_set_with_no_atom_and_notes_an_empty_plane(noise_fit):
    atoms = np.stack([gabor_patch(12, 0.4 * i, 0.2, 0.0, 2.0, 3.0) for i in range(3)])
    good = fit_gabor(atoms, progress=False)
    best = float(np.nanmax(noise_fit["r2"].values))
    with pytest.warns(RuntimeWarning, match=rf"'noise' \(best R² {best:.3g} of 3 atoms\), "
                                            r"1 of 2 sets"):
        fig = plot_nx_ny(good, noise_fit, labels=["gabors", "noise"])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0].startswith("gabors (n=3, median nx=")
    assert legend[1] == f"noise (none with R² ≥ 0.8: best R² {best:.3g} of 3 atoms)"
    assert _notes(fig) == [[]]  # one set is drawn: the plane is not blank
    with pytest.warns(RuntimeWarning, match=r"plot_nx_ny: no atom has R² ≥ min_r2=0\.8"):
        fig = plot_nx_ny(noise_fit)
    assert _notes(fig) == [[f"no atom with R² ≥ 0.8\n(best R² {best:.3g} of 3 atoms)"]]


def _noise_study_result(tmp_path):
    """ringach-2002 on a dictionary of noise: no reliable fit."""
    from studies import get_study
    from v1model import SparseCodingNetwork

    atoms = NOISE.reshape(3, 64) / np.linalg.norm(NOISE.reshape(3, 64), axis=1, keepdims=True)
    SparseCodingNetwork(atoms, patch_shape=(8, 8)).save(tmp_path / "noise.nc")
    study = get_study("ringach-2002")
    ds = study.run(quick=True, dictionary=str(tmp_path / "noise.nc"), reference="none",
                   n_starts=1, progress=False)
    assert not (ds["r2"].values >= 0.8).any()  # the premise
    return study, ds


@pytest.mark.slow  # about 3 s: the study's three figures drawn and written; its
# input, a fit of no atom, is in the default run (test_gabor_tiling_of_no_fit_says_why)
def test_the_study_of_no_reliable_fit_saves_its_figures(tmp_path, monkeypatch):
    """ringach-2002's plot failed with "fit holds no atom" when no fit was reliable, and
    saved no figure beside the result."""
    import v1model.io

    study, ds = _noise_study_result(tmp_path)
    notes, save = {}, v1model.io.save_figure

    def keep_notes(fig, path, **kwargs):
        notes[path.name] = _notes(fig)
        return save(fig, path, **kwargs)

    monkeypatch.setattr(v1model.io, "save_figure", keep_notes)
    with pytest.warns(RuntimeWarning, match="no atom"):
        paths = study.plot(ds, tmp_path)
    assert [p.name for p in paths] == [f"{study.NAME}_{n}.png" for n in ("nx_ny", "tiling",
                                                                          "fits")]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
    assert notes[f"{study.NAME}_tiling.png"][:2] == [
        ["no atom with R² ≥ 0.8\n(the fit holds no atom)"]] * 2


def _tuning(n_orientations):
    D = np.stack([gabor_patch(16, th, f, 0.0, 3.0, 3.0).ravel() for th, f in (
        (0.0, 0.1), (0.5, 0.15), (1.0, 0.2), (1.5, 0.1), (2.0, 0.15), (2.5, 0.2))])
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return D, tuning_curves(grating_responses(lambda X: X @ D.T, 16,
                                              orientations=n_orientations,
                                              frequencies=np.array([0.1, 0.15, 0.2]),
                                              phases=4, progress=False))


@pytest.mark.parametrize("n_orientations", [6, 8])
def test_tuning_curves_of_a_transposed_dataset_are_read_by_dim_name(n_orientations):
    # (orientation, atom) was read by position: rows of atoms drawn as curves, silently
    # with as many orientations as atoms (6), else numpy's IndexError
    D, tuning = _tuning(n_orientations)
    flipped = tuning.transpose("orientation", "frequency", ...)
    assert flipped["orientation_tuning"].dims == ("orientation", "atom")  # the premise
    fig = plot_tuning_curves(flipped, units=[0, 1])
    drawn = [line.get_ydata() for line in fig.axes[1].get_lines()]
    for u, y in zip((0, 1), drawn):
        # the frequency curve of the unit itself, normalised to its peak, in frequency order
        expected = tuning["frequency_tuning"].isel(atom=u).values
        np.testing.assert_allclose(y, expected / expected.max(), rtol=1e-12)
    assert len(drawn) == 2



def test_tuning_curves_of_a_result_from_before_the_atom_dim_still_draw():
    # tuning_curves named the dim "unit" until 2026-12-03; read by position such a saved
    # result drew, read by dim name it was refused ("not the Dataset tuning_curves returns")
    D, tuning = _tuning(6)
    old = tuning.rename({"atom": "unit"}).drop_vars("unit", errors="ignore")
    assert "atom" not in old.dims and old["orientation_tuning"].dims[0] == "unit"  # premise
    fig = plot_tuning_curves(old, units=[0, 1])
    drawn = [line.get_ydata() for line in fig.axes[1].get_lines()]
    assert len(drawn) == 2
    for u, y in zip((0, 1), drawn):
        expected = tuning["frequency_tuning"].isel(atom=u).values
        np.testing.assert_allclose(y, expected / expected.max(), rtol=1e-12)
    assert [line.get_label() for line in fig.axes[0].get_lines()][:2] == ["unit 0", "unit 1"]

def test_tuning_curves_of_a_silent_network_say_no_unit_is_drawn():
    _, tuning = _tuning(6)
    silent = tuning.assign(max_response=tuning["max_response"] * 0,
                           orientation_tuning=tuning["orientation_tuning"] * 0)
    fig = plot_tuning_curves(silent)
    notes = [_texts(ax) for ax in fig.axes]
    assert notes == [["no unit drawn:\nnone of the 6 units responds (max_response > 0)"]] * 2
    fig = plot_tuning_curves(silent, units=[0, 2])
    assert _texts(fig.axes[0]) == ["no unit drawn:\nnone of the 2 units asked for has a "
                                   "positive orientation response"]


def test_figures_of_nothing_are_refused():
    # each drew blank axes, with only matplotlib's "No artists with labels" warning
    with pytest.raises(ValueError, match="at least one Babel Dataset"):
        plot_babel_curves()
    with pytest.raises(ValueError, match="curves is empty and no target"):
        plot_error_vs_time({})
    with pytest.raises(ValueError, match=r"curves\['run'\] has no point"):
        plot_error_vs_time({"run": ([], [])}, target=0.05)


def test_a_learning_curve_of_a_2d_variable_is_refused_by_name():
    # a variable over (update, atom) failed in "too many values to unpack (expected 1)"
    history = xr.Dataset({"objective": ("update", np.arange(5.0)),
                          "usage": (("update", "atom"), np.ones((5, 3)))})
    with pytest.raises(ValueError, match=r"'usage' over \('update', 'atom'\)"):
        plot_learning_curve(history, variables=("objective", "usage"))
    other = history.assign(rate=("step", np.ones(4)))
    with pytest.raises(ValueError, match=r"share one dim .*'rate' over \('step',\)"):
        plot_learning_curve(other, variables=("objective", "rate"))
