"""Tests for cleftsim.geometry: Mesh, topology checks, primitives and file IO."""
import pickle
import re

import numpy as np
import pytest

from cleftsim.errors import MeshError, UnitError
from cleftsim.geometry import Mesh, box, cylinder, icosphere, load, save

# Unit right tetrahedron, outward winding: volume 1/6.
TET_V = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
TET_T = [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]


def torus(R=1.0, r=0.3, nu=24, nv=12):
    """A closed, outward-oriented, non-convex (genus-1) mesh built from a quad grid."""
    u, v = np.meshgrid(np.arange(nu) / nu, np.arange(nv) / nv, indexing="ij")
    u, v = 2 * np.pi * u, 2 * np.pi * v
    verts = np.stack(
        [(R + r * np.cos(v)) * np.cos(u), (R + r * np.cos(v)) * np.sin(u), r * np.sin(v)], axis=-1
    ).reshape(-1, 3)
    a = np.arange(nu * nv).reshape(nu, nv)
    b, d = np.roll(a, -1, axis=0), np.roll(a, -1, axis=1)
    c = np.roll(b, -1, axis=1)
    tris = np.stack([np.stack([a, b, c], -1), np.stack([a, c, d], -1)]).reshape(-1, 3)
    return Mesh(verts, tris)


def min_angle_deg(mesh, idx):
    p = mesh.vertices[mesh.triangles[idx]]
    angles = []
    for k in range(3):
        e1, e2 = p[:, (k + 1) % 3] - p[:, k], p[:, (k + 2) % 3] - p[:, k]
        e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
        e2 /= np.linalg.norm(e2, axis=1, keepdims=True)
        cos = np.einsum("ij,ij->i", e1, e2)
        angles.append(np.degrees(np.arccos(cos)))
    return float(np.min(angles))


