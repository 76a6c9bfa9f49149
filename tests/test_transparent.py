"""Transparent surfaces: a transparent icosphere inside a reflecting box.

Exact results used:

- Equilibrium: molecules are independent and the equilibrium density is uniform in the box (the
  transparent surface must not matter), so the number inside the sphere is exactly
  Binomial(N, p) with p = V_sphere/V_box (volumes of the meshes): |n_in − Np| < 4.5 √(Np(1 − p)).
- Bookkeeping: every crossing of the closed transparent surface changes the number inside by
  one, so at every sample  out − in (cumulative crossings) = n_in(0) − n_in(t), exactly.
- Crossing rate (derived for the discrete-step engine). A molecule's step is a straight segment d
  (Gaussian, isotropic); reflections at the axis-aligned outer box are mirror folds, so in the
  unfolded space (the box and its mirror images) the path is the straight segment and the sphere
  appears once per image. For a fixed d, the set of start points x whose segment x → x + d
  crosses a surface element dA (normal n) outward is a prism of volume max(n·d, 0) dA; with the
  uniform density c = N/V_box (stationary) and E max(n·d, 0) = E|d|/4 for an isotropic d (mean of
  |d| |cos θ| over the half-sphere, halved), every step gives on average
      E[outward crossings] = E[inward crossings] = c · S · E|d| / 4,   E|d| = √(16DΔt/π),
  for any step length (segments that cross several times count every crossing), S = the mesh
  area. The SE comes from the molecules' independence: the molecules are split into G species
  with the same D, whose crossing totals are i.i.d.; SE(total) = sd(group totals)·√G.
- Aimed rays through the vertices and edges of the transparent mesh cross it exactly once.
"""
import math

import numpy as np
import pytest
from helpers import P_MIN, check
from scipy import stats

import cleftsim as cs
from cleftsim._core.step import displace

BOX_L = 0.6
SPHERE_R, SPHERE_C = 0.2, np.array([0.03, -0.02, 0.01])


def sphere_mesh():
    return cs.geometry.icosphere(SPHERE_R, 2, center=SPHERE_C)


def inside_sphere(mesh, p):
    """Independent membership test: the convex icosphere's face half-spaces."""
    v = mesh.vertices[mesh.triangles]
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    n /= np.linalg.norm(n, axis=1)[:, None]
    return np.all(p @ n.T - np.einsum("ij,ij->i", n, v[:, 0]) < 0, axis=1)


def base_model(seed):
    m = cs.Model(dt="1 us", seed=seed)
    box = m.add_geometry(cs.geometry.box(BOX_L), name="box")
    inner = m.add_geometry(sphere_mesh(), name="inner")
    return m, box, inner


@pytest.mark.slow
def test_equilibrium_counts_are_proportional_to_volumes():
    """Two species, one released at the sphere's centre, one in a corner of the box; rms step
    0.15 µm per axis, 40 steps: Dt = 0.45 µm², the slowest box mode is down to exp(−π²Dt/L²) = 4e-6."""
    n = 100_000
    D = 0.15**2 / (2 * 1e-6)
    m, box, inner = base_model(51)
    a = m.add_species("a", D=D)
    b = m.add_species("b", D=D)
    for sp in (a, b):
        m.set_surface(sp, inner, "transparent")
    m.release(a, n=n, at=SPHERE_C)
    m.release(b, n=n, at=(0.27, 0.27, -0.27))
    m.count(a, inside=inner, name="a_in")
    m.count(b, inside=inner, name="b_in")
    sim = m.simulation()
    assert sim.observe()["a_in"] == n and sim.observe()["b_in"] == 0
    sim.advance(40)
    p = inner.mesh.volume / box.mesh.volume
    obs = sim.observe()
    for sp in (a, b):
        pos = sim.positions(sp)
        assert len(pos) == n and np.all(np.abs(pos) <= BOX_L / 2)
        n_in = int(inside_sphere(inner.mesh, pos).sum())
        assert obs[f"{sp.name}_in"] == n_in                      # engine's count = exact test
        check(n_in, n * p, math.sqrt(n * p * (1 - p)), f"molecules of {sp.name} inside the sphere")


G = 32                  # independent groups (species) for the SE of the crossing count
N_GROUP = 2_000
STEPS = 50
SIGMA = 0.05            # µm, rms step per axis


