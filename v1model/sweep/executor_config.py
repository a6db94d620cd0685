"""The ``[executor]`` table of a sweep spec: kinds, options and their checks.

Checked by :func:`check_executor_config` when the spec is read, before any
point runs; errors name the key (``executor.cores: required ...``).
"""

from __future__ import annotations

import multiprocessing
import numbers
import os
import re
import warnings

from .._frames import user_stacklevel
from ..validation import describe, did_you_mean
from .errors import SpecError, SweepWarning

__all__ = ["check_executor_config", "check_job_cpu", "check_job_mem", "check_memory_directives",
           "check_pbs_words", "check_processes", "check_resource_spec_mem",
           "check_worker_extra_args", "EXECUTOR_KINDS", "OPTIONS", "WORKER_OPTIONS_SET",
           "available_cpus", "int_option", "pbs_mem_bytes", "slurm_mem_bytes",
           "start_method_option", "walltime_seconds", "warn_lifetime_past_walltime",
           "warn_oversubscribed"]

EXECUTOR_KINDS = ("local", "serial", "dask", "slurm", "pbs")


def available_cpus() -> int:
    """CPUs this process may use (honours affinity masks, e.g. inside a SLURM job).

    Returns
    -------
    int
        At least 1.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def int_option(minimum):
    """A checker of integers >= ``minimum`` for option values.

    Parameters
    ----------
    minimum : int
        Smallest value accepted.

    Returns
    -------
    callable
        ``check(value, field) -> int``, raising :class:`SpecError` naming
        ``field`` for a bool, a non-integer or a value below ``minimum``.
    """
    def check(value, field):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            raise SpecError(field, f"must be an integer >= {minimum}, got {describe(value)}")
        return int(value)
    return check


def _str(value, field):
    if not isinstance(value, str) or not value:
        raise SpecError(field, f"must be a non-empty string, got {describe(value)}")
    return value


def _address(value, field):
    """A dask scheduler address, its host and port checked now where dask reads them
    (``tcp``, ``tls``, ``ws``, ``wss`` or no protocol): one without a port was refused
    only when the sweep connected, as a failure to start (exit code 1, not 2)."""
    value = _str(value, field)
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
    except ImportError:  # no distributed here: the run says so
        return value
    try:
        protocol, location = parse_address(value)
        if protocol in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except ValueError as exc:
        raise SpecError(field, f"must be a dask scheduler address such as "
                               f"'tcp://HOST:PORT', got {value!r} ({exc})") from None
    return value


def _bytes(value, field):
    """A size such as '16GB' (dask's parse_bytes), checked now: dask refused a bad one
    only when the cluster was being built, in a message that named no option."""
    from dask.utils import parse_bytes

    value = _str(value, field)
    try:
        size = parse_bytes(value)
    except ValueError:
        size = -1
    if size <= 0:
        raise SpecError(field, f"must be a size such as '4GB' or '512MiB', got {value!r}")
    return value


def _str_or_int(value, field):
    if isinstance(value, bool) or not isinstance(value, (str, numbers.Integral)):
        raise SpecError(field, f"must be a string (e.g. '4GB') or an integer (bytes), "
                               f"got {describe(value)}")
    if isinstance(value, str) and value != "auto":
        return _bytes(value, field)
    if not isinstance(value, str) and value < 0:  # 0: no limit
        raise SpecError(field, f"must be 'auto', a size such as '4GB' or a number of bytes "
                               f">= 0 (0: no limit), got {value!r}")
    return value


def _str_list(value, field):
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise SpecError(field, f"must be a list of strings, got {describe(value)}")
    return list(value)


#: options of dask's worker command that every job script gives, from the [executor]
#: table: (what the script gives, what to do instead). A worker takes the last of an option
#: given twice, so ``worker_extra_args = ["--nthreads", "8"]`` with cores = 8 and
#: processes = 4 ran 4 x 8 points at once on the job's 8 CPUs
WORKER_OPTIONS_SET = {
    "--nthreads": ("the threads of each worker process, one point each: cores // processes",
                   "set cores and processes instead"),
    "--nworkers": ("the worker processes of each job: processes", "set processes instead"),
    "--nprocs": ("the worker processes of each job: processes", "set processes instead"),
    "--memory-limit": ("the memory of each worker process: memory / processes",
                       "set memory and processes instead"),
    "--name": ("the name by which dask-jobqueue tells which job a worker belongs to, and "
               "so which jobs have ended", "leave it out"),
    "--death-timeout": ("death_timeout, 60 s by default", "set death_timeout instead"),
}


def check_worker_extra_args(value, field: str = "executor.worker_extra_args") -> list:
    """Check ``worker_extra_args``: a list of strings holding none of the worker options
    the job script sets itself (:data:`WORKER_OPTIONS_SET`).

    Parameters
    ----------
    value : list of str
        Arguments added to the dask worker command of every job.
    field : str, default "executor.worker_extra_args"
        Where they came from, in the message (the spec's option, or dask's
        ``jobqueue.<kind>.worker-extra-args`` config).

    Returns
    -------
    list of str
        ``value``.

    Raises
    ------
    SpecError
        Naming ``field``, the option and its value.
    """
    value = _str_list(value, field)
    for i, arg in enumerate(value):
        option = arg.split("=", 1)[0]
        if option in WORKER_OPTIONS_SET:
            given = arg if "=" in arg or i + 1 == len(value) else f"{arg} {value[i + 1]}"
            what, advice = WORKER_OPTIONS_SET[option]
            raise SpecError(field, f"{given!r} overrides the job script's {option} ({what}); "
                                   f"{advice}")
    return value


def _table(value, field):
    if not isinstance(value, dict):
        raise SpecError(field, f"must be a table, got {describe(value)}")
    return dict(value)


def _scheduler_options(value, field):
    """Keyword arguments of dask's Scheduler, checked by name here: at start a
    misspelt key only fails once the cluster is being built."""
    import inspect

    from distributed import Scheduler

    value = _table(value, field)
    known = set()
    for cls in Scheduler.__mro__:  # Scheduler passes **kwargs on to its bases
        init = cls.__dict__.get("__init__")
        if init is not None:
            known.update(name for name, p in inspect.signature(init).parameters.items()
                         if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                          p.KEYWORD_ONLY))
    for key in value:
        if key not in known:
            hint = did_you_mean(key, sorted(known))
            raise SpecError(f"{field}.{key}", f"not an option of dask's Scheduler{hint}; "
                                              f"valid: {', '.join(sorted(known))}")
    return value


def start_method_option(value, field):
    """Check a multiprocessing start method for the ``local`` executor.

    Parameters
    ----------
    value : str
        ``"spawn"`` or ``"forkserver"`` (where the platform has it).
    field : str
        The option's name in error messages (e.g. ``"executor.start_method"``).

    Returns
    -------
    str
        ``value``.

    Raises
    ------
    SpecError
        For a method the platform lacks, or ``"fork"`` (unsafe with threads).
    """
    methods = multiprocessing.get_all_start_methods()
    if value not in methods:
        raise SpecError(field, f"must be one of {', '.join(map(repr, methods))}; got {value!r}")
    if value == "fork":
        raise SpecError(field, "'fork' is not supported (unsafe with threads); use "
                               "'forkserver' or 'spawn'")
    return value


def _adapt(value, field):
    value = _table(value, field)
    unknown = set(value) - {"minimum_jobs", "maximum_jobs"}
    if unknown:
        raise SpecError(f"{field}.{sorted(unknown)[0]}",
                        "unknown key; [executor.adapt] takes minimum_jobs and maximum_jobs")
    if "maximum_jobs" not in value:
        raise SpecError(f"{field}.maximum_jobs", "required (the most jobs to submit at once)")
    out = {
        "minimum_jobs": int_option(0)(value.get("minimum_jobs", 0), f"{field}.minimum_jobs"),
        "maximum_jobs": int_option(1)(value["maximum_jobs"], f"{field}.maximum_jobs"),
    }
    if out["minimum_jobs"] > out["maximum_jobs"]:
        raise SpecError(field, f"minimum_jobs ({out['minimum_jobs']}) > maximum_jobs "
                               f"({out['maximum_jobs']})")
    return out


_ATTEMPTS = {"max_attempts": int_option(1)}
_JOBQUEUE = {
    "queue": _str, "account": _str, "cores": int_option(1), "processes": int_option(1),
    "memory": _bytes,
    "walltime": _str, "job_extra_directives": _str_list, "job_directives_skip": _str_list,
    "job_script_prologue": _str_list, "worker_extra_args": check_worker_extra_args,
    "interface": _str,
    "local_directory": _str, "log_directory": _str, "shebang": _str, "python": _str,
    "job_name": _str, "death_timeout": int_option(1), "scheduler_options": _scheduler_options,
    "jobs": int_option(1), "adapt": _adapt,
}
OPTIONS = {
    "serial": {},
    "local": {"workers": int_option(1), "start_method": start_method_option,
              "threads_per_worker": int_option(1), **_ATTEMPTS},
    "dask": {"address": _address, "n_workers": int_option(1), "threads_per_worker": int_option(1),
             "memory_limit": _str_or_int},
    "slurm": {**_JOBQUEUE, "job_cpu": int_option(1), "job_mem": _str},
    "pbs": {**_JOBQUEUE, "resource_spec": _str},
}


def check_pbs_words(config: dict, field: str = "executor") -> None:
    """Refuse a PBS ``job_name`` or ``log_directory`` with white space in it.

    dask-jobqueue writes them into ``#PBS -N`` / ``#PBS -e`` / ``#PBS -o`` lines as
    they are, where qsub splits them at the space (PBS job names may not hold one at
    all); SLURM's are quoted in the job script instead (sbatch honours quotes).

    Parameters
    ----------
    config : dict
        A checked ``[executor]`` table; only ``kind = "pbs"`` is looked at.
    field : str, default "executor"
        The table's name in error messages.

    Raises
    ------
    SpecError
        Naming the option and its value.
    """
    if config.get("kind") != "pbs":
        return
    for key in ("job_name", "log_directory"):
        value = config.get(key)
        if value is not None and re.search(r"\s", str(value)):
            what = "folder" if key == "log_directory" else "name"
            raise SpecError(f"{field}.{key}", f"{str(value)!r} holds white space, which PBS "
                                              f"cannot take in a #PBS directive; choose a "
                                              f"{what} without spaces")


def check_processes(cores: int, processes: int, field: str = "executor.processes") -> None:
    """Refuse worker processes per job that exceed or do not divide its ``cores``.

    dask-jobqueue gives each of a job's ``processes`` workers ``cores // processes``
    threads, one point each: with a processes that does not divide cores the job was
    charged for CPUs no point ran on, without a word (and with more processes than
    cores, each worker had 0 threads).

    Parameters
    ----------
    cores, processes : int
        CPUs of a job and its worker processes.
    field : str, default "executor.processes"
        Where ``processes`` came from, in the message (the spec's option, or dask's
        ``jobqueue.<kind>.processes`` config).

    Raises
    ------
    SpecError
        Naming ``field``, ``processes`` and ``cores``.
    """
    if processes > cores:
        raise SpecError(field, f"({processes}) cannot exceed cores ({cores})")
    if cores % processes:
        threads = cores // processes
        raise SpecError(field, f"({processes}) does not divide cores ({cores}): each worker "
                        f"process runs cores // processes = {threads} point(s) at a time, "
                        f"{processes * threads} in all, and {cores - processes * threads} of "
                        f"the job's {cores} CPUs would stay idle; give a processes that "
                        f"divides cores")


def check_job_cpu(cores: int, job_cpu: int, field: str = "executor.job_cpu") -> None:
    """Refuse a SLURM ``job_cpu`` below the job's ``cores``.

    ``cores`` sets how many points a job runs at once (its workers' threads, one point
    each); ``job_cpu`` only what the job asks SLURM for (``#SBATCH --cpus-per-task``).
    Below ``cores`` the points shared fewer CPUs, each slower, without a word; above
    it is the documented way to give each point several threads.

    Parameters
    ----------
    cores, job_cpu : int
        CPUs of a job as dask counts them, and as SLURM allocates them.
    field : str, default "executor.job_cpu"
        Where ``job_cpu`` came from, in the message.

    Raises
    ------
    SpecError
        Naming ``field``, ``job_cpu`` and ``cores``.
    """
    if job_cpu < cores:
        raise SpecError(field, f"({job_cpu}) is below cores ({cores}): each job runs cores = "
                               f"{cores} point(s) at a time on the {job_cpu} CPU(s) SLURM "
                               f"gives it (--cpus-per-task), each slower; give a job_cpu >= "
                               f"cores, or leave it out (it defaults to cores)")


def slurm_mem_bytes(job_mem):
    """SLURM's ``--mem`` in bytes, as sbatch reads it.

    Parameters
    ----------
    job_mem : str or int
        A whole number of megabytes (MiB), or one with a ``K``, ``M``, ``G`` or ``T``
        suffix, in either case and optionally followed by ``B`` (KiB ... TiB; SLURM rounds
        KiB up to whole MiB), as SLURM's ``str_to_mbytes`` reads it.

    Returns
    -------
    int or None
        None for a text of another form (sbatch judges it).
    """
    match = re.fullmatch(r"\s*\+?(\d+)(?:([KMGT])B?)?\s*", str(job_mem), flags=re.IGNORECASE)
    if match is None:
        return None
    number, unit = int(match.group(1)), (match.group(2) or "").upper()
    if unit == "K":
        return -(-number // 1024) * 2**20  # SLURM counts whole MiB, rounded up
    return number * 2**(10 * (" KMGT".index(unit) if unit else 2))


def check_job_mem(memory, job_mem, field: str = "executor.job_mem") -> None:
    """Refuse a SLURM ``job_mem`` below the job's ``memory``.

    ``memory`` is what dask-jobqueue tells the job's workers they have together (each
    worker's memory limit is ``memory / processes``, which decides when it spills to
    disk, pauses or is restarted); ``job_mem`` only what the job asks SLURM for
    (``#SBATCH --mem``). Below ``memory`` the workers count on memory SLURM does not
    give, and its OOM killer ends the job before dask spills. ``--mem=0`` (the whole
    node) and a text :func:`slurm_mem_bytes` cannot read (sbatch judges it) pass.

    Parameters
    ----------
    memory : str
        A job's memory as dask reads it (``dask.utils.parse_bytes``), e.g. ``"4GB"``.
    job_mem : str or int
        As SLURM reads it (:func:`slurm_mem_bytes`), e.g. ``"4G"`` or ``4000`` (MiB).
    field : str, default "executor.job_mem"
        Where ``job_mem`` came from, in the message.

    Raises
    ------
    SpecError
        Naming ``field``, ``job_mem`` and ``memory``.
    """
    from dask.utils import format_bytes, parse_bytes

    asked = slurm_mem_bytes(job_mem)
    try:
        wanted = parse_bytes(memory)
    except (ValueError, TypeError):
        return  # dask-jobqueue's own error
    if not asked or asked >= wanted:  # 0: the whole node
        return
    raise SpecError(field, f"({job_mem!r} = {asked} bytes) is below memory ({memory!r} = "
                           f"{wanted} bytes): SLURM gives each job "
                           f"{format_bytes(asked)} (--mem) while its workers count on "
                           f"{format_bytes(wanted)} together (their memory limits, when they "
                           f"spill to disk), so SLURM's OOM killer ends the jobs before dask "
                           f"spills; give a job_mem >= memory, or leave it out (it defaults "
                           f"to memory)")


def pbs_mem_bytes(mem):
    """PBS's ``mem`` resource in bytes, as qsub reads a size.

    Parameters
    ----------
    mem : str
        A whole number with an optional suffix ``b``, ``kb``, ``mb``, ``gb``, ``tb`` or
        ``pb`` in either case (binary: ``kb`` is 1024 bytes; no suffix: bytes).

    Returns
    -------
    int or None
        None for a text of another form (words, ``w``; qsub judges it).
    """
    match = re.fullmatch(r"\s*(\d+)([kmgtp]?b)?\s*", str(mem), flags=re.IGNORECASE)
    if match is None:
        return None
    unit = (match.group(2) or "b").lower()
    return int(match.group(1)) * 2**(10 * "bkmgtp".index(unit[0]))


def _pbs_resources(resource_list: str) -> list:
    """The ``(name, value)`` pairs of a PBS resource list, first chunk first: ``select=1:
    ncpus=8:mem=4gb+2:ncpus=4`` (chunks joined by ``+``, resources by ``:``) or the
    older ``nodes=1:ppn=8,mem=4gb`` (by ``,``)."""
    pairs = []
    for part in re.split(r"[,:+]", resource_list):
        name, equals, value = part.partition("=")
        if equals:
            pairs.append((name.strip().lower(), value.strip()))
    return pairs


def _directive_options(directives) -> list:
    """The options of job-script directives as ``(option, value, given)``: each item may
    hold several (the batch system splits a directive line at white space), written
    ``--mem=4G``, ``--mem 4G`` or ``-lmem=4gb``; ``given`` is the text as written."""
    import shlex

    out = []
    for directive in directives:
        try:
            words = shlex.split(str(directive))
        except ValueError:  # an unclosed quote: the batch system's to refuse
            words = str(directive).split()
        for i, word in enumerate(words):
            if not word.startswith("-"):
                continue
            nxt = words[i + 1] if i + 1 < len(words) and not words[i + 1].startswith("-") \
                else ""
            if word.startswith("--"):
                option, equals, value = word.partition("=")
                value, given = (value, word) if equals else (nxt, f"{word} {nxt}".strip())
            else:  # a short option: -l mem=4gb or -lmem=4gb
                option, value = word[:2], word[2:]
                value, given = (value, word) if value else (nxt, f"{word} {nxt}".strip())
            out.append((option, value, given))
    return out


#: SLURM's memory options (sbatch also takes a long option abbreviated, e.g. --mem-per-c);
#: not --mem-bind, which binds tasks to memory and asks for none
_SLURM_MEM_OPTION = re.compile(r"--mem(?:-per-(?:c(?:pu?)?|g(?:pu?)?))?")


def check_memory_directives(kind: str, directives,
                            field: str = "executor.job_extra_directives") -> None:
    """Refuse a memory request in ``job_extra_directives``.

    dask-jobqueue writes the job's memory into the job script itself (SLURM: ``#SBATCH
    --mem=`` from ``job_mem``, else ``memory``; PBS: ``#PBS -l`` from ``resource_spec``,
    else ``select=1:ncpus=<cores>:mem=<memory>``) and adds the extra directives after it:
    SLURM's ``--mem`` there overrode ``job_mem`` unchecked (sbatch takes the last), a
    ``--mem-per-cpu`` or ``--mem-per-gpu`` contradicted it (sbatch takes them as
    mutually exclusive), and a PBS ``-l mem=`` or ``-l select=...:mem=`` made a second,
    unchecked request beside the script's. The options that are checked against
    ``memory`` say it instead: ``job_mem`` (:func:`check_job_mem`), ``resource_spec``
    (:func:`check_resource_spec_mem`).

    Parameters
    ----------
    kind : {"slurm", "pbs"}
    directives : list of str
        The ``job_extra_directives``, without the ``#SBATCH`` / ``#PBS`` the script adds.
    field : str, default "executor.job_extra_directives"
        Where they came from, in the message.

    Raises
    ------
    SpecError
        Naming ``field``, the directive and the option to use instead.
    """
    if isinstance(directives, str):  # one directive (dask config written by hand)
        directives = [directives]
    for option, value, given in _directive_options(directives or ()):
        if kind == "slurm" and _SLURM_MEM_OPTION.fullmatch(option):
            whole = "it" if option == "--mem" else ("the job's whole memory (per CPU or GPU "
                                                    "times their number)")
            raise SpecError(field, f"{given!r} asks SLURM for the job's memory beside the job "
                                   f"script's own --mem line (from job_mem, else memory), "
                                   f"which it overrides or contradicts unchecked; give {whole} "
                                   f"as job_mem instead (checked against memory)")
        if kind == "pbs" and option == "-l" and any(
                name == "mem" for name, _ in _pbs_resources(value)):
            raise SpecError(field, f"{given!r} asks PBS for memory beside the job script's own "
                                   f"#PBS -l line (from resource_spec, else "
                                   f"select=1:ncpus=<cores>:mem=<memory>), unchecked; give it "
                                   f"in resource_spec instead (e.g. "
                                   f"'select=1:ncpus=8:mem=16gb', checked against memory)")


def check_resource_spec_mem(memory, resource_spec,
                            field: str = "executor.resource_spec") -> None:
    """Refuse a PBS ``resource_spec`` whose first chunk's ``mem`` is below the job's
    ``memory``.

    PBS gives each chunk of ``select`` its own ``mem`` (``select=1:ncpus=8:mem=16gb+
    2:ncpus=4:mem=2gb``: 16 GB on the first chunk's node, 2 GB on each of the others),
    and the job script runs the workers on the first chunk's node, so that chunk's
    ``mem`` is what they get; dask-jobqueue's ``memory`` is per job, what the workers
    count on together (their memory limits, when they spill to disk), as for SLURM's
    ``job_mem`` (:func:`check_job_mem`). The ``mem`` of another chunk is not compared
    (``select=1:ncpus=8+1:mem=2gb`` asks nothing of the first node's memory: it passes).
    A ``mem`` outside the chunks (``nodes=1:ppn=8,mem=16gb``, ``select=1:ncpus=8,
    mem=16gb``) is the job's, of which the first node gets at most all: it is compared
    when the first chunk gives none. A ``resource_spec`` without such a ``mem``, and a
    size :func:`pbs_mem_bytes` cannot read, pass.

    Parameters
    ----------
    memory : str
        A job's memory as dask reads it, e.g. ``"4GB"``.
    resource_spec : str
        The job's ``#PBS -l`` resource list.
    field : str, default "executor.resource_spec"
        Where ``resource_spec`` came from, in the message.

    Raises
    ------
    SpecError
        Naming ``field``, the ``mem`` and ``memory``.
    """
    from dask.utils import format_bytes, parse_bytes

    mem = _first_node_mem(str(resource_spec))
    asked = None if mem is None else pbs_mem_bytes(mem)
    try:
        wanted = parse_bytes(memory)
    except (ValueError, TypeError):
        return  # dask-jobqueue's own error
    if asked is None or asked >= wanted:
        return
    raise SpecError(field, f"({resource_spec!r}) asks for mem={mem} (= {asked} bytes), below "
                           f"memory ({memory!r} = {wanted} bytes): PBS gives the first chunk's "
                           f"node, where the job's workers run, {format_bytes(asked)} while "
                           f"they count on {format_bytes(wanted)} together (their memory "
                           f"limits, when they "
                           f"spill to disk), so PBS ends the jobs before dask spills; give a "
                           f"mem >= memory, or leave resource_spec out (it defaults to "
                           f"select=1:ncpus=<cores>:mem=<memory>)")


def _first_node_mem(resource_spec: str):
    """The ``mem`` the first chunk's node gets from a PBS resource list, as written (None
    when none is asked): the first chunk's own, else a job-wide ``mem`` outside the
    chunks (the first ``mem`` of any chunk was taken: ``select=1:ncpus=8+1:mem=2gb`` was
    checked by the second chunk's 2gb)."""
    chunked, job_wide = None, []
    for resource in resource_spec.split(","):  # resources; "+" joins chunks inside one
        name = resource.partition("=")[0].strip().lower()
        if name in ("select", "nodes") and chunked is None:
            chunked = resource.split("+")[0]  # the first chunk, where the workers run
        else:
            job_wide.append(resource)
    for part in ([] if chunked is None else [chunked]) + job_wide:
        mem = next((value for name, value in _pbs_resources(part) if name == "mem"), None)
        if mem is not None:
            return mem
    return None


def warn_oversubscribed(kind: str, workers: tuple, threads: tuple, runs: str,
                        stacklevel: int | None = None) -> None:
    """Warn when a pool on this machine runs more threads at once than the CPUs this
    process may use (:func:`available_cpus`).

    The job-queue executors refuse processes that do not divide a job's cores
    (:func:`check_processes`); here it is a warning, not a refusal: points that wait on
    I/O may share CPUs on purpose. Compute-bound points that share CPUs each run slower
    and the sweep gains nothing.

    Parameters
    ----------
    kind : str
        The executor's kind, in the message.
    workers, threads : tuple of (str, int)
        The option names and values whose product runs at once (worker processes, and
        threads per worker).
    runs : str
        What runs at once, in the message (``"points"``).
    stacklevel : int, optional
        Of :func:`warnings.warn`, counted from this function; by default the user's
        line (:func:`v1model._frames.user_stacklevel`).
    """
    (workers_name, n_workers), (threads_name, n_threads) = workers, threads
    if not all(isinstance(n, numbers.Integral) for n in (n_workers, n_threads)):
        return  # refused where they are used, naming the option
    cpus = available_cpus()
    if n_workers * n_threads <= cpus:
        return
    warnings.warn(
        f"executor kind {kind!r}: {workers_name} ({n_workers}) x {threads_name} ({n_threads})"
        f" = {n_workers * n_threads} {runs} at once, on the {cpus} CPU(s) this process may "
        f"use (os.sched_getaffinity): they share them, each slower; ask for at most {cpus} "
        f"unless the points wait on I/O", SweepWarning,
        stacklevel=user_stacklevel() if stacklevel is None else stacklevel)


def walltime_seconds(walltime, kind: str):
    """A job's walltime in seconds, as the batch system reads it.

    Parameters
    ----------
    walltime : str
        SLURM: ``minutes``, ``minutes:seconds``, ``hours:minutes:seconds`` or
        ``days-hours[:minutes[:seconds]]``; PBS: ``[[hours:]minutes:]seconds``.
    kind : {"slurm", "pbs"}

    Returns
    -------
    float or None
        None for a text of another form (the batch system judges it) and for SLURM's
        zero, which is no limit.
    """
    match = re.fullmatch(r"\s*(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+(?:\.\d*)?))?\s*",
                         str(walltime))
    if match is None:
        return None
    days, *parts = match.groups()
    parts = [float(p) for p in parts if p is not None]
    if kind == "slurm" and not any(parts) and not int(days or 0):
        return None  # SLURM: "a time limit of zero requests that no time limit be imposed"
    if days is not None:
        if kind != "slurm":
            return None
        hours, minutes, seconds = parts + [0.0] * (3 - len(parts))
        return ((int(days) * 24 + hours) * 60 + minutes) * 60 + seconds
    if len(parts) == 1:  # SLURM reads a lone number as minutes, PBS as seconds
        return parts[0] * 60 if kind == "slurm" else parts[0]
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def warn_lifetime_past_walltime(args, walltime, kind: str, args_field: str,
                                walltime_field: str, stacklevel: int | None = None) -> None:
    """Warn when the workers' ``--lifetime`` (plus ``--lifetime-stagger``) in
    ``worker_extra_args`` does not end before the jobs' walltime.

    The lifetime retires each worker once its points are done, before the batch system
    kills the job; one at or past the walltime never comes, and the job's end cuts off
    the points its workers run (they are computed again on the next job).

    Parameters
    ----------
    args : list of str
        The workers' extra arguments.
    walltime : str or None
        The jobs' walltime (:func:`walltime_seconds`).
    kind : {"slurm", "pbs"}
    args_field, walltime_field : str
        Where ``args`` and ``walltime`` came from, in the message.
    stacklevel : int, optional
        Of :func:`warnings.warn`, counted from this function; by default the user's
        line (:func:`v1model._frames.user_stacklevel`).
    """
    from dask.utils import parse_timedelta

    given = {}
    for i, arg in enumerate(args):
        option, equals, value = arg.partition("=")
        if option in ("--lifetime", "--lifetime-stagger"):
            if not equals:
                value = args[i + 1] if i + 1 < len(args) else ""
            given[option] = value
    limit = None if walltime is None else walltime_seconds(walltime, kind)
    if "--lifetime" not in given or limit is None:
        return
    try:
        lifetime = parse_timedelta(given["--lifetime"], default="seconds")
        stagger = parse_timedelta(given.get("--lifetime-stagger", 0), default="seconds")
    except (ValueError, KeyError, TypeError, IndexError):  # IndexError: "" (no value)
        return  # the worker refuses it, in the job's log
    if lifetime is None or lifetime + abs(stagger) < limit:
        return
    said = f"--lifetime {given['--lifetime']}" + (
        f" (+ --lifetime-stagger {given['--lifetime-stagger']})" if stagger else "")
    warnings.warn(
        f"{args_field}: {said} retires the workers after up to {lifetime + abs(stagger):g} s, "
        f"not before the jobs' walltime {walltime!r} ({walltime_field}, {limit:g} s): the "
        f"batch system ends the jobs first, cutting off the points their workers run; give "
        f"a --lifetime (plus its stagger) below the walltime", SweepWarning,
        stacklevel=user_stacklevel() if stacklevel is None else stacklevel)


def check_executor_config(config, field: str = "executor") -> dict:
    """Validate an ``[executor]`` table (or a kind name) and return it normalised.

    Parameters
    ----------
    config : dict, str or None
        The table (with ``kind``, default ``"local"``), a kind name alone, or
        None for ``{"kind": "local"}``.
    field : str, default "executor"
        The table's name in error messages.

    Returns
    -------
    dict
        ``kind`` and the checked options.

    Raises
    ------
    SpecError
        Naming the offending key, e.g. ``executor.kind`` or ``executor.cores``.
    """
    if config is None:
        config = {"kind": "local"}
    if isinstance(config, str):
        config = {"kind": config}
    if not isinstance(config, dict):
        raise SpecError(field, f"must be a table or an executor name, got {describe(config)}")
    config = dict(config)
    kind = config.pop("kind", "local")
    if kind not in EXECUTOR_KINDS:
        raise SpecError(f"{field}.kind", f"must be one of {', '.join(map(repr, EXECUTOR_KINDS))}; "
                                         f"got {kind!r}")
    allowed = OPTIONS[kind]
    out = {"kind": kind}
    for key, value in config.items():
        if key not in allowed:
            valid = ", ".join(sorted(allowed)) or "(no options)"
            raise SpecError(f"{field}.{key}", f"unknown option for executor kind {kind!r}; "
                                              f"valid: {valid}")
        out[key] = allowed[key](value, f"{field}.{key}")
    if kind in ("slurm", "pbs"):
        for key in ("cores", "memory"):
            if key not in out:
                raise SpecError(f"{field}.{key}", f"required for executor kind {kind!r}")
        if ("jobs" in out) == ("adapt" in out):
            raise SpecError(f"{field}.adapt", "give exactly one of 'jobs = N' (a fixed number "
                                              "of jobs) or an [executor.adapt] table with "
                                              "minimum_jobs and maximum_jobs")
        check_processes(out["cores"], out.get("processes", 1), f"{field}.processes")
        if "job_cpu" in out:
            check_job_cpu(out["cores"], out["job_cpu"], f"{field}.job_cpu")
        if "job_mem" in out:
            check_job_mem(out["memory"], out["job_mem"], f"{field}.job_mem")
        if "resource_spec" in out:
            check_resource_spec_mem(out["memory"], out["resource_spec"],
                                    f"{field}.resource_spec")
        check_memory_directives(kind, out.get("job_extra_directives"),
                                f"{field}.job_extra_directives")
        check_pbs_words(out, field)
    return out
