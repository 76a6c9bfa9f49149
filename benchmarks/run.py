"""Throughput benchmarks of cleftsim (``make bench``): one JSON object per line on stdout.

The first line describes the machine. Every benchmark after that reports at least
``{"name", "molecule_steps_per_s", "n_molecules", "steps", "seconds"}`` plus its parameters
(D in µm²/s, dt in s, ...). Timing: a warm-up advance first, then ``time.perf_counter`` around
``Simulation.advance(steps)``, best of 3 repetitions (``seconds`` is that best time; the
molecule-steps are those of the best repetition). The process is pinned to one CPU and numeric
libraries to one thread, so every benchmark measures one core (the trial then runs one thread);
``threads`` unpins it to time one trial on 1, 2, ... threads.

Usage: ``python benchmarks/run.py [--quick] [--only NAME ...]``. ``--quick`` shrinks every
benchmark about tenfold (a smoke test, not a measurement).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import cleftsim as cs  # noqa: E402
from cleftsim._core import random as _random  # noqa: E402
from cleftsim.compiler import scene as world  # noqa: E402

REPEATS = 3
SLOW_COMPILE = 2.0       # s; slower compiles are timed once
D_GLU = 330.0          # µm²/s = 0.33 µm²/ms
DT = 1e-6              # s
R_CLEFT, H_CLEFT = 0.2, 0.02   # µm


def pin_one_cpu() -> int | None:
    """Pin this process to one CPU (the last one it may use); return it, or None if unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[-1]})
    return cpus[-1]


def machine(cpu: int | None) -> dict:
    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "name": "machine",
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "pinned_cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cleftsim": cs.__version__,
    }


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def time_advance(make_sim, steps: int, warmup: int = 2) -> tuple[float, int, int]:
    """Best of REPEATS timings of ``advance(steps)`` on fresh simulations.

    Returns (seconds, molecule-steps, molecules at the start of the timed call) of the best
    repetition. Molecule-steps are exact when no molecule is removed during the call; otherwise
    use :func:`time_stepwise`.
    """
    best = None
    for _ in range(REPEATS):
        sim, sp = make_sim()
        sim.advance(warmup)
        n = sim.count(sp)
        t0 = time.perf_counter()
        sim.advance(steps)
        el = time.perf_counter() - t0
        if sim.count(sp) != n:
            raise RuntimeError("molecules were removed during a timed run; use time_stepwise")
        if best is None or el < best[0]:
            best = (el, n * steps, n)
    return best


def time_stepwise(make_sim, steps: int, warmup: int = 0) -> tuple[float, int, int]:
    """Like :func:`time_advance`, but one ``advance(1)`` per step, timed individually and summed,
    so that molecule-steps are counted exactly while molecules are being absorbed."""
    best = None
    for _ in range(REPEATS):
        sim, sp = make_sim()
        sim.advance(warmup)
        n0 = sim.count(sp)
        total, msteps = 0.0, 0
        for _ in range(steps):
            msteps += sim.count(sp)
            t0 = time.perf_counter()
            sim.advance(1)
            total += time.perf_counter() - t0
        if best is None or msteps / total > best[1] / best[0]:
            best = (total, msteps, n0)
    return best


def record(name: str, seconds: float, msteps: int, n: int, steps: int, **extra) -> dict:
    rec = {"name": name, "molecule_steps_per_s": msteps / seconds, "n_molecules": n,
           "steps": steps, "seconds": seconds, "molecule_steps": msteps}
    rec.update(extra)
    return rec


def _materialise(sim, sp):
    sim.positions(sp)          # applies the t = 0 releases before timing starts
    return sim, sp


# -- the benchmarks ----------------------------------------------------------------------------
def bench_free(scale: float) -> dict:
    """Free diffusion, 10⁶ molecules, no geometry: RNG + position update only."""
    n, steps = int(1_000_000 * scale), 20

    def make():
        m = cs.Model(dt=DT, seed=1)
        sp = m.add_species("a", D=D_GLU)
        m.release(sp, n=n, at=(0, 0, 0))
        return _materialise(m.simulation(), sp)

    sec, ms, n0 = time_advance(make, steps)
    return record("free_diffusion", sec, ms, n0, steps, D_um2_per_s=D_GLU, dt_s=DT,
                  target_molecule_steps_per_s=30e6,
                  ns_per_molecule_step=1e9 * sec / ms)


