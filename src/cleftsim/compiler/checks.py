"""Checks of a model against its compiled scene, made once when it is compiled: sources off
surfaces and inside the space they face, clamps apart from sources, observables that can count."""
from __future__ import annotations

import numpy as np

from cleftsim.compiler import scene as world
from cleftsim.compiler.sources import region_samples, source_samples
from cleftsim.errors import ModelError
from cleftsim.model.observables import Absorbed, Crossings
from cleftsim.model.rules import ABSORB, RULE_MASK, TRANSPARENT

#: Smallest distance (µm) between a point release and any surface.
SURFACE_CLEARANCE = 1e-6


def triangle_owner(model, tri: int) -> tuple[str, str]:
    """(object name, region name) of a triangle of the scene (global index)."""
    for obj in model.objects:
        if tri < obj.mesh.n_triangles:
            return obj.name, obj.mesh.region_names[obj.mesh.region_ids[tri]]
        tri -= obj.mesh.n_triangles
    raise IndexError(tri)


def release_points(model, scene) -> None:
    """A point release must not lie on a surface: which side it is on would be undefined."""
    points = [(rel.species, rel.params[0]) for rel in model.releases if rel.kind == "point"]
    points += [(v.species, p) for v in model.vesicle_releases if v.sites is not None for p in v.sites]
    for sp, at in points:
        if scene.n_tri == 0:
            break
        dist, tri = scene.surface_within(at, SURFACE_CLEARANCE)
        if tri >= 0:
            obj, region = triangle_owner(model, tri)
            raise ModelError(
                f"release of {sp.name!r} at {tuple(float(x) for x in at)} µm lies on the surface of "
                f"{obj!r} (region {region!r}); move the point off the surface, into the space "
                f"where the molecules start (e.g. by 1 nm)")


def vesicle_depths(model, scene) -> None:
    """A vesicle released ``depth`` in front of an active zone must stay in the space it faces."""
    probe = np.random.default_rng(2)
    for v in model.vesicle_releases:
        if v.region is None or scene.n_tri == 0:
            continue
        pts, normals = region_samples(v.region, 64, probe)
        start = pts - SURFACE_CLEARANCE * normals
        room = [scene.trace(p, -(v.depth - SURFACE_CLEARANCE) * n) for p, n in zip(start, normals)]
        hits = [(SURFACE_CLEARANCE + t * (v.depth - SURFACE_CLEARANCE), p) for (tri, t), p in zip(room, pts)
                if tri >= 0]
        if hits:
            deep, at = min(hits, key=lambda h: h[0])
            raise ModelError(
                f"release_vesicles of {v.species.name!r}: depth {v.depth * 1e3:.3g} nm in front of "
                f"{', '.join(r.label for r in v.region)} goes through another surface: near "
                f"({', '.join(f'{x:.3g}' for x in at)}) um the space there is {deep * 1e3:.3g} nm deep; give a "
                f"depth below that (the default is 2 nm)")


def clamps(model, scene) -> None:
    """A clamped species is a bath inside its object: it cannot also be released or produced
    there, nor pass through the object's walls."""
    rules = model.rule_table()
    for cl in model.clamps:
        for reg, side in cl.contexts:
            if side == 0 and rules[reg, cl.species.index] == TRANSPARENT:
                raise ModelError(f"{cl.species.name!r} is clamped {cl.label}, but a wall of it is transparent to "
                                 f"{cl.species.name!r}; make it reflect (set_surface) or clamp next to a region")
        clamped = [o for o in model.objects if any((r.index, 0) in cl.contexts for r in o.regions)]
        for rel, pts in source_samples(model, scene, 4096) if clamped else ():
            if rel.species.index != cl.species.index:
                continue
            # sample positions of the source must all lie outside the clamped objects
            how = "released" if any(rel is r for r in model.releases) else "produced"
            if any(world.contains(scene, o.index, o.mesh, pts).any() for o in clamped):
                raise ModelError(f"{cl.species.name!r} is clamped {cl.label} and cannot also be {how} there; "
                                 f"remove the {'release' if how == 'released' else 'production'} or the clamp")


def observed_rules(model, rules: np.ndarray) -> None:
    """count_absorbed and count_crossings need a region that absorbs or passes the species."""
    for ob in model.observables:
        if not isinstance(ob, (Absorbed, Crossings)):
            continue
        want, verb, rule = ((ABSORB, "absorbs", "absorb") if isinstance(ob, Absorbed)
                            else (TRANSPARENT, "passes", "transparent"))
        if not any((rules[r.index, ob.species.index] & RULE_MASK) == want for r in ob.regions):
            where = ", ".join(r.label for r in ob.regions)
            raise ModelError(f"observable {ob.name!r} counts {ob.species.name!r} at {where}, but no region there "
                             f"{verb} it, so it would stay 0; make one {rule!r} with "
                             f"model.set_surface({ob.species.name!r}, region, {rule!r})")
