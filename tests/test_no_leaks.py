"""No molecule ever leaves a closed reflecting object (docs/reference.md §1.2; docs/algorithms.md, One step).

Objects (S = the largest edge of the object's bounding box):

- ``box``: a 0.5 × 0.4 × 0.3 µm box (S = 0.5 µm), off the origin;
- ``icosphere``: radius 0.25 µm, 2 subdivisions (320 triangles, S ≈ 0.5 µm), off the origin;
- ``U``: a non-convex union of six 0.20 × 0.15 × 0.25 µm cells (a U with a foot, so it has
  concave edges and corners), turned by a generic rotation, written to an OBJ file with
  :func:`cleftsim.geometry.save` and read back with :func:`cleftsim.geometry.load` (S ≈ 0.78 µm).

Membership is decided by an independent exact test, never by the engine's own point-in-object
routine: the box's bounds; the icosphere's face half-spaces (it is convex); for ``U`` the union of
its convex cells, in the cell frame (positions rotated back). A point counts as outside when it is
beyond the surface by more than TOL = 1e-12 µm (floating-point rounding of the membership test;
the engine keeps stored positions 1e-9 µm off the surfaces it reflects from).

Random walks. The rms 3D step √(6DΔt) is ρ·S with ρ = 0.01, 0.1, 1 and 10 (Δt = 1 µs, D set
from ρ); molecules start uniformly inside. The issue asks for 10⁵ molecules × 10³ steps per object:
that is what runs for ρ = 0.01 and 0.1 (10⁸ molecule-steps each, ≈5–15 s per object on one core).
Reflections per molecule-step grow in proportion to ρ (measured 1.8ρ for the box, 1.4ρ for the
icosphere, 4.2ρ for U), so 10⁸ molecule-steps at ρ = 1 and 10 would cost 10× and 100× the
reflections of the ρ = 0.1 run: minutes per object. There the budget is split by reflections
instead: ρ = 1 runs 10⁴ molecules × 10³ steps and ρ = 10 runs 10⁴ molecules × 10² steps, i.e. the
same ≈1.4–4.2·10⁷ reflections as the ρ = 0.1 run (ρ = 0.01 gives 1.4–4.2·10⁶); each run asserts
that at least MIN_REFLECTIONS happened. With ρ ≥ 1 a molecule's position is uncorrelated with
its previous one after a step, so 10⁴ molecules cover the surface as well as 10⁵ would.
Membership is checked at the start and every 100 steps (a molecule that leaked out of a closed
reflecting object cannot come back in, so a leak is also visible at the end).

Aimed rays. :func:`cleftsim._core.step.displace` moves molecules by chosen displacements,
traced exactly as a diffusion step: rays from inside at every vertex, at edge midpoints and at
random points of edges (ending exactly on the target, 1e-7 past it, or 1.5–20 S beyond), along
edges (started 1e-12..1e-3 µm inside, tilted outward by 1e-14..1e-3, or exactly parallel), grazing
faces (started 1e-12..1e-2 µm inside, tilted by 1e-12..1e-3), random rays up to 20 S long. Every
end point must be inside. (Run with the scene's edge epsilon set to 0 or the reflection standoff
set to 0, these tests fail.)

Point releases on a surface (decision 1): rejected with a ModelError naming the object and
region when the simulation is built (plate, face, edge, corner, within 1e-6 µm, a transparent
surface); releases 1 nm inside work and never leak.
"""
import math

import numpy as np
import pytest

import cleftsim as cs
from cleftsim._core.step import displace
from cleftsim.geometry import Mesh

TOL = 1e-12                       # µm, see the module docstring
DT = 1e-6
RATIOS = (0.01, 0.1, 1.0, 10.0)
#: (molecules, steps) per step-length ratio ρ, see the module docstring
PLAN = {0.01: (100_000, 1000), 0.1: (100_000, 1000), 1.0: (10_000, 1000), 10.0: (10_000, 100)}
CHECK_EVERY = 100
MIN_REFLECTIONS = {0.01: 1e6, 0.1: 1e7, 1.0: 1e7, 10.0: 1e7}

# -- the objects and their independent membership tests ---------------------------------------
BOX_SIZE = np.array([0.5, 0.4, 0.3])
BOX_CENTER = np.array([0.05, -0.02, 0.03])
SPHERE_R, SPHERE_CENTER = 0.25, np.array([0.01, 0.02, -0.03])
U_CELLS = np.array([(0, 0, 0), (1, 0, 0), (2, 0, 0), (0, 0, 1), (2, 0, 1), (2, 1, 0)])
U_CELL = np.array([0.20, 0.15, 0.25])
U_SHIFT = np.array([0.1, 0.2, -0.1])