@pytest.fixture(scope="module")
def crossing_run():
    D = SIGMA**2 / (2 * 1e-6)
    m, box, inner = base_model(52)
    species = [m.add_species(f"s{g}", D=D) for g in range(G)]
    for sp in species:
        m.set_surface(sp, inner, "transparent")
        m.release(sp, n=N_GROUP, inside=box)
        m.count(sp, inside=inner, name=f"inside_{sp.name}")
        for direction in ("out", "in", "net"):
            m.count_crossings(sp, inner, direction=direction, name=f"{direction}_{sp.name}")
    sim = m.simulation()
    res = sim.sample(f"{STEPS} us", every="5 us")
    return m, sim, res, species


def test_crossing_bookkeeping_is_exact(crossing_run):
    _, _, res, species = crossing_run
    for sp in species:
        n_in = res[f"inside_{sp.name}"]
        np.testing.assert_array_equal(res[f"net_{sp.name}"], res[f"out_{sp.name}"] - res[f"in_{sp.name}"])
        np.testing.assert_array_equal(res[f"net_{sp.name}"], n_in[0] - n_in)
    assert sum(res[f"out_{sp.name}"][-1] for sp in species) > 10_000


def test_mean_crossing_rate_is_c_S_E_d_over_4(crossing_run):
    m, sim, res, species = crossing_run
    box, inner = m.objects
    S = float(inner.mesh.areas.sum())
    c = N_GROUP / box.mesh.volume                              # per group
    mean_step = math.sqrt(16 * (SIGMA**2 / 2) / math.pi)      # E|d| = √(16 DΔt/π), DΔt = σ²/2
    expected = STEPS * c * S * mean_step / 4                   # per group, each direction
    for direction in ("out", "in"):
        totals = np.array([res[f"{direction}_{sp.name}"][-1] for sp in species], dtype=float)
        # the G group totals are i.i.d.: SE of their mean = sd/√G
        check(totals.mean(), expected, totals.std(ddof=1) / math.sqrt(G), f"{direction}ward crossings per group")


def test_transparent_surface_leaves_the_density_uniform(crossing_run):
    _, sim, _, species = crossing_run
    pos = np.concatenate([sim.positions(sp) for sp in species])
    assert len(pos) == G * N_GROUP
    u = pos / BOX_L + 0.5
    counts = np.histogramdd(u, bins=(8, 8, 8), range=[(0, 1)] * 3)[0].ravel()
    p = stats.chisquare(counts).pvalue
    assert p > P_MIN, f"density in the box: chi-square p = {p:.2e}"


def test_rays_through_vertices_and_edges_cross_exactly_once():
    m, _, inner = base_model(53)
    sp = m.add_species("a", D=1.0)
    m.set_surface(sp, inner, "transparent")
    sim = m.simulation()
    mesh = inner.mesh
    rng = np.random.default_rng(54)
    v = mesh.vertices
    e = np.unique(np.sort(mesh.triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1), axis=0)
    targets = np.concatenate([v, 0.5 * (v[e[:, 0]] + v[e[:, 1]]),
                              v[e[:, 0]] + rng.random((len(e), 1)) * (v[e[:, 1]] - v[e[:, 0]])])
    r_in = np.einsum("ij,ij->i", mesh.normals, v[mesh.triangles[:, 0]] - SPHERE_C).min()
    for k, q in enumerate(targets):
        u = rng.normal(size=3)
        p0 = SPHERE_C + 0.9 * r_in * rng.random() ** (1 / 3) * u / np.linalg.norm(u)
        d = q - p0
        for scale in (1.0 + 1e-7, 1.2):                       # end just outside / well outside
            before = sim.crossed.copy()
            p = np.ascontiguousarray(p0[None, :].copy())
            fate = displace(sim.scene, p, np.ascontiguousarray(d[None, :] * scale), sp.index, sim.compiled.ddt[0],
                            sim.compiled.rcut[0], sim._stream, sim.counters)
            assert fate[0] == -1
            diff = sim.crossed - before
            region = inner.region("surface").index
            assert diff[region, sp.index, 1] == 1 and diff[region, sp.index, 0] == 0, (
                f"ray {k} to {q} (x{scale}): {diff[region, sp.index, 1]} out, {diff[region, sp.index, 0]} in")
            assert diff.sum() == 1
            assert not inside_sphere(mesh, p).any()
            np.testing.assert_allclose(p[0], p0 + d * scale, atol=1e-12)
