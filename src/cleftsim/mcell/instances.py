"""Instances: INSTANTIATE turns object definitions (:mod:`cleftsim.mcell.objects`) into
world-space mesh objects and release sites; the regions defined on, or modified in, instances and
the names that refer to instances (SHAPE, COUNT, MODIFY_SURFACE_REGIONS) are resolved here once
every file is read.

MCell semantics followed (MCell 3's ``mdlparse.y``, ``init.c``):

- An instance's matrix is its own times its parent's (``instance_obj``: child first, then each
  enclosing object); release site LOCATIONs are transformed the same way (SITE_DIAMETER is not).
- Names: an instance's path is the chain of instance names joined by "." ("Scene.pjm"). SHAPE,
  COUNT and MODIFY_SURFACE_REGIONS name objects by path, or by the name of the definition they
  were copied from (then every instance of it, or the only one where one is needed). They are
  resolved once every file is read; MODIFY_SURFACE_REGIONS and DEFINE_SURFACE_REGIONS of existing
  objects then apply in file order.
"""
from __future__ import annotations

import numpy as np

from cleftsim.errors import MDLError
from cleftsim.mcell.document import MeshObject, RegionSpec, ReleaseSite, Where
from cleftsim.mcell.geometry import transformed
from cleftsim.mcell.objects import Definition, ObjectReader, Region, apply_settings, select

__all__ = ["InstanceReader"]


