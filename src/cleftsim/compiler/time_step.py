"""Is the time step short enough? Checks made when a model is compiled, each raising an
:class:`~cleftsim.model.AccuracyWarning` that names a better Δt. σ = √(2DΔt) is the rms step of
a species per axis; the thresholds were measured (docs/algorithms.md, "Choosing the time step").

1. **Gaps that open.** Specular reflection makes a step through a flat gap of height h exact
   whatever σ/h, but at the gap's mouth a step longer than the gap carries molecules straight out
   of it, where a Brownian path would have turned back in: molecules leave the gap too slowly.
   In disc clefts (h = 10-40 nm, opening R = 250-350 nm from the release) the error of the time
   they stay collapses onto q = σ/√(h·R): about 20 %·q^1.4, 2 % at q = 0.25, 5 % at q = 0.4.
   A warning comes above q = 0.4 and names the Δt of q = 0.25 (for gaps at least 3 heights long).
2. **Absorbing walls near the start.** The Brownian-bridge test is exact for a flat wall; it holds
   while σ is below 0.4 times the distance from where molecules start to an absorbing surface
   (escape time from a disc: +0.6 % at σ = 0.41 R, +4.9 % at 0.57 R).
3. **Steps longer than the whole space.** A step longer than every chord of the space the
   molecules start in mixes them completely each step: the time course is not resolved.

(A fourth check, of the first-step rebinding of a ligand released at the membrane, went when
released ligand got its exact geminate test: cleftsim.physics.binding, "Released ligand".)
"""
from __future__ import annotations

import math
import warnings
from typing import Iterable

import numpy as np

from cleftsim.errors import AccuracyWarning
from cleftsim.units import format_time

#: Gap check: warn above this q = σ/√(h·R) (about 5 % error), advise the Δt of Q_ADVISED (about 2 %).
Q_WARN = 0.40
Q_ADVISED = 0.25
#: A gap "opens" where its chord along the gap's axis first exceeds this many times the height,
#: and is a gap (a slab between two walls, as the calibration's clefts with R/h = 6-25) only if it
#: opens at least GAP_LENGTH heights away: near a curved wall the chord also grows, but within
#: a fraction of its length.
OPENING = 2.0
GAP_LENGTH = 3.0
#: Absorbing walls: σ at most this fraction of the distance from the start to the wall.
BRIDGE_FRACTION = 0.4
#: In-plane directions searched for the mouth of a gap, and sample points per source.
DIRECTIONS = 8
SAMPLES = 16


def nice_below(x: float) -> float:
    """The largest of 1, 2, 5 × 10^k not above x (a time step to suggest)."""
    k = math.floor(math.log10(x))
    return max(m * 10.0 ** k for m in (1, 2, 5) if m * 10.0 ** k <= x * (1 + 1e-12))


def _fmt(dt: float) -> str:
    return format_time(dt).replace("µ", "u")


def _chord(scene, p: np.ndarray, axis: int, reach: float) -> float:
    """Length (µm) of the chord of the space through p along an axis (inf if open within reach)."""
    d = np.zeros(3)
    d[axis] = reach
    fwd, back = scene.trace(p, d), scene.trace(p, -d)
    return (fwd[1] + back[1]) * reach if fwd[0] >= 0 and back[0] >= 0 else math.inf


def _opening(scene, p: np.ndarray, axis: int, h: float, reach: float) -> float:
    """Distance (µm) from p, in the plane across ``axis``, to where the gap of height h through
    p opens (its chord along ``axis`` exceeds OPENING·h): the nearest over DIRECTIONS directions;
    inf if every direction meets a wall first."""
    u, v = (a for a in range(3) if a != axis)
    best = math.inf
    for k in range(DIRECTIONS):
        d = np.zeros(3)
        d[u], d[v] = math.cos(2 * math.pi * k / DIRECTIONS), math.sin(2 * math.pi * k / DIRECTIONS)
        tri, t = scene.trace(p, d * reach)
        wall = t * reach if tri >= 0 else reach
        step = h / 2
        r = step
        while r < min(wall, best):
            if _chord(scene, p + r * d, axis, 4 * OPENING * h) > OPENING * h:
                best = r
                break
            r += step
    return best


