"""Compile a model's surface molecules, reactions and clamps into the arrays of the Membrane kernel."""
from __future__ import annotations

import numpy as np

from cleftsim import binding
from cleftsim.topology import surface_adjacency
from cleftsim.surface import SurfaceSpecies, clustered_on, closest_on_triangles, uniform_on
from cleftsim.units import PER_UM3_PER_MOLAR

#: Distance (µm) from the membrane at which released volume molecules appear (100 times the
#: tracer's restart distance; small against any triangle's inradius times 1e-3, see membrane.pyx).
PRODUCT_OFFSET = 1e-7
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


def place_molecules(model, rng: np.random.Generator):
    """Positions (n, 3), global triangles, states and orientations of every placement."""
    from cleftsim.model import ModelError

    offsets = np.cumsum([0] + [o.mesh.n_triangles for o in model.objects])
    pos, tri, state, orient = [], [], [], []
    for pl in model.placements:
        obj = pl.region.object
        local = pl.region.triangles
        verts = np.asarray(obj.mesh.vertices, dtype=np.float64)
        rows = np.asarray(obj.mesh.triangles)[local]
        if pl.kind == "uniform":
            which, pts = uniform_on(verts, rows, pl.n, rng)
        elif pl.kind == "clusters":
            which, pts = clustered_on(verts, rows, pl.n, pl.params[0], pl.params[1], rng)
        else:
            which, pts, dist = closest_on_triangles(verts, rows, pl.params[0])
            bad = np.flatnonzero(dist > PLACE_TOLERANCE)
            if len(bad):
                raise ModelError(f"place {pl.species.name!r}: position {tuple(float(x) for x in pl.params[0][bad[0]])} µm lies "
                                 f"{dist[bad[0]]:.3g} µm from region {pl.region.label!r} (at most {PLACE_TOLERANCE} µm)")
        pos.append(pts)
        tri.append(offsets[obj.index] + local[which])
        state.append(np.full(pl.n, pl.species.index))
        orient.append(np.full(pl.n, pl.orient))
    cat = (lambda xs, dt, shape: np.concatenate(xs).astype(dt) if xs else np.zeros(shape, dtype=dt))
    return (np.ascontiguousarray(cat(pos, np.float64, (0, 3))), cat(tri, np.int32, 0),
            cat(state, np.int32, 0), cat(orient, np.int8, 0))


def reactive_rules(model, rules: np.ndarray) -> np.ndarray:
    """Rules with the reactive flag (4) on (region, ligand) where placed molecules, in any state
    they can reach, bind the ligand: their regions and the regions touching them (a reactive disc
    reaches across a region border)."""
    out = rules.copy()
    by_region: dict[int, set[int]] = {}
    for pl in model.placements:
        by_region.setdefault(pl.region.index, set()).add(pl.species.index)
    for reg_index, placed in by_region.items():
        states = reachable_states(model, placed)
        ligands = {r.index for rx in model.reactions if rx.kind == "binding" and rx.surface_reactant.index in states
                   for r in rx.reactants if not isinstance(r, SurfaceSpecies)}
        for reg in _touching_regions(model, reg_index):
            for v in ligands:
                out[reg, v] |= 4
    return out


def _particle_species(model) -> set[int]:
    """Volume species that can exist as particles: released (by release or release_vesicles),
    produced, made by volume reactions of particles, or released by a surface molecule (in a state
    its placement can reach) on a side where the species is not clamped."""
    out = {r.species.index for r in model.releases} | {v.species.index for v in model.vesicle_releases}
    bathed = {(reg, side, cl.species.index) for cl in model.clamps for reg, side in cl.contexts}
    for pl in model.placements:
        side = 1 if pl.orient > 0 else 0
        states = reachable_states(model, {pl.species.index})
        for rx in surface_reactions(model):
            if rx.surface_reactant.index in states:
                out |= {v.index for v in rx.volume_products if (pl.region.index, side, v.index) not in bathed}
    volume = [rx for rx in model.reactions if rx.kind in ("volume", "pair", "production")]
    while True:                       # products of reactions among particles, until nothing is added
        made = {v.index for rx in volume if all(r.index in out for r in rx.reactants) for v in rx.volume_products}
        if made <= out:
            return out
        out |= made


def _touching_regions(model, reg_index: int) -> set[int]:
    for obj in model.objects:
        local = reg_index - obj.region_offset
        if 0 <= local < len(obj.mesh.region_names):
            rid = np.asarray(obj.mesh.region_ids)
            tris = np.asarray(obj.mesh.triangles)
            verts = np.unique(tris[rid == local])
            touching = np.unique(rid[np.isin(tris, verts).any(axis=1)])
            return {obj.region_offset + int(r) for r in touching}
    raise IndexError(reg_index)


def _mesh_arrays(model) -> dict:
    """Vertices of every triangle (T, 3, 3) and the within-region neighbours across each edge."""
    if not model.objects:
        return {"tri_v": np.zeros((1, 3, 3)), "neighbors": np.full((1, 3), -1, dtype=np.int32)}
    tri_v, nbr, offset = [], [], 0
    for obj in model.objects:
        v = np.asarray(obj.mesh.vertices, dtype=np.float64)
        t = np.asarray(obj.mesh.triangles)
        tri_v.append(v[t])
        adj = surface_adjacency(v, t, np.asarray(obj.mesh.region_ids))
        nbr.append(np.where(adj >= 0, adj + offset, -1))
        offset += len(t)
    return {"tri_v": np.ascontiguousarray(np.concatenate(tri_v)),
            "neighbors": np.ascontiguousarray(np.concatenate(nbr), dtype=np.int32)}


