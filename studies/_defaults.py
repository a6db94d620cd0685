"""Defaults that differ between a study's quick and full variants."""

from __future__ import annotations

__all__ = ["quick_default", "following_default"]


def quick_default(value, quick: bool, quick_value, full_value):
    """``value`` if the caller gave one (not None), else the variant's default.

    An explicit 0 is kept (and then refused by the study's own checks) rather
    than silently replaced by a default.
    """
    if value is not None:
        return value
    return quick_value if quick else full_value


def following_default(value, quick: bool, variants, source, derive):
    """``value`` if the caller gave one (not None); else, when ``source`` (the parameter
    the default follows, as the caller gave it) was not given either, the variant's
    default from ``variants`` = (quick, full), the one a sweep records; else ``derive()``,
    the default computed from the given ``source`` (a study's ``DEFAULTS_FOLLOW``).
    """
    if value is not None:
        return value
    if source is None:
        return quick_default(None, quick, *variants)
    return derive()
