"""Synapse geometries: the neuromuscular junction builder, the Box shape, meshes loaded with
named groups and materials, and synapses wrapped from such meshes (synapse.from_mesh)."""
import numpy as np
import pytest

import cleftsim as cs
from cleftsim.compiler import scene as world
from cleftsim.errors import MeshError, SynapseError
from cleftsim.geometry import Box, Mesh, box, load, save
from cleftsim.synapse import RELEASE_DEPTH, from_mesh, neuromuscular_junction

NMJ_SHAPES = {
    "defaults": {},
    "three wide folds": dict(height="60 nm", length="2.5 um", width="0.8 um", fold_depth="0.6 um",
                             fold_width="80 nm", fold_spacing="0.7 um", cell_thickness="150 nm",
                             extracellular="250 nm"),
}


def nmj_expected(p):
    """Analytic region areas (µm²) and extracellular volume (µm³) of an NMJ's parameters."""
    h, L, W, T, gap = p["height"], p["length"], p["width"], p["cell_thickness"], p["extracellular"]
    d, fw = p["fold_depth"], p["fold_width"]
    n = int(np.floor(L / p["fold_spacing"] * (1 + 1e-9)))
    muscle_h = d + T
    outer = (L + 2 * gap, W + 2 * gap, h + 2 * T + d + 2 * gap)
    areas = {
        "pre": L * W,
        "pre_other": L * W + 2 * (L + W) * T,
        "post": (L - n * fw) * W,
        "folds": n * (2 * d + fw) * W,
        "post_other": L * W + 2 * W * muscle_h + 2 * (L * muscle_h - n * fw * d),
        "outer": 2 * (outer[0] * outer[1] + outer[1] * outer[2] + outer[0] * outer[2]),
    }
    volume = np.prod(outer) - L * W * T - (L * muscle_h - n * fw * d) * W
    return n, areas, volume


# -- neuromuscular junction ----------------------------------------------------------------
@pytest.mark.parametrize("name", NMJ_SHAPES)
def test_nmj_mesh_is_closed_with_analytic_areas_and_volume(name):
    syn = neuromuscular_junction(**NMJ_SHAPES[name])
    syn.mesh.check(closed=True)
    n, areas, volume = nmj_expected(syn.parameters)
    assert syn.parameters["n_folds"] == n
    assert set(syn.mesh.region_names) == set(areas)
    for region, area in areas.items():
        assert syn.area(region) == pytest.approx(area, rel=1e-9), region
    # the cells' normals point into them: the space's volume is the box minus the cells
    assert syn.mesh.volume == pytest.approx(volume, rel=1e-9)


def test_nmj_membranes_face_the_cleft():
    syn = neuromuscular_junction()
    m, h = syn.mesh, syn.parameters["height"]
    for region, z, normal in (("pre", h / 2, 1.0), ("post", -h / 2, -1.0)):
        tri = m.region(region)
        np.testing.assert_allclose(m.vertices[m.triangles[tri]][..., 2], z, atol=1e-12)
        np.testing.assert_allclose(m.normals[tri], np.tile([0, 0, normal], (len(tri), 1)), atol=1e-12)
    # fold walls: a step along the normal leads into the muscle, not into a fold's lumen
    folds = m.region("folds")
    walls = folds[np.abs(m.normals[folds, 0]) > 0.5]
    x = m.vertices[m.triangles[walls]].mean(axis=1)[:, 0] + 1e-3 * m.normals[walls, 0]
    centres = syn.release_sites[:, 0]
    in_lumen = np.abs(x[:, None] - centres[None]) < syn.parameters["fold_width"] / 2
    assert len(walls) == 4 * syn.parameters["n_folds"] and not in_lumen.any()


@pytest.mark.parametrize("name", NMJ_SHAPES)
def test_nmj_cleft_box_and_release_sites_above_fold_openings(name):
    syn = neuromuscular_junction(**NMJ_SHAPES[name])
    p = syn.parameters
    h, L, W, s = p["height"], p["length"], p["width"], p["fold_spacing"]
    assert isinstance(syn.cleft, Box) and syn.clefts == (syn.cleft,)
    assert syn.cleft.volume == pytest.approx(L * W * h, rel=1e-12)
    n = p["n_folds"]
    centres = (np.arange(n) - (n - 1) / 2) * s
    np.testing.assert_allclose(syn.release_sites, np.column_stack(
        [centres, np.zeros(n), np.full(n, h / 2 - RELEASE_DEPTH)]), atol=1e-12)
    assert syn.cleft.contains(syn.release_sites).all()
    # each site is above a fold's opening: the muscle's surface right below it is a fold bottom
    m = syn.mesh
    bottoms = m.region("folds")[np.abs(m.normals[m.region("folds"), 2]) > 0.5]
    mid = m.vertices[m.triangles[bottoms]].mean(axis=1)
    for site in syn.release_sites:
        assert np.any(np.abs(mid[:, 0] - site[0]) < p["fold_width"] / 2)


