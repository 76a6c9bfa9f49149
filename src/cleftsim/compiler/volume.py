"""Compile a model's volume reactions into the arrays of the VolumeKinetics and PairReactions kernels."""
from __future__ import annotations

import math

import numpy as np

from cleftsim.compiler.membrane import csr
from cleftsim.physics import bimolecular
from cleftsim.physics.bimolecular import pair_radius, pair_rate


def radii(model) -> tuple[dict[int, tuple[float, float]], dict[int, float]]:
    """(σ_b µm, p) of every pair reaction, and the unbinding separation (µm) of every first-order
    reaction that is the reverse of one (C -> A + B with A + B -> C), by reaction index."""
    bind, sep = {}, {}
    for rx in model.reactions:
        if rx.kind != "pair":
            continue
        pair = sorted(r.index for r in rx.reactants)
        backs = [r for r in model.reactions if r.kind == "volume"
                 and sorted(p.index for p in r.volume_products) == pair]
        sigma, p, s_u = pair_radius(rx, model.dt, bool(backs))
        bind[rx.index] = (sigma, p)
        for back in backs:
            sep[back.index] = s_u
    return bind, sep


def chords(scene, points: np.ndarray, reach: float) -> np.ndarray:
    """(n, 3) length (µm) of the chord of the space through each sample point along each axis,
    bounded by surfaces on both sides within ``reach`` (inf where it is not). Axis chords are
    never shorter than the gap they cross and at most √3 times longer (slanted chords would cut
    corners and report narrow spaces that are not there)."""
    out = np.full((len(points), 3), np.inf)
    for i, p in enumerate(np.asarray(points, dtype=float)):
        for ax, d in enumerate(np.eye(3)):
            fwd = scene.trace(p, d * reach)
            back = scene.trace(p, -d * reach)
            if fwd[0] >= 0 and back[0] >= 0:
                out[i, ax] = (fwd[1] + back[1]) * reach
    return out


#: Rate deficit from walls above which a binding radius gets an AccuracyWarning (and the dt it
#: names brings it to half of this).
WALL_DEFICIT_WARN = 0.01


def wall_deficit(sigma: float, inverse_width: float) -> float:
    """Fraction of the rate of A + B lost to walls with binding radius sigma (µm), for large
    steps: a pair reacts where it lands within σ, and a molecule at z < σ from a wall has the cap
    (1 − z/σ)²(2 + z/σ)/4 of its reactive ball cut off, 3/16 on average over the layer; two
    layers of σ in a slab of width h give 0.375·σ/h. ``inverse_width`` (µm⁻¹) sums 1/h over the
    pairs of walls (1/h for a slab, 3/L for a cube of edge L; in general the sum over the axes
    of 1/chord, averaged over where the molecules are)."""
    return 0.375 * sigma * inverse_width


def _dt_for_deficit(k: float, D: float, dt: float, inverse_width: float, target: float) -> str:
    """Advice: the time step at which the computed binding radius of rate k (M⁻¹s⁻¹) loses
    ``target`` of its rate to the walls (wall_deficit). Small steps approach the Smoluchowski
    radius k/(4πD); the search stops at b = 5 (beyond it the radius hardly shrinks)."""
    smol = k / bimolecular.PER_UM3_PER_MOLAR / (4 * math.pi * D)
    if wall_deficit(smol, inverse_width) >= target:
        return (f"a larger space: even for small steps the radius of this k is {smol * 1e3:.3g} nm "
                f"(k/4πD, diffusion-limited)")
    dt_lo = (smol / 5) ** 2 / (2 * D)
    f = lambda ln_dt: wall_deficit(bimolecular.binding_radius(k, D, math.exp(ln_dt)), inverse_width) - target
    if dt_lo >= dt or f(math.log(dt_lo)) > 0:
        return f"dt <= {min(dt_lo, dt):.3g} s"
    from scipy import optimize

    return f"dt <= {math.exp(optimize.brentq(f, math.log(dt_lo), math.log(dt), xtol=1e-3)):.3g} s"


