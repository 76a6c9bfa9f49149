"""α and λ of neuropil blocks (cs.synapse.neuropil) against cell size and gap, the time step's
effect on λ and the fit window's, and α and λ against the dead-end pockets (dead_space, the necks,
the step and the window with pockets), as in docs/neuropil.md.

    python validation/neuropil.py [--quick] [--only table|steps|window|pockets|necks|pocket_steps]

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


DEAD_SPACES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.45, 0.5)
BRAIN_LIKE = 0.45       # the recommended dead_space (docs/neuropil.md)


def block(cell_size: str, gap: str, seed: int = 1, across: float = 7.5, **pockets) -> cs.synapse.Neuropil:
    size = across * cs.units.length(cell_size)
    return cs.synapse.neuropil(size=size, cell_size=cell_size, gap=gap, synapse_density=0, seed=seed, **pockets)


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


def _inside(mesh):
    """The point-in-object test of a closed mesh."""
    model = cs.Model(dt="1 us", seed=1)
    model.add_species("x", D=1.0)
    obj = model.add_geometry(mesh, "space")
    sim = model.simulation()
    return lambda points: sim.inside(obj, points)


def start_dead_space(syn: cs.synapse.Neuropil, flat: cs.synapse.Neuropil, n: int = 200_000) -> float:
    """The share of the space in pockets within tortuosity()'s default start box (the central
    quarter of the block on each axis): points in the space of ``syn`` but inside a cell of
    ``flat``, the same block without pockets."""
    lo, hi = syn.block.bounds
    points = np.random.default_rng(0).uniform(lo + 3 / 8 * (hi - lo), hi - 3 / 8 * (hi - lo), size=(n, 3))
    space = _inside(syn.mesh)(points)
    return float(np.count_nonzero(space & ~_inside(flat.mesh)(points)) / np.count_nonzero(space))


def pockets(molecules: int) -> None:
    """α and λ of the default cells and gap against dead_space, three blocks (seeds) each, with
    the pockets' share of the space in the start box (δ_start) and λ₀ / √(1 - δ_start): the value
    if the pockets only add volume that molecules visit without moving on (Hrabe et al. 2004), λ₀
    the same block's λ without pockets; then the mean over the blocks."""
    print("| dead_space | block seed | pockets | triangles | dead space (mesh) | α (mesh) | α (points) | δ_start | λ | "
          "λ₀ / √(1 - δ_start) | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    seeds = (1, 2, 3)
    flats, lam0, rows = {}, {}, {}
    for delta in DEAD_SPACES:
        for seed in seeds:
            t0 = time.perf_counter()
            syn = block("0.5 um", "20 nm", seed=seed, dead_space=delta)
            r = cs.synapse.tortuosity(syn, molecules=molecules, starts=molecules // 10, D=D)
            if delta == 0:
                flats[seed], lam0[seed] = syn, r.lam
            local = start_dead_space(syn, flats[seed]) if delta else 0.0
            rows.setdefault(delta, []).append((syn.alpha, r.lam))
            print(f"| {delta:g} | {seed} | {syn.n_pockets} | {syn.mesh.n_triangles} | {syn.dead_space:.3f} | "
                  f"{syn.alpha:.4f} | {r.alpha:.4f} ± {r.alpha_se:.4f} | {local:.3f} | {r.lam:.3f} ± {r.lam_se:.3f} | "
                  f"{lam0[seed] / np.sqrt(1 - local):.3f} | {time.perf_counter() - t0:.0f} |", flush=True)
    print(f"\nmean over the {len(seeds)} blocks (± SD / √{len(seeds)}):\n")
    print("| dead_space | α | λ | λ₀ / √(1 - dead_space) |")
    print("|---|---|---|---|")
    base = np.mean([lam for _, lam in rows[0.0]])
    for delta, values in rows.items():
        a, lam = np.array(values).T
        print(f"| {delta:g} | {a.mean():.4f} | {lam.mean():.3f} ± {lam.std(ddof=1) / np.sqrt(len(lam)):.3f} | "
              f"{base / np.sqrt(1 - delta):.3f} |", flush=True)


def necks(molecules: int) -> None:
    """λ of the brain-like block (seed 1) against the necks' width (and length): the same cells,
    other pockets as they fit; the default step is a quarter of the narrower of gap and neck."""
    flat = block("0.5 um", "20 nm")
    print("| pocket_neck | pockets | dead space | α (mesh) | δ_start | step σ (nm) | λ |")
    print("|---|---|---|---|---|---|---|")
    for neck in ("12 nm", "20 nm", "40 nm"):
        syn = block("0.5 um", "20 nm", dead_space=BRAIN_LIKE, pocket_neck=neck)
        r = cs.synapse.tortuosity(syn, molecules=molecules, starts=molecules // 10, D=D)
        print(f"| {neck} | {syn.n_pockets} | {syn.dead_space:.3f} | {syn.alpha:.4f} | {start_dead_space(syn, flat):.3f} | "
              f"{np.sqrt(2 * D * r.dt) * 1e3:.2g} | {r.lam:.3f} ± {r.lam_se:.3f} |", flush=True)


def pocket_steps(molecules: int) -> None:
    """The brain-like block (20 nm necks): λ against the step (the same start points and seed at
    every step), and over the first and second half of the default window (the same walk)."""
    syn = block("0.5 um", "20 nm", dead_space=BRAIN_LIKE)
    print("| σ (nm) | σ / neck | window (µs) | λ |")
    print("|---|---|---|---|")
    for sigma_nm in (2.5, 5.0, 10.0):
        dt = (sigma_nm * 1e-3) ** 2 / (2 * D)
        r = cs.synapse.tortuosity(syn, molecules=molecules, starts=molecules // 10, D=D, dt=dt, seed=2)
        print(f"| {sigma_nm:g} | {sigma_nm / 20:.3g} | {r.t1 * 1e6:.3g}-{r.t2 * 1e6:.3g} | {r.lam:.3f} ± {r.lam_se:.3f} |",
              flush=True)
        if sigma_nm == 5.0:
            w = cs.synapse.tortuosity(syn, molecules=molecules, starts=molecules // 10, D=D, dt=dt, seed=2,
                                      times=(r.t2 / 4, r.t2 / 2))
            print(f"| {sigma_nm:g} | {sigma_nm / 20:.3g} | {w.t1 * 1e6:.3g}-{w.t2 * 1e6:.3g} | "
                  f"{w.lam:.3f} ± {w.lam_se:.3f} |", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2000 molecules instead of 20 000")
    ap.add_argument("--only", choices=("table", "steps", "window", "pockets", "necks", "pocket_steps"))
    args = ap.parse_args(argv)
    molecules = 2000 if args.quick else 20_000
    warnings.simplefilter("ignore", cs.AccuracyWarning)
    for name, fn in (("table", table), ("steps", steps), ("window", window), ("pockets", pockets), ("necks", necks),
                     ("pocket_steps", pocket_steps)):
        if args.only in (None, name):
            print(f"\n## {name}\n")
            fn(molecules)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
