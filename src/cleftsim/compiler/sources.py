"""Where molecules start: positions of releases (a point, uniform in a box, a sphere or a closed
object), of zeroth-order productions, and of vesicles on active zones. The compiler draws samples
of them with its own generators to check the model; a trial draws them from its release stream."""
from __future__ import annotations

import numpy as np

from cleftsim.compiler import scene as world
from cleftsim.errors import ModelError
from cleftsim.geometry.sampling import uniform_on
from cleftsim.model.model import Release


def sample_positions(scene, rel: Release, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) start positions (µm) of the release's ``rel.n`` molecules."""
    n = rel.n
    if rel.kind == "point":
        return np.repeat(rel.params[0][None, :], n, axis=0)
    if rel.kind == "box":
        lo, hi = rel.params
        return lo + (hi - lo) * rng.random((n, 3))
    if rel.kind == "sphere":
        center, r = rel.params
        v = rng.standard_normal((n, 3))
        v /= np.linalg.norm(v, axis=1)[:, None]
        return center + v * (r * rng.random(n) ** (1 / 3))[:, None]
    obj = rel.params[0]
    lo, hi = obj.mesh.bounds
    out, have, tries = np.empty((n, 3)), 0, 0
    while have < n:
        cand = lo + (hi - lo) * rng.random((max(2 * (n - have), 64), 3))
        cand = cand[world.contains(scene, obj.index, obj.mesh, cand)][: n - have]
        out[have:have + len(cand)] = cand
        have += len(cand)
        tries += 1
        if tries > 1000:
            raise ModelError(f"could not place molecules inside {obj.name!r}: is it a closed object with volume?")
    return out


def production_source(rx, n: int) -> Release:
    """n molecules of a production's product, uniform in its object (a Release to sample)."""
    return Release(rx.products[0], n, 0.0, "object", (rx.inside,))


def region_samples(regions: list, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points uniform over the regions (µm) and the unit normals there."""
    verts, tris, normals = [], [], []
    for reg in regions:
        mesh = reg.object.mesh
        verts.append(mesh.vertices)
        tris.append(mesh.triangles[reg.triangles] + sum(len(v) for v in verts[:-1]))
        normals.append(mesh.normals[reg.triangles])
    which, pts = uniform_on(np.concatenate(verts), np.concatenate(tris), n, rng)
    return pts, np.concatenate(normals)[which]


def region_points(regions: list, n: int, depth: float, rng: np.random.Generator) -> np.ndarray:
    """n points uniform over the regions, ``depth`` µm off them against their normals."""
    pts, normals = region_samples(regions, n, rng)
    return pts - depth * normals


def source_samples(model, scene, most: int) -> list[tuple[Release, np.ndarray]]:
    """Every release and production with up to ``most`` sample positions of where its molecules
    start (drawn with their own generator)."""
    probe = np.random.default_rng(0)
    sources = model.releases + [production_source(rx, most) for rx in model.reactions if rx.kind == "production"]
    return [(r, sample_positions(scene, Release(r.species, min(r.n, most), r.t, r.kind, r.params), probe))
            for r in sources]


def start_points(model, scene, most: int) -> list[tuple]:
    """(species, up to ``most`` sample points where its molecules start, whether they start
    together at each point) for every release, production and vesicle release."""
    probe = np.random.default_rng(1)
    out = [(r.species, pts, r.kind == "point") for r, pts in source_samples(model, scene, most)]
    out += [(v.species, v.sites[:most] if v.region is None else region_points(v.region, most, v.depth, probe), True)
            for v in model.vesicle_releases]
    return out
