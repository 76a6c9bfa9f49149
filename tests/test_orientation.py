"""Orientation of volume–surface reactions: ``side=`` and ``product_side=`` of Model.add_reaction.

Sites sit on the floor of a box (z = −h/2, its normal points down, out of the box). A site placed
``facing="inside"`` faces the box's interior; ``side="back"`` makes it bind ligand from the other
side, ``"both"`` from either. Its volume products appear on the side it faces, the other
(``product_side="back"``) or a random one. Each check compares a simulated number with an exact
value within K standard errors of the estimate (units as in tests/test_binding.py).
"""
import math

import numpy as np
import pytest
from helpers import L_PER_UM3, N_A, check

import cleftsim as cs
from cleftsim.errors import ModelError

INNER, OUTER = (0.4, 0.4, 0.04), (0.5, 0.5, 0.3)


def nested(seed, dt="1 us"):
    m = cs.Model(dt=dt, seed=seed)
    box = m.add_geometry(cs.geometry.box(size=INNER), name="box")
    outer = m.add_geometry(cs.geometry.box(size=OUTER), name="outer")
    return m, box, outer


# Reaction-limited capture L + T -> T by N_T = 400 sites (k_on = 3e6 M⁻¹s⁻¹, D = 300 µm²/s): the
# events form a counting process of intensity k·N_T·(N_in/V_in + N_out/V_out)/N_A over the
# sides the sites bind from, with the counts N_in (in the box) and N_out (outside it) recorded
# every 10 µs; k̂ = events/(N_T/N_A·∫Σ N/V dt), SE k̂/√events. (Reaction limited: κ = 4.6 µm/s,
# κh/D < 1e-3, so the layers next to the floor are not depleted.)
KON, N_T, D = 3e6, 400, 300.0


def capture(side, facing, seed):
    m, box, outer = nested(seed)
    lig = m.add_species("L", D=D)
    m.add_surface_species("T")
    m.add_reaction("L + T -> T", KON, side=side)
    m.place("T", region=box.region("bottom"), n=N_T, facing=facing)
    m.release(lig, n=6000, inside=box)
    m.release(lig, n=6000, box=((-0.25, -0.25, -0.15), (0.25, 0.25, -0.021)))
    m.count(lig, name="L")
    m.count(lig, inside=box, name="L_in")
    res = m.run(t_end="2 ms", every="10 us", progress=False)
    n_in = res["L_in"].astype(float)
    n_out = res["L"].astype(float) - n_in
    v_in = np.prod(INNER) * L_PER_UM3
    v_out = (np.prod(OUTER) - np.prod(INNER)) * L_PER_UM3
    events = res["L"][0] - res["L"][-1]
    return events, n_in, n_out, v_in, v_out, res.times


@pytest.mark.slow
@pytest.mark.parametrize("side, facing, sides", [("back", "outside", ("in",)), ("back", "inside", ("out",)),
                                                  ("both", "inside", ("in", "out"))])
def test_binding_side_rate(side, facing, sides):
    """Outside-facing sites with side='back' bind the ligand inside the box (and never the one
    outside), inside-facing ones the ligand outside; with 'both' every ligand binds."""
    events, n_in, n_out, v_in, v_out, t = capture(side, facing, 71)
    conc = sum({"in": n_in / v_in, "out": n_out / v_out}[s] for s in sides)
    k_hat = events / (N_T / N_A * np.trapezoid(conc, t))
    check(k_hat, KON, k_hat / math.sqrt(events), f"k_on with side={side!r}, sites facing {facing}")
    # the walls reflect, so a population changes only by binding: the other side's never does
    assert len(sides) == 2 or np.all({"in": n_out, "out": n_in}[sides[0]] == 6000)


def test_binding_facing_default_ignores_back():
    """Without side=, inside-facing sites never bind the ligand released outside the box only."""
    m, box, outer = nested(72)
    lig = m.add_species("L", D=D)
    m.add_surface_species("T")
    m.add_reaction("L + T -> T", 5e7)
    m.place("T", region=box.region("bottom"), n=N_T, facing="inside")
    m.release(lig, n=3000, box=((-0.25, -0.25, -0.15), (0.25, 0.25, -0.021)))
    m.count(lig, name="L")
    res = m.run(t_end="0.5 ms", every="0.1 ms", progress=False)
    assert np.all(res["L"] == 3000)


