"""Binding in a thin cleft, where most steps take the slab fast path (folded reflections between
the plates) and binding is decided at the crossings of the folded path.

L + S -> SL with sites on the bottom plate of a disc cleft (R = 400 nm, h = 20 nm) and ligand
uniform in it: both stay uniform laterally, and the binding is reaction limited (relative
depletion next to the plate κh/D ≈ 1 %, below the tolerance), so the free ligand follows the
well-mixed closed form of A + B -> C (docs/reference.md §1.4) with k = k_on/(N_A V), whatever dt.
The 40 000 sites (8·10⁴ µm⁻²) need a tile density of 10⁵ µm⁻² (one site per tile, cleftsim.physics.binding).
"""
import math

import numpy as np
import pytest
from helpers import N_A

import cleftsim as cs

R, H = 0.4, 0.02
A0, B0 = 20000, 40000
K_ON = 4.59e6
TIMES_US = (20, 50, 100, 200)


def a_of_t(t: np.ndarray) -> np.ndarray:
    k = K_ON / (N_A * math.pi * R * R * H * 1e-15)           # per pair per s
    return A0 * (B0 - A0) / (B0 * np.exp(k * (B0 - A0) * t) - A0)


def run(dt: float, facing: str = "inside", seed: int = 1):
    m = cs.Model(dt=dt, seed=seed, tile_density=1e5)
    lig = m.add_species("L", D="0.33 um^2/ms")
    cleft = m.add_geometry(cs.geometry.cylinder(R, H, segments=256), "cleft")
    m.add_surface_species("S")
    m.add_surface_species("SL")
    m.add_reaction("L + S -> SL", K_ON)
    m.place("S", region=cleft.region("bottom"), n=B0, facing=facing)
    m.release(lig, n=A0, inside=cleft)
    m.count(lig)
    res = m.run(t_end=f"{max(TIMES_US)} us", every="10 us")
    return res


@pytest.mark.slow
@pytest.mark.parametrize("dt", [1e-7, 1e-6])
def test_free_ligand_follows_mass_action_in_a_cleft(dt):
    res = run(dt)
    t = res.times
    exact = a_of_t(t)
    sim = res["L"]
    # each ligand is free at t with probability q = A(t)/A0 (the site pool is large), so the
    # count has SD ≈ sqrt(A0 q (1 - q)); allow 5 SD at each sampled time
    q = exact / A0
    sd = np.sqrt(A0 * q * (1 - q))
    z = (sim - exact)[1:] / sd[1:]
    assert np.max(np.abs(z)) < 5, (t[1:] * 1e6, sim[1:], exact[1:].round(1))
    # and the steps really went through the slab path
    assert res.diagnostics["slab_steps"] > 0.3 * res.diagnostics["reflections"] / 2


@pytest.mark.slow
def test_sites_facing_away_from_the_cleft_never_bind():
    res = run(1e-6, facing="outside")
    assert np.all(res["L"] == A0)


@pytest.mark.parametrize("grid_cell", [None, 0.12])
def test_gap_between_two_objects_binds_from_the_gap_side(grid_cell):
    """A cleft made of two separate boxes (pre- and postsynaptic), 20 nm apart: the plates'
    normals point into the gap (the reverse of a closed cylinder's), so sites must face
    "outside" of the lower box to bind ligand in the gap. With the default grid the steps are
    ray traced; with 120 nm cells (holding both plates) most take the slab fast path."""
    def run_gap(facing):
        m = cs.Model(dt="1 us", seed=3, grid_cell=grid_cell)
        lig = m.add_species("L", D="0.33 um^2/ms")
        m.add_geometry(cs.geometry.box(size=(1.0, 1.0, 0.2), center=(0, 0, 0.11)), "pre")
        post = m.add_geometry(cs.geometry.box(size=(1.0, 1.0, 0.2), center=(0, 0, -0.11)), "post")
        m.add_geometry(cs.geometry.box(size=(1.02, 1.02, 0.6)), "bath")   # reflecting container
        m.add_surface_species("S")
        m.add_surface_species("SL")
        m.add_reaction("L + S -> SL", K_ON)
        m.place("S", region=post.region("top"), n=8000, facing=facing)
        m.release(lig, n=4000, box=((-0.3, -0.3, -0.009), (0.3, 0.3, 0.009)))
        m.count("SL")
        return m.run(t_end="100 us", every="50 us")

    away = run_gap("inside")
    assert np.all(away["SL"] == 0)
    toward = run_gap("outside")
    slab_share = toward.diagnostics["slab_steps"] / (4000 * 100)
    assert (slab_share > 0.5) if grid_cell else (slab_share < 0.05)
    # per-ligand rate in the gap: k_pair·σ_S/h (σ_S = 8000 µm⁻², h = 20 nm); at 50 µs few ligands
    # have left the 1 µm wide gap (they start within 0.3 µm of its centre; sqrt(2Dt) = 0.18 µm)
    lam = K_ON / (N_A * 1e-15) * 8000 / 0.02
    p = 1 - math.exp(-lam * 50e-6)
    sd = math.sqrt(4000 * p * (1 - p))
    assert abs(toward["SL"][1] - 4000 * p) < 5 * sd, (toward["SL"], 4000 * p)