def _cleft_model(n: int, absorbing: bool, segments: int = 128):
    m = cs.Model(dt=DT, seed=2)
    sp = m.add_species("glu", D=D_GLU)
    cleft = m.add_geometry(cs.geometry.cylinder(R_CLEFT, H_CLEFT, segments=segments), "cleft")
    if absorbing:
        m.set_surface(sp, cleft.region("side"), "absorb")
    m.release(sp, n=n, inside=cleft)
    return m, sp


def bench_cleft_reflecting(scale: float) -> dict:
    """Disc cleft (cylinder R = 200 nm, h = 20 nm, 128 segments), all walls reflecting, molecules
    uniform in the cleft. sqrt(2 D dt) = 25.7 nm > h, so most steps hit a plate."""
    n, steps = int(100_000 * scale), 50

    def make():
        m, sp = _cleft_model(n, absorbing=False)
        return _materialise(m.simulation(), sp)

    sec, ms, n0 = time_advance(make, steps)
    sim, _ = make()
    sim.advance(steps)
    refl = sim.diagnostics["reflections"] / (n0 * steps)
    return record("cleft_reflecting", sec, ms, n0, steps, D_um2_per_s=D_GLU, dt_s=DT,
                  radius_um=R_CLEFT, height_um=H_CLEFT, segments=128,
                  reflections_per_step=refl, target_molecule_steps_per_s=10e6,
                  ns_per_molecule_step=1e9 * sec / ms)


def bench_cleft_absorbing(scale: float) -> dict:
    """The same cleft with an absorbing rim (Brownian-bridge test active near the rim). A fresh
    uniform population is timed over its first 10 steps, one advance(1) per step, so the
    molecule-steps are exact while molecules leave (about half are gone after 10 µs)."""
    n, steps = int(200_000 * scale), 10

    def make():
        m, sp = _cleft_model(n, absorbing=True)
        return _materialise(m.simulation(), sp)

    sec, ms, n0 = time_stepwise(make, steps)
    sim, sp = make()
    sim.advance(steps)
    return record("cleft_absorbing_rim", sec, ms, n0, steps, D_um2_per_s=D_GLU, dt_s=DT,
                  radius_um=R_CLEFT, height_um=H_CLEFT, segments=128,
                  surviving_fraction_at_end=sim.count(sp) / n0,
                  bridge_absorptions=sim.diagnostics["bridge_absorptions"],
                  target_molecule_steps_per_s=10e6, ns_per_molecule_step=1e9 * sec / ms)


def bench_box(scale: float, D: float) -> dict:
    """The reference simulators' comparison case (README, Speed): 10⁵ molecules, 1000 steps of 1 µs in a 1 µm reflecting box."""
    n, steps = int(100_000 * scale), max(10, int(1000 * scale))

    def make():
        m = cs.Model(dt=DT, seed=3)
        sp = m.add_species("a", D=D)
        box = m.add_geometry(cs.geometry.box(1.0), "box")
        m.release(sp, n=n, inside=box)
        return _materialise(m.simulation(), sp)

    sec, ms, n0 = time_advance(make, steps)
    return record(f"box_1um_D{D / 1000:g}", sec, ms, n0, steps, D_um2_per_s=D, dt_s=DT,
                  box_um=1.0, reference_best_other_simulator=19e6, reference_numpy_loop=36e6,
                  ns_per_molecule_step=1e9 * sec / ms)


def bench_rng(scale: float) -> dict:
    """Normal deviates alone (ziggurat on xoroshiro128++), through the kernels' test entry point."""
    n = int(3_000_000 * scale)
    state = _random.seed_state(np.random.SeedSequence(4))
    _random.normals(state, 1000)
    best = min(_timed(lambda: _random.normals(state, n)) for _ in range(REPEATS))
    return {"name": "rng_normals", "normals_per_s": n / best, "ns_per_normal": 1e9 * best / n,
            "n": n, "seconds": best,
            "note": "includes allocating the output array; a diffusion step needs 3 normals"}