# -- Mesh -------------------------------------------------------------------------------------
def test_tetrahedron_properties():
    m = Mesh(TET_V, TET_T)
    assert m.vertices.dtype == np.float64 and m.vertices.flags.c_contiguous
    assert m.triangles.dtype == np.int32 and m.triangles.flags.c_contiguous
    assert m.n_triangles == 4
    assert m.volume == pytest.approx(1 / 6, rel=1e-14)
    np.testing.assert_allclose(m.areas, [0.5, 0.5, 0.5, np.sqrt(3) / 2])
    np.testing.assert_allclose(m.normals[:3], [[0, 0, -1], [0, -1, 0], [-1, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(m.normals[3], np.ones(3) / np.sqrt(3))
    lo, hi = m.bounds
    np.testing.assert_array_equal(lo, [0, 0, 0])
    np.testing.assert_array_equal(hi, [1, 1, 1])
    assert m.region_names == ("surface",)
    np.testing.assert_array_equal(m.region_ids, [0, 0, 0, 0])
    assert m.region("surface").dtype == np.int32
    np.testing.assert_array_equal(m.region("surface"), np.arange(4))
    assert m.is_closed
    m.check(closed=True)


def test_mesh_is_immutable_and_owns_its_data():
    verts = np.array(TET_V)
    m = Mesh(verts, TET_T)
    verts[0] = 5.0
    assert m.vertices[0].tolist() == [0.0, 0.0, 0.0]
    arrays = (m.vertices, m.triangles, m.region_ids, m.normals, m.areas, m.bounds[0])
    for arr in (*arrays, m.region("surface")):
        with pytest.raises(ValueError):
            arr[0] = 1


def test_regions_in_order_with_default_surface():
    m = Mesh(TET_V, TET_T, {"b": [3], "a": np.array([0, 2])})
    assert m.region_names == ("b", "a", "surface")
    np.testing.assert_array_equal(m.region_ids, [1, 2, 1, 0])
    np.testing.assert_array_equal(m.region("a"), [0, 2])
    np.testing.assert_array_equal(m.region("surface"), [1])
    # an explicit "surface" region also collects the unlisted triangles
    m2 = Mesh(TET_V, TET_T, {"surface": [3], "x": [0]})
    assert m2.region_names == ("surface", "x")
    np.testing.assert_array_equal(m2.region("surface"), [1, 2, 3])
    # every triangle listed: no "surface" region is made
    assert Mesh(TET_V, TET_T, {"all": range(4)}).region_names == ("all",)


@pytest.mark.parametrize(
    "vertices, triangles, regions, match",
    [
        (np.zeros((0, 3)), np.zeros((0, 3), int), None, "empty"),
        (TET_V, np.zeros((0, 3), int), None, "empty"),
        (np.zeros((4, 2)), TET_T, None, r"shape \(V, 3\)"),
        (TET_V, [[0, 1, 2, 3]], None, r"shape \(T, 3\)"),
        (TET_V, np.array(TET_T, float), None, "integer"),
        ([[0, 0, 0], [1, 0, np.nan], [0, 1, 0], [0, 0, 1]], TET_T, None, "vertices 1 are not"),
        (TET_V, [[0, 1, 2], [1, 2, 4]], None, r"triangles 1 use vertex indices outside 0\.\.3"),
        (TET_V, TET_T, {"a": [0, 1], "b": [1, 2]}, "triangles 1 are in both region 'a' and region"),
        (TET_V, TET_T, {"a": [7]}, "region 'a' lists triangles 7"),
        (TET_V, TET_T, {"a": []}, "region 'a' has no triangles"),
        (TET_V, TET_T, {"": [0]}, "non-empty strings"),
        (TET_V, TET_T, [("a", [0])], "dict"),
    ],
)
def test_invalid_mesh_input(vertices, triangles, regions, match):
    with pytest.raises(MeshError, match=match):
        Mesh(vertices, triangles, regions)


@pytest.mark.parametrize(
    "triangles, bad",
    [
        ([[0, 2, 1], [0, 1, 3], [0, 1, 1], [1, 2, 3]], "2"),  # repeated vertex
        ([[0, 2, 1], [0, 1, 4], [0, 3, 2], [1, 2, 3]], "1"),  # collinear (vertex 4 on edge 0-1)
    ],
)
def test_degenerate_triangle_is_rejected_by_index(triangles, bad):
    verts = TET_V + [[0.5, 0.0, 0.0]]
    with pytest.raises(MeshError, match=rf"degenerate triangles {bad} "):
        Mesh(verts, triangles)


def test_unknown_region_lists_available_names():
    m = box(1.0)
    with pytest.raises(MeshError, match="no region 'lid'.*'left', 'right'") as info:
        m.region("lid")
    assert isinstance(info.value, KeyError)
    assert str(info.value).startswith("mesh has no region")


def test_transforms_return_new_meshes():
    m = Mesh(TET_V, TET_T, {"base": [0]})
    t = m.translated(("1 um", "200 nm", 0))
    np.testing.assert_allclose(t.vertices - m.vertices, np.tile([1.0, 0.2, 0.0], (4, 1)))
    assert t.volume == pytest.approx(m.volume) and t.region_names == m.region_names
    s = m.scaled(2.0)
    assert s.volume == pytest.approx(8 * m.volume)
    np.testing.assert_allclose(s.areas, 4 * m.areas)
    f = m.flipped()
    assert f.volume == pytest.approx(-m.volume)
    np.testing.assert_allclose(f.normals, -m.normals)
    np.testing.assert_array_equal(f.region("base"), [0])
    assert m.vertices[1].tolist() == [1.0, 0.0, 0.0]  # the original is untouched
    with pytest.raises(ValueError, match="scale factor"):
        m.scaled(-1)


def test_pickle_round_trip_keeps_data_and_immutability():
    m = box((1, 2, 3), divisions=2)
    p = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(p.vertices, m.vertices)
    np.testing.assert_array_equal(p.triangles, m.triangles)
    assert p.region_names == m.region_names
    assert not p.vertices.flags.writeable


def test_repr_gives_counts_and_regions():
    r = repr(Mesh(TET_V, TET_T, {"base": [0]}))
    assert r == "Mesh(4 vertices, 4 triangles, regions={'base': 1, 'surface': 3})"


# -- topology checks --------------------------------------------------------------------------
def test_check_open_mesh():
    b = box(1.0, divisions=2)
    m = Mesh(b.vertices, np.delete(b.triangles, 5, axis=0))
    assert not m.is_closed
    m.check()  # open but manifold: fine without closed=True
    expected = r"mesh is not closed: edge \(\d+, \d+\) of triangle \d+ has no neighbour"
    with pytest.raises(MeshError, match=expected):
        m.check(closed=True)


def test_check_inconsistent_orientation_names_the_flipped_triangle():
    b = box(1.0, divisions=2)
    tris = b.triangles.copy()
    tris[5] = tris[5][[0, 2, 1]]
    m = Mesh(b.vertices, tris)
    assert not m.is_closed
    with pytest.raises(MeshError, match="inconsistent orientation") as info:
        m.check(closed=True)
    pairs = re.findall(r"triangles (\d+) and (\d+)", str(info.value))
    assert pairs and all("5" in p for p in pairs)


def test_check_inward_normals():
    m = icosphere(1.0, 1).flipped()
    assert m.is_closed  # consistently oriented, just inside out
    with pytest.raises(MeshError, match=r"normals point inward.*mesh\.flipped\(\)"):
        m.check(closed=True)


def test_check_nonmanifold_edge_names_vertices_and_triangles():
    b = box(1.0)
    a, c = (int(x) for x in b.triangles[0, :2])
    verts = np.vstack([b.vertices, [[3.0, 3.0, 3.0]]])
    m = Mesh(verts, np.vstack([b.triangles, [[a, c, 8]]]))  # a fin on the edge of triangle 0
    assert not m.is_closed
    with pytest.raises(MeshError, match="non-manifold") as info:
        m.check()  # even without closed=True
    message = str(info.value)
    assert f"({a}, {c})" in message or f"({c}, {a})" in message
    listed = re.search(r"shared by triangles \[([\d, ]+)\]", message).group(1)
    assert {0, 12} <= {int(x) for x in listed.split(",")}


def test_check_large_mesh_quickly():
    m = icosphere(1.0, 5)  # 20480 triangles; vectorised edge analysis
    assert m.n_triangles == 20480 and m.is_closed
    m.check(closed=True)


# -- box --------------------------------------------------------------------------------------
BOX_NORMALS = {
    "left": [-1, 0, 0], "right": [1, 0, 0], "front": [0, -1, 0],
    "back": [0, 1, 0], "bottom": [0, 0, -1], "top": [0, 0, 1],
}  # fmt: skip


@pytest.mark.parametrize("n", [1, 2, 3])
def test_box(n):
    size, center = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    m = box(size, center=center, divisions=n)
    assert m.volume == pytest.approx(6.0, rel=1e-12)
    assert m.areas.sum() == pytest.approx(22.0, rel=1e-12)
    assert m.is_closed
    assert len(m.vertices) == (n + 1) ** 3 - (n - 1) ** 3  # vertices shared between faces
    np.testing.assert_allclose(m.bounds[0], center - size / 2)
    np.testing.assert_allclose(m.bounds[1], center + size / 2)
    assert m.region_names == tuple(BOX_NORMALS)
    for name, normal in BOX_NORMALS.items():
        idx = m.region(name)
        assert len(idx) == 2 * n * n
        np.testing.assert_allclose(m.normals[idx], np.tile(normal, (len(idx), 1)), atol=1e-15)
        axis = int(np.flatnonzero(normal)[0])
        plane = (m.bounds[1] if sum(normal) > 0 else m.bounds[0])[axis]
        np.testing.assert_array_equal(m.vertices[m.triangles[idx]][..., axis], plane)


def test_box_units_and_scalar_size():
    m = box("200 nm")
    np.testing.assert_allclose(m.bounds[0], [-0.1] * 3)
    np.testing.assert_allclose(m.bounds[1], [0.1] * 3)
    assert m.volume == pytest.approx(0.2**3)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(size=(1, -1, 1)), ValueError, r"size\[1\]"),
        (dict(size=(1, 1)), UnitError, "three coordinates"),
        (dict(size="1 s"), UnitError, "size"),
        (dict(size=1, divisions=0), ValueError, "divisions must be >= 1"),
        (dict(size=1, divisions=1.5), TypeError, "divisions must be an integer"),
    ],
)
def test_box_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        box(**kwargs)