def rotation(a: float, b: float, c: float) -> np.ndarray:
    ca, sa, cb, sb, cc, sc = math.cos(a), math.sin(a), math.cos(b), math.sin(b), math.cos(c), math.sin(c)
    rz = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    rx = np.array([[1, 0, 0], [0, cc, -sc], [0, sc, cc]])
    return rz @ ry @ rx


U_ROT = rotation(0.3, 0.5, 0.7)


def cells_mesh(cells: np.ndarray, cell: np.ndarray, rot: np.ndarray, shift: np.ndarray) -> Mesh:
    """Closed outward mesh of a union of lattice cells: every cell face without a filled
    neighbour becomes two triangles; faces share lattice vertices, so the mesh is closed."""
    filled = {tuple(int(x) for x in c) for c in cells}
    ids: dict[tuple, int] = {}
    tris = []

    def vid(ijk):
        return ids.setdefault(ijk, len(ids))

    for c in sorted(filled):
        for ax in range(3):
            for side in (0, 1):
                nb = list(c)
                nb[ax] += 1 if side else -1
                if tuple(nb) in filled:
                    continue
                u, w = (ax + 1) % 3, (ax + 2) % 3          # e_u × e_w = e_ax
                base = list(c)
                base[ax] += side
                q = []
                for du, dw in ((0, 0), (1, 0), (1, 1), (0, 1)):
                    corner = list(base)
                    corner[u] += du
                    corner[w] += dw
                    q.append(vid(tuple(corner)))
                a, b, cc, d = q
                tris += [(a, b, cc), (a, cc, d)] if side else [(a, cc, b), (a, d, cc)]
    lattice = np.array(sorted(ids, key=ids.get), dtype=float)
    return Mesh(lattice * cell @ rot.T + shift, np.array(tris))


def inside_box(p):
    return np.all(np.abs(p - BOX_CENTER) <= BOX_SIZE / 2 + TOL, axis=1)


def face_planes(mesh: Mesh):
    """Unit outward normals and offsets (n·x = off) of a mesh's triangles, computed here."""
    v = mesh.vertices[mesh.triangles]
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    n /= np.linalg.norm(n, axis=1)[:, None]
    return n, np.einsum("ij,ij->i", n, v[:, 0])


def make_inside_convex(mesh: Mesh):
    n, off = face_planes(mesh)

    def inside(p):
        return np.all(p @ n.T - off <= TOL, axis=1)

    return inside


def inside_u(p):
    local = (p - U_SHIFT) @ U_ROT            # rows: R^T (p - shift)
    out = np.zeros(len(p), dtype=bool)
    for c in U_CELLS:
        lo, hi = c * U_CELL, (c + 1) * U_CELL
        out |= np.all((local >= lo - TOL) & (local <= hi + TOL), axis=1)
    return out


class Shape:
    def __init__(self, name, mesh, inside):
        self.name, self.mesh, self.inside = name, mesh, inside
        lo, hi = mesh.bounds
        self.size = float(np.max(hi - lo))


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    box = cs.geometry.box(BOX_SIZE, center=BOX_CENTER)
    ico = cs.geometry.icosphere(SPHERE_R, 2, center=SPHERE_CENTER)
    path = tmp_path_factory.mktemp("mesh") / "u_shape.obj"
    cs.geometry.save(cells_mesh(U_CELLS, U_CELL, U_ROT, U_SHIFT), path)
    u = cs.geometry.load(path, unit="um")
    return {"box": Shape("box", box, inside_box),
            "icosphere": Shape("icosphere", ico, make_inside_convex(ico)),
            "U": Shape("U", u, inside_u)}


def test_reference_shapes_are_what_the_membership_tests_say(shapes):
    """Sanity of the references: the loaded U is closed, has the cells' volume, and every vertex
    of each mesh lies on the boundary of its membership region (inside, but not 1e-9 inside)."""
    u = shapes["U"].mesh
    u.check(closed=True)
    assert u.volume == pytest.approx(len(U_CELLS) * np.prod(U_CELL), rel=1e-12)
    for s in shapes.values():
        v = s.mesh.vertices
        assert s.inside(v).all(), s.name
        n, _ = face_planes(s.mesh)
        # points 1e-9 outside along the vertex's mean outward normal are outside
        vn = np.zeros_like(v)
        np.add.at(vn, s.mesh.triangles.ravel(), np.repeat(n, 3, axis=0))
        vn /= np.linalg.norm(vn, axis=1)[:, None]
        assert not s.inside(v + 1e-9 * vn).any(), s.name


