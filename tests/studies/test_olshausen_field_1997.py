"""Study olshausen-field-1997: overcomplete dictionaries on whitened patches."""

import numpy as np
import pytest

from studies import get_study


@pytest.fixture(scope="module")
def small_run():
    study = get_study("olshausen-field-1997")
    ds = study.run(quick=True, overcompleteness=(1, 2), n_updates=80, n_patches=8000, n_eval=400,
                   progress=False)
    return study, ds


def test_overcomplete_codes_with_lower_energy(small_run):
    # at equal lam the 2x dictionary contains more directions, so the held-out
    # LASSO energy per patch must be lower (O&F 1997's motivation)
    _, ds = small_run
    energy = ds["objective"].values
    assert energy[1] < 0.97 * energy[0]
    assert ds["n_atoms"].values.tolist() == [64, 128]


def test_atoms_are_localized_gabors(small_run):
    # most atoms are well described by a Gabor function (localized, oriented, band-pass)
    _, ds = small_run
    r2 = ds["gabor_r2"].values
    for row, k in zip(r2, ds["n_atoms"].values):
        assert np.median(row[:k]) > 0.7
        assert np.all(np.isnan(row[k:]))
    # envelopes smaller than the patch: localized
    sigma = np.nanmedian(ds["gabor_sigma_x"].values)
    assert sigma < 0.4 * ds.sizes["x"]


def test_overcomplete_atoms_are_not_crowded(small_run):
    """The paper's overcomplete bases tile position, orientation and scale: no atom is a
    near-copy of another. Learning codes stopped at FISTA tol 0.2 (about 6 iterations,
    before explaining away prunes the atoms correlated with a patch) moved similar atoms
    toward the same patches: 5 of these 128 atoms (quick 4x run: 8% of 256, 32% above
    0.8) had an |cosine| > 0.9 with another, and the held-out energy was 2% higher
    (quick 4x: 3%). scikit-learn's MiniBatchDictionaryLearning, converged codes, has
    none above 0.9 on the same patches."""
    _, ds = small_run
    for i, k in enumerate(ds["n_atoms"].values):
        D = ds["dictionary"].values[i, :k].reshape(k, -1).astype(np.float64)
        cos = np.abs(D @ D.T)
        np.fill_diagonal(cos, 0.0)
        assert np.count_nonzero(cos.max(axis=1) > 0.9) == 0, k  # 0 and 5 at tol 0.2


def test_dataset_and_figures(small_run, tmp_path):
    study, ds = small_run
    assert ds["dictionary"].dims == ("overcompleteness", "atom", "y", "x")
    k = int(ds["n_atoms"][0])
    norms = np.linalg.norm(ds["dictionary"].values[0, :k].reshape(k, -1), axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-4)
    assert ds.attrs["study"] == "olshausen-field-1997" and ds.attrs["lam"] == 0.15
    assert ds.attrs["forget_factor"] == 30.0 and ds.attrs["learning_tol"] == 0.1
    assert "fista, tol 0.1" in ds.attrs["coding"]  # the learning codes' tolerance, recorded
    assert ds["objective"].attrs["units"] == "(units of X)^2"  # the learner's energy units
    paths = study.plot(ds, tmp_path)
    assert len(paths) == 4 and all(p.exists() and p.suffix == ".png" for p in paths)


def test_coding_figure_plots_the_papers_error_measure(small_run, study_figures):
    """The coding figure plotted only the mean over patches of each one's relative
    error (25% at lam 0.15 in a full run on Olshausen's images, dominated by
    low-contrast patches) while the paper's measure, the total residual energy over
    the total variance, is ``heldout_error_fraction`` (about 9%). Both are drawn now,
    each labelled, with the values of the Dataset."""
    _, ds = small_run
    fig = study_figures("olshausen-field-1997", ds)["olshausen-field-1997_coding.png"]
    ax = fig.axes[1]  # objective, error, active count
    lines = {line.get_label(): line for line in ax.get_lines()}
    paper = next(line for label, line in lines.items() if "paper" in label)
    per_patch = next(line for label, line in lines.items() if "mean over patches" in label)
    np.testing.assert_allclose(paper.get_xdata(), [1, 2])
    np.testing.assert_allclose(paper.get_ydata(), ds["heldout_error_fraction"].values)
    np.testing.assert_allclose(per_patch.get_ydata(), ds["reconstruction_error"].values)
    # the two differ: the figure does not show one number twice
    assert np.all(ds["reconstruction_error"].values > 1.2 * ds["heldout_error_fraction"].values)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(lines)
    assert "fraction" in ax.get_ylabel() and ax.get_ylim()[0] == 0