def test_nmj_molecules_stay_in_the_space_and_enter_the_folds():
    syn = neuromuscular_junction()
    h = syn.parameters["height"]
    m = cs.Model(dt="1 us", seed=11)
    ach = m.add_species("ach", D="0.4 um^2/ms")
    obj = m.add_geometry(syn.mesh, "nmj")
    lo, hi = np.array(syn.cleft.lo) + 0.005, np.array(syn.cleft.hi) - 0.005
    m.release(ach, n=2000, box=(lo, hi))
    sim = m.simulation()
    start = sim.positions(ach)
    assert syn.cleft.contains(start).all()
    for _ in range(4):
        sim.run("50 us")
        p = sim.positions(ach)
        assert len(p) == 2000
        out = ~world.contains(sim.scene, obj.index, obj.mesh, p)
        assert not out.any(), f"{out.sum()} molecules left the extracellular space, e.g. {p[out][:3]}"
    assert sim.absorbed.sum() == 0
    assert np.sum(p[:, 2] < -h / 2 - 0.02) > 100             # deep into the folds
    assert sim.diagnostics["reflections"] > 0


@pytest.mark.parametrize("kwargs, match", [
    (dict(fold_width="0.5 um", fold_spacing="0.5 um"), "fold_width .* smaller than fold_spacing"),
    (dict(fold_spacing="3 um"), "fold_spacing .* must not exceed length"),
    (dict(length="-1 um"), "length='-1 um' is -1 µm, but it must be from 1 nm"),
    (dict(fold_depth=0), "fold_depth=0 is 0 µm, but it must be from 1 nm"),
    (dict(height="3 nm"), "height .* must exceed"),
    (dict(width="1 s"), "width"),
])
def test_nmj_parameter_errors_name_the_parameter(kwargs, match):
    with pytest.raises((SynapseError, cs.UnitError), match=match):
        neuromuscular_junction(**kwargs)


# -- Box shape ---------------------------------------------------------------------------------
def test_box_shape():
    b = Box((-1.0, 0.0, 0.0), (1.0, 0.5, 0.25))
    assert b.volume == pytest.approx(0.25)
    inside = b.contains([[0, 0.25, 0.1], [1.0, 0.5, 0.25], [1.01, 0.2, 0.1], [0, -0.01, 0.1], [0, 0.2, 0.3]])
    assert inside.tolist() == [True, True, False, False, False]
    assert b.describe() == {"shape": "box", "lo": [-1.0, 0.0, 0.0], "hi": [1.0, 0.5, 0.25]}
    with pytest.raises(ValueError, match="lo < hi"):
        Box((0, 0, 0), (1, 0, 1))


# -- loading named meshes ----------------------------------------------------------------------
CUBE_VERTICES = """v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 0 0 1
v 1 0 1
v 1 1 1
v 0 1 1
"""
# outward quads: bottom, top, front (y = 0), back, left (x = 0), right
CUBE_FACES = ["f 1 4 3 2", "f 5 6 7 8", "f 1 2 6 5", "f 3 4 8 7", "f 1 5 8 4", "f 2 3 7 6"]


def write_obj(tmp_path, body, name="cell.obj"):
    path = tmp_path / name
    path.write_text("mtllib missing.mtl\n" + CUBE_VERTICES + body)
    return path


def named_cube(tmp_path):
    """A unit cube in object "cell": group "membrane" (materials red and blue) and group
    "psd_patch" (material blue, the front face)."""
    f = CUBE_FACES
    body = "\n".join(["o cell", "g membrane", "usemtl red", f[0], f[1], "g psd_patch", "usemtl blue", f[2],
                      "g membrane", f[3], "usemtl red", f[4], f[5]]) + "\n"
    return write_obj(tmp_path, body)


def face_areas(mesh):
    return {name: round(float(mesh.areas[mesh.region(name)].sum()), 9) for name in mesh.region_names}


