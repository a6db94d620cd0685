"""Studies refuse, before any work, a dictionary whose working memory (the Gram matrix
D D^T beside the dictionary and the patches) exceeds the memory the process may use.

``rozell-2008-lca --quick -p patch_size=100`` (20000 atoms of 10000 pixels) loaded the
images, sampled 20000 patches and died at ``D @ D.T``: with NumPy's MemoryError naming
no parameter under ``ulimit -v 6000000``, with a segmentation fault (exit 139) in an
earlier session. Nothing here allocates the big arrays: the estimate is checked against
``ndarray.nbytes`` of small arrays, and the refusal with the memory patched down.
"""

import sys

import numpy as np
import pytest

import v1model.validation as validation
from studies import get_study
from studies._checks import check_dictionary_memory, dictionary_working_bytes
from v1model.sweep import preflight


def test_the_estimate_counts_the_gram_matrix_the_dictionary_and_the_patches():
    k, n, m = 24, 9, 7
    D = np.zeros((k, n))
    X = np.zeros((m, n))
    parts = dictionary_working_bytes(k, n, m)
    # the step size's Gram, the smaller one (D^T D here), once: LAPACK works in it
    # (test_step_size_memory.py measures what the solvers allocate)
    assert parts == {"Gram matrix": (D @ D.T).nbytes, "spectral norm": (D.T @ D).nbytes,
                     "dictionary": D.nbytes, "patches": X.nbytes}
    assert dictionary_working_bytes(n, k, m)["spectral norm"] == (D.T @ D).nbytes
    # rozell-2008-lca --quick -p patch_size=100: 20000 atoms, 20000 + 100 patches
    big = dictionary_working_bytes(20000, 10000, 20100)
    assert big["Gram matrix"] == 8 * 20000**2 == 3.2e9
    assert sum(big.values()) == pytest.approx(7.208e9)
    # what a study holds besides is added under its own name
    held = dictionary_working_bytes(k, n, m, held={"results": 1e3})
    assert held == {**parts, "results": 1e3}


def test_the_refusal_names_the_parameters_the_bytes_needed_and_available(monkeypatch):
    import studies._checks as checks

    monkeypatch.setattr(validation, "physical_memory", lambda: 2.0**30)
    monkeypatch.setattr(checks, "_memory_in_use", lambda address_space: 0.0)
    with pytest.raises(ValueError) as info:
        check_dictionary_memory(20000, 10000, 20100, "patch_size=100, n_atoms=20000")
    text = str(info.value)
    assert text.startswith("patch_size=100, n_atoms=20000 needs at least 7.208e+09 bytes")
    assert "20000x20000 Gram matrix D D^T (3.2e+09 bytes)" in text
    assert "one more of the smaller Gram for its spectral norm (8e+08 bytes)" in text
    assert "this process may use 1.074e+09 bytes (1 GiB" in text
    # what fits passes, and an unknown memory checks nothing
    check_dictionary_memory(100, 64, 1000, "patch_size=8")
    # what the process holds already is not available (olshausen-field-1996 at
    # patch_size=100, estimated at 5.76e9 bytes then, passed under ulimit -v 6000000,
    # 6.14e9 bytes, and failed after 290 s with the interpreter's 0.46e9 bytes on top);
    # its estimate is 4.96e9 bytes since the step size holds one smaller Gram, not two
    needed = sum(dictionary_working_bytes(10000, 10000, 32000).values())
    assert needed == pytest.approx(4.96e9)
    monkeypatch.setattr(validation, "physical_memory", lambda: 5.2e9)
    check_dictionary_memory(10000, 10000, 32000, "patch_size=100")
    monkeypatch.setattr(checks, "_memory_in_use", lambda address_space: 0.46e9)
    with pytest.raises(ValueError, match=r"this process may use 4\.74e\+09 bytes .* "
                                         r"5\.2e\+09 bytes, less the 4\.6e\+08 it holds"):
        check_dictionary_memory(10000, 10000, 32000, "patch_size=100")
    monkeypatch.setattr(validation, "physical_memory", lambda: None)
    check_dictionary_memory(20000, 10000, 20100, "patch_size=100")


