"""MCell's rat neuromuscular junction (../shared/mcell/rat_nmj, read in place): it loads fast, it
conserves every ACh, and Δt = 1 µs gives the answer of Δt = 0.1 µs.

The full comparison (every count at every sample over 500 µs, larger ensembles, figures) is
validation/rat_nmj.py in ``make validate``; here the first 100 µs, when ACh is released and
binds, are compared with an ensemble at each Δt: for every count at 10 sample times the difference
of the two means must lie within K standard errors of the difference.
"""
import importlib.util
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import cleftsim as cs

ROOT = Path(__file__).resolve().parents[1]
NMJ = ROOT.parent / "shared" / "mcell" / "rat_nmj" / "Scene.main.mdl"
pytestmark = pytest.mark.skipif(not NMJ.exists(), reason=f"MCell's rat NMJ not found at {NMJ}")
K = 4.0                  # per comparison; 14 counts x 10 times are compared
T_COMPARE = 100e-6       # s
TRIALS = 8


def balance(sim):
    spec = importlib.util.spec_from_file_location("rat_nmj", ROOT / "validation" / "rat_nmj.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.ach_balance(sim)


def test_rat_nmj_loads_in_seconds_with_the_file_settings():
    t0 = time.process_time()
    model = cs.mcell.load(NMJ, seed=1)
    cpu = time.process_time() - t0
    print(f"load: {cpu:.2f} s CPU")
    assert cpu < 5.0
    assert model.dt == pytest.approx(1e-6) and model.t_end == pytest.approx(500e-6)
    assert model.every == pytest.approx(1e-6)
    assert sum(o.mesh.n_triangles for o in model.objects) == 54949
    assert len(model.releases) == 303 and sum(r.n for r in model.releases) == 6200
    assert len(model.observables) == 14 and model.observables[0].name == "ACh.World"
    first = min(r.t for r in model.releases)
    assert first == pytest.approx(0.5e-6)                  # between steps: joins at the end of step 0


@pytest.mark.slow
def test_rat_nmj_conserves_every_acetylcholine_at_1_us():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cs.AccuracyWarning)
        sim = cs.mcell.load(NMJ, seed=3).simulation()
    for t_us in (50, 200, 500):
        sim.run(t_us * 1e-6 - sim.time)
        released, accounted = balance(sim)
        print(f"t = {t_us} us: released {released}, accounted for {accounted}")
        assert released == accounted and released > 0


@pytest.mark.slow
def test_rat_nmj_at_1_us_matches_0_1_us():
    ens = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cs.AccuracyWarning)
        warnings.simplefilter("ignore", cs.ModelWarning)          # releases after 100 us do not happen
        for dt, seed in (("1 us", 21), ("0.1 us", 22)):
            model = cs.mcell.load(NMJ, seed=seed, dt=dt)
            ens[dt] = cs.run_ensemble(model, trials=TRIALS, seed=seed, t_end=T_COMPARE, every="10 us",
                                      progress=False)
    worst, lines = 0.0, []
    for name in ens["1 us"].names:
        a, b = (np.asarray(ens[k][name], dtype=float)[:, 1:] for k in ("1 us", "0.1 us"))
        se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
        moving = se > 0
        z = np.abs(a.mean(axis=0) - b.mean(axis=0))[moving] / se[moving]
        if z.size:
            worst = max(worst, z.max())
            lines.append(f"{name:12s} max |z| {z.max():.2f}  means at 100 us {a[:, -1].mean():8.1f} "
                         f"{b[:, -1].mean():8.1f}")
        else:
            assert np.array_equal(a, b), name                # constant counts agree exactly
    print("\n".join(lines))
    assert worst < K, f"largest |z| {worst:.2f}"
