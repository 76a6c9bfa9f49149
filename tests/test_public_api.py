"""Snapshot of the public API: a change to it must be deliberate.

The listing covers ``cleftsim.__all__`` and the public modules (``cs.geometry``, ``cs.schemes``,
...): every public function with its signature, every public class with its constructor, its
public methods (with signatures) and properties, and the modules' public constants (by type).
It is compared with tests/public_api.txt; after a deliberate change, regenerate that file with

    CLEFTSIM_UPDATE_API=1 pytest tests/test_public_api.py

(or ``python tests/test_public_api.py > tests/public_api.txt``) and commit it with the change.

Classes list their dataclass or NamedTuple fields as ``field``, other class attributes by type.
What counts as public: a module's ``__all__`` where it has one; otherwise the names without a
leading underscore that the module defines itself (functions and classes whose ``__module__`` is
that module) and its UPPER_CASE constants. Names with a leading underscore are skipped, and so are
the members a class inherits from outside cleftsim (``Exception.with_traceback``, ...).
"""
import dataclasses
import difflib
import inspect
import os
import re
import sys
import types
from pathlib import Path

import cleftsim as cs

SNAPSHOT = Path(__file__).with_name("public_api.txt")
UPDATE_VAR = "CLEFTSIM_UPDATE_API"
#: the public modules, as attributes of cleftsim (several are loaded lazily by its __getattr__);
#: any other module named in cleftsim.__all__ is listed too
MODULES = ("features", "geometry", "mcell", "plot", "presets", "release", "schemes", "synapse", "units", "waveforms")


def _clean(text: str) -> str:
    """Drop what differs between runs (object addresses in the reprs of defaults) or between Python
    versions (how a string annotation of a NamedTuple is shown)."""
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", text)
    return re.sub(r"ForwardRef\(('[^']*')[^)]*\)", r"\1", text)


def _signature(obj) -> str:
    try:
        return _clean(str(inspect.signature(obj)))
    except (TypeError, ValueError):
        return "(...)"


def _is_public(name: str) -> bool:
    return not name.startswith("_")


def _own_classes(cls):
    """The classes of cls's MRO that belong to cleftsim, most derived first."""
    return [c for c in cls.__mro__ if c.__module__.split(".")[0] == "cleftsim"]


def _describe_member(name: str, raw) -> str:
    if isinstance(raw, (property, types.GetSetDescriptorType, types.MemberDescriptorType)) or \
            type(raw).__name__ == "cached_property":
        return f".{name}  property"
    if isinstance(raw, staticmethod):
        return f".{name}{_signature(raw.__func__)}  staticmethod"
    if isinstance(raw, classmethod):
        return f".{name}{_signature(raw.__func__)}  classmethod"
    if inspect.isclass(raw):
        return f".{name}  class"
    if callable(raw):
        return f".{name}{_signature(raw)}"
    return f".{name}  attribute ({type(raw).__name__})"


def describe_class(qualname: str, cls) -> list[str]:
    bases = ", ".join(b.__qualname__ if b.__module__ == "builtins" else f"{b.__module__}.{b.__qualname__}"
                      for b in cls.__bases__ if b is not object)
    lines = [f"{qualname}{_signature(cls)}  class" + (f" ({bases})" if bases else "")]
    # dataclass and NamedTuple fields (their defaults are class attributes, the others are not)
    fields = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
    fields += list(getattr(cls, "_fields", ())) if issubclass(cls, tuple) else []
    members = {name: f".{name}  field" for name in fields if _is_public(name)}
    for c in _own_classes(cls):
        for name, raw in vars(c).items():
            if _is_public(name) and name not in members:
                members[name] = _describe_member(name, raw)
    lines += [f"    {members[name]}" for name in sorted(members)]
    return lines


def describe(qualname: str, obj) -> list[str]:
    if inspect.ismodule(obj):
        return [f"{qualname}  module {obj.__name__}"]
    if inspect.isclass(obj):
        return describe_class(qualname, obj)
    if callable(obj):
        return [f"{qualname}{_signature(obj)}"]
    return [f"{qualname}  {type(obj).__name__}"]


def public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = []
        for name, obj in vars(module).items():
            if not _is_public(name) or inspect.ismodule(obj):
                continue
            if (inspect.isclass(obj) or callable(obj)) and getattr(obj, "__module__", None) == module.__name__:
                names.append(name)
            elif name.isupper() and name != "TYPE_CHECKING" and not callable(obj):
                names.append(name)
    return sorted(set(names))


def listing() -> str:
    lines = ["# The public API of cleftsim (tests/test_public_api.py).",
             f"# After a deliberate change: {UPDATE_VAR}=1 pytest tests/test_public_api.py", ""]
    lines.append("## cleftsim")
    for name in sorted(cs.__all__):
        if name == "__version__":
            lines.append("cleftsim.__version__  str")
        elif _is_public(name):
            lines += describe(f"cleftsim.{name}", getattr(cs, name))
    modules = sorted(set(MODULES) | {n for n in cs.__all__ if inspect.ismodule(getattr(cs, n, None))})
    for short in modules:
        module = getattr(cs, short)
        lines += ["", f"## cleftsim.{short} ({module.__name__})"]
        for name in public_names(module):
            lines += describe(f"cleftsim.{short}.{name}", getattr(module, name))
    return "\n".join(lines) + "\n"


def test_public_api_matches_the_snapshot():
    current = listing()
    if os.environ.get(UPDATE_VAR) == "1":
        SNAPSHOT.write_text(current, encoding="utf-8")
        print(f"wrote {SNAPSHOT}")
        return
    if not SNAPSHOT.exists():
        raise AssertionError(f"{SNAPSHOT} is missing: create it with {UPDATE_VAR}=1 pytest tests/test_public_api.py")
    committed = SNAPSHOT.read_text(encoding="utf-8")
    if current != committed:
        diff = "".join(difflib.unified_diff(committed.splitlines(keepends=True), current.splitlines(keepends=True),
                                            fromfile="tests/public_api.txt (committed)", tofile="current API"))
        raise AssertionError(
            "the public API differs from tests/public_api.txt:\n" + diff +
            f"\nIf the change is deliberate, update the snapshot with\n    {UPDATE_VAR}=1 pytest tests/test_public_api.py\n"
            "and commit tests/public_api.txt with it.")


def test_listing_is_deterministic():
    assert listing() == listing()


if __name__ == "__main__":
    sys.stdout.write(listing())
