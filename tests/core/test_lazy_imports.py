"""The command line's parser and the package namespaces load without xarray.

`v1model --help`, `v1model sweep --help` and a mistyped command should answer at
once; importing xarray and pandas costs about half a second.
"""

import subprocess
import sys

import pytest


def _modules_after(code):
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\n"
                          "print(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_parser_and_help_do_not_import_xarray():
    modules = _modules_after(
        "import v1model, v1model.sweep\n"
        "from v1model.cli import build_parser\n"
        "parser = build_parser()\n"
        "parser.parse_args(['sweep', 'status', 'somewhere'])\n")
    assert "v1model.cli" in modules and "v1model.sweep.cli" in modules
    assert "xarray" not in modules
    assert "v1model.network" not in modules and "v1model.sweep.runner" not in modules


def test_public_names_resolve_to_their_modules():
    import v1model
    from v1model import sweep
    from v1model.network import SparseCodingNetwork
    from v1model.sweep import runner, spec

    assert v1model.SparseCodingNetwork is SparseCodingNetwork
    assert sweep.run is runner.run and sweep.load_spec is spec.load_spec
    for name in sweep.__all__:
        assert getattr(sweep, name) is not None
    assert set(v1model.__all__) <= set(dir(v1model))
    assert set(sweep.__all__) <= set(dir(sweep))


@pytest.mark.parametrize("module", ["v1model", "v1model.sweep"])
def test_unknown_names_raise_attribute_error(module):
    import importlib

    with pytest.raises(AttributeError, match="no attribute 'not_there'"):
        getattr(importlib.import_module(module), "not_there")
