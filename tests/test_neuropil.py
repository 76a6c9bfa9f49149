"""The neuropil block builder (cs.synapse.neuropil) and the α/λ measurement (cs.synapse.tortuosity):
closed meshes that the package's checks accept, α from the mesh against thrown points, a space
that no molecule leaves, λ on exact cases, reproducibility and the builder's errors; the same for
blocks with dead-end pockets (dead_space=), and λ rising with them."""
import math
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import cleftsim as cs
from cleftsim.errors import SynapseError
from cleftsim.geometry import box, combine
from cleftsim.synapse import RELEASE_DEPTH, Neuropil, neuropil, tortuosity

ROOT = Path(__file__).resolve().parents[1]
Z = 4.0          # tolerances: 4 standard errors (a false failure about once in 16 000 runs)
LAMBDA_BRAIN_LIKE = (1.630, 0.018)  # λ ± SE of the brain-like block (dead_space 0.45, seed 1) in docs/neuropil.md


@pytest.fixture(scope="module")
def block() -> Neuropil:
    """A 2 µm block: 64 cells of 0.5 µm, 16 synapses (2 per µm³), 6 glial cells."""
    return neuropil(size="2 um", seed=1)


def inside_of(mesh):
    """The point-in-object test of a closed mesh, as a model of its own sees it."""
    model = cs.Model(dt="1 us", seed=1)
    model.add_species("x", D=1.0)
    obj = model.add_geometry(mesh, "space")
    sim = model.simulation()
    return lambda points: sim.inside(obj, points)


@pytest.fixture(scope="module")
def pocketed() -> Neuropil:
    """The same block (the same cells, glia and synapses) with 45 % of its space in dead-end
    pockets (the brain-like setting of docs/neuropil.md)."""
    return neuropil(size="2 um", seed=1, dead_space=0.45)


def test_the_block_is_closed_and_passes_the_checks_of_a_model(block):
    mesh = block.mesh
    mesh.check(closed=True)                       # closed, outward, no cell touches another or the box
    assert mesh.is_closed
    p = block.parameters
    assert (p["n_cells"], p["n_glia"], p["n_synapses"], block.n_synapses) == (64, 6, 16, 16)
    assert set(mesh.region_names) == {"outer", "neuron", "glia", *block.psd_regions, *block.active_zone_regions}
    assert block.block.volume == pytest.approx(8.0)
    np.testing.assert_allclose(mesh.bounds[0], -1.0)
    np.testing.assert_allclose(mesh.bounds[1], 1.0)
    assert 0 < block.alpha < 1 and mesh.volume == pytest.approx(block.alpha * 8.0)
    # the "outer" box is the block's boundary, and every cell keeps gap/2 from it
    outer = mesh.region("outer")
    cells = np.setdiff1d(np.arange(mesh.n_triangles), outer)
    gap = p["gap"]
    assert np.all(np.abs(mesh.vertices[np.unique(mesh.triangles[cells])]) <= 1.0 - gap / 2 + 1e-12)
    # the model accepts it and compiles it (its own intersection checks included)
    model = cs.Model(dt="1 us", seed=1)
    glu = model.add_species("glu", D="0.33 um^2/ms")
    obj = model.add_geometry(mesh, "neuropil")
    model.release(glu, 100, at=block.release_sites[0])
    model.count(glu, inside=obj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cs.AccuracyWarning)       # dt = 1 us in 20 nm clefts
        cs.compile(model)


