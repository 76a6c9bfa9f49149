"""Compile a model's surface molecules, reactions and clamps into the arrays of the Membrane kernel."""
from __future__ import annotations

import math
import warnings

import numpy as np

from cleftsim.errors import AccuracyWarning, ModelError
from cleftsim.geometry.sampling import bary_of, closest_on_triangles, cluster_centres, cluster_points
from cleftsim.geometry.tiles import tile_bary, tile_divisions, tile_of_bary
from cleftsim.geometry.topology import surface_adjacency
from cleftsim.model.rules import REACTIVE
from cleftsim.model.surface_molecules import SurfaceSpecies
from cleftsim.physics import binding
from cleftsim.units import PER_UM3_PER_MOLAR

#: Distance (µm) from the membrane at which released volume molecules appear (100 times the
#: tracer's restart distance; small against any triangle's inradius times 1e-3, see membrane.pyx).
PRODUCT_OFFSET = 1e-7
#: Contacts with a membrane (Membrane.contact_tile) go on across an edge into the next triangle,
#: whatever its region, while their normals are within 60° (cos > 0.5), and reflect where it folds.
CONTACT_FOLD_COS = 0.5
#: Largest distance (µm) between a given position and the region it is placed on.
PLACE_TOLERANCE = 1e-3


def csr(lists: list[list]) -> tuple[np.ndarray, list]:
    start = np.zeros(len(lists) + 1, dtype=np.int32)
    start[1:] = np.cumsum([len(x) for x in lists])
    return start, [v for x in lists for v in x]


def surface_reactions(model) -> list:
    """The model's reactions that have a surface reactant."""
    return [rx for rx in model.reactions if rx.kind in ("binding", "surface")]


def reachable_states(model, placed: set[int]) -> set[int]:
    """Surface species reachable from the placed ones through reactions."""
    seen, todo = set(placed), list(placed)
    while todo:
        s = todo.pop()
        for rx in surface_reactions(model):
            p = rx.surface_product
            if rx.surface_reactant.index == s and p is not None and p.index not in seen:
                seen.add(p.index)
                todo.append(p.index)
    return seen


#: Largest share of a binding's area whose tiles (on small triangles) may need a per-hit
#: probability above 1: there the molecules react with every hit (counted as saturated hits) and
#: an AccuracyWarning names the Δt of the exact rate; beyond it the model is refused.
SATURATED_AREA_MAX = 0.05
#: Rounds of redrawing the points of a clustered placement whose tiles are taken.
CLUSTER_REDRAWS = 200


def tile_table(model) -> dict:
    """Tiles of every triangle of the scene (global indices): ``n`` (n_t, 0 on triangles of
    regions without surface molecules), ``start`` (first global tile, T + 1 entries) and
    ``area`` (µm² per tile, 0 where there are none)."""
    regions = {pl.region.index for pl in model.placements}
    n, area = [], []
    for obj in model.objects:
        rid = obj.region_offset + np.asarray(obj.mesh.region_ids)
        a = np.asarray(obj.mesh.areas, dtype=np.float64)
        k = np.where(np.isin(rid, list(regions)), tile_divisions(a, model.tile_density), 0)
        n.append(k)
        area.append(np.where(k > 0, a / np.maximum(k, 1) ** 2, 0.0))
    n = np.concatenate(n) if n else np.zeros(0, dtype=np.int64)
    area = np.concatenate(area) if area else np.zeros(0)
    start = np.zeros(len(n) + 1, dtype=np.int64)
    start[1:] = np.cumsum(n * n)
    return {"n": n, "start": start, "area": area}


def _unit_triangle(rng: np.random.Generator, n: int):
    a, b = rng.random(n), rng.random(n)
    flip = a + b > 1.0
    a[flip], b[flip] = 1.0 - a[flip], 1.0 - b[flip]
    return a, b