def bench_trace_no_hit(scale: float) -> dict:
    """Tracing cost without hits: molecules at the centre of a 100 µm reflecting box never reach
    a wall, but every step is traced through the grid."""
    n, steps = int(300_000 * scale), 20

    def make():
        m = cs.Model(dt=DT, seed=5)
        sp = m.add_species("a", D=D_GLU)
        m.add_geometry(cs.geometry.box(100.0), "box")
        m.release(sp, n=n, at=(0, 0, 0))
        return _materialise(m.simulation(), sp)

    sec, ms, n0 = time_advance(make, steps)
    return record("trace_no_hit", sec, ms, n0, steps, D_um2_per_s=D_GLU, dt_s=DT,
                  ns_per_molecule_step=1e9 * sec / ms)


def bench_receptors(scale: float) -> list[dict]:
    """Receptor-rich membrane (issue #3): 10⁴ ligands, 10⁴ binding sites on the bottom face
    (L + S <-> SL at the AMPA first-binding rates, 4.59e6 /M/s and 4.26e3 /s), against the same
    ligands in the same geometry with the sites removed (pure reflection). Geometries: a 1 µm
    cube, and a disc cleft (R = 600 nm, h = 20 nm; sites on its bottom plate, 8800 µm⁻², about
    the density of a full MCell surface grid).
    Timed one advance(1) per step after 200 steps of warm-up, so molecule-steps count free
    ligands exactly while they bind and unbind. cost_ratio compares the cost per free-ligand
    step; step_cost_ratio the cost per simulation step (surface events included)."""
    n, steps = int(10_000 * scale), max(20, int(300 * scale))
    out = []
    geometries = (("cube_1um", lambda: cs.geometry.box(size=(1.0, 1.0, 1.0))),
                  ("disc_cleft_R600nm", lambda: cs.geometry.cylinder(0.6, H_CLEFT, segments=256)))
    for label, mesh in geometries:
        timing = {}
        for with_sites in (False, True):
            def make():
                m = cs.Model(dt=DT, seed=9)
                sp = m.add_species("L", D=D_GLU)
                box = m.add_geometry(mesh(), "box")
                m.add_surface_species("S")
                m.add_surface_species("SL")
                if with_sites:
                    m.add_reaction("L + S <-> SL", (4.59e6, 4.26e3))
                    m.place("S", region=box.region("bottom"), n=n)
                m.release(sp, n=n, inside=box)
                return _materialise(m.simulation(), sp)
            timing[with_sites] = time_stepwise(make, steps, warmup=200)
        (s0, ms0, _), (s1, ms1, _) = timing[False], timing[True]
        ns0, ns1 = 1e9 * s0 / ms0, 1e9 * s1 / ms1
        out.append({"name": f"receptors_{label}", "n_ligands": n, "n_sites": n, "steps": steps,
                    "ns_per_molecule_step_reflecting": ns0,
                    "ns_per_molecule_step_with_sites": ns1, "cost_ratio": ns1 / ns0,
                    "seconds_per_step_reflecting": s0 / steps, "seconds_per_step_with_sites": s1 / steps,
                    "step_cost_ratio": s1 / s0, "free_ligand_fraction": ms1 / ms0, "target_cost_ratio": 2.0})
    return out


def bench_pairs(scale: float) -> dict:
    """A + B -> C (issue #4): 10⁵ A and 10⁵ B in a 1 µm reflecting box, D = 0.33 µm²/ms,
    dt = 1 µs, k = 1e7 M⁻¹s⁻¹, against the same molecules without the reaction. Timed one
    advance(1) per step (50 steps after 5 of warm-up); molecule-steps count every molecule."""
    n, steps = int(100_000 * scale), max(10, int(50 * scale))
    out = {}
    for react in (False, True):
        best = None
        for _ in range(REPEATS):
            m = cs.Model(dt=DT, seed=10)
            box = m.add_geometry(cs.geometry.box(1.0), "box")
            for s in "ABC":
                m.add_species(s, D=D_GLU)
            if react:
                m.add_reaction("A + B -> C", 1e7)
            m.release("A", n=n, inside=box)
            m.release("B", n=n, inside=box)
            sim = m.simulation()
            sim.advance(5)
            total, msteps = 0.0, 0
            for _ in range(steps):
                msteps += sim.n
                t0 = time.perf_counter()
                sim.advance(1)
                total += time.perf_counter() - t0
            if best is None or msteps / total > best[1] / best[0]:
                best = (total, msteps)
        out[react] = 1e9 * best[0] / best[1]
    return {"name": "pairs_a_plus_b_box_1um", "n_each": n, "steps": steps,
            "ns_per_molecule_step_diffusion_only": out[False], "ns_per_molecule_step_with_pairs": out[True],
            "cost_ratio": out[True] / out[False], "target_cost_ratio": 3.0}