def test_figure_leaves_out_the_fits_whose_frequency_is_not_measured(small_run):
    """The tiling figure's reliable fits are reliable_gabor_fits' with its frequency
    criterion: the run saves each fit's frequency_se, and a fit whose frequency's standard
    error is over half of it is left out (the figure said so, but the run saved no
    frequency_se, so the criterion was silently skipped)."""
    import xarray as xr

    from studies.olshausen_field_1997 import _shown_fits

    _, ds = small_run
    assert ds["gabor_frequency_se"].attrs["units"] == "cycles/pixel"
    k = int(ds["n_atoms"][0])
    assert np.all(np.isfinite(ds["gabor_frequency_se"].values[0, :k]))
    # two identical, well-fitted atoms on an 8x8 patch, the second one's frequency
    # known to 80% only
    fit = dict(r2=0.95, frequency=0.25, x0=3.5, y0=3.5, orientation=0.3, sigma_x=1.5,
               sigma_y=2.5)
    sel = xr.Dataset({f"gabor_{v}": ("atom", [x, x]) for v, x in fit.items()})
    sel["gabor_frequency_se"] = ("atom", [0.01, 0.2])
    good, left_out, criterion = _shown_fits(sel, 2, 8)
    assert good.tolist() == [True, False]
    assert "1 more with R² ≥ 0.8 left out" == left_out and "f measured" in criterion
    good, left_out, criterion = _shown_fits(sel.drop_vars("gabor_frequency_se"), 2, 8)
    assert good.tolist() == [True, True]  # saved before frequency_se: not checked, not said
    assert "measured" not in left_out + criterion


def test_attrs_record_the_gabor_fits_bounds(small_run):
    """The tiling shows the reliable fits, and a fit at a bound of fit_gabor (sigma in
    [min_sigma, max_sigma], frequency up to max_frequency) is not reliable: the run
    recorded none of those bounds (nor the fit's starts), so a saved result did not say
    what its tiling was cut by. They are in the attrs, and the figure reads them back."""
    from v1model.analysis import fit_gabor

    from studies.olshausen_field_1997 import _shown_fits

    _, ds = small_run
    expected = fit_gabor(ds["dictionary"].values[0, :2], progress=False).attrs
    for name in ("n_starts", "n_iter", "polish", "max_nfev", "min_sigma", "max_sigma",
                 "max_frequency"):
        assert ds.attrs[f"gabor_{name}"] == expected[name], name
    assert ds.attrs["gabor_max_sigma"] == 8.0  # the patch side, fit_gabor's default
    # an envelope at a recorded bound is left out of the tiling
    sel = ds.sel(overcompleteness=1)
    k = int(sel["n_atoms"])
    good, _, _ = _shown_fits(sel, k, 8)
    sel = sel.assign_attrs(gabor_max_sigma=float(np.nanmax(sel["gabor_sigma_y"].values[:k]
                                                           [good])))
    fewer, _, _ = _shown_fits(sel, k, 8)
    assert fewer.sum() < good.sum()


def test_gabor_like_atoms_on_olshausens_images(shared_data):
    """On Olshausen's own images the defaults of before (lam = 0.1, the online learner's
    forget_factor 10) left 36 of the 64 quick atoms Gabor-like, the others noisy textures:
    the newest minibatch weighs (forget_factor + 1) / t in the statistics, so the steps of
    the dictionary shrink like 1/t and slow atoms freeze near their initial patches
    (lam = 0.15 alone gave 54, forget_factor 30 alone 60). The paper's atoms are nearly
    all localized, oriented and band-pass."""
    ds = get_study("olshausen-field-1997").run(
        quick=True, overcompleteness=1, images=str(shared_data("olshausen", "images")),
        n_eval=200, progress=False)
    r2 = ds["gabor_r2"].values[0]
    assert len(r2) == 64
    assert np.count_nonzero(r2 >= 0.8) >= 0.9 * 64  # 62 of 64 (61 at learning_tol 0.2)


