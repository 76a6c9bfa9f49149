"""One trial on several threads (cleftsim._core.step, "Threads"): the same numbers bit for bit on
1, 2, 3 and 4 threads, with every path of the step kernel in play (reflections, absorbing walls
and the Brownian-bridge test, transparent crossings, periodic wraps, binding to receptors and
transporters, mobile surface molecules, released products under the geminate test, first-order
and pair reactions, productions), and on every executor of an ensemble. Each model holds
thousands of molecules, so the parallel phase really runs on the threads asked for (it needs
1024 molecules per thread), and the speculation succeeds for most of them (serial_steps)."""
import multiprocessing

import numpy as np
import pytest

import cleftsim as cs
from cleftsim.engine.threads import split_cores

THREADS = (1, 2, 3, 4)


def synapse():
    """The CA1 preset: AMPA and NMDA receptors on the PSD, transporters on the glia, an absorbing boundary."""
    return cs.presets.ca1_synapse(seed=5), "200 us"


def chemistry():
    """Pair, first-order and zeroth-order reactions in a box, an absorbing sphere, a transparent one."""
    m = cs.Model(dt="1 us", seed=6)
    box = m.add_geometry(cs.geometry.box(1.0), "box")
    sink = m.add_geometry(cs.geometry.icosphere(0.1, 2, center=(0.25, 0.25, 0.25)), "sink")
    glass = m.add_geometry(cs.geometry.icosphere(0.15, 2, center=(-0.25, -0.2, -0.2)), "glass")
    a = m.add_species("A", D="0.3 um^2/ms")
    b = m.add_species("B", D="0.5 um^2/ms")
    m.add_species("C", D="0.1 um^2/ms")
    m.add_reaction("A + B <-> C", ("1e9 /M/s", "2e4 /s"))
    m.add_reaction("0 -> A", "1e-3 mol/(L*s)", inside=box)
    m.set_surface(a, sink, "absorb")
    m.set_surface(b, glass, "transparent")
    m.release(a, n=2500, inside=box)
    m.release(b, n=2500, inside=box)
    for s in ("A", "B", "C"):
        m.count(s)
    m.count_absorbed(a, sink, name="sunk")
    m.count_crossings(b, glass, direction="in", name="b_in")
    return m, "100 us"


def mobile_receptors():
    """Ligand binding mobile surface molecules whose unbinding releases it (geminate test)."""
    m = cs.Model(dt="1 us", seed=7)
    box = m.add_geometry(cs.geometry.box(0.5), "box")
    lig = m.add_species("L", D="0.33 um^2/ms")
    m.add_surface_species("R", D="0.05 um^2/s")
    m.add_surface_species("RL", D="0.05 um^2/s")
    m.add_reaction("L + R <-> RL", ("2e7 /M/s", "5e4 /s"))
    m.place("R", region=box.region("bottom"), n=800)
    m.release(lig, n=4500, inside=box)
    m.count(lig)
    m.count("RL")
    return m, "100 us"


def periodic():
    """A periodic box around a reflecting obstacle."""
    m = cs.Model(dt="1 us", seed=8, periodic_box=(0.4, 0.4, 0.4), box_center=(0, 0, 0))
    m.add_geometry(cs.geometry.icosphere(0.08, 2), "ball")
    a = m.add_species("A", D="1 um^2/ms")
    m.release(a, n=4500, at=(0.15, 0.15, 0.15))
    m.count(a)
    return m, "60 us"


def final_state(sim):
    mol = sim.volume_molecules
    arrays = [np.array(getattr(mol, f)[: mol.n]) for f in ("pos", "species", "uid", "wall", "clock", "rng")]
    if sim.membrane is not None:
        arrays += [np.array(a) for a in sim.membrane.arrays("pos", "tri", "state", "clock")]
    return arrays + [sim.counters.absorbed.copy(), sim.counters.crossed.copy(), sim.events.copy()]


