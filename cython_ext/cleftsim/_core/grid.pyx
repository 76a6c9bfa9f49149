# cython: language_level=3
"""Build-time preparation of the tracing grid (called by cleftsim.compiler.scene through cleftsim._core.scene):
the (cell, triangle) pairs of a uniform grid, each triangle's area inside its cells, the groups
that cover their cell's section of a plane, and the cells of the absorber grid near candidate
triangles. The run-time queries on the finished grid are in scene.pyx."""
import numpy as np
from libc.math cimport fabs, sqrt

from cleftsim._core.vec cimport ifloor, cross3
from cleftsim._core.triangle cimport TRI_STRIDE, dist2_point_triangle


def cell_pairs(double[:, :, ::1] tv, double[::1] lo, double[::1] cell, int[::1] ncell, double[:, ::1] planes,
               int[::1] tri_plane, double pad):
    """(cell, triangle) pairs: every grid cell whose box, grown by `pad`, the triangle touches.

    A cell is kept when the triangle's bounding box overlaps it and the triangle's plane passes
    through it (plane-box test).
    """
    cdef Py_ssize_t t, n = tv.shape[0]
    cdef int a, b, c, k
    cdef int i0[3]
    cdef int i1[3]
    cdef double mn, mx, cc[3], r, s
    cdef const double* pl
    cdef long long count = 0, pos
    cdef int passno
    cells = np.empty(0, dtype=np.int64)
    tris = np.empty(0, dtype=np.int32)
    cdef long long[::1] oc
    cdef int[::1] ot
    for passno in range(2):
        if passno == 1:
            cells = np.empty(count, dtype=np.int64)
            tris = np.empty(count, dtype=np.int32)
            oc = cells
            ot = tris
            pos = 0
        for t in range(n):
            pl = &planes[tri_plane[t], 0]
            for k in range(3):
                mn = min(tv[t, 0, k], tv[t, 1, k], tv[t, 2, k]) - pad
                mx = max(tv[t, 0, k], tv[t, 1, k], tv[t, 2, k]) + pad
                i0[k] = max(0, ifloor((mn - lo[k]) / cell[k]))
                i1[k] = min(ncell[k] - 1, ifloor((mx - lo[k]) / cell[k]))
            for a in range(i0[0], i1[0] + 1):
                for b in range(i0[1], i1[1] + 1):
                    for c in range(i0[2], i1[2] + 1):
                        cc[0] = lo[0] + (a + 0.5) * cell[0]
                        cc[1] = lo[1] + (b + 0.5) * cell[1]
                        cc[2] = lo[2] + (c + 0.5) * cell[2]
                        r = (0.5 * cell[0] + pad) * fabs(pl[0]) + (0.5 * cell[1] + pad) * fabs(pl[1]) \
                            + (0.5 * cell[2] + pad) * fabs(pl[2])
                        s = cc[0] * pl[0] + cc[1] * pl[1] + cc[2] * pl[2] - pl[3]
                        if fabs(s) > r:
                            continue
                        if passno == 0:
                            count += 1
                        else:
                            oc[pos] = (<long long>a * ncell[1] + b) * ncell[2] + c
                            ot[pos] = <int>t
                            pos += 1
    return cells, tris


