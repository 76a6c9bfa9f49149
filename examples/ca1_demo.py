"""The CA1 synapse preset run as an ensemble: summary table, figures and a results file.

One vesicle of 3000 glutamate is released at the centre of the active zone of a CA1-like synapse
(cleftsim.presets.ca1_synapse: AMPA and NMDA receptors on the PSD, transporters on a glial
sheath covering 43 % of the perimeter, absorbing outer boundary). The trials run on all cores.

Printed: open AMPA receptors (peak mean ± SD, time to peak, CV of the peak), the EPSC amplitude
at -70 mV, and the glutamate left in the cleft at 0.1, 0.5 and 1 ms. Written into --out: the
results file ca1.h5 (reload with cleftsim.load) and the figures ca1_geometry, ca1_response and
ca1_concentration as PNG, PDF and SVG.

Usage: python examples/ca1_demo.py [--trials N] [--t-end MS] [--seed S] [--out DIR] [--serial]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import cleftsim as cs
from cleftsim.geometry.shapes import Cylinder
from cleftsim.units import PER_UM3_PER_MOLAR

EARLY_US = 20        # the no-rim solution is compared up to this time (µs)


def build(seed: int) -> cs.Model:
    """The preset, plus the glutamate count over the PSD (for the concentration figure)."""
    model = cs.presets.ca1_synapse(seed=seed)
    p = model.metadata["parameters"]
    h, a = cs.units.length(p["height"]), cs.units.length(p["psd_radius"])
    model.count("glu", inside=Cylinder((0.0, 0.0, 0.0), a, h), name="glu_psd")
    return model


def psd_exact(t: np.ndarray, model: cs.Model) -> np.ndarray:
    """Mean concentration (M) over the PSD disc for a point release between infinite reflecting
    plates (docs/reference.md §1.3): N/(πa²h)·[1 − exp(−a²/4Dt)]."""
    p = model.metadata["parameters"]
    h, a = cs.units.length(p["height"]), cs.units.length(p["psd_radius"])
    D = model.species[0].D
    n = p["n_glu"]
    return n / (np.pi * a**2 * h) * (1 - np.exp(-(a**2) / (4 * D * t))) / PER_UM3_PER_MOLAR


def table(ens: cs.EnsembleResult, model: cs.Model) -> None:
    amp = ens.summary("AMPA_open")
    cur = ens.summary("current")
    print(f"CA1 synapse, {len(ens)} trials, seed {ens.seed}")
    print(f"  open AMPA receptors: peak {amp['peak']['mean']:.1f} ± {amp['peak']['sd']:.1f} "
          f"(CV {amp['peak']['cv']:.2f}), time to peak {amp['time_to_peak']['mean'] * 1e3:.3f} "
          f"± {amp['time_to_peak']['sd'] * 1e3:.3f} ms")
    print(f"  EPSC amplitude: {cur['peak']['mean'] * 1e12:.2f} ± {cur['peak']['sd'] * 1e12:.2f} pA "
          f"(CV {abs(cur['peak']['cv']):.2f}), 10-90 % rise {cur['rise_10_90']['mean'] * 1e6:.0f} us, "
          f"decay tau {cur['decay_tau']['mean'] * 1e3:.2f} ms")
    print("  glutamate in the cleft (molecules, mean ± SD):")
    for t_ms in (0.1, 0.5, 1.0):
        k = int(np.argmin(np.abs(ens.times - t_ms * 1e-3)))
        print(f"    t = {t_ms:.1f} ms: {ens.mean('glu_cleft')[k]:8.1f} ± {ens.sd('glu_cleft')[k]:.1f}")


def figures(ens: cs.EnsembleResult, model: cs.Model, seed: int, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    with cs.plot.style():
        sim = cs.Simulation(model, seed=cs.trial_seed(seed, 0))
        sim.run("20 us")
        fig = plt.figure(figsize=(9, 4))
        ax3 = fig.add_subplot(1, 2, 1, projection="3d")
        cs.plot.geometry(ax3, model, sim, title="CA1 synapse at 20 µs")
        cs.plot.section(fig.add_subplot(1, 2, 2), model, sim, plane="xz", at=0.0)
        paths += cs.plot.save(fig, out / "ca1_geometry")
        plt.close(fig)

        fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
        n_ampa = model.metadata["parameters"]["n_ampa"]
        cs.plot.occupancy(axes[0], ens, ["AMPA_open"], total=n_ampa, band="sd", labels=["AMPA open"])
        cs.plot.timecourse(axes[1], ens, "NMDA_open", band="sd", ylabel="open NMDA receptors")
        cs.plot.current(axes[2], ens, "current", band="sd")
        paths += cs.plot.save(fig, out / "ca1_response")
        plt.close(fig)

        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
        p = model.metadata["parameters"]
        h, a = cs.units.length(p["height"]), cs.units.length(p["psd_radius"])
        vol = np.pi * a**2 * h * PER_UM3_PER_MOLAR          # molecules per M over the PSD disc
        early = (ens.times > 0) & (ens.times <= EARLY_US * 1e-6)
        t = ens.times[early]
        fine = np.linspace(0.5e-6, EARLY_US * 1e-6, 200)
        cs.plot.concentration(a1, t, ens.mean("glu_psd")[early] / vol, errors=ens.sem("glu_psd")[early] / vol,
                              exact=psd_exact(fine, model), exact_times=fine, label="cleftsim, mean ± SEM",
                              exact_label="exact, infinite plates")
        a1.set_title("glutamate over the PSD")
        later = ens.times > 0
        cleft = model.metadata["synapse"].cleft
        cs.plot.concentration(a2, ens.times[later], ens.mean("glu_cleft")[later] / (cleft.volume * PER_UM3_PER_MOLAR),
                              label="mean over the cleft", log=True)
        a2.set_title("glutamate in the cleft")
        paths += cs.plot.save(fig, out / "ca1_concentration")
        plt.close(fig)
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="CA1 synapse preset: ensemble, summary and figures")
    ap.add_argument("--trials", type=int, default=int(os.environ.get("CLEFTSIM_DEMO_TRIALS", 40)))
    ap.add_argument("--t-end", type=float, default=5.0, help="ms")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("out"))
    ap.add_argument("--serial", action="store_true", help="run the trials in this process")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "ca1.h5"
    if results.exists():
        results.unlink()                       # a fresh run (cs.run_ensemble would resume it)

    model = build(args.seed)
    t0 = time.perf_counter()
    ens = cs.run_ensemble(model, trials=args.trials, t_end=f"{args.t_end} ms", every="2 us", seed=args.seed,
                          executor="serial" if args.serial else None, out=results,
                          progress=not os.environ.get("CLEFTSIM_NO_PROGRESS"))
    wall = time.perf_counter() - t0
    table(ens, model)
    print(f"  {len(ens)} trials in {wall:.1f} s on {1 if args.serial else os.cpu_count()} core(s); "
          f"results file {results}")
    for path in figures(ens, model, args.seed, args.out):
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
