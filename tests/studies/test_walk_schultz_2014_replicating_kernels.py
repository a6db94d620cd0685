"""schultz-2014-replicating-kernels, from a student's walk-through: parameters that
made the comparison say something else than it claims are refused before any work,
naming the argument and its value, in the study and in a sweep's pre-flight.

- ``strides`` without ``kernel_size``: strides=[4, 2] ran with the quick 8x8 kernels,
  its "non-overlapping" configuration at stride 4, where they overlap by half
  (``error_nonoverlapping``, ``error_ratio`` and the baselines all used it).
- ``eval_lams`` repeated: [1, 1] coded the held-out crops twice into one curve point
  under two equal ``eval_lam`` labels.
- ``n_heldout`` was compared with the number of images only after they were loaded and
  whitened: a sweep's pre-flight passed n_heldout=10 with the ten skimage photographs,
  and every point failed."""

import re

import numpy as np
import pytest

from v1model.sweep import SpecError, check_points, parse_spec

NAME = "schultz-2014-replicating-kernels"


def _run(**params):
    from studies import get_study

    return get_study(NAME).run(progress=False, **params)


def _preflight(quick=True, **params):
    """A sweep's pre-flight of one point with ``params`` (no work)."""
    check_points(parse_spec({"study": NAME, "params": params, "sweep": {"lam": [0.5]},
                             "quick": quick, "executor": {"kind": "serial"}}))


@pytest.fixture
def no_loading(monkeypatch):
    import stimuli.images

    def no_work(*args, **kwargs):
        raise AssertionError("images loaded before the parameters were refused")

    monkeypatch.setattr(stimuli.images, "load_whitened", no_work)


@pytest.mark.parametrize("quick, params, message", [
    (True, dict(strides=[4, 2]),
     "strides=[4, 2]: the largest, 4, is not kernel_size=8 (quick default), the "
     "non-overlapping stride every configuration is compared with (at stride 4 the 8x8 "
     "kernels overlap); give strides=[8, 4, 2] or kernel_size=4"),
    (False, dict(strides=[8, 4, 2]),
     "strides=[8, 4, 2]: the largest, 8, is not kernel_size=16 (full default), the "
     "non-overlapping stride every configuration is compared with (at stride 8 the 16x16 "
     "kernels overlap); give strides=[16, 8, 4, 2] or kernel_size=8"),
    # 4 does not divide 6: kernel_size=6 would be refused, so it is not offered
    (True, dict(kernel_size=12, strides=[4, 6]),
     "strides=[4, 6]: the largest, 6, is not kernel_size=12, the non-overlapping stride "
     "every configuration is compared with (at stride 6 the 12x12 kernels overlap); give "
     "strides=[12, 6, 4]"),
])
def test_strides_whose_largest_is_not_the_kernel_size_are_refused(no_loading, quick, params,
                                                                   message):
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        _run(quick=quick, **params)
    with pytest.raises(SpecError, match=re.escape(message)):
        _preflight(quick=quick, **params)


def test_the_suggested_strides_and_kernel_size_pass_the_checks():
    # both remedies the message offers for strides=[4, 2] (quick, 8x8 kernels)
    _preflight(strides=[8, 4, 2])
    _preflight(strides=[4, 2], kernel_size=4)


@pytest.mark.parametrize("eval_lams, repeated", [([1, 1], "1.0"), ([2.0, 1, 2], "2.0"),
                                                 ([0.5, 4, 0.5, 4, 8], "0.5, 4.0")])
def test_repeated_eval_lams_are_refused(no_loading, eval_lams, repeated):
    message = (f"eval_lams={eval_lams!r} repeats {repeated}: each λ is one point of the "
               "rate-distortion curves; give distinct values")
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        _run(quick=True, eval_lams=eval_lams)
    with pytest.raises(SpecError, match=re.escape(message)):
        _preflight(eval_lams=eval_lams)


def _heldout_message(n_heldout, n_images, source):
    return (f"n_heldout={n_heldout} leaves none of the {n_images} image(s) of images="
            f"{source!r} to learn the kernels from (the last n_heldout are held out for "
            "evaluation)")


@pytest.mark.parametrize("n_heldout", [10, 11])
def test_n_heldout_of_every_skimage_photograph_is_refused_before_loading(no_loading,
                                                                         n_heldout):
    from stimuli.images import _skimage_files

    n_images = len(_skimage_files()[1])  # ten with this scikit-image
    assert n_images == 10
    message = _heldout_message(n_heldout, 10, "skimage") + "; give n_heldout below 10"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        _run(quick=True, n_heldout=n_heldout)
    with pytest.raises(SpecError, match=re.escape(message)):
        _preflight(n_heldout=n_heldout)
    _preflight(n_heldout=9)  # one photograph left to learn from


