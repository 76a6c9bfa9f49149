# cython: language_level=3
"""Compiled geometry: ray tracing against triangles through a uniform grid.

Triangles that share a plane are grouped inside each grid cell, so a ray tests each plane once per
cell (a plate made of hundreds of triangles costs one plane test) and runs a barycentric test only
for the triangles of a plane it actually crosses inside that cell. Grid traversal is the 3D DDA of
Amanatides & Woo (1987, Eurographics). Triangles are enlarged by a tiny barycentric epsilon so a ray
through a shared edge or vertex always hits at least one of the triangles meeting there.

This module holds the run-time queries; the grid is prepared by grid.pyx (cell_pairs, pair_areas, pair_order,
full_groups, absorber_tree, touched_cells and absorber_lists are re-exported here for
cleftsim.compiler.scene).
"""
import numpy as np
from cleftsim._core.grid import (cell_pairs, pair_areas, pair_order, full_groups, absorber_tree, touched_cells,
                                 absorber_lists)
from libc.math cimport fabs, sqrt, INFINITY

from cleftsim._core.vec cimport dot3, ifloor
from cleftsim._core.triangle cimport barycentric, dist2_point_triangle
from cleftsim._core.tree cimport tree_nearest


cdef enum:
    MAX_BOX_CELLS = 2


cdef inline int cell_index(Scene sc, int a, int b, int c) noexcept nogil:
    """Where cell (a, b, c) of the tracing grid is stored (cleftsim.compiler.scene: in bricks, so
    that cells near each other in space are near each other in memory): the sum of one part per axis."""
    return sc.slot_of[0][a] + sc.slot_of[1][b] + sc.slot_of[2][c]


cdef inline int grid_index(Scene sc, int k, double x) noexcept nogil:
    """Index along axis k of the tracing-grid cell that holds coordinate x, clamped onto the grid."""
    cdef int i = ifloor((x - sc.lo[k]) * sc.inv_cell[k])
    if i < 0:
        return 0
    if i >= sc.ncell[k]:
        return sc.ncell[k] - 1
    return i


cdef inline bint dda_start(Scene sc, const double* p, const double* d, const double* inv_d, double t_end,
                           DDA* s) noexcept nogil:
    """Clip p + t d, t in [0, t_end], to the grid; set up the walk. False if it misses the grid.

    inv_d holds 1/d per axis (unused where d is 0).
    """
    cdef double t0 = 0.0, t1 = t_end, a, b, tmp
    cdef int k, i
    cdef bint inside = (sc.lo[0] <= p[0] <= sc.hi[0] and sc.lo[1] <= p[1] <= sc.hi[1]
                        and sc.lo[2] <= p[2] <= sc.hi[2])
    for k in range(3):
        if inside:
            break
        if d[k] == 0.0:
            if p[k] < sc.lo[k] or p[k] > sc.hi[k]:
                return False
        else:
            a = (sc.lo[k] - p[k]) * inv_d[k]
            b = (sc.hi[k] - p[k]) * inv_d[k]
            if a > b:
                tmp = a
                a = b
                b = tmp
            if a > t0:
                t0 = a
            if b < t1:
                t1 = b
    if t0 > t1:
        return False
    s.t_in = t0
    s.t_clip = t1
    for k in range(3):
        i = grid_index(sc, k, p[k] + t0 * d[k])
        s.idx[k] = i
        if d[k] > 0.0:
            s.step[k] = 1
            s.tmax[k] = (sc.lo[k] + (i + 1) * sc.cell[k] - p[k]) * inv_d[k]
            s.tdelta[k] = sc.cell[k] * inv_d[k]
        elif d[k] < 0.0:
            s.step[k] = -1
            s.tmax[k] = (sc.lo[k] + i * sc.cell[k] - p[k]) * inv_d[k]
            s.tdelta[k] = -sc.cell[k] * inv_d[k]
        else:
            s.step[k] = 0
            s.tmax[k] = INFINITY
            s.tdelta[k] = INFINITY
    s.t_out = s.tmax[0]
    if s.tmax[1] < s.t_out:
        s.t_out = s.tmax[1]
    if s.tmax[2] < s.t_out:
        s.t_out = s.tmax[2]
    if s.t_out > s.t_clip:
        s.t_out = s.t_clip
    s.alive = True
    return True


