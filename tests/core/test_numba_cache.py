"""The compiled kernels work where numba cannot cache them on disk.

A read-only install (a shared site-packages, a cluster module) with a read-only
home folder leaves numba no folder for ``cache=True``: it raised "no locator
available" when the module was imported. Simulated here by giving numba no
cache locator at all, in a fresh process.
"""

import subprocess
import sys
import textwrap

import numpy as np
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
    n_warnings, codes = out.stdout.strip().splitlines()
    assert n_warnings == "1"  # once per process, naming the way out
    A = np.array([float(v) for v in codes.split()]).reshape(5, 20)

    rng = np.random.default_rng(0)
    D = rng.standard_normal((20, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((5, 16))
    # scikit-learn's Lasso scales the data term by 1 / n_features
    ref = np.array([Lasso(alpha=0.1 / 16, fit_intercept=False, tol=1e-12, max_iter=100_000)
                    .fit(D.T, x).coef_ for x in X])
    np.testing.assert_allclose(A, ref, atol=1e-6)
