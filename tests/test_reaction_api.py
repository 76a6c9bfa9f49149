"""The reaction API: clear errors for bad reactions, placements, clamps and counts; rate units;
the reaction language.

Each error test asserts the exception type (cs.ModelError, raised when the item is added or, for
what depends on several items, when the simulation is built) and that the message names the
offending item and says how to fix it.
"""
import re

import pytest
from helpers import N_A

import cleftsim as cs
from cleftsim.errors import ModelError, ReactionSyntaxError
from cleftsim.model import reactions
from cleftsim.model.reactions import Equation


def model(dt="1 us", seed=1):
    """Volume species L (D = 0.33 µm²/ms), a box, surface species S, SL, B, C."""
    m = cs.Model(dt=dt, seed=seed)
    lig = m.add_species("L", D="0.33 um^2/ms")
    box = m.add_geometry(cs.geometry.box(size=(0.5, 0.5, 0.1)), name="box")
    for s in ("S", "SL", "B", "C"):
        m.add_surface_species(s)
    return m, lig, box


def raises(fn, *fragments):
    """fn() raises ModelError whose message contains every fragment."""
    with pytest.raises(ModelError) as info:
        fn()
    msg = str(info.value)
    for f in fragments:
        assert f in msg, f"{f!r} not in the message {msg!r}"
    return msg


# -- reactions ---------------------------------------------------------------------------------
def test_unknown_species_in_a_reaction_lists_the_known_ones():
    m, _, _ = model()
    raises(lambda: m.add_reaction("L + X -> SL", 1e6), "'X'", "volume species: ['L']",
           "surface species: ['S', 'SL', 'B', 'C']")
    raises(lambda: m.add_reaction("SL -> S + Glu", 10.0), "'Glu'", "volume species: ['L']")
    assert m.reactions == []                       # nothing half-added


def test_binding_rate_in_first_order_units_is_refused():
    m, _, _ = model()
    raises(lambda: m.add_reaction("L + S -> SL", "100 /s"), "'L + S -> SL'", "'100 /s'",
           "second order: M^-1 s^-1 or um^3/s")


def test_first_order_rate_in_binding_units_is_refused():
    m, _, _ = model()
    raises(lambda: m.add_reaction("SL -> S + L", "1e7 /M/s"), "'SL -> S + L'", "'1e7 /M/s'",
           "first order: s^-1")


@pytest.mark.parametrize("rate, fragment", [(-5.0, "must be >= 0"), ("5 um", "first order: s^-1"),
                                            ("fast", "cannot read 'fast'"), (float("nan"), "not finite")])
def test_bad_rate_values(rate, fragment):
    m, _, _ = model()
    raises(lambda: m.add_reaction("S -> B", rate), "'S -> B'", fragment)


def test_rate_pair_for_one_arrow_and_single_rate_for_two():
    m, _, _ = model()
    raises(lambda: m.add_reaction("SL -> S + L", (100.0, 200.0)), "'SL -> S + L'", "one arrow '->'",
           "takes one rate", "(100.0, 200.0)")
    raises(lambda: m.add_reaction("L + S <-> SL", 1e7), "'L + S <-> SL'", "reversible ('<->')",
           "pair of rates (forward, reverse)", "got 10000000.0")
    raises(lambda: m.add_reaction("L + S <-> SL", (1e7, 100.0, 5.0)), "pair of rates")


@pytest.mark.parametrize("equation, fragments", [
    ("S + -> B", ["'S + -> B'", "cannot read ''", "among the reactants", "separated by '+'"]),
    ("S -> B +", ["'S -> B +'", "among the products", "separated by '+'"]),
    ("S => B", ["'S => B'", "needs exactly one arrow: '->' or '<->'"]),
    ("S -> B -> C", ["exactly one arrow"]),
    ("S <- B", ["exactly one arrow"]),
    ("->", ["'->'", "neither reactants nor products"]),
    ("S <-> 0", ["both sides of '<->' need species"]),
    ("0 S -> B", ["stoichiometry must be at least 1"]),
    ("S + B! -> C", ["cannot read 'B!'", "among the reactants"]),
])
def test_bad_syntax_names_the_equation_and_the_rule(equation, fragments):
    m, _, _ = model()
    raises(lambda: m.add_reaction(equation, 1.0), *fragments)


def test_two_surface_products_are_refused():
    m, _, _ = model()
    raises(lambda: m.add_reaction("S -> B + C", 5.0), "'S -> B + C'",
           "a surface molecule can become at most one surface molecule", "['B', 'C']")