def check_time_step(model, scene, sources: Iterable[tuple]) -> None:
    """Warn (AccuracyWarning) about each check of the module docstring that the model's Δt fails,
    for volume molecules starting at ``sources``: (species, (n, 3) points µm, whether the molecules
    start together at each point) triples. Check 2 applies to molecules that start together: of
    molecules spread through a space, those starting within a step of a wall are few."""
    dt = model.dt
    if scene.n_tri:
        lo, hi = scene_bounds(model)
        reach = 2 * float(np.linalg.norm(hi - lo))
        merged: dict[tuple[int, bool], tuple] = {}          # the same points of many releases checked once
        for sp, points, together in sources:
            if sp.D > 0 and len(points):
                merged.setdefault((sp.index, together), (sp, []))[1].append(np.asarray(points, dtype=float))
        for (_, together), (sp, points) in merged.items():
            _check_space(scene, sp, np.unique(np.concatenate(points), axis=0)[:SAMPLES], reach, dt, together)


def scene_bounds(model) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners (µm) of every object of the model."""
    lows, highs = zip(*(o.mesh.bounds for o in model.objects))
    return np.min(lows, axis=0), np.max(highs, axis=0)


def _check_space(scene, sp, points: np.ndarray, reach: float, dt: float, together: bool) -> None:
    sigma = math.sqrt(2 * sp.D * dt)
    worst_q, worst_wall, widest = None, None, 0.0
    for p in points:
        chords = [_chord(scene, p, a, reach) for a in range(3)]
        if all(math.isfinite(c) for c in chords):
            widest = max(widest, max(chords))
        axis = int(np.argmin(chords))
        h = chords[axis]
        if math.isfinite(h):
            R = _opening(scene, p, axis, h, reach)
            if math.isfinite(R) and R >= GAP_LENGTH * h and (worst_q is None or sigma / math.sqrt(h * R) > worst_q[0]):
                worst_q = (sigma / math.sqrt(h * R), h, R, p)
        tri, dist = scene.nearest(p, sp.index, sigma / BRIDGE_FRACTION) if together else (-1, 0.0)
        if tri >= 0 and (worst_wall is None or dist < worst_wall[0]):
            worst_wall = (dist, p)
    where = lambda p: f"({', '.join(f'{x:.3g}' for x in p)}) um"
    if worst_q is not None and worst_q[0] > Q_WARN:
        q, h, R, p = worst_q
        good = nice_below(Q_ADVISED ** 2 * h * R / (2 * sp.D))
        warnings.warn(
            f"dt = {_fmt(dt)} is long for the gap of {h * 1e3:.3g} nm that {sp.name} starts in near {where(p)}, which "
            f"opens {R * 1e3:.3g} nm away: steps of sigma = sqrt(2 D dt) = {sigma * 1e3:.3g} nm carry molecules out of "
            f"its mouth too directly, so the time they stay in it is off by about {_transport_error(q)} "
            f"(q = sigma/sqrt(h R) = {q:.2g}); use dt <= {_fmt(good)} for about 2 %",
            AccuracyWarning, stacklevel=5)
    if worst_wall is not None:
        dist, p = worst_wall
        good = nice_below((BRIDGE_FRACTION * dist) ** 2 / (2 * sp.D))
        warnings.warn(
            f"dt = {_fmt(dt)} is long for the absorbing surface {dist * 1e3:.3g} nm from where {sp.name} starts "
            f"near {where(p)}: steps of sigma = {sigma * 1e3:.3g} nm exceed {BRIDGE_FRACTION:g} of that distance, "
            f"beyond which the absorption is not exact; use dt <= {_fmt(good)}", AccuracyWarning, stacklevel=5)
    if widest and sigma > widest:
        good = nice_below((widest / 4) ** 2 / (2 * sp.D))
        warnings.warn(
            f"dt = {_fmt(dt)} makes the steps of {sp.name} (sigma = {sigma:.3g} um) longer than the whole space it "
            f"starts in ({widest:.3g} um across): every step mixes the molecules completely and the time course is "
            f"not resolved; use dt <= {_fmt(good)}", AccuracyWarning, stacklevel=5)


def _transport_error(q: float) -> str:
    e = 20 * q ** 1.4
    return f"{e:.2g} %" if q <= 1 else "20 % or more"
