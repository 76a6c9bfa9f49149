"""Unit tests of the public API: units, validation of bad input, releases, observables, Result.

Statistical checks use fixed seeds and thresholds derived in the test (KS tests at p = 1e-4,
moment checks at 5 standard errors), so they pass for the seeds given but fail when the
sampling is wrong.
"""
import math

import numpy as np
import pytest
from helpers import P_MIN  # KS-test threshold: a correct sampler fails one such test in 10⁴ runs
from scipy import stats

import cleftsim as cs
import cleftsim.model.rules
from cleftsim.errors import ModelError, UnitError
from cleftsim.geometry import Mesh


# -- helpers -----------------------------------------------------------------------------------
def glu_model(seed=1, dt="1 us"):
    m = cs.Model(dt=dt, seed=seed)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    return m, glu


def cleft_model(seed=1):
    m, glu = glu_model(seed)
    cleft = m.add_geometry(cs.geometry.cylinder("200 nm", "20 nm", segments=64), name="cleft")
    return m, glu, cleft


def open_box():
    """A 1 µm box with one triangle removed: a valid but open mesh."""
    b = cs.geometry.box(1.0)
    return Mesh(b.vertices, b.triangles[1:])


def released(m, sp):
    """Positions of ``sp`` right after the t = 0 releases."""
    return m.simulation().positions(sp)


# -- units -------------------------------------------------------------------------------------
def test_unit_strings_convert_to_base_units():
    assert cs.units.time("1 us") == pytest.approx(1e-6, rel=1e-12)
    assert cs.units.time("2 ms") == pytest.approx(2e-3, rel=1e-12)
    assert cs.units.diffusion("0.33 um^2/ms") == pytest.approx(330.0, rel=1e-12)
    assert cs.units.diffusion("3.3e-6 cm^2/s") == pytest.approx(330.0, rel=1e-12)
    assert cs.units.length("200 nm") == pytest.approx(0.2, rel=1e-12)
    assert cs.units.length(0.2) == 0.2                   # plain floats are already in µm
    q = cs.units.registry().Quantity(20, "nm")          # pint quantities are accepted too
    assert cs.units.length(q) == pytest.approx(0.02, rel=1e-12)


def test_model_accepts_unit_strings():
    m = cs.Model(dt="1 us")
    assert m.dt == pytest.approx(1e-6, rel=1e-12)
    sp = m.add_species("glu", D="0.33 um^2/ms")
    assert sp.D == pytest.approx(330.0, rel=1e-12)
    assert m.add_species("b", D=330.0).D == 330.0        # plain float: µm²/s
    mesh = cs.geometry.cylinder(radius="200 nm", height="20 nm", segments=32)
    lo, hi = mesh.bounds
    assert hi[2] - lo[2] == pytest.approx(0.02, rel=1e-12)
    assert hi[0] == pytest.approx(0.2, rel=1e-12)


@pytest.mark.parametrize("value, match", [
    ("1 nm", r"dt: '1 nm' is not a time"),
    ("1 um^2/s", r"dt: .* is not a time"),
    (float("nan"), r"dt: nan is not finite"),
    ("inf s", r"dt: 'inf s' is not finite"),
    ("one microsecond", r"dt: cannot read"),
])
def test_dt_with_wrong_dimension_or_not_finite(value, match):
    with pytest.raises(UnitError, match=match):
        cs.Model(dt=value)


@pytest.mark.parametrize("D, match", [
    ("1 s", r"D of species 'glu': '1 s' is not a diffusion"),
    ("1 um^2", r"D of species 'glu': .* is not a diffusion"),
    (float("inf"), r"D of species 'glu': inf is not finite"),
    (float("nan"), r"D of species 'glu': nan is not finite"),
    (None, r"D of species 'glu': None is not a number"),
])
def test_bad_diffusion_coefficient_units(D, match):
    m = cs.Model(dt="1 us")
    with pytest.raises(UnitError, match=match):
        m.add_species("glu", D=D)


def test_negative_D_is_a_model_error_naming_the_species():
    m = cs.Model(dt="1 us")
    with pytest.raises(ModelError, match=r"D of species 'glu' must be >= 0"):
        m.add_species("glu", D="-0.33 um^2/ms")
    assert m.add_species("still", D=0.0).D == 0.0        # D = 0 is allowed (immobile)


