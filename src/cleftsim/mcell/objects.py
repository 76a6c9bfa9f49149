"""Object definitions, read before anything is instantiated: meta objects (``x OBJECT {...}``),
copies (``x OBJECT y {...}``), POLYGON_LIST and BOX objects with their surface regions, and
release sites. Each becomes a :class:`Definition`: a template in its own coordinates with its own
transform matrix (:mod:`cleftsim.mcell.geometry`), of which :mod:`cleftsim.mcell.instances` makes
the world-space instances.

MCell semantics followed (MCell 3's ``mdlparse.y``, ``mdlparse_util.c``):

- ELEMENT_CONNECTIONS index the VERTEX_LIST from 0; a triangle's normal follows the right-hand
  rule of its vertex order. Region ``ALL`` is every triangle. ELEMENT_LIST (= INCLUDE_ELEMENTS)
  entries are indices, ``a TO b`` (inclusive) ranges and, for a BOX, side names; EXCLUDE_ELEMENTS
  (and REMOVE_ELEMENTS inside a region) remove, INCLUDE_REGION / EXCLUDE_REGION add or remove an
  earlier region, all in the order written. REMOVE_ELEMENTS { ... } at the object level deletes
  those triangles from the object.
- BOX: CORNERS give the two opposite corners (triangles: :func:`~cleftsim.mcell.geometry.box`).
  ASPECT_RATIO (subdivision) is ignored, and then element numbers of the box are refused.
- ``x OBJECT y {...}`` copies y (with y's own transforms, ``copy_object``) and applies x's after
  them.
- Release sites: SHAPE is SPHERICAL, CUBIC, ELLIPTIC, RECTANGULAR or SPHERICAL_SHELL (at
  LOCATION), or a region expression (``obj[region]``, a bare object being ``obj[ALL]``, joined by
  ``+`` union, ``-`` difference and ``*`` intersection); SPHERICAL_RELEASE_SITE and the other old
  keywords give the shape by their name. SITE_RADIUS is half a SITE_DIAMETER.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from cleftsim.errors import MDLError
from cleftsim.mcell.document import Where
from cleftsim.mcell.expressions import ExpressionReader, num_str
from cleftsim.mcell.geometry import BOX_SIDES, box, rotation, scaling, translation
from cleftsim.mcell.keywords import unknown

__all__ = ["Definition", "ObjectReader", "Region", "apply_settings", "select"]

_SHAPES = frozenset({"SPHERICAL", "CUBIC", "ELLIPTIC", "RECTANGULAR", "SPHERICAL_SHELL", "LIST"})
_OLD_SITES = {"SPHERICAL_RELEASE_SITE": "SPHERICAL", "CUBIC_RELEASE_SITE": "CUBIC",
              "ELLIPTIC_RELEASE_SITE": "ELLIPTIC", "RECTANGULAR_RELEASE_SITE": "RECTANGULAR",
              "SPHERICAL_SHELL_SITE": "SPHERICAL_SHELL"}
_ALL_SIDES = {"ALL", "ALL_ELEMENTS"}


class Region:
    """A surface region of a definition: its triangles and what is set on it."""

    __slots__ = ("name", "triangles", "surface_class", "densities", "numbers", "where", "class_where")

    def __init__(self, name, triangles, where):
        self.name, self.triangles, self.where = name, triangles, where
        self.surface_class, self.class_where = None, None
        self.densities: list = []
        self.numbers: list = []

    def copy(self):
        r = Region(self.name, self.triangles, self.where)
        r.surface_class, r.class_where = self.surface_class, self.class_where
        r.densities, r.numbers = list(self.densities), list(self.numbers)
        return r


class Definition:
    """An object definition: meta, polygon (also a BOX) or release site."""

    def __init__(self, name, kind, where, path):
        self.name, self.kind, self.where = name, kind, where
        self.matrix = np.eye(4)
        self.children: list[Definition] = []
        self.vertices = None
        self.triangles = None
        self.regions: dict[str, Region] = {}
        self.site: dict[str, Any] = {}
        self.origins = {path}       # the paths of the definitions it is a copy of (and its own)
        self.is_box = False
        self.subdivided = False     # a BOX with ASPECT_RATIO: MCell numbers its (more) triangles otherwise

    def clone(self, name, path):
        d = Definition(name, self.kind, self.where, path)
        d.matrix = self.matrix.copy()
        d.vertices, d.triangles = self.vertices, self.triangles
        d.regions = {k: r.copy() for k, r in self.regions.items()}
        d.site = dict(self.site)
        d.origins = self.origins | {path}
        d.is_box, d.subdivided = self.is_box, self.subdivided
        d.children = [c.clone(c.name, f"{path}.{c.name}") for c in self.children]
        return d


def apply_settings(reg, settings):
    """SURFACE_CLASS (the last one wins), MOLECULE_DENSITY and MOLECULE_NUMBER (added) of a
    region (a definition's Region or an instance's RegionSpec)."""
    for key, value, where in settings:
        if key == "SURFACE_CLASS":
            reg.surface_class = value
            if isinstance(reg, Region):
                reg.class_where = where
        elif key == "MOLECULE_DENSITY":
            reg.densities.extend(value)
        else:
            reg.numbers.extend(value)


def select(ops, name: str, regions: dict, shape: Definition, where, construct) -> np.ndarray:
    """A boolean mask over the triangles of the polygon definition ``shape`` from element
    operations, in order; ``name`` and ``regions`` are those of ``shape`` or of an instance."""
    m = len(shape.triangles)
    mask = np.zeros(m, dtype=bool)
    for include, op in ops:
        if op[0] == "idx":
            idx = op[1]
            if shape.subdivided and idx.size:
                raise MDLError(where, construct, f"element numbers of the BOX {name!r} with ASPECT_RATIO are "
                                                 f"not supported (MCell subdivides it; cleftsim does not): use "
                                                 f"side names (TOP, BOTTOM, ...)")
            if idx.size and (idx.min() < 0 or idx.max() >= m):
                raise MDLError(where, construct, f"element {int(idx.max())} does not exist: {name!r} has "
                                                 f"{m} triangles (indices 0 to {m - 1})")
        elif op[0] == "side":
            if op[1] in _ALL_SIDES:
                idx = np.arange(m)
            elif not shape.is_box:
                raise MDLError(where, construct, f"the side name {op[1]} is only for BOX objects")
            else:
                idx = np.array(BOX_SIDES[op[1]])
        else:
            reg = regions.get(op[1])
            if reg is None:
                raise MDLError(where, construct, f"{name!r} has no region {op[1]!r} (yet)")
            idx = reg.triangles
        mask[idx] = include
    return mask


class ObjectReader(ExpressionReader):
    """Reads the object definitions (the statements ``x OBJECT``, ``x POLYGON_LIST``, ``x BOX`` and
    ``x RELEASE_SITE``) into :class:`Definition` s, by name and by dotted path."""

    def __init__(self, path: str, seed: int):
        super().__init__(path, seed)
        self.arrays: list = []                          # the pre-scanned bodies of the file being read
        self.ignored: list[tuple[str, Where]] = []      # constructs read and ignored (Document.ignored)
        self.defs: dict[str, Definition] = {}           # top-level definitions
        self.def_paths: dict[str, Definition] = {}      # every definition by dotted path

    # --------------------------------------------------------------------------- definitions
    def st_meta_def(self, node):
        self.register(self.object_def(node, ""))

    st_ref_def = st_polygon_def = st_box_def = st_release_def = st_meta_def

    def register(self, d: Definition):
        if d.name in self.defs:
            raise MDLError(d.where, "OBJECT", f"object {d.name!r} is defined twice (first at {self.defs[d.name].where})")
        self.defs[d.name] = d
        self.register_paths(d, d.name)

    def register_paths(self, d: Definition, path: str):
        self.def_paths[path] = d
        for c in d.children:
            self.register_paths(c, f"{path}.{c.name}")

    def object_def(self, node, prefix: str) -> Definition:
        name = str(node.children[0])
        path = f"{prefix}.{name}" if prefix else name
        where = self.at(node)
        kind = node.data
        if kind == "meta_def":
            d = Definition(name, "meta", where, path)
            self.meta_body(d, path, node.children[1:], "OBJECT")
            return d
        if kind == "ref_def":
            source = str(node.children[1])
            src = self.defs.get(source) or self.def_paths.get(source)
            if src is None:
                raise MDLError(where, "OBJECT", f"{name} OBJECT {source}: no object {source!r} is defined "
                                                f"(define it before referring to it)")
            d = src.clone(name, path)
            d.where = where if src.kind == "meta" else src.where
            for item in node.children[2:]:
                self.transform(d, item, "OBJECT")
            return d
        if kind in ("polygon_def", "box_def"):
            return self.polygon(node, name, path, where, kind == "box_def")
        return self.release_site(node, name, path, where)

    def meta_body(self, d: Definition, path: str, items, construct: str):
        """The transforms and the children of the meta object ``d`` (also of an INSTANTIATE)."""
        seen = set()
        for item in items:
            if item.data == "prop":
                self.transform(d, item, construct)
            else:
                child = self.object_def(item, path)
                if child.name in seen:
                    raise MDLError(child.where, "OBJECT", f"{path!r} has two children named {child.name!r}")
                seen.add(child.name)
                d.children.append(child)

    def transform(self, d: Definition, prop, construct):
        key = str(prop.children[0])
        values = prop.children[1:]
        if key == "TRANSLATE":
            self.one_value(prop, key)
            d.matrix = d.matrix @ translation(self.vector(values[0], "TRANSLATE needs a vector [x, y, z]"))
        elif key == "SCALE":
            self.one_value(prop, key)
            v = self.eval(values[0])
            if isinstance(v, float):
                v = (v, v, v)
            if not isinstance(v, tuple) or len(v) != 3:
                raise self.err(prop, key, f"SCALE needs a number or a vector [x, y, z], got {self.describe(v)}")
            d.matrix = d.matrix @ scaling(v)
        elif key == "ROTATE":
            if len(values) != 2:
                raise self.err(prop, key, "ROTATE needs an axis and an angle: ROTATE = [x, y, z], degrees")
            axis = self.vector(values[0], "ROTATE needs an axis [x, y, z]")
            if not np.linalg.norm(axis) > 0:
                raise self.err(prop, key, "the ROTATE axis is zero")
            d.matrix = d.matrix @ rotation(axis, self.num(values[1]))
        else:
            raise unknown(self.at(prop), key, f"in {construct}", f"{key} = ...")

    # --------------------------------------------------------------------------- polygons and boxes
    def prescanned(self, node, kind: str):
        """The pre-scanned (rows, values) of a body that is a ``$k$`` placeholder, else None."""
        first = node.children[0] if node.children else None
        if getattr(first, "type", None) != "ARRAYREF":
            return None
        try:
            return self.arrays[int(str(first)[1:-1])]
        except IndexError:
            raise self.err(first, kind, "internal: lost a pre-scanned list") from None

    def rows(self, body, kind: str, width: int, what: str) -> np.ndarray:
        """The rows of a VERTEX_LIST / ELEMENT_CONNECTIONS body as an (n, width) float array."""
        array = self.prescanned(body, kind)
        if array is not None:
            nrows, flat = array
            if nrows is None or flat.size != nrows * width:
                raise self.err(body, kind, f"every {what} must have {width} numbers")
            if not np.all(np.isfinite(flat)):
                raise self.err(body, kind, f"a {what} has an infinite or not-a-number coordinate")
            return flat.reshape(-1, width)
        out = []
        for expr in body.children:
            if expr is None:
                continue
            v = self.eval(expr)
            if not isinstance(v, tuple) or len(v) != width:
                raise self.err(expr, kind, f"every {what} must be [{', '.join('abc'[:width])}] "
                                           f"({width} numbers), got {self.describe(v)}")
            out.append(v)
        return np.array(out, dtype=float).reshape(-1, width)

    def polygon(self, node, name, path, where, is_box) -> Definition:
        d = Definition(name, "polygon", where, path)
        d.is_box = is_box
        construct = "BOX" if is_box else "POLYGON_LIST"
        verts = tris = None
        region_nodes: list = []
        removed: list = []
        for item in node.children[1:]:
            kind = item.data
            if kind == "vertex_list":
                verts = self.rows(item.children[0], "VERTEX_LIST", 3, "vertex")
            elif kind == "element_connections":
                t = self.rows(item.children[0], "ELEMENT_CONNECTIONS", 3, "triangle")
                if t.size and (np.any(t != np.floor(t)) or np.any(t < 0)):
                    raise self.err(item, "ELEMENT_CONNECTIONS", "vertex indices must be whole numbers >= 0")
                tris = t.astype(np.int64)
            elif kind == "normal_list":
                self.ignored.append(("NORMAL_LIST", self.at(item)))
            elif kind == "surface_regions":
                region_nodes.extend(item.children[1:])
            elif kind == "remove_elements":
                removed.append(item)
            else:                               # prop
                key = str(item.children[0])
                if is_box and key == "CORNERS":
                    if len(item.children) != 3:
                        raise self.err(item, key, "CORNERS needs two corners: CORNERS = [x0, y0, z0], [x1, y1, z1]")
                    p0 = self.vector(item.children[1], "a corner [x, y, z]")
                    p1 = self.vector(item.children[2], "a corner [x, y, z]")
                    if np.any(p0 == p1):
                        raise self.err(item, key, "the box has no volume: its corners share a coordinate")
                    verts, tris = box(p0, p1)
                elif is_box and key == "ASPECT_RATIO":
                    self.ignored.append((key, self.at(item)))
                    d.subdivided = True
                else:
                    self.transform(d, item, construct)
            if kind in ("surface_regions", "remove_elements") and tris is None:
                raise self.err(item, construct, "regions come after the geometry (VERTEX_LIST and "
                                                 "ELEMENT_CONNECTIONS, or CORNERS)")
        if verts is None or tris is None:
            missing = "CORNERS" if is_box else ("VERTEX_LIST" if verts is None else "ELEMENT_CONNECTIONS")
            raise MDLError(where, construct, f"{name!r} has no {missing}")
        if tris.size and tris.max() >= len(verts):
            bad = int(np.argmax(tris.max(axis=1) >= len(verts)))
            raise MDLError(where, "ELEMENT_CONNECTIONS", f"{name!r}: triangle {bad} refers to vertex "
                                                         f"{int(tris[bad].max())} but there are {len(verts)} vertices")
        d.vertices, d.triangles = verts, tris
        m = len(tris)
        d.regions["ALL"] = Region("ALL", np.arange(m, dtype=np.int64), where)
        for r in region_nodes:
            self.region_def(d, r)
        if removed:
            gone = np.zeros(m, dtype=bool)
            for item in removed:
                ops = []
                for part in item.children[1:]:
                    if part is not None:
                        ops.extend(self.elem_stmt(part) if part.data == "elem_stmt" else self.elem_specs([part], True))
                gone |= select(ops, d.name, d.regions, d, self.at(item), "REMOVE_ELEMENTS")
            keep = ~gone
            new_index = np.cumsum(keep) - 1
            d.triangles = tris[keep]
            for reg in d.regions.values():
                t = reg.triangles
                reg.triangles = new_index[t[keep[t]]]
        return d

    # --------------------------------------------------------------------------- regions
    def region_def(self, d: Definition, node):
        rname = str(node.children[0])
        where = self.at(node)
        ops, settings = self.region_items(node.children[1:])
        if rname == "ALL":
            reg = d.regions["ALL"]
        else:
            if rname in d.regions:
                raise MDLError(where, "DEFINE_SURFACE_REGIONS", f"region {rname!r} of {d.name!r} is defined twice")
            reg = Region(rname, np.flatnonzero(select(ops, d.name, d.regions, d, where, "ELEMENT_LIST")), where)
            d.regions[rname] = reg
        apply_settings(reg, settings)

    def region_items(self, items) -> tuple[list, list]:
        """Element operations [(include?, op)] and settings [(key, value, where)] of a region body."""
        ops, settings = [], []
        for item in items:
            if item.data == "elem_stmt":
                ops.extend(self.elem_stmt(item))
            elif item.data == "quant_block":
                kind, entries = self.quants(item)
                settings.append((kind, entries, self.at(item)))
            else:
                key = str(item.children[0])
                if key in ("INCLUDE_REGION", "EXCLUDE_REGION"):
                    self.one_value(item, key)
                    ops.append((key == "INCLUDE_REGION", ("region", self.raw_name(item.children[1], key))))
                elif key == "SURFACE_CLASS":
                    self.one_value(item, key)
                    settings.append((key, self.raw_name(item.children[1], key), self.at(item)))
                elif key == "VIZ_VALUE":
                    self.ignored.append((key, self.at(item)))
                else:
                    raise unknown(self.at(item), key, "in a surface region", f"{key} = ...")
        return ops, settings

    def quants(self, node) -> tuple[str, list]:
        """The kind (MOLECULE_DENSITY or MOLECULE_NUMBER) and the entries [(term, value, where)] of
        a ``quant_block``."""
        kind = str(node.children[0].children[0])
        entries = []
        for q in node.children[1:]:
            t = self.term(q.children[0])
            v = self.num(q.children[1])
            if v < 0:
                raise self.err(q, kind, f"{kind} of {t.name!r} must be >= 0, got {num_str(v)}")
            if kind == "MOLECULE_NUMBER":
                if v != int(v):
                    raise self.err(q, kind, f"MOLECULE_NUMBER of {t.name!r} must be a whole number, got {num_str(v)}")
                v = int(v)
            entries.append((t, v, self.at(q)))
        return kind, entries

    def elem_stmt(self, node) -> list:
        """The element operations [(include?, op)] of ``ELEMENT_LIST = [...]`` and its kin."""
        kind = str(node.children[0].children[0])
        include = kind in ("ELEMENT_LIST", "INCLUDE_ELEMENTS")
        lst = node.children[1]
        array = self.prescanned(lst, kind)
        if array is not None:
            return [(include, ("idx", array[1].astype(np.int64)))]
        return self.elem_specs([c for c in lst.children if c is not None], include)

    def elem_specs(self, specs, include: bool) -> list:
        ops = []
        for spec in specs:
            a, b = spec.children
            if b is None and getattr(a, "data", None) == "var" and str(a.children[0]) not in self.vars:
                side = str(a.children[0])
                if side in BOX_SIDES or side in _ALL_SIDES:
                    ops.append((include, ("side", side)))
                    continue
            lo = self.num(a, "an element index")
            hi = lo if b is None else self.num(b, "an element index")
            if lo != int(lo) or hi != int(hi) or lo < 0 or hi < lo:
                raise self.err(spec, "ELEMENT_LIST", f"bad element index or range {num_str(lo)}"
                                                     + ("" if b is None else f" TO {num_str(hi)}"))
            ops.append((include, ("idx", np.arange(int(lo), int(hi) + 1, dtype=np.int64))))
        return ops

    # --------------------------------------------------------------------------- release sites
    def release_site(self, node, name, path, where) -> Definition:
        d = Definition(name, "release", where, path)
        kind = str(node.children[1].children[0])
        site = d.site
        site["shape"] = _OLD_SITES.get(kind)
        site["where"] = where
        for item in node.children[2:]:
            k = item.data
            if k == "shape":
                site["shape"], site["region"] = self.shape(item.children[0])
            elif k == "molecule":
                site["molecule"] = self.term(item.children[0])
            elif k == "positions":
                raise self.err(item, "MOLECULE_POSITIONS", "LIST release sites (MOLECULE_POSITIONS) are not supported")
            elif k == "sub_block":
                key = str(item.children[0])
                raise unknown(self.at(item), key, "in a release site", f"{key} {{...}}")
            else:
                key = str(item.children[0])
                vals = item.children[1:]
                if key == "LOCATION":
                    self.one_value(item, key)
                    site["location"] = self.vector(vals[0], "LOCATION needs a vector [x, y, z]")
                elif key in ("SITE_DIAMETER", "SITE_RADIUS"):
                    self.one_value(item, key)
                    v = self.eval(vals[0])
                    factor = 2.0 if key == "SITE_RADIUS" else 1.0
                    if isinstance(v, float):
                        site["diameter"] = factor * v
                    elif isinstance(v, tuple) and len(v) == 3:
                        site["diameter"] = factor * np.array(v)
                    else:
                        raise self.err(item, key, f"{key} needs a number or a vector, got {self.describe(v)}")
                elif key in ("NUMBER_TO_RELEASE", "DENSITY", "CONCENTRATION", "RELEASE_PROBABILITY"):
                    self.one_value(item, key)
                    site[key] = self.num(vals[0])
                elif key == "RELEASE_PATTERN":
                    self.one_value(item, key)
                    site["pattern"] = (self.raw_name(vals[0], key), self.at(item))
                elif key in ("TRANSLATE", "SCALE", "ROTATE"):
                    self.transform(d, item, "RELEASE_SITE")
                else:
                    raise unknown(self.at(item), key, "in a release site", f"{key} = ...")
        if site["shape"] is None:
            raise MDLError(where, "RELEASE_SITE", f"release site {name!r} has no SHAPE")
        if site["shape"] == "LIST":
            raise MDLError(where, "MOLECULE_POSITIONS", "LIST release sites (MOLECULE_POSITIONS) are not supported")
        if site["shape"] != "REGION" and "location" not in site:
            raise MDLError(where, "LOCATION", f"release site {name!r} (SHAPE {site['shape']}) has no LOCATION")
        if "molecule" not in site:
            raise MDLError(where, "MOLECULE", f"release site {name!r} has no MOLECULE")
        return d

    def shape(self, node):
        """(shape, region expression or None) of ``SHAPE = ...``."""
        if node.data == "rref" and node.children[1] is None:
            word = str(node.children[0])
            if word in _SHAPES:
                return word, None
        return "REGION", self.region_expr(node)

    def region_expr(self, node):
        """A region expression as nested tuples: ("region", object, region, where) and
        (op, a, b) for op in + - *; object names are resolved after instantiation."""
        k = node.data
        if k == "rref":
            obj, reg = node.children
            return ("region", str(obj), str(reg) if reg is not None else "ALL", self.at(node))
        if k == "r_incl":
            raise self.err(node, "SHAPE", "the region operator '&' (inclusion) is not supported; use + - *")
        op = {"r_union": "+", "r_diff": "-", "r_inter": "*"}[k]
        a, b = node.children
        return (op, self.region_expr(a), self.region_expr(b))