def test_volume_only_reactants_are_refused():
    """A surface product from volume reactants is refused; volume reactions themselves are fine."""
    m, _, _ = model()
    m.add_species("Q", D=100.0)
    assert m.add_reaction("L -> 0", 5.0).kind == "volume"          # volume reactions: supported
    assert m.add_reaction("L + Q -> L", 1e6).kind == "pair"
    for eq, k in (("L -> S", 5.0), ("L + Q -> S", 1e6)):
        raises(lambda: m.add_reaction(eq, k), f"'{eq}'", "surface product 'S' cannot exist where the reactants are",
               "a surface product needs a surface reactant")


def test_other_unsupported_reactions():
    m, _, _ = model()
    raises(lambda: m.add_reaction("S + B -> C", 1e6), "'S + B -> C'", "between two surface molecules")
    raises(lambda: m.add_reaction("S -> S", 5.0), "'S -> S'", "changes nothing")
    raises(lambda: m.add_reaction("L + L + S -> C", 5.0), "at most two reactants")


# -- the largest time step a binding allows ----------------------------------------------------
def binding_model(dt, tile_density=None):
    m = cs.Model(dt=dt, seed=1, tile_density=tile_density)
    m.add_species("L", D="0.33 um^2/ms")
    box = m.add_geometry(cs.geometry.box(size=(0.5, 0.5, 0.1)), name="box")
    m.add_surface_species("S")
    m.add_surface_species("SL")
    m.add_reaction("L + S -> SL", 1e9)
    m.place("S", box.region("bottom"), n=10)
    m.release("L", 10, inside=box)
    return m


def test_binding_with_per_hit_probability_above_one_names_the_largest_dt():
    m = binding_model("10 us")
    msg = raises(m.simulation, "binding of 'L' to 'S'", "k_on = 1e+09 /M/s", "needs a per-hit probability of",
                 "dt = 1e-05 s", "use dt <=", "or tile_density <=")
    raises(lambda: m.run("10 us"), "use dt <=")                          # run builds the simulation too
    dt_max = float(re.search(r"use dt <= ([0-9.e+-]+) s", msg).group(1))
    dens = float(re.search(r"tile_density <= ([0-9.e+-]+) /um\^2", msg).group(1))
    # one tile's linear probability √(2π)·κ√(dt/2D) reaches 1 at dt = D/(π κ²): 0.4 µs here
    assert 1e-7 < dt_max < 1e-6
    # the advice works: just inside the limit the model builds and runs ...
    res = binding_model(dt_max * 0.999).run(20 * dt_max * 0.999)
    assert len(res.times) == 21
    binding_model("10 us", tile_density=dens * 0.999).simulation()
    # ... and just outside it, it does not
    raises(binding_model(dt_max * 1.01).simulation, "use dt <=")
    raises(binding_model("10 us", tile_density=dens * 1.3).simulation, "tile_density <=")


# -- place -------------------------------------------------------------------------------------
def test_place_needs_exactly_one_of_n_and_density():
    m, _, box = model()
    raises(lambda: m.place("S", box.region("bottom")), "place 'S'", "give exactly one of n= or density=")
    raises(lambda: m.place("S", box.region("bottom"), n=5, density="100 /um^2"), "place 'S'",
           "exactly one of n= or density=")


@pytest.mark.parametrize("n", [-5, 2.5, True])
def test_place_count_must_be_a_non_negative_integer(n):
    m, _, box = model()
    raises(lambda: m.place("S", box.region("bottom"), n=n), "place 'S'", "n must be a non-negative integer",
           repr(n))


def test_place_density_must_be_non_negative():
    m, _, box = model()
    raises(lambda: m.place("S", box.region("bottom"), density="-3 /um^2"), "place 'S'", "density must be >= 0")


def test_place_positions_far_from_the_region_are_refused_when_built():
    m, _, box = model()
    m.place("S", box.region("bottom"), positions=[(0.0, 0.0, -0.05), (0.1, 0.0, 0.3)])
    msg = raises(m.simulation, "place 'S'", "lies 0.35 µm from region 'box.bottom'", "at most 0.001 µm")
    assert "0.3" in msg                             # the offending position
    # within 1 nm is accepted (and moved onto the region)
    m, _, box = model()
    m.place("S", box.region("bottom"), positions=[(0.1, 0.0, -0.0505)])
    sim = m.simulation()
    assert sim.surface_molecules("S")["positions"][0] == pytest.approx([0.1, 0.0, -0.05], abs=1e-12)


def test_place_positions_exclude_n():
    m, _, box = model()
    raises(lambda: m.place("S", box.region("bottom"), n=3, positions=[(0, 0, -0.05)]), "positions= alone")


def test_place_facing_must_be_inside_or_outside():
    m, _, box = model()
    raises(lambda: m.place("S", box.region("bottom"), n=5, facing="up"), "facing", "'up'",
           "['inside', 'outside']")