def test_unit_errors_are_value_errors_and_name_the_argument():
    m, glu = glu_model()
    with pytest.raises(UnitError, match=r"at\[1\]: '1 us' is not a length"):
        m.release(glu, n=1, at=(0, "1 us", 0))
    with pytest.raises(UnitError, match=r"at\[0\]: nan is not finite"):
        m.release(glu, n=1, at=(float("nan"), 0, 0))
    with pytest.raises(UnitError, match=r"release time t: '5 nm' is not a time"):
        m.release(glu, n=1, at=(0, 0, 0), t="5 nm")
    with pytest.raises(UnitError, match=r"sphere radius: 'inf nm' is not finite"):
        m.release(glu, n=1, sphere=((0, 0, 0), "inf nm"))
    assert issubclass(UnitError, ValueError) and issubclass(ModelError, ValueError)


@pytest.mark.parametrize("dt", [0, -1e-6, "-1 us", "0 s"])
def test_dt_must_be_positive(dt):
    with pytest.raises(ModelError, match=r"dt must be positive"):
        cs.Model(dt=dt)


@pytest.mark.parametrize("seed", [-1, 1.5, "1"])
def test_bad_seed(seed):
    with pytest.raises(ModelError, match=r"seed must be a non-negative integer"):
        cs.Model(dt="1 us", seed=seed)


# -- names and lookups -------------------------------------------------------------------------
def test_unknown_species_lists_known_ones():
    m, glu, cleft = cleft_model()
    with pytest.raises(ModelError, match=r"unknown species 'gaba'; known species: \['glu'\]"):
        m.release("gaba", n=10, at=(0, 0, 0))
    with pytest.raises(ModelError, match=r"unknown species 'gaba'"):
        m.count("gaba")
    with pytest.raises(ModelError, match=r"unknown species 'gaba'"):
        m.set_surface("gaba", cleft, "absorb")
    other = cs.Model(dt="1 us").add_species("glu", D=1.0)
    with pytest.raises(ModelError, match=r"species 'glu' belongs to another model"):
        m.release(other, n=1, at=(0, 0, 0))


def test_species_given_by_name_works():
    m, glu, cleft = cleft_model()
    m.set_surface("glu", "cleft.side", "absorb")
    m.release("glu", n=10, at=(0, 0, 0))
    assert m.count("glu") == "glu"
    assert m.rule_table()[cleft.region("side").index, glu.index] == cs.model.rules.ABSORB


def test_duplicate_names_are_rejected():
    m, glu, cleft = cleft_model()
    with pytest.raises(ModelError, match=r"species 'glu' is already defined"):
        m.add_species("glu", D=1.0)
    with pytest.raises(ModelError, match=r"geometry object named 'cleft' already exists"):
        m.add_geometry(cs.geometry.box(1.0), name="cleft")
    m.count(glu, name="n_glu")
    with pytest.raises(ModelError, match=r"observable named 'n_glu' already exists"):
        m.count(glu, name="n_glu")
    m.count(glu)                                             # default name: the species name
    with pytest.raises(ModelError, match=r"observable named 'glu' already exists"):
        m.count(glu)


@pytest.mark.parametrize("name", ["", "2glu", "glu ate", None, "a/b"])
def test_bad_species_names(name):
    m = cs.Model(dt="1 us")
    with pytest.raises(ModelError, match=r"species name .* must start with a letter"):
        m.add_species(name, D=1.0)


def test_unknown_region_lists_the_available_regions():
    m, glu, cleft = cleft_model()
    pattern = r"object 'cleft' has no region 'rim'; its regions are \['bottom', 'top', 'side'\]"
    with pytest.raises(ModelError, match=pattern):
        cleft.region("rim")
    with pytest.raises(ModelError, match=pattern):
        m.set_surface(glu, "cleft.rim", "absorb")
    with pytest.raises(ModelError, match=r"unknown geometry object 'glia'; known objects: \['cleft'\]"):
        m.set_surface(glu, "glia.side", "absorb")
    with pytest.raises(ModelError, match=r"unknown geometry object 'glia'"):
        m.count(glu, inside="glia")


@pytest.mark.parametrize("rule", ["bounce", "Absorb", "", None])
def test_bad_rule_name(rule):
    m, glu, cleft = cleft_model()
    with pytest.raises(ModelError, match=r"surface rule .* is not one of \['reflect', 'absorb', 'transparent'\]"):
        m.set_surface(glu, cleft.region("side"), rule)


