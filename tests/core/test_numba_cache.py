"""The compiled kernels work where numba cannot cache them on disk.

A read-only install (a shared site-packages, a cluster module) with a read-only
home folder leaves numba no folder for ``cache=True``: it raised "no locator
available" when the module was imported. Simulated here by giving numba no
cache locator at all, in a fresh process. The one warning names the line that imported
the package (it named a line of v1model, the decorated kernel's, with ``stacklevel=2``).
And a cached kernel does not call one of another file, whose changes its cache would
not see. The codes of every numba kernel (cd, backtracking FISTA, adaptive LCA) are the
same whether the kernels were compiled in the
process or loaded from the disk cache.
"""

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import Lasso

#: numba's cache locators, the folders it tries, in order (_CacheImpl in older numba)
NO_CACHE_FOLDER = ("import numba.core.caching as c\n"
                   "(getattr(c, 'CacheImpl', None) or c._CacheImpl)._locator_classes = []\n")


def test_kernels_compile_without_a_writable_cache_folder():
    code = NO_CACHE_FOLDER + textwrap.dedent("""
        import warnings
        import numpy as np
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from v1model.inference import encode
            from v1model.sae import SparseAutoencoder
        print(sum("NUMBA_CACHE_DIR" in str(w.message) for w in caught))
        print(*{w.filename for w in caught if "NUMBA_CACHE_DIR" in str(w.message)})
        rng = np.random.default_rng(0)
        D = rng.standard_normal((20, 16))
        D /= np.linalg.norm(D, axis=1, keepdims=True)
        X = rng.standard_normal((5, 16))
        A = encode(X, D, "cd", lam=0.1, dtype=np.float64, tol=1e-8, progress=False)
        print(" ".join(repr(float(v)) for v in A.ravel()))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    n_warnings, files, codes = out.stdout.strip().splitlines()
    assert n_warnings == "1"  # once per process, naming the way out
    assert files == "<string>"  # the import's line, python -c's code
    A = np.array([float(v) for v in codes.split()]).reshape(5, 20)

    rng = np.random.default_rng(0)
    D = rng.standard_normal((20, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((5, 16))
    # scikit-learn's Lasso scales the data term by 1 / n_features
    ref = np.array([Lasso(alpha=0.1 / 16, fit_intercept=False, tol=1e-12, max_iter=100_000)
                    .fit(D.T, x).coef_ for x in X])
    np.testing.assert_allclose(A, ref, atol=1e-6)


@pytest.fixture
def no_cache_folder(monkeypatch):
    """``numba.njit(cache=True)`` fails as it does with no folder to cache in, and
    v1model has not yet given its once-per-process warning."""
    import numba

    from v1model import _numba

    njit = numba.njit

    def njit_without_a_cache_folder(*args, cache=False, **options):
        if not cache:
            return njit(*args, **options)

        def no_locator(func):  # numba's own message
            raise RuntimeError(f"cannot cache function {func.__name__!r}: no locator "
                               f"available for file {func.__code__.co_filename!r}")
        return no_locator

    monkeypatch.setattr(numba, "njit", njit_without_a_cache_folder)
    monkeypatch.setattr(_numba, "_WARNED", False)


@pytest.mark.parametrize("how", ["import", "importlib.import_module"])
def test_the_cache_warning_names_the_line_that_imported_the_package(no_cache_folder,
                                                                    tmp_path, monkeypatch,
                                                                    how):
    """A module of v1model whose kernels are decorated while it is imported: the warning
    names the test's import (it named the module's decorator line), through the frames of
    the import system, which warnings.warn does not count."""
    import importlib

    import v1model

    name = "_kernels_of_a_module"  # not test_*.py nor *_test.py: pytest would rewrite it
    (tmp_path / f"{name}.py").write_text("from v1model._numba import cached_njit\n\n\n"
                                         "@cached_njit()\ndef twice(x):\n    return 2 * x\n",
                                         encoding="utf-8")
    monkeypatch.setattr(v1model, "__path__", [*v1model.__path__, str(tmp_path)])
    try:
        with pytest.warns(UserWarning, match="numba cannot cache v1model's") as record:
            if how == "import":
                import v1model._kernels_of_a_module  # noqa: F401
            else:
                importlib.import_module(f"v1model.{name}")
    finally:
        sys.modules.pop(f"v1model.{name}", None)
        vars(v1model).pop(name, None)
    assert [w.filename for w in record if w.category is UserWarning] == [__file__]


def _cached_kernels_and_imports(path, package_root):
    """The names of the ``cached_njit`` functions of the module at ``path``, and its
    imported names as ``{name: (module, name)}``, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = list(path.relative_to(package_root.parent).with_suffix("").parts)
    package = parts[:-1]
    kernels = {node.name: node for node in ast.walk(tree)
               if isinstance(node, ast.FunctionDef) and any(
                   isinstance(d, ast.Call) and getattr(d.func, "id", None) == "cached_njit"
                   for d in node.decorator_list)}
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + (node.module.split(".") if node.module else []))
            for alias in node.names:
                imported[alias.asname or alias.name] = (module, alias.name)
    return ".".join(parts), kernels, imported


