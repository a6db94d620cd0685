"""The README's code runs as a user would run it: its ```python blocks and its
``v1model`` commands.

README.md is parsed at test time, so the tests follow its edits. Each ```python
block runs in a subprocess, in a fresh temporary folder as the current
directory, with the packages under test on PYTHONPATH. A block that uses names an earlier
block of the same section defines runs after it, in one script; the others run
on their own.

A block is steered by an HTML comment on the line right before its fence::

    <!-- readme-test: skip (needs a SLURM cluster) -->
    <!-- readme-test: slow (learns for ~3 min) -->
    <!-- readme-test: slow (...); setup: v1model study run olshausen-field-1996 --quick -->

``skip`` (a reason is required) leaves the block out, ``slow`` runs it only under
``pytest -m slow``, and ``setup:`` runs a shell command in the block's folder first
(to make a file the block reads). A block that needs ``../shared/data`` is slow and
skipped when the data are absent. A block that fails without a marker fails the
test: fix it, or mark it. The few unmarked blocks that take 10-25 s (``QUICK_SIZES``)
run as written under ``-m slow`` and, in the default run, with smaller sizes.

Every ``v1model`` command of the ```bash blocks (and of the unlabelled blocks) is
checked without running it: it parses, its study exists and takes the ``-p``
parameters given, and the spec files it names exist. The cheap ones run: ``study
list``, every sweep spec of the checkout with ``--dry-run``, ``sweep jobscript``.
Quick study runs are tested in tests/studies and are not repeated here.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
#: where the packages under test are imported from: the checkout, or site-packages after
#: ``pip install .`` (the checkout first on the blocks' path ran them on its own copy)
PACKAGES = Path(importlib.util.find_spec("v1model").origin).resolve().parents[1]
SHARED_DATA = Path(os.environ["V1MODEL_SHARED_DATA"])  # set by conftest.py

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
_MARKER = re.compile(r"^<!--\s*readme-test:\s*(.*?)\s*-->\s*$")


@dataclass
class Block:
    lang: str
    line: int  # 1-based line of the opening fence
    section: str
    code: str
    marker: str | None = None  # text of the readme-test comment, if any

    @property
    def first_line(self) -> str:
        return next((s for s in self.code.splitlines() if s.strip()), "")

    def directive(self, name: str) -> str | None:
        """The argument of ``name`` in the marker ("" when given bare), or None."""
        if not self.marker:
            return None
        for part in _split_directives(self.marker):
            word, _, rest = part.partition(":") if name == "setup" else part.partition(" ")
            if word.strip() == name:
                return rest.strip()
        return None


def _split_directives(text: str) -> list[str]:
    """``slow (a; b); setup: cmd`` -> ["slow (a; b)", "setup: cmd"] (no split inside
    parentheses)."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == ";" and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def parse_readme(text: str) -> list[Block]:
    """Every fenced block of a Markdown text, with its section and readme-test marker."""
    lines = text.splitlines()
    blocks, section, i = [], "(top)", 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        heading = _HEADING.match(lines[i])
        if heading and not fence:
            section = heading.group(2)
        if fence:
            ticks, lang = fence.group(1), fence.group(2).lower()
            j = i + 1
            while j < len(lines) and not lines[j].startswith(ticks):
                j += 1
            if j == len(lines):
                raise ValueError(f"README.md:{i + 1}: code fence is never closed")
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            marker = _MARKER.match(lines[k].strip()) if k >= 0 else None
            blocks.append(Block(lang, i + 1, section, "\n".join(lines[i + 1:j]),
                                marker.group(1) if marker else None))
            i = j + 1
            continue
        i += 1
    return blocks


# --------------------------------------------------------------- python blocks

_BUILTINS = set(dir(builtins))


def _bound_and_free(code: str) -> tuple[set, set]:
    """Names a block binds, and names it reads without binding them first (roughly:
    enough to tell whether it continues an earlier block)."""
    tree = ast.parse(code)
    bound, loaded = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, (ast.Store, ast.Del)) else loaded).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return bound, loaded - bound - _BUILTINS


