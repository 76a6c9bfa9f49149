# cython: language_level=3
"""Lateral diffusion of surface molecules on triangle meshes.

A surface molecule lives on one triangle of a mesh. Each time step it draws a 2-D Gaussian
displacement (two normals × sigma, sigma = sqrt(2 D dt)) in its triangle's plane and follows it
as a straight path over the surface (a geodesic of the polyhedron):

- The path is traced in barycentric coordinates b (b_j = 0 on the edge opposite vertex j). It
  leaves the triangle at the smallest s in [0, 1) with b_j + s db_j = 0, db_j < 0; edge k runs
  from vertex k to vertex k+1, so it is the edge opposite vertex j = k+2 (mod 3).
- Across an edge to a neighbour of the same region the rest of the displacement is unfolded:
  its component along the edge is kept and its component perpendicular to the edge (in the
  triangle's plane) keeps its magnitude but now points into the neighbour, in the neighbour's
  plane (a rotation about the shared edge). Lengths are kept, so a flat region gives a straight
  line and a curved one the polyhedral geodesic.
- At a region boundary (neighbour -1) the rest of the displacement is reflected specularly
  about the edge line within the triangle's plane and the molecule stays in the triangle.

Robustness: the exit point is written with its barycentric coordinate set to exactly 0 and
carried over to the neighbour as the same pair of edge weights, so a molecule is never off its
triangle between crossings; the edge just entered (or reflected at) is not an exit candidate
for the next segment, since the displacement points into the triangle from it (this stops
round-off ping-pong on an edge). A path through a vertex leaves through the edge of the lower
barycentric index among the tied ones, and the remaining displacement then turns around the
vertex one triangle at a time (zero-length segments) until it points into a triangle. The final
barycentric coordinates are clamped to >= MARGIN (relative), so the stored position lies strictly
inside its triangle. At most SURF_MAX_CROSSINGS edges are crossed in one move; a longer path
stops at its last edge point (counted in stats[SURF_STAT_TRUNCATED]).
"""
from libc.math cimport sqrt, fabs, isfinite

from cleftsim._core.vec cimport dot3, sub3

# Final barycentric coordinates are at least this (the position is strictly inside).
cdef double MARGIN = 1e-12


cdef struct Frame:
    double a[3]        # v1 - v0
    double c[3]        # v2 - v0
    double g11, g12, g22, inv_det   # Gram matrix of (a, c) and 1 / its determinant


cdef inline void frame_of(const double* v, Frame* f) noexcept nogil:
    sub3(v + 3, v, f.a)
    sub3(v + 6, v, f.c)
    f.g11 = dot3(f.a, f.a)
    f.g12 = dot3(f.a, f.c)
    f.g22 = dot3(f.c, f.c)
    f.inv_det = 1.0 / (f.g11 * f.g22 - f.g12 * f.g12)


cdef inline void bary_vector(const Frame* f, const double* d, double* db) noexcept nogil:
    """Barycentric increments (summing to 0) of the vector d projected onto the plane."""
    cdef double r1 = dot3(d, f.a), r2 = dot3(d, f.c)
    db[1] = (f.g22 * r1 - f.g12 * r2) * f.inv_det
    db[2] = (f.g11 * r2 - f.g12 * r1) * f.inv_det
    db[0] = -db[1] - db[2]


cdef inline void bary_point(const double* v, const Frame* f, const double* p, double* b) noexcept nogil:
    """Barycentric coordinates of p projected onto the triangle's plane."""
    cdef double w[3]
    sub3(p, v, w)
    bary_vector(f, w, b)
    b[0] = 1.0 - b[1] - b[2]


cdef inline void clamp_bary(double* b, double margin) noexcept nogil:
    """Raise coordinates below margin (or NaN) to margin and renormalise to sum 1 (coordinates
    that are all >= margin are left as they are)."""
    cdef int j
    cdef double s
    cdef bint inside = True
    for j in range(3):
        if not (b[j] >= margin):
            b[j] = margin
            inside = False
    if inside:
        return
    s = 1.0 / (b[0] + b[1] + b[2])
    b[0] *= s
    b[1] *= s
    b[2] *= s