class InstanceReader(ObjectReader):
    """Reads INSTANTIATE and the DEFINE_ / MODIFY_SURFACE_REGIONS of instances, and resolves the
    names of instances."""

    def __init__(self, path: str, seed: int):
        super().__init__(path, seed)
        self.objects: list[MeshObject] = []
        self.mesh_by_path: dict[str, MeshObject] = {}
        self.mesh_defs: dict[str, Definition] = {}      # the definition of each mesh instance
        self.meta_paths: set[str] = set()
        self.instance_paths: set[str] = set()
        self.sites: list[tuple[ReleaseSite, dict]] = []
        self.region_ops: list[tuple] = []

    # --------------------------------------------------------------------------- instantiation
    def st_instantiate(self, node):
        name = str(node.children[0])
        root = Definition(name, "meta", self.at(node), name)
        self.meta_body(root, name, node.children[1:], "INSTANTIATE")
        self.register_paths(root, name)
        self.instantiate(root, "", np.eye(4))

    def instantiate(self, d: Definition, prefix: str, parent: np.ndarray):
        matrix = d.matrix @ parent
        path = f"{prefix}.{d.name}" if prefix else d.name
        if path in self.instance_paths:
            raise MDLError(d.where, "INSTANTIATE", f"{path!r} is instantiated twice")
        self.instance_paths.add(path)
        if d.kind == "meta":
            self.meta_paths.add(path)
            for c in d.children:
                self.instantiate(c, path, matrix)
        elif d.kind == "polygon":
            regions = {rname: r.copy() for rname, r in d.regions.items()}
            mo = MeshObject(path, transformed(matrix, d.vertices), d.triangles.copy(), regions, d.where)
            self.objects.append(mo)
            self.mesh_by_path[path] = mo
            self.mesh_defs[path] = d
        else:
            s = d.site
            loc = s.get("location")
            site = ReleaseSite(path=path, shape=s["shape"], region=s.get("region"),
                               location=None if loc is None else transformed(matrix, loc),
                               diameter=s.get("diameter", 0.0), molecule=s.get("molecule"),
                               number=s.get("NUMBER_TO_RELEASE"), density=s.get("DENSITY"),
                               concentration=s.get("CONCENTRATION"), probability=s.get("RELEASE_PROBABILITY", 1.0),
                               pattern=None, where=s["where"])
            self.sites.append((site, s))

    # --------------------------------------------------------------------------- regions of instances
    def st_existing_regions(self, node):
        self.queue_region_ops(node, "DEFINE_SURFACE_REGIONS")

    def st_modify_regions(self, node):
        self.queue_region_ops(node, "MODIFY_SURFACE_REGIONS")

    def queue_region_ops(self, node, construct: str):
        """Keep the ``obj[region] {...}`` entries of a DEFINE_ / MODIFY_SURFACE_REGIONS block for the end."""
        for ext in node.children[1:]:
            obj, reg = str(ext.children[0]), str(ext.children[1])
            ops, settings = self.region_items(ext.children[2:])
            if ops and construct == "MODIFY_SURFACE_REGIONS":
                raise self.err(ext, construct, "element lists cannot be changed in MODIFY_SURFACE_REGIONS")
            self.region_ops.append((construct, obj, reg, ops, settings, self.at(ext)))

    def instance_regions(self) -> dict:
        """Apply the DEFINE_ / MODIFY_SURFACE_REGIONS of instances (in file order), then turn every
        region of an instance into its RegionSpec. Returns where the SURFACE_CLASS of each
        (path, region) of a definition was set (None if it was not)."""
        for construct, obj, reg, ops, settings, where in self.region_ops:
            for mesh in self.meshes_named(obj, where, construct):
                if construct == "DEFINE_SURFACE_REGIONS":
                    if reg in mesh.regions and reg != "ALL":
                        raise MDLError(where, construct, f"{mesh.path!r} already has a region {reg!r}")
                    if reg == "ALL":
                        target = mesh.regions["ALL"]
                    else:
                        mask = select(ops, mesh.path, mesh.regions, self.mesh_defs[mesh.path], where, construct)
                        target = RegionSpec(reg, np.flatnonzero(mask), None, [], [], where)
                        mesh.regions[reg] = target
                else:
                    target = self.mesh_region(mesh, reg, where, construct)
                apply_settings(target, settings)
        class_where = {}
        for mesh in self.objects:
            for name, r in list(mesh.regions.items()):
                if isinstance(r, Region):
                    mesh.regions[name] = RegionSpec(name, np.unique(r.triangles).astype(np.int64), r.surface_class,
                                                    list(r.densities), list(r.numbers), r.where)
                    class_where[(mesh.path, name)] = r.class_where
        return class_where

    # --------------------------------------------------------------------------- names
    def meshes_named(self, name: str, where: Where, construct: str, unique=False) -> list[MeshObject]:
        """The instantiated mesh objects ``name`` refers to: an instance path, or a definition."""
        if name in self.mesh_by_path:
            return [self.mesh_by_path[name]]
        found = [self.mesh_by_path[p] for p, d in self.mesh_defs.items() if name in d.origins]
        if not found:
            if name in self.def_paths or name in self.defs:
                raise MDLError(where, construct, f"object {name!r} is defined but never instantiated "
                                                 f"(INSTANTIATE ... {{ {name.rsplit('.', 1)[-1]} OBJECT {name} {{}} }})")
            known = ", ".join(sorted(self.mesh_by_path)[:8]) or "none"
            raise MDLError(where, construct, f"no instantiated object {name!r} (instantiated objects: {known})")
        if unique and len(found) > 1:
            raise MDLError(where, construct, f"{name!r} is instantiated {len(found)} times "
                                             f"({', '.join(m.path for m in found)}); name the instance")
        return found

    @staticmethod
    def mesh_region(mesh: MeshObject, reg: str, where: Where, construct: str):
        """The region ``reg`` of ``mesh``."""
        if reg not in mesh.regions:
            raise MDLError(where, construct, f"object {mesh.path!r} has no region {reg!r} "
                                             f"(it has {', '.join(mesh.regions)})")
        return mesh.regions[reg]

    def resolve_region(self, expr, construct):
        """A region expression of :meth:`~cleftsim.mcell.objects.ObjectReader.region_expr` with
        its objects resolved to instance paths: ("region", path, region) and (op, a, b)."""
        if expr[0] == "region":
            _k, obj, reg, where = expr
            mesh = self.meshes_named(obj, where, construct, unique=True)[0]
            self.mesh_region(mesh, reg, where, construct)
            return ("region", mesh.path, reg)
        return (expr[0], self.resolve_region(expr[1], construct), self.resolve_region(expr[2], construct))