# Products: N = 300 sites S -> S + P at 2e4 s⁻¹ for 0.1 ms: ≈ 600 P, each on its side of the floor
# (reflecting walls keep it there). Fraction inside the box: 1 (facing), 0 (back), 1/2 (random),
# binomial SE √(p(1 − p)/n).
@pytest.mark.parametrize("product_side, expect", [("facing", 1.0), ("back", 0.0), ("random", 0.5)])
def test_product_side_fractions(product_side, expect):
    m, box, outer = nested(73)
    p = m.add_species("P", D=D)
    m.add_surface_species("S")
    m.add_reaction("S -> S + P", 2e4, product_side=product_side)
    m.place("S", region=box.region("bottom"), n=300, facing="inside")
    m.count(p, name="P")
    m.count(p, inside=box, name="P_in")
    res = m.run(t_end="0.1 ms", every="0.1 ms", progress=False)
    n, n_in = int(res["P"][-1]), int(res["P_in"][-1])
    assert n > 400
    if expect in (0.0, 1.0):
        assert n_in == expect * n, (n_in, n)
    else:
        check(n_in / n, expect, math.sqrt(expect * (1 - expect) / n), "fraction of P on the facing side (random)")


def test_product_side_per_product_and_reverse_direction():
    """A tuple gives one side per volume product; for '<->', side applies to the binding and
    product_side to the unbinding."""
    m, box, outer = nested(74)
    a, b = m.add_species("A", D=D), m.add_species("B", D=D)
    m.add_surface_species("S")
    m.add_reaction("S -> S + A + B", 2e4, product_side=("facing", "back"))
    m.place("S", region=box.region("bottom"), n=200, facing="inside")
    m.count(a, inside=box, name="A_in")
    m.count(b, inside=box, name="B_in")
    m.count(a, name="A")
    m.count(b, name="B")
    res = m.run(t_end="0.1 ms", every="0.1 ms", progress=False)
    assert res["A"][-1] > 100 and res["A_in"][-1] == res["A"][-1] and res["B_in"][-1] == 0
    m2 = cs.Model(dt="1 us")
    m2.add_species("L", D=D)
    m2.add_surface_species("R")
    m2.add_surface_species("LR")
    fwd, rev = m2.add_reaction("L + R <-> LR", (1e6, 10.0), side="back", product_side="back")
    assert (fwd.side, fwd.product_sides, rev.side, rev.product_sides) == (-1, (), 1, (-1,))
    d = m2.describe()["reactions"]
    assert d[0]["side"] == "back" and "product_side" not in d[0]
    assert d[1]["product_side"] == ["back"] and "side" not in d[1]
    plain = m2.add_reaction("L + LR -> LR", 1e6)
    assert plain.side == 1 and "side" not in m2.describe()["reactions"][2]


def test_orientation_errors_name_the_reaction_and_fix():
    m = cs.Model(dt="1 us")
    m.add_species("L", D=D)
    m.add_species("M", D=D)
    m.add_surface_species("R")
    m.add_surface_species("LR")
    cases = [
        (dict(equation="LR -> R + L", rates=10.0, side="back"), r"'LR -> R \+ L'.*side='back' applies only to the binding"),
        (dict(equation="L + R -> LR", rates=1e6, product_side="back"), r"product_side='back' applies only to reactions of a surface molecule that release"),
        (dict(equation="L + M -> M", rates=1e6, side="both"), r"side='both' applies only"),
        (dict(equation="LR -> R + L", rates=10.0, product_side=("back", "facing")), r"gives 2 sides for 1 volume product"),
        (dict(equation="L + R -> LR", rates=1e6, side="inside"), r"side must be one of \['facing', 'back', 'both'\]"),
        (dict(equation="LR -> R + L", rates=10.0, product_side="up"), r"product_side must be one of"),
    ]
    for kwargs, pattern in cases:
        with pytest.raises(ModelError, match=pattern):
            m.add_reaction(**kwargs)


# Clamp-driven binding: L clamped at c = 10 µM inside the box; sites on the floor facing outside
# bind it with side='back' (or 'both') as first-order events at k_on·c = 3000 s⁻¹ (k_on = 3e8):
# the bound fraction after t is 1 − exp(−k_on c t), binomial SE over 1000 sites.
def test_clamp_drives_binding_from_the_back():
    c, kon, n = 10e-6, 3e8, 1000
    bound = {}
    for side in ("back", "facing", "both"):
        m, box, outer = nested(75)
        m.add_species("L", D=D)
        m.add_surface_species("S")
        m.add_surface_species("SL")
        m.add_reaction("L + S -> SL", kon, side=side)
        m.place("S", region=box.region("bottom"), n=n, facing="outside")
        m.clamp("L", c, inside=box)
        m.count("SL", name="SL")
        res = m.run(t_end="0.2 ms", every="0.1 ms", progress=False)
        bound[side] = (res.times, res["SL"].astype(float))
    assert np.all(bound["facing"][1] == 0)          # the bath is behind the sites
    for side in ("back", "both"):
        t, sl = bound[side]
        for i in (1, 2):
            p = 1 - math.exp(-kon * c * t[i])
            check(sl[i] / n, p, math.sqrt(p * (1 - p) / n), f"bound fraction at {t[i] * 1e3:.1f} ms, side={side!r}")
