"""Intersecting geometry is refused when it is built: a mesh that intersects itself (MeshError)
and two objects of a model whose surfaces meet (ModelError), with the triangles, a point near
the contact and the fix in the message. Nested or separate objects, neighbouring triangles and
an open sheet cutting a closed part of its own mesh are fine."""
import re

import numpy as np
import pytest

import cleftsim as cs
from cleftsim._core.intersect import first_contact
from cleftsim.errors import MeshError, ModelError
from cleftsim.geometry import Mesh, combine
from cleftsim.geometry.checks import TOUCH

EPS = 2e-9                                     # µm: the tolerance for geometry of size ~1 µm
O, X, Y = [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]  # noqa: E741 (O: the origin)
P = [O, X, Y]                                  # a triangle in z = 0, its right angle at O


def contact(p, q, closed=True):
    """first_contact on triangles p and q (three vertices each, no shared vertex indices)."""
    v = np.array(p + q, dtype=np.float64)
    t = np.array([[0, 1, 2], [3, 4, 5]], dtype=np.int32)
    return first_contact(v, t, np.zeros(2, np.int32), np.full(2, closed, np.int8), EPS, True)


def neighbour_contact(q):
    """first_contact on P and q, where vertices of q that equal one of P's share its index."""
    vertices, ids = list(P), []
    for x in q:
        if x not in vertices:
            vertices.append(x)
        ids.append(vertices.index(x))
    t = np.array([[0, 1, 2], ids], dtype=np.int32)
    return first_contact(np.array(vertices, dtype=np.float64), t, np.zeros(2, np.int32), np.ones(2, np.int8),
                         EPS, True)


# -- pairs without a shared vertex -----------------------------------------------------------------
CONTACTS = {
    "crossing": [[0.2, 0.2, -1.0], [0.3, 0.2, 1.0], [0.2, 0.3, 1.0]],
    "edge-on": [[0.1, 0.2, 0.0], [0.6, 0.2, 0.0], [0.3, 0.2, 1.0]],              # an edge lies on P
    "vertex-on-face": [[0.2, 0.2, 0.0], [0.3, 0.2, 1.0], [0.2, 0.3, 1.0]],
    "edge across edge": [[0.5, 0.0, -1.0], [0.5, 0.0, 1.0], [0.5, -1.0, 0.0]],   # X with P's edge
    "coplanar overlap": [[0.2, 0.2, 0.0], [1.2, 0.2, 0.0], [0.2, 1.2, 0.0]],
    "coplanar, touching at a point": [[0.5, 0.5, 0.0], [1.5, 0.5, 0.0], [0.5, 1.5, 0.0]],
}


@pytest.mark.parametrize("name", CONTACTS)
def test_contacts_of_non_neighbours_are_found(name):
    hit = contact(P, CONTACTS[name])
    assert hit is not None, name
    i, j, coplanar, (x, y, z) = hit
    assert (i, j) == (0, 1) and coplanar == name.startswith("coplanar")
    assert abs(z) <= EPS and x >= -EPS and y >= -EPS and x + y <= 1 + EPS    # the point is on P


@pytest.mark.parametrize("name", CONTACTS)
def test_the_same_pairs_moved_apart_do_not_meet(name):
    q = np.array(CONTACTS[name])
    gap = 100 * EPS
    if name.startswith("coplanar"):        # slide it along the diagonal until it clears P's long edge
        q[:, :2] += (1 + gap - q[:, :2].sum(axis=1).min()) / 2
    else:                                  # lift it wholly above P's plane
        q[:, 2] += gap - q[:, 2].min()
    assert contact(P, q.tolist()) is None, name


def test_open_surfaces_of_one_mesh_may_cross_but_not_overlap():
    assert contact(P, CONTACTS["crossing"], closed=False) is None
    assert contact(P, CONTACTS["coplanar overlap"], closed=False)[2] is True
    assert contact(P, CONTACTS["coplanar, touching at a point"], closed=False) is None


# -- neighbours --------------------------------------------------------------------------------------
NEIGHBOURS = {
    # sharing the vertex O
    "fold-through": ([O, [1.0, 1.0, 1.0], [1.0, 1.0, -1.0]], True),    # cuts P from O to (.5, .5, 0)
    "vertex, cutting the plane outside P": ([O, [-1.0, -1.0, 1.0], [-1.0, -1.0, -1.0]], False),
    "vertex, flat beside P": ([O, [0.0, -1.0, 0.0], [1.0, -1.0, 0.0]], False),
    "vertex, flat over P": ([O, [1.0, 1.0, 0.0], [-1.0, 1.0, 0.0]], True),
    "vertex, just above P": ([O, [1.0, 1.0, 1.0], [1.0, 1.0, 1e-6]], False),
    "vertex, just through P": ([O, [1.0, 1.0, 1.0], [1.0, 1.0, -1e-6]], True),
    # sharing the edge O-X
    "edge, flat": ([X, O, [0.0, -1.0, 0.0]], False),
    "edge, a crease": ([X, O, [0.5, -1.0, 1.0]], False),
    "edge, a sharp crease": ([X, O, [0.5, 0.8, 1e-6]], False),
    "edge, folded back": ([X, O, [0.5, 0.8, 0.0]], True),
    "all three, the other winding": ([O, Y, X], True),
}