def bench_ensemble(scale: float) -> list[dict]:
    """run_ensemble (issue #5) on all cores (the benchmark's pin to one CPU is lifted here):
    trials of about 0.2 s (2e4 molecules, 200 steps in a 1 µm box), serial against the local
    process pool; and the per-trial overhead, from trials of one step of 10 molecules."""
    pinned = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))

    def model(n: int) -> cs.Model:
        m = cs.Model(dt=DT, seed=3)
        box = m.add_geometry(cs.geometry.box(1.0), "box")
        m.add_species("A", D=D_GLU)
        m.release("A", n=n, inside=box)
        m.count("A")
        return m

    def timed(m, trials, t_end, executor):
        t0 = time.perf_counter()
        cs.run_ensemble(m, trials=trials, t_end=t_end, every=t_end, executor=executor, progress=False)
        return time.perf_counter() - t0

    try:
        trials = max(4, int(16 * scale))
        big = model(int(20_000 * max(scale, 0.1)))
        serial = timed(big, trials, 200 * DT, "serial")
        pooled = timed(big, trials, 200 * DT, None)
        tiny, n_tiny = model(10), max(20, int(200 * scale))
        over_serial = timed(tiny, n_tiny, DT, "serial") / n_tiny
        over_pool = timed(tiny, n_tiny, DT, None) / n_tiny
    finally:
        os.sched_setaffinity(0, pinned)
    return [{"name": "ensemble_pool_vs_serial", "trials": trials, "cores": os.cpu_count(),
             "seconds_per_trial_serial": serial / trials, "seconds_per_trial_pool": pooled / trials,
             "speedup": serial / pooled, "target_speedup_on_2_cores": 1.8},
            {"name": "ensemble_overhead_per_trial", "trials": n_tiny, "ms_per_trial_serial": 1e3 * over_serial,
             "ms_per_trial_pool": 1e3 * over_pool, "target_ms": 10.0,
             "note": "trials of one step of 10 molecules: construction, sampling and collection"}]


def _timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def bench_compile(scale: float) -> list[dict]:
    """Model compile time (build_scene, through Model.simulation) for a few meshes, without and
    with absorbing triangles (which adds the Brownian-bridge neighbour lists). A compile that
    takes more than SLOW_COMPILE seconds is timed once (``repeats`` says so)."""
    out = []
    cases = [("cylinder_128", lambda: cs.geometry.cylinder(R_CLEFT, H_CLEFT, segments=128), "side"),
             ("cylinder_512", lambda: cs.geometry.cylinder(R_CLEFT, H_CLEFT, segments=512), "side"),
             ("icosphere_s4", lambda: cs.geometry.icosphere(0.5, subdivisions=4), "surface"),
             ("icosphere_s5", lambda: cs.geometry.icosphere(0.5, subdivisions=5), "surface")]
    for label, make_mesh, region in cases:
        mesh = make_mesh()
        for absorbing in (False, True):
            m = cs.Model(dt=DT, seed=6)
            sp = m.add_species("a", D=D_GLU)
            obj = m.add_geometry(mesh, "obj")
            if absorbing:
                m.set_surface(sp, obj.region(region), "absorb")
            first = _timed(m.simulation)                   # also the warm-up
            times = [first]
            if first < SLOW_COMPILE:
                times += [_timed(m.simulation) for _ in range(REPEATS)]
            out.append({"name": f"compile_{label}{'_absorbing_' + region if absorbing else ''}",
                        "n_triangles": mesh.n_triangles,
                        "n_absorbing": len(mesh.region(region)) if absorbing else 0,
                        "seconds": min(times), "repeats": len(times) - (len(times) > 1)})
    return out