def test_add_geometry_needs_a_mesh():
    m, _ = glu_model()
    with pytest.raises(ModelError, match=r"add_geometry needs a cleftsim.geometry.Mesh, got str"):
        m.add_geometry("cleft.obj", name="cleft")


def test_bad_crossing_direction():
    m, glu, cleft = cleft_model()
    with pytest.raises(ModelError, match=r"direction must be 'out', 'in' or 'net', got 'up'"):
        m.count_crossings(glu, cleft, direction="up")


# -- open meshes where closed ones are needed --------------------------------------------------
def test_open_mesh_is_accepted_as_a_surface_but_not_as_a_container():
    m, glu = glu_model()
    lid = m.add_geometry(open_box(), name="lid")             # an open mesh is a valid surface
    m.set_surface(glu, lid, "absorb")
    with pytest.raises(ModelError, match=r"release inside= needs a closed object, but 'lid' is not"):
        m.release(glu, n=10, inside=lid)
    with pytest.raises(ModelError, match=r"count\(inside=\) needs a closed object, but 'lid' is not"):
        m.count(glu, inside="lid")
    assert not m.releases and not m.observables                # nothing half-added


# -- release arguments -------------------------------------------------------------------------
def test_release_needs_exactly_one_shape():
    m, glu = glu_model()
    with pytest.raises(ModelError, match=r"release of 'glu': give exactly one of at=, inside=, box=, sphere= \(got none\)"):
        m.release(glu, n=10)
    with pytest.raises(ModelError, match=r"release of 'glu': give exactly one of .* \(got \['at', 'box'\]\)"):
        m.release(glu, n=10, at=(0, 0, 0), box=((0, 0, 0), (1, 1, 1)))
    with pytest.raises(ModelError, match=r"got \['at', 'sphere'\]"):
        m.release(glu, n=10, at=(0, 0, 0), sphere=((0, 0, 0), 1.0))


@pytest.mark.parametrize("n", [-1, 1.5, "10", True, None])
def test_release_count_must_be_a_non_negative_integer(n):
    m, glu = glu_model()
    with pytest.raises(ModelError, match=r"release of 'glu': n must be a non-negative integer"):
        m.release(glu, n=n, at=(0, 0, 0))


def test_release_zero_molecules_is_allowed():
    m, glu = glu_model()
    m.release(glu, n=0, at=(0, 0, 0))
    m.release(glu, n=np.int64(3), at=(0, 0, 0))
    assert len(released(m, glu)) == 3


def test_bad_release_shapes_and_times():
    m, glu = glu_model()
    with pytest.raises(ModelError, match=r"release of 'glu': t must be >= 0"):
        m.release(glu, n=1, at=(0, 0, 0), t="-1 us")
    with pytest.raises(ModelError, match=r"box= corners must satisfy lo < hi"):
        m.release(glu, n=1, box=((0, 0, 0), (1, 0, 1)))
    with pytest.raises(ModelError, match=r"box= must be \(lo, hi\)"):
        m.release(glu, n=1, box=((0, 0, 0),))
    with pytest.raises(ModelError, match=r"sphere radius must be positive"):
        m.release(glu, n=1, sphere=((0, 0, 0), "0 nm"))
    with pytest.raises(UnitError, match=r"at: expected three coordinates"):
        m.release(glu, n=1, at=(0, 0))


def test_release_probability_must_be_a_probability():
    m, glu = glu_model()
    with pytest.raises(ModelError, match=r"release of 'glu': p must lie in \[0, 1\], got 1.5"):
        m.release(glu, n=1, at=(0, 0, 0), p=1.5)


def test_t_end_must_be_a_whole_number_of_sampling_intervals():
    m, glu = glu_model()
    m.release(glu, n=1, at=(0, 0, 0))
    m.count(glu)
    with pytest.raises(ModelError, match=r"t_end = '10 us' is not a whole number of sampling intervals"):
        m.run("10 us", every="3 us")


def test_seed_must_be_an_integer_not_a_bool():
    with pytest.raises(ModelError, match=r"seed must be a non-negative integer"):
        cs.Model(dt="1 us", seed=True)


def test_model_without_species_cannot_run():
    with pytest.raises(ModelError, match=r"the model has no species; add one with model.add_species"):
        cs.Model(dt="1 us").simulation()