def test_each_synapse_is_a_psd_facing_an_active_zone_across_the_gap(block):
    mesh, gap = block.mesh, block.parameters["gap"]
    disc = math.pi * block.parameters["psd_radius"] ** 2
    for i in range(block.n_synapses):
        n = block.normals[i]
        psd, az = mesh.region(f"psd_{i}"), mesh.region(f"active_zone_{i}")
        # the space's normals point into the cells: into the postsynaptic one at the PSD
        np.testing.assert_allclose(mesh.normals[psd], np.tile(n, (len(psd), 1)), atol=1e-9)
        np.testing.assert_allclose(mesh.normals[az], np.tile(-n, (len(az), 1)), atol=1e-9)
        segments = block.parameters["segments"]
        polygon = disc * segments / (2 * math.pi) * math.sin(2 * math.pi / segments)
        assert block.area(f"psd_{i}") == pytest.approx(polygon, rel=1e-9)
        c_psd = mesh.vertices[mesh.triangles[psd]].reshape(-1, 3).mean(axis=0)
        c_az = mesh.vertices[mesh.triangles[az]].reshape(-1, 3).mean(axis=0)
        np.testing.assert_allclose(c_psd - c_az, gap * n, atol=1e-9)      # facing, gap apart
        np.testing.assert_allclose(block.centers[i], (c_psd + c_az) / 2, atol=1e-9)
        np.testing.assert_allclose(block.release_sites[i], c_az + RELEASE_DEPTH * n, atol=1e-9)
        assert not block.glial[block.pre[i]] and not block.glial[block.post[i]]
    assert len({tuple(sorted(pair)) for pair in zip(block.pre, block.post)}) == block.n_synapses
    # neighbours: the others within the distance, nearest first
    near = block.neighbours("1 um")
    d = np.linalg.norm(block.centers[:, None] - block.centers[None], axis=-1)
    for i, js in enumerate(near):
        assert set(js) == set(np.flatnonzero((d[i] <= 1.0) & (np.arange(len(d)) != i)))
        assert np.all(np.diff(d[i][js]) >= 0)


def test_alpha_from_the_mesh_matches_thrown_points(block):
    """α = (box - cells)/box from the mesh's volumes against the fraction of 2·10⁵ uniform points in
    the block that the point-in-object test puts in the space: binomial, SE √(α(1-α)/N) = 7e-4."""
    model = cs.Model(dt="1 us", seed=1)
    model.add_species("x", D=1.0)
    obj = model.add_geometry(block.mesh, "neuropil")
    sim = model.simulation()
    n = 200_000
    points = np.random.default_rng(5).uniform(-1.0, 1.0, size=(n, 3))
    inside = sim.inside(obj, points).mean()
    se = math.sqrt(block.alpha * (1 - block.alpha) / n)
    assert abs(inside - block.alpha) < Z * se, (inside, block.alpha, se)


def walk_without_leaks(mesh, check=None):
    """10⁴ glutamate molecules from uniform points of the space of ``mesh`` take 1000 steps of
    1 µs; at every 100th step each must be in the space (the point-in-object test) and inside the
    block, and ``check(positions)`` (if given) holds. 10⁷ molecule-steps in all."""
    model = cs.Model(dt="1 us", seed=2)
    glu = model.add_species("glu", D="0.33 um^2/ms")
    obj = model.add_geometry(mesh, "neuropil")
    model.release(glu, 10_000, inside=obj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cs.AccuracyWarning)
        sim = model.simulation()
    steps = 0
    for _ in range(10):
        sim.advance(100)
        steps += 100 * sim.count(glu)
        pos = sim.positions(glu)
        assert len(pos) == 10_000
        assert np.all(np.abs(pos) < 1.0)
        out = ~sim.inside(obj, pos)
        assert not out.any(), f"{out.sum()} molecules inside cells, e.g. at {pos[out][:3]}"
        if check is not None:
            check(pos)
    assert steps == 10**7


def test_no_molecule_leaves_the_space_in_ten_million_steps(block):
    """10⁴ glutamate molecules from uniform points of the space, 1000 steps of 1 µs (σ = 26 nm,
    longer than the 20 nm sheets: many reflections per step): at every 100th step every molecule
    is in the space (the point-in-object test) and inside the block."""
    walk_without_leaks(block.mesh)


