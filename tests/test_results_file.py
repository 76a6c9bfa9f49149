"""Results files (cleftsim.results.store): written trial by trial, read back by cs.load, resumable after
SIGTERM or SIGKILL with the same final result as an uninterrupted run; another model refused."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

import cleftsim as cs

MODEL = textwrap.dedent('''
    import cleftsim as cs

    def model():
        m = cs.Model(dt=1e-5, seed=11)
        box = m.add_geometry(cs.geometry.box(1.0), "box")
        m.add_species("A", D=100.0)
        m.add_reaction("A -> 0", 300.0)
        m.release("A", n=20000, inside=box)
        m.count("A")
        return m
''')
RUN = "import sys; from model_def import model; import cleftsim as cs\n" \
      "cs.run_ensemble(model(), trials=8, t_end=0.02, every=0.002, executor='serial', out=sys.argv[1], progress=False)\n"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    (tmp_path / "model_def.py").write_text(MODEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def model():
    from model_def import model as make
    return make()


def test_round_trip_and_the_same_as_in_memory(workdir):
    path = workdir / "ens.h5"
    mem = cs.run_ensemble(model(), trials=3, t_end=0.004, every=0.002, executor="serial", progress=False)
    filed = cs.run_ensemble(model(), trials=3, t_end=0.004, every=0.002, executor="serial", out=path,
                            progress=False)
    back = cs.load(path)
    for ens in (filed, back):
        assert np.array_equal(ens["A"], mem["A"]) and np.array_equal(ens.times, mem.times)
        assert np.array_equal(ens.trials, [0, 1, 2]) and ens.seed == 11
    assert back.metadata["model"] == model().describe() and back.metadata["version"] == cs.__version__


@pytest.mark.slow
def test_a_changed_model_settings_or_seed_is_refused_and_more_trials_are_added(workdir):
    path = workdir / "ens.h5"
    cs.run_ensemble(model(), trials=2, t_end=0.004, every=0.002, executor="serial", out=path, progress=False)
    other = model()
    other.add_species("B", D=1.0)
    with pytest.raises(cs.ResultsFileError, match="different model.*another file name or delete it"):
        cs.run_ensemble(other, trials=2, t_end=0.004, every=0.002, executor="serial", out=path, progress=False)
    with pytest.raises(cs.ResultsFileError, match="other settings"):
        cs.run_ensemble(model(), trials=2, t_end=0.006, every=0.002, executor="serial", out=path, progress=False)
    with pytest.raises(cs.ResultsFileError, match="seed 11, not 12"):
        cs.run_ensemble(model(), trials=2, t_end=0.004, every=0.002, seed=12, executor="serial", out=path,
                        progress=False)
    # more trials than the file holds: the file is enlarged and only the new trial runs
    grown = cs.run_ensemble(model(), trials=3, t_end=0.004, every=0.002, executor="serial", out=path, progress=False)
    whole = cs.run_ensemble(model(), trials=3, t_end=0.004, every=0.002, executor="serial", progress=False)
    assert np.array_equal(grown["A"], whole["A"]) and np.array_equal(cs.load(path).trials, [0, 1, 2])
    with pytest.raises(cs.ResultsFileError, match="holds 3 trials, more than the 2 asked for; ask for trials=3"):
        cs.run_ensemble(model(), trials=2, t_end=0.004, every=0.002, executor="serial", out=path, progress=False)


def test_without_a_seed_the_drawn_one_is_kept_exactly_and_reused_on_resume(tmp_path):
    """No seed anywhere: the fresh 128-bit entropy is stored losslessly, and the same call again
    (with more trials) resumes the file with it instead of drawing another."""
    def unseeded():
        m = cs.Model(dt=1e-5)
        box = m.add_geometry(cs.geometry.box(1.0), "box")
        m.add_species("A", D=100.0)
        m.release("A", n=200, inside=box)
        m.count("A")
        return m

    path = tmp_path / "unseeded.h5"
    first = cs.run_ensemble(unseeded(), trials=2, t_end=0.002, every=0.001, executor="serial", out=path,
                            progress=False)
    assert first.seed >= 2**64 or first.seed.bit_length() > 32          # a SeedSequence entropy, not truncated
    assert cs.load(path).seed == first.seed
    again = cs.run_ensemble(unseeded(), trials=3, t_end=0.002, every=0.002 / 2, executor="serial", out=path,
                            progress=False)
    assert again.seed == first.seed and np.array_equal(again["A"][:2], first["A"])
    alone = cs.Simulation(unseeded(), seed=cs.trial_seed(first.seed, 2)).sample(0.002, 0.001, progress=False)
    assert np.array_equal(again["A"][2], alone["A"])


def test_a_file_is_made_complete_or_not_at_all(workdir, monkeypatch):
    """A failure while the file is being made leaves nothing at the path (and no temporary file),
    so the next run starts cleanly; an existing half-made file is refused with the fix."""
    import h5py

    path = workdir / "ens.h5"
    real = h5py.h5d.create

    def failing(parent, name, *args, **kwargs):
        if name == b"A":
            raise OSError("disk full (simulated)")
        return real(parent, name, *args, **kwargs)

    monkeypatch.setattr(h5py.h5d, "create", failing)
    with pytest.raises(OSError, match="disk full"):
        cs.run_ensemble(model(), trials=2, t_end=0.004, every=0.002, executor="serial", out=path, progress=False)
    assert list(workdir.glob("*.h5*")) == [] and list(workdir.glob(".*")) == []
    monkeypatch.setattr(h5py.h5d, "create", real)
    ens = cs.run_ensemble(model(), trials=2, t_end=0.004, every=0.002, executor="serial", out=path, progress=False)
    assert len(ens) == 2
    half = workdir / "half.h5"
    with h5py.File(half, "w") as h5:                   # what an interrupted older version could leave
        h5.attrs["format"] = "cleftsim-ensemble-1"
    with pytest.raises(cs.ResultsFileError, match="incomplete.*delete it"):
        cs.run_ensemble(model(), trials=2, t_end=0.004, every=0.002, executor="serial", out=half, progress=False)


def test_unusable_paths_are_refused_before_any_work(workdir):
    kw = dict(trials=1, t_end=0.004, every=0.002, executor="serial", progress=False)
    with pytest.raises(cs.ResultsFileError, match="folder .*missing.* does not exist; create it"):
        cs.run_ensemble(model(), out=workdir / "missing" / "ens.h5", **kw)
    with pytest.raises(cs.ResultsFileError, match="is a folder; give a file name in it"):
        cs.run_ensemble(model(), out=workdir, **kw)
    text = workdir / "notes.txt"
    text.write_text("my notes")
    with pytest.raises(cs.ResultsFileError, match="exists and is not an HDF5 results file"):
        cs.run_ensemble(model(), out=text, **kw)
    assert text.read_text() == "my notes"
    with pytest.raises(FileNotFoundError, match="no results file 'nothing.h5'"):
        cs.load("nothing.h5")
    with pytest.raises(cs.ResultsFileError, match="not an HDF5 file"):
        cs.load(text)
    with pytest.raises(cs.ResultsFileError, match="is a folder"):
        cs.load(workdir)


def done_count(path):
    try:
        with h5py.File(path, "r", locking=False) as h5:
            return int(h5["done"][()].sum())
    except (OSError, KeyError):
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_run_resumes_to_the_uninterrupted_result(workdir, sig):
    path = workdir / f"killed_{int(sig)}.h5"
    env = dict(os.environ, PYTHONPATH=str(workdir) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               HDF5_USE_FILE_LOCKING="FALSE")
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(path)], env=env, cwd=workdir)
    deadline = time.time() + 120
    while done_count(path) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    partial = cs.load(path)
    assert 2 <= len(partial) < 8, len(partial)            # killed part-way, the finished trials readable
    resumed = cs.run_ensemble(model(), trials=8, t_end=0.02, every=0.002, executor="serial", out=path,
                              progress=False)
    whole = cs.run_ensemble(model(), trials=8, t_end=0.02, every=0.002, executor="serial", progress=False)
    assert np.array_equal(resumed["A"], whole["A"]) and np.array_equal(resumed.trials, np.arange(8))
    assert np.array_equal(partial["A"], whole["A"][partial.trials])


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["serial", None])
def test_ctrl_c_keeps_the_finished_trials(workdir, executor):
    """Ctrl-C in the middle, as a terminal sends it (SIGINT to the whole process group, the pool's
    workers included), with HDF5 file locking on: EnsembleInterrupted carries every finished
    trial, read back from the file."""
    path = workdir / "interrupted.h5"
    # a shell that starts jobs in the background ignores SIGINT for them: restore Python's handler
    script = ("import signal, sys; from model_def import model; import cleftsim as cs\n"
              "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
              "try:\n"
              f"    cs.run_ensemble(model(), trials=40, t_end=0.02, every=0.002, executor={executor!r}, out=sys.argv[1],"
              " progress=False)\n"
              "except cs.EnsembleInterrupted as exc:\n"
              "    print('finished', len(exc.result), list(exc.result.trials))\n")
    env = dict(os.environ, PYTHONPATH=str(workdir) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("HDF5_USE_FILE_LOCKING", None)
    proc = subprocess.Popen([sys.executable, "-c", script, str(path)], env=env, cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while done_count(path) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    words = out.split() or ["(nothing printed: the run was not interrupted)"]
    assert words[0] == "finished" and 2 <= int(words[1]) < 40, out + err
    assert int(words[1]) == len(cs.load(path))


@pytest.mark.slow
def test_trials_stream_to_the_file_not_to_memory(tmp_path, monkeypatch):
    """Trials of a 500-point series (4 kB each) with out=: the run's peak of traced memory does
    not grow with the number of trials (each trial is written and dropped): 120 trials against
    20, the growth must stay below a tenth of the 400 kB of extra values. The final read-back is
    replaced so that only the run is measured."""
    import tracemalloc

    import cleftsim.results.store

    m = cs.Model(dt=1e-6, seed=2)
    box = m.add_geometry(cs.geometry.box(1.0), "box")
    m.add_species("A", D=330.0)
    m.release("A", n=5, inside=box)
    m.count("A")
    monkeypatch.setattr(cleftsim.results.store, "load", lambda path: None)
    peaks = {}
    for trials in (20, 120):
        tracemalloc.start()
        try:
            cs.run_ensemble(m, trials=trials, t_end=499e-6, every=1e-6, executor="serial",
                            out=tmp_path / f"big{trials}.h5", progress=False)
            peaks[trials] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peaks[120] - peaks[20] < 0.1 * 100 * 500 * 8, peaks
    with h5py.File(tmp_path / "big120.h5", "r") as h5:
        assert h5["done"][()].all() and h5["data"]["A"].shape == (120, 500)