cdef tuple near_cells(const double* tri, const double* planes, const int* tri_plane, int[::1] candidates,
                      double margin, double[::1] lo, double[::1] cell, int[::1] ncell):
    """Scene.near_pairs on the scene's triangle records tri, its planes and tri_plane."""
    cdef Py_ssize_t t, n = candidates.shape[0]
    cdef int a, b, c, k, j
    cdef int i0[3]
    cdef int i1[3]
    cdef double mn, mx, cc[3], half, dc
    cdef const double* tr
    cdef long long count = 0, pos = 0
    cdef int passno
    half = 0.5 * sqrt(cell[0] ** 2 + cell[1] ** 2 + cell[2] ** 2)
    cells = np.empty(0, dtype=np.int64)
    tris = np.empty(0, dtype=np.int32)
    dcs = np.empty(0, dtype=np.float64)
    cdef long long[::1] oc
    cdef int[::1] ot
    cdef double[::1] od
    for passno in range(2):
        if passno == 1:
            cells = np.empty(count, dtype=np.int64)
            tris = np.empty(count, dtype=np.int32)
            dcs = np.empty(count, dtype=np.float64)
            oc = cells
            ot = tris
            od = dcs
        for t in range(n):
            j = candidates[t]
            tr = tri + TRI_STRIDE * j
            for k in range(3):
                mn = min(tr[k], tr[k] + tr[3 + k], tr[k] + tr[6 + k]) - margin
                mx = max(tr[k], tr[k] + tr[3 + k], tr[k] + tr[6 + k]) + margin
                i0[k] = max(0, ifloor((mn - lo[k]) / cell[k]))
                i1[k] = min(ncell[k] - 1, ifloor((mx - lo[k]) / cell[k]))
            for a in range(i0[0], i1[0] + 1):
                for b in range(i0[1], i1[1] + 1):
                    for c in range(i0[2], i1[2] + 1):
                        cc[0] = lo[0] + (a + 0.5) * cell[0]
                        cc[1] = lo[1] + (b + 0.5) * cell[1]
                        cc[2] = lo[2] + (c + 0.5) * cell[2]
                        dc = sqrt(dist2_point_triangle(tr, planes + 4 * tri_plane[j], cc))
                        if dc - half > margin:
                            continue
                        if passno == 0:
                            count += 1
                        else:
                            oc[pos] = (<long long>a * ncell[1] + b) * ncell[2] + c
                            ot[pos] = j
                            od[pos] = dc
                            pos += 1
    return cells, tris, dcs


cdef int clip_polygon(double* poly, int n, int axis, double bound, bint keep_above, double* out) noexcept nogil:
    """Clip a convex polygon (n points, xyz) by x[axis] >= bound (keep_above) or <= bound."""
    cdef int i, m = 0, k
    cdef double* a
    cdef double* b
    cdef double da, db, f
    for i in range(n):
        a = poly + 3 * i
        b = poly + 3 * ((i + 1) % n)
        da = a[axis] - bound
        db = b[axis] - bound
        if not keep_above:
            da = -da
            db = -db
        if da >= 0.0:
            for k in range(3):
                out[3 * m + k] = a[k]
            m += 1
        if (da >= 0.0) != (db >= 0.0):
            f = da / (da - db)
            for k in range(3):
                out[3 * m + k] = a[k] + f * (b[k] - a[k])
            m += 1
    return m


cdef double clipped_area(double* poly, int n, const double* lo, const double* hi) noexcept nogil:
    """Area of a convex planar polygon clipped to the box [lo, hi]."""
    cdef double buf[2][3 * 24]
    cdef int cur = 0, axis, side, i
    cdef double cx = 0.0, cy = 0.0, cz = 0.0
    cdef double c[3]
    cdef double* a
    cdef double* b
    for i in range(3 * n):
        buf[0][i] = poly[i]
    for axis in range(3):
        for side in range(2):
            n = clip_polygon(buf[cur], n, axis, lo[axis] if side == 0 else hi[axis], side == 0, buf[1 - cur])
            cur = 1 - cur
            if n < 3:
                return 0.0
    for i in range(n):
        a = buf[cur] + 3 * i
        b = buf[cur] + 3 * ((i + 1) % n)
        cross3(a, b, c)
        cx += c[0]
        cy += c[1]
        cz += c[2]
    return 0.5 * sqrt(cx * cx + cy * cy + cz * cz)


