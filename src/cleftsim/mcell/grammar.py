"""The MDL grammar (lark, LALR with the contextual lexer), its parser, and the pre-scan that lifts
big numeric blocks out of the text before parsing.

:func:`parse` turns the text of one file into a lark tree, or raises an
:class:`~cleftsim.mcell.document.MDLError` naming the line, what was found and what was expected
(a keyword of MCell that this reader does not read, at the error or on its line, is named as the
construct). Keywords that are no part of the grammar are read as names and judged by
:mod:`cleftsim.mcell.keywords`.

:func:`prescan` cuts big numeric bodies (VERTEX_LIST, ELEMENT_CONNECTIONS, NORMAL_LIST, and
ELEMENT_LIST / INCLUDE_ELEMENTS / ... lists of plain integers) out of the text and reads them with
numpy, leaving a ``$k$`` placeholder (the grammar's ARRAYREF) and their newlines, so line numbers
stay right; bodies that are not plain numbers are left to the grammar.

MCell semantics followed (MCell 3's ``mdlparse.y``): comments are C comments ``/* */`` (not
nesting) and ``//`` to the end of the line. Operator precedence: ``&`` lowest, then ``+ -``,
``* /``, ``^`` (left associative), unary minus highest (``-2^2`` is 4, as in MCell).
"""
from __future__ import annotations

import re

import numpy as np

from cleftsim.mcell.document import MDLError, Where
from cleftsim.mcell.keywords import UNREAD_KEYWORDS

__all__ = ["parse", "prescan"]