def test_overcomplete_atoms_are_gabor_like_on_olshausens_images(shared_data):
    """With the online learner's FISTA tolerance of 1e-2 for the learning codes, 154 of
    the 256 atoms of this quick 4x basis were Gabor-like on Olshausen's images, the
    others noisy textures used as often (a full run: 335 of 576); the paper's
    overcomplete atoms are nearly all localized, oriented and band-pass. Learning codes
    at tol 0.2 gave 235 here (full run: 540) but crowded the atoms of the photographs
    into near-copies (test_overcomplete_atoms_are_not_crowded); at tol 0.1, the
    default, 209, at a held-out energy 1% lower than at 0.2."""
    ds = get_study("olshausen-field-1997").run(
        quick=True, overcompleteness=4, images=str(shared_data("olshausen", "images")),
        n_eval=200, progress=False)
    r2 = ds["gabor_r2"].values[0]
    assert len(r2) == 256
    # 209 (0.2: 235, 1e-2: 154): the bound sits between the noisy-texture setting and
    # the default with room on both sides (0.8 * 256 = 205 left 4 atoms for another BLAS)
    assert np.count_nonzero(r2 >= 0.8) >= 0.75 * 256
    # the coding is not bought with the error: the paper's measure stays near its 6%
    assert ds["heldout_error_fraction"].values[0] < 0.07


def test_bad_forget_factor():
    study = get_study("olshausen-field-1997")
    with pytest.raises(ValueError, match="forget_factor"):
        study.run(quick=True, forget_factor=-1.0, progress=False)


def test_bad_learning_tol():
    study = get_study("olshausen-field-1997")
    with pytest.raises(ValueError, match="learning_tol"):
        study.run(quick=True, learning_tol=0.0, progress=False)


def test_bad_overcompleteness():
    study = get_study("olshausen-field-1997")
    with pytest.raises(ValueError, match="overcompleteness must be increasing"):
        study.run(quick=True, overcompleteness=(2, 1), progress=False)


def test_progress_false_reaches_every_long_call(monkeypatch):
    """The held-out FISTA codes (2,000 patches at tol 1e-4 in float64, 576 atoms in a
    full run) and the patch sampling were called without ``progress``: their automatic
    bars showed with progress=False. Every call the study makes itself gets it."""
    import sys

    import stimuli
    import v1model.analysis
    import v1model.inference

    seen = []

    def recording(module, name):
        original = getattr(module, name)

        def call(*args, **kwargs):
            if sys._getframe(1).f_globals.get("__name__") == "studies.olshausen_field_1997":
                seen.append((name, kwargs.get("progress", "not given")))
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, call)

    for module, name in ((v1model.inference, "fista"), (v1model.analysis, "fit_gabor"),
                         (stimuli, "sample_patches")):
        recording(module, name)
    get_study("olshausen-field-1997").run(quick=True, overcompleteness=1, patch_size=4,
                                          n_updates=2, n_patches=300, n_eval=20,
                                          progress=False)
    assert {name for name, _ in seen} == {"fista", "fit_gabor", "sample_patches"}
    assert all(progress is False for _, progress in seen), seen


#: the tiny sizes of tests/studies/conftest.py's SMALL (a few seconds)
TINY = dict(overcompleteness=1, patch_size=4, n_updates=2, n_patches=300, n_eval=20,
            progress=False)


def test_olshausen_field_learner_records_the_tolerance_it_used():
    """The Olshausen-Field rule codes with FISTA at its own tolerance 1e-4
    (``learn_dictionary``'s default), not ``learning_tol``: the attrs recorded the
    online learner's 0.2 all the same, as if it had been used."""
    ds = get_study("olshausen-field-1997").run(quick=True, learner="olshausen-field", **TINY)
    assert ds.attrs["learning_tol"] == 1e-4
    # a quantity, atoms per pixel: with units (CF), unlike the atom and update counters
    assert ds["overcompleteness"].attrs["units"] == "1"
    assert ds.attrs["coding"].endswith("learning: fista, tol 0.0001, float64")


def test_olshausen_field_learner_refuses_a_learning_tol():
    """A learning_tol given with that learner was recorded and not used."""
    with pytest.raises(ValueError, match=r"learning_tol=0\.5 has no effect with "
                                         r"learner='olshausen-field'"):
        get_study("olshausen-field-1997").run(quick=True, learner="olshausen-field",
                                              learning_tol=0.5, **TINY)


def test_olshausen_field_learner_refuses_a_forget_factor():
    """The Olshausen-Field rule keeps no running statistics to forget: a forget_factor
    given with it was recorded (attrs['forget_factor'] == 5) and not used."""
    study = get_study("olshausen-field-1997")
    with pytest.raises(ValueError, match=r"forget_factor=5\.0 has no effect with "
                                         r"learner='olshausen-field'"):
        study.run(quick=True, learner="olshausen-field", forget_factor=5, **TINY)
    # the default is not recorded either with that learner (it did not run), only with
    # the online learner that forgets
    ds = study.run(quick=True, learner="olshausen-field", **TINY)
    assert "forget_factor" not in ds.attrs
    assert study.run(quick=True, forget_factor=5, **TINY).attrs["forget_factor"] == 5.0