def test_the_pocketed_block_is_closed_passes_the_checks_and_keeps_its_cells_and_synapses(block, pocketed):
    mesh = pocketed.mesh
    mesh.check(closed=True)                       # closed, outward, no pit touches a face or another pit
    assert mesh.is_closed
    p = pocketed.parameters
    assert (p["n_cells"], p["n_synapses"], p["n_pockets"]) == (64, 16, pocketed.n_pockets)
    assert pocketed.n_pockets > 100 and len(pocketed.pocket_cells) == len(pocketed.pocket_volumes) == p["n_pockets"]
    assert mesh.region_names == block.mesh.region_names
    for x, y in ((pocketed.seeds, block.seeds), (pocketed.glial, block.glial), (pocketed.centers, block.centers),
                 (pocketed.release_sites, block.release_sites)):
        assert x.tobytes() == y.tobytes()
    for name in (*block.psd_regions, *block.active_zone_regions):
        assert pocketed.area(name) == block.area(name)
    # the pockets are carved out of the cells: the space grows by exactly their volume, which is
    # the dead space asked for (the nearest whole number of pockets: within one pocket's share)
    extra = mesh.volume - block.mesh.volume
    assert extra == pytest.approx(pocketed.pocket_volumes.sum(), rel=1e-9)
    assert pocketed.dead_space == pytest.approx(extra / mesh.volume, rel=1e-9)
    assert abs(pocketed.dead_space - 0.45) < pocketed.pocket_volumes.max() / mesh.volume
    assert pocketed.alpha == pytest.approx(block.alpha + extra / 8.0, rel=1e-9)
    # no pocket opens on a face that carries a PSD or an active zone: the faces of a convex cell lie
    # in distinct planes, so a hole in the plane of a disc of its own cell would be on that face
    for i in range(block.n_synapses):
        for region, cell in ((f"psd_{i}", block.post[i]), (f"active_zone_{i}", block.pre[i])):
            tri = mesh.region(region)
            n, x = mesh.normals[tri[0]], mesh.vertices[mesh.triangles[tri[0], 0]]
            mine = pocketed.pockets[pocketed.pocket_cells == cell]
            assert np.all(np.abs((mine - x) @ n) > 1e-6), (region, cell)
    # every hole lies on the surface of its cell, gap/2 or more inside the block
    assert np.all(np.abs(pocketed.pockets) <= 1.0 - p["gap"] / 2 + 1e-12)
    model = cs.Model(dt="1 us", seed=1)
    glu = model.add_species("glu", D="0.33 um^2/ms")
    obj = model.add_geometry(mesh, "neuropil")
    model.release(glu, 100, at=pocketed.release_sites[0])
    model.count(glu, inside=obj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cs.AccuracyWarning)
        cs.compile(model)


def test_alpha_with_pockets_from_the_mesh_matches_thrown_points(pocketed):
    """As above with pockets (α = 0.21): the point-in-object test finds the pockets' space, 2·10⁵
    points, SE 9e-4; and the points in pockets (in the space but inside a cell of the same block
    without pockets) are the dead space's share of those in the space (binomial)."""
    n = 200_000
    points = np.random.default_rng(6).uniform(-1.0, 1.0, size=(n, 3))
    inside = inside_of(pocketed.mesh)(points)
    a = pocketed.alpha
    assert abs(inside.mean() - a) < Z * math.sqrt(a * (1 - a) / n), (inside.mean(), a)
    in_pockets = inside & ~inside_of(neuropil(size="2 um", seed=1).mesh)(points)
    k, d = int(inside.sum()), pocketed.dead_space
    assert abs(in_pockets.sum() / k - d) < Z * math.sqrt(d * (1 - d) / k), (in_pockets.sum() / k, d)


def test_no_molecule_leaves_the_space_with_pockets_in_ten_million_steps(pocketed):
    """As the test without pockets: 10⁴ glutamate molecules, 1000 steps of σ = 26 nm, longer than
    the pockets' 20 nm necks and the sheets. At every 100th step every molecule is in the space,
    and the share in the pockets stays the dead space (binomial, 4 SE = 0.02): the necks neither
    leak nor trap molecules in or out."""
    flat = inside_of(neuropil(size="2 um", seed=1).mesh)
    d = pocketed.dead_space

    def share_stays_the_dead_space(pos):
        share = float(np.mean(~flat(pos)))
        assert abs(share - d) < Z * math.sqrt(d * (1 - d) / 10_000), (share, d)

    walk_without_leaks(pocketed.mesh, share_stays_the_dead_space)


