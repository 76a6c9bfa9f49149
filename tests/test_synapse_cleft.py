"""The disc-synapse builder: regions, closedness, containment, and the exact point-release
concentration over the PSD (docs/reference.md §1.3) with receptors and transporters absent."""
import numpy as np
import pytest

import cleftsim as cs
from cleftsim.compiler import scene as world
from cleftsim.errors import SynapseError
from cleftsim.geometry.shapes import Cylinder
from cleftsim.synapse import RELEASE_DEPTH


def polygon_area(r, segments=64):
    return 0.5 * segments * r**2 * np.sin(2 * np.pi / segments)


def test_cleft_regions_and_areas():
    syn = cs.synapse.cleft(height="20 nm", radius="250 nm", psd_radius="150 nm", active_zone_radius="100 nm",
                           cell_length="300 nm")
    mesh = syn.mesh
    mesh.check(closed=True)
    assert set(mesh.region_names) == {"psd", "post", "active_zone", "pre", "outer"}
    assert syn.area("psd") == pytest.approx(polygon_area(0.15), rel=1e-12)
    assert syn.area("active_zone") == pytest.approx(polygon_area(0.10), rel=1e-12)
    # the rest of a cell: face annulus + far cap + side (perimeter of the 64-gon × length)
    side = 64 * 2 * 0.25 * np.sin(np.pi / 64) * 0.3
    assert syn.area("post") == pytest.approx(2 * polygon_area(0.25) - polygon_area(0.15) + side, rel=1e-12)
    # normals of the PSD point into the spine (−z), of the active zone into the bouton (+z)
    assert np.allclose(mesh.normals[mesh.region("psd")], [0, 0, -1])
    assert np.allclose(mesh.normals[mesh.region("active_zone")], [0, 0, 1])
    assert np.allclose(syn.release_sites, [[0, 0, 0.01 - RELEASE_DEPTH]])
    # the space: a cylinder of radius R + gap and half height h/2 + L + gap, minus the two cells
    outer = polygon_area(0.75) * 2 * (0.01 + 0.3 + 0.5)
    assert mesh.volume == pytest.approx(outer - 2 * polygon_area(0.25) * 0.3, rel=1e-9)


def test_glia_ring_and_coverage():
    full = cs.synapse.cleft(glia={"distance": "50 nm", "thickness": "40 nm", "height": "200 nm"})
    part = cs.synapse.cleft(glia={"distance": "50 nm", "thickness": "40 nm", "height": "200 nm",
                                  "coverage": 0.5})
    for syn in (full, part):
        syn.mesh.check(closed=True)
        g = syn.mesh.region("glia")
        r = np.hypot(*syn.mesh.vertices[syn.mesh.triangles[g]].reshape(-1, 3)[:, :2].T)
        assert r.min() == pytest.approx(0.30) and r.max() == pytest.approx(0.34)
    # the opening is centred on +x: no glia there, glia on −x
    c = part.mesh.vertices[part.mesh.triangles[part.mesh.region("glia")]].mean(axis=1)
    assert np.all(np.arctan2(c[:, 1], c[:, 0]) ** 2 >= (np.pi / 2) ** 2 - 1e-9)
    # the inner faces (normals radial, pointing into the glia, at r = 0.30) of half a ring have
    # half the area of the full ring's: coverage × 2π r h up to the polygon's chords

    def inner(s):
        g = s.mesh.region("glia")
        c = s.mesh.vertices[s.mesh.triangles[g]].mean(axis=1)
        radial = c * [1, 1, 0] / np.hypot(c[:, 0], c[:, 1])[:, None]
        facing = np.einsum("ij,ij->i", s.mesh.normals[g], radial) > 0.99
        return s.mesh.areas[g][facing & (np.hypot(c[:, 0], c[:, 1]) < 0.32)].sum()

    assert inner(part) / inner(full) == pytest.approx(0.5, rel=1e-12)
    assert inner(full) == pytest.approx(64 * 2 * 0.3 * np.sin(np.pi / 64) * 0.2, rel=1e-12)


def test_array_of_synapses_has_one_region_set_per_synapse():
    syn = cs.synapse.cleft_array(3, "1 um", glia={})
    syn.mesh.check(closed=True)
    for i in range(3):
        for r in ("psd", "post", "active_zone", "pre", "glia"):
            assert f"{r}_{i}" in syn.mesh.region_names
    assert np.allclose(syn.release_sites[:, 0], [-1, 0, 1])
    assert [c.center[0] for c in syn.clefts] == [-1, 0, 1]
    with pytest.raises(SynapseError, match="spacing"):
        cs.synapse.cleft_array(2, "400 nm")


@pytest.mark.parametrize("bad, match", [
    (dict(psd_radius="300 nm"), "psd_radius"), (dict(height="3 nm"), "height"),
    (dict(glia={"coverage": 1.5}), "coverage"), (dict(glia={"distnce": 1}), "glia"), (dict(radius=-1), "radius"),
])
def test_bad_dimensions_are_refused_by_name(bad, match):
    with pytest.raises(SynapseError, match=match):
        cs.synapse.cleft(**bad)


def test_molecules_stay_in_the_space_and_the_cleft_count_is_exact():
    syn = cs.synapse.cleft(glia={"coverage": 0.6})
    m = cs.Model(dt="1 us", seed=11)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    obj = m.add_geometry(syn.mesh, "synapse")
    m.release(glu, n=3000, at=tuple(syn.release_sites[0]))
    sim = m.simulation()
    for _ in range(4):
        sim.advance(50)
        pts = sim.positions(glu)
        assert len(pts) == 3000
        assert world.contains(sim.scene, obj.index, obj.mesh, pts).all()
        inside = syn.cleft.contains(pts)
        m_in = (np.hypot(pts[:, 0], pts[:, 1]) <= 0.25) & (np.abs(pts[:, 2]) <= 0.01)
        assert np.array_equal(inside, m_in)


@pytest.mark.slow
def test_point_release_gives_the_exact_concentration_over_the_psd():
    """docs/reference.md §1.3, infinite reflecting plates: the mean concentration over a central disc of
    radius a is N/(πa²h)·[1 − exp(−a²/4Dt)], so the number of molecules over the PSD disc is
    Binomial(N, 1 − exp(−a²/4Dt)) at every t (the x–y walk is exactly Gaussian; the plates only
    fold z). Until 8 µs fewer than 0.3 % of the molecules have reached the rim (exp(−R²/4Dt)), so
    the rim cannot change the counts by a detectable amount. The preset runs with no receptors or
    transporters; 3000 molecules, 6 seeds pooled; tolerance 4.5 SE per time."""
    a, h, R, D = 0.15, 0.02, 0.25, 330.0
    times_us = (2, 4, 6, 8)
    counts = np.zeros(len(times_us))
    n_total = 0
    for seed in range(6):
        model = cs.presets.ca1_synapse(seed=seed, n_ampa=0, n_nmda=0, glia_coverage=0)
        model.count("glu", inside=Cylinder((0, 0, 0), a, h), name="psd")
        res = model.run(t_end="8 us", every="2 us")
        counts += res["psd"][1:]
        n_total += 3000
    t = np.array(times_us) * 1e-6
    p = 1 - np.exp(-a**2 / (4 * D * t))
    assert np.exp(-R**2 / (4 * D * t[-1])) < 3e-3
    se = np.sqrt(n_total * p * (1 - p))
    z = (counts - n_total * p) / se
    assert np.all(np.abs(z) < 4.5), z
