"""scikit-learn's ``set_params`` for the project's estimators: one rule for all of them.

:class:`v1model.amortized.LISTA` and :class:`v1model.sae.SparseAutoencoder` keep
their constructor's parameters as given (``get_params``); ``set_params`` changes
them by name, as :class:`sklearn.model_selection.GridSearchCV` does, and
``__sklearn_tags__`` describes them to scikit-learn (which its own functions ask
of every estimator); both come from :class:`ScikitLearnParams`. Only
``__sklearn_tags__`` imports scikit-learn, when scikit-learn itself calls it.
"""

from __future__ import annotations

from .validation import did_you_mean


def set_checked_params(estimator, params, checks):
    """Set constructor parameters of ``estimator`` by name, each checked first; returns it.

    scikit-learn's contract (``BaseEstimator.set_params``): every name is one of
    ``estimator.get_params()``, the values are stored as given (``get_params``
    then returns the same objects, which :func:`sklearn.base.clone` checks) and
    the estimator is returned. Each value first passes ``checks[name]``, the
    check ``fit`` applies to that parameter alone, so that a bad value fails here
    naming the argument and the value; checks that involve several parameters
    (``k`` against ``n_latents``, say) stay in ``fit``, since a grid may set them
    one at a time. Nothing is set unless every name and value passes.

    Parameters
    ----------
    estimator : object
        Has ``get_params()`` (the constructor's parameters, by name).
    params : dict
        Parameter name -> new value.
    checks : dict
        Parameter name -> callable taking the value, raising ``TypeError`` or
        ``ValueError`` for a bad one (its return value is not used); parameters
        without one are stored unchecked.

    Returns
    -------
    estimator
        The same object, its parameters set.

    Raises
    ------
    ValueError
        For a name that is not a constructor parameter (the message lists the
        valid ones), or a value its check refuses.
    TypeError
        For a value of a type its check refuses.
    """
    valid = list(estimator.get_params(deep=False))
    for name in params:
        if name not in valid:
            raise ValueError(f"Invalid parameter {name!r} for estimator "
                             f"{type(estimator).__name__}{did_you_mean(name, valid)}; "
                             f"valid parameters: {', '.join(valid)}")
    for name, value in params.items():
        if name in checks:
            checks[name](value)
    for name, value in params.items():
        setattr(estimator, name, value)
    return estimator


class ScikitLearnParams:
    """``set_params`` and ``__sklearn_tags__`` of scikit-learn's estimator protocol.

    For an estimator whose ``get_params`` gives its constructor's parameters and
    whose class attribute ``_param_checks`` maps each of them to the check ``fit``
    applies to it alone (:func:`set_checked_params`).
    """

    #: parameter name -> its check (a callable of the value); set by each estimator
    _param_checks: dict = {}

    @staticmethod
    def _stored_param(name, value):
        """The value ``set_params`` stores for ``name``, as the constructor stores it
        (as given here; an estimator that normalises a setting overrides this)."""
        return value

    def set_params(self, **params):
        """Set constructor parameters by name (scikit-learn's protocol); returns ``self``.

        Each value is checked as ``fit`` checks it alone, before any is set, and
        kept as given; settings checked together (e.g. a count against another)
        are checked by ``fit``, since a grid may set them one at a time. A fitted
        model keeps its weights: the new settings take effect at the next
        ``fit`` (``partial_fit`` refuses or takes them as its docstring says).

        Parameters
        ----------
        **params
            New values of constructor parameters, by name.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For a name that is not a constructor parameter (the message lists
            them) or a value ``fit`` would refuse; nothing is set then.
        TypeError
            For a value of a type ``fit`` would refuse; nothing is set then.
        """
        params = {name: self._stored_param(name, value) for name, value in params.items()}
        return set_checked_params(self, params, self._param_checks)

    def __sklearn_tags__(self):
        # called by scikit-learn only (GridSearchCV, clone's checks), so it is importable
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    input_tags=InputTags(two_d_array=True, sparse=False, allow_nan=False),
                    non_deterministic=getattr(self, "seed", None) is None)