# -- random walks ------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("name", ["box", "icosphere", "U"])
def test_random_walk_never_leaves_closed_object(shapes, name, ratio):
    s = shapes[name]
    n, steps = PLAN[ratio]
    D = (ratio * s.size) ** 2 / (6 * DT)          # rms 3D step sqrt(6 D dt) = ratio * S
    m = cs.Model(dt=DT, seed=1000 + int(ratio * 100) + len(name))
    sp = m.add_species("a", D=D)
    obj = m.add_geometry(s.mesh, name="obj")
    m.release(sp, n=n, inside=obj)
    sim = m.simulation()
    for k in range(0, steps + 1, CHECK_EVERY):
        sim.advance(k - sim.step_index)
        p = sim.positions(sp)
        assert len(p) == n
        out = ~s.inside(p)
        assert not out.any(), (f"{name}, step/size {ratio}: {out.sum()} of {n} molecules outside after "
                               f"{k} steps, e.g. {p[out][:3]}")
    assert sim.diagnostics["reflections"] >= MIN_REFLECTIONS[ratio], sim.diagnostics
    assert sim.absorbed.sum() == 0


# -- aimed rays --------------------------------------------------------------------------------
class Tracer:
    """displace() on a one-object model with a reflecting surface."""

    def __init__(self, mesh):
        m = cs.Model(dt=DT, seed=1)
        m.add_species("a", D=1.0)
        m.add_geometry(mesh, name="obj")
        self.sim = m.simulation()

    def __call__(self, p0, d):
        p = np.ascontiguousarray(p0, dtype=float).copy()
        d = np.ascontiguousarray(d, dtype=float)
        sim = self.sim
        fate = displace(sim.scene, p, d, 0, sim.compiled.ddt[0], sim.compiled.rcut[0], sim._stream, sim.counters)
        assert (fate == -1).all()
        return p