@pytest.mark.parametrize("name", NEIGHBOURS)
def test_neighbours_meet_only_beyond_what_they_share(name):
    q, meets = NEIGHBOURS[name]
    assert (neighbour_contact(q) is not None) == meets


# -- meshes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("build", [
    lambda: cs.geometry.box((1, 2, 3), divisions=5),
    lambda: cs.geometry.icosphere(1.0, 5),
    lambda: cs.geometry.cylinder("250 nm", "20 nm", segments=256),
    lambda: cs.geometry.cylinder(1.0, 0.01, segments=512, rings=12),
    lambda: cs.synapse.cleft(glia={"coverage": 0.7}).mesh,
    lambda: cs.synapse.cleft_array(3, "1.2 um").mesh,
    lambda: cs.synapse.neuromuscular_junction().mesh,
], ids=["box", "icosphere", "cylinder", "flat cylinder", "cleft with glia", "cleft array", "nmj"])
def test_the_projects_meshes_do_not_intersect_themselves(build):
    build().check(closed=True)


def corners(mesh, k):
    return mesh.vertices[mesh.triangles[k]].tolist()


def triangles_named(message):
    return [int(k) for k in re.search(r"triangles (\d+) and (\d+)", message).groups()]


def point_named(message):
    return np.array([float(x) for x in re.search(r"near \(([^)]*)\) µm", message).group(1).split(",")])


def on_box_surface(p, center, half, tol=1e-6):
    d = np.abs(np.asarray(p) - center)
    return bool(np.all(d <= half + tol) and np.any(np.abs(d - half) <= tol))


def test_two_interpenetrating_boxes_combined_are_refused():
    a, b = cs.geometry.box(1.0), cs.geometry.box(1.0, center=(0.5, 0.3, 0.2))
    mesh = combine(a, b)
    assert mesh.is_closed
    with pytest.raises(MeshError, match=r"intersects itself: triangles \d+ and \d+ cross or touch near") as exc:
        mesh.check(closed=True)
    message = str(exc.value)
    i, j = triangles_named(message)
    assert i < a.n_triangles <= j                                   # one triangle of each box
    assert contact(corners(mesh, i), corners(mesh, j)) is not None  # and those two do meet
    p = point_named(message)
    assert on_box_surface(p, 0.0, 0.5) and on_box_surface(p, np.array([0.5, 0.3, 0.2]), 0.5)
    assert "move its vertices, or the parts combined into it, apart" in message


def test_a_box_with_a_vertex_pushed_through_the_opposite_face_is_refused():
    box = cs.geometry.box(1.0)
    box.check(closed=True)
    v = box.vertices.copy()
    corner = int(np.argmax(v.sum(axis=1)))                          # (+, +, +)
    v[corner] = (0.3, 0.2, -0.8)                                    # below the bottom face z = -0.5
    mesh = Mesh(v, box.triangles)
    with pytest.raises(MeshError, match=r"intersects itself: triangles \d+ and \d+ cross") as exc:
        mesh.check(closed=True)
    i, j = triangles_named(str(exc.value))
    assert corner in mesh.triangles[i] or corner in mesh.triangles[j]   # a triangle on the moved corner


def test_a_face_covered_twice_is_refused_even_in_an_open_mesh():
    box = cs.geometry.box(1.0)
    lid = Mesh(box.vertices, box.triangles[box.region("top")])
    with pytest.raises(MeshError, match=r"overlap or touch in one plane"):
        combine(box, lid).check(closed=False)


SHEET = Mesh([[-1, -1, 0.1], [1, -1, 0.1], [1, 1, 0.1], [-1, 1, 0.1]], [[0, 1, 2], [0, 2, 3]], {"sheet": [0, 1]})


def test_an_open_sheet_may_cut_through_a_closed_part_of_its_own_mesh():
    box = cs.geometry.box(1.0)
    combine(box, SHEET).check(closed=False)
    other = cs.geometry.box(1.0, center=(0.5, 0.3, 0.2))
    with pytest.raises(MeshError, match=r"cross or touch"):       # but closed parts may not cross
        combine(box, other, SHEET).check(closed=False)


TOUCHING = r"(cross or touch|overlap or touch in one plane) near"   # boxes touch both ways at once


@pytest.mark.parametrize("size", [1.0, 1000.0])
def test_the_tolerance_scales_with_the_geometry(size):
    """Two boxes side by side: 100 tolerances apart they pass, 0.1 tolerance apart they touch."""
    pair_diagonal = size * np.linalg.norm([2.0, 1.3, 1.0])
    tol = TOUCH * pair_diagonal
    for gap, touching in ((100 * tol, False), (0.1 * tol, True)):
        mesh = combine(cs.geometry.box(size), cs.geometry.box(size, center=(size + gap, 0.3 * size, 0)))
        if touching:
            with pytest.raises(MeshError, match=TOUCHING):
                mesh.check(closed=True)
        else:
            mesh.check(closed=True)


