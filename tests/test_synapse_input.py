"""Bad input to the synapse builders (cleft, cleft_array, neuromuscular_junction, from_mesh): each
is refused with a SynapseError that names the builder, the parameter, the value and the fix."""
import re
import time

import pytest

from cleftsim.errors import SynapseError
from cleftsim.geometry import Box, Cylinder, box, primitives
from cleftsim.synapse import cleft, cleft_array, from_mesh, neuromuscular_junction

BUILDERS = {"cleft": cleft, "cleft_array": lambda **kw: cleft_array(2, "1 um", **kw),
            "neuromuscular_junction": neuromuscular_junction}


def refused(builder: str, says: str):
    """pytest.raises for a SynapseError whose message starts 'synapse.<builder>' and then ``says``."""
    return pytest.raises(SynapseError, match=rf"^synapse\.{builder}{says}")


# -- sizes --------------------------------------------------------------------------------------
@pytest.mark.parametrize("builder, kwargs, says", [
    ("cleft", {"height": 20}, r"height=20 is 20 µm, but it must be from 1 nm to 1 µm \(synaptic clefts are "
                              r"10-100 nm high\); a plain number is in µm: did you mean '20 nm'\?"),
    ("cleft", {"radius": 250}, r"radius=250 is 250 µm, .*did you mean '250 nm'\?"),
    ("cleft", {"glia": {"distance": 50}}, r"glia\['distance'\]=50 is 50 µm, .*did you mean '50 nm'\?"),
    ("cleft_array", {"extracellular": 500}, r"extracellular=500 .*did you mean '500 nm'\?"),
    ("neuromuscular_junction", {"fold_width": 50}, r"fold_width=50 is 50 µm, .*did you mean '50 nm'\?"),
    ("neuromuscular_junction", {"length": "2 mm"}, r"length='2 mm' is 2000 µm, but it must be from 1 nm to "
                                                   r"100 µm .*; give e\.g\. length='2 um'"),
])
def test_plain_numbers_meant_in_nm_are_refused_with_a_suggestion(builder, kwargs, says):
    with refused(builder, f": {says}"):
        BUILDERS[builder](**kwargs)


def test_spacing_meant_in_nm():
    with refused("cleft_array", r": spacing=800 is 800 µm, .*did you mean '800 nm'\?"):
        cleft_array(2, 800)
    assert cleft_array(2, "800 nm").parameters["spacing"] == pytest.approx(0.8)


@pytest.mark.parametrize("builder, name", [
    ("cleft", "psd_radius"), ("cleft", "active_zone_radius"), ("cleft", "extracellular"), ("cleft", "cell_length"),
    ("neuromuscular_junction", "width"), ("neuromuscular_junction", "fold_depth"),
    ("neuromuscular_junction", "fold_width"), ("neuromuscular_junction", "extracellular"),
])
def test_tiny_sizes_are_refused_by_name(builder, name):
    with refused(builder, f": {name}=1e-09 is 1e-09 µm, but it must be from 1 nm"):
        BUILDERS[builder](**{name: 1e-9})


def test_tiny_glia_distance_is_refused_by_name_but_one_nanometre_builds():
    with refused("cleft", r": glia\['distance'\]=1e-09 is 1e-09 µm"):
        cleft(glia={"distance": 1e-9})
    for kwargs in ({"psd_radius": "1 nm"}, {"extracellular": "1 nm"}, {"glia": {"distance": "1 nm"}}):
        cleft(**kwargs).mesh.check(closed=True)
    neuromuscular_junction(fold_width="1 nm", fold_depth="1 nm").mesh.check(closed=True)


def test_a_length_of_the_wrong_kind_names_the_builder():
    with refused("neuromuscular_junction", r": width: '1 s' is not a length .*; give e\.g\. width='1 um'"):
        neuromuscular_junction(width="1 s")
    with refused("cleft", ": height: True is not a number"):
        cleft(height=True)


def test_a_rim_thinner_than_a_nanometre_is_refused():
    with refused("cleft", r": psd_radius \(249\.999 nm\) lies less than 1 nm inside the cleft radius \(250 nm\).*"
                          r"equal to radius or at least 1 nm smaller"):
        cleft(psd_radius="249.999 nm")


def test_sizes_too_far_apart_name_the_extremes():
    with refused("cleft", r": cannot mesh sizes so far apart \(psd_radius=1 nm, radius=10 µm\).*make psd_radius "
                          r"larger or radius smaller"):
        cleft(psd_radius="1 nm", radius="10 um", extracellular="10 um")


@pytest.mark.parametrize("radius, thickness", [("1 um", "1 nm"), ("3 um", "5 nm"), ("10 um", "20 nm")])
def test_thin_glia_beside_a_coarse_polygon_is_meshed(radius, thickness):
    for coverage in (0.5, 1.0):
        syn = cleft(radius=radius, glia={"thickness": thickness, "coverage": coverage})
        syn.mesh.check(closed=True)


# -- counts and the glia dict -------------------------------------------------------------------
@pytest.mark.parametrize("build, builder, says", [
    (lambda: cleft_array(True, "1 um"), "cleft_array", r": n=True must be a whole number >= 1 \(an int\); give "
                                                       r"e\.g\. n=2"),
    (lambda: cleft_array(2.0, "1 um"), "cleft_array", r": n=2\.0 must be a whole number"),
    (lambda: cleft(segments=True), "cleft", ": segments=True must be a whole number >= 8"),
    (lambda: cleft_array(2, "1 um", segments=64.0), "cleft_array", r": segments=64\.0 must be a whole number"),
])
def test_counts_are_ints_not_bools(build, builder, says):
    with refused(builder, says):
        build()


