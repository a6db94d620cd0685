"""Natural order of file names: the numbers in them compared as numbers.

Shared by the loaders that read a folder's files in order (:func:`stimuli.load_images`
for picture files and sparsenet raw files, :func:`stimuli.audio.load_wav_folder`), so
that ``img2.png`` comes before ``img10.png``, ``image2`` before ``image10`` and
``take2.wav`` before ``take10.wav``, where the order of plain text put ``10`` before
``2``.
"""

from __future__ import annotations

import os
import re

_DIGIT_RUNS = re.compile(r"(\d+)")


def natural_key(path) -> tuple:
    """Sort key of ``path`` in natural order: its text with each run of digits compared
    as a number (``"2_jackson_10.wav"`` -> ``("", 2, "_jackson_", 10, ".wav")``).

    Parameters
    ----------
    path : str or os.PathLike
        A file name or path; the paths of one sort share their folder, or are
        compared folder by folder (``spk2/0.wav`` before ``spk10/0.wav``).

    Returns
    -------
    tuple
        ``(parts, text)``: ``parts`` alternates text and numbers, always starting
        with text (possibly empty), so that two keys compare item by item without
        mixing types; ``text`` breaks ties between names whose numbers are
        written differently (``01.wav`` and ``1.wav``).
    """
    text = os.fspath(path)
    # re.split with a group keeps the digit runs at the odd indices
    parts = tuple(int(part) if i % 2 else part
                  for i, part in enumerate(_DIGIT_RUNS.split(text)))
    return parts, text
