"""α and λ of neuropil blocks (cs.synapse.neuropil) against cell size and gap, the time step's
effect on λ and the fit window's, as in docs/neuropil.md.

    python validation/neuropil.py [--quick] [--only table|steps|window]

prints markdown tables. Each block is 7.5 cell sizes across (about 420 cells), so the default
start box keeps 2.8 cell sizes from its boundary; seeds are fixed, so the numbers are reproducible.
α is given from the mesh's volumes and from 10⁵ thrown points (± SE); λ ± SE from
cs.synapse.tortuosity with its defaults (step √(2 D dt) = gap/4) and 20 000 molecules.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import cleftsim as cs

CELLS = ("0.3 um", "0.5 um", "1 um")
GAPS = ("10 nm", "20 nm", "40 nm")
D = 1000.0              # µm²/s; λ does not depend on it


def block(cell_size: str, gap: str, seed: int = 1, across: float = 7.5) -> cs.synapse.Neuropil:
    size = across * cs.units.length(cell_size)
    return cs.synapse.neuropil(size=size, cell_size=cell_size, gap=gap, synapse_density=0, seed=seed)


def table(molecules: int) -> None:
    print("| cell_size | gap | cells | triangles | α (mesh) | α (points) | λ | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for cell in CELLS:
        for gap in GAPS:
            t0 = time.perf_counter()
            syn = block(cell, gap)
            r = cs.synapse.tortuosity(syn, molecules=molecules, starts=molecules // 10, D=D)
            print(f"| {cell} | {gap} | {syn.parameters['n_cells']} | {syn.mesh.n_triangles} | {syn.alpha:.4f} | "
                  f"{r.alpha:.4f} ± {r.alpha_se:.4f} | {r.lam:.4f} ± {r.lam_se:.4f} | "
                  f"{time.perf_counter() - t0:.0f} |", flush=True)


def steps(molecules: int) -> None:
    """λ of the default block (0.5 µm cells, 20 nm gap) against the step σ = √(2 D dt), the same
    start points and seed at every step (common random numbers: differences are sharper than the SEs)."""
    syn = block("0.5 um", "20 nm")
    print("| σ (nm) | dt (ns) at D = 1 µm²/ms | λ |")
    print("|---|---|---|")
    for sigma_nm in (2.5, 5.0, 10.0, 20.0):
        dt = (sigma_nm * 1e-3) ** 2 / (2 * D)
        r = cs.synapse.tortuosity(syn, molecules=molecules, starts=molecules // 10, D=D, dt=dt, seed=2)
        print(f"| {sigma_nm:g} | {dt * 1e9:.3g} | {r.lam:.4f} ± {r.lam_se:.4f} |", flush=True)


def window(molecules: int) -> None:
    """Is t1 long enough? λ fitted over [t1, t2] in a block twice as large (15 cell sizes), for
    windows ending at a quarter, a half and all of its default t2."""
    syn = block("0.5 um", "20 nm", across=15.0)
    r = cs.synapse.tortuosity(syn, molecules=molecules, starts=molecules // 10, D=D, seed=3)
    t2 = r.t2
    print(f"block {syn.parameters['size'][0]:g} µm, {syn.parameters['n_cells']} cells, "
          f"{syn.mesh.n_triangles} triangles; default window {r.t1 * 1e6:.3g}-{t2 * 1e6:.3g} µs")
    print("| window (µs) | rms displacement at its end (µm) | λ |")
    print("|---|---|---|")
    for end in (0.25, 0.5, 1.0):
        w = cs.synapse.tortuosity(syn, molecules=molecules, starts=molecules // 10, D=D, seed=3,
                                  times=(end * t2 / 2, end * t2), dt=r.dt)
        print(f"| {w.t1 * 1e6:.3g}-{w.t2 * 1e6:.3g} | {np.sqrt(w.msd[-1]):.3f} | {w.lam:.4f} ± {w.lam_se:.4f} |",
              flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2000 molecules instead of 20 000")
    ap.add_argument("--only", choices=("table", "steps", "window"))
    args = ap.parse_args(argv)
    molecules = 2000 if args.quick else 20_000
    warnings.simplefilter("ignore", cs.AccuracyWarning)
    for name, fn in (("table", table), ("steps", steps), ("window", window)):
        if args.only in (None, name):
            print(f"\n## {name}\n")
            fn(molecules)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