def test_pockets_raise_the_tortuosity(block, pocketed):
    """Dead-end pockets hold molecules without letting them through, so the long-time diffusion
    slows (Hrabe et al. 2004: λ grows as the square root of the volume fraction added by dead-end
    pores). The 2 µm blocks with and without pockets, 4000 molecules each: λ rises from about 1.21
    by more than 4 standard errors of the difference; the default step is at most a quarter of the
    narrowest passage (20 nm sheets and necks: 5 nm; here t2 / 2000 is shorter still)."""
    flat = tortuosity(block, molecules=4000, starts=400, D=1000.0, seed=1)
    deep = tortuosity(pocketed, molecules=4000, starts=400, D=1000.0, seed=1)
    assert math.sqrt(2 * 1000.0 * deep.dt) <= 0.02 / 4 * (1 + 1e-9)
    assert abs(flat.lam - 1.21) < Z * flat.lam_se and flat.lam_se < 0.02
    assert deep.lam - flat.lam > Z * math.hypot(deep.lam_se, flat.lam_se), (flat.lam, deep.lam)
    assert abs(deep.alpha - pocketed.alpha) < Z * deep.alpha_se


def test_the_default_step_resolves_necks_narrower_than_the_gap():
    """With necks of 12 nm in 20 nm sheets the default step is 12 nm / 4 = 3 nm."""
    syn = neuropil(size="1.5 um", synapse_density=0, dead_space=0.2, pocket_neck="12 nm", seed=3)
    assert syn.n_pockets > 0
    r = tortuosity(syn, molecules=200, starts=20, D=1000.0, seed=1)
    assert math.sqrt(2 * 1000.0 * r.dt) == pytest.approx(0.012 / 4)


def test_tortuosity_of_free_space_is_one():
    """In free space MSD = 6Dt: λ = 1 within 4 of the estimator's standard errors (0.005)."""
    r = tortuosity(box(4.0), molecules=10_000, starts=1000, seed=3)
    assert r.alpha == 1.0 and r.alpha_se == 0.0
    assert 0 < r.lam_se < 0.01
    assert abs(r.lam - 1.0) < Z * r.lam_se, (r.lam, r.lam_se)
    assert r.msd[0] == 0 and np.all(np.diff(r.msd) > 0)


def plates(n: int = 9, gap: float = 0.05, thickness: float = 0.02, width: float = 3.2, size: float = 4.0):
    """A box of ``size`` holding ``n`` square plates (``width`` across, ``thickness`` thick) stacked
    along z ``gap`` apart; the space is the box minus the plates."""
    pitch = gap + thickness
    zs = (np.arange(n) - (n - 1) / 2) * pitch
    parts = [box((width, width, thickness), center=(0.0, 0.0, z)).flipped() for z in zs]
    return combine(box(size), *parts), zs, pitch


def test_tortuosity_between_parallel_plates_is_the_square_root_of_three_halves():
    """Between stacked reflecting plates the displacement across them saturates at the gap's size,
    so MSD(t2) - MSD(t1) = 4D(t2 - t1) once t1 >> gap²/D: λ = √(3/2) exactly. Molecules start
    between the inner plates, 1.1 µm from the plates' edges, and the fit ends before they can
    reach the edges (four free standard deviations): within 4 standard errors."""
    mesh, zs, pitch = plates()
    D = 1000.0                                               # µm²/s
    t2 = (1.1 / 4) ** 2 / (2 * D)
    inner = (zs[1] + pitch / 2, zs[-2] - pitch / 2)          # between the second and the last but one plate
    r = tortuosity(mesh, molecules=20_000, starts=4000, D=D, times=(t2 / 2, t2),
                   start=((-0.5, -0.5, inner[0]), (0.5, 0.5, inner[1])), seed=4)
    assert 0 < r.lam_se < 0.01
    assert abs(r.lam - math.sqrt(1.5)) < Z * r.lam_se, (r.lam, r.lam_se)
    # α: the box minus the plates
    exact = 1 - len(zs) * 3.2 * 3.2 * 0.02 / 64
    assert abs(r.alpha - exact) < Z * r.alpha_se