def test_load_obj_groups_map_names_to_regions(tmp_path):
    path = named_cube(tmp_path)
    plain = load(path)
    plain.check(closed=True)
    assert face_areas(plain) == {"membrane": 5.0, "psd_patch": 1.0}      # groups name the faces
    assert face_areas(load(path, groups={"psd_patch": "psd"})) == {"membrane": 5.0, "psd": 1.0}
    both = load(path, groups={"psd_patch": "post", "membrane": "post"})   # several names, one region
    assert face_areas(both) == {"post": 6.0}
    by_material = load(path, groups={"blue": "psd"})                    # a material name as the key
    assert face_areas(by_material) == {"membrane": 4.0, "psd": 2.0}
    psd = by_material.region("psd")
    np.testing.assert_allclose(np.abs(by_material.normals[psd][:, 1]), 1.0)  # front and back faces
    by_object = load(path, groups={"cell": "spine"})
    assert face_areas(by_object) == {"spine": 6.0}


def test_load_obj_splits_by_material_when_unnamed(tmp_path):
    f = CUBE_FACES
    path = write_obj(tmp_path, "\n".join(["usemtl red", *f[:2], "usemtl blue", f[2], "usemtl red", *f[3:]]) + "\n")
    mesh = load(path)
    assert face_areas(mesh) == {"red": 5.0, "blue": 1.0}
    mesh.check(closed=True)
    assert face_areas(load(path, groups={"red": "post", "blue": "psd"})) == {"post": 5.0, "psd": 1.0}
    # one name in the whole file: the region is "surface", as for an unnamed file
    assert load(write_obj(tmp_path, "o only\n" + "\n".join(f) + "\n", "one.obj")).region_names == ("surface",)


def test_load_groups_errors(tmp_path):
    path = named_cube(tmp_path)
    with pytest.raises(MeshError, match=r"'nope' are not in .*'blue', 'cell', 'membrane', 'psd_patch', 'red'"):
        load(path, groups={"nope": "psd"})
    with pytest.raises(MeshError, match=r"several regions \['post', 'psd'\]"):
        load(path, groups={"blue": "psd", "membrane": "post"})
    with pytest.raises(MeshError, match="not both"):
        load(path, groups={"blue": "psd"}, regions={"a": [0]})
    for face, match in (("f 1 2", "line 10 .*at least three vertex numbers"), ("f 0 1 2", "line 10"),
                        ("f -9 1 2", "line 10 .*beyond the 8 vertices"), ("f 1 2 9", "vertex number 9, .* 8 vertices")):
        with pytest.raises(MeshError, match=match):
            load(write_obj(tmp_path, face + "\n", "bad.obj"))


def test_nmj_round_trip_and_from_mesh(tmp_path):
    syn = neuromuscular_junction()
    save(syn.mesh, tmp_path / "nmj.obj", unit="nm")
    back = load(tmp_path / "nmj.obj", unit="nm")
    assert back.region_names == syn.mesh.region_names
    for region in syn.mesh.region_names:
        assert back.areas[back.region(region)].sum() == pytest.approx(syn.area(region), rel=1e-9)
    rebuilt = from_mesh(back, require=("pre", "post", "folds"), release_sites=syn.release_sites, cleft=syn.cleft)
    assert rebuilt.cleft == syn.cleft
    np.testing.assert_array_equal(rebuilt.release_sites, syn.release_sites)
    assert rebuilt.area("folds") == pytest.approx(syn.area("folds"), rel=1e-9)
    m = cs.Model(dt="1 us", seed=2)
    ach = m.add_species("ach", D="0.4 um^2/ms")
    m.add_geometry(rebuilt.mesh, "nmj")
    m.release(ach, n=10, at=rebuilt.release_sites[0])
    assert len(m.simulation().run("5 us").positions(ach)) == 10


def test_from_mesh_errors():
    cube = box(1.0)
    holed = Mesh(cube.vertices, cube.triangles[2:])
    with pytest.raises(MeshError, match=r"closed surface .*not closed: edge .* has no neighbour.*Fill the holes"):
        from_mesh(holed)
    with pytest.raises(MeshError, match="normals point inward"):
        from_mesh(cube.flipped())
    with pytest.raises(SynapseError, match=r"no region 'psd'; its regions are 'left', 'right'"):
        from_mesh(cube, require=("top", "psd"))
    with pytest.raises(SynapseError, match="release_sites"):
        from_mesh(cube, release_sites=[[0, 0]])
    with pytest.raises(SynapseError, match="cleft"):
        from_mesh(cube, cleft="the cleft")
    syn = from_mesh(cube, release_sites=(0, 0, 0))
    assert syn.release_sites.shape == (1, 3) and syn.clefts == ()
    with pytest.raises(SynapseError, match="no cleft volume"):
        syn.cleft
