"""``python -m v1model ...``: the ``v1model`` command (:func:`v1model.cli.main`)."""

import sys

from v1model.cli import main

if __name__ == "__main__":  # pragma: no cover - run as a program
    sys.exit(main())
