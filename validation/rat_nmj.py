"""MCell's rat neuromuscular junction imported from MDL, at Δt = 1 µs against Δt = 0.1 µs.

    python validation/rat_nmj.py OUTDIR [--trials N] [--fine-trials N]

Loads ``../shared/mcell/rat_nmj/Scene.main.mdl`` (MCell's regression model: 54 949 triangles,
AChR on the postjunctional membrane, AChE on the basal lamina, 6200 ACh from 303 timed sites,
500 µs), runs an ensemble at the file's Δt = 1 µs and one at 0.1 µs, and writes
``OUTDIR/rat_nmj.md``: the conservation of ACh in every trial, the Δt-convergence of every count
at every sample (the difference of the two ensemble means in units of its standard error; with
independent samples the largest |z| over 501 samples of one count stays below about 3.5), the
peak of free ACh and the open AChR (AChR4) over time; and ``OUTDIR/rat_nmj.png``: free ACh, open
AChR, the bound AChR states and the AChE states over time with ±1 SD bands of both ensembles.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import cleftsim as cs

ROOT = Path(__file__).resolve().parents[1]
NMJ = ROOT.parent / "shared" / "mcell" / "rat_nmj" / "Scene.main.mdl"
#: Surface states holding the choline part of ACh (an ACh or a choline): AChR3 and AChR4 hold two.
HELD = {"AChR1": 1, "AChR2": 1, "AChR3": 2, "AChR4": 2, "AE": 1, "AAcE": 1, "ChR1": 1, "ChR2": 1}
TABLE_US = (10, 25, 50, 100, 200, 300, 400, 500)
PANELS = (("free ACh", ["ACh.World"]), ("open AChR (AChR4)", ["AChR4.World"]),
          ("AChR with ACh bound", ["AChR1.World", "AChR2.World", "AChR3.World"]),
          ("AChE states", ["AE.World", "AcE.World", "AAcE.World"]))


def ensemble(dt: float | None, trials: int, seed: int):
    t0 = time.perf_counter()
    model = cs.mcell.load(NMJ, seed=seed, dt=dt)
    loaded = time.perf_counter() - t0
    ens = cs.run_ensemble(model, trials=trials, seed=seed, progress=False)       # on every core
    return model, ens, loaded, time.perf_counter() - t0 - loaded


def ach_balance(sim) -> tuple[int, int]:
    """(ACh released so far, ACh accounted for) in a Simulation of the NMJ: free ACh and choline,
    the surface states that hold them, those absorbed at the cleft's edges, and the choline taken
    up by its receptor (ChR2 -> ChR0 events). Choline is made only from ACh, one per hydrolysis."""
    names = [s.name for s in sim.model.species]
    held = sum(k * len(sim.surface_molecules(name)["positions"]) for name, k in HELD.items())
    taken = sim.event_counts()["ChR2 -> ChR0"]
    escaped = int(sim.absorbed[:, [names.index("ACh"), names.index("Ch")]].sum())
    released = sum(r.n for r in sim.model.releases if r.t <= sim.time + 1e-12)   # joined by now
    return released, sim.count("ACh") + sim.count("Ch") + held + escaped + taken


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--trials", type=int, default=32)
    ap.add_argument("--fine-trials", type=int, default=32)
    args = ap.parse_args(argv)
    if not NMJ.exists():
        print(f"skipped: {NMJ} not found (MCell's models are read from ../shared/mcell)")
        return 0
    args.outdir.mkdir(parents=True, exist_ok=True)
    coarse = ensemble(None, args.trials, seed=11)
    fine = ensemble(1e-7, args.fine_trials, seed=12)
    balances = {}
    for label, dt in (("1 µs", None), ("0.1 µs", 1e-7)):
        sim = cs.mcell.load(NMJ, seed=13, dt=dt).simulation()
        sim.run(sim.model.t_end)
        balances[label] = ach_balance(sim)
    write_report(args.outdir, coarse, fine, balances)
    print(f"wrote {args.outdir / 'rat_nmj.md'}")
    return 0


def _mean_se(ens, name):
    x = np.asarray(ens[name], dtype=float)
    return x.mean(axis=0), x.std(axis=0, ddof=1) / np.sqrt(len(x)), x.std(axis=0, ddof=1)


def write_report(out: Path, coarse, fine, balances: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (m1, e1, load1, run1), (_, e2, load2, run2) = coarse, fine
    names = [o.name for o in m1.observables]
    lines = ["# MCell's rat NMJ: Δt = 1 µs against Δt = 0.1 µs", "",
             f"`{NMJ.relative_to(ROOT.parent)}`, {sum(o.mesh.n_triangles for o in m1.objects)} triangles, "
             f"{len(m1.releases)} releases of {sum(r.n for r in m1.releases)} ACh, "
             f"{sum(p.n for p in m1.placements)} surface molecules placed.", "",
             f"- Δt = 1 µs: {len(e1)} trials, load {load1:.2f} s, ensemble {run1:.1f} s",
             f"- Δt = 0.1 µs: {len(e2)} trials, load {load2:.2f} s, ensemble {run2:.1f} s", ""]
    lines += ["## Every count at every sample", "",
              "z = (mean at 1 µs − mean at 0.1 µs)/SE of the difference, over the 501 samples.", "",
              "| count | largest abs(z) | at (µs) | means there (1 µs, 0.1 µs) | mean abs(z) |", "|---|---|---|---|---|"]
    worst = 0.0
    for name in names:
        a, sa, _ = _mean_se(e1, name)
        b, sb, _ = _mean_se(e2, name)
        se = np.sqrt(sa ** 2 + sb ** 2)
        z = np.where(se > 0, (a - b) / np.where(se > 0, se, 1), 0.0)
        k = int(np.argmax(np.abs(z)))
        worst = max(worst, abs(z[k]))
        lines.append(f"| {name} | {abs(z[k]):.2f} | {e1.times[k] * 1e6:.0f} | {a[k]:.1f}, {b[k]:.1f} | "
                     f"{np.abs(z).mean():.2f} |")
    lines += ["", f"Largest abs(z) of all: {worst:.2f}.", "", "## At chosen times (mean ± SE)", "",
              "| t (µs) | " + " | ".join(f"{n} 1 µs | {n} 0.1 µs" for n in ("ACh.World", "AChR4.World")) + " |",
              "|---" * 5 + "|"]
    for t in TABLE_US:
        k = int(np.argmin(np.abs(e1.times - t * 1e-6)))
        cells = []
        for name in ("ACh.World", "AChR4.World"):
            for e in (e1, e2):
                mu, se, _ = _mean_se(e, name)
                cells.append(f"{mu[k]:.1f} ± {se[k]:.1f}")
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    lines += ["", "## Free ACh and open AChR", ""]
    for label, e in (("1 µs", e1), ("0.1 µs", e2)):
        free = np.asarray(e["ACh.World"], dtype=float)
        peak = free.max(axis=1)
        at = e.times[free.argmax(axis=1)] * 1e6
        opened, _, sd = _mean_se(e, "AChR4.World")
        lines.append(f"- Δt = {label}: peak free ACh {peak.mean():.0f} ± {peak.std(ddof=1):.0f} (SD) at "
                     f"{at.mean():.1f} ± {at.std(ddof=1):.1f} µs; open AChR at 100/200/300/400/500 µs: "
                     + ", ".join(f"{opened[int(round(t * 1e-6 / (e.times[1] - e.times[0])))]:.0f}"
                                 for t in (100, 200, 300, 400, 500))
                     + f" (SD at 500 µs {sd[-1]:.0f})")
    lines += ["", "## Conservation", "",
              "ACh released = free ACh and choline + held by AChR, AChE and the choline receptor (AChR3 and "
              "AChR4 hold two) + absorbed at the cleft's edges + choline taken up (ChR2 -> ChR0).", ""]
    for dt, (released, accounted) in balances.items():
        lines.append(f"- Δt = {dt}: released {released}, accounted for {accounted} (one trial, 500 µs)")
    (out / "rat_nmj.md").write_text("\n".join(lines) + "\n")

    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for ax, (title, group) in zip(axes.ravel(), PANELS):
        for name in group:
            for e, style, label in ((e1, "-", "1 µs"), (e2, "--", "0.1 µs")):
                mu, _, sd = _mean_se(e, name)
                t = e.times * 1e6
                line, = ax.plot(t, mu, style, lw=1.2, label=f"{name.split('.')[0]} ({label})")
                ax.fill_between(t, mu - sd, mu + sd, color=line.get_color(), alpha=0.15, lw=0)
        ax.set_title(title)
        ax.set_ylabel("molecules")
        ax.legend(fontsize=7, frameon=False)
    for ax in axes[-1]:
        ax.set_xlabel("time (µs)")
    fig.suptitle("MCell rat NMJ imported into cleftsim: ensemble mean ± SD")
    fig.tight_layout()
    fig.savefig(out / "rat_nmj.png", dpi=130)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