cdef inline double normalize3(double* x) noexcept nogil:
    cdef double n = sqrt(dot3(x, x)), r
    if n > 0.0:
        r = 1.0 / n
        x[0] *= r
        x[1] *= r
        x[2] *= r
    return n


cdef inline void inward_normal(const double* a, const double* e, const double* c,
                               double* u) noexcept nogil:
    """Unit vector in the plane of (edge a + s e, vertex c), perpendicular to the unit edge
    direction e, pointing from the edge towards c."""
    cdef double w[3]
    cdef double x
    sub3(c, a, w)
    x = dot3(w, e)
    u[0] = w[0] - x * e[0]
    u[1] = w[1] - x * e[1]
    u[2] = w[2] - x * e[2]
    normalize3(u)


cdef inline bint same_point(const double* x, const double* y) noexcept nogil:
    return x[0] == y[0] and x[1] == y[1] and x[2] == y[2]


cdef void tangent_basis(const double* v, double* e1, double* e2) noexcept nogil:
    """Orthonormal basis (e1, e2) of the plane of triangle v (9 doubles: v0, v1, v2):
    e1 along v1 - v0, e2 towards v2 (so e1 × e2 is the winding normal)."""
    sub3(v + 3, v, e1)
    normalize3(e1)
    inward_normal(v, e1, v + 6, e2)


cdef int move_on_surface(const double* tri_v, const int* neighbors, int t, double* p, double* d,
                         long long* stats) noexcept nogil:
    """Move the molecule at p (3 doubles, on triangle t) by the displacement d (3 doubles, in
    t's plane; a normal component is ignored) over the surface; returns its new triangle.

    tri_v: (T, 3, 3) triangle vertices, C order; neighbors: (T, 3) neighbour across edge k =
    (vertex k, vertex k+1), -1 at a region boundary. p is overwritten with the end point, d is
    used as scratch. stats[SURF_STAT_*] are incremented.
    """
    cdef const double* v = tri_v + 9 * t
    cdef const double* w
    cdef const double* va
    cdef const double* vb
    cdef Frame f
    cdef double b[3]
    cdef double db[3]
    cdef double nb_b[3]
    cdef double e[3]
    cdef double u[3]
    cdef double s, smin, along, across, lam
    cdef int j, jmin, k, m, mm, nb, entry = -1, crossings = 0
    cdef bint flip = False

    frame_of(v, &f)
    bary_point(v, &f, p, b)
    clamp_bary(b, 0.0)
    while True:
        bary_vector(&f, d, db)
        # first exit: smallest s with b_j + s db_j = 0, ties to the lower j (a vertex)
        smin = 1.0
        jmin = -1
        for j in range(3):
            if j != entry and db[j] < 0.0:
                s = b[j] / -db[j]
                if s < smin:
                    smin = s
                    jmin = j
        if jmin < 0:
            b[0] += db[0]
            b[1] += db[1]
            b[2] += db[2]
            break

        # go to the exit point on the edge opposite vertex jmin
        for j in range(3):
            b[j] += smin * db[j]
        b[jmin] = 0.0
        clamp_bary(b, 0.0)
        s = 1.0 - smin
        d[0] *= s
        d[1] *= s
        d[2] *= s
        if crossings >= SURF_MAX_CROSSINGS:
            stats[SURF_STAT_TRUNCATED] += 1
            break
        crossings += 1

        # the edge k = (va, vb), its unit direction e and the triangle's inward normal u
        k = (jmin + 1) % 3
        va = v + 3 * k
        vb = v + 3 * ((k + 1) % 3)
        sub3(vb, va, e)
        normalize3(e)
        inward_normal(va, e, v + 3 * jmin, u)
        along = dot3(d, e)
        across = fabs(dot3(d, u))    # size of the part leaving the triangle

        nb = neighbors[3 * t + k]
        m = -1
        if nb >= 0:
            # the neighbour's edge with the same two vertices (either orientation)
            w = tri_v + 9 * nb
            for mm in range(3):
                if neighbors[3 * nb + mm] == t:
                    if same_point(w + 3 * mm, vb) and same_point(w + 3 * ((mm + 1) % 3), va):
                        m = mm
                        flip = True
                        break
                    if same_point(w + 3 * mm, va) and same_point(w + 3 * ((mm + 1) % 3), vb):
                        m = mm
                        flip = False
                        break
        if m < 0:
            # region boundary (or inconsistent adjacency): specular reflection in the plane
            for j in range(3):
                d[j] = along * e[j] + across * u[j]
            entry = jmin
            stats[SURF_STAT_REFLECTIONS] += 1
            continue

        # unfold into the neighbour: same edge point, displacement rotated about the edge
        lam = b[(k + 1) % 3]         # weight of vb; b[k] = 1 - lam is the weight of va
        j = (m + 2) % 3              # the neighbour's vertex opposite the shared edge
        if flip:
            nb_b[m] = lam
            nb_b[(m + 1) % 3] = b[k]
        else:
            nb_b[m] = b[k]
            nb_b[(m + 1) % 3] = lam
        nb_b[j] = 0.0
        b[0] = nb_b[0]
        b[1] = nb_b[1]
        b[2] = nb_b[2]
        inward_normal(va, e, w + 3 * j, u)
        for mm in range(3):
            d[mm] = along * e[mm] + across * u[mm]
        entry = j
        t = nb
        v = w
        frame_of(v, &f)
        stats[SURF_STAT_CROSSINGS] += 1

    clamp_bary(b, MARGIN)
    for j in range(3):
        p[j] = b[0] * v[j] + b[1] * v[3 + j] + b[2] * v[6 + j]
    return t


