# cython: language_level=3
"""Intersections between the triangles of a mesh (or of two meshes): exact pair tests on the
candidate pairs of a hierarchical spatial hash.

Broad phase. Every triangle's bounding box, grown by the tolerance eps, is put in the level l of
a hierarchy of uniform grids (cell edge h·2^l, h the smallest box's largest side) whose cells are
just large enough for it, so that it covers at most two cells per axis there; the cells of every
level are hashed into one table of buckets (the spatial hash of Teschner et al. 2003, "Optimized
spatial hashing for collision detection of deformable objects", VMV). Each triangle looks up the
cells of its box at its own level and at every coarser one, and a pair is tested only in the cell
that holds the lower corner of the overlap of the two boxes, so every pair of overlapping boxes
is tested exactly once. The triangles are visited in Morton (Z-curve) order of their centroids, so
that neighbours in space are neighbours in memory. Memory is O(T) (about 120 bytes per triangle)
and time O(T) for meshes of similar-sized triangles, whatever their spread of sizes or extent.

Narrow phase, after Möller 1997 ("A fast triangle-triangle intersection test", J Graphics Tools
2:25): the signed distances of each triangle's vertices from the other's plane, set to 0 within
eps, reject a pair that lies on one side of a plane. Otherwise both triangles cut the line where
the two planes meet, each in a segment, and the triangles meet where the segments overlap. When
one triangle lies in the other's plane (all three distances within eps) it is clipped against the
prism over the other's edges, moved out by eps (touching counts) or in by eps (only an overlap of
interiors counts), after Sutherland & Hodgman 1974 (Commun ACM 17:32).

Which contacts count depends on the pair (see `first_contact`): triangles of two groups (two
objects) meet at any contact; in one closed surface, triangles sharing no vertex meet at any
contact, triangles sharing one vertex when they cross beyond it (a fold through), and every pair
when their interiors overlap in one plane (a face folded back onto its neighbour, or covered
twice).
"""
import numpy as np
from libc.math cimport sqrt, INFINITY

from cleftsim._core.vec cimport dot3, sub3, cross3, spread
from cleftsim._core.hashgrid cimport cell_hash


cdef enum:
    MAX_LEVELS = 64
    # where a triangle lies with respect to a plane
    APART = 0           # all its vertices strictly on one side
    ONE_VERTEX = 1      # one vertex on the plane, the other two strictly on one side
    CUTS = 2            # vertices on both sides, or an edge on the plane
    IN_PLANE = 3        # all its vertices within eps of the plane
    # how two triangles meet
    MEET = 1            # they cross or touch, their planes not parallel
    OVERLAP = 2         # they overlap (or touch) in one plane


cdef struct Search:
    const double* vertices      # (V, 3) µm
    const int* triangles        # (T, 3) vertex indices
    const int* group            # (T,) pairs of one group follow the neighbour rules
    const signed char* closed   # (T,) the triangle's connected part is a closed surface
    double eps                  # contact tolerance (µm)
    bint within                 # test pairs of one group
    double* box                 # (T, 6) lo, hi of each triangle's bounding box, grown by eps
    signed char* level          # (T,) grid level of each triangle
    int n_levels                # levels 0 .. n_levels-1 are in use
    double origin[3]            # lower corner of all boxes
    double inv_h[MAX_LEVELS]    # 1 / cell edge of each level
    unsigned long long mask     # buckets - 1 (a power of two minus one)
    long long* start            # (buckets + 1) first entry of each bucket
    int* entries                # triangle indices, grouped by bucket


# -- narrow phase: one pair ---------------------------------------------------------------------
cdef inline void normalize(double* a) noexcept nogil:
    cdef double r = 1.0 / sqrt(dot3(a, a))
    a[0] *= r
    a[1] *= r
    a[2] *= r


cdef inline void unit_normal(const double* p, double* n) noexcept nogil:
    """Unit normal of triangle p (three vertices, 9 doubles) by the right-hand rule."""
    cdef double e1[3]
    cdef double e2[3]
    sub3(p + 3, p, e1)
    sub3(p + 6, p, e2)
    cross3(e1, e2, n)
    normalize(n)


cdef int side(const double* n, const double* p0, const double* q, double eps, double* d) noexcept nogil:
    """Signed distances d (µm) of the vertices of triangle q from the plane through p0 with unit
    normal n, set to 0 within eps; returns APART, ONE_VERTEX, CUTS or IN_PLANE."""
    cdef int k, above = 0, below = 0
    cdef double r[3]
    for k in range(3):
        sub3(q + 3 * k, p0, r)
        d[k] = dot3(n, r)
        if d[k] > eps:
            above += 1
        elif d[k] < -eps:
            below += 1
        else:
            d[k] = 0.0
    if above == 3 or below == 3:
        return APART
    if above == 2 or below == 2:
        return ONE_VERTEX
    return IN_PLANE if above + below == 0 else CUTS


