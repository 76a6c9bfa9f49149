"""AccuracyWarning for time steps too long for the geometry or the binding (cleftsim.compiler.time_step):
raised when the model is compiled, naming a Δt at which the check passes; silent at the presets'
defaults. The thresholds are measured (docs/algorithms.md, "Choosing the time step")."""
import re
import warnings

import pytest

import cleftsim as cs
from cleftsim.compiler import time_step as accuracy


def compile_warnings(model) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.simulation()
    return [str(w.message) for w in caught if issubclass(w.category, cs.AccuracyWarning)]


def suggested_dt(message: str) -> str:
    return re.search(r"use dt <= ([0-9.e+-]+ [mun]?s)", message).group(1)


@pytest.mark.slow
def test_the_presets_defaults_do_not_warn():
    assert compile_warnings(cs.presets.ca1_synapse()) == []
    assert compile_warnings(cs.presets.neuromuscular_junction()) == []
    assert compile_warnings(cs.presets.gabaergic_synapse()) == []


@pytest.mark.slow
def test_a_long_step_out_of_a_narrow_cleft_warns_and_names_a_step_that_does_not():
    """CA1 at 20 µs: the gap check (q = 1.6) fires; the Δt it names passes every check. (At 50 µs,
    where the peak of open AMPA was 18.4 against 12.9 at 0.25 µs, the AMPA binding is refused: the
    PSD's smallest triangles make tiles of 22.5 nm², whose per-hit probability would exceed 1.)"""
    messages = compile_warnings(cs.presets.ca1_synapse(dt="20 us"))
    gap = [m for m in messages if "gap of 20 nm" in m]
    assert len(gap) == 1 and "opens 260 nm away" in gap[0] and "q = sigma/sqrt(h R) = 1.6" in gap[0]
    better = suggested_dt(gap[0])
    assert cs.units.time(better) == pytest.approx(0.2e-6)
    assert compile_warnings(cs.presets.ca1_synapse(dt=better.replace(" ", ""))) == []
    assert compile_warnings(cs.presets.ca1_synapse(dt="2 us"))                  # q = 0.50: about 8 %
    with pytest.raises(cs.ModelError, match=r"binding of 'glu' to 'AMPA_C.*tiles of 22.5 nm\^2.*use dt <= 2.392e-05 s; no tile density helps"):
        cs.presets.ca1_synapse(dt="50 us").simulation()


def test_a_narrower_cleft_at_the_default_step_warns():
    messages = compile_warnings(cs.presets.ca1_synapse(height="15 nm"))
    assert len(messages) == 1 and "gap of 15 nm" in messages[0]


def test_steps_longer_than_the_whole_space_warn():
    m = cs.Model(dt=1)                                  # 1 s: D in µm²/s makes sigma 25.7 µm
    m.add_geometry(cs.geometry.box(1.0), "box")
    m.add_species("g", D=330)
    m.release("g", 10, at=(0, 0, 0))
    (message,) = compile_warnings(m)
    assert "longer than the whole space it starts in (1 um across)" in message
    assert cs.units.time(suggested_dt(message)) <= (1 / 4) ** 2 / (2 * 330)


def test_an_absorbing_wall_close_to_the_start_warns():
    def model(dt):
        m = cs.Model(dt=dt)
        cyl = m.add_geometry(cs.geometry.cylinder(radius="200 nm", height="20 nm", segments=64), "cleft")
        g = m.add_species("g", D="0.33 um^2/ms")
        m.set_surface(g, cyl.region("side"), "absorb")
        m.release(g, 10, at=(0.15, 0, 0))                  # 50 nm from the absorbing side
        return m

    messages = compile_warnings(model("10 us"))            # sigma 81 nm > 0.4 * 50 nm
    wall = [m for m in messages if "absorbing surface" in m]
    assert len(wall) == 1 and "nm from where g starts" in wall[0]
    assert not [m for m in compile_warnings(model(suggested_dt(wall[0]))) if "absorbing surface" in m]
    assert compile_warnings(model("0.5 us")) == []         # sigma 18 nm < 20 nm


def test_steps_to_suggest_are_round_numbers():
    assert accuracy.nice_below(0.47e-6) == pytest.approx(0.2e-6)
    assert accuracy.nice_below(1e-6) == pytest.approx(1e-6)
    assert accuracy.nice_below(7.3e-5) == pytest.approx(5e-5)
