# Spatial hash of points (header-only): cells of edge 1/inv_h hashed into 2^k chained buckets.
# Distinct cells may share a bucket, so callers test the distance of every point they visit.
from libc.math cimport floor


cdef inline unsigned long long cell_hash(long long a, long long b, long long c) noexcept nogil:
    return (<unsigned long long>a * 73856093ULL) ^ (<unsigned long long>b * 19349663ULL) ^ (<unsigned long long>c * 83492791ULL)


cdef inline unsigned long long bucket_of(const double* p, double inv_h, unsigned long long mask) noexcept nogil:
    """The bucket of the cell holding point p."""
    return cell_hash(<long long>floor(p[0] * inv_h), <long long>floor(p[1] * inv_h),
                     <long long>floor(p[2] * inv_h)) & mask


cdef inline int ball_buckets(const double* x, double r, double inv_h, unsigned long long mask,
                             unsigned long long* out) noexcept nogil:
    """The distinct buckets (at most 8, written to out; their number is returned) of the 2x2x2
    cells that cover the ball of radius r around x; the cell edge must be at least 2r."""
    cdef long long c0[3]
    cdef int a, b, c, k, nb = 0
    cdef unsigned long long bk
    cdef bint seen
    for k in range(3):
        c0[k] = <long long>floor((x[k] - r) * inv_h)
    for a in range(2):
        for b in range(2):
            for c in range(2):
                bk = cell_hash(c0[0] + a, c0[1] + b, c0[2] + c) & mask
                seen = False
                for k in range(nb):
                    if out[k] == bk:
                        seen = True
                if not seen:
                    out[nb] = bk
                    nb += 1
    return nb