GRAMMAR = r"""
start: _stmt*

_stmt: include | assign | sprintf_stmt | io_stmt | block
     | define_molecules | define_molecule | define_surface_classes | define_surface_class
     | define_reactions | define_release_pattern | _object_def | instantiate
     | existing_regions | modify_regions | reaction_output

include: "INCLUDE_FILE" "=" expr
assign: NAME "=" expr
sprintf_stmt: "sprintf" "(" NAME "," expr ("," expr)* ")"
io_stmt: iofunc "(" [expr ("," expr)*] ")"
!iofunc: "printf" | "fprintf" | "print" | "fclose" | "print_time" | "fprint_time"

// a block whose keyword is no part of this grammar (NOTIFICATIONS { ... }), judged by keyword
block: NAME "{" _generic* "}"
_generic: GENERIC | STRING | generic_body
generic_body: "{" _generic* "}"
GENERIC: /([^\s{}"\/]|\/(?![\/*]))+/

?expr: cat
?cat: sum | cat "&" sum -> concat
?sum: prod | sum "+" prod -> add | sum "-" prod -> sub
?prod: power | prod "*" power -> mul | prod "/" power -> div
?power: unary | power "^" unary -> pow
?unary: atom | "-" unary -> neg | "+" unary -> pos
?atom: NUMBER -> num
     | STRING -> string
     | NAME -> var
     | NAME "(" [expr ("," expr)*] ")" -> call
     | "(" expr ")"
     | "[" [_arr_item ("," _arr_item)*] "]" -> array
_arr_item: expr | range
range: "[" expr "TO" expr NAME expr "]"      // NAME is STEP (a keyword here would shadow STEP = ...)

// KEYWORD = value(s) and a bare KEYWORD, judged by keyword
prop: NAME "=" expr ("," expr)*
flag: NAME

mol: NAME [orient]
orient: mark+ | "{" expr "}"
!mark: "'" | "," | ";"

define_molecules: KW_MOLECULES "{" mol_def* "}"
define_molecule: KW_MOLECULE mol_def
KW_MOLECULES: "DEFINE_MOLECULES"
KW_MOLECULE: "DEFINE_MOLECULE"
mol_def: NAME "{" (prop | flag)* "}"

define_surface_classes: KW_CLASSES "{" sc_def* "}"
define_surface_class: KW_CLASS sc_def
KW_CLASSES: "DEFINE_SURFACE_CLASSES"
KW_CLASS: "DEFINE_SURFACE_CLASS"
sc_def: NAME "{" (sc_rule | clamp | quant_block | prop)* "}"
sc_rule: sc_kind ("=" | "TO") mol
!sc_kind: "REFLECTIVE" | "TRANSPARENT" | "ABSORPTIVE"
clamp: clamp_kind mol "=" expr
!clamp_kind: "CLAMP_CONCENTRATION" | "CLAMP_FLUX"
quant_block: quant_kind "{" quant* "}"
!quant_kind: "MOLECULE_DENSITY" | "MOLECULE_NUMBER"
quant: mol "=" expr

define_reactions: KW_REACTIONS "{" rxn* "}"
KW_REACTIONS: "DEFINE_REACTIONS"
rxn: reactants [surf_class] ARROW products rate [":" NAME]
reactants: mol ("+" mol)*
surf_class: "@" mol
ARROW: /<?->/
products: _product ("+" _product)*
_product: mol | null
!null: "NULL"
rate: "[" rate_item ("," rate_item)? "]"
rate_item: [rate_dir] expr
!rate_dir: ">" | "<"

define_release_pattern: "DEFINE_RELEASE_PATTERN" NAME "{" prop* "}"

_object_def: meta_def | ref_def | polygon_def | box_def | release_def
meta_def: NAME "OBJECT" "{" _meta_item* "}"
ref_def: NAME "OBJECT" NAME "{" prop* "}"
_meta_item: _object_def | prop
polygon_def: NAME "POLYGON_LIST" "{" _poly_item* "}"
box_def: NAME "BOX" "{" _poly_item* "}"
_poly_item: vertex_list | element_connections | normal_list | surface_regions | remove_elements | prop
vertex_list: "VERTEX_LIST" array_body
element_connections: "ELEMENT_CONNECTIONS" array_body
normal_list: "NORMAL_LIST" array_body
array_body: "{" ARRAYREF "}" | "{" expr* "}"
ARRAYREF: /\$\d+\$/
surface_regions: KW_REGIONS "{" region_def* "}"
region_def: NAME "{" _region_item* "}"
_region_item: elem_stmt | quant_block | prop
elem_stmt: elem_kind "=" elem_list
!elem_kind: "ELEMENT_LIST" | "INCLUDE_ELEMENTS" | "EXCLUDE_ELEMENTS" | "REMOVE_ELEMENTS"
elem_list: ARRAYREF | "[" [elem_spec ("," elem_spec)*] "]"
elem_spec: expr ["TO" expr]
remove_elements: KW_REMOVE "{" (elem_stmt+ | elem_spec ("," elem_spec)*) "}"
KW_REMOVE: "REMOVE_ELEMENTS"

release_def: NAME release_kind "{" _rs_item* "}"
!release_kind: "RELEASE_SITE" | "SPHERICAL_RELEASE_SITE" | "CUBIC_RELEASE_SITE" | "ELLIPTIC_RELEASE_SITE"
             | "RECTANGULAR_RELEASE_SITE" | "SPHERICAL_SHELL_SITE"
_rs_item: shape | molecule | positions | prop | sub_block
shape: "SHAPE" "=" rexpr
molecule: "MOLECULE" "=" mol
positions: KW_POSITIONS "{" (mol expr)* "}"
KW_POSITIONS: "MOLECULE_POSITIONS"
sub_block: NAME "{" _generic* "}"
?rexpr: rsum | rexpr "&" rsum -> r_incl
?rsum: rprod | rsum "+" rprod -> r_union | rsum "-" rprod -> r_diff
?rprod: ratom | rprod "*" ratom -> r_inter
?ratom: rref | "(" rexpr ")"
rref: NAME ["[" NAME "]"]

instantiate: "INSTANTIATE" NAME "OBJECT" "{" _meta_item* "}"
existing_regions: KW_REGIONS "{" ext_region* "}"
modify_regions: KW_MODIFY "{" ext_region* "}"
KW_REGIONS: "DEFINE_SURFACE_REGIONS"
KW_MODIFY: "MODIFY_SURFACE_REGIONS"
ext_region: NAME "[" NAME "]" "{" _region_item* "}"

reaction_output: KW_OUTPUT "{" (prop | count_stmt)* "}"
KW_OUTPUT: "REACTION_DATA_OUTPUT"
count_stmt: "{" column ("," column)* "}" [":" expr] FILE_ARROW expr
column: cexpr [":" expr]
FILE_ARROW: /=\s*>|\+\s*>|>(\s*>){0,2}/
?cexpr: cterm | cexpr "+" cterm -> c_add | cexpr "-" cterm -> c_sub
?cterm: cunary | cterm "*" cunary -> c_mul | cterm "/" cunary -> c_div
?cunary: catom | "-" cunary -> c_neg
?catom: count | NUMBER -> c_num | NAME -> c_var | "(" cexpr ")"
count: count_kind "[" NAME count_marks count_loc ["," NAME] "]"
!count_kind: "COUNT" | "TRIGGER"
count_marks: ["{" expr "}"] mark+
count_loc: NAME ["[" NAME "]"]

NAME: /[A-Za-z_][A-Za-z0-9_.]*/
NUMBER: /(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/
STRING: /"(\\.|[^"\\\n])*"/
BLOCK_COMMENT: /\/\*[\s\S]*?\*\//
LINE_COMMENT: /\/\/[^\n]*/
WS: /\s+/
%ignore WS
%ignore BLOCK_COMMENT
%ignore LINE_COMMENT
"""