cdef inline void extend(const double* x, const double* u, double* t, double* ends) noexcept nogil:
    """Grow the interval t[0] <= t[1] of positions u·x to hold the point x; ends (6 doubles): the
    points at its two ends."""
    cdef double s = dot3(u, x)
    cdef int k
    if s < t[0]:
        t[0] = s
        for k in range(3):
            ends[k] = x[k]
    if s > t[1]:
        t[1] = s
        for k in range(3):
            ends[3 + k] = x[k]


cdef void cut(const double* q, const double* d, const double* u, double* t, double* ends) noexcept nogil:
    """The segment in which triangle q (vertex distances d from a plane it CUTS) meets that
    plane: its interval t of positions along u, and its end points."""
    cdef int k, m, c
    cdef double f
    cdef double x[3]
    t[0] = INFINITY
    t[1] = -INFINITY
    for k in range(3):
        m = (k + 1) % 3
        if d[k] == 0.0:
            extend(q + 3 * k, u, t, ends)
        elif d[k] * d[m] < 0.0:
            f = d[k] / (d[k] - d[m])
            for c in range(3):
                x[c] = q[3 * k + c] + f * (q[3 * m + c] - q[3 * k + c])
            extend(x, u, t, ends)


cdef double line_overlap(const double* p, const double* dp, const double* n1, const double* q,
                         const double* dq, const double* n2, double* x) noexcept nogil:
    """Length (µm) of the common part of the segments in which triangles p and q cut the line
    where their planes (unit normals n1, n2) meet, negative for a gap; x: its middle."""
    cdef double u[3]
    cdef double tp[2]
    cdef double tq[2]
    cdef double ep[6]
    cdef double eq[6]
    cdef const double* a
    cdef const double* b
    cdef int k
    cross3(n1, n2, u)
    normalize(u)
    cut(p, dp, u, tp, ep)
    cut(q, dq, u, tq, eq)
    a = &ep[0]
    if tq[0] > tp[0]:
        a = &eq[0]
    b = &ep[3]
    if tq[1] < tp[1]:
        b = &eq[3]
    for k in range(3):
        x[k] = 0.5 * (a[k] + b[k])
    return min(tp[1], tq[1]) - max(tp[0], tq[0])


cdef int clip(const double* poly, int n, const double* m, double c, double* out) noexcept nogil:
    """The part of the convex polygon poly (n points) where m·x >= c, written to out (at most 2n
    points, whatever the round-off); returns its number of points."""
    cdef int i, k, count = 0
    cdef const double* a
    cdef const double* b
    cdef double da, db, f
    for i in range(n):
        a = poly + 3 * i
        b = poly + 3 * ((i + 1) % n)
        da = dot3(m, a) - c
        db = dot3(m, b) - c
        if da >= 0.0:
            for k in range(3):
                out[3 * count + k] = a[k]
            count += 1
        if (da >= 0.0) != (db >= 0.0):
            f = da / (da - db)
            for k in range(3):
                out[3 * count + k] = a[k] + f * (b[k] - a[k])
            count += 1
    return count


cdef bint coplanar_meet(const double* p, const double* n, const double* q, double grow, double* x) noexcept nogil:
    """Whether triangle q, lying in the plane of triangle p (unit normal n), meets p with each
    edge moved out by `grow` (µm; in if negative); x: the centroid of the common part's corners."""
    cdef double buf[2][3 * 24]    # 3 points, at most doubled by each of the three clips
    cdef double e[3]
    cdef double m[3]
    cdef int cur = 0, count = 3, i, k
    for i in range(9):
        buf[0][i] = q[i]
    for k in range(3):
        sub3(p + 3 * ((k + 1) % 3), p + 3 * k, e)
        cross3(n, e, m)             # in the plane, pointing into p
        normalize(m)
        count = clip(buf[cur], count, m, dot3(m, p + 3 * k) - grow, buf[1 - cur])
        cur = 1 - cur
        if count == 0:
            return False
    for k in range(3):
        x[k] = 0.0
        for i in range(count):
            x[k] += buf[cur][3 * i + k]
        x[k] /= count
    return True