# -- durations ---------------------------------------------------------------------------------
def test_t_end_and_every_must_be_multiples_of_dt():
    m, glu = glu_model()
    m.release(glu, n=1, at=(0, 0, 0))
    m.count(glu)
    with pytest.raises(ModelError, match=r"t_end = '10.5 us' is not a whole number of time steps"):
        m.run(t_end="10.5 us")
    with pytest.raises(ModelError, match=r"every = '1.5 us' is not a whole number of time steps"):
        m.run(t_end="9 us", every="1.5 us")
    with pytest.raises(ModelError, match=r"t_end must be >= 0"):
        m.run(t_end="-1 us")
    with pytest.raises(ModelError, match=r"every = '0 us' must be at least one time step"):
        m.run(t_end="9 us", every="0 us")
    with pytest.raises(UnitError, match=r"t_end: '10 nm' is not a time"):
        m.run(t_end="10 nm")
    sim = m.simulation()
    with pytest.raises(ModelError, match=r"duration = '0.5 us' is not a whole number"):
        sim.run("0.5 us")


# -- Result ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_result():
    m, glu, cleft = cleft_model(seed=7)
    m.set_surface(glu, cleft.region("side"), "absorb")
    m.release(glu, n=500, at=(0, 0, 0))
    m.count(glu, name="total")
    m.count(glu, inside=cleft)
    m.count_absorbed(glu, cleft.region("side"), name="gone")
    return m.run(t_end="20 us", every="2 us")


def test_result_names_times_and_arrays(small_result):
    r = small_result
    assert r.names == ["total", "glu_in_cleft", "gone"]
    np.testing.assert_allclose(r.times, np.arange(0, 21, 2) * 1e-6, rtol=0, atol=1e-18)
    for name in r.names:
        assert r[name].shape == r.times.shape
    assert "gone" in r and "nope" not in r
    np.testing.assert_array_equal(r["total"] + r["gone"], 500)
    np.testing.assert_array_equal(r["total"], r["glu_in_cleft"])
    assert "0 to 20 µs every 2 µs" in repr(r)


def test_result_missing_name_lists_the_names(small_result):
    with pytest.raises(KeyError, match=r"no observable named 'in_cleft'; this result has \['total', 'glu_in_cleft', 'gone'\]"):
        small_result["in_cleft"]


def test_result_to_pandas(small_result):
    pd = pytest.importorskip("pandas")
    df = small_result.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == small_result.names
    assert df.index.name == "time (s)"
    np.testing.assert_array_equal(df.index.to_numpy(), small_result.times)
    np.testing.assert_array_equal(df["gone"].to_numpy(), small_result["gone"])


def test_result_metadata(small_result):
    import json

    md = small_result.metadata
    assert md["seed"] == 7
    assert md["dt"] == pytest.approx(1e-6)
    assert md["version"] == cs.__version__
    desc = md["model"]
    assert desc["species"] == [{"name": "glu", "D": pytest.approx(330.0)}]
    assert desc["objects"][0]["name"] == "cleft"
    assert desc["objects"][0]["regions"] == ["bottom", "top", "side"]
    assert {"region": "cleft.side", "species": "glu", "rule": "absorb"} in desc["rules"]
    assert desc["releases"] == [{"species": "glu", "n": 500, "t": 0.0, "kind": "point"}]
    assert desc["observables"] == ["total", "glu_in_cleft", "gone"]
    json.dumps(md)                                           # serialisable as it is
    assert set(small_result.diagnostics) >= {"reflections", "bridge_absorptions"}


# -- releases ----------------------------------------------------------------------------------
def test_scheduled_release_appears_exactly_at_its_sample():
    m, glu = glu_model()
    m.release(glu, n=100, at=(0, 0, 0), t="5 us")
    m.release(glu, n=7, at=(1, 0, 0))
    m.count(glu, name="n")
    r = m.run(t_end="10 us", every="1 us")
    expected = np.where(np.arange(11) >= 5, 107, 7)
    np.testing.assert_array_equal(r["n"], expected)
    r5 = m.run(t_end="10 us", every="5 us")                 # same with coarser sampling
    np.testing.assert_array_equal(r5["n"], [7, 107, 107])
    sim = m.simulation()
    sim.run("4 us")
    assert len(sim.positions(glu)) == 7
    sim.run("1 us")
    pos = sim.positions(glu)
    assert len(pos) == 107
    # the 100 late molecules sit exactly at the release point at their release time
    assert np.count_nonzero(np.all(pos == 0.0, axis=1)) == 100


