"""Natural order of file names: the numbers in them compared as numbers, letters in
either case alike.

Shared by the loaders that read a folder's files in order (:func:`stimuli.load_images`
for picture files and sparsenet raw files, :func:`stimuli.audio.load_wav_folder`), so
that ``img2.png`` comes before ``img10.png``, ``image2`` before ``image10`` and
``take2.wav`` before ``take10.wav``, where the order of plain text put ``10`` before
``2``; and ``img_1.png`` before ``IMG_2.png``, where the order of plain text (until
2026-12-08) put every upper-case name first, so that a folder of ``IMG_*`` and
``img_*`` files (two cameras, or a phone and a scanner) came in two runs.
"""

from __future__ import annotations

import os
import re

_DIGIT_RUNS = re.compile(r"(\d+)")


def natural_key(path) -> tuple:
    """Sort key of ``path`` in natural order: its text, case folded, with each run of
    digits compared as a number (``"2_Jackson_10.wav"`` -> ``("", 2, "_jackson_", 10,
    ".wav")``).

    Parameters
    ----------
    path : str or os.PathLike
        A file name or path; the paths of one sort share their folder, or are
        compared folder by folder (``spk2/0.wav`` before ``spk10/0.wav``).

    Returns
    -------
    tuple
        ``(parts, text)``: ``parts`` alternates text (case folded, :meth:`str.casefold`:
        ``IMG_2.png`` after ``img_1.png``) and numbers, always starting with text
        (possibly empty), so that two keys compare item by item without mixing types;
        ``text``, the path as given, breaks ties between names that differ only in case
        (``IMG_1.png`` before ``img_1.png``, as in the order of plain text) or in how
        their numbers are written (``01.wav`` before ``1.wav``), so that the order
        never depends on the order the folder lists its files in.

    Notes
    -----
    Case-insensitive since 2026-12-08: a folder whose names differ in case
    (``IMG_2.png`` beside ``img_1.png``) is read in another order than before, and
    what depends on that order moves with it, for the same seed: the pictures that
    ``max_images`` keeps, the patches drawn from them, and the results learned from
    those. Folders whose names share one case come in the same order as before.
    """
    text = os.fspath(path)
    # re.split with a group keeps the digit runs at the odd indices
    parts = tuple(int(part) if i % 2 else part.casefold()
                  for i, part in enumerate(_DIGIT_RUNS.split(text)))
    return parts, text
