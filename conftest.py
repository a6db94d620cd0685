"""The checkout's root conftest: pytest loads it before it parses the command line.

pyproject.toml's ``addopts`` run the suite on pytest-xdist's workers (``-n auto --dist
loadfile``). pytest without the test extras (``pip install . pytest``) has no xdist,
and refused every run with "unrecognized arguments: -n --dist loadfile"; here the two
options are accepted and the tests run in one process, as the header says.
"""

#: the header line of a run without pytest-xdist
NO_XDIST = ("pytest-xdist is not installed: the tests run in one process (-n and --dist "
            "ignored); pip install \".[test]\" runs one worker per CPU")


def pytest_addoption(parser, pluginmanager):
    """``-n`` and ``--dist`` as no-ops when the xdist plugin is absent (not installed,
    or blocked with ``-p no:xdist``); with it, its own options, untouched."""
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist", "distributed testing (pytest-xdist, not installed)")
    # _addoption: pytest reserves lowercase short options; xdist registers -n the same way
    group._addoption("-n", "--numprocesses", dest="numprocesses", default=None,
                     metavar="numprocesses",
                     help="ignored: pytest-xdist is not installed (one process)")
    group.addoption("--dist", dest="dist", default="no", metavar="distmode",
                    help="ignored: pytest-xdist is not installed")


def pytest_report_header(config):
    if not config.pluginmanager.has_plugin("xdist"):
        return NO_XDIST
    return None