#: each study taking patch_size, with the parameters that make 10000 pixels and at
#: least 10000 atoms: about 1.7-6.4 GB of working memory, refused within 1 GiB
STUDIES = {
    "rozell-2008-lca": {},
    "olshausen-field-1996": {},
    "olshausen-field-1997": {"overcompleteness": [1]},
    "lca-sweep": {},
    "spiking-lca": {"target": "numpy"},
}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_memory_in_use_is_what_proc_reports():
    """The address space and the resident set of this process, as /proc tells them (the
    resident set is part of the address space)."""
    from studies._checks import _memory_in_use

    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    size, rss = (float(status[k].split()[0]) * 1024 for k in ("VmSize", "VmRSS"))
    assert _memory_in_use(address_space=True) == pytest.approx(size, rel=0.05)
    assert _memory_in_use(address_space=False) == pytest.approx(rss, rel=0.05)
    assert 0 < _memory_in_use(address_space=False) <= _memory_in_use(address_space=True)


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_studies_refuse_a_dictionary_too_big_before_any_work(name, monkeypatch):
    """In a sweep's pre-flight the study stops at parameters_checked(), before loading
    anything: the size is refused there (it was let through to D @ D.T).

    What the process holds is fixed here: a pytest worker after thousands of tests held
    1.11e9 bytes on the CI machine, more than the 1 GiB patched in, and the default sizes
    were refused too."""
    import studies._checks as checks

    monkeypatch.setattr(validation, "physical_memory", lambda: 2.0**30)
    monkeypatch.setattr(checks, "_memory_in_use", lambda address_space: 0.3e9)
    token = preflight._ONLY_CHECKING.set(True)  # the checks passed: _ParametersChecked
    try:
        with pytest.raises(ValueError, match=r"patch_size=100, .*needs at least .* bytes .* "
                                             r"this process may use .* bytes .* "
                                             r"1\.074e\+09 bytes, less the"):
            get_study(name).run(quick=True, seed=0, patch_size=100, progress=False,
                                **STUDIES[name])
        # the default sizes pass the same check
        with pytest.raises(preflight._ParametersChecked):
            get_study(name).run(quick=True, seed=0, progress=False, **STUDIES[name])
    finally:
        preflight._ONLY_CHECKING.reset(token)


def test_the_memory_a_process_may_use_is_at_most_its_address_space_limit(monkeypatch):
    """``ulimit -v`` bounds what NumPy may allocate: physical_memory takes it when lower
    than the RAM (it took the RAM alone, 23 GiB here, and let patch_size=100 through)."""
    address_space_limit = validation.address_space_limit
    monkeypatch.setattr(validation, "cgroup_memory_limit", lambda: None)
    monkeypatch.setattr(validation, "address_space_limit", lambda: None)
    ram = validation.physical_memory()
    monkeypatch.setattr(validation, "address_space_limit", lambda: 2.0**30)
    assert validation.physical_memory() == 2.0**30
    monkeypatch.setattr(validation, "address_space_limit", lambda: 2.0**70)
    assert validation.physical_memory() == ram
    # read from RLIMIT_AS's soft limit (ulimit -v 6000000); none when unlimited
    import resource

    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    monkeypatch.setattr(resource, "getrlimit", lambda which: (6000000 * 1024, hard))
    assert address_space_limit() == 6000000 * 1024.0
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, hard))
    assert address_space_limit() is None


def test_olshausen_field_1997_counts_its_learned_dictionaries(monkeypatch):
    """The study keeps every level's dictionary at the largest level's atom count in one
    float32 array (``np.full((levels, max_atoms, y, x))``: 4.47 GiB at patch_size=100 with
    the default levels 1, 2, 4), beside the largest level's Gram: the estimate left it
    out and let such a run through to that allocation."""
    import studies._checks as checks

    seen = {}
    check = checks.check_dictionary_memory

    def spy(*args, **kwargs):
        seen.update(kwargs.get("held") or {})
        return check(*args, **kwargs)

    monkeypatch.setattr(checks, "check_dictionary_memory", spy)
    token = preflight._ONLY_CHECKING.set(True)
    try:
        with pytest.raises(preflight._ParametersChecked):
            get_study("olshausen-field-1997").run(quick=True, seed=0, patch_size=4,
                                                  overcompleteness=[1, 2], progress=False)
        # the result array the run fills, as the study allocates it
        held = np.full((2, 2 * 16, 4, 4), np.nan, np.float32).nbytes
        assert seen == {"2x32x16 float32 learned dictionaries": held}
        # at patch_size=100 (default levels) it names them, 4.8e9 bytes = 4.47 GiB
        monkeypatch.setattr(validation, "physical_memory", lambda: 2.0**30)
        with pytest.raises(ValueError, match=r"float64, and the 3x40000x10000 float32 "
                                             r"learned dictionaries \(4\.8e\+09 bytes\); "):
            get_study("olshausen-field-1997").run(quick=True, seed=0, patch_size=100,
                                                  progress=False)
    finally:
        preflight._ONLY_CHECKING.reset(token)