cdef int classify(const double* p, const double* q, bint touch, bint fold, double eps, double* x) noexcept nogil:
    """How triangles p and q (9 doubles each) meet: 0, MEET or OVERLAP; x: a point near the contact.

    touch: any contact within eps counts. fold (the pair shares one vertex): a crossing that
    reaches more than eps beyond it counts (not if either meets the other's plane at one vertex
    only, which is then the shared one). Neither: only an overlap of their interiors in one plane
    counts (so for neighbours, only a face folded back onto the other).
    """
    cdef double n1[3]
    cdef double n2[3]
    cdef double dp[3]
    cdef double dq[3]
    cdef double grow = eps if touch else -eps
    cdef double overlap
    cdef int sq, sp
    unit_normal(p, n1)
    sq = side(n1, p, q, eps, dq)
    if sq == APART or (fold and sq == ONE_VERTEX):
        return 0
    unit_normal(q, n2)
    sp = side(n2, q, p, eps, dp)
    if sp == APART or (fold and sp == ONE_VERTEX):
        return 0
    if sq == IN_PLANE:
        return OVERLAP if coplanar_meet(p, n1, q, grow, x) else 0
    if sp == IN_PLANE:
        return OVERLAP if coplanar_meet(q, n2, p, grow, x) else 0
    if not (touch or fold):
        return 0
    overlap = line_overlap(p, dp, n1, q, dq, n2, x)
    if touch:
        return MEET if overlap >= -eps else 0
    return MEET if overlap > eps else 0


cdef inline void corners(Search* s, Py_ssize_t i, double* p) noexcept nogil:
    """The three vertices (9 doubles) of triangle i."""
    cdef int a, k
    for a in range(3):
        for k in range(3):
            p[3 * a + k] = s.vertices[3 * s.triangles[3 * i + a] + k]