def test_n_heldout_is_counted_against_a_folder_and_an_array_before_loading(no_loading,
                                                                           tmp_path):
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((40, 40), 60 * i, dtype=np.uint8)).save(tmp_path / f"{i}.png")
    with pytest.raises(ValueError, match=re.escape(
            _heldout_message(3, 3, str(tmp_path.resolve())))):
        _run(quick=True, images=str(tmp_path), n_heldout=3)
    one = np.zeros((1, 80, 80))
    with pytest.raises(ValueError, match=re.escape(
            _heldout_message(1, 1, "array of shape (1, 80, 80) (float64)")
            + "; give at least two images")):
        _run(quick=True, images=one, n_heldout=1)


def test_n_heldout_of_a_mat_file_is_refused_once_its_images_are_counted(tmp_path):
    """A .mat file tells its count only when read: the same message, after loading."""
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    path = tmp_path / "IMAGES_RAW.mat"
    savemat(path, {"IMAGESr": rng.standard_normal((48, 48, 2))})
    with pytest.raises(ValueError, match=re.escape(
            _heldout_message(2, 2, str(path.resolve())) + "; give n_heldout below 2")):
        _run(quick=True, images=str(path), n_heldout=2)


# two updates of two crops: too few for the kernels to converge, which the learners say
@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
@pytest.mark.filterwarnings("ignore:convolutional fista stopped", "ignore:fista stopped")
def test_every_coordinate_has_units_and_the_result_reloads(tmp_path):
    """The ``update`` coordinate of the learning histories lost the learners' label (its
    long_name and units, "1"), and ``config`` and ``kernel`` had none."""
    from v1model.io import load_dataset, save_dataset

    images = np.random.default_rng(0).standard_normal((4, 40, 40))  # white already
    ds = _run(quick=True, seed=0, images=images, prewhitened=True, kernel_size=4,
              strides=[4, 2], extra_kernel_size=2,
              n_updates=2, patch_updates=2, n_patches=200, n_eval=1, eval_lams=[1.0, 2.0],
              eval_max_iter=20, max_iter=20, batch_size=2)
    for name in list(ds.coords) + list(ds.data_vars):
        assert "units" in ds[name].attrs, name
    assert ds["update"].attrs["units"] == "1" and "update" in ds["update"].attrs["long_name"]
    back = load_dataset(save_dataset(ds, tmp_path / "schultz.nc"))
    for name in list(ds.coords) + list(ds.data_vars):
        assert back[name].attrs.get("units") == ds[name].attrs["units"], name
        np.testing.assert_array_equal(back[name].values, ds[name].values)
    assert list(back.attrs["strides"]) == [4, 2] and back.attrs["n_heldout"] == 2


@pytest.mark.parametrize("picture", ["array", "PIL"])
def test_one_colour_picture_counts_as_one_image_before_loading(no_loading, picture):
    """One RGB picture (height, width, 3), as an array or a PIL image, is one image to
    load_images; image_count took its height for the count (64), so n_heldout=1 passed the
    pre-flight and failed only after loading."""
    from PIL import Image

    from stimuli.images import load_images
    from studies._checks import image_count

    pixels = np.random.default_rng(0).integers(0, 256, (64, 48, 3), dtype=np.uint8)
    images = pixels if picture == "array" else Image.fromarray(pixels)
    assert len(load_images(images)) == 1  # the loader's count, the reference
    assert image_count(images) == 1
    with pytest.raises(ValueError, match=re.escape("; give at least two images")):
        _run(quick=True, images=images, n_heldout=1)
    # a stack whose last axis is 3 but is too small for a colour picture stays a stack
    assert image_count(np.zeros((5, 64, 3))) == len(load_images(np.zeros((5, 64, 3)))) == 5


def test_the_json_example_of_the_command_line_help_passes_the_checks():
    """`v1model study run --help` gave -p strides=[1,2] as its JSON example: refused by the
    one study that takes strides (its largest must be the quick kernel_size, 8)."""
    import json

    from v1model.cli import build_parser

    study = build_parser()._subparsers._group_actions[0].choices["study"]
    run = study._subparsers._group_actions[0].choices["run"]
    text = next(a.help for a in run._actions if "--param" in a.option_strings)
    example = re.search(r"-p strides=(\[[^\]]*\])", text)
    assert example, text
    _preflight(strides=json.loads(example.group(1)))
