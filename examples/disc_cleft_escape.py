"""Escape of transmitter from a disc-shaped synaptic cleft, compared with the exact solution.

3000 glutamate molecules are released at the centre of a cleft modelled as a closed cylinder
(radius R = 200 nm, height h = 20 nm, 128 segments): the plates reflect, the rim absorbs
(molecules that reach it have left the cleft). D = 0.33 µm²/ms, dt = 1 µs.

Printed: the fraction still in the cleft S(t) next to the exact Fourier–Bessel series
(cleftsim.physics.analytic.disc_survival), and the mean concentration within a central disc of radius
a = 50 nm next to cleftsim.physics.analytic.disc_mean_concentration (with the exact concentration on
the axis, c(0, t), for reference). The ± columns are one binomial standard error of the
simulated number. A two-panel figure is saved as PNG and PDF.

Usage: python examples/disc_cleft_escape.py [--molecules N] [--seed S] [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import cleftsim as cs
from cleftsim.physics import analytic
from cleftsim.units import PER_UM3_PER_MOLAR

R = 0.2          # µm
H = 0.02         # µm
D = "0.33 um^2/ms"
DT = "1 us"
A = 0.05         # µm, radius of the central disc for the concentration estimate
T_END_US = 150
TABLE_US = (2, 5, 10, 20, 30, 50, 75, 100, 150)


def simulate(n: int, seed: int):
    """Run the model; return times (s), the number in the cleft and within r < A at each µs."""
    model = cs.Model(dt=DT, seed=seed)
    glu = model.add_species("glu", D=D)
    cleft = model.add_geometry(cs.geometry.cylinder(radius=R, height=H, segments=128), name="cleft")
    model.set_surface(glu, cleft.region("side"), "absorb")
    model.release(glu, n=n, at=(0.0, 0.0, 0.0))
    sim = model.simulation()
    times, in_cleft, in_centre = [], [], []
    for k in range(T_END_US + 1):
        if k:
            sim.advance(1)
        pos = sim.positions(glu)
        times.append(sim.time)
        in_cleft.append(len(pos))
        in_centre.append(int(np.count_nonzero(np.hypot(pos[:, 0], pos[:, 1]) < A)))
    return model, sim, np.array(times), np.array(in_cleft), np.array(in_centre)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Disc-cleft escape vs the exact Bessel series")
    ap.add_argument("--molecules", type=int, default=int(os.environ.get("CLEFTSIM_DEMO_N", 3000)))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("out"), help="directory for the figure")
    args = ap.parse_args(argv)
    n = args.molecules

    t0 = time.perf_counter()
    model, sim, t, n_cleft, n_centre = simulate(n, args.seed)
    wall = time.perf_counter() - t0
    Dn = model.species[0].D                      # µm²/s
    to_mM = 1e3 / PER_UM3_PER_MOLAR               # molecules/µm³ -> mM
    vol_a = np.pi * A**2 * H

    S_sim = n_cleft / n
    S_ex = analytic.disc_survival(t, R, Dn)
    c_sim = n_centre / vol_a * to_mM
    c_se = np.sqrt(n_centre * (1 - n_centre / n)) / vol_a * to_mM
    tt = np.maximum(t, 1e-9)                      # the series has no meaning at t = 0
    c_ex = analytic.disc_mean_concentration(tt, n, R, H, Dn, A) * to_mM
    c0_ex = analytic.disc_center_concentration(tt, n, R, H, Dn) * to_mM
    T_sim = np.trapezoid(S_sim, t) * 1e6
    T_ex = analytic.disc_mean_escape_time(R, Dn) * 1e6

    print(f"Disc cleft R = {R * 1e3:g} nm, h = {H * 1e3:g} nm, D = {D}, dt = {DT}, "
          f"{n} molecules released at the centre, absorbing rim (seed {args.seed})")
    print(f"{'t (us)':>7} {'S sim':>8} {'±':>6} {'S exact':>8} | "
          f"{'<c>_a sim (mM)':>15} {'±':>6} {'<c>_a exact':>11} {'c(0) exact':>10}")
    for tu in TABLE_US:
        k = int(np.searchsorted(np.round(t * 1e6), tu))
        se = np.sqrt(S_ex[k] * (1 - S_ex[k]) / n)
        print(f"{tu:7d} {S_sim[k]:8.4f} {se:6.4f} {S_ex[k]:8.4f} | "
              f"{c_sim[k]:15.3f} {c_se[k]:6.3f} {c_ex[k]:11.3f} {c0_ex[k]:10.3f}")
    print(f"mean escape time: {T_sim:.2f} us (exact (R^2)/(4D) = {T_ex:.2f} us; "
          f"integral of S over 0..{T_END_US} us)")
    print(f"<c>_a: mean concentration within r < {A * 1e3:g} nm; c(0): on the axis; "
          f"±: one binomial standard error (for S from the exact S, for <c>_a from the count).")
    print(f"Bridge absorptions: {sim.diagnostics['bridge_absorptions']}. Run time {wall:.2f} s")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tu = t * 1e6
    fine = np.linspace(0.25, T_END_US, 600) * 1e-6
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    ax1.plot(tu, S_sim, "o", ms=2.5, color="C0", label=f"cleftsim ({n} molecules)")
    ax1.plot(fine * 1e6, analytic.disc_survival(fine, R, Dn), "k-", lw=1, label="exact series")
    ax1.set_yscale("log")
    ax1.set_ylim(max(0.5 / n, 1e-4), 1.2)
    ax1.set_xlabel("time (µs)")
    ax1.set_ylabel("fraction in the cleft")
    ax1.set_title(f"Escape through the rim (T = {T_sim:.1f} µs vs {T_ex:.1f} µs)")
    ax1.legend(frameon=False)
    ax2.errorbar(tu[1:], c_sim[1:], yerr=c_se[1:], fmt="o", ms=2.5, color="C1", elinewidth=0.6,
                 label=f"cleftsim, mean over r < {A * 1e3:g} nm")
    ax2.plot(fine * 1e6, analytic.disc_mean_concentration(fine, n, R, H, Dn, A) * to_mM, "k-",
             lw=1, label="exact, mean over r < a")
    ax2.plot(fine * 1e6, analytic.disc_center_concentration(fine, n, R, H, Dn) * to_mM, "k--",
             lw=0.8, label="exact, on the axis c(0, t)")
    ax2.set_yscale("log")
    ax2.set_ylim(1e-3, None)
    ax2.set_xlabel("time (µs)")
    ax2.set_ylabel("concentration (mM)")
    ax2.set_title("Concentration at the centre")
    ax2.legend(frameon=False)
    args.out.mkdir(parents=True, exist_ok=True)
    for ext in ("png", "pdf"):
        path = args.out / f"disc_cleft_escape.{ext}"
        fig.savefig(path, dpi=150)
        print(f"saved {path}")
    plt.close(fig)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
