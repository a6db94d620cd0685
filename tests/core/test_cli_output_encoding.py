"""The command's output never fails on what the terminal's encoding cannot hold.

A folder named in Latin-1 on a Linux machine with a UTF-8 locale (Python gives its
byte 0xe9 as a lone surrogate, which a strict UTF-8 stream refuses), or a study's λ
on a Latin-1 terminal, raised UnicodeEncodeError in ``print``: ``study run`` ended
with "error" and exit code 2 after its result was saved.
"""

import os
import subprocess
import sys


def _cli(*argv, encoding, cwd=None):
    env = {**os.environ, "PYTHONIOENCODING": encoding, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "v1model.cli", *argv], capture_output=True,
                          env=env, cwd=cwd, check=False)


def test_study_show_on_a_latin1_terminal():
    out = _cli("study", "show", "zhu-rozell-2013-ncrf", encoding="latin-1")
    assert out.returncode == 0, out.stderr.decode("latin-1")[-1000:]
    assert b"threshold \\u03bb" in out.stdout  # the λ as an escape, the rest as it is


def test_study_run_into_a_folder_named_in_latin1(tmp_path):
    folder = os.fsdecode(b"r\xe9sultats")
    # the smallest run (tests/studies/conftest.py, one update): only the folder's name is tested
    sizes = ("patch_size=4", "n_atoms=16", "n_updates=1", "n_patches=300", "n_eval=20")
    out = _cli("study", "run", "olshausen-field-1996", "--quick", "--out", folder,
               *(a for p in sizes for a in ("-p", p)), "-p", "progress=false",
               encoding="utf-8:strict", cwd=tmp_path)
    assert out.returncode == 0, out.stderr.decode("utf-8", "replace")[-1000:]
    assert (tmp_path / folder / "olshausen-field-1996.nc").is_file()
    assert b"wrote r\\udce9sultats/olshausen-field-1996.nc" in out.stdout