def mesh_edges(mesh):
    """Unique edges (a, b) with the two faces that share each (closed mesh)."""
    t = mesh.triangles
    e = np.sort(t[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    face = np.repeat(np.arange(len(t)), 3)
    order = np.lexsort((e[:, 1], e[:, 0]))
    e, face = e[order], face[order]
    assert np.all(e[0::2] == e[1::2])            # closed: every edge exactly twice
    return e[0::2], face[0::2], face[1::2]


def interior_points(shape, n, rng, margin=0.02):
    """Uniform points inside whose six neighbours at ±margin along the axes are inside too
    (rejection sampling; keeps the start points off the surface)."""
    lo, hi = shape.mesh.bounds
    out = np.empty((0, 3))
    while len(out) < n:
        c = lo + (hi - lo) * rng.random((4 * n, 3))
        ok = shape.inside(c)
        for k in range(6):
            u = np.zeros(3)
            u[k // 2] = margin if k % 2 else -margin
            ok &= shape.inside(c + u)
        out = np.concatenate([out, c[ok]])
    return out[:n]


def points_toward(shape, targets, rng):
    """Start points that see each target along a segment inside the object: for the convex
    objects any interior point, for U a random point of a cell that contains the target."""
    n = len(targets)
    if shape.name != "U":
        return interior_points(shape, n, rng)
    local = (targets - U_SHIFT) @ U_ROT
    start = np.empty((n, 3))
    for i, q in enumerate(local):
        cands = [c for c in U_CELLS if np.all(q >= c * U_CELL - 1e-9) and np.all(q <= (c + 1) * U_CELL + 1e-9)]
        c = cands[rng.integers(len(cands))]
        start[i] = (c + 0.1 + 0.8 * rng.random(3)) * U_CELL
    return start @ U_ROT.T + U_SHIFT


def assert_inside(shape, p, what):
    out = ~shape.inside(p)
    assert not out.any(), f"{shape.name}: {what}: {out.sum()} of {len(p)} end points outside, e.g. {p[out][:3]}"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["box", "icosphere", "U"])
def test_rays_aimed_at_vertices_and_edges_stay_inside(shapes, name):
    s = shapes[name]
    trace = Tracer(s.mesh)
    rng = np.random.default_rng(11)
    v = s.mesh.vertices
    e, _, _ = mesh_edges(s.mesh)
    a, b = v[e[:, 0]], v[e[:, 1]]
    families = {
        "vertices": v,
        "edge midpoints": 0.5 * (a + b),
        "random edge points": a + rng.random((len(e), 1)) * (b - a),
    }
    for what, targets in families.items():
        for rep in range(20):
            q = targets[rng.permutation(len(targets))]
            p0 = points_toward(s, q, rng)
            assert s.inside(p0).all()
            d = q - p0
            dist = np.linalg.norm(d, axis=1)[:, None]
            u = d / dist
            lengths = {
                "ending on the target": dist,
                "just past the target": dist * (1 + 1e-7),
                "far beyond": dist + s.size * np.exp(rng.uniform(math.log(1.5), math.log(20.0), (len(q), 1))),
            }
            for how, ell in lengths.items():
                assert_inside(s, trace(p0, u * ell), f"rays at {what}, {how}")


@pytest.mark.parametrize("name", ["box", "icosphere", "U"])
def test_rays_along_edges_stay_inside(shapes, name):
    s = shapes[name]
    trace = Tracer(s.mesh)
    rng = np.random.default_rng(12)
    fn, _ = face_planes(s.mesh)
    e, f1, f2 = mesh_edges(s.mesh)
    v = s.mesh.vertices
    # only true edges (between faces of different planes); coplanar diagonals are tested by grazing
    true = np.linalg.norm(fn[f1] - fn[f2], axis=1) > 1e-9
    e, f1, f2 = e[true], f1[true], f2[true]
    k = 4000
    pick = rng.integers(len(e), size=k)
    a, b = v[e[pick, 0]], v[e[pick, 1]]
    bis = fn[f1[pick]] + fn[f2[pick]]                     # outward bisector (also at concave edges)
    bis /= np.linalg.norm(bis, axis=1)[:, None]
    q = a + rng.uniform(0.05, 0.95, (k, 1)) * (b - a)     # a point of the edge
    depth = 10 ** rng.uniform(-12, -3, (k, 1))
    p0 = q - depth * bis
    along = (b - a) / np.linalg.norm(b - a, axis=1)[:, None] * rng.choice([-1.0, 1.0], (k, 1))
    tilt = 10 ** rng.uniform(-14, -3, (k, 1))
    d = along + tilt * bis
    d /= np.linalg.norm(d, axis=1)[:, None]
    d *= s.size * 10 ** rng.uniform(-3, math.log10(20), (k, 1))
    ok = s.inside(p0)
    assert ok.mean() > 0.99                               # starting points are inside
    assert_inside(s, trace(p0[ok], d[ok]), "rays along edges")
    # exactly parallel to the edge
    d0 = along * s.size * 10 ** rng.uniform(-3, math.log10(20), (k, 1))
    assert_inside(s, trace(p0[ok], d0[ok]), "rays exactly along edges")


@pytest.mark.parametrize("name", ["box", "icosphere", "U"])
def test_grazing_rays_stay_inside(shapes, name):
    s = shapes[name]
    trace = Tracer(s.mesh)
    rng = np.random.default_rng(13)
    fn, _ = face_planes(s.mesh)
    v = s.mesh.vertices[s.mesh.triangles]
    k = 6000
    f = rng.integers(len(fn), size=k)
    w = rng.dirichlet([1.0, 1.0, 1.0], size=k)
    q = np.einsum("ij,ijk->ik", w, v[f])                   # a point of the face
    n = fn[f]
    p0 = q - 10 ** rng.uniform(-12, -2, (k, 1)) * n
    t = rng.normal(size=(k, 3))
    t -= np.einsum("ij,ij->i", t, n)[:, None] * n          # in the face plane
    t /= np.linalg.norm(t, axis=1)[:, None]
    tilt = 10 ** rng.uniform(-12, -3, (k, 1)) * rng.choice([-1.0, 1.0], (k, 1))
    d = (t + tilt * n) * s.size * 10 ** rng.uniform(-1, math.log10(20), (k, 1))
    ok = s.inside(p0)
    assert ok.mean() > 0.99
    assert_inside(s, trace(p0[ok], d[ok]), "grazing rays")


@pytest.mark.parametrize("name", ["box", "icosphere", "U"])
def test_long_random_rays_stay_inside(shapes, name):
    """Rays in random directions from anywhere inside, up to 20 S long (tens of bounces)."""
    s = shapes[name]
    trace = Tracer(s.mesh)
    rng = np.random.default_rng(14)
    k = 5000
    p0 = interior_points(s, k, rng, margin=1e-6)
    d = rng.normal(size=(k, 3))
    d *= s.size * 20 * rng.random((k, 1)) / np.linalg.norm(d, axis=1)[:, None]
    assert_inside(s, trace(p0, d), "long random rays")


# -- point releases on a surface (decision 1: rejected when the simulation is built) -----------
def cleft_model(at, seed=1):
    m = cs.Model(dt="1 us", seed=seed)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    cleft = m.add_geometry(cs.geometry.cylinder(radius="200 nm", height="20 nm", segments=128), name="cleft")
    m.release(glu, n=10_000, at=at)
    return m, glu, cleft


def box_model(at, seed=1):
    m = cs.Model(dt="1 us", seed=seed)
    a = m.add_species("a", D="0.33 um^2/ms")
    box = m.add_geometry(cs.geometry.box(1.0), name="vesicle_box")
    m.release(a, n=10_000, at=at)
    return m, a, box


@pytest.mark.parametrize("make, at, obj, regions", [
    (cleft_model, (0.0, 0.0, -0.010), "cleft", {"bottom"}),            # on the presynaptic plate
    (cleft_model, (0.05, -0.03, 0.010), "cleft", {"top"}),             # on the postsynaptic plate
    (cleft_model, (0.0, 0.0, -0.010 + 5e-7), "cleft", {"bottom"}),     # within 1e-6 µm of it
    (box_model, (0.5, 0.1, 0.2), "vesicle_box", {"right"}),            # on a face
    (box_model, (0.1, -0.5, 0.2), "vesicle_box", {"front"}),
    (box_model, (0.5, 0.5, 0.5), "vesicle_box", {"right", "back", "top"}),   # at a corner
    (box_model, (-0.5, 0.2, -0.5), "vesicle_box", {"left", "bottom"}),      # on an edge
])
def test_point_release_on_a_surface_is_rejected(make, at, obj, regions):
    m, _, _ = make(at)
    with pytest.raises(cs.ModelError) as err:
        m.simulation()
    msg = str(err.value)
    assert f"'{obj}'" in msg and any(f"'{r}'" in msg for r in regions), msg
    with pytest.raises(cs.ModelError):
        m.run(t_end="2 us")


def test_point_release_on_a_transparent_surface_is_rejected():
    m = cs.Model(dt="1 us", seed=1)
    a = m.add_species("a", D=1.0)
    m.add_geometry(cs.geometry.box(1.0), name="box")
    inner = m.add_geometry(cs.geometry.icosphere(0.2, 1), name="inner")
    m.set_surface(a, inner, "transparent")
    m.release(a, n=10, at=inner.mesh.vertices[3], t="5 us")       # a vertex, released later
    with pytest.raises(cs.ModelError, match="'inner'.*'surface'"):
        m.simulation()


def inside_cleft(p, mesh):
    """|z| ≤ h/2 and inside the 128-gon (its side faces' half-planes), computed here."""
    side = mesh.region("side")
    v = mesh.vertices[mesh.triangles[side]]
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    n /= np.linalg.norm(n, axis=1)[:, None]
    in_plan = np.all(p @ n.T - np.einsum("ij,ij->i", n, v[:, 0]) <= TOL, axis=1)
    return in_plan & (np.abs(p[:, 2]) <= 0.010 + TOL)


@pytest.mark.parametrize("make, at", [
    (cleft_model, (0.0, 0.0, -0.009)),            # 1 nm above the presynaptic plate
    (cleft_model, (0.199, 0.0, 0.009)),           # 1 nm inside the rim's corner region
    (box_model, (0.499, 0.1, 0.2)),               # 1 nm inside a face
    (box_model, (0.499, 0.499, 0.499)),           # 1 nm inside a corner, on all three axes
])
def test_point_release_1nm_inside_works_and_never_leaks(make, at):
    m, sp, obj = make(at, seed=5)
    sim = m.simulation()
    if obj.name == "cleft":
        inside = lambda p: inside_cleft(p, obj.mesh)  # noqa: E731
    else:
        inside = lambda p: np.all(np.abs(p) <= 0.5 + TOL, axis=1)  # noqa: E731
    assert inside(sim.positions(sp)).all()
    for _ in range(10):
        sim.advance(10)
        p = sim.positions(sp)
        assert len(p) == 10_000
        out = ~inside(p)
        assert not out.any(), f"{out.sum()} molecules outside after {sim.step_index} steps: {p[out][:3]}"