def test_the_learners_warning_names_the_studys_learning_tol(monkeypatch):
    """The online learner warned "raise method_params['max_iter'] (now 1) or loosen
    method_params['tol'] (now 0.1)": the study's user sets that tol as learning_tol and
    cannot set max_iter. (The learner's limit is lowered to 1 iteration, which the
    study fixes, to make it fall short.)"""
    import warnings

    import v1model.learning.online as online
    from v1model.inference import ConvergenceWarning

    learn = online.learn_online
    monkeypatch.setattr(online, "learn_online", lambda *args, method_params, **kwargs: learn(
        *args, method_params={**method_params, "max_iter": 1}, **kwargs))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_study("olshausen-field-1997").run(quick=True, overcompleteness=1, n_updates=2,
                                              n_patches=200, n_eval=20, progress=False)
    short = [str(w.message) for w in caught if w.category is ConvergenceWarning
             and "with samples not converged in 2 of 2 updates" in str(w.message)]
    assert len(short) == 1, short
    assert ("loosen learning_tol (now 0.1) (max_iter=1 is fixed here) (the study's "
            "parameters: -p NAME=VALUE") in short[0], short[0]
    assert "learning the dictionary of 64 atoms" in short[0], short[0]
    assert "method_params" not in short[0], short[0]


def test_the_heldout_codes_warning_names_no_solver_setting_the_study_hides(monkeypatch):
    """The held-out FISTA warned "raise max_iter or loosen tol": fista's own arguments,
    which the study does not take (it fixes tol at HELDOUT_TOL and leaves max_iter at
    fista's default). Its warning now says they are fixed here and which run it was.
    (Held-out FISTA is limited to 1 iteration, which the study fixes, to fall short.)"""
    import warnings

    import v1model.inference
    from v1model.inference import ConvergenceWarning

    real_fista = v1model.inference.fista
    monkeypatch.setattr(v1model.inference, "fista", lambda X, D, lam, **kwargs: real_fista(
        X, D, lam, **{**kwargs, "max_iter": 1}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_study("olshausen-field-1997").run(quick=True, **TINY)
    held_out = [str(w.message) for w in caught if w.category is ConvergenceWarning
                and "of the held-out patches" in str(w.message)]
    assert len(held_out) == 1, [str(w.message) for w in caught]
    text = held_out[0]
    assert text.startswith("fista stopped after 1 iteration"), text
    assert "max_iter=1 and tol=0.0001 are fixed here" in text, text
    assert "raise max_iter" not in text and "loosen tol" not in text, text
    assert "coding the held-out patches with 16 atoms" in text, text
    assert "-p NAME=VALUE on `v1model study run olshausen-field-1997`" in text, text


def test_tiling_titles_stay_apart_and_inside_the_figure(small_run, study_figures):
    """Each column's title of the tiling said why fits were left out on a line wider than
    its column ("< 1 cycle, centre off the patch, σ or f at a bound or f unmeasured"):
    the neighbouring titles ran into each other (quick run, 1x / 2x / 4x). The reasons
    are the criteria, said once above the columns and wrapped to the figure's width,
    which one level's column alone is narrower than."""
    import itertools

    _, ds = small_run
    name = "olshausen-field-1997_tiling.png"
    for levels in ([0, 1], [0]):
        fig = study_figures("olshausen-field-1997", ds.isel(overcompleteness=levels))[name]
        fig.canvas.draw()
        top = [ax for ax in fig.axes if "centres and bar orientation" in ax.get_title()]
        assert len(top) == len(levels)
        boxes = [ax.title.get_window_extent() for ax in top]
        for a, b in itertools.pairwise(boxes):
            assert a.x1 < b.x0, [ax.get_title() for ax in top]
        for ax, box in zip(top, boxes):
            assert "more with R² ≥ 0.8 left out" in ax.get_title()
            panel = ax.get_window_extent()
            assert box.x0 >= panel.x0 - 30 and box.x1 <= panel.x1 + 30, ax.get_title()
        title = fig._suptitle
        assert "f measured" in title.get_text()  # the criteria, once
        assert fig.bbox.x0 <= title.get_window_extent().x0
        assert title.get_window_extent().x1 <= fig.bbox.x1, title.get_text()
