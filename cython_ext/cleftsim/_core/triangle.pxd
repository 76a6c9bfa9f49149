# The triangle records of Scene.tri and point queries on them (header-only).
from cleftsim._core.vec cimport dot3, sub3, dist2_point_segment

# Record layout (doubles): v0[3], e1[3] = v1 - v0, e2[3] = v2 - v0, d00 = e1·e1, d01 = e1·e2,
# d11 = e2·e2, 1/(d00 d11 - d01²).
cdef enum:
    TRI_STRIDE = 13


cdef inline void barycentric(const double* tr, const double* q, double* v, double* w) noexcept nogil:
    """Barycentric coordinates (of e1, e2) of the point q projected on the triangle's plane."""
    cdef double r[3]
    cdef double d20, d21
    sub3(q, tr, r)
    d20 = dot3(r, tr + 3)
    d21 = dot3(r, tr + 6)
    v[0] = (tr[11] * d20 - tr[10] * d21) * tr[12]
    w[0] = (tr[9] * d21 - tr[10] * d20) * tr[12]


cdef inline double dist2_point_triangle(const double* tr, const double* plane, const double* p) noexcept nogil:
    """Squared Euclidean distance from p to the triangle record tr (plane = its n, offset)."""
    cdef double s = dot3(plane, p) - plane[3]
    cdef double v, w, best, d2
    cdef double b[3]
    cdef double c[3]
    barycentric(tr, p, &v, &w)
    if v >= 0.0 and w >= 0.0 and v + w <= 1.0:
        return s * s
    b[0] = tr[0] + tr[3]
    b[1] = tr[1] + tr[4]
    b[2] = tr[2] + tr[5]
    c[0] = tr[0] + tr[6]
    c[1] = tr[1] + tr[7]
    c[2] = tr[2] + tr[8]
    best = dist2_point_segment(p, tr, b)
    d2 = dist2_point_segment(p, b, c)
    if d2 < best:
        best = d2
    d2 = dist2_point_segment(p, c, tr)
    if d2 < best:
        best = d2
    return best