@pytest.mark.slow
def test_the_tortuosity_of_the_default_block_is_that_of_thin_sheets():
    """The default cells and gap in a block 7.5 cells across (docs/neuropil.md): α from thrown points
    matches the mesh's; λ matches the documented 1.2085 ± 0.0063 (another walk of the same block:
    within 4 SE of the difference) and stays below the thin-sheet limit √(3/2) (within 4 SE)."""
    syn = neuropil(size=3.75, synapse_density=0, seed=1)
    r = tortuosity(syn, seed=9)
    assert abs(r.alpha - syn.alpha) < Z * r.alpha_se
    assert abs(r.lam - 1.2085) < Z * math.hypot(r.lam_se, 0.0063), (r.lam, r.lam_se)
    assert r.lam < math.sqrt(1.5) + Z * r.lam_se


@pytest.mark.slow
def test_the_brain_like_setting_gives_the_brain_s_alpha_and_lambda():
    """dead_space=0.45 with the default cells and gap, in a block 7.5 cells across
    (docs/neuropil.md): α from thrown points matches the mesh's, and λ the documented 1.630 ± 0.018
    (another walk of the same block, 10⁴ molecules: within 4 SE of the difference); both lie in the
    brain's range (α 0.18-0.24, λ 1.5-1.7; Syková & Nicholson 2008)."""
    syn = neuropil(size=3.75, synapse_density=0, dead_space=0.45, seed=1)
    assert abs(syn.dead_space - 0.45) < 0.001
    r = tortuosity(syn, molecules=10_000, starts=1000, seed=9)
    assert abs(r.alpha - syn.alpha) < Z * r.alpha_se
    assert abs(r.lam - LAMBDA_BRAIN_LIKE[0]) < Z * math.hypot(r.lam_se, LAMBDA_BRAIN_LIKE[1]), (r.lam, r.lam_se)
    assert 0.18 < syn.alpha < 0.24 and 1.5 < r.lam < 1.7


def test_the_same_seed_gives_the_same_mesh_bit_for_bit():
    for kwargs in ({}, {"dead_space": 0.3}):
        a, b = neuropil(size="1.5 um", seed=7, **kwargs), neuropil(size="1.5 um", seed=7, **kwargs)
        for x, y in ((a.mesh.vertices, b.mesh.vertices), (a.mesh.triangles, b.mesh.triangles),
                     (a.mesh.region_ids, b.mesh.region_ids), (a.release_sites, b.release_sites), (a.glial, b.glial),
                     (a.pockets, b.pockets)):
            assert x.tobytes() == y.tobytes()
        assert a.mesh.region_names == b.mesh.region_names
    assert a.n_pockets > 0
    c = neuropil(size="1.5 um", seed=8)
    assert c.mesh.n_triangles != a.mesh.n_triangles or not np.array_equal(c.mesh.vertices, a.mesh.vertices)


def test_sizes_cells_and_densities_follow_the_parameters():
    syn = neuropil(size=("1 um", "2 um", 1.5), cell_size="0.4 um", gap="30 nm", glia_fraction=0.5,
                   synapse_density="1 /um^3", psd_radius="60 nm", active_zone_radius="80 nm", seed=2)
    p = syn.parameters
    assert p["size"] == (1.0, 2.0, 1.5)
    assert p["n_cells"] == round(3.0 / 0.4**3) and p["n_glia"] == round(0.5 * p["n_cells"])
    assert syn.n_synapses == 3 and syn.glial.sum() == p["n_glia"]
    assert p["gap"] == pytest.approx(0.03) and p["active_zone_radius"] == pytest.approx(0.08)
    assert syn.area("active_zone_0") > syn.area("psd_0")
    none = neuropil(size=1.0, synapse_density=0, glia_fraction=0, seed=1)
    assert none.n_synapses == 0 and set(none.mesh.region_names) == {"outer", "neuron"}
    assert len(none.release_sites) == 0 and none.neighbours() == ()


