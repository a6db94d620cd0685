"""Dictionary learning: the Olshausen-Field rule and its descendants (MOD,
K-SVD, online dictionary learning) and a scikit-learn compatible estimator."""

from ..inference._common import lam_units
from .estimator import NotFittedError, SparseDictionaryLearner
from .ksvd import ksvd_sweep, learn_ksvd
from .mod import learn_mod, mod_dictionary
from .olshausen_field import cauchy_inference, init_dictionary, learn_dictionary
from .online import OnlineState, block_coordinate_update, learn_online

__all__ = ["learn_dictionary", "cauchy_inference", "init_dictionary", "learn_mod", "learn_ksvd",
           "learn_online", "SparseDictionaryLearner", "mod_dictionary", "ksvd_sweep",
           "block_coordinate_update", "OnlineState", "NotFittedError", "lam_units"]
