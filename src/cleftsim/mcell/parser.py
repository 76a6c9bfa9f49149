"""Read MCell MDL files into a :class:`~cleftsim.mcell.document.Document`.

``read(path, seed=1)`` reads the main file and every INCLUDE_FILE (relative to the including
file's folder), evaluates the variables in file order (``SEED`` is ``seed``), instantiates the
objects and resolves every name; constructs outside the subset raise
:class:`~cleftsim.mcell.document.MDLError` naming the file, the line and the construct. No other
exception leaves :func:`read`.

How it works: each file is pre-scanned and parsed (:mod:`cleftsim.mcell.grammar`), and its
statements are interpreted in order by the reader, whose layers live in their own modules:
:mod:`~cleftsim.mcell.expressions` (places of nodes, variables and expressions),
:mod:`~cleftsim.mcell.objects` (object definitions, regions, release sites),
:mod:`~cleftsim.mcell.instances` (INSTANTIATE and the names of instances) and this module (files,
settings, molecules, surface classes, reactions, release patterns, outputs, and the end: every
name resolved into the Document). A statement ``rule`` is read by the method ``st_<rule>`` of the
layer of its construct; keywords are judged by :mod:`~cleftsim.mcell.keywords`.

MCell semantics followed (MCell 3's ``mdlparse.y``, ``mdlparse_util.c``, ``init.c``, ``util.c``;
each module lists those of its constructs):

- Release patterns: see :meth:`~cleftsim.mcell.document.ReleasePattern.times`; MCell's checks
  (positive intervals, train duration not longer than the train interval) are applied.
- Molecule names are left to the builder to check.
"""
from __future__ import annotations

import os

from cleftsim.mcell.document import (
    CountTerm,
    Document,
    MDLError,
    Molecule,
    Output,
    Reaction,
    ReleasePattern,
    SurfaceClass,
    SurfaceRule,
    Where,
)
from cleftsim.mcell.expressions import FileHandle, num_str
from cleftsim.mcell.grammar import parse, prescan
from cleftsim.mcell.instances import InstanceReader
from cleftsim.mcell.keywords import IGNORED_BLOCKS, IGNORED_SETTINGS, MCELL_KEYWORDS, PHYSICS, unknown

__all__ = ["read", "MDLError"]


def _stem(file: str) -> str:
    base = file.replace("\\", "/").rsplit("/", 1)[-1]
    stem, _ext = os.path.splitext(base)
    return stem or base