def test_place_unknown_species_or_region():
    m, _, box = model()
    raises(lambda: m.place("Q", box.region("bottom"), n=5), "unknown surface species 'Q'", "['S', 'SL', 'B', 'C']")
    raises(lambda: m.place("L", box.region("bottom"), n=5), "'L' is a volume species; a surface species")
    raises(lambda: m.place("S", "box.floor", n=5), "no region 'floor'", "'bottom'")


# -- clamp -------------------------------------------------------------------------------------
def test_clamp_waveform_edges_must_fall_on_whole_steps():
    m, lig, box = model()
    raises(lambda: m.clamp(lig, cs.waveforms.pulse("1 mM", duration="1.5 us"), inside=box), "clamp of 'L'",
           "t = 1.5e-06 s", "not a whole number of time steps", "move the edge to 2e-06 s")
    raises(lambda: m.clamp(lig, cs.waveforms.step("1 mM", start="0.25 us"), inside=box), "move the edge to 0 s")
    m.clamp(lig, cs.waveforms.pulse("1 mM", start="3 us", duration="2 us"), inside=box)   # on steps: fine


def test_clamp_needs_exactly_one_of_inside_and_region():
    m, lig, box = model()
    raises(lambda: m.clamp(lig, "1 mM", inside=box, region=box.region("bottom")), "clamp of 'L'",
           "give exactly one of inside= (a closed object) or region=")
    raises(lambda: m.clamp(lig, "1 mM"), "exactly one of inside=")


def test_clamp_bad_inputs():
    m, lig, box = model()
    raises(lambda: m.clamp(lig, "1 mV", inside=box), "clamp of 'L'", "'1 mV'", "concentration")
    raises(lambda: m.clamp(lig, "1 mM", region=box.region("bottom"), side="up"), "clamp side", "'up'")
    raises(lambda: m.clamp("S", "1 mM", inside=box), "'S' is a surface species (a state of a membrane molecule); a volume species is needed")
    m.clamp(lig, "1 mM", inside=box)
    raises(lambda: m.clamp(lig, "2 mM", inside=box), "'L' is already clamped inside box")


@pytest.mark.parametrize("release", [dict(inside="box"), dict(at=(0.0, 0.0, 0.0))])
def test_clamped_species_cannot_be_released_inside_the_clamped_object(release):
    m, lig, box = model()
    m.place("S", box.region("bottom"), n=10)
    m.clamp(lig, "1 mM", inside=box)
    m.release(lig, 10, **release)
    raises(m.simulation, "'L' is clamped inside box and cannot also be released there",
           "remove the release or the clamp")


@pytest.mark.parametrize("release", [dict(box=((-0.1, -0.1, -0.01), (0.1, 0.1, 0.01))),
                                     dict(sphere=((0.0, 0.0, 0.0), 0.02))])
def test_clamped_species_cannot_be_released_in_a_box_or_sphere_inside_the_clamp(release):
    m, lig, box = model()
    m.place("S", box.region("bottom"), n=10)
    m.clamp(lig, "1 mM", inside=box)
    m.release(lig, 10, **release)
    raises(m.simulation, "'L' is clamped inside box and cannot also be released there")


def test_clamped_species_cannot_be_produced_inside_the_clamped_object():
    m, lig, box = model()
    m.place("S", box.region("bottom"), n=10)
    m.clamp(lig, "1 mM", inside=box)
    m.add_reaction("0 -> L", "1 uM/s", inside=box)
    raises(m.simulation, "'L' is clamped inside box and cannot also be produced there",
           "remove the production or the clamp")


def test_release_outside_the_clamped_object_is_fine():
    m, lig, box = model()
    m.place("S", box.region("bottom"), n=10)
    m.clamp(lig, "1 mM", inside=box)
    m.release(lig, 10, at=(0.0, 0.0, 1.0))
    m.simulation()


# -- counts ------------------------------------------------------------------------------------
def test_count_of_an_unknown_state():
    m, lig, box = model()
    raises(lambda: m.count("SLL"), "unknown species 'SLL'", "surface species: ['S', 'SL', 'B', 'C']")
    raises(lambda: m.count(["S", "nope"]), "'nope'")
    raises(lambda: m.count("L", region=box.region("bottom")), "count('L')", "use inside= for volume species")
    raises(lambda: m.count("S", inside=box), "count('S')", "per region=, not inside=")
    scheme = m.add_scheme(cs.schemes.glutamate_transporter(ligand=lig))
    with pytest.raises(AttributeError, match="no state or state set 'open'"):
        scheme.open


def test_count_events_needs_this_models_reactions():
    m, _, _ = model()
    other, _, _ = model()
    rx = other.add_reaction("S -> B", 1.0)
    raises(lambda: m.count_events(rx), "count_events needs reactions returned by this model's add_reaction")


