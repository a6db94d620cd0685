"""Lazy, headless matplotlib."""


def pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg", force=False)
        except Exception:  # noqa: BLE001 - an interactive backend is already running
            pass
    import matplotlib.pyplot as plt

    return plt