cdef inline double inverse_direction(const double* d, double* inv_d) noexcept nogil:
    """Set inv_d = 1/d per axis (0 where d is 0); return 1/max|d_k| (0 for a null vector)."""
    cdef int k
    cdef double m = 0.0
    for k in range(3):
        inv_d[k] = 1.0 / d[k] if d[k] != 0.0 else 0.0
        if fabs(d[k]) > m:
            m = fabs(d[k])
    return 1.0 / m if m > 0.0 else 0.0


cdef inline void dda_next(Scene sc, DDA* s) noexcept nogil:
    """Advance to the next cell along the ray; s.alive becomes False past the end."""
    cdef int k = 0
    if s.tmax[1] < s.tmax[k]:
        k = 1
    if s.tmax[2] < s.tmax[k]:
        k = 2
    if s.tmax[k] >= s.t_clip:
        s.alive = False
        return
    s.t_in = s.tmax[k]
    s.idx[k] += s.step[k]
    if s.idx[k] < 0 or s.idx[k] >= sc.ncell[k]:
        s.alive = False
        return
    s.tmax[k] += s.tdelta[k]
    s.t_out = s.tmax[0]
    if s.tmax[1] < s.t_out:
        s.t_out = s.tmax[1]
    if s.tmax[2] < s.t_out:
        s.t_out = s.tmax[2]
    if s.t_out > s.t_clip:
        s.t_out = s.t_clip