# -- icosphere --------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_icosphere(n):
    R, center = 2.0, np.array([1.0, 0.0, -1.0])
    m = icosphere(R, subdivisions=n, center=center)
    assert m.n_triangles == 20 * 4**n and len(m.vertices) == 10 * 4**n + 2
    assert m.is_closed and m.region_names == ("surface",)
    np.testing.assert_allclose(np.linalg.norm(m.vertices - center, axis=1), R, rtol=1e-14)
    # Distance of each face plane from the centre; > 0 means every normal points outward. The
    # polyhedron lies inside the sphere of radius R and contains the ball of radius min(dist).
    dist = np.einsum("ij,ij->i", m.normals, m.vertices[m.triangles[:, 0]] - center)
    assert dist.min() > 0
    assert 4 / 3 * np.pi * dist.min() ** 3 < m.volume < 4 / 3 * np.pi * R**3


def test_icosphere_volume_converges():
    exact = 4 / 3 * np.pi
    errors = [exact - icosphere(1.0, n).volume for n in range(5)]
    # the gap shrinks like the squared edge length: about 4x per subdivision
    assert all(3.5 < a / b < 4.5 for a, b in zip(errors[1:], errors[2:]))
    assert 0 < errors[4] / exact < 3e-3


def test_icosphere_units_and_validation():
    m = icosphere("200 nm", subdivisions=1)
    np.testing.assert_allclose(np.linalg.norm(m.vertices, axis=1), 0.2)
    with pytest.raises(ValueError, match="radius"):
        icosphere(0.0)
    with pytest.raises(ValueError, match="subdivisions must be >= 0"):
        icosphere(1.0, subdivisions=-1)


