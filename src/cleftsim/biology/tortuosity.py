"""The extracellular volume fraction α and the tortuosity λ of a geometry, measured by
simulation (:func:`tortuosity`).

α is the fraction of points thrown uniformly into the geometry's bounding box (a neuropil's
block) that land in its space (the package's point-in-object test), with the binomial standard
error √(α(1 - α)/N).

λ = √(D / D_eff) compares the free diffusion coefficient D with the effective one, D_eff, which
is the long-time slope of the mean squared displacement: MSD(t) → 6 D_eff t + c (Nicholson &
Phillips 1981, J Physiol 321:225 [?]; Syková & Nicholson 2008, Physiol Rev 88:1277). Molecules start
at random points of the space inside a start box (by default the central quarter of the block on
each axis) and diffuse for a time t2 short enough that they do not reach the block's boundary:
the start box keeps a margin m from the boundary on every axis and t2 = (m / 4)² / (2D), so a
freely diffusing molecule gets there with a probability below 10⁻³ (four standard deviations of
its free path along each axis; in the space it spreads more slowly still). The slope is taken
between t1 = t2/2 and t2,

    D_eff = [MSD(t2) - MSD(t1)] / (6 (t2 - t1)),

which drops the offset c that the MSD gathers at early times, when molecules have not yet met the
cells' faces. Its standard error comes from the spread of that difference over the start points
(several molecules start at each, so their displacements are correlated and the start point, not
the molecule, is the independent unit); λ's follows as λ · SE(D_eff) / (2 D_eff). Whether t1 is
"long" enough shows in ``msd``: the local slope must have settled by then (for neuropil, once a
molecule has crossed a cell or two; docs/neuropil.md shows it for the default block).

Exact checks (tests/test_neuropil.py): in free space MSD = 6Dt, λ = 1; between parallel
reflecting plates the displacement across them saturates at the gap's size and MSD → 4Dt + c,
λ = √(3/2).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from cleftsim import units
from cleftsim.biology.synapse import Synapse
from cleftsim.compiler import scene as world
from cleftsim.compiler.checks import SURFACE_CLEARANCE
from cleftsim.engine.simulation import Simulation
from cleftsim.errors import MeshError, SynapseError
from cleftsim.geometry.mesh import Mesh
from cleftsim.geometry.shapes import Box
from cleftsim.model.model import Model

NAME = "synapse.tortuosity"
#: The default start box's margin from the boundary as a fraction of the block's edge (each side).
MARGIN = 3 / 8
#: Standard deviations of a free path along one axis that fit in the margin by t2.
FREE_PATH_SIGMAS = 4.0
#: Default number of time steps up to t2 (dt = t2 / STEPS).
STEPS = 2000
#: In a neuropil block the default step √(2 D dt) is at most its narrowest passage / GAP_STEPS (the
#: gap, or the pockets' necks if narrower): λ grows with the step, by about 0.0013 per nm of step
#: in the default block (docs/neuropil.md).
GAP_STEPS = 4.0
#: Times at which the MSD is recorded up to t2 (``Tortuosity.times``).
SAMPLES = 20


class Tortuosity(NamedTuple):
    """α, λ and how they were measured (lengths µm, times s, D µm²/s)."""

    alpha: float                #: extracellular volume fraction
    alpha_se: float             #: its standard error (binomial)
    lam: float                  #: tortuosity λ = √(D / D_eff)
    lam_se: float               #: its standard error
    D_eff: float                #: effective diffusion coefficient (µm²/s)
    D_eff_se: float             #: its standard error
    D: float                    #: free diffusion coefficient used (µm²/s)
    dt: float                   #: time step (s)
    t1: float                   #: start of the fit (s)
    t2: float                   #: end of the fit (s)
    times: np.ndarray           #: times (s) of ``msd``
    msd: np.ndarray             #: mean squared displacement (µm²) at ``times``
    molecules: int              #: molecules simulated
    starts: int                 #: distinct start points
    points: int                 #: points thrown for α


def _space(geometry: Any) -> Mesh:
    mesh = geometry.mesh if isinstance(geometry, Synapse) else geometry
    if not isinstance(mesh, Mesh):
        raise SynapseError(f"{NAME}: needs a Synapse (e.g. from synapse.neuropil) or a closed Mesh of the space, "
                           f"got {type(geometry).__name__}")
    try:
        mesh.check(closed=True)
    except MeshError as exc:
        raise SynapseError(f"{NAME}: the space must be one closed mesh: {exc}") from None
    return mesh


def _narrowest(geometry: Any) -> float | None:
    """A neuropil block's narrowest passage (µm): its gap, or its pockets' necks if narrower."""
    if not isinstance(geometry, Synapse) or "gap" not in geometry.parameters:
        return None
    p = geometry.parameters
    return min(p["gap"], p["pocket_neck"]) if p.get("n_pockets") else p["gap"]


def _count(name: str, value: Any, low: int, example: int) -> int:
    if not units.is_whole(value, low):
        raise SynapseError(f"{NAME}: {name}={value!r} must be a whole number >= {low} (an int); give e.g. "
                           f"{name}={example}")
    return int(value)


def _start_box(start: Any, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if start is None:
        edge = hi - lo
        return lo + MARGIN * edge, hi - MARGIN * edge
    if isinstance(start, Box):
        s_lo, s_hi = start.bounds
    else:
        try:
            s_lo, s_hi = (units.point(c, "start") for c in start)
        except (TypeError, ValueError):
            raise SynapseError(f"{NAME}: start={start!r} must be a geometry Box or two corners (lo, hi) in µm") from None
    if np.any(s_hi <= s_lo) or np.any(s_lo < lo) or np.any(s_hi > hi):
        raise SynapseError(f"{NAME}: start box {s_lo.tolist()}..{s_hi.tolist()} µm must have lo < hi and lie "
                           f"within the geometry's bounds {lo.tolist()}..{hi.tolist()} µm")
    return s_lo, s_hi


def _times(times: Any, margin: float, D: float) -> tuple[float, float]:
    if times is None:
        if margin <= 0:
            raise SynapseError(f"{NAME}: the start box reaches the geometry's bounds, so no default fit time keeps the "
                               f"molecules away from them; give times=(t1, t2)")
        t2 = (margin / FREE_PATH_SIGMAS) ** 2 / (2 * D)
        return t2 / 2, t2
    try:
        t1, t2 = (units.time(t, "times") for t in times)
    except (TypeError, ValueError):
        raise SynapseError(f"{NAME}: times={times!r} must be (t1, t2), two times in s or strings") from None
    if not 0 < t1 < t2:
        raise SynapseError(f"{NAME}: times={times!r} must satisfy 0 < t1 < t2")
    return t1, t2


def tortuosity(geometry: Synapse | Mesh, molecules: int = 20000, starts: int = 1000, D: Any = "1 um^2/ms",
               dt: Any = None, times: Any = None, start: Any = None, points: int = 100_000,
               seed: int = 0) -> Tortuosity:
    """Measure α and λ of the space of ``geometry`` (a :class:`Synapse` such as a neuropil block,
    or a closed Mesh whose interior is the space; method in the module docstring).

    ``molecules`` start in equal numbers at ``starts`` random points of the space inside
    ``start`` (a Box or (lo, hi) in µm; default the central quarter of the bounding box on each
    axis) and diffuse with ``D`` (µm²/s or a string; λ does not depend on it) at time step ``dt``
    (default t2 / 2000, and for a neuropil block at most the dt whose step √(2 D dt) is a quarter
    of its gap, or of its pockets' necks if narrower; the step should be well below the narrowest
    passages: λ grows with it); the slope of
    their MSD is fitted between ``times`` = (t1, t2) (default t2 / 2 and t2 = (margin / 4)² / 2D,
    the margin being the start box's smallest distance from the bounds). α comes from ``points``
    uniform points in the bounding box. ``seed``: of the start points, the α points and the walk.
    """
    mesh = _space(geometry)
    molecules = _count("molecules", molecules, 1, 20000)
    starts = _count("starts", starts, 2, 1000)
    points = _count("points", points, 1, 100_000)
    seed = _count("seed", seed, 0, 0)
    if starts > molecules:
        raise SynapseError(f"{NAME}: starts={starts} exceeds molecules={molecules}; give at most one start point "
                           f"per molecule")
    try:
        D_free = units.bounded(D, "diffusion", f"{NAME}: D", positive=True, example="1 um^2/ms")
    except units.UnitError as exc:
        raise SynapseError(str(exc)) from None
    lo, hi = mesh.bounds
    s_lo, s_hi = _start_box(start, lo, hi)
    margin = float(min(np.min(s_lo - lo), np.min(hi - s_hi)))
    t1, t2 = _times(times, margin, D_free)
    if dt is None:
        gap = _narrowest(geometry)
        step = t2 / STEPS if gap is None else min(t2 / STEPS, (gap / GAP_STEPS) ** 2 / (2 * D_free))
    else:
        step = units.time(dt, f"{NAME}: dt")
    k1, k2 = round(t1 / step), round(t2 / step)
    if not (step > 0 and k1 >= 1 and k2 > k1):
        raise SynapseError(f"{NAME}: dt={dt!r} must be positive and shorter than t1 ({t1:g} s)")

    rng = np.random.default_rng(seed)
    rules = np.zeros((len(mesh.region_names), 1), dtype=np.int8)
    scene = world.build_scene([mesh], [0], rules, np.zeros(1))
    inside = lambda p: world.contains(scene, 0, mesh, p)
    thrown = lo + (hi - lo) * rng.random((points, 3))
    alpha = float(np.count_nonzero(inside(thrown))) / points
    origins = np.zeros((0, 3))
    for _ in range(1000):
        cand = s_lo + (s_hi - s_lo) * rng.random((2 * starts, 3))
        cand = cand[inside(cand)]
        clear = np.array([scene.surface_within(c, 2 * SURFACE_CLEARANCE)[1] < 0 for c in cand], dtype=bool)
        origins = np.concatenate([origins, cand[clear]])[:starts]      # off the surfaces, as releases must be
        if len(origins) == starts:
            break
    else:
        raise SynapseError(f"{NAME}: the start box {s_lo.tolist()}..{s_hi.tolist()} µm holds (almost) none of the "
                           f"space; give a start box that does")

    model = Model(step, seed=seed)
    species = model.add_species("probe", D=D_free)
    model.add_geometry(mesh, "space")
    share = np.full(starts, molecules // starts) + (np.arange(starts) < molecules % starts)
    for p, m in zip(origins, share):
        model.release(species, int(m), at=p)
    sim = Simulation(model)

    def positions() -> np.ndarray:
        """The molecules' positions, in the order they were made (uid)."""
        mol = sim.volume_molecules
        return mol.pos[: mol.n][np.argsort(mol.uid[: mol.n], kind="stable")]

    begin = positions()                               # at t = 0: each molecule at its start point
    _, origin_of = np.unique(begin, axis=0, return_inverse=True)
    origin_of = origin_of.reshape(-1)
    marks = sorted({*np.linspace(0, k2, SAMPLES + 1).round().astype(int).tolist(), k1, k2})
    msd, at = [], {}
    for k in marks:
        sim.advance(k - sim.step_index)
        r2 = np.sum((positions() - begin) ** 2, axis=1)
        at[k] = r2
        msd.append(float(r2.mean()))
    rise = np.bincount(origin_of, at[k2] - at[k1]) / np.bincount(origin_of)
    span = 6 * (k2 - k1) * step
    D_eff = float(rise.mean()) / span
    D_se = float(rise.std(ddof=1)) / np.sqrt(len(rise)) / span
    if not D_eff > 0:
        raise SynapseError(f"{NAME}: the MSD did not grow between t1 and t2 ({t1:g}-{t2:g} s); use more molecules "
                           f"or a longer window")
    lam = float(np.sqrt(D_free / D_eff))
    return Tortuosity(alpha, float(np.sqrt(alpha * (1 - alpha) / points)), lam, lam * D_se / (2 * D_eff), D_eff, D_se,
                      D_free, step, k1 * step, k2 * step, np.array(marks) * step, np.array(msd), molecules, starts,
                      points)