@dataclass
class Group:
    blocks: list[Block] = field(default_factory=list)

    @property
    def id(self) -> str:
        first = self.blocks[0]
        lines = "+".join(str(b.line) for b in self.blocks)
        return f"L{lines}-{re.sub(r'[^A-Za-z0-9]+', '-', first.section).strip('-')[:40]}"

    @property
    def code(self) -> str:
        return "\n\n".join(f"# README.md line {b.line}\n{b.code}" for b in self.blocks) + "\n"

    def directive(self, name: str) -> str | None:
        values = [v for v in (b.directive(name) for b in self.blocks) if v is not None]
        return "; ".join(values) if values else None

    @property
    def needs_shared_data(self) -> bool:
        return any("../shared/data" in b.code for b in self.blocks)


def python_groups(blocks: list[Block]) -> tuple[list[Group], list[Block]]:
    """The runnable python blocks in groups (in README order), and the skipped blocks."""
    groups, skipped = [], []
    defined: dict[str, Group] = {}  # name -> the group of this section that binds it
    section = None
    for block in (b for b in blocks if b.lang in ("python", "py")):
        if block.directive("skip") is not None:
            skipped.append(block)
            continue
        if block.section != section:
            section, defined = block.section, {}
        try:
            bound, free = _bound_and_free(block.code)
        except SyntaxError:
            bound, free = set(), set()  # reported when the block runs
        owners = {id(defined[n]): defined[n] for n in free if n in defined}
        if owners:
            # continues earlier blocks: merge them (and everything between) into one script
            first = min(groups.index(g) for g in owners.values())
            group = Group([b for g in groups[first:] for b in g.blocks] + [block])
            del groups[first:]
            for name, owner in list(defined.items()):
                if owner not in groups:
                    defined[name] = group
        else:
            group = Group([block])
        groups.append(group)
        for name in bound:
            defined[name] = group
    return groups, skipped


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PACKAGES)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["MPLBACKEND"] = "Agg"
    env.setdefault("USER", "readme-test")  # the SLURM spec's output is /scratch/$USER/...
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    # the v1model command of this interpreter, for setup commands
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _tail(text: str, n: int = 6000) -> str:
    """The end of a captured stream, progress bars' carriage returns made new lines."""
    lines = [s for s in text.replace("\r", "\n").splitlines() if s.strip()]
    out = "\n".join(lines)
    return out if len(out) <= n else "...\n" + out[-n:]


BLOCKS = parse_readme(README.read_text(encoding="utf-8"))
GROUPS, SKIPPED = python_groups(BLOCKS)


#: Blocks that take 10-25 s each as written (on a loaded 2-core machine): they run as
#: written under ``-m slow``, and in the default run with these smaller sizes, so that the
#: default run still runs every call of the block (README.md is left as users read it).
#: Each ``old`` must be in the block: an edit of the block that drops one fails the quick
#: test, and then this table is updated with the block.
QUICK_SIZES = {
    "Sparse inference (`v1model.inference`)": [
        ("load_images()), 16, 2000, seed=0)", "load_images()), 16, 200, seed=0)"),
        ('encode(X[:200], D, "lca"', 'encode(X[:20], D, "lca"'),
    ],
    "Sparse autoencoders (`v1model.sae`)": [
        ("12, 20_000, seed=0)", "12, 2_000, seed=0)"),
        ("SparseAutoencoder(256, ", "SparseAutoencoder(32, "),
        ("n_steps=2000", "n_steps=200"),
    ],
    "Spiking LCA": [
        ('load_images("skimage")), 8, 20, seed=0)', 'load_images("skimage")), 8, 4, seed=0)'),
        ("8, 5000, seed=1), n_updates=100)", "8, 1000, seed=1), n_updates=10)"),
        ("duration=1.0", "duration=0.2"),
        ("[0.1, 0.5, 1.0]", "[0.1, 0.15, 0.2]"),
    ],
}


def _is_slow(group: Group) -> bool:
    return group.directive("slow") is not None or group.needs_shared_data


def _param(group: Group):
    marks = []
    if _is_slow(group) or group.blocks[0].section in QUICK_SIZES:
        marks.append(pytest.mark.slow)
    return pytest.param(group, id=group.id, marks=marks)


def test_readme_blocks_were_found():
    # fails if the parsing breaks and the parametrised tests silently run nothing
    python = [b for b in BLOCKS if b.lang == "python"]
    assert len(python) >= 10, [b.line for b in python]
    assert sum(len(g.blocks) for g in GROUPS) + len(SKIPPED) == len(python)