# -- cylinder ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "segments, rings", [(3, None), (8, None), (8, 3), (40, None), (64, None), (64, 1), (100, 7)]
)
def test_cylinder_volume_area_and_regions(segments, rings):
    R, h, center = 0.25, 0.02, np.array([0.0, 1.0, 0.0])
    m = cylinder(R, h, segments=segments, rings=rings, center=center)
    s = segments
    polygon = R**2 * s / 2 * np.sin(2 * np.pi / s)  # = πR²·(s/2π)·sin(2π/s)
    assert m.volume == pytest.approx(polygon * h, rel=1e-12)
    assert m.areas[m.region("top")].sum() == pytest.approx(polygon, rel=1e-12)
    assert m.areas[m.region("bottom")].sum() == pytest.approx(polygon, rel=1e-12)
    chord = 2 * R * np.sin(np.pi / s)
    assert m.areas[m.region("side")].sum() == pytest.approx(s * chord * h, rel=1e-12)
    assert m.is_closed
    assert m.region_names == ("bottom", "top", "side")
    side = m.region("side")
    assert len(side) == 2 * s
    for cap, nz in (("top", 1.0), ("bottom", -1.0)):
        normals = m.normals[m.region(cap)]
        np.testing.assert_allclose(normals, np.tile([0.0, 0.0, nz], (len(normals), 1)), atol=1e-12)
    np.testing.assert_allclose(m.normals[side][:, 2], 0.0, atol=1e-12)
    # each side face lies at the polygon's inradius from the axis, its normal pointing away from it
    for k in range(3):
        dist = np.einsum("ij,ij->i", m.normals[side], m.vertices[m.triangles[side, k]] - center)
        np.testing.assert_allclose(dist, R * np.cos(np.pi / s), rtol=1e-9)
    np.testing.assert_allclose(m.bounds[0][2] - center[2], -h / 2)
    np.testing.assert_allclose(m.bounds[1][2] - center[2], h / 2)


@pytest.mark.parametrize("segments", [64, 256])
def test_cylinder_caps_are_not_fans(segments):
    m = cylinder(1.0, 0.1, segments=segments)
    top = m.region("top")
    valence = np.bincount(m.triangles[top].ravel())
    assert valence.max() <= 20  # a fan would put `segments` triangles on the centre vertex
    assert len(top) > segments  # interior rings exist
    assert min_angle_deg(m, top) > 15


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(radius=-1, height=1), ValueError, "radius must be a positive length"),
        (dict(radius=1, height=0), ValueError, "height must be a positive length"),
        (dict(radius=float("inf"), height=1), UnitError, "radius.*not finite"),
        (dict(radius="1 s", height=1), UnitError, "radius"),
        (dict(radius=1, height=1, segments=2), ValueError, "segments must be >= 3"),
        (dict(radius=1, height=1, rings=0), ValueError, "rings must be >= 1"),
        (dict(radius=1, height=1, segments=8, rings=20), ValueError, "rings=20 is too many"),
    ],
)
def test_cylinder_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        cylinder(**kwargs)


def test_cylinder_units():
    m = cylinder("250 nm", "20 nm", segments=32)
    np.testing.assert_allclose(m.bounds[1], [0.25, m.bounds[1][1], 0.01])


# -- file IO ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", ["obj", "stl", "ply"])
@pytest.mark.parametrize(
    "make",
    [lambda: box((1, 2, 3), center=(5, 0, 0), divisions=2), lambda: cylinder("250 nm", "20 nm")],
)
def test_save_load_round_trip(tmp_path, ext, make):
    m = make()
    path = tmp_path / f"mesh.{ext}"
    save(m, path)
    back = load(path)
    assert back.is_closed
    back.check(closed=True)
    assert back.n_triangles == m.n_triangles
    assert len(back.vertices) == len(m.vertices)  # STL's per-triangle vertices were merged
    rel = 1e-12 if ext == "obj" else 1e-6  # STL and PLY store float32
    assert back.volume == pytest.approx(m.volume, rel=rel)
    scale = np.linalg.norm(m.bounds[1] - m.bounds[0])
    for a, b in zip(back.bounds, m.bounds):
        np.testing.assert_allclose(a, b, atol=rel * scale)