def bench_point_in_object(scale: float) -> list[dict]:
    """Counting molecules inside a closed object (ray-parity point-in-object test), per molecule."""
    n = int(200_000 * scale)
    out = []
    for label, mesh in (("cylinder_128", cs.geometry.cylinder(R_CLEFT, H_CLEFT, segments=128)),
                        ("icosphere_s4", cs.geometry.icosphere(0.2, subdivisions=4))):
        m = cs.Model(dt=DT, seed=7)
        m.add_species("a", D=D_GLU)
        obj = m.add_geometry(mesh, "obj")
        sim = m.simulation()
        lo, hi = mesh.bounds
        pts = np.random.default_rng(8).uniform(lo, hi, size=(n, 3))
        world.contains(sim.scene, obj.index, obj.mesh, pts[:1000])
        best = min(_timed(lambda: world.contains(sim.scene, obj.index, obj.mesh, pts))
                   for _ in range(REPEATS))
        out.append({"name": f"point_in_object_{label}", "n_points": n, "seconds": best,
                    "ns_per_point": 1e9 * best / n, "points_per_s": n / best,
                    "note": "points uniform in the bounding box"})
    return out


def bench_presets(scale: float) -> list[dict]:
    """One trial of each synapse preset at its default dt, sampled every 10 µs (5 ms for the CA1
    and GABA synapses, 2 ms for the NMJ): the geometry compiled once (as in an ensemble), best of
    3 trials with different seeds; the molecule-steps are summed from the free transmitter count
    at the samples. Then the wall time of ``make demo`` (examples/ca1_demo.py on all cores)."""
    out = []
    for name, t_end in (("ca1_synapse", 5e-3), ("gabaergic_synapse", 5e-3), ("neuromuscular_junction", 2e-3)):
        model = getattr(cs.presets, name)(seed=1)
        t0 = time.perf_counter()
        compiled = cs.compile(model)
        compile_s = time.perf_counter() - t0
        tx = model.species[0].name
        every = 10e-6
        best = None
        for k in range(REPEATS):
            sim = cs.Simulation(compiled, seed=cs.trial_seed(1, k))
            t0 = time.perf_counter()
            res = sim.sample(t_end * max(scale, 0.2), every, progress=False)
            sec = time.perf_counter() - t0
            msteps = float(res[tx][:-1].sum() * round(every / model.dt))
            if best is None or sec < best[0]:
                best = (sec, msteps)
        out.append({"name": f"preset_{name}_trial", "t_end": t_end * max(scale, 0.2), "dt": model.dt,
                    "seconds_per_trial": best[0], "compile_seconds": compile_s,
                    "molecule_steps_per_s": best[1] / best[0],
                    "note": "molecule-steps estimated from the free transmitter sampled every 10 us"})
    pinned = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    try:
        import subprocess
        import tempfile

        trials = 40 if scale >= 1 else 4
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, MPLBACKEND="Agg", CLEFTSIM_NO_PROGRESS="1", CLEFTSIM_DEMO_TRIALS=str(trials))
            t0 = time.perf_counter()
            subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "..", "examples", "ca1_demo.py"),
                            "--out", tmp], check=True, env=env, capture_output=True)
            wall = time.perf_counter() - t0
    finally:
        os.sched_setaffinity(0, pinned)
    out.append({"name": "demo_wall_time", "trials": trials, "cores": os.cpu_count(), "seconds": wall,
                "target_seconds_on_2_cores": 60.0})
    return out


# -- mesh scaling (issue #15) ------------------------------------------------------------------
LATTICE_SPACING = 0.2        # µm between the centres of neighbouring spheres
SPHERE_RADIUS = 0.07         # µm
SPHERE_SUBDIVISIONS = 3      # 1280 triangles per sphere
MESH_SCALING_SPHERES = (1, 2, 4, 9)     # spheres per axis: 1.3e3, 1.0e4, 8.2e4, 9.3e5 triangles


