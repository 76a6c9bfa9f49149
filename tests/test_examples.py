"""The example scripts run as shipped and print physically right numbers."""
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cleftsim as cs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
T_EXACT_US = 30.303          # R²/(4D) for R = 200 nm, D = 0.33 µm²/ms


def run_script(path: Path, *args: str, timeout: float = 120) -> str:
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)
    assert proc.returncode == 0, f"{path.name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def number_after(label: str, text: str) -> float:
    m = re.search(re.escape(label) + r"\s*([-+0-9.eE]+)", text)
    assert m, f"{label!r} not found in output:\n{text}"
    return float(m.group(1))


def test_api_issue2_contract():
    out = run_script(EXAMPLES / "quickstart.py")
    # Mean escape time from the centre, 20000 molecules: the escape time has standard deviation
    # R²/(√32 D) = 0.707 T, so the SE of the mean is 0.707·30.3/√20000 = 0.15 µs (0.5 %); the
    # issue asks for 2 % (4 SE), which also bounds the remaining time-step bias at Δt = 1 µs.
    T = number_after("mean escape time (us):", out)
    assert abs(T - T_EXACT_US) < 0.02 * T_EXACT_US
    # MSD/6Dt of 100000 free molecules: Var(r²)/⟨r²⟩² = 2/3 for a 3D Gaussian, so
    # SE = sqrt(2/(3n)) = 0.0026; allow 5 SE.
    ratio = number_after("MSD / 6Dt:", out)
    assert abs(ratio - 1) < 5 * math.sqrt(2 / (3 * 100_000))


@pytest.mark.slow
def test_disc_cleft_escape_small(tmp_path):
    n = 500
    out = run_script(EXAMPLES / "disc_cleft_escape.py", "--molecules", str(n), "--out", str(tmp_path))
    for ext, magic in (("png", b"\x89PNG"), ("pdf", b"%PDF")):
        f = tmp_path / f"disc_cleft_escape.{ext}"
        assert f.is_file() and f.stat().st_size > 1000
        assert f.read_bytes()[:4] == magic
    # table row at t = 20 µs: S sim, ±, S exact; the exact S(20 µs) is 0.610 (docs/reference.md §1.3)
    row = re.search(r"^\s*20\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s*\|", out, re.M)
    assert row, out
    s_sim, se, s_exact = map(float, row.groups())
    assert s_exact == pytest.approx(0.610, abs=5e-4)
    # binomial SE sqrt(S(1-S)/n) = 0.022 for n = 500; allow 5 SE
    assert se == pytest.approx(math.sqrt(0.61 * 0.39 / n), abs=1e-3)
    assert abs(s_sim - s_exact) < 5 * se
    # mean escape time: SE = 0.707·30.3/√500 = 0.96 µs; allow 5 SE
    T = number_after("mean escape time:", out)
    assert abs(T - T_EXACT_US) < 5 * 0.707 * T_EXACT_US / math.sqrt(n)


@pytest.mark.slow
def test_api_issue3_contract():
    """examples/ampa_open_probability.py, the issue's script, runs unchanged and prints the right physics."""
    from cleftsim import schemes, waveforms

    out = run_script(EXAMPLES / "ampa_open_probability.py", timeout=300).split()
    po_max, t_max, sl_mean = float(out[0]), float(out[1]), float(out[2])
    # 2000 receptors: binomial SE of P_open near its peak sqrt(p(1-p)/n) = 0.011; allow 5 SE
    t = np.arange(0, 5e-3 + 1e-9, 10e-6)
    po = schemes.well_mixed(schemes.ampa_jonas1993(), {"glu": waveforms.pulse(1e-3, 0, 1e-3)}, t)["O"]
    se = math.sqrt(po.max() * (1 - po.max()) / 2000)
    assert po.max() == pytest.approx(0.595, abs=5e-4)
    assert abs(po_max - po.max()) < 5 * se
    # the noisy maximum lies where the exact curve is within 2 x 5 SE of its peak
    assert np.interp(t_max, t, po) > po.max() - 10 * se
    # L + S <-> SL in 1 µm³, 5000 + 5000 molecules, K_D = (100/1e7) M = 6022 molecules: x- of
    # docs/reference.md §1.4. Equilibrium SD ≈ (1/x + 1/(L0-x) + 1/(S0-x))^(-1/2); relaxation time
    # 1/γ with γ = kf (x+ - x-); SE of a 50 ms time average = SD·sqrt(2/(γ·T)); allow 5 SE.
    kd = 100 / 1e7 * 6.02214076e23 * 1e-15
    b = 10000 + kd
    root = math.sqrt(b * b - 4 * 5000 * 5000)
    x = (b - root) / 2
    gamma = 1e7 / (6.02214076e23 * 1e-15) * root
    sd = (1 / x + 2 / (5000 - x)) ** -0.5
    assert abs(sl_mean - x) < 5 * sd * math.sqrt(2 / (gamma * 0.05))