def test_obj_keeps_region_names(tmp_path):
    m = box(1.0, divisions=2)
    save(m, tmp_path / "box.obj")
    back = load(tmp_path / "box.obj")
    assert set(back.region_names) == set(m.region_names)
    for name, normal in BOX_NORMALS.items():
        idx = back.region(name)
        assert len(idx) == len(m.region(name))
        np.testing.assert_allclose(back.normals[idx], np.tile(normal, (len(idx), 1)), atol=1e-12)


@pytest.mark.parametrize("ext", ["obj", "stl"])
def test_unit_scale_on_save_and_load(tmp_path, ext):
    import trimesh

    m = box((0.2, 0.4, 0.6))
    path = tmp_path / f"nm.{ext}"
    save(m, path, unit="nm")
    raw = trimesh.load(path, process=False)
    np.testing.assert_allclose(raw.bounds[1], [100, 200, 300], rtol=1e-6)  # file is in nm
    for unit in ("nm", 1e-3):
        back = load(path, unit=unit)
        np.testing.assert_allclose(back.bounds[1], m.bounds[1], rtol=1e-6)
    assert load(path).volume == pytest.approx(m.volume * 1e9, rel=1e-6)  # read as µm


def test_load_scene_gives_one_region_per_object(tmp_path):
    import trimesh

    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box(extents=(1, 1, 1)), geom_name="cube")
    ball = trimesh.creation.icosphere(radius=0.5).apply_translation([3, 0, 0])
    scene.add_geometry(ball, geom_name="ball")
    path = tmp_path / "scene.obj"
    scene.export(path)
    m = load(path)
    assert set(m.region_names) == {"cube", "ball"}
    assert len(m.region("cube")) == 12
    assert m.is_closed
    lo, hi = m.bounds
    np.testing.assert_allclose(hi, [3.5, 0.5, 0.5], atol=1e-6)
    assert m.areas[m.region("cube")].sum() == pytest.approx(6.0)
    # explicit regions (triangle indices in file order) replace the object names
    m2 = load(path, regions={"first": np.arange(12)})
    assert m2.region_names == ("first", "surface")
    assert m2.areas[m2.region("first")].sum() == pytest.approx(6.0)


def test_load_applies_scene_transforms_and_keeps_mirrored_parts_outward(tmp_path):
    import trimesh

    mirror = np.diag([-1.0, 1.0, 1.0, 1.0])
    mirror[0, 3] = 5.0  # x -> 5 - x
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box(extents=(1, 2, 3)), geom_name="cube", transform=mirror)
    scene.add_geometry(trimesh.creation.icosphere(radius=0.5), geom_name="ball")
    path = tmp_path / "scene.glb"  # glTF keeps the scene graph with its transforms
    scene.export(path)
    m = load(path)
    cube = m.region("cube")
    centres = m.vertices[m.triangles[cube]].mean(axis=1)
    np.testing.assert_allclose(centres.mean(axis=0), [5.0, 0.0, 0.0], atol=1e-6)
    # outward: each cube normal points away from the cube's centre
    assert np.all(np.einsum("ij,ij->i", m.normals[cube], centres - [5.0, 0.0, 0.0]) > 0)
    m.check(closed=True)


def test_nonconvex_closed_mesh_round_trip(tmp_path):
    t = torus()
    assert t.is_closed
    t.check(closed=True)
    exact = 2 * np.pi**2 * 1.0 * 0.3**2  # the smooth torus; the inscribed mesh is a bit smaller
    assert 0.9 * exact < t.volume < exact
    save(t, tmp_path / "torus.obj")
    back = load(tmp_path / "torus.obj")
    assert back.is_closed
    back.check(closed=True)
    assert back.volume == pytest.approx(t.volume, rel=1e-12)


def test_load_errors(tmp_path):
    missing = tmp_path / "missing.obj"
    with pytest.raises(FileNotFoundError, match="missing.obj"):
        load(missing)
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"ply\nnonsense")
    with pytest.raises(MeshError, match="bad.ply"):
        load(bad)
    empty = tmp_path / "empty.stl"
    empty.write_bytes(b"not an stl at all")
    with pytest.raises(MeshError, match="no triangles"):
        load(empty)
    with pytest.raises(ValueError, match="unit"):
        load(bad, unit=-1.0)


def test_save_rejects_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match="obj, stl, ply"):
        save(box(1.0), tmp_path / "mesh.xyz")