cdef Py_ssize_t check_mesh(const double[:, :, ::1] tri_v, const int[:, ::1] neighbors) except -1:
    """Validate the mesh arrays (shapes, neighbour indices); returns the number of triangles."""
    cdef Py_ssize_t n_tri = tri_v.shape[0], i
    cdef int k
    cdef bint bad = False
    if tri_v.shape[1] != 3 or tri_v.shape[2] != 3:
        raise ValueError(f"tri_v must have shape (T, 3, 3), got {tuple(tri_v.shape)[:3]}")
    if neighbors.shape[0] != n_tri or neighbors.shape[1] != 3:
        raise ValueError(f"neighbors must have shape ({n_tri}, 3), got {tuple(neighbors.shape)[:2]}")
    with nogil:
        for i in range(n_tri):
            for k in range(3):
                if neighbors[i, k] < -1 or neighbors[i, k] >= n_tri:
                    bad = True
    if bad:
        raise ValueError(f"neighbors must be triangle indices in 0..{n_tri - 1} or -1")
    return n_tri


def walk(const double[:, :, ::1] tri_v, const int[:, ::1] neighbors, double[:, ::1] pos, int[::1] tri,
         const int[::1] species, Py_ssize_t n, long long n_steps, const double[::1] sigma,
         uint64_t[::1] rng_state, long long[::1] stats):
    """Advance surface molecules 0..n-1 by n_steps lateral diffusion steps, in place.

    tri_v (T, 3, 3): triangle vertices (µm); neighbors (T, 3) int32: neighbour across edge
    k = (vertex k, vertex k+1) or -1 at a region boundary (cleftsim.topology.surface_adjacency);
    pos (N, 3): positions, each on its triangle tri[i] (N >= n); species[i] indexes sigma, the
    rms step per axis sqrt(2 D dt) in µm of each species (0: immobile; species[i] < 0: dead slot;
    neither draws random numbers); rng_state: a stream state (uint64[2], random.pxd), advanced;
    stats: long long[>= 3], incremented by [truncated moves, edge crossings, reflections].
    Each step draws two normals per mobile molecule, in order of i, along a fixed orthonormal
    basis of its triangle's plane (tangent_basis), so k calls of one step equal one call of k steps.
    """
    cdef Py_ssize_t n_tri = check_mesh(tri_v, neighbors), i, n_sigma = sigma.shape[0]
    cdef long long step
    cdef int s, bad = 0
    cdef double sg
    cdef const double* tv
    cdef const int* nbr
    cdef uint64_t* rng
    cdef long long* st

    if pos.shape[1] != 3:
        raise ValueError(f"pos must have shape (N, 3), got {tuple(pos.shape)[:2]}")
    if n < 0 or n > pos.shape[0] or n > tri.shape[0] or n > species.shape[0]:
        raise ValueError(f"n = {n} must be in 0..min(len(pos), len(tri), len(species))")
    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, got {n_steps}")
    if rng_state.shape[0] != 2:
        raise ValueError("rng_state must be a uint64[2] stream state (cleftsim._core.random.seed_state)")
    if stats.shape[0] < 3:
        raise ValueError("stats must have at least 3 counters")
    with nogil:
        for i in range(n_sigma):
            if not (isfinite(sigma[i]) and sigma[i] >= 0.0):
                bad = 1
        for i in range(n):
            if species[i] >= n_sigma:
                bad = 2
            elif species[i] >= 0 and sigma[species[i]] > 0.0 and (tri[i] < 0 or tri[i] >= n_tri):
                bad = 3
    if bad == 1:
        raise ValueError("sigma must be finite and >= 0")
    if bad == 2:
        raise ValueError(f"species must be < len(sigma) = {n_sigma} (or < 0 for dead slots)")
    if bad == 3:
        raise ValueError(f"tri must be triangle indices in 0..{n_tri - 1} for mobile molecules")
    if n == 0 or n_steps == 0 or n_tri == 0:
        return

    tv = &tri_v[0, 0, 0]
    nbr = &neighbors[0, 0]
    rng = &rng_state[0]
    st = &stats[0]
    with nogil:
        for step in range(n_steps):
            for i in range(n):
                s = species[i]
                if s < 0:
                    continue
                sg = sigma[s]
                if sg == 0.0:
                    continue
                tri[i] = lateral_move(tv, nbr, tri[i], &pos[i, 0], sg, rng, st)


