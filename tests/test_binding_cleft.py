"""Binding in a thin cleft, where most steps take the slab fast path (folded reflections between
the plates) and binding is decided at the crossings of the folded path.

L + S -> SL with sites on the bottom plate of a disc cleft (R = 400 nm, h = 20 nm) and ligand
uniform in it: both stay uniform laterally, and the binding is reaction limited (relative
depletion next to the plate κh/D ≈ 1 %, below the tolerance), so the free ligand follows the
well-mixed closed form of A + B -> C (physics.md §1.4) with k = k_on/(N_A V), whatever dt.
"""
import math

import numpy as np
import pytest

import cleftsim as cs

N_A = 6.02214076e23
R, H = 0.4, 0.02
A0, B0 = 20000, 40000
K_ON = 4.59e6
TIMES_US = (20, 50, 100, 200)


def a_of_t(t: np.ndarray) -> np.ndarray:
    k = K_ON / (N_A * math.pi * R * R * H * 1e-15)           # per pair per s
    return A0 * (B0 - A0) / (B0 * np.exp(k * (B0 - A0) * t) - A0)


def run(dt: float, facing: str = "inside", seed: int = 1):
    m = cs.Model(dt=dt, seed=seed)
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


def test_sites_facing_away_from_the_cleft_never_bind():
    res = run(1e-6, facing="outside")
    assert np.all(res["L"] == A0)