def test_uniform_release_in_box():
    lo, hi = np.array([-1.0, 0.0, 2.0]), np.array([1.0, 0.5, 2.02])
    m, glu = glu_model(seed=11)
    m.release(glu, n=20000, box=(tuple(lo), tuple(hi)))
    x = released(m, glu)
    assert x.shape == (20000, 3)
    assert np.all((x >= lo) & (x <= hi))
    u = (x - lo) / (hi - lo)
    for j in range(3):
        assert stats.kstest(u[:, j], "uniform").pvalue > P_MIN
    # coordinates independent: correlation ~ N(0, 1/n); 5 SE = 5/sqrt(n) = 0.035
    c = np.corrcoef(u.T)
    assert np.all(np.abs(c[np.triu_indices(3, 1)]) < 5 / np.sqrt(20000))


def test_uniform_release_in_sphere():
    c0, R = np.array([1.0, 2.0, -3.0]), 0.5
    m, glu = glu_model(seed=12)
    m.release(glu, n=20000, sphere=(tuple(c0), "500 nm"))
    d = released(m, glu) - c0
    r = np.linalg.norm(d, axis=1)
    assert np.all(r <= R * (1 + 1e-12))
    # uniform in the ball: (r/R)³, cos(theta) and phi are independent uniforms
    assert stats.kstest((r / R) ** 3, "uniform").pvalue > P_MIN
    assert stats.kstest((d[:, 2] / r + 1) / 2, "uniform").pvalue > P_MIN
    assert stats.kstest((np.arctan2(d[:, 1], d[:, 0]) + np.pi) / (2 * np.pi), "uniform").pvalue > P_MIN


def test_uniform_release_inside_a_closed_object():
    # A 256-gon prism: its area differs from the circle's by 1e-4, far below what a KS test on
    # 20000 points resolves (critical distance at p = 1e-4: about 0.016).
    R, h = 0.2, 0.05
    m, glu = glu_model(seed=13)
    cyl = m.add_geometry(cs.geometry.cylinder(R, h, segments=256, center=(0.5, 0, 0)), name="cyl")
    m.release(glu, n=20000, inside=cyl)
    x = released(m, glu) - [0.5, 0, 0]
    rho = np.hypot(x[:, 0], x[:, 1])
    assert np.all(np.abs(x[:, 2]) <= h / 2) and np.all(rho <= R)
    assert stats.kstest(x[:, 2] / h + 0.5, "uniform").pvalue > P_MIN
    assert stats.kstest(np.minimum((rho / R) ** 2, 1.0), "uniform").pvalue > P_MIN
    assert stats.kstest((np.arctan2(x[:, 1], x[:, 0]) + np.pi) / (2 * np.pi), "uniform").pvalue > P_MIN


def test_release_inside_a_non_convex_object_stays_in_it():
    # A U-shaped prism: an outline with a notch, so its bounding box holds a region outside it.
    outline = np.array([[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3]], float)
    mesh = prism(outline, 0.0, 1.0)
    m, glu = glu_model(seed=14)
    u = m.add_geometry(mesh, name="u")
    m.release(glu, n=10000, inside=u)
    x = released(m, glu)
    in_notch = (x[:, 0] > 1) & (x[:, 0] < 2) & (x[:, 1] > 1)
    assert not in_notch.any()
    # The U has area 7: bottom bar 3, two arms 2 each. Uniform sampling puts a binomial fraction
    # p = area share in each part, with SE sqrt(p(1-p)/n); allow 5 SE.
    n = len(x)
    for sel, p in [((x[:, 1] < 1), 3 / 7), ((x[:, 1] > 1) & (x[:, 0] < 1), 2 / 7)]:
        frac = np.count_nonzero(sel) / n
        assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / n)