def membrane_arrays(model, rng: np.random.Generator, pend_cap: int, events: np.ndarray) -> dict:
    """Every array the Membrane kernel needs (see membrane.pxd for their meaning)."""
    from cleftsim.model import ModelError

    n_vol, n_surf, n_rx = len(model.species), len(model.surface_species), len(model.reactions)
    pos, tri, state, orient = place_molecules(model, rng)
    area = np.pi * model.site_radius ** 2
    bind = [[] for _ in range(max(n_vol, 1) * max(n_surf, 1))]
    uni = [[] for _ in range(n_surf)]
    bath = [[] for _ in range(n_surf)]
    for rx in surface_reactions(model):
        s = rx.surface_reactant.index
        if rx.kind == "surface":
            uni[s].append(rx)
            continue
        v = next(r for r in rx.reactants if not isinstance(r, SurfaceSpecies)).index
        bind[v * n_surf + s].append(rx)
        bath[s].append((rx, v))
    particles = _particle_species(model)
    bind_p = []
    p_max = np.zeros(max(n_vol, 1))
    kp_weight = np.zeros(max(n_vol, 1) * max(n_surf, 1))
    rho = np.array([binding.reach(s.D, model.dt, model.site_radius) for s in model.species] or [1.0])
    for q, rxs in enumerate(bind):
        if not rxs:
            continue
        lig = model.species[q // n_surf]
        k_tot = sum(rx.k for rx in rxs)
        if lig.index not in particles:       # only ever a clamp's bath: no hits to convert
            bind_p.extend(0.0 for _ in rxs)
            continue
        what = f"binding of {lig.name!r} to {model.surface_species[q % n_surf].name!r}"
        if lig.D == 0 and k_tot > 0:
            raise ModelError(f"{what}: the volume species {lig.name!r} has D = 0 and can never hit a membrane")
        try:
            p_tot = binding.disc_probability(k_tot, area, lig.D, model.dt) if k_tot > 0 else 0.0
        except ValueError:
            limit = 4 * lig.D * model.site_radius * PER_UM3_PER_MOLAR    # flux to a disc on a plane: 4Da·c
            if k_tot > 10 * limit:
                raise ModelError(
                    f"{what}: k_on = {k_tot:.4g} /M/s is far above the diffusion limit of a reactive disc, "
                    f"4·D·site_radius = {limit:.3g} /M/s (D = {lig.D:.4g} um^2/s, site_radius = "
                    f"{model.site_radius * 1e3:.3g} nm); check the rate and its units (M^-1 s^-1)") from None
            raise ModelError(
                f"{what} (k_on = {k_tot:.4g} /M/s, D = {lig.D:.4g} um^2/s) needs a per-hit probability above 1 at "
                f"dt = {model.dt:.4g} s with site_radius = {model.site_radius * 1e3:.3g} nm; use dt <= "
                f"{binding.largest_dt(k_tot, area, lig.D):.4g} s, or site_radius >= "
                f"{binding.site_radius_for(k_tot, lig.D, model.dt) * 1e3:.3g} nm") from None
        bind_p.extend(p_tot * rx.k / k_tot if k_tot > 0 else 0.0 for rx in rxs)
        p_max[lig.index] = max(p_max[lig.index], p_tot)
        # each molecule's share of the local κ′ averaged over the reach ρ of this ligand
        kp_weight[q] = binding.kappa_prime(k_tot, np.pi * rho[lig.index] ** 2, lig.D, model.dt) if k_tot > 0 else 0.0
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
        "pos": pos, "tri": tri, "state": state, "orient": orient,
        "clock": rng.exponential(size=len(state)),
        "bind_start": bind_start, "bind_rx": as_i(bind_rx), "bind_p": as_f(bind_p), "p_max": p_max,
        "kp_weight": kp_weight, "rho": rho, "depletion": np.array(binding.DEPLETION_COEFFICIENTS + (binding.KAPPA_PRIME_MAX,)),
        "rx_k": as_f([rx.k for rx in model.reactions]),
        "rx_surf": as_i([-1 if rx.surface_product is None else rx.surface_product.index for rx in model.reactions]),
        "rx_vol_start": as_i(vol_start) if n_rx else np.zeros(1, dtype=np.int32), "rx_vol": as_i(vol),
        "uni_start": uni_start if n_surf else np.zeros(1, dtype=np.int32), "uni_rx": as_i(uni_rx),
        "uni_total": as_f([sum(rx.k for rx in rxs) for rxs in uni]),
        "bath_start": bath_start if n_surf else np.zeros(1, dtype=np.int32),
        "bath_rx": as_i([rx.index for rx, _ in bath_pairs]), "bath_lig": as_i([v for _, v in bath_pairs]),
        "bath_slot": bath_slot,
        "events": events,
        "stats": np.zeros(6, dtype=np.int64),
        "lat_sigma": np.sqrt(2.0 * np.array([s.D for s in model.surface_species] or [0.0]) * model.dt),
        **_mesh_arrays(model),
        "pend_pos": np.zeros((pend_cap, 3)), "pend_species": np.zeros(pend_cap, dtype=np.int32),
        "n_vol": n_vol, "n_surf": n_surf, "site_radius": model.site_radius, "offset": PRODUCT_OFFSET,
    }
