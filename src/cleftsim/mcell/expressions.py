"""MDL values: variables, arithmetic, functions, strings and C formats, evaluated over the lark
tree of :mod:`cleftsim.mcell.grammar`; and the molecule terms (a name and an orientation).

:class:`ExpressionReader` is the base of the reader (:mod:`cleftsim.mcell.parser`): it knows the
file being read and the place of a node (for :class:`~cleftsim.mcell.document.MDLError`), holds
the variables and evaluates expressions to numbers (float), strings, vectors (tuples) and file
handles.

MCell semantics followed (MCell 3's ``mdlparse.y``, ``mdlparse_util.c``):

- ``SEED`` is the seed given to :func:`~cleftsim.mcell.parser.read`, ``PI`` is π and
  ``INPUT_FILE`` the main file; random numbers (RAND_UNIFORM, RAND_GAUSSIAN) are refused.
- Arrays ``[a, b, c]`` hold numbers; ``[a TO b STEP c]`` is the range a, a + c, ... up to b.
- Strings: ``&`` joins strings; a number joined to a string is written with ``%.15g`` (MCell 3
  accepts only strings there). ``sprintf(var, fmt, ...)`` and ``FORMAT(fmt, ...)`` format as C's
  sprintf (with C's escapes in ``fmt``). ``fopen`` gives a handle; no file is ever opened.
- Orientations: ``'`` is +1, ``,`` is -1 (marks add up), ``;`` alone is 0, ``{n}`` is n.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from cleftsim.errors import MDLError
from cleftsim.mcell.document import Term, Where
from cleftsim.mcell.keywords import MCELL_KEYWORDS

__all__ = ["ExpressionReader", "FileHandle", "num_str"]

_FUNCS1 = {"SQRT": math.sqrt, "EXP": math.exp, "LOG": math.log, "LOG10": math.log10, "SIN": math.sin,
           "COS": math.cos, "TAN": math.tan, "ASIN": math.asin, "ACOS": math.acos, "ATAN": math.atan,
           "ABS": abs, "CEIL": math.ceil, "FLOOR": math.floor}
_RANDOM = ("RAND_UNIFORM", "RAND_GAUSSIAN")


class FileHandle:
    """The value of ``fopen(...)`` (files are never opened)."""

    def __init__(self, name):
        self.name = name


def num_str(value) -> str:
    """A number (or a vector of them) as MDL writes it into a string: ``%.15g``."""
    if isinstance(value, tuple):
        return "[" + ", ".join(num_str(v) for v in value) + "]"
    return "%.15g" % value


def _c_escapes(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"',
                                       "a": "\a", "b": "\b", "f": "\f", "v": "\v"}.get(m.group(1), m.group(0)), s)


_C_FORMAT = re.compile(r"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?(hh|h|ll|l|L|q|j|z|t)?([diouxXeEfFgGcs%])")


def _c_format(fmt: str, args: list) -> str:
    """C's sprintf (the conversions of printf; length modifiers dropped)."""
    out, pos, k = [], 0, 0
    for m in _C_FORMAT.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, _len, conv = m.groups()
        if conv == "%":
            out.append("%")
            continue
        if k >= len(args):
            raise ValueError(f"too few arguments for {fmt!r}")
        value = args[k]
        k += 1
        spec = "%" + flags + (width or "") + ("." + prec if prec is not None else "")
        if conv != "s":
            if isinstance(value, str):
                raise ValueError(f"%{conv} needs a number, got the string {value!r}")
            if conv in "eEfFgG":
                value = float(value)
            else:
                value = int(value)
                conv = {"i": "d", "u": "d"}.get(conv, conv)
        elif not isinstance(value, str):
            value = num_str(value)
        out.append((spec + conv) % value)
    out.append(fmt[pos:])
    return "".join(out)