_PARSER = None
#: How the pattern terminals are shown in "expected ..." (None: not shown).
_TERMINAL_TEXT = {"ARROW": "'->'", "FILE_ARROW": "'=>'", "ARRAYREF": None, "GENERIC": None, "$END": "end of file"}


def _parser():
    """The lark parser, built once (about 0.2 s)."""
    global _PARSER
    if _PARSER is None:
        import lark
        _PARSER = lark.Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=True)
    return _PARSER


def parse(text: str, path: str):
    """The lark tree of ``text`` (the pre-scanned text of the file ``path``)."""
    import lark
    try:
        return _parser().parse(text)
    except lark.exceptions.UnexpectedInput as exc:
        raise _syntax_error(exc, text, path) from None


def _syntax_error(exc, text: str, path: str) -> MDLError:
    import lark
    line = getattr(exc, "line", None) or 0
    if line <= 0 or (isinstance(exc, lark.exceptions.UnexpectedToken) and exc.token.type == "$END"):
        line = text.rstrip().count("\n") + 1        # the last line with text
    where = Where(path, line)
    expected = getattr(exc, "expected", None) or getattr(exc, "allowed", None) or ()
    names = sorted({_terminal_text(t) for t in expected} - {None})
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    if isinstance(exc, lark.exceptions.UnexpectedToken):
        tok = exc.token
        got = "end of file" if tok.type == "$END" else repr(str(tok))
        value = "" if tok.type == "$END" else str(tok)
    else:
        pos = getattr(exc, "pos_in_stream", -1)
        pos = -1 if pos is None else pos
        value = text[pos] if 0 <= pos < len(text) else ""
        got = repr(value) if value else "end of file"
    message = f"unexpected {got}" + (f"; expected {shown}" if shown else "")
    # a keyword of MCell that this reader does not read, at the error or on its line, is
    # named as the construct; anything else is a plain syntax error
    construct = "syntax"
    if value in UNREAD_KEYWORDS:
        construct = value
    else:
        lines = text.split("\n")
        here = lines[line - 1] if 0 < line <= len(lines) else ""
        known = [w for w in re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", here.split("//")[0]) if w in UNREAD_KEYWORDS]
        if known:
            construct = known[0]
    if construct != "syntax":
        message = f"{construct} is not part of the MDL subset cleftsim reads ({message})"
    return MDLError(where, construct, message)


def _terminal_text(name: str) -> str | None:
    if name in _TERMINAL_TEXT:
        return _TERMINAL_TEXT[name]
    try:
        pattern = _parser().get_terminal(name).pattern
        if pattern.type == "str":
            return repr(pattern.value)
    except (KeyError, AttributeError):
        pass
    return name


# ---------------------------------------------------------------------------------------------
# Pre-scan of big numeric bodies
# ---------------------------------------------------------------------------------------------
#: (keyword, form): a "body" is ``KEYWORD { rows [a, b, c] }``, a "list" ``KEYWORD = [i, j, ...]``.
_PRESCAN_KEYWORDS = [("VERTEX_LIST", "body"), ("ELEMENT_CONNECTIONS", "body"), ("NORMAL_LIST", "body"),
                     ("ELEMENT_LIST", "list"), ("INCLUDE_ELEMENTS", "list"), ("EXCLUDE_ELEMENTS", "list"),
                     ("REMOVE_ELEMENTS", "list")]
#: Per form: what follows the keyword, what closes the numbers and what they may be made of.
_FORMS = {"body": (re.compile(r"\s*\{"), "}", re.compile(r"[\s\[\],0-9.eE+\-]*")),
          "list": (re.compile(r"\s*=\s*\["), "]", re.compile(r"[\s,0-9]*"))}
_TO_SPACES = str.maketrans("[],", "   ")


def _rows_of_three(body: str) -> int | None:
    """The number of rows if ``body`` is rows ``[a, b, c]`` (each bracket pair holding two
    commas, nothing outside them but spaces), else None."""
    b = np.frombuffer(body.encode("ascii", "replace"), dtype=np.uint8)
    opens, closes = np.flatnonzero(b == 91), np.flatnonzero(b == 93)
    commas = np.flatnonzero(b == 44)
    n = opens.size
    if closes.size != n or commas.size != 2 * n:
        return None
    if n and (np.any(opens >= closes) or np.any(closes[:-1] >= opens[1:])):
        return None
    if n and np.any(np.searchsorted(commas, closes) - np.searchsorted(commas, opens) != 2):
        return None
    return n


def prescan(text: str) -> tuple[str, list]:
    """Cut plain numeric VERTEX_LIST / ELEMENT_CONNECTIONS / NORMAL_LIST bodies and integer
    element lists out of ``text``; each becomes ``$k$`` plus its newlines. Returns the new text
    and the bodies, each as (rows-or-None, flat float array) where rows is the number of bracketed
    rows (None for a flat list); ``$k$`` is the k-th body."""
    if "VERTEX_LIST" not in text and "ELEMENT_LIST" not in text and "_ELEMENTS" not in text \
            and "ELEMENT_CONNECTIONS" not in text and "NORMAL_LIST" not in text:
        return text, []
    pieces: list[str] = []
    arrays: list = []
    pos = 0
    starts = []
    for kw, form in _PRESCAN_KEYWORDS:
        i = text.find(kw)
        while i >= 0:
            j = i + len(kw)
            if i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_."):
                m = _FORMS[form][0].match(text, j)
                if m is not None:
                    starts.append((m.end(), form))
            i = text.find(kw, j)
    starts.sort()
    for begin, form in starts:
        if begin < pos:
            continue
        _after, closer, allowed = _FORMS[form]
        end = text.find(closer, begin)
        if end < 0:
            continue
        body = text[begin:end]
        if allowed.fullmatch(body) is None:
            continue
        if form == "body":
            rows = _rows_of_three(body)
            if rows is None:                # not plain [a, b, c] rows: the grammar reads it
                continue
            cut_from, cut_to = begin, end
        else:
            rows = None
            cut_from, cut_to = begin - 1, end + 1      # the brackets too
        flat = body.translate(_TO_SPACES)
        try:
            values = np.array(flat.split(), dtype=np.float64)
        except ValueError:
            continue
        pieces.append(text[pos:cut_from])
        pieces.append(f" ${len(arrays)}$ " + "\n" * text.count("\n", cut_from, cut_to))
        arrays.append((rows, values))
        pos = cut_to
    pieces.append(text[pos:])
    return "".join(pieces), arrays
