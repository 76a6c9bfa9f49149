"""Build a cleftsim Model from a read MDL document (:mod:`cleftsim.mcell.document`).

Everything goes through the public :class:`~cleftsim.model.Model` API, so every check of a model
applies; an error of the model is reported as an :class:`MDLError` at the MDL construct that
caused it. The mapping of each construct (MCell 3 semantics: Kerr et al. 2008, SIAM J Sci Comput
30:3126, and MCell's MDL reference) is in docs/mcell.md: units (cm²/s × 10⁸ → µm²/s), objects
named after their instances, overlapping MCell regions as lists of cleftsim regions, orientation
marks as binding and product sides, release sites and patterns, outputs named after their files.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from cleftsim.errors import MDLError, MeshError, ModelError, ReleaseError, UnitError
from cleftsim.geometry import Mesh, checks
from cleftsim.mcell.document import Document, MeshObject, ReleaseSite, Term, Where
from cleftsim.model.model import Model
from cleftsim.units import PER_UM3_PER_MOLAR

#: µm²/s per cm²/s.
UM2_PER_CM2 = 1e8
#: Errors of the model API reported at the construct that raised them.
_MODEL_ERRORS = (ModelError, MeshError, UnitError, ReleaseError, ValueError)


class _At:
    """Report a model error raised inside the block as an MDLError at ``where``."""

    def __init__(self, where: Where | None, construct: str):
        self.where, self.construct = where, construct

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is not None and isinstance(exc, _MODEL_ERRORS) and not isinstance(exc, MDLError):
            raise MDLError(self.where, self.construct, str(exc)) from None
        return False


def _side(surface: int | None, volume: int | None) -> str:
    """The side relation of a volume molecule's orientation mark to its surface molecule's."""
    if not surface or not volume:
        return "both"
    return "facing" if surface == volume else "back"


def _product_side(surface: int | None, volume: int | None) -> str:
    side = _side(surface, volume)
    return "random" if side == "both" else side


class Builder:
    """The state of one build: the model and the names of what it holds."""

    def __init__(self, doc: Document, seed: int | None, dt: Any):
        self.doc = doc
        if doc.time_step is None:
            raise MDLError(Where(doc.path, 1), "TIME_STEP", "the model has no TIME_STEP; give one, e.g. TIME_STEP = 1e-6")
        if doc.iterations is None:
            raise MDLError(Where(doc.path, 1), "ITERATIONS", "the model has no ITERATIONS; give one, e.g. ITERATIONS = 1000")
        steps = {o.step for o in doc.outputs if o.step is not None}
        if len(steps) > 1:
            first = next(o for o in doc.outputs if o.step is not None)
            raise MDLError(first.where, "REACTION_DATA_OUTPUT",
                           f"outputs are written at different STEPs {sorted(steps)}; cleftsim samples every observable "
                           f"at one interval: give every REACTION_DATA_OUTPUT block the same STEP")
        every = steps.pop() if steps else doc.time_step
        self.t_end = doc.iterations * doc.time_step
        n_samples = math.floor(self.t_end / every * (1 + 1e-9))
        with _At(Where(doc.path, 1), "TIME_STEP" if dt is None else "dt"):
            kwargs = {} if doc.surface_grid_density is None else {"tile_density": doc.surface_grid_density}
            # ITERATIONS = 0: the model's initial state only, no default duration
            self.model = Model(doc.time_step if dt is None else dt, seed=seed, every=every,
                               t_end=n_samples * every if n_samples else None, **kwargs)
        self.model.metadata["mcell"] = {"path": doc.path, "files": list(doc.files)}
        self.volume: dict[str, Any] = {}
        self.surface: dict[str, Any] = {}
        self.objects: dict[str, tuple[Any, MeshObject, dict[str, list]]] = {}
        self.reactions: dict[str, list] = {}

    # ---- species --------------------------------------------------------------------------
    def species(self) -> None:
        for mol in self.doc.molecules:
            with _At(mol.where, f"molecule {mol.name}"):
                D = mol.D * UM2_PER_CM2
                if mol.surface:
                    self.surface[mol.name] = self.model.add_surface_species(mol.name, D)
                else:
                    self.volume[mol.name] = self.model.add_species(mol.name, D)

    def _kind(self, term: Term, where: Where, construct: str) -> str:
        if term.name in self.volume:
            return "volume"
        if term.name in self.surface:
            return "surface"
        if term.name in self.doc.surface_classes:
            raise MDLError(where, construct, f"{term.name!r} is a surface class: reactions with surface classes "
                                             f"are not supported by cleftsim")
        raise MDLError(where, construct, f"{term.name!r} is not a molecule of DEFINE_MOLECULES")

    # ---- geometry -------------------------------------------------------------------------
    def geometry(self) -> None:
        """One cleftsim object per instantiated MCell object; objects that touch or cross (MCell
        allows it, cleftsim's objects must keep apart) become one object, named after their
        common parent, whose regions are named ``"<object>[<region>]"``."""
        meshes = [self._mesh(mo) for mo in self.doc.objects]
        groups = self._touching([mo for mo in self.doc.objects], meshes)
        leaves = [mo.path.rsplit(".", 1)[-1] for mo in self.doc.objects]
        for members in groups:
            first = self.doc.objects[members[0]]
            if len(members) == 1:
                leaf = leaves[members[0]]
                name = leaf if leaves.count(leaf) == 1 else first.path.replace(".", "_")
                mesh = meshes[members[0]][0]
            else:
                parts = [self.doc.objects[i].path.split(".") for i in members]
                common = [p[0] for p in zip(*parts) if len(set(p)) == 1]
                name = "_".join(common) if common else "_".join(leaves[i] for i in members)
                mesh = self._merged([meshes[i][0] for i in members], [leaves[i] for i in members])
            with _At(first.where, f"object {first.path}"):
                obj = self.model.add_geometry(mesh, name)
            for i in members:
                mo, cells = self.doc.objects[i], meshes[i][1]
                label = "{}" if len(members) == 1 else f"{leaves[i]}[{{}}]"
                self.objects[mo.path] = (obj, mo, {reg: [obj.region(label.format(lab)) for lab in labs]
                                                   for reg, labs in cells.items()})

    @staticmethod
    def _merged(meshes: list[Mesh], names: list[str]) -> Mesh:
        """One mesh of several, region ``r`` of the mesh named ``n`` renamed ``"n[r]"``."""
        v_off = np.cumsum([0] + [len(m.vertices) for m in meshes])
        t_off = np.cumsum([0] + [m.n_triangles for m in meshes])
        return Mesh(np.concatenate([m.vertices for m in meshes]),
                    np.concatenate([m.triangles + o for m, o in zip(meshes, v_off)]),
                    {f"{n}[{r}]": m.region(r) + o for m, n, o in zip(meshes, names, t_off) for r in m.region_names})

    @staticmethod
    def _mesh(mo: MeshObject) -> tuple[Mesh, dict[str, list[str]]]:
        """The object's Mesh, its triangles grouped by the MCell regions they are in, and the
        names of the groups of each MCell region ("ALL": every group)."""
        named = [r for r in mo.regions.values() if r.name != "ALL"]
        member = np.zeros((len(mo.triangles), len(named)), dtype=bool)
        for k, reg in enumerate(named):
            member[reg.triangles, k] = True
        keys, cell = np.unique(member, axis=0, return_inverse=True)
        cell = cell.ravel()
        labels = ["+".join(named[k].name for k in np.flatnonzero(key)) or "rest" for key in keys]
        with _At(mo.where, f"object {mo.path}"):
            mesh = Mesh(mo.vertices, mo.triangles, {lab: np.flatnonzero(cell == i) for i, lab in enumerate(labels)})
        cells = {"ALL": labels}
        for k, reg in enumerate(named):
            cells[reg.name] = [lab for lab, key in zip(labels, keys) if key[k]]
        return mesh, cells

    @staticmethod
    def _touching(objects: list[MeshObject], meshes: list) -> list[list[int]]:
        """Groups of objects (indices) that touch or cross one another, in instantiation order."""
        group = list(range(len(objects)))

        def root(i):
            while group[i] != i:
                i = group[i]
            return i

        for i in range(len(objects)):
            for j in range(i):
                if root(i) != root(j) and checks.objects_intersection(meshes[j][0], objects[j].path,
                                                                      meshes[i][0], objects[i].path):
                    group[root(i)] = root(j)
        out: dict[int, list[int]] = {}
        for i in range(len(objects)):
            out.setdefault(root(i), []).append(i)
        return list(out.values())

    def _object(self, path: str, where: Where, construct: str):
        if path in self.objects:
            return self.objects[path]
        raise MDLError(where, construct, f"no instantiated object {path!r}; the objects are {sorted(self.objects)}")

    def _region(self, path: str, region: str, where: Where, construct: str) -> list:
        _, _, regions = self._object(path, where, construct)
        if region not in regions:
            raise MDLError(where, construct, f"object {path!r} has no region {region!r}; it has {sorted(regions)}")
        return regions[region]

    def _region_expr(self, expr: tuple, where: Where, construct: str) -> list:
        """The cleftsim regions of an MCell region expression (union +, difference -, intersection *)."""
        if expr[0] == "region":
            return self._region(expr[1], expr[2], where, construct)
        a = {r.index: r for r in self._region_expr(expr[1], where, construct)}
        b = {r.index: r for r in self._region_expr(expr[2], where, construct)}
        keep = {"+": a.keys() | b.keys(), "-": a.keys() - b.keys(), "*": a.keys() & b.keys()}[expr[0]]
        both = a | b
        return [both[i] for i in sorted(keep)]

    # ---- surface classes and surface molecules ------------------------------------------------
    def surfaces(self) -> None:
        for path, (_, mo, regions) in self.objects.items():
            for reg in mo.regions.values():          # "ALL" first: named regions override it
                if reg.surface_class is not None:
                    self._surface_class(reg.surface_class, regions[reg.name], reg.where)
                for term, density, where in reg.densities:
                    self._place(term, regions[reg.name], where, density=density)
                for term, number, where in reg.numbers:
                    self._place(term, regions[reg.name], where, n=int(number))

    def _surface_class(self, name: str, regions: list, where: Where) -> None:
        construct = f"SURFACE_CLASS = {name}"
        if name not in self.doc.surface_classes:
            raise MDLError(where, construct, f"no surface class {name!r} in DEFINE_SURFACE_CLASSES")
        for rule in self.doc.surface_classes[name].rules:
            what = f"surface class {name}: {rule.kind.upper()} = {rule.molecule}"
            if rule.molecule in ("ALL_MOLECULES", "ALL_VOLUME_MOLECULES"):
                targets = list(self.volume)
            elif rule.molecule == "ALL_SURFACE_MOLECULES" or rule.molecule in self.surface:
                raise MDLError(rule.where, what, "surface classes acting on surface molecules are not supported "
                                                 "(cleftsim keeps surface molecules on their region)")
            elif rule.molecule in self.volume:
                targets = [rule.molecule]
            else:
                raise MDLError(rule.where, what, f"{rule.molecule!r} is not a molecule of DEFINE_MOLECULES")
            if rule.kind == "clamp_concentration":
                sides = {1: ["outside"], -1: ["inside"]}.get(rule.orient, ["outside", "inside"])
                for side in sides:
                    with _At(rule.where, what):
                        self.model.clamp(targets[0], rule.value, region=regions, side=side)
                continue
            if rule.orient not in (None, 0):
                raise MDLError(rule.where, what, "a surface rule for one side only is not supported; write the "
                                                 "molecule with ';' (both sides)")
            rule_name = {"absorptive": "absorb", "transparent": "transparent", "reflective": "reflect"}[rule.kind]
            with _At(rule.where, what):
                for sp in targets:
                    self.model.set_surface(sp, regions, rule_name)

    def _place(self, term: Term, regions: list, where: Where, n: int | None = None, density: float | None = None):
        construct = f"{term.name} on a surface"
        if term.name not in self.surface:
            raise MDLError(where, construct, f"{term.name!r} is not a surface molecule (DIFFUSION_CONSTANT_2D); "
                                             f"volume molecules are released in a volume")
        if term.orient not in (1, -1):
            raise MDLError(where, construct, f"give the orientation of {term.name!r}: {term.name}' (along the "
                                             f"normals) or {term.name}, (against them)")
        with _At(where, construct):
            self.model.place(term.name, regions, n=n, density=density,
                             facing="outside" if term.orient > 0 else "inside")

    # ---- reactions ------------------------------------------------------------------------
    def chemistry(self) -> None:
        for rx in self.doc.reactions:
            construct = f"reaction {' + '.join(t.name for t in rx.reactants)} -> " \
                        f"{' + '.join(t.name for t in rx.products) or 'NULL'}"
            kinds = [self._kind(t, rx.where, construct) for t in rx.reactants]
            pkinds = [self._kind(t, rx.where, construct) for t in rx.products]
            if len(rx.reactants) > 2:
                raise MDLError(rx.where, construct, "reactions of three molecules are not supported")
            if kinds.count("surface") > 1:
                raise MDLError(rx.where, construct, "reactions between two surface molecules are not supported")
            surf = next((t for t, k in zip(rx.reactants, kinds) if k == "surface"), None)
            options: dict[str, Any] = {}
            if surf is not None:
                vol = next((t for t, k in zip(rx.reactants, kinds) if k == "volume"), None)
                if vol is not None:
                    options["side"] = _side(surf.orient, vol.orient)
                sprod = [t for t, k in zip(rx.products, pkinds) if k == "surface"]
                if any(t.orient and surf.orient and t.orient != surf.orient for t in sprod):
                    raise MDLError(rx.where, construct, "a surface molecule that turns over (a product oriented "
                                                        "opposite to its reactant) is not supported")
                vprod = [t for t, k in zip(rx.products, pkinds) if k == "volume"]
                if vprod:
                    options["product_side"] = tuple(_product_side(surf.orient, t.orient) for t in vprod)
            equation = f"{' + '.join(t.name for t in rx.reactants)} -> {' + '.join(t.name for t in rx.products) or '0'}"
            with _At(rx.where, construct):
                made = self.model.add_reaction(equation, rx.k, name=rx.name, **options)
            if rx.name is not None:
                self.reactions.setdefault(rx.name, []).append(made)

    # ---- releases -------------------------------------------------------------------------
    def releases(self) -> None:
        for site in self.doc.release_sites:
            construct = f"release site {site.path}"
            if site.molecule is None:
                raise MDLError(site.where, construct, "the release site has no MOLECULE")
            if site.shape == "REGION" and site.molecule.name in self.surface:
                self._surface_release(site, construct)
                continue
            if site.molecule.name not in self.volume:
                raise MDLError(site.where, construct, f"{site.molecule.name!r} is not a volume molecule of "
                                                      f"DEFINE_MOLECULES (surface molecules are released on a region)")
            where = self._release_where(site, construct)
            n = self._release_number(site, construct, where)
            times = [0.0] if site.pattern is None else site.pattern.times(self.t_end)
            with _At(site.where, construct):
                for t in times:
                    self.model.release(site.molecule.name, n, t=t, p=site.probability, **where)

    def _surface_release(self, site: ReleaseSite, construct: str) -> None:
        if site.pattern is not None or site.probability != 1:
            raise MDLError(site.where, construct, "surface molecules are placed at the start only: a RELEASE_PATTERN "
                                                  "or a RELEASE_PROBABILITY below 1 is not supported for them")
        if site.concentration is not None:
            raise MDLError(site.where, construct, "give surface molecules by NUMBER_TO_RELEASE or DENSITY")
        regions = self._region_expr(site.region, site.where, construct)
        if site.density is not None:
            self._place(site.molecule, regions, site.where, density=site.density)
        else:
            self._place(site.molecule, regions, site.where, n=self._whole(site.number, site, construct))

    def _release_where(self, site: ReleaseSite, construct: str) -> dict[str, Any]:
        if site.shape == "REGION":
            expr = site.region
            if expr[0] != "region" or expr[2] != "ALL":
                raise MDLError(site.where, construct, "volume molecules are released inside a whole object "
                                                      "(SHAPE = obj or obj[ALL]); region expressions are not supported")
            return {"inside": self._object(expr[1], site.where, construct)[0]}
        if site.shape not in ("SPHERICAL", "CUBIC"):
            raise MDLError(site.where, construct, f"release sites of SHAPE = {site.shape} are not supported (only "
                                                  f"SPHERICAL, CUBIC and objects)")
        d = np.atleast_1d(np.asarray(site.diameter, dtype=float))
        if site.location is None:
            raise MDLError(site.where, construct, "the release site has no LOCATION")
        if np.ptp(d) > 0:
            raise MDLError(site.where, construct, "release sites with different diameters along x, y, z "
                                                  "(ellipsoids, boxes) are not supported")
        at, size = np.asarray(site.location, dtype=float), float(d[0])
        if size == 0:
            return {"at": at}
        if site.shape == "SPHERICAL":
            return {"sphere": (at, size / 2)}
        return {"box": (at - size / 2, at + size / 2)}

    def _release_number(self, site: ReleaseSite, construct: str, where: dict[str, Any]) -> int:
        if site.density is not None:
            raise MDLError(site.where, construct, "DENSITY releases surface molecules on a region; for volume "
                                                  "molecules give NUMBER_TO_RELEASE or CONCENTRATION")
        if site.concentration is None:
            return self._whole(site.number, site, construct)
        if "inside" in where:
            volume = abs(where["inside"].mesh.volume)
        elif "sphere" in where:
            volume = 4 / 3 * math.pi * where["sphere"][1] ** 3
        elif "box" in where:
            volume = float(np.prod(where["box"][1] - where["box"][0]))
        else:
            raise MDLError(site.where, construct, "a CONCENTRATION needs a site with a volume (SITE_DIAMETER > 0)")
        return int(round(site.concentration * PER_UM3_PER_MOLAR * volume))

    @staticmethod
    def _whole(number: float | None, site: ReleaseSite, construct: str) -> int:
        if number is None:
            raise MDLError(site.where, construct, "give NUMBER_TO_RELEASE (or CONCENTRATION, or DENSITY on a region)")
        if number < 0:
            raise MDLError(site.where, construct, f"NUMBER_TO_RELEASE = {number:g}: removing molecules with a "
                                                  f"negative release is not supported")
        return int(round(number))

    # ---- outputs --------------------------------------------------------------------------
    def outputs(self) -> None:
        seen: dict[str, Where] = {}
        for out in self.doc.outputs:
            construct = f"output {out.file}"
            if out.name in seen:
                raise MDLError(out.where, construct, f"another output has the same name {out.name!r} (at "
                                                     f"{seen[out.name]}); give the files different names")
            seen[out.name] = out.where
            if len(out.terms) == 1 and out.terms[0].sign == 1:
                self._count(out.terms[0], out.name, construct)
                continue
            parts = {self._count(term, f"{out.name}[{i}]", construct): term.sign
                     for i, term in enumerate(out.terms, 1)}
            with _At(out.where, construct):
                self.model.combine(parts, out.name)

    def _count(self, term, name: str, construct: str) -> str:
        where, what = term.where, term.what
        if term.orient not in (None, 0):
            raise MDLError(where, construct, f"counts of one orientation ({what}' or {what},) are not supported; "
                                             f"count {what} or {what};")
        obj_path, region = term.location, None
        if term.location.endswith("]") and "[" in term.location:
            obj_path, region = term.location[:-1].split("[", 1)
        with _At(where, construct):
            if what in self.reactions:
                if term.location != "WORLD":
                    raise MDLError(where, construct, f"reactions are counted in the WORLD only, not at {term.location}")
                return self.model.count_events(self.reactions[what], name=name)
            if what in self.volume:
                if term.location == "WORLD":
                    return self.model.count(what, name=name)
                if region not in (None, "ALL"):
                    raise MDLError(where, construct, "volume molecules are counted in the WORLD or inside a closed "
                                                     "object, not on a region")
                return self.model.count(what, inside=self._object(obj_path, where, construct)[0], name=name)
            if what in self.surface:
                if term.location == "WORLD":
                    return self.model.count(what, name=name)
                regions = self._region(obj_path, region or "ALL", where, construct)
                return self.model.count(what, region=regions, name=name)
        raise MDLError(where, construct, f"{what!r} is neither a molecule nor a named reaction")


def build(doc: Document, seed: int | None = None, dt: Any = None) -> Model:
    """A Model of the document (``dt`` overrides its TIME_STEP, keeping the duration and output
    step)."""
    b = Builder(doc, seed, dt)
    b.species()
    b.geometry()
    b.surfaces()
    b.chemistry()
    b.releases()
    b.outputs()
    return b.model