class _Reader(InstanceReader):
    """Reads a model's files statement by statement and makes the Document of them."""

    def __init__(self, path: str, seed: int):
        super().__init__(path, seed)
        self.files: list[str] = []
        self.stack: list[str] = []
        self.iterations = None
        self.time_step = None
        self.grid_density = None
        self.molecules: dict[str, Molecule] = {}
        self.reactions: list[Reaction] = []
        self.rxn_names: set[str] = set()
        self.surface_classes: dict[str, SurfaceClass] = {}
        self.class_quants: dict[str, list] = {}
        self.patterns: dict[str, ReleasePattern] = {}
        self.outputs: list[tuple[Output, list]] = []

    # --------------------------------------------------------------------------- files
    def run(self):
        self.read_file(self.path, None)
        return self.finish()

    def read_file(self, path: str, where: Where | None):
        if path in self.stack:
            raise MDLError(where, "INCLUDE_FILE", f"{path!r} includes itself (through {' -> '.join(self.stack)})")
        if path.lower().endswith(".bngl"):
            raise MDLError(where, "BNGL", f"{path!r} is a BioNetGen (BNGL) file; BNGL models are not supported")
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError as exc:
            what = "the main MDL file" if where is None else "the included file"
            raise MDLError(where, "INCLUDE_FILE" if where is not None else "file",
                           f"cannot read {what} {path!r}: {exc.strerror or exc}") from None
        self.files.append(path)
        if text.startswith("\ufeff"):
            text = text[1:]
        text, arrays = prescan(text)
        tree = parse(text, path)
        saved = self.file, self.arrays, self.where
        self.stack.append(path)
        self.file, self.arrays = path, arrays
        try:
            for stmt in tree.children:
                self.where = self.at(stmt)
                getattr(self, "st_" + stmt.data)(stmt)
        finally:
            self.stack.pop()
            self.file, self.arrays, self.where = saved

    # --------------------------------------------------------------------------- simple statements
    def st_include(self, node):
        name = self.string(node.children[0], "a file name")
        where = self.at(node)
        full = name if os.path.isabs(name) else os.path.normpath(os.path.join(os.path.dirname(self.file), name))
        self.read_file(full, where)

    def st_assign(self, node):
        tok, value = node.children
        name = str(tok)
        where = self.at(node)
        if name in ("ITERATIONS", "TIME_STEP", "SURFACE_GRID_DENSITY", "EFFECTOR_GRID_DENSITY"):
            v = self.num(value)
            if name == "ITERATIONS":
                if v < 0 or v != int(v):
                    raise MDLError(where, name, f"ITERATIONS must be a whole number >= 0, got {num_str(v)}")
                self.iterations = int(v)
                return
            if not v > 0:
                raise MDLError(where, name, f"{name} must be positive, got {num_str(v)}")
            if name == "TIME_STEP":
                self.time_step = v
            else:
                self.grid_density = v
            return
        if name in IGNORED_SETTINGS:
            label = name
            if name == "MICROSCOPIC_REVERSIBILITY":
                setting = str(value.children[0]) if getattr(value, "data", None) == "var" else "?"
                if setting not in ("OFF", "FALSE", "NO"):
                    label = f"MICROSCOPIC_REVERSIBILITY = {setting}"
            self.ignored.append((label, where))
            return
        if name in PHYSICS:
            raise MDLError(where, name, PHYSICS[name])
        if name in MCELL_KEYWORDS:
            raise MDLError(where, name, f"{name} is not part of the MDL subset cleftsim reads")
        self.vars[name] = self.eval(value)

    def st_sprintf_stmt(self, node):
        name = str(node.children[0])
        if name in MCELL_KEYWORDS:
            raise self.err(node, "sprintf", f"{name!r} is an MDL keyword, not a variable")
        self.vars[name] = self.format(node, node.children[1:])

    def st_io_stmt(self, node):
        self.ignored.append((str(node.children[0].children[0]), self.at(node)))

    def st_block(self, node):
        name = str(node.children[0])
        where = self.at(node)
        if name in IGNORED_BLOCKS:
            self.ignored.append((name, where))
            return
        raise unknown(where, name, "block", f"{name} {{...}}")

    # --------------------------------------------------------------------------- molecules
    def st_define_molecules(self, node):
        for child in node.children[1:]:
            self.mol_def(child)

    st_define_molecule = st_define_molecules

    def mol_def(self, node):
        name = str(node.children[0])
        where = self.at(node)
        if name in self.molecules:
            raise MDLError(where, "DEFINE_MOLECULES", f"molecule {name!r} is defined twice "
                                                      f"(first at {self.molecules[name].where})")
        D = surface = None
        for item in node.children[1:]:
            key = str(item.children[0])
            if item.data == "flag" or key not in ("DIFFUSION_CONSTANT_3D", "DIFFUSION_CONSTANT_2D"):
                raise unknown(self.at(item), key, "in a molecule definition",
                              key if item.data == "flag" else f"{key} = ...")
            self.one_value(item, key)
            D = self.num(item.children[1])
            surface = key.endswith("2D")
            if D < 0:
                raise self.err(item, key, f"negative diffusion constant {num_str(D)} for {name!r}")
        if D is None:
            raise MDLError(where, "DEFINE_MOLECULES", f"molecule {name!r} has no DIFFUSION_CONSTANT_3D or _2D")
        self.molecules[name] = Molecule(name, D, surface, where)

    # --------------------------------------------------------------------------- surface classes
    def st_define_surface_classes(self, node):
        for child in node.children[1:]:
            self.sc_def(child)

    st_define_surface_class = st_define_surface_classes

    def sc_def(self, node):
        name = str(node.children[0])
        where = self.at(node)
        if name in self.surface_classes:
            raise MDLError(where, "DEFINE_SURFACE_CLASSES", f"surface class {name!r} is defined twice")
        if name in self.molecules:
            raise MDLError(where, "DEFINE_SURFACE_CLASSES", f"{name!r} is already a molecule")
        rules = []
        for item in node.children[1:]:
            if item.data == "sc_rule":
                kind = str(item.children[0].children[0]).lower()
                t = self.term(item.children[1])
                rules.append(SurfaceRule(kind, t.name, t.orient, None, self.at(item)))
            elif item.data == "clamp":
                kind = str(item.children[0].children[0])
                if kind == "CLAMP_FLUX":
                    raise self.err(item, "CLAMP_FLUX", "flux clamps are not supported")
                t = self.term(item.children[1])
                value = self.num(item.children[2])
                if value < 0:
                    raise self.err(item, kind, f"a concentration clamp must be >= 0, got {num_str(value)}")
                rules.append(SurfaceRule("clamp_concentration", t.name, t.orient, value, self.at(item)))
            elif item.data == "quant_block":
                kind, entries = self.quants(item)
                self.class_quants.setdefault(name, []).extend((kind, e) for e in entries)
            else:                             # prop
                key = str(item.children[0])
                if key == "VIZ_VALUE":
                    self.ignored.append((key, self.at(item)))
                    continue
                raise unknown(self.at(item), key, "in a surface class", f"{key} = ...")
        self.surface_classes[name] = SurfaceClass(name, rules, where)

    # --------------------------------------------------------------------------- reactions
    def st_define_reactions(self, node):
        for rxn in node.children[1:]:
            self.reaction(rxn)

    def reaction(self, node):
        reactants_node, surf, arrow, products_node, rate_node, name_tok = node.children
        where = self.at(node)
        reactants = [self.term(m) for m in reactants_node.children]
        sc = self.term(surf.children[0]) if surf is not None else None
        products = []
        for p in products_node.children:
            if p.data == "null":
                if len(products_node.children) > 1:
                    raise MDLError(where, "reaction", "NULL cannot be combined with other products")
                continue
            products.append(self.term(p))
        both = str(arrow) == "<->"
        fwd = rev = None
        for item in rate_node.children:
            if item is None:
                continue
            direction, expr = item.children
            d = str(direction.children[0]) if direction is not None else ">"
            value = self.eval(expr)
            if isinstance(value, str):
                raise self.err(item, "VARIABLE_RATE", f"the rate {value!r} is a file of time-varying rates; "
                                                      f"variable rates are not supported")
            if not isinstance(value, float):
                raise self.err(item, "reaction", f"a rate must be a number, got {self.describe(value)}")
            if d == ">":
                if fwd is not None:
                    raise self.err(item, "reaction", "two forward rates")
                fwd = value
            else:
                if rev is not None:
                    raise self.err(item, "reaction", "two reverse rates")
                rev = value
        if fwd is None:
            raise MDLError(where, "reaction", "the reaction has no forward rate")
        if both and rev is None:
            raise MDLError(where, "reaction", "a reversible reaction (<->) needs a reverse rate: [>kf, <kr]")
        if not both and rev is not None:
            raise MDLError(where, "reaction", "a reverse rate is given for a one-way reaction (->)")
        name = str(name_tok) if name_tok is not None else None
        extra = [sc] if sc is not None else []
        self.reactions.append(Reaction(reactants + extra, products, fwd, name, where))
        if name is not None:
            self.rxn_names.add(name)
        if both:
            if not products:
                raise MDLError(where, "reaction", "a reversible reaction cannot have NULL products")
            self.reactions.append(Reaction(products + extra, reactants, rev, None, where))

    # --------------------------------------------------------------------------- release patterns
    def st_define_release_pattern(self, node):
        name = str(node.children[0])
        where = self.at(node)
        if name in self.patterns:
            raise MDLError(where, "DEFINE_RELEASE_PATTERN", f"release pattern {name!r} is defined twice")
        pat = ReleasePattern(name, where=where)
        keys = {"DELAY": "delay", "RELEASE_INTERVAL": "release_interval", "TRAIN_INTERVAL": "train_interval",
                "TRAIN_DURATION": "train_duration"}
        for item in node.children[1:]:
            key = str(item.children[0])
            self.one_value(item, key)
            value = item.children[1]
            if key == "NUMBER_OF_TRAINS":
                if getattr(value, "data", None) == "var" and str(value.children[0]) == "UNLIMITED":
                    pat.number_of_trains = 2 ** 31 - 1
                else:
                    n = self.num(value)
                    if n < 0:
                        raise self.err(item, key, f"NUMBER_OF_TRAINS must be >= 0, got {num_str(n)}")
                    pat.number_of_trains = int(n)
            elif key in keys:
                setattr(pat, keys[key], self.num(value))
            else:
                raise unknown(self.at(item), key, "in a release pattern", f"{key} = ...")
        for key in ("RELEASE_INTERVAL", "TRAIN_INTERVAL", "TRAIN_DURATION"):
            if not getattr(pat, keys[key]) > 0:
                raise MDLError(where, "DEFINE_RELEASE_PATTERN", f"{key} must be positive")
        if pat.train_duration > pat.train_interval:
            raise MDLError(where, "DEFINE_RELEASE_PATTERN", "TRAIN_DURATION must not be longer than TRAIN_INTERVAL "
                                                            "(MCell's rule)")
        if pat.delay < 0:
            raise MDLError(where, "DEFINE_RELEASE_PATTERN", f"DELAY must be >= 0, got {num_str(pat.delay)}")
        self.patterns[name] = pat

    # --------------------------------------------------------------------------- outputs
    def st_reaction_output(self, node):
        step = None
        for item in node.children[1:]:
            if item.data == "prop":
                key = str(item.children[0])
                if key == "STEP":
                    self.one_value(item, key)
                    step = self.num(item.children[1])
                    if not step > 0:
                        raise self.err(item, key, f"STEP must be positive, got {num_str(step)}")
                elif key in ("OUTPUT_BUFFER_SIZE", "HEADER", "SHOW_EXACT_TIME"):
                    self.ignored.append((key, self.at(item)))
                elif key in ("TIME_LIST", "ITERATION_LIST"):
                    raise self.err(item, key, f"output at a {key} is not supported; use STEP")
                else:
                    raise unknown(self.at(item), key, "in REACTION_DATA_OUTPUT", f"{key} = ...")
        for item in node.children[1:]:
            if item.data != "count_stmt":
                continue
            columns = [c for c in item.children if getattr(c, "data", None) == "column"]
            if len(columns) > 1:
                raise self.err(item, "REACTION_DATA_OUTPUT", "several columns in one output file are not "
                                                             "supported; write one {COUNT...} per file")
            file_node = item.children[-1]
            file = self.string(file_node, "a file name")
            terms, const = self.count_terms(columns[0].children[0])
            if const is not None and const != 0:
                raise self.err(item, "REACTION_DATA_OUTPUT", "a constant in a count expression is not supported")
            if not terms:
                raise self.err(item, "REACTION_DATA_OUTPUT", "the output has no COUNT")
            out = Output(_stem(file), file, [], step, self.at(item))
            self.outputs.append((out, [self.count_term(f, n) for f, n in terms]))

    def count_terms(self, node) -> tuple[list, float | None]:
        """(terms [(factor, count node)], constant or None) of a count expression."""
        k = node.data
        if k == "count":
            return [(1.0, node)], None
        if k in ("c_num", "c_var"):
            tok = node.children[0]
            if k == "c_num":
                return [], float(tok)
            name = str(tok)
            if name not in self.vars or not isinstance(self.vars[name], float):
                raise self.err(node, "REACTION_DATA_OUTPUT", f"{name!r} is not a numeric variable")
            return [], self.vars[name]
        if k == "c_neg":
            t, c = self.count_terms(node.children[0])
            return [(-f, n) for f, n in t], None if c is None else -c
        a, b = (self.count_terms(c) for c in node.children)
        if k in ("c_add", "c_sub"):
            s = 1.0 if k == "c_add" else -1.0
            terms = a[0] + [(s * f, n) for f, n in b[0]]
            if (a[1] is not None or b[1] is not None) and terms:
                raise self.err(node, "REACTION_DATA_OUTPUT", "adding a constant to counts is not supported")
            const = None if terms else (a[1] or 0.0) + s * (b[1] or 0.0)
            return terms, const
        if k == "c_mul":
            if a[0] and b[0]:
                raise self.err(node, "REACTION_DATA_OUTPUT", "a product of two counts is not supported")
            if a[0]:
                return [(f * b[1], n) for f, n in a[0]], None
            if b[0]:
                return [(f * a[1], n) for f, n in b[0]], None
            return [], a[1] * b[1]
        # c_div
        if b[0]:
            raise self.err(node, "REACTION_DATA_OUTPUT", "dividing by a count is not supported")
        if b[1] == 0:
            raise self.err(node, "REACTION_DATA_OUTPUT", "division by zero")
        if a[0]:
            return [(f / b[1], n) for f, n in a[0]], None
        return [], a[1] / b[1]

    def count_term(self, factor, node) -> tuple:
        """Parse a COUNT[...] now (orientation, checks); its place is resolved at the end."""
        kind_node, what_tok, marks, loc, hit = node.children
        where = self.at(node)
        kind = str(kind_node.children[0])
        if kind == "TRIGGER":
            raise MDLError(where, "TRIGGER", "TRIGGER outputs (event lists) are not supported")
        if hit is not None:
            h = str(hit)
            raise MDLError(where, h, f"COUNT[..., {h}] (counting hits, crossings or estimates) is not supported")
        num, *mark_nodes = marks.children
        if not mark_nodes or str(mark_nodes[-1].children[0]) != ",":
            raise MDLError(where, "COUNT", "COUNT[what, where] needs a comma between the molecule and the place")
        mark_nodes = mark_nodes[:-1]
        if num is not None and mark_nodes:
            raise MDLError(where, "COUNT", "orientation given twice")
        orient = None
        if num is not None:
            orient = self.braced_orient(num, where)
        elif mark_nodes:
            orient = self.marks(mark_nodes, node)
        obj, reg = loc.children
        return factor, str(what_tok), orient, str(obj), None if reg is None else str(reg), where

    def count_resolve(self, factor, what, orient, obj, reg, where) -> CountTerm:
        if obj == "WORLD" and reg is None:
            location = "WORLD"
        elif obj in self.meta_paths and reg is None:
            location = obj
        else:
            mesh = self.meshes_named(obj, where, "COUNT", unique=True)[0]
            if reg is not None:
                self.mesh_region(mesh, reg, where, "COUNT")
            location = mesh.path if reg is None else f"{mesh.path}[{reg}]"
        return CountTerm(factor, what, orient, location, where)

    # --------------------------------------------------------------------------- the end
    def finish(self) -> Document:
        class_where_of = self.instance_regions()
        used_classes: dict[str, Where] = {}
        for mesh in self.objects:
            for name, r in mesh.regions.items():
                if r.surface_class is None:
                    continue
                cw = class_where_of.get((mesh.path, name)) or r.where
                if r.surface_class not in self.surface_classes:
                    raise MDLError(cw, "SURFACE_CLASS", f"{r.surface_class!r} (on {mesh.path}[{name}]) is not a "
                                                        f"surface class of DEFINE_SURFACE_CLASSES")
                used_classes.setdefault(r.surface_class, cw)
        for cname, quants in self.class_quants.items():
            if cname in used_classes and any(entry[1] != 0 for _kind, entry in quants):
                kind, entry = next((k, e) for k, e in quants if e[1] != 0)
                raise MDLError(entry[2], kind, f"{kind} inside the surface class {cname!r} is not supported; "
                                               f"give it in the region's DEFINE_SURFACE_REGIONS or "
                                               f"MODIFY_SURFACE_REGIONS instead")
        # release sites
        sites = []
        for site, s in self.sites:
            if site.region is not None:
                site.region = self.resolve_region(site.region, "SHAPE")
            if "pattern" in s:
                pname, pwhere = s["pattern"]
                if pname in self.patterns:
                    site.pattern = self.patterns[pname]
                elif pname in self.rxn_names:
                    raise MDLError(pwhere, "RELEASE_PATTERN", f"releases triggered by the reaction {pname!r} "
                                                              f"are not supported")
                else:
                    raise MDLError(pwhere, "RELEASE_PATTERN", f"no release pattern {pname!r} is defined")
            sites.append(site)
        # outputs
        outputs = []
        for out, terms in self.outputs:
            out.terms = [self.count_resolve(*t) for t in terms]
            outputs.append(out)
        variables = {k: v for k, v in self.vars.items() if not isinstance(v, FileHandle)}
        return Document(path=self.path, files=self.files, iterations=self.iterations, time_step=self.time_step,
                        surface_grid_density=self.grid_density, variables=variables,
                        molecules=list(self.molecules.values()), reactions=self.reactions,
                        surface_classes=self.surface_classes, objects=self.objects, release_sites=sites,
                        release_patterns=self.patterns, outputs=outputs, ignored=self.ignored)


def read(path, seed: int = 1) -> Document:
    """Read the MDL file ``path`` (and its includes) into a :class:`Document`.

    ``seed`` is the value of MDL's ``SEED`` (MCell's ``-seed``). Raises :class:`MDLError` (and
    nothing else) when the file cannot be read or uses constructs outside the subset.
    """
    reader = _Reader(os.fspath(path) if not isinstance(path, str) else path, int(seed))
    try:
        return reader.run()
    except MDLError:
        raise
    except RecursionError:
        raise MDLError(reader.where, "syntax", "the model nests too deeply") from None
    except Exception as exc:       # never let anything else escape: report where it happened
        raise MDLError(reader.where, "internal", f"{type(exc).__name__}: {exc}") from exc
