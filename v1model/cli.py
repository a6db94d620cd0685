"""The ``v1model`` command line: ``v1model study list``, ``v1model study run NAME``,
``v1model sweep ...``."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

from ._signals import swap_handler

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``v1model`` command line (``study``, ``sweep``, ...).

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="v1model",
        description="Sparse coding in primary visual cortex: studies, sweeps and tools.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"v1model {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    study = sub.add_parser("study", help="list and run reproduced studies",
                           description="List and run the studies that reproduce classic results.")
    ssub = study.add_subparsers(dest="study_command", metavar="SUBCOMMAND",
                                parser_class=_HelpLastParser)
    ssub.required = True
    ssub.add_parser("list", help="list the studies", description="List the available studies.")
    show = ssub.add_parser("show", help="a study's parameters, their defaults and meaning",
                           description="Print what a study reproduces and the parameters "
                                       "`study run NAME -p KEY=VALUE` takes, with defaults "
                                       "and units.")
    show.add_argument("name", help="study name (see `v1model study list`)")
    run = ssub.add_parser("run", help="run one study", add_help=False,
                          description="Run a study, save NAME.nc and its PNG figures in --out. "
                                      "`v1model study run NAME --help` (or `v1model study show "
                                      "NAME`) also lists the parameters -p can change.")
    run.add_argument("-h", "--help", action=_RunHelp,
                     help="show this help and, given a NAME, the study's parameters")
    run.add_argument("name", help="study name (see `v1model study list`)")
    run.add_argument("--quick", action="store_true",
                     help="small, fast variant: 5-21 s of CPU (schultz-2014 about 50 s), "
                          "several times that in wall time on a busy machine (README: "
                          "each study's time)")
    run.add_argument("--out", "-o", default=None,
                     help="output folder (default: results/NAME)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument("--images", default=None,
                     help="image source: 'skimage' (default), an IMAGES.mat file, a folder of "
                          "sparsenet raw files or of PNG/JPEG/TIFF images")
    run.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                     help="override a study parameter (repeatable), e.g. -p n_updates=500; "
                          "VALUE is an int, a float, true/false, JSON (-p strides=[8,4,2]), "
                          "none (None, for a parameter that takes it) or else text")

    # the sweep commands live with the sweep module
    try:
        from .sweep.cli import add_sweep_parser
    except ImportError:
        add_sweep_parser = None
    if add_sweep_parser is not None:
        add_sweep_parser(sub)
    return parser


class _HelpLastParser(argparse.ArgumentParser):
    """A parser that acts on ``-h``/``--help`` after the other arguments: argparse acts on
    it where it stands, so ``study run -h NAME`` printed the general help only, NAME not
    yet read (``study run NAME -h`` lists NAME's parameters, see :class:`_RunHelp`).
    Should another argument be refused, the help is given as it stood (help first)."""

    HELP = ("-h", "--help")
    _help_moved = False

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        end = args.index("--") if "--" in args else len(args)
        if not any(a in self.HELP for a in args[:end]):
            return super().parse_known_args(args, namespace)
        moved = [a for a in args[:end] if a not in self.HELP] + ["--help"] + args[end:]
        self._help_moved = True
        try:
            return super().parse_known_args(moved, namespace)
        except _RefusedBeforeHelp:
            self._help_moved = False
            return super().parse_known_args(args, namespace)
        finally:
            self._help_moved = False

    def error(self, message):
        if self._help_moved:
            raise _RefusedBeforeHelp(message)
        super().error(message)


class _RefusedBeforeHelp(Exception):
    """An argument refused before a help moved to the end (see :class:`_HelpLastParser`)."""


class _RunHelp(argparse.Action):
    """``study run NAME --help``: the command's help, then NAME's parameters as ``study
    show NAME`` prints them (the help showed the common flags only, and a student found
    a study's parameters by passing a wrong ``-p``). ``study run --help NAME`` too: the
    parser acts on the help last (:class:`_HelpLastParser`)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser.print_help()
        name = getattr(namespace, "name", None)  # set when NAME came before --help
        if name is not None:
            from studies import get_study

            try:
                module = get_study(name)
            except ValueError as exc:
                parser.exit(2, f"\nv1model: error: {exc}\n")
            print()
            _print_study(module)
        parser.exit()


def _parse_value(text: str, parameter=None):
    """A ``-p KEY=VALUE`` value: an int, a float, true/false, JSON (a list, ``null``), else
    the text; for a text-only ``parameter`` (a path or a name, see :func:`_is_text_only`)
    always the text. ``none``/``None``/``null`` is None for a ``parameter`` (an
    :class:`inspect.Parameter`) that takes None and not text (see :func:`_takes_none`),
    and stays the text given for a text parameter, which reads it itself."""
    import json

    if parameter is not None and text.strip().lower() in ("none", "null"):
        if _takes_none(parameter):
            return None
        if _is_text(parameter):
            # a text parameter reads "none" itself, and "null" alike: JSON made "null"
            # None, which for ringach-2002's reference meant the opposite of "none"
            # (look for Olshausen's basis instead of leaving it out)
            return text
    if parameter is not None and _is_text_only(parameter):
        # a path or a name is the text given: -p audio_dir=1e3 looked for a folder
        # '1000.0', -p images=2024 (a folder) was refused as the int 2024
        return text
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return json.loads(text)
    except ValueError:
        return text


def _takes_none(parameter) -> bool:
    """Whether ``-p KEY=none`` means None for ``parameter`` (an :class:`inspect.Parameter`):
    its default is None or its annotation admits None (``float | None``), and it is not a
    text parameter (``str | None``: a path or a name, such as ``dictionary`` or
    ``reference``, which reads "none" itself)."""
    import re

    optional = parameter.default is None or re.search(r"\bNone\b|Optional",
                                                      _annotation_text(parameter))
    return bool(optional) and not _is_text(parameter)


def _annotation_text(parameter) -> str:
    """``parameter``'s annotation as text ("" without one)."""
    annotation = parameter.annotation
    if annotation is parameter.empty:
        return ""
    # a string under `from __future__ import annotations`
    return annotation if isinstance(annotation, str) else repr(annotation)


def _is_text(parameter) -> bool:
    """Whether ``parameter`` (an :class:`inspect.Parameter`) is a text parameter (a path or
    a name: its annotation names ``str`` or ``Path``)."""
    import re

    return bool(re.search(r"\b(str|Path)\b", _annotation_text(parameter)))


def _is_text_only(parameter) -> bool:
    """Whether ``parameter`` (an :class:`inspect.Parameter`) takes only text (and None):
    its annotation names ``str`` or ``Path`` and no number, bool or container
    (``str | None``, not ``float | str``)."""
    import re

    return _is_text(parameter) and not re.search(
        r"\b(int|float|bool|complex|list|tuple|dict|Sequence|ndarray|ArrayLike)\b",
        _annotation_text(parameter))


def _study_list() -> int:
    from studies import list_studies

    studies = list_studies()
    width = max(len(n) for n in studies) if studies else 0
    for name, module in studies.items():
        print(f"{name:<{width}}  {getattr(module, 'TITLE', '')}")
    return 0


def _study_show(args) -> int:
    from studies import get_study

    _print_study(get_study(args.name))
    return 0


def _print_study(module) -> None:
    """Print what ``module`` (a study) reproduces, its usage, and each parameter ``-p`` can
    change with its default, the quick and full values a default of None stands for (its
    ``QUICK_DEFAULTS``, else what its ``NONE_MEANS`` says), its unit, and what it means
    (its ``run``'s docstring)."""
    import inspect

    from studies import study_parameters

    print(f"{module.NAME}: {getattr(module, 'TITLE', '')}")
    # --images only for a study that takes images (the others refuse it)
    images = " [--images PATH]" if "images" in study_parameters(module.NAME) else ""
    print(f"usage: v1model study run {module.NAME} [--quick] [--seed N] [--out DIR]{images} "
          "[-p KEY=VALUE ...]\n")
    print("parameters and defaults (change one with -p KEY=VALUE; --quick and --seed are "
          "flags, and a default of None means the study picks one, often by --quick: "
          "'(--quick: A, full: B)' gives both values; [unit] the unit of a value; "
          "-p KEY=none gives None to a parameter that takes it):")
    from .sweep.studyref import StudyRef

    study = StudyRef(module.NAME)
    # a study's REQUIRED parameters default to None only to fail with its own words
    required = set(getattr(module, "REQUIRED", ()))
    variants, follow, units = study.quick_defaults(), study.defaults_follow(), study.units()
    # what a None stands for where it is no one value per variant (guessed from the images,
    # set by another parameter)
    means = getattr(module, "NONE_MEANS", {})
    for key, default in study_parameters(module.NAME).items():
        if key in ("quick", "seed"):
            continue
        if default is inspect.Parameter.empty or key in required:
            print(f"  {key} = (required)")
            continue
        line = f"  {key} = {default!r}"
        if default is None and key in variants:
            quick, full = variants[key]
            # n_atoms = patch_size**2: the values hold at the default patch size only
            after = f" at the default {', '.join(follow[key])}" if key in follow else ""
            values = (f"both variants: {full!r}" if quick == full
                      else f"--quick: {quick!r}, full: {full!r}")
            line += f" ({values}{after})"
        elif default is None and key in means:
            line += f" ({means[key]})"
        if units.get(key, "1") != "1":  # a count or a ratio says nothing more with "[1]"
            line += f" [{units[key]}]"
        print(line)
    # the run function's own "Parameters" section says what each one means
    doc = inspect.getdoc(module.run) or ""
    lines = doc.splitlines()
    try:
        start = lines.index("Parameters") + 2
    except ValueError:
        return
    end = next((i - 1 for i in range(start + 1, len(lines))
                if set(lines[i]) == {"-"} and lines[i - 1].strip()), len(lines))
    print("\n" + "\n".join(["what they mean (the study's docstring):"]
                           + ["  " + line for line in lines[start:end]]).rstrip())


def _study_run(args) -> int:
    import inspect

    from studies import get_study, study_parameters

    from .validation import check_path, did_you_mean

    module = get_study(args.name)
    accepted = study_parameters(module.NAME)
    signature = dict(inspect.signature(module.run).parameters)
    params = {}
    own_flags = {"quick": "--quick", "seed": "--seed"}
    settable = sorted(set(accepted) - set(own_flags))
    for item in args.param:
        if "=" not in item:
            raise ValueError(f"--param must be KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        if key in own_flags:
            raise ValueError(f"--param {item!r}: give {key} with {own_flags[key]}")
        if key not in accepted:
            raise ValueError(
                # -p n_update=500 was refused with the list alone, no suggestion, where
                # the same typo in Python's run(...) and a misspelt study got one
                f"--param: study {module.NAME!r} has no parameter {key!r}"
                f"{did_you_mean(key, settable, n=3)}; valid: {', '.join(settable)}"
            )
        if key in params:
            raise ValueError(f"--param {key} is given twice ({key}={params[key]!r} and "
                             f"{item!r}); give it once")
        params[key] = _parse_value(value, signature.get(key))
    if args.images is not None:
        if "images" not in accepted:
            raise ValueError(f"--images: study {module.NAME!r} does not take images")
        if "images" in params:
            # --images replaced -p images=... without a word
            raise ValueError(f"images is given twice (--images {args.images!r} and -p "
                             f"images={params['images']!r}); give it once")
        params["images"] = args.images
    if isinstance(params.get("images"), str) and not params["images"].strip():
        # "" reached load_images as Path(""), the current folder: its pictures, if any,
        # were learned from unsaid
        flag = "--images" if args.images is not None else "-p images"
        raise ValueError(f"{flag} is empty; give 'skimage' or a path to images")
    if not 0 <= args.seed < 2**63:  # the seed is recorded in the netCDF attrs as an int64
        raise ValueError(f"--seed must be in [0, 2**63), got {args.seed}")
    if args.out is not None and not args.out.strip():
        # an empty --out (an unset shell variable) wrote to results/NAME unsaid
        raise ValueError(f"--out is empty; give a folder (default: results/{module.NAME})")
    # "$SCRATCH/r" quoted, or from a script that did not expand it: as the study's paths
    outdir = check_path(args.out, "--out", "folder") if args.out else Path("results") / module.NAME
    from .locking import check_can_create, folder_lock

    # a bad output folder must fail now, not after the study has run; as a sweep's is
    # refused ("cannot write in 'x/out': Not a directory", not "[Errno 20] ...")
    check_can_create(outdir, field="--out", what="study run")
    # the folders this run creates, deepest first: a refused parameter removes them all
    created = []
    missing = outdir
    while not missing.exists() and missing != missing.parent:
        created.append(missing)
        missing = missing.parent
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # what check_can_create cannot foresee (/proc, a full disk)
        raise ValueError(f"--out: cannot create the folder {str(outdir)!r}: "
                         f"{_error_text(exc)}") from exc
    target = outdir / f"{module.NAME}.nc"
    if target.is_dir():
        raise ValueError(f"--out: {str(target)!r}, where the result goes, is a folder; "
                         "remove it or choose another --out")
    from .sweep.preflight import is_checking_parameters, when_checked

    announced = []

    def announce():
        if not announced:
            announced.append(True)
            print(f"running {module.NAME}{' (quick)' if args.quick else ''}, "
                  f"seed {args.seed}", flush=True)

    if not is_checking_parameters(module.run):
        announce()  # a study without parameters_checked(): before it runs, as ever
    t0 = time.perf_counter()
    # one run at a time per folder: two would overwrite each other's files one by one
    with folder_lock(outdir, field="--out", what=f"run of {module.NAME}"):
        try:
            # "running" once the study's own checks passed (parameters_checked): printed
            # before them, every refused -p read "running ..." and then the error
            with when_checked(announce):
                # -p progress=false silences the inner calls' bars too (quiet_when_told)
                ds = module.run(quick=args.quick, seed=args.seed, **params)
            announce()  # a marked study that returned without parameters_checked()
        except BaseException:
            if created and not [p for p in outdir.iterdir() if p.name != ".lock"]:
                (outdir / ".lock").unlink(missing_ok=True)
                for folder in created:  # a refused parameter leaves no folder
                    try:
                        folder.rmdir()
                    except OSError:  # something else was put there meanwhile
                        break
            raise
        try:
            # the result goes last and marks a complete set: a run killed while writing
            # leaves new figures without a result, never new figures beside an old result
            target.unlink(missing_ok=True)
            # the previous result's figures go with it: a plot that fails, is interrupted
            # or killed must not leave them beside the new result as if they were its own
            for old in outdir.glob(f"{module.NAME}*.png"):
                if old.stem == module.NAME or old.stem.startswith(f"{module.NAME}_"):
                    old.unlink(missing_ok=True)
        except OSError:
            # the folder went read-only (or its permissions changed) while the study ran:
            # the unlink's error lost the result in memory; save it, where there is room
            # (the message names the place), before the error is reported
            nc = _save_result(ds, target, module.NAME)
            print(f"wrote {nc}")
            raise
        plot_error = None
        try:
            figures = module.plot(ds, outdir)
        except Exception as exc:  # the figures are lost, not the run
            figures, plot_error = [], exc
        finally:  # a figure that fails, or Ctrl-C while plotting, must not cost the result
            nc = _save_result(ds, target, module.NAME)
    for fig in figures:
        print(f"wrote {fig}")
    print(f"wrote {nc}")
    if plot_error is not None:
        # it was reported as a refused argument (exit 2), without the result it had saved
        print(f"v1model: error: plotting failed ({type(plot_error).__name__}: {plot_error}); "
              f"the result is saved; to redraw: {module.__name__}.plot("
              f"v1model.io.load_dataset({str(nc)!r}), {str(outdir)!r})", file=sys.stderr)
        return 1
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def _save_result(ds, target: Path, name: str) -> Path:
    """Save a study's result; where that fails, save it to the temporary folder."""
    from .io import save_dataset, storage_fault

    try:
        return save_dataset(ds, target)
    except OSError as exc:
        # the hours of computing are in memory: keep them where there is room
        fallback = Path(tempfile.gettempdir()) / f"{name}-{os.getpid()}.nc"
        try:
            save_dataset(ds, fallback)
        except OSError:
            raise exc from None
        # the errno's text: that of v1model.io begins "path: cannot write ...", naming the
        # argument of a function the user never called; and what to do for that errno
        # ("make room" is no help for a read-only folder)
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        once = {"space": "once there is room",
                "read-only": "once its file system is writable",
                "permission": "once you may write in its folder",
                }.get(storage_fault(exc.errno), "once it can be written")
        raise OSError(exc.errno, f"cannot write {str(target)!r}: {reason}; the result was "
                                 f"saved to {str(fallback)!r} instead: move it there {once}"
                      ) from exc


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Print a warning as the command's own message: Python's default echoes the
    line of source that raised it (``ds = module.run(...)``), which tells a user at
    the command line nothing to act on."""
    print(f"v1model: warning: {message} ({category.__name__})", file=file or sys.stderr)


def _escape_what_the_terminal_cannot_show() -> None:
    """Let stdout and stderr write what their encoding cannot hold as escapes.

    A path with bytes that are not UTF-8 (a folder named in Latin-1: Python
    gives the byte as a lone surrogate) under a UTF-8 locale, or a study's
    λ on a Latin-1 terminal, raised UnicodeEncodeError in ``print``: after a
    study had run and saved its result, the command ended with "error" and
    exit code 2.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Within this block SIGTERM (what ``kill`` and a batch system at the end of the
    walltime send) stops the command as Ctrl-C does: Python's default ended it at once,
    without a word, leaving the folder it had made for the result and any file it was
    writing under its temporary name.

    Neither a SIGTERM nor a Ctrl-C (SIGINT, when Python's own handler has it: one
    ignored, as by ``nohup``, stays ignored) is lost in a finaliser: one whose
    KeyboardInterrupt Python dropped there is sent again. A sweep's point loop puts its
    own handlers in for its duration (:func:`v1model.sweep.runner._catch_interrupts`,
    which checks its flag after every point instead)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # a KeyboardInterrupt raised while a finaliser runs (a weakref callback of
    # matplotlib's, a __del__) is printed as "Exception ignored in ..." and dropped:
    # the SIGTERM was lost and the run or plot went on to exit 0 (3 of 60 SIGTERMs at
    # random times in rozell-2008-lca's plot; a Ctrl-C alike). The hook sends it again,
    # from outside the finaliser; "lost" is the signal of one that the block ends before
    # it is raised again.
    state = {"raised": None, "lost": None, "ending": False, "done": False}
    lock = threading.Lock()

    def handler(signum, frame):
        if state["ending"]:
            # the one sent again can land in the finally below: a KeyboardInterrupt raised
            # there skipped putting back the handlers and the hook (a later step of the
            # process still had them); it is raised after the finally instead
            state["lost"] = signum
            return
        state["raised"], state["lost"] = signum, None
        raise KeyboardInterrupt

    def send_again():
        with lock:
            if state["lost"] is not None and not state["done"]:
                os.kill(os.getpid(), state["lost"])

    def unraisable(info):
        if not _raised_in(info.exc_traceback, handler):
            previous_hook(info)
            return
        state["lost"] = state["raised"]
        threading.Timer(0.05, send_again).start()

    # SIGINT only from Python's own handler (KeyboardInterrupt, which ours raises too)
    signals = [signal.SIGTERM] + (
        [signal.SIGINT] if signal.getsignal(signal.SIGINT) is signal.default_int_handler
        else [])
    previous = {sig: swap_handler(sig, handler) for sig in signals}
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield
    finally:
        state["ending"] = True  # first: the lock's wait below is where a signal lands
        with lock:
            state["done"] = True
        sys.unraisablehook = previous_hook
        for sig, old in previous.items():
            signal.signal(sig, old)
    if state["lost"] is not None:
        raise KeyboardInterrupt


def _raised_in(tb, function) -> bool:
    """Whether the traceback ``tb`` ends in a frame of ``function``."""
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code is function.__code__


def main(argv=None) -> int:
    """Run the ``v1model`` command.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 on success; 2 for arguments or parameters that are
        refused; 1 when the run itself fails (a disk error, learning that
        diverges; also when the reader of the output went away); 130 when
        interrupted (Ctrl-C or SIGTERM; a sweep says what it saved and how to
        continue). The message goes
        to stderr, without a traceback (nor an OSError's "[Errno N]").
        ``--help``, ``--version`` and argparse's own usage errors leave
        through ``SystemExit`` (codes 0 and 2).
    """
    from .locking import OutputLockedError

    _escape_what_the_terminal_cannot_show()
    try:
        # in here: a Ctrl-C while the parser is built (it imports the sweep commands) left
        # a traceback and an exit by SIGINT
        args = build_parser().parse_args(argv)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            if args.command == "study" and args.study_command == "list":
                code = _study_list()
            elif args.command == "study" and args.study_command == "show":
                code = _study_show(args)
            elif args.command == "study":
                with _sigterm_as_interrupt():
                    code = _study_run(args)
            else:
                # a sweep's point loop installs its own handler (a point being saved is
                # finished first); outside it, in a new sweep's pre-flight or the final
                # assembly, SIGTERM ended the command silently with exit code 143
                with _sigterm_as_interrupt():
                    code = args.func(args)
            sys.stdout.flush()  # a closed pipe (``| head``) is met here, not at exit
            return code
    except KeyboardInterrupt:
        # Ctrl-C (or SIGTERM) in a study run, or before a sweep run began: a traceback into
        # whatever was computing said nothing more (an unfinished run leaves no result; a
        # result being plotted is kept)
        print("\nv1model: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader stopped reading (``v1model sweep status F | head``): stop quietly, as
        # a shell tool does; stdout goes to devnull so that Python's flush at exit is quiet
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (ValueError, TypeError, FileNotFoundError, KeyError, OutputLockedError) as exc:
        print(f"v1model: error: {_error_text(exc)}", file=sys.stderr)
        return 2
    except (OSError, FloatingPointError) as exc:
        # the disk, the network, or a run that diverged (FloatingPointError: "SAILnet
        # diverged ...; lower beta=..."): not the arguments as such; the message says
        # what to change, a traceback hid it
        print(f"v1model: error: {_error_text(exc)}", file=sys.stderr)
        return 1


def _error_text(exc: BaseException) -> str:
    """The message of ``exc`` as the command prints it after "v1model: error: ".

    str() of a KeyError is the repr of its message (quoted, its quotes escaped),
    and that of an OSError begins "[Errno 30] ", a number that tells the user
    nothing: both go. The errno's text stays, and a raw OSError (``open`` of a
    missing file) keeps the file it names: "No such file or directory: 'x.toml'".
    """
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        return str(exc.args[0])
    text = str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        text = text.removeprefix(f"[Errno {exc.errno}] ")
    return text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
