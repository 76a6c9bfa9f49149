# A bounding-volume hierarchy over some of a scene's triangles (header-only): its layout and
# the nearest triangle to a point. Built by grid.pyx (absorber_tree, which also walks it to build
# the absorber lists); searched by Scene.nearest_absorber.
from libc.math cimport sqrt

from cleftsim._core.vec cimport dot3
from cleftsim._core.triangle cimport TRI_STRIDE, dist2_point_triangle

cdef enum:
    TREE_STACK = 128    # deepest tree the queries walk (grid.pyx refuses deeper ones)
    TREE_REC = TRI_STRIDE + 4   # an entry's record: the triangle's record (triangle.pxd), then its plane


cdef struct Tree:
    const double* box           # (N, 6) lo, hi corners of each node's box (µm); node 0 is the root
    const int* child            # (N, 2) an inner node's two children; a leaf's (first, -count) entries
    const double* rec           # (M, TREE_REC) the entries' triangle records and planes, leaf after leaf
    const int* tris             # (M,) each entry's triangle (index in the scene)
    const int* region           # (M,) and its region


cdef inline double box_dist2(const double* b, const double* p) noexcept nogil:
    """Squared distance from p to the box b (lo, hi corners); 0 inside."""
    cdef double d2 = 0.0, x
    cdef int k
    for k in range(3):
        if p[k] < b[k]:
            x = b[k] - p[k]
            d2 += x * x
        elif p[k] > b[3 + k]:
            x = p[k] - b[3 + k]
            d2 += x * x
    return d2


cdef inline bint plane_beyond(double s, double d2) noexcept nogil:
    """Whether a triangle whose plane lies at signed distance s from a point is farther from it
    than sqrt(d2), by more than the round-off of the triangle's distance (dist2_point_triangle
    computes it otherwise than s² outside the triangle)."""
    return s * s > d2 * (1.0 + 1e-12)


cdef inline double entry_dist2(const Tree* t, long long k, const double* p) noexcept nogil:
    """Squared distance from p to the triangle of entry k."""
    return dist2_point_triangle(t.rec + TREE_REC * k, t.rec + TREE_REC * k + TRI_STRIDE, p)


cdef inline bint nearer_centre(const Tree* t, const double* centre, long long k, long long best) noexcept nogil:
    """Whether entry k goes before entry `best` in the order of distance from `centre`, then triangle index."""
    cdef double dk = sqrt(entry_dist2(t, k, centre)), db = sqrt(entry_dist2(t, best, centre))
    return dk < db or (dk == db and t.tris[k] < t.tris[best])


cdef inline int tree_nearest(const Tree* t, const double* p, const signed char* keep, const double* centre,
                             double* best2) noexcept nogil:
    """The triangle nearest to p, among those whose region r has keep[r] (all if keep is NULL),
    at a squared distance below best2 (µm², lowered to it); -1 if none. Of triangles at the
    same distance, the one nearer to `centre`, then the one of lower index, wins.

    Depth first, the nearer child first; a node whose box lies beyond the best distance is
    skipped, and so is a triangle whose plane does (by more than the round-off of its distance).
    """
    cdef int stack[TREE_STACK]
    cdef double dist[TREE_STACK]
    cdef int top = 1, node, a, b
    cdef long long k, best = -1
    cdef double da, db, d2, s
    cdef const double* plane
    stack[0] = 0
    dist[0] = box_dist2(t.box, p)
    while top > 0:
        top -= 1
        if dist[top] > best2[0]:
            continue
        node = stack[top]
        a = t.child[2 * node]
        b = t.child[2 * node + 1]
        if b < 0:
            for k in range(a, a - b):
                if keep != NULL and not keep[t.region[k]]:
                    continue
                plane = t.rec + TREE_REC * k + TRI_STRIDE
                s = dot3(plane, p) - plane[3]
                if plane_beyond(s, best2[0]):
                    continue
                d2 = dist2_point_triangle(t.rec + TREE_REC * k, plane, p)
                if d2 < best2[0] or (d2 == best2[0] and best >= 0 and nearer_centre(t, centre, k, best)):
                    best2[0] = d2
                    best = k
            continue
        da = box_dist2(t.box + 6 * a, p)
        db = box_dist2(t.box + 6 * b, p)
        if da > db:
            a, b = b, a
            da, db = db, da
        if db <= best2[0]:
            stack[top] = b
            dist[top] = db
            top += 1
        if da <= best2[0]:
            stack[top] = a
            dist[top] = da
            top += 1
    return t.tris[best] if best >= 0 else -1