# -- objects of a model ------------------------------------------------------------------------------
def model_with(*meshes):
    m = cs.Model(dt="1 us", seed=1)
    for k, mesh in enumerate(meshes):
        m.add_geometry(mesh, name=f"obj{k}")
    return m


def test_intersecting_objects_are_refused_naming_both():
    m = model_with(cs.geometry.box(1.0))
    ball = cs.geometry.icosphere(0.3, 2, center=(0.5, 0, 0))
    with pytest.raises(ModelError) as exc:
        m.add_geometry(ball, name="ball")
    message = str(exc.value)
    named = re.match(r"geometry objects 'obj0' and 'ball' intersect: triangle (\d+) of 'obj0' and "
                     r"triangle (\d+) of 'ball' cross or touch near \(", message)
    assert named
    assert contact(corners(m.objects[0].mesh, int(named[1])), corners(ball, int(named[2]))) is not None
    assert "Move them apart" in message and "combine" not in message   # both closed: no merging
    p = point_named(message)
    assert on_box_surface(p, 0.0, 0.5) and abs(np.linalg.norm(p - [0.5, 0, 0]) - 0.3) < 0.02
    assert [o.name for o in m.objects] == ["obj0"]                      # nothing half-added


def test_each_earlier_object_is_checked():
    m = model_with(cs.geometry.box(0.2, center=(-1, 0, 0)), cs.geometry.box(0.2, center=(1, 0, 0)))
    with pytest.raises(ModelError, match=r"'obj0' and 'late' intersect"):
        m.add_geometry(cs.geometry.icosphere(0.2, 2, center=(-1.2, 0, 0)), name="late")
    with pytest.raises(ModelError, match=r"'obj1' and 'late' intersect"):
        m.add_geometry(cs.geometry.icosphere(0.2, 2, center=(1.2, 0, 0)), name="late")


@pytest.mark.parametrize("name", CONTACTS)
def test_triangles_of_two_objects_that_meet_are_refused(name):
    m = model_with(Mesh(P, [[0, 1, 2]]))
    how = ("touch or overlap in one plane near .*leave a gap between the objects" if name.startswith("coplanar")
           else "cross or touch near .*Move them apart")
    with pytest.raises(ModelError, match=rf"'obj0' and 'q' intersect: triangle 0 of 'obj0' and triangle 0 of 'q' {how}"):
        m.add_geometry(Mesh(CONTACTS[name], [[0, 1, 2]]), name="q")


def test_a_transparent_sheet_cutting_a_box_goes_in_as_one_object():
    m = model_with(cs.geometry.box(1.0))
    with pytest.raises(ModelError, match=r"cross or touch .* merge them into one object with cs\.geometry\.combine"):
        m.add_geometry(SHEET, name="sheet")
    m = model_with(combine(cs.geometry.box(1.0), SHEET))
    assert m.objects[0].region("sheet").area == pytest.approx(4.0)


@pytest.mark.parametrize("gap, refused", [(0.0, True), (1e-6, False)])
def test_objects_touching_along_a_face_are_refused(gap, refused):
    """Where faces of two objects coincide the ray tracer meets only the first object's triangle
    (from either side), so the second object's rule there would be silently ignored."""
    m = model_with(cs.geometry.box(1.0, center=(0, 0, -0.5)))
    upper = cs.geometry.box(1.0, center=(0.2, 0.1, 0.5 + gap))
    if refused:
        with pytest.raises(ModelError, match=r"'obj0' and 'upper' intersect: .*(cross or touch|touch or overlap "
                                             r"in one plane) near"):
            m.add_geometry(upper, name="upper")
    else:
        m.add_geometry(upper, name="upper")


@pytest.mark.parametrize("gap, refused", [(0.0, True), (1e-6, False)])
def test_objects_touching_along_an_edge_or_at_a_corner_are_refused(gap, refused):
    """A contact along edges cannot be told from surfaces crossing along them: a gap is needed."""
    m = model_with(cs.geometry.box(1.0))
    g = 1 + gap
    edge = cs.geometry.box(1.0, center=(g, g, 0.3))                  # along x = y = 0.5
    corner = cs.geometry.box(1.0, center=(g, -g, g))                 # at (0.5, -0.5, 0.5)
    tilted = Mesh([[0.5 + gap, 0, 0], [1, 0.5, 0], [1, -0.5, 0], [1, 0, 0.5]],     # a vertex on a face
                  [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    for k, mesh in enumerate((edge, corner, tilted)):
        if refused:
            with pytest.raises(ModelError, match=r"(cross or touch|touch or overlap in one plane) near"):
                m.add_geometry(mesh, name=f"t{k}")
        else:
            m.add_geometry(mesh, name=f"t{k}")


def test_nested_and_separate_objects_are_accepted():
    m = model_with(cs.geometry.box(1.0), cs.geometry.icosphere(0.3, 3), cs.geometry.box(0.1, center=(0.4, 0.4, 0.4)),
                   cs.geometry.box(1.0, center=(3, 0, 0)), cs.geometry.cylinder(0.45, 0.9, center=(3, 0, 0)))
    assert len(m.objects) == 5