def test_skip_markers_give_a_reason():
    for block in BLOCKS:
        if block.marker is None:
            continue
        directives = _split_directives(block.marker)
        for part in directives:
            word = re.split(r"[\s:(]", part, maxsplit=1)[0]
            assert word in ("skip", "slow", "setup"), (
                f"README.md:{block.line}: unknown readme-test directive {part!r}")
        reason = block.directive("skip")
        if reason is not None:
            assert reason.startswith("(") and len(reason) > 2, (
                f"README.md:{block.line}: give the reason a block is skipped: "
                f"<!-- readme-test: skip (why) -->")


def test_quick_sizes_name_readme_blocks():
    """Every block of QUICK_SIZES is still in the README (and not slow by its marker)."""
    quick = [g for g in GROUPS if g.blocks[0].section in QUICK_SIZES and not _is_slow(g)]
    assert sorted(g.blocks[0].section for g in quick) == sorted(QUICK_SIZES)


@pytest.mark.parametrize("group", [_param(g) for g in GROUPS])
def test_readme_python_block_runs(group: Group, tmp_path):
    if group.needs_shared_data and not SHARED_DATA.exists():
        pytest.skip(f"reference data not present: {SHARED_DATA.resolve()}")
    _run_group(group, group.code, tmp_path)


@pytest.mark.parametrize("group", [pytest.param(g, id=g.id) for g in GROUPS
                                   if g.blocks[0].section in QUICK_SIZES and not _is_slow(g)])
def test_readme_python_block_runs_at_smaller_sizes(group: Group, tmp_path):
    """The block's code with the smaller sizes of QUICK_SIZES (as written: -m slow)."""
    code = group.code
    for old, new in QUICK_SIZES[group.blocks[0].section]:
        assert old in code, (f"README.md:{group.blocks[0].line}: {old!r} is no longer in the "
                             f"block; update QUICK_SIZES in {Path(__file__).name} with it")
        code = code.replace(old, new)
    _run_group(group, code, tmp_path)


def _run_group(group: Group, code: str, tmp_path: Path):
    """Run ``code`` (the group's blocks, maybe at smaller sizes) as a user would."""
    where = ", ".join(f"README.md:{b.line}" for b in group.blocks)
    for block in group.blocks:
        try:
            compile(block.code, f"README.md:{block.line}", "exec")
        except SyntaxError as exc:
            pytest.fail(f"{where} ({block.section}) is not valid Python: {exc}; fix it or "
                        f"mark it <!-- readme-test: skip (why) -->")
    env = _env()
    setup = group.directive("setup")
    if setup:
        done = subprocess.run(setup, shell=True, cwd=tmp_path, env=env, capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            pytest.fail(f"setup of {where} failed ({setup}, exit {done.returncode}):\n"
                        f"{_tail(done.stderr)}", pytrace=False)
    script = tmp_path / "readme_block.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(
            f"{where} ({group.blocks[0].section}, first line {group.blocks[0].first_line!r}) "
            f"exited with {done.returncode}; fix the block, or mark it "
            f"<!-- readme-test: skip (why) --> if it cannot run.\n"
            f"--- stdout\n{_tail(done.stdout, 2000)}\n--- stderr\n{_tail(done.stderr)}",
            pytrace=False)


# ------------------------------------------------------------- v1model commands


def readme_commands(blocks: list[Block]) -> list[tuple[int, str]]:
    """(line, command) of every ``v1model`` command in the shell and unlabelled blocks,
    comments removed."""
    commands = []
    for block in blocks:
        if block.lang not in ("bash", "sh", "shell", "console", ""):
            continue
        for offset, raw in enumerate(block.code.splitlines(), start=1):
            if not re.search(r"(^|&&)\s*v1model\s", raw):
                continue
            words = shlex.split(raw, comments=True)
            # "pip install . && v1model study run ...": each part of a && chain
            while words:
                if "&&" in words:
                    cut = words.index("&&")
                    part, words = words[:cut], words[cut + 1:]
                else:
                    part, words = words, []
                if part and part[0] == "v1model":
                    commands.append((block.line + offset, shlex.join(part)))
    return commands


COMMANDS = readme_commands(BLOCKS)


def test_readme_commands_were_found():
    assert len(COMMANDS) >= 20, COMMANDS