def prism(outline, z0, z1):
    """Closed, outward-oriented prism over the counter-clockwise U outline used above; its caps
    are six counter-clockwise triangles (areas 1.5 + 1.5 + 1 + 0.5 + 1.5 + 1 = 7)."""
    k = len(outline)
    verts = np.vstack([np.column_stack([outline, np.full(k, z0)]),
                       np.column_stack([outline, np.full(k, z1)])])
    cap = [(0, 1, 4), (1, 2, 3), (1, 3, 4), (0, 4, 5), (0, 5, 7), (5, 6, 7)]
    tris = []
    for a, b, c in cap:
        tris.append((a, c, b))                       # bottom, facing -z
        tris.append((a + k, b + k, c + k))           # top, facing +z
    for i in range(k):
        j = (i + 1) % k
        tris += [(i, j, j + k), (i, j + k, i + k)]   # sides of a counter-clockwise outline face out
    return Mesh(verts, np.array(tris))


# -- observables -------------------------------------------------------------------------------
def test_count_absorbed_conserves_molecules_per_region():
    m, glu = glu_model(seed=21)
    box = m.add_geometry(cs.geometry.box(0.2), name="box")
    m.set_surface(glu, box.region("top"), "absorb")
    m.release(glu, n=3000, inside=box)
    m.count(glu, name="free")
    m.count_absorbed(glu, box.region("top"), name="top")
    m.count_absorbed(glu, box, name="all")                   # the top is the only absorbing region of the box
    r = m.run(t_end="200 us", every="10 us")
    np.testing.assert_array_equal(r["free"] + r["top"], 3000)
    np.testing.assert_array_equal(r["all"], r["top"])
    assert np.all(np.diff(r["top"]) >= 0)
    # 200 µs is ~1.6 L²/D: most molecules are gone, but not all
    assert 1500 < r["top"][-1] < 3000


def test_count_inside_nested_objects():
    m, glu = glu_model(seed=22)
    box = m.add_geometry(cs.geometry.box(1.0), name="box")
    ball = m.add_geometry(cs.geometry.icosphere(0.2, subdivisions=3), name="ball")
    m.release(glu, n=1000, inside=ball)
    m.release(glu, n=2000, at=(0.4, 0.4, 0.4))               # in the box, outside the ball
    m.count(glu, name="world")
    m.count(glu, inside=box)
    m.count(glu, inside=ball)
    r = m.run(t_end="100 us", every="10 us")
    # both surfaces reflect: nobody crosses either of them
    np.testing.assert_array_equal(r["world"], 3000)
    np.testing.assert_array_equal(r["glu_in_box"], 3000)
    np.testing.assert_array_equal(r["glu_in_ball"], 1000)


def test_positions_returns_a_copy_and_count_works():
    m, glu = glu_model()
    other = m.add_species("other", D=1.0)
    m.release(glu, n=50, at=(0, 0, 0))
    m.release(other, n=5, at=(1, 1, 1))
    sim = m.simulation()
    sim.run("3 us")
    p = sim.positions(glu)
    assert p.shape == (50, 3)
    p[:] = 123.0
    assert not np.any(sim.positions(glu) == 123.0)
    assert sim.count(glu) == 50 and sim.count("other") == 5
    assert sim.time == pytest.approx(3e-6)
    np.testing.assert_allclose(sim.positions(other).mean(axis=0), 1.0, atol=0.01)


def test_count_sees_releases_due_now():
    # count() must agree with positions() and observe() right after compiling (t = 0 releases due)
    m, glu = glu_model()
    m.release(glu, n=50, at=(0, 0, 0))
    sim = m.simulation()
    assert sim.count(glu) == len(sim.positions(glu)) == 50


def test_world_without_geometry_is_unbounded_free_space():
    # 20000 molecules, 10 steps of a huge D (per-axis sigma 44.7 µm per step): nothing bounds
    # them. For a 3D Gaussian Var(r²)/⟨r²⟩² = 2/3, so the SE of ⟨r²⟩/6Dt is sqrt(2/(3n)) = 0.0058;
    # allow 5 SE.
    D, n = 1e9, 20000
    m = cs.Model(dt="1 us", seed=31)
    a = m.add_species("a", D=D)
    m.release(a, n=n, at=(5, -5, 0))
    sim = m.simulation()
    sim.run("10 us")
    d = sim.positions(a) - [5, -5, 0]
    ratio = (d**2).sum(axis=1).mean() / (6 * D * 1e-5)
    assert abs(ratio - 1) < 5 * math.sqrt(2 / (3 * n))
    assert np.abs(d).max() > 300.0                           # far beyond any default extent
    assert sim.diagnostics["reflections"] == 0