cdef inline int shared(Search* s, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    """Number of vertices that triangles i and j share."""
    cdef int a, b, n = 0
    for a in range(3):
        for b in range(3):
            if s.triangles[3 * i + a] == s.triangles[3 * j + b]:
                n += 1
    return n


cdef int test_pair(Search* s, Py_ssize_t i, Py_ssize_t j, double* x) noexcept nogil:
    """How triangles i and j meet (0, MEET or OVERLAP) under the rules of their groups."""
    cdef double p[9]
    cdef double q[9]
    cdef int k
    cdef bint closed
    corners(s, i, p)
    corners(s, j, q)
    if s.group[i] != s.group[j]:
        return classify(p, q, True, False, s.eps, x)
    k = shared(s, i, j)
    closed = s.closed[i] and s.closed[j]
    return classify(p, q, closed and k == 0, closed and k == 1, s.eps, x)


# -- broad phase: the hierarchical hash ---------------------------------------------------------
cdef inline long long cell_of(double x, double origin, double inv_h) noexcept nogil:
    """Cell index along one axis of a coordinate x >= origin."""
    return <long long>((x - origin) * inv_h)


cdef inline unsigned long long bucket(Search* s, int l, long long a, long long b, long long c) noexcept nogil:
    return (cell_hash(a, b, c) ^ (<unsigned long long>l * 0x9E3779B97F4A7C15ULL)) & s.mask


cdef inline void cell_range(Search* s, Py_ssize_t i, int l, long long* lo, long long* hi) noexcept nogil:
    """The cells lo[k] .. hi[k] (per axis) covered by the box of triangle i at level l."""
    cdef int k
    for k in range(3):
        lo[k] = cell_of(s.box[6 * i + k], s.origin[k], s.inv_h[l])
        hi[k] = cell_of(s.box[6 * i + 3 + k], s.origin[k], s.inv_h[l])


cdef double set_boxes(Search* s, Py_ssize_t n) noexcept nogil:
    """Fill s.box and s.origin; returns the smallest largest side of a box (µm)."""
    cdef Py_ssize_t i
    cdef int a, k
    cdef double x, largest, smallest = INFINITY
    cdef double* b
    for k in range(3):
        s.origin[k] = INFINITY
    for i in range(n):
        b = s.box + 6 * i
        largest = 0.0
        for k in range(3):
            b[k] = INFINITY
            b[3 + k] = -INFINITY
            for a in range(3):
                x = s.vertices[3 * s.triangles[3 * i + a] + k]
                b[k] = min(b[k], x)
                b[3 + k] = max(b[3 + k], x)
            b[k] -= s.eps
            b[3 + k] += s.eps
            s.origin[k] = min(s.origin[k], b[k])
            largest = max(largest, b[3 + k] - b[k])
        smallest = min(smallest, largest)
    return smallest


cdef void set_levels(Search* s, Py_ssize_t n, double h) noexcept nogil:
    """Put every triangle at the finest level whose cell edge (h·2^l) is at least its box's
    largest side."""
    cdef Py_ssize_t i
    cdef int l, k
    cdef double edge, largest
    for l in range(MAX_LEVELS):
        s.inv_h[l] = 1.0 / (h * 2.0 ** l)
    s.n_levels = 0
    for i in range(n):
        largest = 0.0
        for k in range(3):
            largest = max(largest, s.box[6 * i + 3 + k] - s.box[6 * i + k])
        l = 0
        edge = h
        while edge < largest and l < MAX_LEVELS - 1:
            edge *= 2.0
            l += 1
        s.level[i] = l
        s.n_levels = max(s.n_levels, l + 1)


cdef void tally(Search* s, Py_ssize_t n, bint place) noexcept nogil:
    """Count the entries of each bucket b in s.start[b] (place False); or, with s.start[b] holding
    the end of bucket b, put each triangle in the buckets of the cells its box covers at its
    level, leaving s.start[b] at the first entry of bucket b (place True)."""
    cdef Py_ssize_t i
    cdef int l
    cdef long long a, b, c
    cdef unsigned long long bk
    cdef long long lo[3]
    cdef long long hi[3]
    for i in range(n):
        l = s.level[i]
        cell_range(s, i, l, lo, hi)
        for a in range(lo[0], hi[0] + 1):
            for b in range(lo[1], hi[1] + 1):
                for c in range(lo[2], hi[2] + 1):
                    bk = bucket(s, l, a, b, c)
                    if place:
                        s.start[bk] -= 1
                        s.entries[s.start[bk]] = <int>i
                    else:
                        s.start[bk] += 1


cdef inline bint owns(Search* s, Py_ssize_t i, Py_ssize_t j, int l, const long long* cell) noexcept nogil:
    """Whether the boxes of triangles i and j overlap, with the lower corner of their overlap in
    `cell` of level l (the one cell where the pair is tested)."""
    cdef int k
    cdef double lo
    for k in range(3):
        lo = max(s.box[6 * i + k], s.box[6 * j + k])
        if lo > min(s.box[6 * i + 3 + k], s.box[6 * j + 3 + k]):
            return False
        if cell_of(lo, s.origin[k], s.inv_h[l]) != cell[k]:
            return False
    return True


cdef Py_ssize_t scan(Search* s, Py_ssize_t i, int l, const long long* cell, int* kind, double* x) noexcept nogil:
    """The first triangle of level l in `cell` that meets triangle i there (-1 if none); at i's
    own level only triangles j > i (a bucket lists its triangles in decreasing order)."""
    cdef unsigned long long bk = bucket(s, l, cell[0], cell[1], cell[2])
    cdef long long e
    cdef Py_ssize_t j
    cdef bint own = l == s.level[i]
    for e in range(s.start[bk], s.start[bk + 1]):
        j = s.entries[e]
        if own and j <= i:
            break
        if s.level[j] != l:
            continue
        if not s.within and s.group[i] == s.group[j]:
            continue
        if not owns(s, i, j, l, cell):
            continue
        kind[0] = test_pair(s, i, j, x)
        if kind[0]:
            return j
    return -1


cdef Py_ssize_t search(Search* s, Py_ssize_t n, Py_ssize_t* other, int* kind, double* x) noexcept nogil:
    """The first triangle i that meets another one (set in other), or -1."""
    cdef Py_ssize_t i, j
    cdef int l
    cdef long long a, b, c
    cdef long long lo[3]
    cdef long long hi[3]
    cdef long long cell[3]
    for i in range(n):
        for l in range(s.level[i], s.n_levels):
            cell_range(s, i, l, lo, hi)
            for a in range(lo[0], hi[0] + 1):
                for b in range(lo[1], hi[1] + 1):
                    for c in range(lo[2], hi[2] + 1):
                        cell[0], cell[1], cell[2] = a, b, c
                        j = scan(s, i, l, cell, kind, x)
                        if j >= 0:
                            other[0] = j
                            return i
    return -1


cdef inline int root(int* parent, int v) noexcept nogil:
    """The representative of v's set (union-find), halving the path on the way."""
    while parent[v] != v:
        parent[v] = parent[parent[v]]
        v = parent[v]
    return v


def vertex_parts(const int[:, ::1] triangles, int n_vertices):
    """(V,) int32: for every vertex, a label of its connected part (vertices linked through the
    triangles that use them); labels are the parts' smallest vertex index. Union-find
    (Tarjan 1975, J ACM 22:215) with path halving; O(T) for practical meshes."""
    cdef Py_ssize_t t, n = triangles.shape[0]
    cdef int a, b, k, v
    out = np.arange(n_vertices, dtype=np.int32)
    cdef int[::1] parent = out
    with nogil:
        for t in range(n):
            for k in range(1, 3):
                a = root(&parent[0], triangles[t, 0])
                b = root(&parent[0], triangles[t, k])
                if a < b:
                    parent[b] = a
                elif b < a:
                    parent[a] = b
        for v in range(n_vertices):
            parent[v] = root(&parent[0], v)
    return out


def spatial_order(const double[:, ::1] vertices, const int[:, ::1] triangles):
    """Indices of the triangles in Morton (Z-curve) order of their centroids, on a 2^21 grid
    over the vertices' bounding box."""
    cdef Py_ssize_t n = triangles.shape[0], i
    cdef int a, k
    cdef double lo[3]
    cdef double scale = 0.0, c
    cdef unsigned long long key
    keys = np.empty(n, dtype=np.uint64)
    cdef unsigned long long[::1] keys_v = keys
    bounds = np.asarray(vertices).min(axis=0), np.asarray(vertices).max(axis=0)
    for k in range(3):
        lo[k] = bounds[0][k]
        scale = max(scale, bounds[1][k] - bounds[0][k])
    scale = (2 ** 21 - 1) / scale if scale > 0.0 else 0.0
    with nogil:
        for i in range(n):
            key = 0
            for k in range(3):
                c = 0.0
                for a in range(3):
                    c += vertices[triangles[i, a], k]
                key |= spread(<unsigned long long>((c / 3.0 - lo[k]) * scale)) << k
            keys_v[i] = key
    return np.argsort(keys, kind="stable")


cdef tuple first_pair(const double[:, ::1] vertices, const int[:, ::1] triangles, const int[::1] group,
                      const signed char[::1] closed, double eps, bint within):
    """The first pair of triangles (i, j) found that meet, with how (MEET or OVERLAP) and a point
    near the contact, in the order given; None if no pair meets."""
    cdef Py_ssize_t n = triangles.shape[0], i = -1, j = -1, buckets = 16
    cdef Search s
    cdef int kind = 0
    cdef double x[3]
    cdef double h
    cdef long long e
    box = np.empty((n, 6), dtype=np.float64)
    level = np.empty(n, dtype=np.int8)
    cdef double[:, ::1] box_v = box
    cdef signed char[::1] level_v = level
    while buckets < 2 * n:
        buckets *= 2
    start = np.zeros(buckets + 1, dtype=np.int64)
    cdef long long[::1] start_v = start
    s.vertices = &vertices[0, 0]
    s.triangles = &triangles[0, 0]
    s.group = &group[0]
    s.closed = &closed[0]
    s.eps = eps
    s.within = within
    s.box = &box_v[0, 0]
    s.level = &level_v[0]
    s.mask = buckets - 1
    s.start = &start_v[0]
    with nogil:
        h = set_boxes(&s, n)
        set_levels(&s, n, h)
        tally(&s, n, False)
        for e in range(1, buckets):
            start_v[e] += start_v[e - 1]
        start_v[buckets] = start_v[buckets - 1]
    entries = np.empty(start_v[buckets], dtype=np.int32)
    cdef int[::1] entries_v = entries
    s.entries = &entries_v[0]
    with nogil:
        tally(&s, n, True)
        i = search(&s, n, &j, &kind, x)
    if i < 0:
        return None
    return i, j, kind, (x[0], x[1], x[2])


def first_contact(const double[:, ::1] vertices, const int[:, ::1] triangles, const int[::1] group,
                  const signed char[::1] closed, double eps, bint within):
    """The first pair of triangles found that meet, as (i, j, coplanar, (x, y, z)) with i < j and
    a point near the contact (µm), or None.

    Triangles of different `group`s meet at any contact within `eps` (µm). Pairs of one group
    are tested only if `within`: where both triangles are flagged `closed` (their connected part
    is a closed surface) triangles sharing no vertex meet at any contact and triangles sharing
    one vertex when they cross beyond it; any pair of one group meets where the interiors
    overlap in one plane.
    """
    if triangles.shape[0] < 2:
        return None
    order = spatial_order(vertices, triangles)
    hit = first_pair(vertices, np.asarray(triangles)[order], np.asarray(group)[order],
                     np.asarray(closed)[order], eps, within)
    if hit is None:
        return None
    i, j, kind, x = hit
    i, j = sorted((int(order[i]), int(order[j])))
    return i, j, kind == OVERLAP, x