def check_radii_fit(model, scene, bind: dict, sep: dict, points: np.ndarray) -> None:
    """The reaction volume of A + B must fit in the space the molecules move in (measured by
    axis chords through ``points``, samples of where they start): a binding radius above half the
    narrowest chord is refused (the walls would cut the reactive sphere and the rate would fall
    short of k), and one whose rate deficit at the walls (wall_deficit) exceeds
    WALL_DEFICIT_WARN gets a warning naming a time step that brings it to half of that; an
    unbinding separation above half the chord gets a warning naming a time step at which it fits
    (walls would squeeze dissociated pairs, which biases the equilibrium)."""
    import warnings

    from cleftsim.errors import AccuracyWarning, ModelError

    if scene.n_tri == 0 or not bind or len(points) == 0:
        return
    far = max([2 * r for r, _ in bind.values()] + [0.75 * r / WALL_DEFICIT_WARN for r, _ in bind.values()]
              + [2 * r for r in sep.values()])
    lengths = chords(scene, points, far)
    gap = float(lengths.min())
    if not np.isfinite(gap):
        return
    at = points[int(np.argmin(lengths.min(axis=1)))]
    inverse_width = float(np.mean(np.sum(1.0 / lengths, axis=1)))
    place = f"the space of {gap * 1e3:.4g} nm across near ({', '.join(f'{x:.4g}' for x in at)}) um"
    for rx in model.reactions:
        if rx.kind != "pair":
            continue
        sigma = bind[rx.index][0]
        D = sum(r.D for r in rx.reactants)
        if 2 * sigma > gap:
            raise ModelError(
                f"reaction {rx.equation!r}: its reaction radius {sigma * 1e3:.4g} nm does not fit in {place}; "
                f"use a smaller dt (the radius shrinks with it) or a radius= below {gap * 5e2:.4g} nm")
        loss = wall_deficit(sigma, inverse_width)
        if loss > WALL_DEFICIT_WARN:
            if rx.radius is None:
                hint = _dt_for_deficit(pair_rate(rx), D, model.dt, inverse_width, WALL_DEFICIT_WARN / 2)
            else:
                hint = f"a radius below {WALL_DEFICIT_WARN / 2 / (0.375 * inverse_width) * 1e3:.3g} nm"
            warnings.warn(
                f"reaction {rx.equation!r}: its reaction radius {sigma * 1e3:.4g} nm is large for the space the "
                f"molecules start in (narrowest {gap * 1e3:.4g} nm across): the walls cut about {100 * loss:.2g} % "
                f"off its rate. Use {hint}", AccuracyWarning, stacklevel=4)
        backs = [sep[r.index] for r in model.reactions if r.index in sep
                 and sorted(p.index for p in r.volume_products) == sorted(q.index for q in rx.reactants)]
        if backs and 2 * backs[0] > gap:
            room = gap / 2 - sigma
            hint = (f"dt <= {room ** 2 / (2 * D * bimolecular.UNBIND_GAP ** 2):.3g} s"
                    if room > 0 else "a smaller dt")
            warnings.warn(
                f"reaction {rx.equation!r}: dissociated pairs are placed {backs[0] * 1e3:.4g} nm apart, more than "
                f"fits in {place}; walls will squeeze them and bias the equilibrium. Use {hint}",
                AccuracyWarning, stacklevel=4)


def volume_tables(model, sep: dict[int, float]) -> dict | None:
    """The VolumeKinetics kernel's tables (see volume.pxd; a trial adds its counters and buffer
    size), or None without first-order volume reactions and productions."""
    uni = [[] for _ in model.species]
    for rx in model.reactions:
        if rx.kind == "volume":
            uni[rx.reactants[0].index].append(rx)
    if not any(uni) and not any(rx.kind == "production" for rx in model.reactions):
        return None
    uni_start, uni_rx = csr([[rx.index for rx in rxs] for rxs in uni])
    vol_start, vol = csr([[p.index for p in rx.volume_products] for rx in model.reactions])
    as_i = lambda x: np.ascontiguousarray(np.asarray(x if len(x) else [0], dtype=np.int32))
    return {
        "uni_start": uni_start, "uni_rx": as_i(uni_rx),
        "uni_total": np.array([sum(rx.k for rx in rxs) for rxs in uni], dtype=np.float64),
        "rx_k": np.array([rx.k for rx in model.reactions]),
        "rx_vol_start": as_i(vol_start), "rx_vol": as_i(vol),
        "rx_sep": np.array([sep.get(rx.index, 0.0) for rx in model.reactions]),
        "D": np.array([s.D for s in model.species], dtype=np.float64),
    }


def pair_tables(model, bind: dict[int, tuple[float, float]]) -> dict | None:
    """The PairReactions kernel's tables (see pairs.pxd; a trial adds its counters), or None
    without pair reactions."""
    pairs = [rx for rx in model.reactions if rx.kind == "pair"]
    if not pairs:
        return None
    n_vol, n_rx = len(model.species), len(model.reactions)
    pair_rx = np.full(n_vol * n_vol, -1, dtype=np.int32)
    rx_r2 = np.zeros(n_rx)
    rx_p = np.ones(n_rx)
    rx_prod = np.full((n_rx, 2), -1, dtype=np.int32)
    searches = np.zeros(n_vol, dtype=np.int8)
    target = np.zeros(n_vol, dtype=np.int8)
    for rx in pairs:
        a, b = rx.reactants
        rx_r2[rx.index] = bind[rx.index][0] ** 2
        rx_p[rx.index] = bind[rx.index][1]
        pair_rx[a.index * n_vol + b.index] = rx.index       # a searches, b waits in the hash
        searches[a.index] = 1
        target[b.index] = 1
        rx_prod[rx.index, :len(rx.volume_products)] = [p.index for p in rx.volume_products]
    return {"pair_rx": pair_rx, "rx_r2": rx_r2, "rx_p": rx_p, "rx_prod": rx_prod,
            "weight": np.array([s.D for s in model.species], dtype=np.float64), "searches": searches, "target": target}