def move(const double[:, :, ::1] tri_v, const int[:, ::1] neighbors, double[:, ::1] pos, int[::1] tri,
         const double[:, ::1] disp, long long[::1] stats):
    """Move molecule i (on triangle tri[i]) by the given displacement disp[i] (µm; its component
    normal to the triangle is ignored), in place: the deterministic part of walk, for tests and
    for callers that draw their own displacements. Arguments as in walk; disp is (N, 3)."""
    cdef Py_ssize_t n_tri = check_mesh(tri_v, neighbors), n = pos.shape[0], i
    cdef bint bad = False
    cdef double d[3]
    if pos.shape[1] != 3 or disp.shape[1] != 3 or disp.shape[0] != n or tri.shape[0] != n:
        raise ValueError("pos and disp must have shape (N, 3) and tri shape (N,)")
    if stats.shape[0] < 3:
        raise ValueError("stats must have at least 3 counters")
    with nogil:
        for i in range(n):
            if tri[i] < 0 or tri[i] >= n_tri:
                bad = True
    if bad:
        raise ValueError(f"tri must be triangle indices in 0..{n_tri - 1}")
    if n == 0:
        return
    with nogil:
        for i in range(n):
            d[0] = disp[i, 0]
            d[1] = disp[i, 1]
            d[2] = disp[i, 2]
            tri[i] = move_on_surface(&tri_v[0, 0, 0], &neighbors[0, 0], tri[i], &pos[i, 0], d, &stats[0])