@pytest.mark.parametrize("kwargs, words", [
    (dict(size=-1), ["size=-1", "1 nm"]),
    (dict(size=(1, 2)), ["size=(1, 2)", "one length", "three"]),
    (dict(size="0.3 um"), ["size", "at least cell_size", "larger size"]),
    (dict(cell_size=500), ["cell_size=500", "'500 nm'"]),
    (dict(gap=20), ["gap=20", "'20 nm'"]),
    (dict(gap="3 nm"), ["gap (3 nm)", "must exceed 4 nm", "larger gap"]),
    (dict(gap="150 nm"), ["gap (150 nm)", "0.2 × cell_size", "smaller gap or a larger cell_size"]),
    (dict(glia_fraction=1.5), ["glia_fraction=1.5", "from 0 to 1"]),
    (dict(glia_fraction="10 %"), ["glia_fraction='10 %'", "from 0 to 1"]),
    (dict(synapse_density=50), ["synapse_density=50", "from 0 to 10 per µm³", "'2 /um^3'"]),
    (dict(synapse_density="2 um"), ["synapse_density='2 um'", "number per volume"]),
    (dict(psd_radius="400 nm"), ["synapse_density", "fit on only", "smaller psd_radius"]),
    (dict(segments=3), ["segments=3", "whole number >= 6"]),
    (dict(segments=12.0), ["segments=12.0", "an int"]),
    (dict(seed=-1), ["seed=-1", ">= 0"]),
    (dict(dead_space=0.9), ["dead_space=0.9", "from 0 to 0.8", "dead_space=0.4"]),
    (dict(dead_space="40 %"), ["dead_space='40 %'", "from 0 to 0.8"]),
    (dict(dead_space=0.8, synapse_density=0), ["dead_space=0.8", "hold only", "lower dead_space"]),
    (dict(pocket_neck=20), ["pocket_neck=20", "'20 nm'"]),
])
def test_bad_parameters_are_refused_naming_the_parameter_and_the_fix(kwargs, words):
    with pytest.raises(SynapseError) as err:
        neuropil(**{"size": "1.5 um", **kwargs})
    message = str(err.value)
    assert message.startswith("synapse.neuropil: ")
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("args, kwargs, words", [
    (("not a mesh",), {}, ["needs a Synapse", "str"]),
    ((None,), dict(molecules=0), ["needs a Synapse"]),
    ((box(1.0),), dict(molecules=0), ["molecules=0", "whole number >= 1"]),
    ((box(1.0),), dict(starts=10, molecules=5), ["starts=10 exceeds molecules=5"]),
    ((box(1.0),), dict(times=(2e-6, 1e-6)), ["0 < t1 < t2"]),
    ((box(1.0),), dict(start=((-0.1, -0.1, -0.1), (0.1, 0.1, 0.9))), ["within the geometry's bounds"]),
    ((box(1.0),), dict(start=((-0.5, -0.1, -0.1), (0.1, 0.1, 0.1))), ["give times=(t1, t2)"]),
    ((box(1.0),), dict(D=-1.0), ["D=-1.0", "positive"]),
])
def test_bad_tortuosity_arguments_are_refused(args, kwargs, words):
    with pytest.raises(SynapseError) as err:
        tortuosity(*args, **kwargs)
    for word in words:
        assert word in str(err.value), str(err.value)


def test_the_spillover_example_runs_small(tmp_path):
    """examples/spillover.py on a 1.5 µm block (7 synapses) for 1 ms: the releases it reports,
    receptors opening at the releasing synapses, the three timings and the figure."""
    env = dict(os.environ, MPLBACKEND="Agg", CLEFTSIM_NO_PROGRESS="1")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "spillover.py"), "--size", "1.5", "--t-end", "1",
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "7 synapses" in out
    k, n = map(int, re.search(r"releases: (\d+) of (\d+) synapses", out).groups())
    assert n == 7 and 1 <= k <= 7
    assert float(re.search(r"peak open AMPA at releasing synapses: ([0-9.]+)", out).group(1)) > 0
    for part in ("build", "compile", "run"):
        assert re.search(rf"^{part}: [0-9.]+ s$", out, re.M), out
    png = tmp_path / "spillover.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and (tmp_path / "spillover.pdf").stat().st_size > 1000
