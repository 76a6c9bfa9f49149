"""Glutamate spillover in a block of neuropil (cs.synapse.neuropil): one action potential
reaches every synapse of the block, each releases a vesicle of 3000 glutamate with probability
0.3, and the AMPA receptors open at the releasing synapses and, by spillover, at their
non-releasing neighbours.

The block (default 3.68 µm across: about 100 synapses at 2 per µm³) holds cells of 0.5 µm behind
20 nm extracellular sheets, a tenth of them glial with glutamate transporters (10 800 per µm²,
Lehre & Danbolt 1998, as the CA1 preset); each PSD holds 80 AMPA receptors (Jonas, Major &
Sakmann 1993 scheme). The block's boundary reflects: it is a plane of symmetry of the tissue
(the same tissue mirrored beyond it). 5 ms at dt = 1 µs, sampled every 10 µs (--every): each
sample counts the open receptors of every PSD, a pass over all surface molecules per PSD, which
takes about half of the run at full size (docs/neuropil.md).

Printed: the block, the releases, the peak open AMPA receptors at the releasing synapses and at
the non-releasing ones within --near of a releasing synapse, and the time spent building the
block, compiling the model and running it. Figure: --out/spillover.png (and .pdf): the mean
open receptors against time at both kinds of synapse, and the peak at each non-releasing synapse
against its distance from the nearest release.

Usage: python examples/spillover.py [--size UM] [--t-end MS] [--every US] [--seed S] [--near UM] [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

import cleftsim as cs

N_GLU = 3000                   # molecules per vesicle (Riveros et al. 1986, as the CA1 preset)
P_RELEASE = 0.3
N_AMPA = 80                    # per PSD (the CA1 preset's default)
TRANSPORTERS = "10800 /um^2"   # on the glia (Lehre & Danbolt 1998, as the CA1 preset)


def build(size: float, seed: int) -> cs.synapse.Neuropil:
    return cs.synapse.neuropil(size=size, seed=seed)


def model(syn: cs.synapse.Neuropil, t_end_ms: float, seed: int, every_us: float = 10.0) -> cs.Model:
    # two tiles per transporter's worth of membrane: 10 800 per µm² do not fit on the default 10⁴ tiles
    # per µm² of the glia's small triangles (the binding rate does not depend on the tiles)
    m = cs.Model(dt="1 us", seed=seed, t_end=f"{t_end_ms} ms", every=f"{every_us} us", tile_density="2e4 /um^2")
    glu = m.add_species("glu", D="0.33 um^2/ms")
    obj = m.add_geometry(syn.mesh, "neuropil")
    ampa = m.add_scheme(cs.schemes.ampa_jonas1993(ligand=glu))
    for i, psd in enumerate(syn.psd_regions):
        m.place(ampa, region=obj.region(psd), n=N_AMPA)
        m.count(ampa.open, region=obj.region(psd), name=f"open_{i}")
    if "glia" in syn.mesh.region_names:
        glt = m.add_scheme(cs.schemes.glutamate_transporter(ligand=glu))
        m.place(glt, region=obj.region("glia"), density=TRANSPORTERS)
        m.count_events(glt.reaction("TG -> Tstar"), name="uptake")
    stim = cs.release.stimulus([0.0], P_RELEASE, n_sites=syn.n_synapses, quantal=cs.release.quantal(N_GLU))
    m.release_vesicles(glu, stim, at=syn.release_sites)
    m.count(glu)
    m.count_released(glu)
    return m


def figure(res: cs.Result, syn: cs.synapse.Neuropil, released: np.ndarray, near: np.ndarray,
           distance: np.ndarray, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_ms = res.times * 1e3
    opened = np.array([res[f"open_{i}"] for i in range(syn.n_synapses)])
    with cs.plot.style():
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
        for which, label, color in ((released, "releasing", "C3"), (near, "non-releasing neighbours", "C0")):
            if len(which):
                a1.plot(t_ms, opened[which].mean(axis=0), color=color, label=f"{label} ({len(which)})")
                a1.fill_between(t_ms, *np.percentile(opened[which], [16, 84], axis=0), color=color, alpha=0.2,
                                linewidth=0)
        a1.set_xlabel("time (ms)")
        a1.set_ylabel("open AMPA receptors per PSD")
        a1.set_title(f"{len(released)} of {syn.n_synapses} synapses release")
        a1.legend(frameon=False)
        quiet = np.setdiff1d(np.arange(syn.n_synapses), released)
        if len(quiet):
            a2.plot(distance[quiet], opened[quiet].max(axis=1), "o", color="C0", markersize=4)
        a2.set_xlabel("distance to the nearest release (µm)")
        a2.set_ylabel("peak open AMPA receptors")
        a2.set_title("spillover to non-releasing synapses")
        paths = cs.plot.save(fig, out / "spillover", formats=("png", "pdf"))
        plt.close(fig)
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="glutamate spillover in a neuropil block")
    ap.add_argument("--size", type=float, default=3.68, help="edge of the block (µm); 3.68: about 100 synapses")
    ap.add_argument("--t-end", type=float, default=5.0, help="ms")
    ap.add_argument("--every", type=float, default=10.0, help="sampling interval (µs)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--near", type=float, default=1.0, help="neighbours: within this distance of a release (µm)")
    ap.add_argument("--out", type=Path, default=Path("out"))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    syn = build(args.size, args.seed)
    t1 = time.perf_counter()
    m = model(syn, args.t_end, args.seed, args.every)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cs.AccuracyWarning)     # dt = 1 µs in 20 nm sheets: reported below
        compiled = cs.compile(m)
    t2 = time.perf_counter()
    res = cs.Simulation(compiled, seed=args.seed).sample(progress=not os.environ.get("CLEFTSIM_NO_PROGRESS"))
    t3 = time.perf_counter()

    p = syn.parameters
    print(f"neuropil block {args.size:g} um: {p['n_cells']} cells ({p['n_glia']} glial), {syn.n_synapses} synapses, "
          f"{syn.mesh.n_triangles} triangles, alpha {syn.alpha:.3f}")
    events = res.releases[res.releases["n"] > 0]
    released = np.unique(events["site"]).astype(int)
    quiet = np.setdiff1d(np.arange(syn.n_synapses), released)
    d = np.linalg.norm(syn.centers[:, None] - syn.centers[None], axis=-1)
    distance = d[:, released].min(axis=1) if len(released) else np.full(syn.n_synapses, np.inf)
    near = quiet[distance[quiet] <= args.near]
    opened = np.array([res[f"open_{i}"].max() for i in range(syn.n_synapses)])
    print(f"releases: {len(released)} of {syn.n_synapses} synapses (p = {P_RELEASE}), "
          f"{int(res['glu_released'][-1])} glutamate")
    if len(released):
        print(f"peak open AMPA at releasing synapses: {opened[released].mean():.2f} ± {opened[released].std():.2f}")
    if len(near):
        print(f"peak open AMPA at {len(near)} non-releasing synapses within {args.near:g} um: "
              f"{opened[near].mean():.2f} ± {opened[near].std():.2f} ({np.mean(opened[near] > 0) * 100:.0f} % "
              f"opened at least one)")
    if "uptake" in res.names:
        print(f"glutamate taken up by {args.t_end:g} ms: {int(res['uptake'][-1])}; free: {int(res['glu'][-1])}")
    steps = float(res["glu"][:-1].sum()) * round(m.every / m.dt)
    print(f"glutamate molecule-steps: {steps:.3g} (from the free glutamate sampled every {m.every * 1e6:g} us)")
    print(f"build: {t1 - t0:.1f} s")
    print(f"compile: {t2 - t1:.1f} s")
    print(f"run: {t3 - t2:.1f} s")
    for path in figure(res, syn, released, near, distance, args.out):
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