cdef void cell_box(long long c, const double* lo, const double* cell, const int* ncell, double pad,
                   double* clo, double* chi) noexcept nogil:
    """Corners of grid cell c (flat index), grown by pad on every side."""
    cdef int idx[3]
    cdef int k
    idx[0] = <int>(c // (ncell[1] * ncell[2]))
    idx[1] = <int>((c // ncell[2]) % ncell[1])
    idx[2] = <int>(c % ncell[2])
    for k in range(3):
        clo[k] = lo[k] + idx[k] * cell[k] - pad
        chi[k] = lo[k] + (idx[k] + 1) * cell[k] + pad


def pair_areas(double[:, :, ::1] tv, long long[::1] cells, int[::1] tris, double[::1] lo, double[::1] cell,
               int[::1] ncell, double pad):
    """Area of each (cell, triangle) pair's triangle inside the cell, and inside the cell grown by pad."""
    cdef Py_ssize_t e, n = cells.shape[0]
    cdef int a, k, j
    cdef double clo[3]
    cdef double chi[3]
    cdef double tri[9]
    inner = np.empty(n, dtype=np.float64)
    outer = np.empty(n, dtype=np.float64)
    cdef double[::1] oi = inner
    cdef double[::1] oo = outer
    for e in range(n):
        j = tris[e]
        for a in range(3):
            for k in range(3):
                tri[3 * a + k] = tv[j, a, k]
        cell_box(cells[e], &lo[0], &cell[0], &ncell[0], 0.0, clo, chi)
        oi[e] = clipped_area(tri, 3, clo, chi)
        cell_box(cells[e], &lo[0], &cell[0], &ncell[0], pad, clo, chi)
        oo[e] = clipped_area(tri, 3, clo, chi)
    return inner, outer


def full_groups(int[::1] tri_region, double[:, ::1] planes, int[::1] group_plane, long long[::1] group_cell,
                long long[::1] group_start, int[::1] group_tris, double[::1] entry_area,
                double[::1] lo, double[::1] cell, int[::1] ncell, double rel_tol):
    """Flag the groups whose triangles (all of one region) cover their plane's whole section
    of the cell: the summed areas of the triangles inside the cell (entry_area) equal the area
    of the plane inside the cell, to rel_tol."""
    cdef Py_ssize_t g, n = group_plane.shape[0]
    cdef long long k
    cdef int j, axis
    cdef double clo[3]
    cdef double chi[3]
    cdef double poly[3 * 4]
    cdef double u[3]
    cdef double w[3]
    cdef double cc[3]
    cdef double size, s, cover, total, nrm
    cdef const double* pl
    cdef bint same_region
    out = np.zeros(max(n, 1), dtype=np.int8)
    cdef signed char[::1] o = out
    for g in range(n):
        cell_box(group_cell[g], &lo[0], &cell[0], &ncell[0], 0.0, clo, chi)
        pl = &planes[group_plane[g], 0]
        j = group_tris[group_start[g]]
        same_region = True
        cover = 0.0
        for k in range(group_start[g], group_start[g + 1]):
            if tri_region[group_tris[k]] != tri_region[j]:
                same_region = False
            cover += entry_area[k]
        if not same_region:
            continue
        # in-plane orthonormal basis (u, w) and a square around the cell centre's projection
        if fabs(pl[0]) < 0.9:
            u[0], u[1], u[2] = 0.0, -pl[2], pl[1]
        else:
            u[0], u[1], u[2] = pl[2], 0.0, -pl[0]
        nrm = sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2])
        for axis in range(3):
            u[axis] /= nrm
            cc[axis] = 0.5 * (clo[axis] + chi[axis])
        cross3(pl, u, w)
        s = cc[0] * pl[0] + cc[1] * pl[1] + cc[2] * pl[2] - pl[3]
        size = 2.0 * (cell[0] + cell[1] + cell[2])
        for axis in range(3):
            cc[axis] -= s * pl[axis]
            poly[axis] = cc[axis] + size * (u[axis] + w[axis])
            poly[3 + axis] = cc[axis] + size * (-u[axis] + w[axis])
            poly[6 + axis] = cc[axis] + size * (-u[axis] - w[axis])
            poly[9 + axis] = cc[axis] + size * (u[axis] - w[axis])
        total = clipped_area(poly, 4, clo, chi)
        if total > 0.0 and fabs(cover - total) <= rel_tol * total:
            o[g] = 1
    return out