def test_no_cached_kernel_calls_a_cached_kernel_of_another_module():
    # numba's disk cache of a kernel holds the kernels it calls compiled into it, and is
    # invalidated only when the caller's own file changes: the LCA's step kernel called the
    # gap test of inference/_common.py, and an edit of that test (a fix, a git checkout or
    # pull that changed only _common.py) left the LCA running the old one from its cache
    # while FISTA ran the new one
    import v1model

    root = Path(v1model.__file__).parent
    modules = {}
    for path in sorted(root.rglob("*.py")):
        name, kernels, imported = _cached_kernels_and_imports(path, root)
        modules[name] = (kernels, imported)
    crossing = []
    for name, (kernels, imported) in modules.items():
        for kernel, node in kernels.items():
            for call in ast.walk(node):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
                    continue
                source = imported.get(call.func.id)
                if source and source[0] != name and source[1] in modules.get(
                        source[0], ({}, {}))[0]:
                    crossing.append(f"{name}.{kernel} -> {source[0]}.{source[1]}")
    assert not crossing, sorted(set(crossing))


#: seeded lasso_cd codes, float64 and float32, as bytes in hex (one line each)
CD_CODES = textwrap.dedent("""
    import numpy as np
    from v1model.inference import coordinate_descent, encode, fista_backtracking, lca_adaptive
    rng = np.random.default_rng(3)
    D = rng.standard_normal((24, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((40, 16))
    # every numba kernel of the package: cd's parallel one, the backtracking FISTA's (fista
    # and active_set) and adaptive Euler LCA's (dt=None)
    calls = [("cd", {}), ("fista", {"step": "backtracking"}), ("active_set", {}),
             ("lca", {"dt": None})]
    for dtype in (np.float64, np.float32):
        for method, options in calls:
            A = encode(X, D, method, lam=0.1, dtype=dtype, progress=False, **options)
            print(np.ascontiguousarray(A).tobytes().hex())
    # how the kernels came into the process: the last line, compared apart from the codes
    kernels = [k for m in (coordinate_descent, fista_backtracking, lca_adaptive)
               for k in vars(m).values() if hasattr(k, "py_func") and hasattr(k, "stats")]
    print(f"hits={sum(sum(k.stats.cache_hits.values()) for k in kernels)}",
          f"misses={sum(sum(k.stats.cache_misses.values()) for k in kernels)}")
""")


@pytest.mark.slow  # every kernel compiled in a fresh process: 38-46 s on a loaded 2-core box
def test_cd_codes_are_the_same_whether_the_kernel_is_compiled_or_loaded(tmp_path):
    # with fastmath=True, a process that compiled the parallel kernel and one that loaded
    # it from numba's disk cache gave other codes (here 1.2e-13 apart in float64, 5.8e-5
    # in float32); the quick check of the same is
    # test_compiled_kernel_gives_the_bits_of_its_python_definition (inference tests)
    import v1model

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"),
               PYTHONPATH=os.pathsep.join(filter(None, [
                   str(Path(v1model.__file__).resolve().parents[1]),
                   os.environ.get("PYTHONPATH")])))
    runs = []
    for _ in ("compiled", "loaded from the cache"):
        out = subprocess.run([sys.executable, "-c", CD_CODES], capture_output=True, text=True,
                             check=False, env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        runs.append(out.stdout.split())
    assert list((tmp_path / "numba").rglob("*.nbc"))  # the second run had a cache to load
    # and loaded both kernels from it: a .nbc alone did not show that it was read (a cache
    # the second run ignored or invalidated compiled again, and the codes agreed vacuously)
    counts = [[int(word.split("=")[1]) for word in run[-2:]] for run in runs]
    assert counts[0][0] == 0 and counts[0][1] > 0, counts  # compiled every kernel
    assert counts[1][0] > 0 and counts[1][1] == 0, counts  # loaded every kernel
    compiled, loaded = (run[:-2] for run in runs)
    assert len(compiled) == 8  # 4 methods x 2 dtypes
    assert compiled == loaded
