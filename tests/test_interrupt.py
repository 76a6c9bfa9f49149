"""Ctrl-C during a run keeps every sample taken before it."""
import numpy as np
import pytest

import cleftsim as cs
from cleftsim.engine.simulation import Simulation


def _model():
    m = cs.Model(dt="1 us", seed=3)
    a = m.add_species("a", D=100.0)
    m.add_geometry(cs.geometry.box(size=1.0), name="box")
    m.release(a, n=200, at=(0, 0, 0))
    m.count(a, name="n")
    return m


def test_interrupt_keeps_finished_samples(monkeypatch):
    full = _model().run(t_end="20 us", every="2 us")
    calls = {"n": 0}
    original = Simulation._advance

    def advance(self, n_steps, tick):
        calls["n"] += 1
        if calls["n"] == 6:          # the 6th sample's advance is interrupted
            raise KeyboardInterrupt
        return original(self, n_steps, tick)

    monkeypatch.setattr(Simulation, "_advance", advance)
    with pytest.raises(cs.SimulationInterrupted) as info:
        _model().run(t_end="20 us", every="2 us")
    part = info.value.result
    assert isinstance(info.value, KeyboardInterrupt)
    assert len(part.times) == 5
    np.testing.assert_array_equal(part.times, full.times[:5])
    np.testing.assert_array_equal(part["n"], full["n"][:5])
    assert "5 samples" in repr(part)
