"""``user_stacklevel(skip=...)`` passes over the frames of more packages: a study's
warning about its own arguments names the line that called the study, where without
``skip`` a study's line counts as the user's (the line that chose the settings of the
package's call)."""

import warnings

import pytest

from v1model._frames import user_stacklevel

_A_STUDY = compile("import warnings\n"
                   "from v1model._frames import user_stacklevel\n"
                   "def run(skip):\n"
                   "    warnings.warn('a study warns', UserWarning,\n"
                   "                  stacklevel=user_stacklevel(skip))\n",
                   "<a study>", "exec")


@pytest.mark.parametrize("skip, filename", [((), "<a study>"), (("studies",), __file__)])
def test_skip_passes_over_the_named_packages(skip, filename):
    namespace = {"__name__": "studies._a_study"}
    exec(_A_STUDY, namespace)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        namespace["run"](skip)
    assert [w.filename for w in record] == [filename]


def test_skip_given_as_one_name_is_refused():
    # tuple("studies") would have passed over packages named s, t, u, d, i and e
    with pytest.raises(TypeError, match=r"skip must be a tuple of package names, got "
                                        r"'studies'"):
        user_stacklevel(skip="studies")