def test_scheme_ligand_must_be_added_first():
    m, _, _ = model()
    raises(lambda: m.add_scheme(cs.schemes.ampa_jonas1993(ligand="glu")), "uses the volume species 'glu'",
           "model.add_species('glu', D=...)")


# -- units of rates ----------------------------------------------------------------------------
@pytest.mark.parametrize("equation, rate, k", [
    ("L + S -> SL", "0.01 um^3/s", 0.01 * N_A / 1e15),
    ("L + S -> SL", "1e-3 um^3/ms", 1.0 * N_A / 1e15),
    ("L + S -> SL", "4.59e6 /M/s", 4.59e6),
    ("L + S -> SL", "4.59 /uM/s", 4.59e6),
    ("L + S -> SL", "1e7 L/mol/s", 1e7),
    ("L + S -> SL", 2.5e7, 2.5e7),
    ("SL -> S + L", "100 /s", 100.0),
    ("SL -> S + L", "4.26 /ms", 4.26e3),
    ("SL -> S + L", "1 kHz", 1e3),
    ("SL -> S + L", 39.2, 39.2),
])
def test_rate_units_convert_to_base(equation, rate, k):
    m, _, _ = model()
    rx = m.add_reaction(equation, rate)
    assert rx.k == pytest.approx(k, rel=1e-12)
    assert rx.kind == ("binding" if "+ S" in equation else "surface")


def test_reversible_reaction_returns_both_directions():
    m, _, _ = model()
    fwd, rev = m.add_reaction("L + S <-> SL", ("1e7 /M/s", "100 /s"))
    assert (fwd.equation, fwd.k, fwd.kind) == ("L + S -> SL", 1e7, "binding")
    assert (rev.equation, rev.k, rev.kind) == ("SL -> L + S", 100.0, "surface")
    assert [r.name for r in rev.volume_products] == ["L"] and rev.surface_product.name == "S"
    gone = m.add_reaction("B -> 0", 5.0)
    assert gone.surface_product is None and gone.volume_products == ()


# -- the reaction language ---------------------------------------------------------------------
@pytest.mark.parametrize("text, parsed", [
    ("2 A -> C", (Equation(("A", "A"), ("C",)),)),
    ("2*A + B -> C", (Equation(("A", "A", "B"), ("C",)),)),
    ("2B + A -> 3 C", (Equation(("B", "B", "A"), ("C", "C", "C")),)),
    ("A + A -> C", (Equation(("A", "A"), ("C",)),)),
    ("A -> 0", (Equation(("A",), ()),)),
    ("A ->", (Equation(("A",), ()),)),
    ("A -> ∅", (Equation(("A",), ()),)),
    ("A <-> B", (Equation(("A",), ("B",)), Equation(("B",), ("A",)))),
    ("glu + AMPA_C0 <-> AMPA_C1", (Equation(("glu", "AMPA_C0"), ("AMPA_C1",)),
                                   Equation(("AMPA_C1",), ("glu", "AMPA_C0")))),
    ("AChE_AE -> AChE_AcE + Ch", (Equation(("AChE_AE",), ("AChE_AcE", "Ch")),)),
    ("  x.1 +y-2->z  ", (Equation(("x.1", "y-2"), ("z",)),)),
])
def test_parse_and_round_trip(text, parsed):
    eqs = reactions.parse(text)
    assert eqs == parsed
    for eq in eqs:                                    # str() is canonical and parses back to itself
        assert reactions.parse(str(eq)) == (eq,)
        assert str(reactions.parse(str(eq))[0]) == str(eq)
    assert str(reactions.parse("2 A -> C")[0]) == "A + A -> C"
    assert str(reactions.parse("A -> 0")[0]) == "A -> 0"
    assert reactions.parse("0 -> A")[0].reactants == () and str(reactions.parse("-> A")[0]) == "0 -> A"


@pytest.mark.parametrize("text", ["A + -> B", "A => B", "A -> B -> C", "->", "0 -> 0", "0 A -> B", 42, "A <-> "])
def test_parse_errors_are_reaction_syntax_errors(text):
    with pytest.raises(ReactionSyntaxError):
        reactions.parse(text)


def test_split_rates():
    one, two = reactions.parse("A -> B"), reactions.parse("A <-> B")
    assert reactions.split_rates(one, 5.0, "A -> B") == [5.0]
    assert reactions.split_rates(two, (5.0, 6.0), "A <-> B") == [5.0, 6.0]
    with pytest.raises(ReactionSyntaxError, match="takes one rate"):
        reactions.split_rates(one, [5.0, 6.0], "A -> B")
    with pytest.raises(ReactionSyntaxError, match="pair of rates"):
        reactions.split_rates(two, 5.0, "A <-> B")