def _points(v: np.ndarray, n_t: np.ndarray, k: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Points (a, b) of the unit triangle mapped into local tiles k of triangles with vertices v."""
    u, w = tile_bary(n_t, k, a, b)
    return v[:, 0] + u[:, None] * (v[:, 1] - v[:, 0]) + w[:, None] * (v[:, 2] - v[:, 0])


def place_molecules(model, rng: np.random.Generator):
    """Positions (n, 3), global triangles, states, orientations and tiles of every placement:
    one molecule per tile (cleftsim.physics.binding), a uniform point inside it."""
    offsets = np.cumsum([0] + [o.mesh.n_triangles for o in model.objects])
    tiles = tile_table(model)
    taken = np.zeros(int(tiles["start"][-1]), dtype=bool)
    pos, tri, state, orient, tile = [], [], [], [], []
    for pl in model.placements:
        obj = pl.region.object
        local = pl.region.triangles
        glob = offsets[obj.index] + local
        verts = np.asarray(obj.mesh.vertices, dtype=np.float64)
        rows = np.asarray(obj.mesh.triangles)[local]
        n_t, first = tiles["n"][glob], tiles["start"][glob]
        what = f"place {pl.species.name!r} on region {pl.region.label!r}"
        if pl.kind == "uniform":
            # distinct free tiles, uniformly by area (Efraimidis & Spirakis 2006: the n smallest
            # exponential keys divided by the weights)
            per = n_t * n_t
            owner = np.repeat(np.arange(len(local)), per)
            ids = np.repeat(first, per) + (np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per))
            free = ~taken[ids]
            if free.sum() < pl.n:
                raise ModelError(f"{what}: {pl.n} molecules do not fit on its {int(free.sum())} free tiles; place "
                                 f"fewer, or raise the model's tile_density ({model.tile_density:g} /um^2)")
            ids, owner = ids[free], owner[free]
            keys = rng.exponential(size=len(ids)) / tiles["area"][glob[owner]]
            pick = np.argpartition(keys, pl.n - 1)[: pl.n] if 0 < pl.n < len(ids) else np.arange(pl.n)
            pick = np.sort(pick)
            which, chosen = owner[pick], ids[pick]
            a, b = _unit_triangle(rng, pl.n)
            pts = _points(verts[rows[which]], n_t[which], chosen - first[which], a, b)
        elif pl.kind == "clusters":
            which_c, centres = cluster_centres(verts, rows, pl.params[0], rng)
            member = np.arange(pl.n) % pl.params[0]
            which = np.zeros(pl.n, dtype=np.int64)
            pts = np.zeros((pl.n, 3))
            chosen = np.full(pl.n, -1, dtype=np.int64)
            todo = np.arange(pl.n)
            for _ in range(CLUSTER_REDRAWS):
                if not len(todo):
                    break
                w, p = cluster_points(verts, rows, which_c, centres, member[todo], pl.params[1], rng)
                u, v = bary_of(verts, rows, w, p)
                ids = first[w] + tile_of_bary(n_t[w], u, v)
                _, once = np.unique(ids, return_index=True)
                ok = np.zeros(len(todo), dtype=bool)
                ok[once] = True
                ok &= ~taken[ids]
                which[todo[ok]], pts[todo[ok]], chosen[todo[ok]] = w[ok], p[ok], ids[ok]
                taken[ids[ok]] = True
                todo = todo[~ok]
            if len(todo):
                raise ModelError(f"{what}: {pl.n} molecules in {pl.params[0]} clusters of radius "
                                 f"{pl.params[1] * 1e3:.3g} nm do not find free tiles (one molecule per tile, "
                                 f"tile_density = {model.tile_density:g} /um^2; {len(todo)} left after "
                                 f"{CLUSTER_REDRAWS} redraws); use more or larger clusters, fewer molecules, or a "
                                 f"higher tile_density")
        else:
            which, pts, dist = closest_on_triangles(verts, rows, pl.params[0])
            bad = np.flatnonzero(dist > PLACE_TOLERANCE)
            if len(bad):
                raise ModelError(f"place {pl.species.name!r}: position {tuple(float(x) for x in pl.params[0][bad[0]])} µm lies "
                                 f"{dist[bad[0]]:.3g} µm from region {pl.region.label!r} (at most {PLACE_TOLERANCE} µm)")
            u, v = bary_of(verts, rows, which, pts)
            chosen = first[which] + tile_of_bary(n_t[which], u, v)
            for i in range(pl.n):                    # a taken tile: the nearest free one of that triangle
                if taken[chosen[i]]:
                    t = which[i]
                    k = np.arange(n_t[t] * n_t[t])
                    cu, cw = tile_bary(np.full(len(k), n_t[t]), k, np.full(len(k), 1 / 3), np.full(len(k), 1 / 3))
                    vt = verts[rows[t]]
                    cen = vt[0] + cu[:, None] * (vt[1] - vt[0]) + cw[:, None] * (vt[2] - vt[0])
                    d = np.linalg.norm(cen - pts[i], axis=1)
                    d[taken[first[t] + k]] = np.inf
                    best = int(np.argmin(d))
                    if not np.isfinite(d[best]):
                        raise ModelError(f"{what}: position {tuple(float(x) for x in pl.params[0][i])} µm falls on a "
                                         f"triangle whose {len(k)} tiles are all taken (one molecule per tile, "
                                         f"tile_density = {model.tile_density:g} /um^2); spread the positions or raise "
                                         f"tile_density")
                    chosen[i] = first[t] + best
                    a, b = _unit_triangle(rng, 1)
                    pts[i] = _points(vt[None], n_t[t:t + 1], np.array([best]), a, b)[0]
                taken[chosen[i]] = True
        taken[chosen] = True
        pos.append(pts)
        tri.append(glob[which])
        state.append(np.full(pl.n, pl.species.index))
        orient.append(np.full(pl.n, pl.orient))
        tile.append(chosen)
    cat = (lambda xs, dt, shape: np.concatenate(xs).astype(dt) if xs else np.zeros(shape, dtype=dt))
    return (np.ascontiguousarray(cat(pos, np.float64, (0, 3))), cat(tri, np.int32, 0),
            cat(state, np.int32, 0), cat(orient, np.int8, 0), cat(tile, np.int32, 0))


def reactive_rules(model, rules: np.ndarray) -> np.ndarray:
    """Rules with the reactive flag (4) on (region, ligand) where placed molecules, in any state
    they can reach, bind the ligand (a tile lies on one triangle, so only their own region)."""
    out = rules.copy()
    by_region: dict[int, set[int]] = {}
    for pl in model.placements:
        by_region.setdefault(pl.region.index, set()).add(pl.species.index)
    for reg_index, placed in by_region.items():
        states = reachable_states(model, placed)
        ligands = {r.index for rx in model.reactions if rx.kind == "binding" and rx.surface_reactant.index in states
                   for r in rx.reactants if not isinstance(r, SurfaceSpecies)}
        for v in ligands:
            out[reg_index, v] |= REACTIVE
    return out


def _product_sides(rx) -> tuple[int, ...]:
    """The side code of each volume product of a reaction (+1 facing, -1 back, 0 random; +1 for
    reactions without a surface reactant, whose products never leave a membrane)."""
    n = len(rx.volume_products)
    return tuple(rx.product_sides) if len(rx.product_sides) == n else (1,) * n


def _particle_species(model) -> set[int]:
    """Volume species that can exist as particles: released (by release or release_vesicles),
    produced, made by volume reactions of particles, or released by a surface molecule (in a state
    its placement can reach) on a side (the one it faces, the other, or either: the reaction's
    product side) where the species is not clamped."""
    out = {r.species.index for r in model.releases} | {v.species.index for v in model.vesicle_releases}
    bathed = {(reg, side, cl.species.index) for cl in model.clamps for reg, side in cl.contexts}
    for pl in model.placements:
        facing = 1 if pl.orient > 0 else 0
        states = reachable_states(model, {pl.species.index})
        for rx in surface_reactions(model):
            if rx.surface_reactant.index in states:
                for v, code in zip(rx.volume_products, _product_sides(rx)):
                    sides = {1: (facing,), -1: (1 - facing,), 0: (0, 1)}[code]
                    if any((pl.region.index, side, v.index) not in bathed for side in sides):
                        out.add(v.index)
    volume = [rx for rx in model.reactions if rx.kind in ("volume", "pair", "production")]
    while True:                       # products of reactions among particles, until nothing is added
        made = {v.index for rx in volume if all(r.index in out for r in rx.reactants) for v in rx.volume_products}
        if made <= out:
            return out
        out |= made


def model_triangle_areas(model) -> np.ndarray:
    """Areas (µm²) of every triangle of the scene, in global order."""
    return np.concatenate([np.asarray(o.mesh.areas, dtype=np.float64) for o in model.objects] or [np.zeros(0)])


def _mesh_arrays(model) -> dict:
    """Vertices of every triangle (T, 3, 3), and the neighbours across each edge within the
    triangle's region (lateral diffusion) and across any edge where the membrane does not fold
    (where contacts fall: Membrane.contact_tile)."""
    if not model.objects:
        none = np.full((1, 3), -1, dtype=np.int32)
        return {"tri_v": np.zeros((1, 3, 3)), "neighbors": none, "mesh_neighbors": none}
    tri_v, nbr, mesh_nbr, offset = [], [], [], 0
    for obj in model.objects:
        v = np.asarray(obj.mesh.vertices, dtype=np.float64)
        t = np.asarray(obj.mesh.triangles)
        tri_v.append(v[t])
        adj = surface_adjacency(v, t, np.zeros(len(t), dtype=np.int64))     # across every edge
        reg = np.asarray(obj.mesh.region_ids)
        nbr.append(np.where((adj >= 0) & (reg[np.maximum(adj, 0)] == reg[:, None]), adj + offset, -1))
        # contacts cross region borders where the membrane goes on (normals within 60°) and
        # reflect where it folds (a wall at the border mirrors the path back)
        nrm = np.asarray(obj.mesh.normals)
        flat = (adj >= 0) & (np.einsum("tk,tek->te", nrm, nrm[np.maximum(adj, 0)]) > CONTACT_FOLD_COS)
        mesh_nbr.append(np.where(flat, adj + offset, -1))
        offset += len(t)
    return {"tri_v": np.ascontiguousarray(np.concatenate(tri_v)),
            "neighbors": np.ascontiguousarray(np.concatenate(nbr), dtype=np.int32),
            "mesh_neighbors": np.ascontiguousarray(np.concatenate(mesh_nbr), dtype=np.int32)}


def membrane_tables(model) -> dict:
    """The Membrane kernel's tables that every trial shares (see membrane.pxd for their meaning;
    a trial adds its molecules, counters and buffer size: cleftsim.engine.simulation)."""
    n_vol, n_surf, n_rx = len(model.species), len(model.surface_species), len(model.reactions)
    tiles = tile_table(model)
    # binding tables per (ligand, state, relation): relation 0 for a hit from the side the molecule
    # faces, 1 from the other side
    bind = [[] for _ in range(max(n_vol, 1) * max(n_surf, 1) * 2)]
    uni = [[] for _ in range(n_surf)]
    bath = [[] for _ in range(n_surf)]
    for rx in surface_reactions(model):
        s = rx.surface_reactant.index
        if rx.kind == "surface":
            uni[s].append(rx)
            continue
        v = next(r for r in rx.reactants if not isinstance(r, SurfaceSpecies)).index
        for rel, ok in ((0, rx.side in (1, 0)), (1, rx.side in (-1, 0))):
            if ok:
                bind[(v * n_surf + s) * 2 + rel].append(rx)
        bath[s].append((rx, v))
    particles = _particle_species(model)
    # the triangles each state can be on: those of the regions of the placements that reach it
    offsets = np.cumsum([0] + [o.mesh.n_triangles for o in model.objects])
    where: dict[int, set[int]] = {}
    for pl in model.placements:
        for st in reachable_states(model, {pl.species.index}):
            where.setdefault(st, set()).update((offsets[pl.region.object.index] + pl.region.triangles).tolist())
    bind_p = []
    for q, rxs in enumerate(bind):
        if not rxs:
            continue
        lig = model.species[q // 2 // n_surf]
        st = (q // 2) % n_surf
        k_tot = sum(rx.k for rx in rxs)
        if lig.index not in particles:       # only ever a clamp's bath: no hits to convert
            bind_p.extend(0.0 for _ in rxs)
            continue
        what = f"binding of {lig.name!r} to {model.surface_species[st].name!r}" + (" from its back" if q % 2 else "")
        if lig.D == 0 and k_tot > 0:
            raise ModelError(f"{what}: the volume species {lig.name!r} has D = 0 and can never hit a membrane")
        # per-hit probability times the tile area (µm²): p = bind_p / A_tile on each triangle
        c = math.sqrt(2 * math.pi) * binding.kappa_prime(k_tot, 1.0, lig.D, model.dt) if k_tot > 0 else 0.0
        tris = np.array(sorted(where.get(st, ())), dtype=np.int64)
        tri_area = model_triangle_areas(model)
        over = tris[c > tiles["area"][tris]] if len(tris) else tris
        share = float(tri_area[over].sum() / tri_area[tris].sum()) if len(over) else 0.0
        smallest = float(tiles["area"][tris].min()) if len(tris) else np.inf
        if 0.0 < share <= SATURATED_AREA_MAX:
            warnings.warn(
                f"{what} (k_on = {k_tot:.4g} /M/s) needs a per-hit probability of up to {c / smallest:.3g} > 1 at "
                f"dt = {model.dt:.4g} s on the tiles of small triangles ({share:.2%} of the area; tiles down to "
                f"{smallest * 1e6:.3g} nm^2): molecules there react with every hit, below their rate k_on; use "
                f"dt <= {binding.largest_dt(k_tot, smallest, lig.D):.4g} s for the exact rate everywhere",
                AccuracyWarning, stacklevel=4)
        elif c > smallest:
            r_tile = binding.tile_radius(model.tile_density)
            limit = 4 * lig.D * r_tile * PER_UM3_PER_MOLAR    # flux to a disc on a plane: 4Da·c
            if k_tot > 10 * limit:
                raise ModelError(
                    f"{what}: k_on = {k_tot:.4g} /M/s is far above the diffusion limit of a receptor's tile, "
                    f"4·D·r_tile = {limit:.3g} /M/s (D = {lig.D:.4g} um^2/s, r_tile = {r_tile * 1e3:.3g} nm at "
                    f"tile_density = {model.tile_density:g} /um^2); check the rate and its units (M^-1 s^-1)")
            areas = tri_area[tris]
            dens = binding.tile_density_for(k_tot, lig.D, model.dt, areas)
            dens_txt = (f", or tile_density <= {dens:.4g} /um^2" if dens > 0 else
                        "; no tile density helps at this dt, since a triangle is smaller than the tile it needs")
            raise ModelError(
                f"{what} (k_on = {k_tot:.4g} /M/s, D = {lig.D:.4g} um^2/s) needs a per-hit probability of "
                f"{c / smallest:.3g} > 1 at dt = {model.dt:.4g} s on tiles of {smallest * 1e6:.3g} nm^2 "
                f"(tile_density = {model.tile_density:g} /um^2); use dt <= "
                f"{binding.largest_dt(k_tot, smallest, lig.D):.4g} s{dens_txt}")
        bind_p.extend(c * rx.k / k_tot if k_tot > 0 else 0.0 for rx in rxs)
    bind_start, bind_rx = csr([[rx.index for rx in rxs] for rxs in bind])
    uni_start, uni_rx = csr([[rx.index for rx in rxs] for rxs in uni])
    bath_start, bath_pairs = csr(bath)
    vol_start, vol = csr([[p.index for p in rx.volume_products] for rx in model.reactions])
    n_regions = max(model.n_regions, 1)
    bath_slot = np.full(2 * n_regions * max(n_vol, 1), -1, dtype=np.int32)
    for k, cl in enumerate(model.clamps):
        for reg, side in cl.contexts:
            bath_slot[(reg * 2 + side) * n_vol + cl.species.index] = k
    as_i = (lambda x: np.ascontiguousarray(np.asarray(x, dtype=np.int32).reshape(-1)) if len(x)
            else np.zeros(1, dtype=np.int32))
    as_f = (lambda x: np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(-1)) if len(x)
            else np.zeros(1))
    return {
        "tile_n": as_i(tiles["n"]), "tile_start": as_i(tiles["start"]),
        "inv_tile_area": as_f(np.where(tiles["area"] > 0, 1.0 / np.where(tiles["area"] > 0, tiles["area"], 1.0), 0.0)),
        "n_tiles": int(tiles["start"][-1]),
        "bind_start": bind_start, "bind_rx": as_i(bind_rx), "bind_p": as_f(bind_p),
        "bind_kv": as_f([model.reactions[i].k / PER_UM3_PER_MOLAR for i in bind_rx]),
        "depletion": np.array(binding.DEPLETION_COEFFICIENTS + (binding.KAPPA_PRIME_MAX,)),
        "rx_k": as_f([rx.k for rx in model.reactions]),
        "rx_surf": as_i([-1 if rx.surface_product is None else rx.surface_product.index for rx in model.reactions]),
        "rx_vol_start": as_i(vol_start) if n_rx else np.zeros(1, dtype=np.int32), "rx_vol": as_i(vol),
        "rx_vol_side": np.ascontiguousarray(np.array([v for rx in model.reactions for v in _product_sides(rx)] or [1],
                                                     dtype=np.int8)),
        "uni_start": uni_start if n_surf else np.zeros(1, dtype=np.int32), "uni_rx": as_i(uni_rx),
        "uni_total": as_f([sum(rx.k for rx in rxs) for rxs in uni]),
        "bath_start": bath_start if n_surf else np.zeros(1, dtype=np.int32),
        "bath_rx": as_i([rx.index for rx, _ in bath_pairs]), "bath_lig": as_i([v for _, v in bath_pairs]),
        "bath_side": np.ascontiguousarray(np.array([rx.side for rx, _ in bath_pairs] or [1], dtype=np.int8)),
        "bath_slot": bath_slot,
        "lat_sigma": np.sqrt(2.0 * np.array([s.D for s in model.surface_species] or [0.0]) * model.dt),
        **_mesh_arrays(model),
        "vol_D": as_f([s.D for s in model.species]), "dt": model.dt,
        "n_vol": n_vol, "n_surf": n_surf, "offset": PRODUCT_OFFSET,
    }