@pytest.mark.parametrize("line,command", [pytest.param(n, c, id=f"L{n}") for n, c in COMMANDS])
def test_readme_command_is_valid(line, command):
    """The command parses, names a study that exists and the study's parameters, and
    the spec files of the checkout it names exist (placeholders such as SPEC.toml or
    PATH/TO/WAVS aside)."""
    from studies import list_studies, study_parameters
    from v1model.cli import build_parser

    argv = shlex.split(command)[1:]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse's error (printed to stderr by argparse)
        pytest.fail(f"README.md:{line}: `{command}` does not parse (exit {exc.code})")
    where = f"README.md:{line}: `{command}`"
    if args.command == "study" and args.study_command == "run":
        assert args.name in list_studies(), f"{where}: no study {args.name!r}"
        accepted = study_parameters(args.name)
        for item in args.param:
            key = item.split("=", 1)[0]
            assert key in accepted, f"{where}: study {args.name!r} has no parameter {key!r}"
        if args.images is not None:
            assert "images" in accepted, f"{where}: the study takes no images"
    spec = getattr(args, "spec", None)
    if spec is not None and "/" in spec:
        assert (ROOT / spec).is_file(), f"{where}: {spec} is not in the checkout"


def _v1model(argv, cwd, **kwargs):
    return subprocess.run([sys.executable, "-m", "v1model.cli", *argv], cwd=cwd, env=_env(),
                          capture_output=True, text=True, check=False, **kwargs)


def test_study_list_names_every_readme_study(tmp_path):
    done = _v1model(["study", "list"], tmp_path)
    assert done.returncode == 0, _tail(done.stderr)
    listed = {line.split()[0] for line in done.stdout.splitlines() if line.strip()}
    named = set()
    for line, command in COMMANDS:
        argv = shlex.split(command)
        if argv[1:3] == ["study", "run"]:
            named.add(argv[3])
    assert named and named <= listed, sorted(named - listed)


def _readme_specs() -> list[str]:
    """The sweep specs of the checkout that the README's commands name."""
    specs = []
    for _, command in COMMANDS:
        argv = shlex.split(command)
        if argv[1:2] == ["sweep"] and argv[2:3] in (["run"], ["jobscript"]):
            spec = argv[3]
            if (ROOT / spec).is_file() and spec not in specs:
                specs.append(spec)
    return specs


@pytest.mark.parametrize("spec", _readme_specs())
def test_readme_sweep_spec_dry_run(spec, tmp_path):
    """``v1model sweep run SPEC --dry-run`` from the checkout: the spec, its values and
    its executor are checked and the grid printed, nothing run or submitted (a batch
    spec's dry run asks a stand-in ``sbatch --test-only``, which refuses submissions)."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    for name in ("sbatch", "qsub"):
        (bin_dir / name).write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n'
                                    '[ "$1" = "--test-only" ]\n')
        (bin_dir / name).chmod(0o755)
    env = _env()
    env["PATH"] = os.pathsep.join([str(bin_dir), env["PATH"]])
    done = subprocess.run([sys.executable, "-m", "v1model.cli", "sweep", "run", spec,
                           "--dry-run", "--output", str(tmp_path / "out")], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, (f"exit {done.returncode}\n{_tail(done.stdout)}\n"
                                  f"{_tail(done.stderr)}")
    assert not (tmp_path / "out").exists()
    submitted = calls.read_text().splitlines() if calls.exists() else []
    assert all(call.startswith("--test-only ") for call in submitted), submitted


@pytest.mark.parametrize("line,command", [
    pytest.param(n, c, id=f"L{n}") for n, c in COMMANDS
    if shlex.split(c)[1:3] == ["sweep", "jobscript"] and (ROOT / shlex.split(c)[3]).is_file()])
def test_readme_jobscript(line, command):
    """``v1model sweep jobscript SPEC`` prints the job script (no scheduler needed)."""
    done = _v1model(shlex.split(command)[1:], ROOT)
    assert done.returncode == 0, f"README.md:{line}: `{command}`\n{_tail(done.stderr)}"
    assert done.stdout.startswith("#!"), done.stdout[:500]


def _readme_scripts() -> list[tuple[int, str]]:
    """(line, path) of the ``python SCRIPT.py ...`` lines of the shell blocks."""
    scripts = []
    for block in BLOCKS:
        if block.lang not in ("bash", "sh", "shell", "console"):
            continue
        for offset, raw in enumerate(block.code.splitlines(), start=1):
            match = re.match(r"\s*python\s+(\S+\.py)\b", raw)
            if match:
                scripts.append((block.line + offset, match.group(1)))
    return scripts


def test_readme_scripts_exist():
    scripts = _readme_scripts()
    assert scripts
    missing = [f"README.md:{n}: {path}" for n, path in scripts if not (ROOT / path).is_file()]
    assert not missing, missing