@pytest.mark.slow
def test_ampa_clamp_small(tmp_path):
    n = 2000
    out = run_script(EXAMPLES / "ampa_clamp.py", "--receptors", str(n), "--out", str(tmp_path))
    for ext, magic in (("png", b"\x89PNG"), ("pdf", b"%PDF")):
        f = tmp_path / f"ampa_clamp.{ext}"
        assert f.is_file() and f.stat().st_size > 1000 and f.read_bytes()[:4] == magic
    for label, peak in (("1 mM x 1 ms pulse", 0.595), ("1 mM step", 0.610)):
        row = re.search(re.escape(label) + r"\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+\|\s+([0-9.]+)", out)
        assert row, out
        sim, se, _, ode = map(float, row.groups())
        assert ode == pytest.approx(peak, abs=6e-4)
        # binomial SE of the simulated peak; allow 5 SE (the noisy maximum is biased up by < 2 SE)
        assert se == pytest.approx(math.sqrt(sim * (1 - sim) / n), abs=1e-4)
        assert abs(sim - ode) < 5 * se


@pytest.mark.slow
def test_api_issue4_contract():
    """examples/michaelis_menten.py, the issue's script, runs unchanged; P(10 s) against the ODE of
    the same scheme (E + S <-> ES, ES -> E + P) in molecule units (V = 8 µm³: k_f = 0.01/8 per
    pair per s, k_r = k_cat = 1/s, E0 = 800, S0 = 8000).

    One run of one seed, so the tolerance is 5 SD of P(10 s) from the linear-noise approximation
    of this scheme (tests/test_volume_michaelis.py: SD = 52.6, checked against 300 Gillespie runs,
    51.1 ± 2), plus the O(1) difference between the master-equation mean and the ODE (|δ| = 0.006).
    Known discretisation biases at dt = 1 ms (σ_b = 13.4 nm near the box walls, one step of delay
    per enzyme cycle) each move P by less than 0.2 SD."""
    from test_volume_michaelis import michaelis_menten_lna  # pytest (prepend mode) puts tests/ on sys.path

    p_sim = float(run_script(EXAMPLES / "michaelis_menten.py", timeout=300).split()[-1])
    p_ode, sd, delta = michaelis_menten_lna(800, 8000, 0.01 / 8.0, 1.0, 1.0, [0.0, 10.0])
    assert sd[-1] == pytest.approx(52.6, abs=0.1)
    assert abs(p_sim - p_ode[-1]) < 5 * sd[-1] + abs(delta[-1]), (p_sim, p_ode[-1], sd[-1])


@pytest.mark.slow
def test_ca1_demo_small(tmp_path):
    env_trials = "4"
    out = subprocess.run([sys.executable, str(EXAMPLES / "ca1_demo.py"), "--trials", env_trials, "--t-end", "1",
                          "--serial", "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, MPLBACKEND="Agg", CLEFTSIM_NO_PROGRESS="1"), timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "open AMPA receptors: peak" in text and "EPSC amplitude" in text
    for t_ms in ("0.1", "0.5", "1.0"):
        assert f"t = {t_ms} ms" in text
    assert number_after("EPSC amplitude:", text) < 0                    # inward
    for stem in ("ca1_geometry", "ca1_response", "ca1_concentration"):
        for ext in ("png", "pdf", "svg"):
            f = tmp_path / f"{stem}.{ext}"
            assert f.is_file() and f.stat().st_size > 1000
    ens = cs.load(tmp_path / "ca1.h5")
    assert len(ens) == 4 and "AMPA_open" in ens.names and len(ens.releases) == 4


RAT_NMJ = ROOT.parent / "shared" / "mcell" / "rat_nmj" / "Scene.main.mdl"


@pytest.mark.slow
@pytest.mark.skipif(not RAT_NMJ.exists(), reason=f"MCell's rat NMJ not found at {RAT_NMJ}")
def test_api_issue13_contract():
    """examples/mcell_rat_nmj.py, the issue's script, runs unchanged from the project root: it loads
    MCell's rat NMJ, runs 8 trials and one more run, and writes MCell's .dat files (removed here)."""
    import shutil

    written = ROOT / "react_data" / "seed_00001"
    fresh = not written.parent.exists()
    try:
        out = run_script(EXAMPLES / "mcell_rat_nmj.py", timeout=900)
        peak, at = number_after("peak free ACh", out), number_after("at", out.split("peak free ACh")[1])
        opened = number_after("open AChR at 500 us", out)
        assert 0 < peak <= 6200 and 0 < at < 500 and 0 <= opened <= 40000
        files = sorted(p.name for p in written.glob("*.dat"))
        assert len(files) == 14 and "ACh.World.dat" in files
        rows = np.loadtxt(written / "AChR4.World.dat")
        assert rows.shape == (501, 2) and rows[-1, 0] == pytest.approx(500e-6)
    finally:
        shutil.rmtree(written.parent if fresh else written, ignore_errors=True)