def _peak_rss_bytes() -> int:
    """This process's peak resident set size (bytes): VmHWM where /proc has it (a new process starts
    at 0, while ru_maxrss carries the parent's over a fork), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mesh_scaling_case(k: int, n: int, steps: int) -> dict:
    """One size of :func:`bench_mesh_scaling` (run in a process of its own, so that its peak RSS
    is this case's): k³ spheres, n molecules (rounded down to a multiple of k³)."""
    import warnings

    a = LATTICE_SPACING
    unit = cs.geometry.icosphere(SPHERE_RADIUS, subdivisions=SPHERE_SUBDIVISIONS)
    centres = (np.indices((k, k, k)).reshape(3, -1).T + 0.5) * a - k * a / 2
    spheres = cs.geometry.combine(*(unit.translated(c) for c in centres))
    box = cs.geometry.box(k * a)
    rss_meshes = _peak_rss_bytes()
    per_cell = max(1, n // len(centres))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = cs.Model(dt=DT, seed=11)
        sp = m.add_species("a", D=D_GLU)
        m.add_geometry(box, "box")
        m.add_geometry(spheres, "spheres")
        for c in centres:          # a corner of every lattice cell, clear of its sphere
            m.release(sp, n=per_cell, box=(tuple(c + 0.3 * a), tuple(c + 0.49 * a)))
        compiled = cs.compile(m)
        first = _materialise(cs.Simulation(compiled, seed=cs.trial_seed(11, 0)), sp)
    compile_s = time.perf_counter() - t0
    peak = _peak_rss_bytes()
    sims = iter([first] + [_materialise(cs.Simulation(compiled, seed=cs.trial_seed(11, i)), sp)
                           for i in range(1, REPEATS)])
    sec, ms, n0 = time_advance(lambda: next(sims), steps, warmup=20)
    sim, _ = first
    scene_bytes = sum(v.nbytes for v in compiled.scene_arrays.values() if isinstance(v, np.ndarray))
    mol = sim.volume_molecules
    mol_bytes = sum(getattr(mol, f).nbytes for f in ("pos", "species", "uid", "wall", "clock"))
    n_tri = compiled.scene.n_tri
    return record(f"mesh_scaling_{k}x{k}x{k}", sec, ms, n0, steps, n_triangles=n_tri, spheres=len(centres),
                  compile_seconds=compile_s, peak_rss_bytes=peak, rss_before_compile_bytes=rss_meshes,
                  scene_bytes=scene_bytes, scene_bytes_per_triangle=scene_bytes / n_tri,
                  peak_rss_bytes_per_triangle=peak / n_tri, molecule_bytes_per_molecule=mol_bytes / n0,
                  reflections_per_step=sim.diagnostics["reflections"] / (n0 * (steps + 20)),
                  grid_cells=int(np.prod(compiled.scene_arrays["grid_n"])),
                  ns_per_molecule_step=1e9 * sec / ms)


def bench_mesh_scaling(scale: float) -> list[dict]:
    """Cost of a molecule-step against the total number of triangles, with the same local geometry
    at every size (issue #15): a cubic lattice of k³ closed icospheres (radius 70 nm, 1280
    triangles, 200 nm apart) in a reflecting box whose faces are the lattice's mirror planes (so
    every molecule sees the same infinite lattice), k = 1, 2, 4, 9 (1.3e3 to 9.3e5 triangles).
    Molecules (2·10⁴ in all) start in a corner of every lattice cell, between the spheres.
    Each size runs in a process of its own and reports the wall time from the meshes to a
    runnable Simulation (add_geometry's checks, compile, Simulation; ``compile_seconds``), that
    process's peak RSS, the scene's bytes per triangle and the molecules' bytes per molecule,
    and molecule-steps per second (time_advance: best of 3, 50 steps after 20 of warm-up).
    ``--quick`` leaves out the largest size. The last record compares the throughputs."""
    import multiprocessing

    n, steps = int(20_000 * max(scale, 0.25)), 50
    sizes = MESH_SCALING_SPHERES if scale >= 1 else MESH_SCALING_SPHERES[:-1]
    out = []
    ctx = multiprocessing.get_context("spawn")
    for k in sizes:
        with ctx.Pool(1) as pool:
            out.append(pool.apply(mesh_scaling_case, (k, n, steps)))
    rates = [r["molecule_steps_per_s"] for r in out]
    out.append({"name": "mesh_scaling", "n_triangles": [r["n_triangles"] for r in out],
                "molecule_steps_per_s_by_size": rates, "compile_seconds": [r["compile_seconds"] for r in out],
                "peak_rss_bytes": [r["peak_rss_bytes"] for r in out],
                "throughput_spread": max(rates) / min(rates), "target_spread": 1.5})
    return out


RAT_NMJ = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "mcell", "rat_nmj", "Scene.main.mdl")


def bench_rat_nmj(scale: float) -> list[dict]:
    """MCell's rat NMJ imported from MDL (../shared/mcell; skipped when absent), one 500 µs trial
    at the file's Δt = 1 µs sampled every 1 µs, as MCell runs it: wall and CPU time of the load
    (parse and build), of the compile (scene, tiles, placements) and of the run; the cost of the
    membrane's per-step pass over its surface molecules (a step before the first release, with no
    ACh in the cleft), and of the ACh's steps (the rest, per molecule-step, counted from the free
    ACh sampled every step). Best of 3 trials with different seeds."""
    if not os.path.exists(RAT_NMJ):
        return [{"name": "rat_nmj_trial", "skipped": f"{RAT_NMJ} not found"}]
    from cleftsim import mcell

    clocks = lambda: (time.perf_counter(), time.process_time())
    w0, c0 = clocks()
    model = mcell.load(RAT_NMJ, seed=1)
    w1, c1 = clocks()
    compiled = cs.compile(model)
    w2, c2 = clocks()
    t_end = model.t_end * max(scale, 0.2)
    best = None
    for k in range(REPEATS):
        sim = cs.Simulation(compiled, seed=cs.trial_seed(1, k))
        a0, b0 = clocks()
        res = sim.sample(t_end, progress=False)
        a1, b1 = clocks()
        if best is None or a1 - a0 < best[0]:
            best = (a1 - a0, b1 - b0, float(np.sum(res["ACh.World"][:-1]) + np.sum(res["Ch.World"][:-1])))
    fresh = [cs.Simulation(compiled, seed=1) for _ in range(REPEATS)]
    membrane_s = min(_timed(lambda: sim.advance(1)) for sim in fresh)
    run_s, run_cpu, msteps = best
    n_steps = round(t_end / model.dt)
    return [{"name": "rat_nmj_trial", "t_end": t_end, "dt": model.dt, "triangles": int(compiled.scene.n_tri),
             "surface_molecules": int(sum(p.n for p in model.placements)),
             "load_seconds": w1 - w0, "load_cpu_seconds": c1 - c0, "compile_seconds": w2 - w1,
             "compile_cpu_seconds": c2 - c1, "run_seconds": run_s, "run_cpu_seconds": run_cpu,
             "trial_seconds_with_load": (w2 - w0) + run_s, "trial_cpu_seconds_with_load": (c2 - c0) + run_cpu,
             "membrane_pass_seconds_per_step": membrane_s, "membrane_pass_share": membrane_s * n_steps / run_s,
             "volume_molecule_steps": msteps,
             "ns_per_volume_molecule_step": 1e9 * (run_s - membrane_s * n_steps) / max(msteps, 1.0),
             "mcell_3.5_cpu_seconds_quoted_by_issue": 3.0}]


def bench_threads(scale: float) -> list[dict]:
    """One trial on 1, 2, ... threads up to the cores present (the process unpinned for it): 10⁶
    molecules in the reflecting disc cleft (20 steps, best of 3), and one 5 ms CA1 trial (the
    preset, compiled once, best of 3). The numbers are the same on every thread count; this is
    the speed-up."""
    pinned = os.sched_getaffinity(0)
    cores = list(range(os.cpu_count() or 1))
    os.sched_setaffinity(0, set(cores))
    out = []
    try:
        n, steps = int(1_000_000 * scale), 20
        m, _ = _cleft_model(n, absorbing=False)
        compiled = cs.compile(m)
        ca1 = cs.presets.ca1_synapse(seed=1)
        ca1_compiled = cs.compile(ca1)
        t_end = 5e-3 * max(scale, 0.2)
        base = {}
        for threads in range(1, len(cores) + 1):
            def cleft_steps():
                sim = cs.Simulation(compiled, threads=threads)
                sim.advance(1)                              # the t = 0 releases, out of the timing
                return _timed(lambda: sim.advance(steps))

            best = min(cleft_steps() for _ in range(REPEATS))
            base.setdefault("cleft", best)
            out.append({"name": f"threads_cleft_1e6_t{threads}", "threads": threads, "n_molecules": n,
                        "steps": steps, "seconds": best, "molecule_steps_per_s": n * steps / best,
                        "speedup": base["cleft"] / best})
            best = min(_timed(cs.Simulation(ca1_compiled, seed=cs.trial_seed(1, k), threads=threads).run, t_end)
                       for k in range(REPEATS))
            base.setdefault("ca1", best)
            out.append({"name": f"threads_ca1_trial_t{threads}", "threads": threads, "t_end": t_end,
                        "seconds_per_trial": best, "speedup": base["ca1"] / best})
    finally:
        os.sched_setaffinity(0, pinned)
    return out


BENCHMARKS = {
    "free_diffusion": bench_free,
    "cleft_reflecting": bench_cleft_reflecting,
    "cleft_absorbing_rim": bench_cleft_absorbing,
    "box_1um_D1": lambda s: bench_box(s, 1000.0),
    "box_1um_D0.33": lambda s: bench_box(s, D_GLU),
    "rng_normals": bench_rng,
    "trace_no_hit": bench_trace_no_hit,
    "compile": bench_compile,
    "point_in_object": bench_point_in_object,
    "receptors": bench_receptors,
    "pairs": bench_pairs,
    "ensemble": bench_ensemble,
    "presets": bench_presets,
    "rat_nmj": bench_rat_nmj,
    "threads": bench_threads,
    "mesh_scaling": bench_mesh_scaling,
}


def bench_spillover(scale: float) -> dict:
    """examples/spillover.py at full size (a neuropil block of about 100 synapses, one AP at
    p = 0.3, 3000 glutamate per vesicle, 5 ms at dt = 1 µs; one trial), timed in its three parts:
    building the block, compiling the model, running it. ``--quick``: a block of a tenth of the
    volume for 0.5 ms."""
    import importlib.util
    import warnings

    path = os.path.join(os.path.dirname(__file__), "..", "examples", "spillover.py")
    spec = importlib.util.spec_from_file_location("spillover_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    size, t_end_ms = 3.68 * (scale ** (1 / 3) if scale < 1 else 1.0), (5.0 if scale >= 1 else 0.5)
    t0 = time.perf_counter()
    syn = example.build(size, seed=1)
    t1 = time.perf_counter()
    model = example.model(syn, t_end_ms, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cs.AccuracyWarning)
        compiled = cs.compile(model)
    t2 = time.perf_counter()
    res = cs.Simulation(compiled, seed=1).sample(progress=False)
    t3 = time.perf_counter()
    return {"name": "spillover", "size_um": size, "synapses": syn.n_synapses, "cells": syn.parameters["n_cells"],
            "triangles": syn.mesh.n_triangles, "t_end": t_end_ms * 1e-3, "dt": model.dt,
            "glutamate_released": int(res["glu_released"][-1]), "build_seconds": t1 - t0,
            "compile_seconds": t2 - t1, "run_seconds": t3 - t2, "total_seconds": t3 - t0,
            "target_total_seconds_on_2_cores": 300.0}


BENCHMARKS["spillover"] = bench_spillover


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="about 10x smaller (smoke test)")
    ap.add_argument("--only", nargs="*", choices=list(BENCHMARKS), help="run only these")
    args = ap.parse_args(argv)
    scale = 0.1 if args.quick else 1.0
    emit(machine(pin_one_cpu()))
    results = {}
    for name, fn in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        recs = fn(scale)
        for rec in recs if isinstance(recs, list) else [recs]:
            results[rec["name"]] = rec
            emit(rec)
    # Derived: cost of the parts of a step (ns per molecule-step), when the inputs were run.
    parts = {}
    if "free_diffusion" in results:
        parts["rng_and_update_ns"] = results["free_diffusion"]["ns_per_molecule_step"]
    if "free_diffusion" in results and "trace_no_hit" in results:
        parts["trace_without_hit_ns"] = (results["trace_no_hit"]["ns_per_molecule_step"]
                                         - results["free_diffusion"]["ns_per_molecule_step"])
    if "free_diffusion" in results and "cleft_reflecting" in results:
        parts["trace_with_plate_hits_ns"] = (results["cleft_reflecting"]["ns_per_molecule_step"]
                                             - results["free_diffusion"]["ns_per_molecule_step"])
    if "cleft_reflecting" in results and "cleft_absorbing_rim" in results:
        parts["absorbing_rim_extra_ns"] = (results["cleft_absorbing_rim"]["ns_per_molecule_step"]
                                           - results["cleft_reflecting"]["ns_per_molecule_step"])
    if parts:
        emit({"name": "step_cost_breakdown", **parts,
              "note": "differences of ns per molecule-step between the benchmarks above"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
