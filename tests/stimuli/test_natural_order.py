"""stimuli._natural_order: numbers in file names compared as numbers."""

import random
from pathlib import Path

from stimuli._natural_order import natural_key


def test_numbers_in_names_are_compared_as_numbers():
    # each list in the order a person numbering files means (hand-written reference)
    orders = [
        ["1.wav", "2.wav", "10.wav", "11.wav", "100.wav"],
        ["image", "image0", "image2", "image9", "image10"],  # sparsenet raw files
        # FSDD's {digit}_{speaker}_{take}: every number in its place, speakers apart
        ["0_jackson_2.wav", "0_jackson_10.wav", "0_theo_1.wav", "1_jackson_0.wav",
         "2_jackson_0.wav", "10_jackson_0.wav"],
        ["spk2/0.wav", "spk2/10.wav", "spk10/0.wav"],  # folder by folder
        ["01.wav", "1.wav", "a.wav", "b2.wav", "b10.wav"],  # ties by the text
    ]
    for order in orders:
        shuffled = order[:]
        random.Random(0).shuffle(shuffled)
        assert sorted(shuffled, key=natural_key) == order
        # paths sort as their text does
        assert sorted(map(Path, shuffled), key=natural_key) == list(map(Path, order))


def test_letters_in_either_case_sort_alike_with_ties_broken_by_the_text():
    """``IMG_2.png`` after ``img_1.png``: the order of plain text put every upper-case name
    first (IMG_2, Img_10, img_1, img_3), so a folder of two cameras' files came in two
    runs; names that differ only in case keep one order whatever order they come in."""
    order = ["img_1.png", "IMG_2.png", "img_3.png", "Img_10.png", "iMG_11.png"]
    # ties: the same name in other cases, then the same number written otherwise
    ties = ["IMG_01.png", "IMG_1.png", "Img_1.png", "img_1.png"]
    for expected in (order, ties):
        for seed in range(5):
            shuffled = expected[:]
            random.Random(seed).shuffle(shuffled)
            assert sorted(shuffled, key=natural_key) == expected
    # casefold, not lower: the German sharp s is "ss" in either case
    assert natural_key("STRASSE_2.png")[0] == natural_key("straße_2.png")[0]
