"""High-statistics validation of cleftsim against exact results (``make validate``).

    python validation/report.py OUTDIR [--quick] [--workers N]

writes ``OUTDIR/report.md`` (tables: simulated, exact, relative error, standard error, and the
error in standard errors, z) and PNG figures into OUTDIR. Every run uses a fixed seed, so the
report is reproducible. The checks (formulas in docs/physics and :mod:`cleftsim.physics.analytic`):

1. Free diffusion: ⟨r²⟩ = 6Dt, kurtosis ⟨r⁴⟩/⟨r²⟩² = 5/3, per-axis ⟨x⁴⟩/⟨x²⟩² = 3, mean step
   length √(16DΔt/π), per-axis KS test against N(0, 2Dt).
2. Disc cleft with an absorbing rim, release at the centre: survival S(t) and the mean
   concentration within r < 50 nm against the Fourier–Bessel series, and the mean escape time
   against R²/(4D), at Δt = 0.1, 0.5, 1 and 2 µs, with the Brownian-bridge crossing test and, in a
   clearly labelled run, without it (``cs.Model(..., bridge_radius=0)``: the naive
   end-point check).
3. Confinement: slab ⟨Δz²⟩(t) → h²/6 (exact series), cube per-axis ⟨Δx²⟩(t) → L²/6 (exact
   series) with uniform equilibrium density, sphere ⟨|Δr|²⟩ → 6R²/5.
4. No leaks: molecules inside closed reflecting objects (box, icosphere, cylinder, torus) with
   steps from 0.1 to 10 times the object size stay inside; molecules outside a closed object
   never get in.
5. Binding on hit: the capture rate of ligand by surface sites (L + T -> T) against
   k_eff·N_T/(N_A·V) (k_eff: k_on with the Collins–Kimball access limit of a tile) at Δt = 0.1–2 µs, for receptor-like sites (tiles of 100 nm², 5000 µm⁻²) and for
   sparse sites on small tiles (1 nm²), where the per-hit probability is largest.
6. Volume reactions against Δt: the rate constant of A + B -> C recovered from A(t) against the
   closed form, and the equilibrium ⟨C⟩ of A + B <-> C with small numbers against the exact
   distribution, over three decades of Δt.

The jobs run in a process pool (two workers by default) and take a few minutes on two cores.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy import special, stats

import cleftsim as cs
from cleftsim.compiler import volume as volume_tables
from cleftsim.physics import analytic, bimolecular
from cleftsim.units import PER_UM3_PER_MOLAR

D_GLU = 330.0                      # µm²/s (0.33 µm²/ms)
R_CLEFT, H_CLEFT, SEGMENTS = 0.2, 0.02, 128   # µm
A_CENTRE = 0.05                    # µm, radius of the central disc for ⟨c⟩_a
N_REF = 3000                       # concentrations are reported for a 3000-molecule release
DISC_DTS_US = (0.1, 0.5, 1.0, 2.0)
DISC_T_END_US = 300
DISC_SAMPLE_US = (10, 20, 50, 100)
CONC_SAMPLE_US = (2, 10, 20, 50, 100)
FREE_STEPS = (1, 10, 100, 1000)


# ---------------------------------------------------------------------------------------------
# Exact results not in cleftsim.physics.analytic
def interval_msd(L: float, D: float, t, terms: int = 200):
    """⟨(x_t − x_0)²⟩ for reflecting walls L apart, uniform start (µm²).

    Expanding x − L/2 in the Neumann eigenfunctions cos(nπx/L) (odd n, coefficients −4L/(n²π²)):
    ⟨Δx²⟩ = L²/6 − Σ_{n odd} 16L²/(n⁴π⁴) exp(−n²π²Dt/L²); at t = 0 the sum is L²/6.
    """
    n = 2 * np.arange(terms) + 1.0
    t = np.atleast_1d(np.asarray(t, dtype=float))
    s = (16 * L**2 / (n**4 * np.pi**4))[None, :] * np.exp(-np.outer(t, n**2) * np.pi**2 * D / L**2)
    return L**2 / 6 - s.sum(axis=1)


def polyhedron_msd_limit(mesh) -> float:
    """Long-time ⟨|Δr|²⟩ = 2(⟨|r|²⟩ − |⟨r⟩|²) for a uniform density in a closed mesh (µm²).

    Cones from the origin to every triangle (signed tetrahedra): ∫x dV = V_t (a+b+c)/4,
    ∫|x|² dV = V_t/10 (|a|²+|b|²+|c|²+a·b+b·c+c·a).
    """
    v = mesh.vertices[mesh.triangles]
    a, b, c = v[:, 0], v[:, 1], v[:, 2]
    vt = np.einsum("ij,ij->i", a, np.cross(b, c)) / 6
    vol = vt.sum()
    mean = (vt[:, None] * (a + b + c) / 4).sum(axis=0) / vol
    dot = lambda x, y: np.einsum("ij,ij->i", x, y)  # noqa: E731
    m2 = (vt / 10 * (dot(a, a) + dot(b, b) + dot(c, c) + dot(a, b) + dot(b, c) + dot(c, a))).sum() / vol
    return float(2 * (m2 - mean @ mean))


def polygon_escape_correction(n_sides: int) -> float:
    """Relative change of the mean escape time from the centre when the disc of radius R is
    replaced by the inscribed regular n-gon: −2⟨δ⟩/R = −2π²/(3n²) to first order (boundary
    perturbation of T = (R² − r²)/(4D); only the mean inward displacement ⟨δ⟩ = Rπ²/(3n²)
    moves the value at the centre)."""
    return -2 * np.pi**2 / (3 * n_sides**2)


def torus(R: float = 0.1, r: float = 0.035, nu: int = 32, nv: int = 16):
    """A closed, outward-oriented, non-convex torus mesh (µm)."""
    u, v = np.meshgrid(np.arange(nu) / nu, np.arange(nv) / nv, indexing="ij")
    u, v = 2 * np.pi * u, 2 * np.pi * v
    verts = np.stack([(R + r * np.cos(v)) * np.cos(u), (R + r * np.cos(v)) * np.sin(u),
                      r * np.sin(v)], axis=-1).reshape(-1, 3)
    a = np.arange(nu * nv).reshape(nu, nv)
    b, d = np.roll(a, -1, axis=0), np.roll(a, -1, axis=1)
    c = np.roll(b, -1, axis=1)
    tris = np.stack([np.stack([a, b, c], -1), np.stack([a, c, d], -1)]).reshape(-1, 3)
    return cs.geometry.Mesh(verts, tris)


# ---------------------------------------------------------------------------------------------
# Jobs (run in worker processes; each returns plain data)
def job_free(n: int, seed: int = 101) -> dict:
    t0 = time.perf_counter()
    m = cs.Model(dt="1 us", seed=seed)
    sp = m.add_species("a", D=D_GLU)
    m.release(sp, n=n, at=(0, 0, 0))
    sim = m.simulation()
    rows, hist = [], None
    for k in FREE_STEPS:
        sim.advance(k - sim.step_index)
        x = sim.positions(sp)
        t = sim.time
        r2 = (x**2).sum(axis=1)
        m2, m4 = r2.mean(), (r2**2).mean()
        # delta method for K = m4 / m2²: gradient (−2 m4/m2³, 1/m2²) with the sample covariance
        cov = np.cov(np.vstack([r2, r2**2]))
        g = np.array([-2 * m4 / m2**3, 1 / m2**2])
        k_se = float(np.sqrt(g @ cov @ g / n))
        sig2 = 2 * D_GLU * t
        ax4 = (x**4).mean(axis=0) / (x**2).mean(axis=0) ** 2
        rows.append({
            "steps": k, "t": t,
            "msd": m2 / (6 * D_GLU * t), "msd_se": r2.std() / np.sqrt(n) / (6 * D_GLU * t),
            "kurt": m4 / m2**2, "kurt_se": k_se,
            "axis_var": ((x**2).mean(axis=0) / sig2).tolist(),
            "axis_var_se": float(np.sqrt(2 / n)),          # Var(x²)/σ⁴ = 2 for a Gaussian
            "axis_kurt": ax4.tolist(), "axis_kurt_se": float(np.sqrt(96 / n)),  # delta method, Gaussian
            "mean_over_sigma": (x.mean(axis=0) / np.sqrt(sig2)).tolist(),
            "ks_p": [float(stats.kstest(x[:, j] / np.sqrt(sig2), "norm").pvalue) for j in range(3)],
            "step_len": float(np.sqrt(r2).mean() / np.sqrt(16 * D_GLU * t / np.pi)) if k == 1 else None,
            "step_len_se": float(np.sqrt(r2).std() / np.sqrt(n) / np.sqrt(16 * D_GLU * t / np.pi)),
        })
        if k == 1:
            z = (x / np.sqrt(sig2)).ravel()
            hist = np.histogram(z, bins=np.linspace(-6, 6, 121))
            # tails of the normal generator: P(|x| > a) = erfc(a/√2), binomial SE
            rows[-1]["tails"] = [(a, float(np.mean(np.abs(z) > a)), float(special.erfc(a / np.sqrt(2))),
                                  len(z)) for a in (2.0, 3.0, 4.0, 4.5)]
    return {"job": "free", "n": n, "rows": rows, "hist": hist, "seconds": time.perf_counter() - t0}


def job_disc(dt_us: float, bridge: bool, n: int, seed: int) -> dict:
    """Release n molecules at the centre of the cleft, absorbing rim; survival every step."""
    t0 = time.perf_counter()
    # without the bridge: the NAIVE END-POINT CHECK (bridge test disabled)
    m = cs.Model(dt=f"{dt_us} us", seed=seed, bridge_radius=4.0 if bridge else 0.0)
    sp = m.add_species("glu", D=D_GLU)
    cleft = m.add_geometry(cs.geometry.cylinder(R_CLEFT, H_CLEFT, segments=SEGMENTS), "cleft")
    m.set_surface(sp, cleft.region("side"), "absorb")
    m.release(sp, n=n, at=(0, 0, 0))
    sim = m.simulation()
    steps = int(round(DISC_T_END_US / dt_us))
    conc_steps = {int(round(t / dt_us)): t for t in CONC_SAMPLE_US}
    surv = np.empty(steps + 1)
    centre = {}
    sim.positions(sp)
    surv[0] = sim.count(sp)
    for k in range(1, steps + 1):
        sim.advance(1)
        surv[k] = sim.count(sp)
        if k in conc_steps:
            p = sim.positions(sp)
            centre[conc_steps[k]] = int(np.count_nonzero(p[:, 0] ** 2 + p[:, 1] ** 2 < A_CENTRE**2))
    return {"job": "disc", "dt_us": dt_us, "bridge": bridge, "n": n, "survivors": surv,
            "centre": centre, "diagnostics": sim.diagnostics, "seconds": time.perf_counter() - t0}


def job_slab(dt_us: float, n: int, seed: int) -> dict:
    """Cylinder cleft, all walls reflecting, uniform start: z motion is that of a slab."""
    t0 = time.perf_counter()
    m = cs.Model(dt=f"{dt_us} us", seed=seed)
    sp = m.add_species("glu", D=D_GLU)
    cleft = m.add_geometry(cs.geometry.cylinder(R_CLEFT, H_CLEFT, segments=SEGMENTS), "cleft")
    m.release(sp, n=n, inside=cleft)
    sim = m.simulation()
    x0 = sim.positions(sp)
    out = []
    for t_us in (4, 8, 20, 40):
        sim.run(f"{t_us} us" if not out else f"{t_us - out[-1][0]} us")
        x = sim.positions(sp)          # no molecule is removed, so rows stay aligned
        dz2 = (x[:, 2] - x0[:, 2]) ** 2
        out.append((t_us, dz2.mean(), dz2.std() / np.sqrt(n)))
    z = sim.positions(sp)[:, 2]
    p = stats.kstest((z + H_CLEFT / 2) / H_CLEFT, "uniform").pvalue
    outside = n - int(np.count_nonzero(np.abs(z) <= H_CLEFT / 2))
    return {"job": "slab", "dt_us": dt_us, "n": n, "rows": out, "ks_p": float(p),
            "outside": outside, "seconds": time.perf_counter() - t0}


def job_cube(n: int, seed: int, L: float = 0.2) -> dict:
    t0 = time.perf_counter()
    m = cs.Model(dt="1 us", seed=seed)
    sp = m.add_species("a", D=D_GLU)
    box = m.add_geometry(cs.geometry.box(L), "box")
    m.release(sp, n=n, inside=box)
    sim = m.simulation()
    x0 = sim.positions(sp)
    out, last = [], 0
    for t_us in (5, 10, 20, 50, 100, 200):
        sim.advance(t_us - last)
        last = t_us
        d2 = ((sim.positions(sp) - x0) ** 2)            # per axis, (n, 3)
        per = d2.mean(axis=1)                           # average of the three axes per molecule
        out.append((t_us, per.mean(), per.std() / np.sqrt(n)))
    x = sim.positions(sp)
    ks = [float(stats.kstest(x[:, j] / L + 0.5, "uniform").pvalue) for j in range(3)]
    outside = int(np.count_nonzero(np.abs(x) > L / 2))
    return {"job": "cube", "n": n, "L": L, "rows": out, "ks_p": ks, "outside": outside,
            "seconds": time.perf_counter() - t0}


def job_sphere(n: int, seed: int, R: float = 0.2, subdivisions: int = 4) -> dict:
    t0 = time.perf_counter()
    m = cs.Model(dt="1 us", seed=seed)
    sp = m.add_species("a", D=D_GLU)
    mesh = cs.geometry.icosphere(R, subdivisions=subdivisions)
    ball = m.add_geometry(mesh, "ball")
    m.release(sp, n=n, inside=ball)
    m.count(sp, inside=ball, name="inside")
    sim = m.simulation()
    x0 = sim.positions(sp)
    out, last = [], 0
    for t_us in (10, 30, 100, 200, 300):
        sim.advance(t_us - last)
        last = t_us
        d2 = ((sim.positions(sp) - x0) ** 2).sum(axis=1)
        out.append((t_us, d2.mean(), d2.std() / np.sqrt(n)))
    return {"job": "sphere", "n": n, "R": R, "subdivisions": subdivisions, "rows": out,
            "poly_limit": polyhedron_msd_limit(mesh), "inside": sim.observe()["inside"],
            "seconds": time.perf_counter() - t0}


LEAK_OBJECTS = {
    # name: (mesh factory, characteristic size in µm used for the step ratio)
    "box 100 nm": (lambda: cs.geometry.box(0.1), 0.1),
    "icosphere r=50 nm (320 tri)": (lambda: cs.geometry.icosphere(0.05, subdivisions=2), 0.1),
    "cylinder cleft 200x20 nm": (lambda: cs.geometry.cylinder(R_CLEFT, H_CLEFT, segments=SEGMENTS), 0.02),
    "torus R=100 r=35 nm": (lambda: torus(), 0.07),
}


def job_leaks(obj_name: str, ratio: float, n: int, steps: int, seed: int) -> dict:
    """Molecules released inside a closed reflecting object with per-axis step sigma = ratio ×
    size; a second species starts outside it, inside an enclosing reflecting box."""
    t0 = time.perf_counter()
    make, size = LEAK_OBJECTS[obj_name]
    mesh = make()
    sigma = ratio * size
    dt = 1e-6
    D = sigma**2 / (2 * dt)
    lo, hi = mesh.bounds
    span = float(np.max(hi - lo))
    m = cs.Model(dt=dt, seed=seed)
    a = m.add_species("inner", D=D)
    b = m.add_species("outer", D=D)
    obj = m.add_geometry(mesh, "obj")
    box = m.add_geometry(cs.geometry.box(3 * span, center=(lo + hi) / 2), "container")
    m.release(a, n=n, inside=obj)
    m.release(b, n=n, at=tuple(lo - 0.5 * span * 0.9))           # in the container, outside obj
    m.count(a, inside=obj, name="a_in")
    m.count(b, inside=obj, name="b_in")
    m.count(b, inside=box, name="b_box")
    sim = m.simulation()
    worst = {"a_out": 0, "b_in": 0, "b_out_of_box": 0}
    checks = 0
    for _ in range(10):
        sim.advance(steps // 10)
        o = sim.observe()
        worst["a_out"] = max(worst["a_out"], n - o["a_in"])
        worst["b_in"] = max(worst["b_in"], o["b_in"])
        worst["b_out_of_box"] = max(worst["b_out_of_box"], n - o["b_box"])
        checks += 1
    diag = sim.diagnostics
    return {"job": "leaks", "object": obj_name, "ratio": ratio, "n": n, "steps": steps,
            "molecule_steps": 2 * n * steps, "worst": worst, "checks": checks,
            "reflections_per_step": diag["reflections"] / (2 * n * steps),
            "truncated": diag["truncated_steps"], "seconds": time.perf_counter() - t0}


BINDING_DTS_US = (0.1, 0.5, 1.0, 2.0)
#: (label, tile density µm⁻², k_on M⁻¹s⁻¹): reaction-limited capture in a 0.2 x 0.2 x 0.05 µm box.
BINDING_CASES = (("receptor-like sites, tiles of 100 nm²", None, 5e6), ("sparse sites, tiles of 1 nm²", 1e6, 3e6))


def job_binding(case: int, dt_us: float, n: int, seed: int) -> dict:
    """Capture rate per ligand of L + T -> T sites on the floor of a small box (reaction limited)."""
    t0 = time.perf_counter()
    label, density, kon = BINDING_CASES[case]
    size, n_t, D = (0.2, 0.2, 0.05), 200, 300.0
    m = cs.Model(dt=dt_us * 1e-6, seed=seed, tile_density=density)
    lig = m.add_species("L", D=D)
    box = m.add_geometry(cs.geometry.box(size=size), name="box")
    m.add_surface_species("T")
    m.add_reaction("L + T -> T", kon)
    m.place("T", region=box.region("bottom"), n=n_t)
    m.release(lig, n=n, inside=box)
    m.count(lig, name="L")
    res = m.run(t_end=1e-3, every=1e-5)
    a = res["L"].astype(float)
    events = a[0] - a[-1]
    # Collins–Kimball: a finite patch flush with the membrane is reached at most at k_D = 4·D·a
    # per pair (docs/reference.md §1.5, a = the tile's radius), so k_eff = 1/(1/k_on + 1/k_D)
    # (a 0.8 % effect for 1 nm² tiles)
    k_d = 4 * D * cs.binding.tile_radius(m.tile_density) * PER_UM3_PER_MOLAR
    lam = n_t / (PER_UM3_PER_MOLAR * np.prod(size)) / (1 / kon + 1 / k_d)
    kp = cs.binding.kappa_prime(kon, 1 / m.tile_density, D, m.dt)
    return {"job": "binding", "case": case, "dt_us": dt_us, "rate": events / np.trapezoid(a, res.times),
            "se": events ** 0.5 / np.trapezoid(a, res.times), "exact": lam, "p_tile": np.sqrt(2 * np.pi) * kp,
            "saturated": res.diagnostics["saturated_hits"], "seconds": time.perf_counter() - t0}


PAIR_DTS_US = (0.1, 1.0, 10.0, 100.0)
PAIR_K, PAIR_D, PAIR_BOX = 1e8, 100.0, 2.0            # M⁻¹s⁻¹, µm²/s (each species), µm
EQ_RUNS = ((10.0, 60.0), (25.0, 120.0), (100.0, 200.0))   # (Δt µs, simulated time s)


def job_pair_rate(dt_us: float, n_a: int, seed: int) -> dict:
    """k of A + B -> C from A(t_end) (B0 = 10·A0): the k that the closed form needs to reach it."""
    from scipy import optimize

    t0 = time.perf_counter()
    n_b, t_end = 10 * n_a, 4e-4
    m = cs.Model(dt=dt_us * 1e-6, seed=seed)
    box = m.add_geometry(cs.geometry.box(PAIR_BOX), "box")
    for sp in "ABC":
        m.add_species(sp, D=PAIR_D)
    m.add_reaction("A + B -> C", PAIR_K)
    m.release("A", n=n_a, inside=box)
    m.release("B", n=n_b, inside=box)
    m.count("A")
    res = m.run(t_end=t_end, every=t_end)
    a = float(res["A"][-1])
    per = 1.0 / (PER_UM3_PER_MOLAR * PAIR_BOX ** 3)                # M⁻¹s⁻¹ -> per pair per s
    closed = lambda k: n_a * (n_b - n_a) / (n_b * np.exp(k * per * (n_b - n_a) * t_end) - n_a)
    k_hat = optimize.brentq(lambda k: closed(k) - a, 0.2 * PAIR_K, 5 * PAIR_K)
    slope = (closed(k_hat * 1.001) - closed(k_hat * 0.999)) / (0.002 * k_hat)
    sigma = bimolecular.binding_radius(PAIR_K, 2 * PAIR_D, dt_us * 1e-6)
    return {"job": "pair_rate", "dt_us": dt_us, "k": k_hat, "se": np.sqrt(a * (1 - a / n_a)) / abs(slope),
            "sigma_nm": sigma * 1e3, "b": sigma / np.sqrt(4 * PAIR_D * dt_us * 1e-6),
            "wall": volume_tables.wall_deficit(sigma, 3 / PAIR_BOX), "seconds": time.perf_counter() - t0}


def job_pair_equilibrium(dt_us: float, t_end: float, seed: int) -> dict:
    """⟨C⟩ of A + B <-> C, A0 = B0 = 100, K_D = 10 molecules in 1 µm³ (docs/reference.md §1.4: 73.16)."""
    t0 = time.perf_counter()
    kf, kd = 1e8, 10.0
    m = cs.Model(dt=dt_us * 1e-6, seed=seed)
    box = m.add_geometry(cs.geometry.box(1.0), "box")
    for sp in "ABC":
        m.add_species(sp, D=100.0)
    m.add_reaction("A + B <-> C", (kf, kd * kf / PER_UM3_PER_MOLAR))
    m.release("A", n=100, inside=box)
    m.release("B", n=100, inside=box)
    m.count("C")
    c = m.run(t_end=t_end, every=0.1)["C"][21:].astype(float)          # after 2 s (t_end >= 6 s)
    blocks = c[: len(c) // 20 * 20].reshape(-1, 20).mean(axis=1)       # 2 s blocks (relaxation ~0.1 s)
    n = np.arange(101)
    logp = -n * np.log(kd) - special.gammaln(n + 1) - 2 * special.gammaln(101 - n)
    p = np.exp(logp - logp.max())
    return {"job": "pair_eq", "dt_us": dt_us, "mean": c.mean(), "se": blocks.std(ddof=1) / np.sqrt(len(blocks)),
            "exact": float((n * p).sum() / p.sum()), "seconds": time.perf_counter() - t0}


# ---------------------------------------------------------------------------------------------
def plan(quick: bool) -> list[tuple]:
    """(function, args) of every job, biggest first (the pool then balances well)."""
    f = 0.05 if quick else 1.0
    jobs = [(job_free, (int(1_000_000 * f),))]
    n_disc = int(500_000 * f)
    for i, dt in enumerate(DISC_DTS_US):
        for bridge in (True, False):
            jobs.append((job_disc, (dt, bridge, n_disc, 200 + 2 * i + int(bridge))))
    jobs += [(job_slab, (1.0, int(200_000 * f), 301)), (job_slab, (4.0, int(200_000 * f), 302)),
             (job_cube, (int(200_000 * f), 303)), (job_sphere, (int(200_000 * f), 304))]
    seed = 400
    for name in LEAK_OBJECTS:
        for ratio in (0.1, 1.0, 10.0):
            seed += 1
            jobs.append((job_leaks, (name, ratio, int(10_000 * f) or 100, 200, seed)))
    for case in range(len(BINDING_CASES)):
        for dt in BINDING_DTS_US:
            seed += 1
            jobs.append((job_binding, (case, dt, int(40_000 * f) or 500, seed)))
    for dt in PAIR_DTS_US:
        seed += 1
        jobs.append((job_pair_rate, (dt, int(20_000 * f) or 500, seed)))
    for dt, t_end in EQ_RUNS:
        seed += 1
        jobs.append((job_pair_equilibrium, (dt, max(6.0, t_end * f), seed)))
    return jobs


def _call(item):
    fn, args = item
    return fn(*args)


def run_jobs(jobs, workers: int) -> list[dict]:
    if workers <= 1:
        return [_call(j) for j in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_call, jobs))


# ---------------------------------------------------------------------------------------------
# Report
def _fmt(x, spec=".5g"):
    return "—" if x is None else format(x, spec)


def _row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header, rows) -> list[str]:
    return [_row(*header), _row(*["---"] * len(header)), *(_row(*r) for r in rows), ""]


def _cmp(sim, exact, se):
    """Cells: simulated, exact, relative error, standard error, z = (sim − exact)/SE."""
    rel = (sim - exact) / exact if exact else float("nan")
    z = (sim - exact) / se if se > 0 else float("nan")
    return [_fmt(sim), _fmt(exact), f"{rel:+.3%}", _fmt(se, ".3g"), f"{z:+.2f}"]


def escape_time(surv: np.ndarray, n: int, dt: float):
    """Mean escape time (s) and its standard error from the survivors after every step.

    A molecule gone during step k escaped in ((k−1)Δt, kΔt]; it is counted at (k − ½)Δt, which is
    the trapezoidal integral of S(t). The standard error is the sample standard deviation of those
    escape times over √n. Molecules left at the end are counted at t_end (their number is
    reported; it is negligible at t_end = 10 T).
    """
    gone = -np.diff(surv)
    tk = (np.arange(1, len(surv)) - 0.5) * dt
    left = surv[-1]
    times = np.append(tk, (len(surv) - 1) * dt)
    w = np.append(gone, left) / n
    mean = float(w @ times)
    var = float(w @ (times - mean) ** 2)
    return mean, np.sqrt(var / n), int(left)


def write_report(results: list[dict], out: Path, quick: bool, wall: float, workers: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = {}
    for r in results:
        by.setdefault(r["job"], []).append(r)
    L = ["# cleftsim validation report", ""]
    L += [f"Generated by `python validation/report.py` (cleftsim {cs.__version__}, "
          f"{'QUICK mode: small samples, not a validation' if quick else 'full statistics'}) on "
          f"{platform.platform()}, {os.cpu_count()} CPUs, {workers} worker processes; "
          f"total wall time {wall:.0f} s. Fixed seeds: rerunning gives the same numbers.", "",
          "Columns: simulated value, exact value, relative error, standard error (SE) of the "
          "simulated value, and z = (simulated − exact)/SE. |z| up to about 3 is statistical "
          "noise; larger |z| is a systematic error (or an exact value that does not apply).", ""]
    head = len(L)
    summary = []

    # -- free diffusion --------------------------------------------------------------------
    fr = by["free"][0]
    n = fr["n"]
    L += ["## 1. Free diffusion", "",
          f"{n} molecules released at the origin, D = 0.33 µm²/ms, Δt = 1 µs, no geometry.", ""]
    rows = []
    for r in fr["rows"]:
        rows.append([f"{r['t'] * 1e6:g}", "⟨r²⟩/6Dt", *_cmp(r["msd"], 1.0, r["msd_se"])])
        rows.append([f"{r['t'] * 1e6:g}", "⟨r⁴⟩/⟨r²⟩²", *_cmp(r["kurt"], 5 / 3, r["kurt_se"])])
        for j, ax in enumerate("xyz"):
            rows.append([f"{r['t'] * 1e6:g}", f"⟨{ax}²⟩/2Dt", *_cmp(r["axis_var"][j], 1.0, r["axis_var_se"])])
        rows.append([f"{r['t'] * 1e6:g}", "⟨x⁴⟩/⟨x²⟩² (mean of axes)",
                     *_cmp(float(np.mean(r["axis_kurt"])), 3.0, r["axis_kurt_se"] / np.sqrt(3))])
        if r["step_len"] is not None:
            rows.append([f"{r['t'] * 1e6:g}", "⟨|r|⟩/√(16DΔt/π)", *_cmp(r["step_len"], 1.0, r["step_len_se"])])
        for a, frac, ex, m in r.get("tails", []):
            rows.append([f"{r['t'] * 1e6:g}", f"P(|x| > {a:g}σ), all axes", *_cmp(frac, ex, np.sqrt(ex * (1 - ex) / m))])
    L += _table(["t (µs)", "quantity", "simulated", "exact", "rel. error", "SE", "z"], rows)
    zmax = max(abs(float(r[-1])) for r in rows)
    pmin = min(p for r in fr["rows"] for p in r["ks_p"])
    summary.append(f"- Free diffusion ({n} molecules, up to 1000 steps): largest |z| over "
                   f"{len(rows)} moments {zmax:.2f}; smallest per-axis KS p-value {pmin:.3g}.")
    L += ["Per-axis Kolmogorov–Smirnov p-values of x/√(2Dt) against N(0, 1): " +
          "; ".join(f"{r['steps']} step(s): " + ", ".join(f"{p:.3g}" for p in r["ks_p"])
                    for r in fr["rows"]) + ".", ""]
    counts, edges = fr["hist"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    width = edges[1] - edges[0]
    a1.semilogy(centres, counts / (counts.sum() * width), "o", ms=3, label="one step, all axes")
    a1.semilogy(centres, stats.norm.pdf(centres), "k-", lw=1, label="N(0, 1)")
    a1.set_xlabel("x / √(2DΔt)")
    a1.set_ylabel("density")
    a1.set_title("Step distribution (ziggurat normals)")
    a1.legend(frameon=False)
    ts = np.array([r["t"] for r in fr["rows"]]) * 1e6
    a2.errorbar(ts, [r["msd"] - 1 for r in fr["rows"]], yerr=[r["msd_se"] for r in fr["rows"]],
                fmt="o", label="⟨r²⟩/6Dt − 1")
    a2.errorbar(ts * 1.08, [r["kurt"] / (5 / 3) - 1 for r in fr["rows"]],
                yerr=[r["kurt_se"] / (5 / 3) for r in fr["rows"]], fmt="s", label="kurtosis/(5/3) − 1")
    a2.axhline(0, color="k", lw=0.8)
    a2.set_xscale("log")
    a2.set_xlabel("t (µs)")
    a2.set_ylabel("relative error")
    a2.set_title("Free diffusion moments (±1 SE)")
    a2.legend(frameon=False)
    fig.savefig(out / "free_diffusion.png", dpi=130)
    plt.close(fig)
    L += ["![free diffusion](free_diffusion.png)", ""]

    # -- disc cleft ------------------------------------------------------------------------
    discs = sorted(by["disc"], key=lambda r: (not r["bridge"], r["dt_us"]))
    nd = discs[0]["n"]
    T_ex = analytic.disc_mean_escape_time(R_CLEFT, D_GLU)
    poly = polygon_escape_correction(SEGMENTS)
    L += ["## 2. Disc cleft with an absorbing rim", "",
          f"Cylinder R = 200 nm, h = 20 nm ({SEGMENTS} segments), reflecting plates, absorbing side; "
          f"{nd} molecules released at the centre; D = 0.33 µm²/ms; run to {DISC_T_END_US} µs. "
          "Exact values: the Fourier–Bessel series of `cleftsim.physics.analytic` for a circular disc. "
          f"The {SEGMENTS}-gon rim changes the exact mean escape time by {poly:+.3%} "
          "(first-order boundary perturbation), well below the errors discussed here.", "",
          "**bridge**: the engine as shipped (Brownian-bridge crossing test near absorbing "
          "surfaces). **NAIVE**: the same engine with `cs.Model(..., bridge_radius=0)`, "
          "i.e. only the end point of each step is checked — shown for comparison only.", "",
          "### Mean escape time from the centre, T = R²/(4D) = %.3f µs" % (T_ex * 1e6), ""]
    rows = []
    esc = {}
    for r in discs:
        dt = r["dt_us"] * 1e-6
        T, se, left = escape_time(r["survivors"], r["n"], dt)
        esc[(r["dt_us"], r["bridge"])] = (T, se)
        rows.append([f"{r['dt_us']:g}", "bridge" if r["bridge"] else "**NAIVE**",
                     *_cmp(T * 1e6, T_ex * 1e6, se * 1e6), left,
                     r["diagnostics"]["bridge_absorptions"], f"{r['seconds']:.0f}"])
    L += _table(["Δt (µs)", "method", "T sim (µs)", "T exact (µs)", "rel. error", "SE (µs)", "z",
                 "left at end", "bridge absorptions", "run (s)"], rows)
    parts = []
    for dt_us in DISC_DTS_US:
        (tb, sb), (tn, _) = esc[(dt_us, True)], esc[(dt_us, False)]
        parts.append(f"Δt = {dt_us:g} µs: {tb / T_ex - 1:+.2%} (z = {(tb - T_ex) / sb:+.1f}) "
                     f"vs naive {tn / T_ex - 1:+.1%}")
    summary.append("- Disc cleft, mean escape time error with the Brownian-bridge test (naive "
                   "end-point check for comparison): " + "; ".join(parts) + ".")
    L += ["### Survival S(t)", ""]
    rows = []
    for r in discs:
        for t_us in DISC_SAMPLE_US:
            k = int(round(t_us / r["dt_us"]))
            s = r["survivors"][k] / r["n"]
            ex = analytic.disc_survival(t_us * 1e-6, R_CLEFT, D_GLU)
            rows.append([f"{r['dt_us']:g}", "bridge" if r["bridge"] else "**NAIVE**", t_us,
                         *_cmp(s, ex, np.sqrt(ex * (1 - ex) / r["n"]))])
    L += _table(["Δt (µs)", "method", "t (µs)", "S sim", "S exact", "rel. error", "SE", "z"], rows)
    to_mM = 1e3 / PER_UM3_PER_MOLAR
    vol = np.pi * A_CENTRE**2 * H_CLEFT
    L += [f"### Mean concentration within r < {A_CENTRE * 1e3:g} nm (mM, scaled to a "
          f"{N_REF}-molecule release)", "",
          "Exact: `analytic.disc_mean_concentration`; the concentration on the axis, c(0, t), "
          "is listed for reference (the 50 nm disc average is below it by design). At 2 µs the "
          "profile across the 20 nm gap has not fully flattened, but the disc average over the "
          "whole gap is still exact.", ""]
    rows = []
    for r in discs:
        for t_us in CONC_SAMPLE_US:
            cnt = r["centre"][t_us]
            scale = N_REF / r["n"] / vol * to_mM
            ex = analytic.disc_mean_concentration(t_us * 1e-6, N_REF, R_CLEFT, H_CLEFT, D_GLU, A_CENTRE) * to_mM
            c0 = analytic.disc_center_concentration(t_us * 1e-6, N_REF, R_CLEFT, H_CLEFT, D_GLU) * to_mM
            p = ex / to_mM * vol / N_REF
            se = np.sqrt(r["n"] * p * (1 - p)) * scale
            rows.append([f"{r['dt_us']:g}", "bridge" if r["bridge"] else "**NAIVE**", t_us,
                         *_cmp(cnt * scale, ex, se), _fmt(c0)])
    L += _table(["Δt (µs)", "method", "t (µs)", "⟨c⟩_a sim", "⟨c⟩_a exact", "rel. error", "SE",
                 "z", "c(0, t) exact"], rows)
    # figures
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    tf = np.linspace(0.5, DISC_T_END_US, 800) * 1e-6
    a1.semilogy(tf * 1e6, analytic.disc_survival(tf, R_CLEFT, D_GLU), "k-", lw=1.2, label="exact")
    for i, r in enumerate(discs):
        t = np.arange(len(r["survivors"])) * r["dt_us"]
        a1.semilogy(t, r["survivors"] / r["n"], "-" if r["bridge"] else "--", lw=0.9,
                    color=f"C{DISC_DTS_US.index(r['dt_us'])}",
                    label=f"Δt = {r['dt_us']:g} µs, {'bridge' if r['bridge'] else 'NAIVE'}")
    a1.set_xlim(0, 200)
    a1.set_ylim(1e-4, 1.2)
    a1.set_xlabel("t (µs)")
    a1.set_ylabel("S(t)")
    a1.set_title("Survival in the cleft")
    a1.legend(frameon=False, fontsize=7, ncol=2)
    for bridge, mk in ((True, "o"), (False, "s")):
        d = sorted(k for k in esc if k[1] == bridge)
        a2.errorbar([k[0] for k in d], [esc[k][0] * 1e6 for k in d],
                    yerr=[esc[k][1] * 1e6 for k in d], fmt=mk + "-",
                    label="Brownian bridge" if bridge else "NAIVE end-point check")
    a2.axhline(T_ex * 1e6, color="k", lw=1, label="exact R²/(4D)")
    a2.set_xlabel("Δt (µs)")
    a2.set_ylabel("mean escape time (µs)")
    a2.set_title("Time-step bias of the absorbing rim")
    a2.legend(frameon=False)
    fig.savefig(out / "disc_escape.png", dpi=130)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    tf = np.linspace(1, 110, 400) * 1e-6
    ax.semilogy(tf * 1e6, analytic.disc_mean_concentration(tf, N_REF, R_CLEFT, H_CLEFT, D_GLU, A_CENTRE) * to_mM,
                "k-", lw=1, label="exact ⟨c⟩_a")
    for r in discs:
        if not r["bridge"]:
            continue
        ts = np.array(CONC_SAMPLE_US)
        c = np.array([r["centre"][t] for t in CONC_SAMPLE_US]) * N_REF / r["n"] / vol * to_mM
        ax.semilogy(ts * (1 + 0.02 * DISC_DTS_US.index(r["dt_us"])), c, "o", ms=4,
                    label=f"Δt = {r['dt_us']:g} µs")
    ax.set_xlabel("t (µs)")
    ax.set_ylabel("mM (3000 molecules)")
    ax.set_title(f"Mean concentration within r < {A_CENTRE * 1e3:g} nm")
    ax.legend(frameon=False)
    fig.savefig(out / "disc_concentration.png", dpi=130)
    plt.close(fig)
    L += ["![disc escape](disc_escape.png)", "", "![centre concentration](disc_concentration.png)", ""]

    # -- confinement -----------------------------------------------------------------------
    L += ["## 3. Confinement (reflecting walls)", "",
          "Uniform start, reflecting walls. With specular reflection every step is the exact "
          "reflected-Brownian propagator (the folded Gaussian), so the exact time course holds at "
          "any Δt, including steps longer than the gap (√(2DΔt) = 25.7 nm at 1 µs, 51 nm at 4 µs "
          "against h = 20 nm).", ""]
    rows = []
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    for r in sorted(by["slab"], key=lambda r: r["dt_us"]):
        ex = interval_msd(H_CLEFT, D_GLU, [t * 1e-6 for t, _, _ in r["rows"]])
        for (t_us, v, se), e in zip(r["rows"], ex):
            rows.append([f"slab h = 20 nm, Δt = {r['dt_us']:g} µs", t_us, "⟨Δz²⟩ (nm²)",
                         *_cmp(v * 1e6, e * 1e6, se * 1e6)])
        a1.errorbar([t for t, _, _ in r["rows"]], [v * 1e6 for _, v, _ in r["rows"]],
                    yerr=[se * 1e6 for _, _, se in r["rows"]], fmt="o", label=f"slab, Δt = {r['dt_us']:g} µs")
    tf = np.linspace(0.05, 40, 300)
    a1.plot(tf, interval_msd(H_CLEFT, D_GLU, tf * 1e-6) * 1e6, "k-", lw=1, label="exact series")
    a1.axhline(H_CLEFT**2 / 6 * 1e6, color="k", ls=":", lw=0.8, label="h²/6")
    a1.set_xlabel("t (µs)")
    a1.set_ylabel("⟨Δz²⟩ (nm²)")
    a1.set_title("Slab (cleft gap), h = 20 nm")
    a1.legend(frameon=False)
    cube = by["cube"][0]
    ex = interval_msd(cube["L"], D_GLU, [t * 1e-6 for t, _, _ in cube["rows"]])
    for (t_us, v, se), e in zip(cube["rows"], ex):
        rows.append([f"cube L = {cube['L'] * 1e3:g} nm, Δt = 1 µs", t_us, "per-axis ⟨Δx²⟩ (nm²)",
                     *_cmp(v * 1e6, e * 1e6, se * 1e6)])
    sph = by["sphere"][0]
    for t_us, v, se in sph["rows"]:
        if t_us >= 200:
            rows.append([f"icosphere R = {sph['R'] * 1e3:g} nm (s={sph['subdivisions']}), Δt = 1 µs",
                         t_us, "⟨|Δr|²⟩ (nm²) vs polyhedron limit", *_cmp(v * 1e6, sph["poly_limit"] * 1e6, se * 1e6)])
            rows.append(["", t_us, "⟨|Δr|²⟩ (nm²) vs sphere 6R²/5",
                         *_cmp(v * 1e6, 1.2 * sph["R"] ** 2 * 1e6, se * 1e6)])
    L += _table(["system", "t (µs)", "quantity", "simulated", "exact", "rel. error", "SE", "z"], rows)
    zc = [abs(float(r[-1])) for r in rows if "sphere 6R" not in r[2]]
    summary.append(f"- Confinement (slab h²/6 series at Δt = 1 and 4 µs, cube L²/6 series, "
                   f"icosphere limit): largest |z| {max(zc):.2f} over {len(zc)} comparisons.")
    slab_ks = ", ".join(f"{r['ks_p']:.3g}" for r in by["slab"])
    L += [f"The icosphere is inscribed in the sphere, so its exact limit (2⟨|r|²⟩ over the "
          f"polyhedron) is {sph['poly_limit'] / (1.2 * sph['R'] ** 2) - 1:+.3%} from 6R²/5. "
          "Equilibrium density: KS p-values of the final positions against uniform: "
          f"slab z {slab_ks}; "
          f"cube x, y, z {', '.join(f'{p:.3g}' for p in cube['ks_p'])}. "
          f"Molecules found outside: slab {sum(r['outside'] for r in by['slab'])}, cube "
          f"{cube['outside']}, sphere {sph['n'] - sph['inside']}.", ""]
    t_c = np.array([t for t, _, _ in cube["rows"]])
    a2.errorbar(t_c, [v * 1e6 for _, v, _ in cube["rows"]], yerr=[s * 1e6 for _, _, s in cube["rows"]],
                fmt="o", label="cube, per axis")
    tf = np.linspace(0.5, 200, 300)
    a2.plot(tf, interval_msd(cube["L"], D_GLU, tf * 1e-6) * 1e6, "k-", lw=1, label="exact series")
    t_s = np.array([t for t, _, _ in sph["rows"]])
    a2.errorbar(t_s, [v / 3 * 1e6 for _, v, _ in sph["rows"]], yerr=[s / 3 * 1e6 for _, _, s in sph["rows"]],
                fmt="s", label="sphere, ⟨|Δr|²⟩/3")
    a2.axhline(0.4 * sph["R"] ** 2 * 1e6, color="C1", ls=":", lw=1, label="sphere 2R²/5")
    a2.set_xlabel("t (µs)")
    a2.set_ylabel("per-axis MSD (nm²)")
    a2.set_title(f"Cube L = {cube['L'] * 1e3:g} nm, sphere R = {sph['R'] * 1e3:g} nm")
    a2.legend(frameon=False)
    fig.savefig(out / "confinement.png", dpi=130)
    plt.close(fig)
    L += ["![confinement](confinement.png)", ""]

    # -- leaks -----------------------------------------------------------------------------
    L += ["## 4. No leaks", "",
          "Species `inner` starts uniformly inside a closed reflecting object; species `outer` "
          "starts at a point outside it, inside a reflecting container box three times its size. "
          "Counts are taken with the point-in-object test 10 times per run; the table lists the "
          "worst count seen. Step ratio = per-axis √(2DΔt) / object size (box edge, sphere "
          "diameter, cleft height, torus tube diameter).", ""]
    rows = []
    total_ms, total_leaks = 0, 0
    for r in sorted(by["leaks"], key=lambda r: (r["object"], r["ratio"])):
        w = r["worst"]
        total_ms += r["molecule_steps"]
        total_leaks += w["a_out"] + w["b_in"] + w["b_out_of_box"]
        rows.append([r["object"], f"{r['ratio']:g}", r["molecule_steps"], w["a_out"], w["b_in"],
                     w["b_out_of_box"], f"{r['reflections_per_step']:.2f}", r["truncated"]])
    L += _table(["object", "step ratio", "molecule-steps", "inner found outside",
                 "outer found inside", "outer outside container", "reflections per molecule-step",
                 "steps cut at bounce limit"], rows)
    L += [f"Total: {total_ms} molecule-steps, {total_leaks} leaks.", ""]
    summary.append(f"- No leaks: {total_ms} molecule-steps in 4 closed objects with steps 0.1–10× "
                   f"their size, {total_leaks} molecules found on the wrong side.")
    L += _binding_section(by["binding"], out, summary, plt)
    L += _volume_section(by["pair_rate"], by["pair_eq"], summary)
    L[head:head] = ["## Summary", "", *summary, ""]

    L += ["## Run times", "", *_table(["job", "seconds"], [
        [f"{r['job']} " + ", ".join(f"{k}={r[k]}" for k in ("case", "dt_us", "bridge", "object", "ratio") if k in r),
         f"{r['seconds']:.1f}"] for r in results])]
    (out / "report.md").write_text("\n".join(L), encoding="utf-8")


def _binding_section(results: list[dict], out: Path, summary: list[str], plt) -> list[str]:
    L = ["## 5. Binding on hit", "",
         "200 sites T on the floor of a 0.2 × 0.2 × 0.05 µm box capture ligand L (L + T -> T, "
         "D = 0.3 µm²/ms, 40 000 ligands, 1 ms). The box mixes in about h²/D = 8 µs and the depletion "
         "next to the floor, κh/(2D), is below 0.2 %, so the "
         "capture rate per free ligand must be k_on·N_T/(N_A·V) at every Δt. Simulated rate = "
         "captures / ∫L dt, SE from the Poisson count of captures. Exact: k_eff·N_T/(N_A·V) with the "
         "Collins–Kimball k_eff = 1/(1/k_on + 1/(4·D·a·N_A)) of a patch of the tile's radius a flush "
         "with the membrane (0.1 % and 0.8 % below k_on for the two kinds of site). p_tile is one tile's "
         "linear per-hit probability √(2π)κ′ (cleftsim.physics.binding).", ""]
    rows, zs = [], []
    fig, ax = plt.subplots(figsize=(5.5, 3.5), constrained_layout=True)
    for case, (label, _, kon) in enumerate(BINDING_CASES):
        mine = sorted((r for r in results if r["case"] == case), key=lambda r: r["dt_us"])
        for r in mine:
            rows.append([label, f"{kon:g}", r["dt_us"], f"{r['p_tile']:.3f}", *_cmp(r["rate"], r["exact"], r["se"]),
                         r["saturated"]])
            zs.append(abs((r["rate"] - r["exact"]) / r["se"]))
        ax.errorbar([r["dt_us"] for r in mine], [r["rate"] / r["exact"] for r in mine],
                    yerr=[r["se"] / r["exact"] for r in mine], fmt="o-", capsize=3, label=label)
    L += _table(["sites", "k_on (M⁻¹s⁻¹)", "Δt (µs)", "p_tile", "rate (s⁻¹)", "exact", "rel. error", "SE", "z",
                 "saturated hits"], rows)
    summary.append(f"- Binding on hit: capture rate against k_eff·N_T/(N_A·V) at Δt = 0.1–2 µs for "
                   f"receptor-like and sparse small sites: largest |z| {max(zs):.2f} over {len(zs)} runs.")
    ax.axhline(1.0, color="k", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("Δt (µs)")
    ax.set_ylabel("capture rate / k_eff·N_T/(N_A·V)")
    ax.set_title("Binding on hit: rate independent of Δt", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    fig.savefig(out / "binding.png", dpi=130)
    plt.close(fig)
    return L + ["![binding](binding.png)", ""]


def _volume_section(rates: list[dict], eqs: list[dict], summary: list[str]) -> list[str]:
    L = ["## 6. Volume reactions against Δt", "",
         f"A + B -> C in a {PAIR_BOX:g} µm reflecting box (A0 and B0 = 10·A0 uniform, D = {PAIR_D:g} µm²/s "
         f"each, k = {PAIR_K:g} M⁻¹s⁻¹, 0.4 ms): the rate constant that the closed form needs to reach "
         "the simulated A(t_end), SE from the binomial SD of A(t_end). σ_b: the binding radius "
         "computed for that Δt (cleftsim.physics.bimolecular), b = σ_b/√(2(D_A + D_B)Δt). The walls cut "
         "the reactive spheres of molecules near them: the expected deficit (cleftsim.compiler.volume"
         ".wall_deficit, three pairs of walls) is listed, and the exact column is k times (1 − it).", ""]
    rows, zs = [], []
    for r in sorted(rates, key=lambda r: r["dt_us"]):
        exact = PAIR_K * (1 - r["wall"])
        rows.append([r["dt_us"], f"{r['sigma_nm']:.3g}", f"{r['b']:.3g}", f"{100 * r['wall']:.2f} %",
                     *_cmp(r["k"], exact, r["se"])])
        zs.append(abs((r["k"] - exact) / r["se"]))
    L += _table(["Δt (µs)", "σ_b (nm)", "b", "wall deficit", "k (M⁻¹s⁻¹)", "exact", "rel. error", "SE", "z"], rows)
    L += ["A + B <-> C with A0 = B0 = 100 and K_D = 10 molecules in 1 µm³, k_f = 1e8 M⁻¹s⁻¹: time average of "
          "C after 2 s (samples every 0.1 s; SE from 2 s batch means) against the exact small-number "
          "equilibrium (docs/reference.md §1.4). Dissociated pairs start at the unbinding separation.", ""]
    rows2 = []
    for r in sorted(eqs, key=lambda r: r["dt_us"]):
        rows2.append([r["dt_us"], *_cmp(r["mean"], r["exact"], r["se"])])
        zs.append(abs((r["mean"] - r["exact"]) / r["se"]))
    L += _table(["Δt (µs)", "⟨C⟩", "exact", "rel. error", "SE", "z"], rows2)
    summary.append(f"- Volume reactions: k of A + B -> C at Δt = {PAIR_DTS_US[0]:g}–{PAIR_DTS_US[-1]:g} µs and the "
                   f"small-number equilibrium of A + B <-> C at Δt = {EQ_RUNS[0][0]:g}–{EQ_RUNS[-1][0]:g} µs: largest "
                   f"|z| {max(zs):.2f} over {len(zs)} runs.")
    return L


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python validation/report.py",
                                 description="High-statistics validation against exact results")
    ap.add_argument("outdir", type=Path, help="directory for report.md and the figures")
    ap.add_argument("--quick", action="store_true", help="small samples (smoke test, ~20x faster)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = run_jobs(plan(args.quick), args.workers)
    wall = time.perf_counter() - t0
    write_report(results, args.outdir, args.quick, wall, args.workers)
    print(f"wrote {args.outdir / 'report.md'} ({wall:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