@pytest.mark.parametrize("coverage", ["50%", "half", None, True, float("nan"), 0, 1.5])
def test_glia_coverage_must_be_a_fraction(coverage):
    with refused("cleft", rf": glia\['coverage'\]={re.escape(repr(coverage))} must be a number from 0 \(excluded\) "
                          r"to 1; give the fraction"):
        cleft(glia={"coverage": coverage})


def test_glia_coverage_must_span_a_nanometre():
    with refused("cleft", r": glia\['coverage'\]=1e-09 covers an arc of .* less than 1 nm"):
        cleft(glia={"coverage": 1e-9})
    assert cleft(glia={"coverage": 0.01}).area("glia") > 0


@pytest.mark.parametrize("glia, says", [
    ({"dist": "50 nm"}, r"glia=\{'dist': '50 nm'\} must be a dict with keys from \['coverage', 'distance', "
                        r"'height', 'thickness'\]"),
    ("yes", r"glia='yes' must be a dict"),
    ({"thickness": "50 ms"}, r"glia\['thickness'\]: '50 ms' is not a length"),
    ({"height": -0.1}, r"glia\['height'\]=-0.1 is -0.1 µm, but it must be from 1 nm"),
])
def test_glia_keys_and_sizes(glia, says):
    with refused("cleft", f": {says}"):
        cleft(glia=glia)


# -- triangle budget ----------------------------------------------------------------------------
@pytest.mark.parametrize("build, builder, says", [
    (lambda: cleft(segments=20000), "cleft", r"\(segments=20000\) would have [\d,]+ triangles, .*use fewer segments"),
    (lambda: cleft_array(10**6, "1 um"), "cleft_array", r"\(n=1000000, segments=64\) would have .*fewer synapses"),
    (lambda: cleft(radius="1 nm", psd_radius="1 nm", cell_length="10 um"), "cleft", r".*cell_length / radius"),
])
def test_too_many_triangles_are_refused_at_once(build, builder, says):
    start = time.perf_counter()
    with refused(builder, says):
        build()
    assert time.perf_counter() - start < 1


def test_nmj_folds_count_in_the_budget(monkeypatch):
    monkeypatch.setattr(primitives, "physical_memory", lambda: 2 * 10**7)      # room for 10,000 triangles
    with refused("neuromuscular_junction", r"\(length='100 um', fold_spacing='0.2 um'\) with 500 folds would have "
                                           r"12,224 triangles"):
        neuromuscular_junction(length="100 um", fold_spacing="0.2 um")


@pytest.mark.parametrize("build", [
    lambda: cleft(),
    lambda: cleft(segments=32, active_zone_radius="100 nm", cell_length="1 um"),
    lambda: cleft(glia={"coverage": 0.43}),
    lambda: cleft(glia={}, segments=100),
    lambda: cleft_array(3, "1.2 um", glia={"coverage": 0.6}),
    lambda: neuromuscular_junction(),
    lambda: neuromuscular_junction(length="3 um", fold_spacing="0.3 um"),
])
def test_predicted_triangle_count_matches_the_mesh(monkeypatch, build):
    predicted = []
    real = primitives.check_size

    def spy(n, what, fix, error=primitives.MeshError):
        if what.startswith("synapse."):
            predicted.append(n)
        real(n, what, fix, error)

    monkeypatch.setattr(primitives, "check_size", spy)
    syn = build()
    assert predicted == [pytest.approx(syn.mesh.n_triangles, rel=0.02)]


# -- from_mesh: sites and clefts inside the mesh ------------------------------------------------
def test_release_sites_outside_the_mesh_are_named():
    with refused("from_mesh", r": release site 1 at \(5, 5, 5\) µm is not inside the mesh's space \(within "
                              r"\(-0.5, -0.5, -0.5\) to \(0.5, 0.5, 0.5\) µm\) \(and 1 more of the 3 sites\); "
                              r"give release sites inside the extracellular space"):
        from_mesh(box(1.0), release_sites=[(0, 0, 0), (5, 5, 5), (0.7, 0, 0)])


def test_release_site_inside_a_cell_is_refused():
    syn = cleft()
    with refused("from_mesh", r": release site 0 at \(0, 0, 0.1\) µm is not inside"):
        from_mesh(syn.mesh, release_sites=[(0, 0, 0.1)])           # in the bouton
    assert from_mesh(syn.mesh, release_sites=syn.release_sites, cleft=syn.cleft).cleft == syn.cleft


@pytest.mark.parametrize("shape", [Box((5, 5, 5), (6, 6, 6)), Cylinder((0, 0, 0.15), 0.2, 0.1)])
def test_cleft_volume_outside_the_space_is_refused(shape):
    with refused("from_mesh", rf": cleft 0, {re.escape(str(shape))}, lies outside the mesh's space .*give a cleft "
                              r"volume that reaches into the extracellular space"):
        from_mesh(cleft().mesh, cleft=shape)
    corner = Box((0.4, 0.4, 0.4), (6, 6, 6))                         # reaches into the box's corner
    assert from_mesh(box(1.0), cleft=corner).cleft == corner


def test_require_may_be_one_name():
    assert "top" in from_mesh(box(1.0), require="top").mesh.region_names        # not the letters t, o, p
    with refused("from_mesh", ": the mesh has no region 'psd'; its regions"):
        from_mesh(box(1.0), require="psd")


def test_release_sites_that_are_not_numbers():
    with refused("from_mesh", r": release_sites must be finite \(n, 3\) points in µm, got \[\('1 um', 0, 0\)\]"):
        from_mesh(box(1.0), release_sites=[("1 um", 0, 0)])
    with refused("from_mesh", ": cleft must be a geometry Box or Cylinder"):
        from_mesh(box(1.0), cleft=5)
