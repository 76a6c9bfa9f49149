"""`make bench` keeps running: every benchmark at a tenth of its size (a smoke test, not a timing)
prints JSON lines with the fields benchmarks/run.py documents."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_every_benchmark_runs_at_a_tenth_of_its_size():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"], capture_output=True,
                          text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert records[0]["name"] == "machine"
    throughput = [r for r in records if "molecule_steps_per_s" in r]
    assert throughput and all(r["molecule_steps_per_s"] > 0 for r in throughput)
    assert any(r["name"] == "rat_nmj_trial" for r in records)
