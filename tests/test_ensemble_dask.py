"""Ensembles on Dask (cleftsim.run.ensemble): the same EnsembleResult, bit for bit, on a
LocalCluster started here and on a `dask scheduler` with two `dask worker` processes on
127.0.0.1; a worker killed mid-run loses no trial."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import cleftsim as cs

distributed = pytest.importorskip("dask.distributed")


def model():
    m = cs.Model(dt=1e-5, seed=21)
    box = m.add_geometry(cs.geometry.box(1.0), "box")
    m.add_species("A", D=100.0)
    m.add_reaction("A -> 0", 300.0)
    m.release("A", n=5000, inside=box)
    m.count("A")
    return m


RUN = dict(trials=6, t_end=0.01, every=0.002, progress=False)


@pytest.fixture(scope="module")
def serial():
    return cs.run_ensemble(model(), executor="serial", **RUN)


def test_local_cluster_gives_the_serial_result(serial):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        ens = cs.run_ensemble(model(), executor=client, **RUN)
    assert np.array_equal(ens["A"], serial["A"])
    pooled = cs.run_ensemble(model(), **RUN)                 # and the local process pool
    assert np.array_equal(pooled["A"], serial["A"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_workers(address, n, timeout=60):
    with distributed.Client(address, timeout=timeout) as client:
        client.wait_for_workers(n, timeout=timeout)


@pytest.mark.slow
def test_scheduler_and_worker_processes_and_a_killed_worker(serial, tmp_path):
    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0"], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                                           "--no-dashboard"], cwd=tmp_path,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for_workers(address, 2)
        ens = cs.run_ensemble(model(), executor=address, **RUN)          # an address string
        assert np.array_equal(ens["A"], serial["A"])

        # kill one worker while trials run: the scheduler reruns its tasks on the other
        big = dict(RUN, trials=12, t_end=0.03)                          # ~0.3 s a trial, ~2 s on two workers
        whole = cs.run_ensemble(model(), executor="serial", **big)
        killed = []

        def kill_later():
            time.sleep(0.6)
            procs[1].send_signal(signal.SIGKILL)
            killed.append(time.perf_counter())

        with distributed.Client(address) as client:
            killer = threading.Thread(target=kill_later)
            killer.start()
            ens = cs.run_ensemble(model(), executor=client, **big)
            ended = time.perf_counter()
            killer.join()
        assert procs[1].poll() is not None and killed[0] < ended      # the worker died mid-run
        assert np.array_equal(ens["A"], whole["A"])
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