@pytest.mark.parametrize("build", [synapse, chemistry, mobile_receptors, periodic])
def test_every_thread_count_gives_the_same_numbers(build):
    model, t_end = build()
    compiled = cs.compile(model)
    ref = None
    for threads in THREADS:
        sim = cs.Simulation(compiled, seed=11, threads=threads)
        res = sim.sample(t_end, "10 us", progress=False)
        got = ([np.asarray(res[k]) for k in res.names], res.diagnostics, final_state(sim))
        if ref is None:
            ref = got
            d = res.diagnostics
            steps = sum(np.asarray(res[res.names[0]])) * 10     # about: every molecule, every step
            assert d["serial_steps"] < 0.5 * steps, "the speculation should succeed for most molecules"
            continue
        for a, b in zip(got[0], ref[0]):
            np.testing.assert_array_equal(a, b)
        assert got[1] == ref[1]
        for a, b in zip(got[2], ref[2]):
            np.testing.assert_array_equal(a, b)


def test_the_paths_are_exercised():
    """The models above meet what they are meant to test (else their invariance proves little)."""
    res = {}
    for build in (synapse, chemistry, mobile_receptors, periodic):
        model, t_end = build()
        sim = cs.Simulation(cs.compile(model), seed=11, threads=2)
        sim.run(t_end)
        res[build.__name__] = sim
    d = res["synapse"].diagnostics
    assert d["serial_steps"] > 0 and d["surface_events"] > 0 and res["synapse"].counters.absorbed.sum() > 0
    assert res["chemistry"].counters.crossed.sum() > 0 and res["chemistry"].events.min() > 0
    assert res["chemistry"].diagnostics["bridge_absorptions"] > 0
    assert res["mobile_receptors"].diagnostics["lateral_edge_crossings"] >= 0
    assert res["mobile_receptors"].events.min() > 0
    assert res["periodic"].diagnostics["periodic_wraps"] > 0 and res["periodic"].diagnostics["reflections"] > 0


def test_threads_do_not_change_an_ensemble_on_any_executor():
    model, _ = chemistry()
    run = dict(trials=3, t_end="30 us", every="10 us", progress=False)
    one = cs.run_ensemble(model, executor="serial", threads=1, **run)
    for kw in (dict(executor="serial", threads=3), dict(threads=2), dict()):
        other = cs.run_ensemble(model, **kw, **run)
        for name in one.names:
            np.testing.assert_array_equal(other[name], one[name])


def _forked_trial(queue):
    model, _ = chemistry()
    res = model.run("20 us", "10 us", progress=False, threads=2)
    queue.put(np.asarray(res["A"]))


def test_a_forked_child_of_a_threaded_process_runs():
    """OpenMP cannot start threads in a child forked after the parent's threads ran: the child
    runs one thread instead of hanging, with the same numbers."""
    model, _ = chemistry()
    ref = np.asarray(model.run("20 us", "10 us", progress=False, threads=2)["A"])
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_forked_trial, args=(queue,))
    child.start()
    got = queue.get(timeout=120)
    child.join(timeout=30)
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("trials, threads, cores, expect", [
    (10, None, 8, (8, 1)), (2, None, 8, (2, 4)), (1, None, 2, (1, 2)), (3, None, 8, (3, 2)),
    (10, 2, 8, (4, 2)), (1, 4, 2, (1, 4)), (5, 1, 2, (2, 1)),
])
def test_the_split_of_cores_between_processes_and_threads(trials, threads, cores, expect):
    assert split_cores(trials, threads, cores) == expect


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two"])
def test_bad_thread_counts_are_refused(bad):
    model, _ = periodic()
    with pytest.raises(cs.ModelError, match="threads must be a positive integer"):
        cs.Simulation(model, threads=bad)
    with pytest.raises(cs.ModelError, match="threads must be a positive integer"):
        cs.run_ensemble(model, trials=1, threads=bad, progress=False)