class ExpressionReader:
    """Places and values of tree nodes: the current file and statement, the variables, and the
    evaluation of expressions (methods ``ex_<rule>``) and molecule terms."""

    def __init__(self, path: str, seed: int):
        self.path = path                    #: the main file (INPUT_FILE)
        self.seed = seed
        self.vars: dict[str, Any] = {}
        self.file = path                    #: the file being read
        self.where: Where | None = None     #: the statement being read

    # --------------------------------------------------------------------------- places
    def at(self, node) -> Where:
        """The place of a node: the line of its first token."""
        stack = [node]
        while stack:
            n = stack.pop()
            if n is None:
                continue
            children = getattr(n, "children", None)
            if children is None:
                return Where(self.file, n.line)
            stack.extend(reversed(children))
        return self.where or Where(self.file, 1)

    def err(self, node, construct, message):
        """The MDLError at ``node`` (a tree node or a Where)."""
        return MDLError(node if isinstance(node, Where) else self.at(node), construct, message)

    # --------------------------------------------------------------------------- values
    def eval(self, node) -> Any:
        kind = getattr(node, "data", None)
        if kind is None:                      # a bare token
            raise self.err(node, "expression", f"unexpected {str(node)!r}")
        try:
            value = getattr(self, "ex_" + kind)(node)
        except MDLError:
            raise
        except (ValueError, OverflowError, ZeroDivisionError, TypeError) as exc:
            raise self.err(node, "expression", str(exc)) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.err(node, "expression", "the result is infinite or not a number")
        return value

    def num(self, node, what="a number") -> float:
        value = self.eval(node)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.err(node, "expression", f"{what} is needed here, got {self.describe(value)}")
        return float(value)

    def string(self, node, what="a string") -> str:
        value = self.eval(node)
        if not isinstance(value, str):
            raise self.err(node, "expression", f"{what} is needed here, got {self.describe(value)}")
        return value

    def vector(self, node, what="a vector [x, y, z]") -> np.ndarray:
        value = self.eval(node)
        if not isinstance(value, tuple) or len(value) != 3:
            raise self.err(node, "expression", f"{what} is needed here, got {self.describe(value)}")
        return np.array(value, dtype=float)

    @staticmethod
    def describe(value) -> str:
        if isinstance(value, str):
            return f"the string {value!r}"
        if isinstance(value, tuple):
            return f"the vector {num_str(value)}"
        if isinstance(value, FileHandle):
            return "a file handle"
        return f"the number {num_str(value)}"

    def one_value(self, prop, key):
        """Refuse ``KEY = a, b`` where KEY takes one value."""
        if len(prop.children) != 2:
            raise self.err(prop, key, f"{key} takes one value")

    def raw_name(self, node, key) -> str:
        """The name written as the value of ``KEY = name`` (not evaluated)."""
        if getattr(node, "data", None) == "var":
            return str(node.children[0])
        raise self.err(node, key, f"{key} needs a name")

    # --------------------------------------------------------------------------- expressions
    def ex_num(self, node):
        return float(node.children[0])

    def ex_string(self, node):
        return str(node.children[0])[1:-1]

    def ex_var(self, node):
        name = str(node.children[0])
        if name in self.vars:
            return self.vars[name]
        if name == "SEED":
            return float(self.seed)
        if name == "PI":
            return math.pi
        if name == "INPUT_FILE":
            return self.path
        if name in _RANDOM:
            raise self.err(node, name, "random numbers in expressions are not supported")
        raise self.err(node, "expression", f"undefined variable {name!r}")

    def arith(self, node, op):
        a, b = (self.eval(c) for c in node.children)
        for v in (a, b):
            if not isinstance(v, float):
                raise self.err(node, "expression", f"arithmetic needs numbers, got {self.describe(v)}")
        return op(a, b)

    def ex_add(self, node):
        return self.arith(node, lambda a, b: a + b)

    def ex_sub(self, node):
        return self.arith(node, lambda a, b: a - b)

    def ex_mul(self, node):
        return self.arith(node, lambda a, b: a * b)

    def ex_div(self, node):
        def div(a, b):
            if b == 0:
                raise self.err(node, "expression", "division by zero")
            return a / b
        return self.arith(node, div)

    def ex_pow(self, node):
        def power(a, b):
            r = a ** b
            if isinstance(r, complex):
                raise self.err(node, "expression", f"{num_str(a)}^{num_str(b)} is not a real number")
            return float(r)
        return self.arith(node, power)

    def ex_neg(self, node):
        return -self.num(node.children[0])

    def ex_pos(self, node):
        return self.num(node.children[0])

    def ex_concat(self, node):
        parts = []
        for child in node.children:
            v = self.eval(child)
            if isinstance(v, FileHandle):
                raise self.err(node, "expression", "a file handle cannot be joined to a string")
            parts.append(v if isinstance(v, str) else num_str(v))
        return "".join(parts)

    def ex_array(self, node):
        out: list[float] = []
        for item in node.children:
            if item is None:
                continue
            if getattr(item, "data", None) == "range":
                if str(item.children[2]) != "STEP":
                    raise self.err(item, "syntax", f"a range is [a TO b STEP c], got {str(item.children[2])!r} "
                                                   f"for STEP")
                a, b, step = (self.num(c) for c in (item.children[0], item.children[1], item.children[3]))
                if step == 0 or (b - a) / step < 0:
                    raise self.err(item, "expression", f"empty or endless range [{num_str(a)} TO {num_str(b)} "
                                                       f"STEP {num_str(step)}]")
                n = int(math.floor((b - a) / step * (1 + 1e-12) + 1e-9))
                out.extend(a + i * step for i in range(n + 1))
            else:
                out.append(self.num(item, "a number in an array"))
        return tuple(out)

    def ex_call(self, node):
        name = str(node.children[0])
        args = [c for c in node.children[1:] if c is not None]
        if name in _FUNCS1:
            if len(args) != 1:
                raise self.err(node, "expression", f"{name} takes one argument")
            x = self.num(args[0])
            try:
                return float(_FUNCS1[name](x))
            except ValueError:
                raise self.err(node, "expression", f"{name}({num_str(x)}) is not defined") from None
        if name in ("MAX", "MIN", "MOD", "ROUND_OFF"):
            if len(args) != 2:
                raise self.err(node, "expression", f"{name} takes two arguments")
            a, b = (self.num(x) for x in args)
            if name == "MAX":
                return max(a, b)
            if name == "MIN":
                return min(a, b)
            if name == "MOD":
                if b == 0:
                    raise self.err(node, "expression", "MOD by zero")
                return math.fmod(a, b)
            return float("%.*g" % (max(int(a), 1), b))       # ROUND_OFF(digits, value)
        if name == "STRING_TO_NUM":
            if len(args) != 1:
                raise self.err(node, "expression", "STRING_TO_NUM takes one argument")
            s = self.string(args[0])
            try:
                return float(s)
            except ValueError:
                raise self.err(node, "expression", f"STRING_TO_NUM: {s!r} is not a number") from None
        if name == "FORMAT":
            if not args:
                raise self.err(node, "expression", "FORMAT needs a format string")
            return self.format(node, args)
        if name == "fopen":
            return FileHandle(self.string(args[0]) if args else "")
        if name in _RANDOM:
            raise self.err(node, name, "random numbers in expressions are not supported")
        raise self.err(node, name if name in MCELL_KEYWORDS or name.isupper() else "expression",
                       f"unknown function {name!r}")

    def format(self, node, args) -> str:
        """C's sprintf of the format ``args[0]`` with the values of ``args[1:]``."""
        fmt = _c_escapes(self.string(args[0], "a format string"))
        values = []
        for a in args[1:]:
            v = self.eval(a)
            if isinstance(v, (tuple, FileHandle)):
                raise self.err(node, "sprintf", f"cannot format {self.describe(v)}")
            values.append(v)
        try:
            return _c_format(fmt, values)
        except (ValueError, TypeError, OverflowError) as exc:
            raise self.err(node, "sprintf", f"format {fmt!r}: {exc}") from None

    # --------------------------------------------------------------------------- molecule terms
    def term(self, node) -> Term:
        """A ``mol`` node: NAME [orient]."""
        name = str(node.children[0])
        orient = node.children[1] if len(node.children) > 1 else None
        return Term(name, None if orient is None else self.orient(orient))

    def orient(self, node) -> int:
        first = node.children[0]
        if getattr(first, "data", None) == "mark":
            return self.marks(node.children, node)
        return self.braced_orient(first, node)

    def braced_orient(self, expr, at) -> int:
        """The orientation ``{expr}``; an error is reported at ``at`` (a node or a Where)."""
        v = self.num(expr)
        if v != int(v):
            raise self.err(at, "orientation", f"an orientation in braces must be an integer, got {num_str(v)}")
        return int(v)

    def marks(self, marks, node) -> int:
        chars = [str(m.children[0]) for m in marks]
        if ";" in chars:
            if len(chars) > 1:
                raise self.err(node, "orientation", f"';' cannot be combined with other marks: {''.join(chars)!r}")
            return 0
        return chars.count("'") - chars.count(",")