cdef class Scene:
    """Geometry arrays prepared by :mod:`cleftsim.compiler.scene`; see there for the layout."""

    def __cinit__(self, dict arrays):
        cdef double[:, ::1] planes = arrays["planes"]
        cdef double[:, ::1] tri = arrays["tri"]
        cdef int[::1] tri_plane = arrays["tri_plane"]
        cdef int[::1] tri_region = arrays["tri_region"]
        cdef int[::1] tri_object = arrays["tri_object"]
        cdef signed char[:, ::1] rules = arrays["rules"]
        cdef unsigned int[::1] cell_start = arrays["cell_start"]
        cdef int[::1] slot_x = arrays["grid_slots"][0]
        cdef int[::1] slot_y = arrays["grid_slots"][1]
        cdef int[::1] slot_z = arrays["grid_slots"][2]
        cdef long long[::1] slab_x = arrays["slab_slots"][0]
        cdef long long[::1] slab_y = arrays["slab_slots"][1]
        cdef long long[::1] slab_z = arrays["slab_slots"][2]
        cdef unsigned char[::1] cell_bits = arrays["cell_bits"]
        cdef unsigned char[::1] groups = arrays["groups"].view(np.uint8)
        cdef int[::1] group_tris = arrays["group_tris"]
        cdef double[::1] near_min = arrays["near_min"]
        cdef long long[::1] near_start = arrays["near_start"]
        cdef int[::1] near_tris = arrays["near_tris"]
        cdef double[::1] near_dc = arrays["near_dc"]
        cdef double[:, ::1] tree_box = arrays["tree_box"]
        cdef int[:, ::1] tree_child = arrays["tree_child"]
        cdef double[:, ::1] tree_rec = arrays["tree_rec"]
        cdef int[::1] tree_tris = arrays["tree_tris"]
        cdef int[::1] tree_region = arrays["tree_region"]
        cdef signed char[:, ::1] absorbs
        cdef int[::1] slab_block = arrays["slab_block"]
        cdef signed char[::1] slab_axis = arrays["slab_axis"]
        cdef double[:, ::1] slab_bounds = arrays["slab_bounds"]
        cdef int[:, ::1] slab_region = arrays["slab_region"]
        cdef signed char[:, ::1] slab_sign = arrays["slab_sign"]
        cdef double[:, ::1] slab_safe = arrays["slab_safe"]
        cdef long long[::1] stamp
        cdef int k
        self.n_tri = arrays["n_tri"]
        self.n_regions = rules.shape[0]
        self.n_species = rules.shape[1]
        stamp_arr = np.full(max(self.n_tri, 1), -1, dtype=np.int64)
        stamp = stamp_arr
        absorbs_arr = np.ascontiguousarray((np.asarray(rules).T & RULE_MASK) == RULE_ABSORB, dtype=np.int8)
        absorbs = absorbs_arr
        self._keep = list(arrays.values()) + [stamp_arr, absorbs_arr]
        self.planes = &planes[0, 0]
        self.tri = &tri[0, 0]
        self.tri_plane = &tri_plane[0]
        self.tri_region = &tri_region[0]
        self.tri_object = &tri_object[0]
        self.rules = &rules[0, 0]
        self.cell_start = &cell_start[0]
        self.slot_of[0] = &slot_x[0]
        self.slot_of[1] = &slot_y[0]
        self.slot_of[2] = &slot_z[0]
        self.slab_slot_of[0] = &slab_x[0]
        self.slab_slot_of[1] = &slab_y[0]
        self.slab_slot_of[2] = &slab_z[0]
        self.slab_bits = sum(arrays["slab_shift"])
        self.cell_bits = &cell_bits[0]
        if arrays["groups"].dtype.itemsize != sizeof(Group):
            raise ValueError(f"groups of {arrays['groups'].dtype.itemsize} bytes, the Scene reads {sizeof(Group)}")
        self.groups = <const Group*>&groups[0]
        self.group_tris = &group_tris[0]
        self.near_min = &near_min[0]
        self.near_start = &near_start[0]
        self.near_tris = &near_tris[0]
        self.near_dc = &near_dc[0]
        self.tree.box = &tree_box[0, 0]
        self.tree.child = &tree_child[0, 0]
        self.tree.rec = &tree_rec[0, 0]
        self.tree.tris = &tree_tris[0]
        self.tree.region = &tree_region[0]
        self.absorbs = &absorbs[0, 0]
        self.slab_block = &slab_block[0]
        self.slab_axis = &slab_axis[0]
        self.slab_bounds = &slab_bounds[0, 0]
        self.slab_region = &slab_region[0, 0]
        self.slab_sign = &slab_sign[0, 0]
        self.slab_safe = &slab_safe[0, 0]
        self.has_slabs = bool((np.asarray(slab_axis) >= 0).any())
        self.stamp = &stamp[0]
        self.ray_id = 0
        self.delta = arrays["delta"]
        self.bary_eps = arrays["bary_eps"]
        self.space_eps = arrays["space_eps"]
        self.periodic_any = False
        for k in range(3):
            self.lo[k] = arrays["grid_lo"][k]
            self.cell[k] = arrays["grid_cell"][k]
            self.ncell[k] = arrays["grid_n"][k]
            self.hi[k] = self.lo[k] + self.cell[k] * self.ncell[k]
            self.inv_cell[k] = 1.0 / self.cell[k]
            self.slab_inv_cell[k] = 1.0 / arrays["slab_grid_cell"][k]
            self.near_cell[k] = arrays["near_grid_cell"][k]
            self.near_inv_cell[k] = 1.0 / self.near_cell[k]
            self.near_n[k] = arrays["near_grid_n"][k]
            self.slab_n[k] = arrays["slab_grid_n"][k]
            self.periodic[k] = arrays["periodic"][k]
            self.periodic_any = self.periodic_any or self.periodic[k]
            self.box_lo[k] = arrays["box_lo"][k]
            self.box_hi[k] = arrays["box_hi"][k]

    cdef int slab_cell(self, const double* p, const double* d, int species) noexcept nogil:
        """The slab cell in which the step p -> p + d can be folded (see slab_fold), or -1.

        A slab cell holds exactly two parallel, axis-aligned planes that cover it (full groups).
        Between two parallel reflecting planes the specular path of any number of bounces is the
        straight path with the normal coordinate folded back into the gap (the method of images),
        so the step needs no ray tracing as long as its end stays inside the cell's safe box (a
        block of cells around it that hold the same two planes and nothing else). Both planes
        must reflect the species (they may also carry reactive surface molecules). The slab cell
        is p's fine cell in the block of the tracing cell that holds p (slab_block); the returned
        index is its entry in the blocks (slab_axis, slab_bounds, ...). Per-axis tables
        (slab_slot_of) turn p's fine cell into (its tracing cell << slab_bits) | its place there.
        """
        cdef int k, ax, i, b, c
        cdef long long f = 0
        cdef double e
        cdef const double* box
        for k in range(3):
            i = ifloor((p[k] - self.lo[k]) * self.slab_inv_cell[k])
            if i < 0 or i >= self.slab_n[k]:
                return -1
            f += self.slab_slot_of[k][i]
        b = self.slab_block[f >> self.slab_bits]
        if b < 0:
            return -1
        c = (b << self.slab_bits) | <int>(f & ((1 << self.slab_bits) - 1))
        ax = self.slab_axis[c]
        if ax < 0:
            return -1
        if ((self.rules[self.slab_region[2 * c] * self.n_species + species] & RULE_MASK) != RULE_REFLECT
                or (self.rules[self.slab_region[2 * c + 1] * self.n_species + species] & RULE_MASK) != RULE_REFLECT):
            return -1
        if not (self.slab_bounds[3 * c] < p[ax] < self.slab_bounds[3 * c + 1]):
            return -1
        box = self.slab_safe + 6 * c
        for k in range(3):
            if k == ax:
                continue
            e = p[k] + d[k]
            if e < box[k] or e > box[3 + k]:
                return -1
        return c

    cdef int slab_fold(self, int c, double* p, const double* d) noexcept nogil:
        """Move p by d in slab cell c (from slab_cell) by folding; returns the reflections."""
        cdef int k, ax = self.slab_axis[c]
        cdef double a = self.slab_bounds[3 * c], b = self.slab_bounds[3 * c + 1]
        cdef double L = b - a, z = p[ax] + d[ax] - a, u
        cdef long long nfold = ifloor(z * self.slab_bounds[3 * c + 2])
        u = z - nfold * L
        if nfold & 1:
            u = L - u
        if u < self.delta:
            u = self.delta
        elif u > L - self.delta:
            u = L - self.delta
        for k in range(3):
            p[k] += d[k]
        p[ax] = a + u
        return <int>(nfold if nfold >= 0 else -nfold)

    cdef void test_cell(self, int a, int b, int c, const double* p, const double* d, double lo_t, double hi_t,
                        Hit* hit) noexcept nogil:
        """Test the segment p -> p + d against the triangles of cell (a, b, c), for t in [lo_t, hi_t].

        A group flagged full covers the whole cell section of its plane with triangles of one
        region, so a crossing of its plane at a point inside the cell (within space_eps) is a
        hit without barycentric tests. Empty cells are told by their bit in cell_bits (a small
        array that stays in cache where cell_start would not).
        """
        cdef long long g, g_end
        cdef int j, k, best_tri = hit.tri, cidx = cell_index(self, a, b, c)
        cdef const Group* gr
        cdef const double* pl
        cdef double s0, s1, t, v, w, qx, qy, qz
        cdef double px = p[0], py = p[1], pz = p[2]
        cdef double ex = p[0] + d[0], ey = p[1] + d[1], ez = p[2] + d[2]
        cdef double best_t = hit.t
        cdef double q[3]
        cdef double eps = self.bary_eps, se = self.space_eps
        if not (self.cell_bits[cidx >> 3] >> (cidx & 7)) & 1:
            return
        g_end = self.cell_start[cidx + 1]
        for g in range(self.cell_start[cidx], g_end):
            gr = self.groups + g
            pl = gr.plane
            s0 = pl[0] * px + pl[1] * py + pl[2] * pz - pl[3]
            s1 = pl[0] * ex + pl[1] * ey + pl[2] * ez - pl[3]
            if s0 * s1 > 0.0 or s0 == 0.0:
                continue
            t = s0 / (s0 - s1)
            if t < lo_t or t > hi_t or t >= best_t:
                continue
            qx = px + t * (ex - px)
            qy = py + t * (ey - py)
            qz = pz + t * (ez - pz)
            if gr.full:
                if (qx >= self.lo[0] + a * self.cell[0] - se and qx <= self.lo[0] + (a + 1) * self.cell[0] + se
                        and qy >= self.lo[1] + b * self.cell[1] - se and qy <= self.lo[1] + (b + 1) * self.cell[1] + se
                        and qz >= self.lo[2] + c * self.cell[2] - se and qz <= self.lo[2] + (c + 1) * self.cell[2] + se):
                    best_t = t
                    best_tri = gr.first
                continue
            q[0] = qx
            q[1] = qy
            q[2] = qz
            for k in range(gr.count):
                j = gr.first if k == 0 else self.group_tris[gr.start + k]
                barycentric(self.tri + TRI_STRIDE * j, q, &v, &w)
                if v >= -eps and w >= -eps and v + w <= 1.0 + eps:
                    best_t = t
                    best_tri = j
                    break
        hit.t = best_t
        hit.tri = best_tri

    cdef Hit first_hit(self, const double* p, const double* d) noexcept nogil:
        """First triangle crossed by the segment p -> p + d (t in (0, 1]).

        A short segment (its bounding box spans at most MAX_BOX_CELLS cells) is tested against
        every cell of that box; a longer one walks the grid with the DDA.
        """
        cdef Hit hit
        cdef DDA s
        cdef int k, a, b, c
        cdef int i0[3]
        cdef int i1[3]
        cdef double slack, inv_m, lo, hi
        cdef double inv_d[3]
        hit.tri = -1
        hit.t = INFINITY
        if self.n_tri == 0:
            return hit
        for k in range(3):
            if d[k] >= 0.0:
                lo = p[k]
                hi = p[k] + d[k]
            else:
                lo = p[k] + d[k]
                hi = p[k]
            if hi < self.lo[k] or lo > self.hi[k]:
                return hit
            i0[k] = ifloor((lo - self.lo[k]) * self.inv_cell[k])
            i1[k] = ifloor((hi - self.lo[k]) * self.inv_cell[k])
            if i0[k] < 0:
                i0[k] = 0
            if i1[k] >= self.ncell[k]:
                i1[k] = self.ncell[k] - 1
        if (i1[0] - i0[0] + 1) * (i1[1] - i0[1] + 1) * (i1[2] - i0[2] + 1) <= MAX_BOX_CELLS:
            for a in range(i0[0], i1[0] + 1):
                for b in range(i0[1], i1[1] + 1):
                    for c in range(i0[2], i1[2] + 1):
                        self.test_cell(a, b, c, p, d, 0.0, 1.0, &hit)
            return hit
        inv_m = inverse_direction(d, inv_d)
        if inv_m == 0.0 or not dda_start(self, p, d, inv_d, 1.0, &s):
            return hit
        # spatial slack at cell borders, in units of t (|d| >= max|d_k|, so this is conservative)
        slack = self.space_eps * inv_m
        while s.alive:
            self.test_cell(s.idx[0], s.idx[1], s.idx[2], p, d, s.t_in - slack, s.t_out + slack, &hit)
            if hit.tri >= 0 and hit.t <= s.t_out:
                break
            dda_next(self, &s)
        return hit

    cdef int locate(self, const double* x, const double* n, int hint) noexcept nogil:
        """A triangle that contains the point x of a plane with unit normal ±n: ``hint`` if x lies
        on it (within bary_eps), else one of the triangles of the planes through x (within
        1e3 space_eps) listed in x's grid cell, else ``hint`` (may be -1). The tracer reports the
        first triangle of a full group and the slab fast path none; binding needs the triangle
        under the hit (its tiles, membrane.pyx)."""
        cdef int k, j, cidx
        cdef long long g, m
        cdef double v, w, s
        cdef double eps = self.bary_eps
        cdef const double* pl
        if hint >= 0:
            barycentric(self.tri + TRI_STRIDE * hint, x, &v, &w)
            if v >= -eps and w >= -eps and v + w <= 1.0 + eps:
                return hint
        cidx = cell_index(self, grid_index(self, 0, x[0]), grid_index(self, 1, x[1]), grid_index(self, 2, x[2]))
        for g in range(self.cell_start[cidx], self.cell_start[cidx + 1]):
            pl = self.groups[g].plane
            if fabs(pl[0] * n[0] + pl[1] * n[1] + pl[2] * n[2]) < 0.999:
                continue
            s = pl[0] * x[0] + pl[1] * x[1] + pl[2] * x[2] - pl[3]
            if fabs(s) > 1e3 * self.space_eps:
                continue
            for m in range(self.groups[g].start, self.groups[g].start + self.groups[g].count):
                j = self.group_tris[m]
                barycentric(self.tri + TRI_STRIDE * j, x, &v, &w)
                if v >= -eps and w >= -eps and v + w <= 1.0 + eps:
                    return j
        return hint

    cdef inline int near_cell_of(self, const double* p, double* r_center) noexcept nogil:
        """Cell of p in the absorber grid (-1 outside) and p's distance from that cell's centre."""
        cdef int k, i, c = 0
        cdef double x, r2 = 0.0
        for k in range(3):
            i = ifloor((p[k] - self.lo[k]) * self.near_inv_cell[k])
            if i < 0 or i >= self.near_n[k]:
                return -1
            c = c * self.near_n[k] + i
            x = p[k] - (self.lo[k] + (i + 0.5) * self.near_cell[k])
            r2 += x * x
        r_center[0] = sqrt(r2)
        return c

    cdef double absorber_lower_bound(self, const double* p, double rcut) noexcept nogil:
        """A lower bound of the distance from p to any absorbing triangle (rcut if none is near)."""
        cdef double r
        cdef int c = self.near_cell_of(p, &r)
        if c < 0 or self.near_min[c] == INFINITY:
            return rcut
        r = self.near_min[c] - r
        return r if r > 0.0 else 0.0

    cdef int nearest_absorber(self, const double* p, int species, double rcut, double* dist) noexcept nogil:
        """Nearest triangle within rcut of p that absorbs `species` (-1 if none); its distance in dist.

        Each absorber-grid cell lists its candidates sorted by their distance from the cell
        centre, dc; dc - |p - centre| bounds the distance from p, so the search stops as soon as
        that bound exceeds the best distance found. A cell within reach of absorbers but
        without a list (too many candidates) searches the tree of absorbers instead, with the
        same order among triangles at the same distance (the one with lower dc, then index).
        """
        cdef double r_pc, best2 = rcut * rcut, d2, lb, sp
        cdef int c = self.near_cell_of(p, &r_pc)
        cdef long long k
        cdef int j, best = -1
        cdef const double* plane
        cdef double centre[3]
        dist[0] = rcut
        if c < 0:
            return -1
        if self.near_start[c] == self.near_start[c + 1]:
            if self.near_min[c] == INFINITY:
                return -1
            centre[0] = self.lo[0] + (c // (self.near_n[1] * self.near_n[2]) + 0.5) * self.near_cell[0]
            centre[1] = self.lo[1] + ((c // self.near_n[2]) % self.near_n[1] + 0.5) * self.near_cell[1]
            centre[2] = self.lo[2] + (c % self.near_n[2] + 0.5) * self.near_cell[2]
            best = tree_nearest(&self.tree, p, self.absorbs + species * self.n_regions, centre, &best2)
        for k in range(self.near_start[c], self.near_start[c + 1]):
            lb = self.near_dc[k] - r_pc
            if lb > 0.0 and lb * lb >= best2:
                break
            j = self.near_tris[k]
            if (self.rules[self.tri_region[j] * self.n_species + species] & RULE_MASK) != RULE_ABSORB:
                continue
            plane = self.planes + 4 * self.tri_plane[j]
            sp = dot3(plane, p) - plane[3]
            if sp * sp >= best2:
                continue
            d2 = dist2_point_triangle(self.tri + TRI_STRIDE * j, plane, p)
            if d2 < best2:
                best2 = d2
                best = j
        if best >= 0:
            dist[0] = sqrt(best2)
        return best

    cdef int crossing_parity(self, const double* p, const double* d, int obj, bint* ambiguous) noexcept nogil:
        """Number of triangles of object `obj` crossed by p -> p + d (each counted once).

        Sets ambiguous when the ray passes within the epsilon of an edge, a vertex or a plane
        it starts on; the caller then retries with another direction.
        """
        cdef DDA s
        cdef long long g, k
        cdef int cidx, j, count = 0
        cdef const double* plane
        cdef double nd, s0, t, v, w
        cdef double q[3]
        cdef double inv_d[3]
        cdef double eps = 1e-7
        ambiguous[0] = False
        if self.n_tri == 0 or inverse_direction(d, inv_d) == 0.0 or not dda_start(self, p, d, inv_d, 1.0, &s):
            return 0
        self.ray_id += 1
        while s.alive:
            cidx = cell_index(self, s.idx[0], s.idx[1], s.idx[2])
            for g in range(self.cell_start[cidx], self.cell_start[cidx + 1]):
                if self.tri_object[self.groups[g].first] != obj:
                    continue
                plane = self.groups[g].plane
                nd = dot3(plane, d)
                s0 = dot3(plane, p) - plane[3]
                if fabs(s0) <= self.space_eps:
                    ambiguous[0] = True
                    return 0
                if nd == 0.0:
                    continue
                t = -s0 / nd
                if t <= 0.0 or t > 1.0:
                    continue
                q[0] = p[0] + t * d[0]
                q[1] = p[1] + t * d[1]
                q[2] = p[2] + t * d[2]
                for k in range(self.groups[g].start, self.groups[g].start + self.groups[g].count):
                    j = self.group_tris[k]
                    if self.stamp[j] == self.ray_id:
                        continue
                    self.stamp[j] = self.ray_id
                    barycentric(self.tri + TRI_STRIDE * j, q, &v, &w)
                    if v >= -eps and w >= -eps and v + w <= 1.0 + eps:
                        if v <= eps or w <= eps or v + w >= 1.0 - eps:
                            ambiguous[0] = True
                            return 0
                        count += 1
            dda_next(self, &s)
        return count

    def trace(self, double[::1] p, double[::1] d):
        """First hit of the segment p -> p + d as (triangle, t); (-1, inf) if none. For tests."""
        cdef Hit h = self.first_hit(&p[0], &d[0])
        return h.tri, h.t

    def surface_within(self, double[::1] p, double r):
        """(distance, triangle) of the triangle nearest to p among those closer than r (µm), found
        in the grid cells that the box p ± r overlaps (inf, -1 if none); of triangles at the
        same distance, the one of lowest index."""
        cdef int k, a, b, c, j, best = -1, cidx
        cdef long long g, m
        cdef int i0[3]
        cdef int i1[3]
        cdef double d2, best2 = r * r
        for k in range(3):
            if p[k] + r < self.lo[k] or p[k] - r > self.hi[k]:
                return INFINITY, -1
            i0[k] = grid_index(self, k, p[k] - r)
            i1[k] = grid_index(self, k, p[k] + r)
        for a in range(i0[0], i1[0] + 1):
            for b in range(i0[1], i1[1] + 1):
                for c in range(i0[2], i1[2] + 1):
                    cidx = cell_index(self, a, b, c)
                    for g in range(self.cell_start[cidx], self.cell_start[cidx + 1]):
                        for m in range(self.groups[g].start, self.groups[g].start + self.groups[g].count):
                            j = self.group_tris[m]
                            d2 = dist2_point_triangle(self.tri + TRI_STRIDE * j, self.planes + 4 * self.tri_plane[j],
                                                      &p[0])
                            if d2 < best2 or (d2 == best2 and best >= 0 and j < best):
                                best2 = d2
                                best = j
        if best < 0:
            return INFINITY, -1
        return sqrt(best2), best

    def nearest(self, double[::1] p, int species, double rcut):
        """(triangle, distance): nearest triangle absorbing `species` within rcut of p (-1, rcut if none)."""
        cdef double dist
        cdef int j = self.nearest_absorber(&p[0], species, rcut, &dist)
        return j, dist


def contains(Scene sc, int obj, double[:, ::1] points, double[:, ::1] directions, double length):
    """Point-in-object test for a closed object by ray parity.

    For each point a ray of the given length is cast along directions[0]; if it passes too close
    to an edge, vertex or plane, the next direction is tried. Returns a uint8 array (1 = inside)
    and the number of points that stayed ambiguous for every direction (treated as outside).
    """
    cdef Py_ssize_t i, n = points.shape[0], m = directions.shape[0], k
    out = np.zeros(n, dtype=np.uint8)
    cdef unsigned char[::1] o = out
    cdef double d[3]
    cdef bint amb = True
    cdef int c
    cdef long long unresolved = 0
    with nogil:
        for i in range(n):
            for k in range(m):
                d[0] = directions[k, 0] * length
                d[1] = directions[k, 1] * length
                d[2] = directions[k, 2] * length
                c = sc.crossing_parity(&points[i, 0], d, obj, &amb)
                if not amb:
                    o[i] = c & 1
                    break
            if amb:
                unresolved += 1
    return out, unresolved
