# Inline scalar and 3-vector helpers shared by the kernels (header-only).
from libc.math cimport sqrt


cdef inline double dot3(const double* a, const double* b) noexcept nogil:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


cdef inline void sub3(const double* a, const double* b, double* out) noexcept nogil:
    out[0] = a[0] - b[0]
    out[1] = a[1] - b[1]
    out[2] = a[2] - b[2]


cdef inline void cross3(const double* a, const double* b, double* out) noexcept nogil:
    """out = a × b."""
    out[0] = a[1] * b[2] - a[2] * b[1]
    out[1] = a[2] * b[0] - a[0] * b[2]
    out[2] = a[0] * b[1] - a[1] * b[0]


cdef inline double dist2_point_segment(const double* p, const double* a, const double* b) noexcept nogil:
    """Squared distance from p to the segment a-b."""
    cdef double ab[3]
    cdef double ap[3]
    cdef double t, l2, dx, dy, dz
    sub3(b, a, ab)
    sub3(p, a, ap)
    l2 = dot3(ab, ab)
    t = dot3(ap, ab) / l2 if l2 > 0.0 else 0.0
    if t < 0.0:
        t = 0.0
    elif t > 1.0:
        t = 1.0
    dx = ap[0] - t * ab[0]
    dy = ap[1] - t * ab[1]
    dz = ap[2] - t * ab[2]
    return dx * dx + dy * dy + dz * dz


cdef inline int ifloor(double x) noexcept nogil:
    """floor(x) as an int without a libm call (|x| < 2^31)."""
    cdef int i = <int>x
    return i - 1 if x < i else i


cdef inline unsigned long long spread(unsigned long long x) noexcept nogil:
    """The low 21 bits of x moved to every third bit (for interleaving three coordinates)."""
    x &= 0x1FFFFFULL
    x = (x | x << 32) & 0x1F00000000FFFFULL
    x = (x | x << 16) & 0x1F0000FF0000FFULL
    x = (x | x << 8) & 0x100F00F00F00F00FULL
    x = (x | x << 4) & 0x10C30C30C30C30C3ULL
    x = (x | x << 2) & 0x1249249249249249ULL
    return x
