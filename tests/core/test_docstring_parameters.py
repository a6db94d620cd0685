"""Every public function, class and method documents the parameters it takes, and no
other: the numpydoc ``Parameters`` section names exactly the signature's arguments
(``a, b : float`` documents both; ``*args`` / ``**kwargs`` may be documented or not).
What `v1model study show` prints is a study's ``Parameters`` section, so a parameter
renamed in the code but not in its docstring would be shown under its old name."""

import importlib
import inspect
import pkgutil
import re

import pytest

PACKAGES = ("v1model", "stimuli", "studies")
_SECTION = re.compile(r"^-{3,}$")
_ITEM = re.compile(r"^(\*{0,2}[A-Za-z_]\w*(?:\s*,\s*\*{0,2}[A-Za-z_]\w*)*)\s*(?::.*)?$")


def documented_parameters(doc: str) -> list[str] | None:
    """The names in the ``Parameters`` (and ``Other Parameters``) sections of a numpydoc
    docstring, or None when it has none."""
    lines = inspect.cleandoc(doc).splitlines()
    names, inside, found = [], False, False
    for i, line in enumerate(lines):
        underline = i + 1 < len(lines) and _SECTION.match(lines[i + 1].strip())
        if underline and line.strip() and not line.startswith(" "):
            inside = line.strip() in ("Parameters", "Other Parameters")
            found |= inside
            continue
        if inside and line and not line.startswith(" ") and not _SECTION.match(line):
            match = _ITEM.match(line)
            if match:
                names += [name.strip().lstrip("*") for name in match.group(1).split(",")]
    return names if found else None


def _public_callables():
    seen = set()
    for package in PACKAGES:
        root = importlib.import_module(package)
        modules = [root] + [importlib.import_module(info.name) for info in
                            pkgutil.walk_packages(root.__path__, prefix=f"{package}.")]
        for module in modules:
            for name, obj in vars(module).items():
                if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__ \
                        or id(obj) in seen:
                    continue
                seen.add(id(obj))
                qualname = f"{module.__name__}.{name}"
                if inspect.isfunction(obj):
                    yield qualname, obj, obj.__doc__
                elif inspect.isclass(obj):
                    init = obj.__dict__.get("__init__")
                    if init is not None:
                        has_own = documented_parameters(obj.__doc__ or "") is not None
                        yield qualname, init, obj.__doc__ if has_own else init.__doc__
                    for attr, member in vars(obj).items():
                        function = getattr(member, "__func__", member)
                        if not attr.startswith("_") and inspect.isfunction(function):
                            yield f"{qualname}.{attr}", function, function.__doc__


def _mismatch(function, doc):
    documented = documented_parameters(doc or "")
    if documented is None:
        return None
    parameters = [p for p in inspect.signature(function).parameters.values()
                  if p.name not in ("self", "cls")]
    variadic = {p.name for p in parameters
                if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    names = {p.name for p in parameters}
    undocumented = sorted(names - variadic - set(documented))
    unknown = sorted(set(documented) - names)
    if undocumented or unknown:
        return f"not documented: {undocumented}; documented but not taken: {unknown}"
    return None


CALLABLES = list(_public_callables())


def test_the_parser_reads_grouped_and_variadic_entries():
    doc = """Summary.

    Parameters
    ----------
    X : ndarray
        Data.
    lam, tol : float
    **options
        Passed on.

    Returns
    -------
    out : ndarray
    """
    assert documented_parameters(doc) == ["X", "lam", "tol", "options"]
    assert documented_parameters("No sections.") is None


def test_callables_were_found():
    # fails if the discovery breaks and the check below silently looks at nothing
    documented = [q for q, f, d in CALLABLES if documented_parameters(d or "") is not None]
    assert len(documented) > 200, len(documented)
    assert "studies.olshausen_field_1996.run" in documented


def test_documented_parameters_match_the_signatures():
    wrong = {q: m for q, f, d in CALLABLES if (m := _mismatch(f, d)) is not None}
    assert not wrong, "\n".join(f"{q}: {m}" for q, m in sorted(wrong.items()))


@pytest.mark.parametrize("doc, message", [
    ("Parameters\n----------\nx : int\n", "not documented: ['y']"),
    ("Parameters\n----------\nx, y, z : int\n", "documented but not taken: ['z']"),
])
def test_a_mismatch_is_reported(doc, message):
    def f(x, y=0):
        pass

    assert message in _mismatch(f, doc)
