"""The Examples sections of the docstrings run and print what they show."""

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("v1model", "stimuli", "studies")


def _modules():
    names = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            names.append(info.name)
    return names


def _with_examples(name):
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    # only the examples defined in this module (not re-exported ones)
    return [t for t in tests if t.examples and t.name.startswith(name)]


MODULES = [name for name in _modules() if _with_examples(name)]


def test_examples_were_found():
    # fails if the discovery breaks and the parametrised test silently runs nothing
    assert len(MODULES) >= 8, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in _with_examples(name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
