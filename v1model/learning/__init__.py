"""Dictionary learning: the Olshausen-Field rule and its descendants."""

from .olshausen_field import cauchy_inference, init_dictionary, learn_dictionary

__all__ = ["learn_dictionary", "cauchy_inference", "init_dictionary"]
