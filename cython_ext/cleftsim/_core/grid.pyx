# cython: language_level=3
"""Build-time preparation of the tracing grid (called by cleftsim.compiler.scene through cleftsim._core.scene):
the (cell, triangle) pairs of a uniform grid, each triangle's area inside its cells, the groups
that cover their cell's section of a plane; and the absorber grid's lists, found with a
bounding-volume hierarchy over the absorbing triangles. The run-time queries on the finished
grid are in scene.pyx."""
import numpy as np
from libc.math cimport fabs, sqrt, INFINITY

from cleftsim._core.vec cimport ifloor, cross3, spread
from cleftsim._core.triangle cimport TRI_STRIDE, dist2_point_triangle
from cleftsim._core.tree cimport Tree, TREE_STACK, TREE_REC, box_dist2, plane_beyond
from cleftsim._core.vec cimport dot3


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
    """Area of each (cell, triangle) pair's triangle inside the cell, and inside the cell grown by
    pad: computed only where the first is below 1e-9 of a cell face (far above its round-off);
    elsewhere it is positive like the first, which stands for it."""
    cdef Py_ssize_t e, n = cells.shape[0]
    cdef int a, k, j
    cdef double clo[3]
    cdef double chi[3]
    cdef double tri[9]
    cdef double clear = 1e-9 * max(cell[0] * cell[1], cell[1] * cell[2], cell[0] * cell[2])
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
        if oi[e] > clear:
            oo[e] = oi[e]
            continue
        cell_box(cells[e], &lo[0], &cell[0], &ncell[0], pad, clo, chi)
        oo[e] = clipped_area(tri, 3, clo, chi)
    return inner, outer


cdef inline bint pair_before(long long i, long long j, const int* plane, const double* area) noexcept nogil:
    """Whether pair i goes before pair j of the same cell: by plane, then area (largest first), then index."""
    if plane[i] != plane[j]:
        return plane[i] < plane[j]
    if area[i] != area[j]:
        return area[i] > area[j]
    return i < j


cdef void sort_run(long long* run, long long n, long long* tmp, const int* plane, const double* area) noexcept nogil:
    """Sort a run of pair indices by pair_before: insertion sort when short, else a bottom-up merge
    sort through tmp (n entries)."""
    cdef long long i, k, v, width, lo, mid, hi, a, b, o
    cdef long long* src = run
    cdef long long* dst = tmp
    cdef long long* swap
    if n <= 32:
        for i in range(1, n):
            v = run[i]
            k = i - 1
            while k >= 0 and pair_before(v, run[k], plane, area):
                run[k + 1] = run[k]
                k -= 1
            run[k + 1] = v
        return
    width = 1
    while width < n:
        lo = 0
        while lo < n:
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            a, b, o = lo, mid, lo
            while a < mid and b < hi:
                if pair_before(src[b], src[a], plane, area):
                    dst[o] = src[b]
                    b += 1
                else:
                    dst[o] = src[a]
                    a += 1
                o += 1
            while a < mid:
                dst[o] = src[a]
                a += 1
                o += 1
            while b < hi:
                dst[o] = src[b]
                b += 1
                o += 1
            lo = hi
        swap = src
        src = dst
        dst = swap
        width *= 2
    if src != run:
        for i in range(n):
            run[i] = src[i]


def pair_order(const long long[::1] key, long long n_keys, const int[::1] plane, const double[::1] area):
    """The permutation that sorts (cell, triangle) pairs by key (0 <= key < n_keys), then plane,
    then area inside the cell (largest first), then their given order: a counting sort by key,
    then each key's run sorted by pair_before."""
    cdef Py_ssize_t n = key.shape[0]
    cdef long long i, start, longest = 0
    order = np.empty(n, dtype=np.int64)
    count = np.zeros(n_keys + 1, dtype=np.int64)
    cdef long long[::1] o = order
    cdef long long[::1] c = count
    with nogil:
        for i in range(n):
            c[key[i] + 1] += 1
        for i in range(n_keys):
            c[i + 1] += c[i]
        for i in range(n):
            o[c[key[i]]] = i
            c[key[i]] += 1
        start = 0
        for i in range(1, n + 1):
            if i == n or key[o[i]] != key[o[start]]:
                longest = max(longest, i - start)
                start = i
    tmp = np.empty(max(longest, 1), dtype=np.int64)
    cdef long long[::1] t = tmp
    if n == 0:
        return order
    with nogil:
        start = 0
        for i in range(1, n + 1):
            if i == n or key[o[i]] != key[o[start]]:
                sort_run(&o[start], i - start, &t[0], &plane[0], &area[0])
                start = i
    return order


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


# -- the absorbers' tree and lists --------------------------------------------------------------
cdef struct Build:
    const double* tri               # triangle records
    const int* tris                 # the tree's triangles, in Morton order of their centroids
    const unsigned long long* code  # their Morton codes
    double* box                     # (N, 6) out
    int* child                      # (N, 2) out
    int leaf                        # most triangles in a leaf
    int n_nodes
    int depth                       # deepest level reached


cdef int build_node(Build* b, int lo, int hi, int depth) noexcept nogil:
    """Node over tris[lo:hi]: a leaf if they are few, else split where the highest bit in which
    their Morton codes differ changes (at the middle if the codes are all equal); returns it."""
    cdef int node = b.n_nodes, a, c, k, v, i, mid, j
    cdef double xv
    cdef unsigned long long x
    cdef int bit = 63
    cdef const double* tr
    cdef double* box
    b.n_nodes += 1
    if depth > b.depth:
        b.depth = depth
    box = b.box + 6 * node
    if hi - lo <= b.leaf:
        b.child[2 * node] = lo
        b.child[2 * node + 1] = lo - hi
        for k in range(3):
            box[k] = INFINITY
            box[3 + k] = -INFINITY
        for i in range(lo, hi):
            tr = b.tri + TRI_STRIDE * b.tris[i]
            for v in range(3):
                for k in range(3):
                    xv = tr[k] + (tr[3 + k] if v == 1 else 0.0) + (tr[6 + k] if v == 2 else 0.0)
                    box[k] = min(box[k], xv)
                    box[3 + k] = max(box[3 + k], xv)
        return node
    x = b.code[lo] ^ b.code[hi - 1]
    if x == 0:
        mid = (lo + hi) // 2
    else:
        while not (x >> bit) & 1:
            bit -= 1
        # first index whose code has that bit set (the codes are sorted and agree above it)
        i, j = lo, hi - 1
        while j - i > 1:
            mid = (i + j) // 2
            if (b.code[mid] >> bit) & 1:
                j = mid
            else:
                i = mid
        mid = j
    a = build_node(b, lo, mid, depth + 1)
    c = build_node(b, mid, hi, depth + 1)
    b.child[2 * node] = a
    b.child[2 * node + 1] = c
    for k in range(3):
        box[k] = min(b.box[6 * a + k], b.box[6 * c + k])
        box[3 + k] = max(b.box[6 * a + 3 + k], b.box[6 * c + 3 + k])
    return node


def absorber_tree(const double[:, ::1] tri, const int[::1] triangles, int leaf):
    """A bounding-volume hierarchy (tree.pxd) over the given triangles (indices into the scene's
    triangle records tri): (box, child, tris), tris the triangles in the order of the entries. Leaves hold at most `leaf` consecutive triangles
    of the Morton order of their centroids (on a 2^21 grid over their bounding box); an inner
    node splits its triangles where the highest differing bit of their codes changes, as in the
    linear BVH of Lauterbach et al. 2009 (Comput Graph Forum 28:375)."""
    cdef Py_ssize_t n = triangles.shape[0], i
    cdef int k
    cdef double lo[3]
    cdef double hi[3]
    cdef double scale = 0.0, c
    cdef const double* tr
    cdef Build b
    centroid = np.empty((n, 3))
    cdef double[:, ::1] cv = centroid
    for i in range(n):
        tr = &tri[triangles[i], 0]
        for k in range(3):
            cv[i, k] = tr[k] + (tr[3 + k] + tr[6 + k]) / 3.0
    codes = np.zeros(n, dtype=np.uint64)
    cdef unsigned long long[::1] code = codes
    if n:
        for k in range(3):
            lo[k] = centroid[:, k].min()
            hi[k] = centroid[:, k].max()
            scale = max(scale, hi[k] - lo[k])
        scale = (2 ** 21 - 1) / scale if scale > 0.0 else 0.0
        for i in range(n):
            for k in range(3):
                c = (cv[i, k] - lo[k]) * scale
                code[i] |= spread(<unsigned long long>c) << k
    order = np.argsort(codes, kind="stable")
    tris = np.ascontiguousarray(np.asarray(triangles)[order], dtype=np.int32)
    codes = np.ascontiguousarray(codes[order])
    box = np.zeros((max(2 * n, 1), 6))
    child = np.zeros((max(2 * n, 1), 2), dtype=np.int32)
    cdef int[::1] tv = tris
    cdef unsigned long long[::1] sc = codes
    cdef double[:, ::1] bv = box
    cdef int[:, ::1] chv = child
    if n == 0:
        return box[:1], child[:1], np.zeros(1, dtype=np.int32)
    b.tri = &tri[0, 0]
    b.tris = &tv[0]
    b.code = &sc[0]
    b.box = &bv[0, 0]
    b.child = &chv[0, 0]
    b.leaf = leaf
    b.n_nodes = 0
    b.depth = 0
    with nogil:
        build_node(&b, 0, <int>n, 0)
    if b.depth >= TREE_STACK - 1:
        raise ValueError(f"absorber tree {b.depth} levels deep, more than the queries walk ({TREE_STACK - 2})")
    return np.ascontiguousarray(box[:b.n_nodes]), np.ascontiguousarray(child[:b.n_nodes]), tris


def touched_cells(const double[:, ::1] tri, const int[::1] triangles, double[::1] lo, double[::1] cell,
                  int[::1] ncell):
    """(C,) uint8 over the grid (lo, cell, ncell): 1 in every cell that the bounding box of one of
    the triangles (indices into the records tri) overlaps."""
    cdef Py_ssize_t t, n = triangles.shape[0]
    cdef int a, b, c, k
    cdef int i0[3]
    cdef int i1[3]
    cdef double mn, mx
    cdef const double* tr
    out = np.zeros(int(np.prod(np.asarray(ncell, dtype=np.int64))), dtype=np.uint8)
    cdef unsigned char[::1] o = out
    with nogil:
        for t in range(n):
            tr = &tri[triangles[t], 0]
            for k in range(3):
                mn = min(tr[k], tr[k] + tr[3 + k], tr[k] + tr[6 + k])
                mx = max(tr[k], tr[k] + tr[3 + k], tr[k] + tr[6 + k])
                i0[k] = max(0, ifloor((mn - lo[k]) / cell[k]))
                i1[k] = min(ncell[k] - 1, ifloor((mx - lo[k]) / cell[k]))
            for a in range(i0[0], i1[0] + 1):
                for b in range(i0[1], i1[1] + 1):
                    for c in range(i0[2], i1[2] + 1):
                        o[(<long long>a * ncell[1] + b) * ncell[2] + c] = 1
    return out


cdef struct Reach:
    # an absorber-grid cell, and which candidates it lists: those whose bounding box grown by
    # margin covers it (in cell indices) and whose distance from its centre is within margin
    # plus its half-diagonal
    double lo[3]
    double cell[3]
    int ncell[3]
    int idx[3]
    double centre[3]
    double margin


cdef inline bint covers(const Reach* r, const double* tr) noexcept nogil:
    """Whether the bounding box of the triangle record tr, grown by r.margin, covers r's cell."""
    cdef int k
    cdef double mn, mx
    for k in range(3):
        mn = min(tr[k], tr[k] + tr[3 + k], tr[k] + tr[6 + k]) - r.margin
        mx = max(tr[k], tr[k] + tr[3 + k], tr[k] + tr[6 + k]) + r.margin
        if (r.idx[k] < max(0, ifloor((mn - r.lo[k]) / r.cell[k]))
                or r.idx[k] > min(r.ncell[k] - 1, ifloor((mx - r.lo[k]) / r.cell[k]))):
            return False
    return True


cdef int reach_query(const Tree* t, const Reach* r, const signed char* keep, double r2, int* out, double* out_d2,
                     int most) noexcept nogil:
    """The candidates of r's cell (among those whose region g has keep[g], all if keep is NULL)
    within squared distance r2 (µm²) of its centre, into out (triangle indices) with their
    squared distances in out_d2; their number, or most + 1 as soon as there are more than most.
    With most = 0: the nearest one alone (its squared distance in out_d2[0]; -1 in out[0] if none)."""
    cdef int stack[TREE_STACK]
    cdef int top = 1, node, a, b, n = 0
    cdef long long k
    cdef double d2, s
    cdef const double* plane
    stack[0] = 0
    out[0] = -1
    while top > 0:
        top -= 1
        node = stack[top]
        if box_dist2(t.box + 6 * node, r.centre) > r2:
            continue
        a = t.child[2 * node]
        b = t.child[2 * node + 1]
        if b < 0:
            for k in range(a, a - b):
                if keep != NULL and not keep[t.region[k]]:
                    continue
                plane = t.rec + TREE_REC * k + TRI_STRIDE
                s = dot3(plane, r.centre) - plane[3]
                if plane_beyond(s, r2):
                    continue
                d2 = dist2_point_triangle(t.rec + TREE_REC * k, plane, r.centre)
                if d2 > r2 or not covers(r, t.rec + TREE_REC * k):
                    continue
                if most == 0:
                    if d2 < r2 or out[0] < 0:
                        r2 = d2
                        out[0] = t.tris[k]
                        out_d2[0] = d2
                    continue
                if n == most:
                    return most + 1
                out[n] = t.tris[k]
                out_d2[n] = d2
                n += 1
            continue
        if box_dist2(t.box + 6 * b, r.centre) < box_dist2(t.box + 6 * a, r.centre):
            a, b = b, a
        stack[top] = b
        stack[top + 1] = a
        top += 2
    return n


cdef void sort_entries(int* tris, double* dc, int n) noexcept nogil:
    """Sort a short list by distance dc, then triangle index (insertion sort)."""
    cdef int i, k, j
    cdef double d
    for i in range(1, n):
        j = tris[i]
        d = dc[i]
        k = i - 1
        while k >= 0 and (dc[k] > d or (dc[k] == d and tris[k] > j)):
            tris[k + 1] = tris[k]
            dc[k + 1] = dc[k]
            k -= 1
        tris[k + 1] = j
        dc[k + 1] = d


def absorber_lists(const double[:, ::1] tree_box, const int[:, ::1] tree_child, const double[:, ::1] tree_rec,
                   const int[::1] tree_tris, const int[::1] tree_region, const signed char[:, ::1] keep,
                   const long long[::1] cells, double[::1] lo, double[::1] cell, int[::1] ncell, double margin,
                   int most):
    """The absorber grid's arrays (see cleftsim.compiler.scene), for the tree of candidate
    triangles (absorber_tree; its entries' records, triangles and regions) and `cells`, the grid's cells (ascending) that may lie within
    reach of one: (near_min, per-cell list lengths, near_tris, near_dc).

    A candidate is within reach of a cell when its bounding box grown by `margin` (µm) covers
    the cell and its distance dc from the cell's centre c minus the cell's half-diagonal h is
    at most margin (every triangle within margin of a point of the cell is); near_min holds the
    least such dc (inf where none). The cell's list holds the candidates within reach that can
    be nearest to a point of the cell, sorted by dc then index: those whose dc is at most
    U + 2h, U the largest over the rows of `keep` (per region: the regions that absorb one group
    of species; no rows: one group, absorbed by every candidate) of the dc of the nearest
    candidate of that row within reach (a triangle beyond is farther from every point of the
    cell than that one, so a query stops before it). A list
    longer than `most` is left empty: those cells search the tree (Scene.nearest_absorber).
    """
    cdef Tree t
    cdef Reach r
    cdef Py_ssize_t e, n = cells.shape[0], pos = 0, cap = 4096 * most
    cdef long long ci
    cdef int k, g, m, i, kept, n_rows = keep.shape[0]
    cdef int nearest[1]
    cdef double nearest_d2[1]
    cdef double half, reach2, dmin, top, d, bound
    near_min = np.full(max(int(np.prod(np.asarray(ncell, dtype=np.int64))), 1), INFINITY)
    counts = np.zeros(near_min.shape[0], dtype=np.int64)
    cdef double[::1] nm = near_min
    cdef long long[::1] cnt = counts
    found = np.empty(most + 1, dtype=np.int32)
    found_d2 = np.empty(most + 1)
    cdef int[::1] fv = found
    cdef double[::1] fd = found_d2
    chunks = []
    out_tris = np.empty(cap, dtype=np.int32)
    out_dc = np.empty(cap)
    cdef int[::1] ot = out_tris
    cdef double[::1] od = out_dc
    t.box = &tree_box[0, 0]
    t.child = &tree_child[0, 0]
    t.rec = &tree_rec[0, 0]
    t.tris = &tree_tris[0]
    t.region = &tree_region[0]
    for k in range(3):
        r.lo[k] = lo[k]
        r.cell[k] = cell[k]
        r.ncell[k] = ncell[k]
    r.margin = margin
    half = 0.5 * sqrt(cell[0] ** 2 + cell[1] ** 2 + cell[2] ** 2)
    reach2 = ((margin + half) * (1.0 + 1e-9)) ** 2
    with nogil:
        for e in range(n):
            if pos + most > cap:
                with gil:
                    chunks.append((out_tris[:pos].copy(), out_dc[:pos].copy()))
                pos = 0
            ci = cells[e]
            r.idx[0] = <int>(ci // (<long long>ncell[1] * ncell[2]))
            r.idx[1] = <int>((ci // ncell[2]) % ncell[1])
            r.idx[2] = <int>(ci % ncell[2])
            for k in range(3):
                r.centre[k] = lo[k] + (r.idx[k] + 0.5) * cell[k]
            reach_query(&t, &r, NULL, reach2, nearest, nearest_d2, 0)
            if nearest[0] < 0:
                continue
            dmin = sqrt(nearest_d2[0])
            if dmin - half > margin:
                continue
            nm[ci] = dmin
            top = dmin if n_rows == 0 else 0.0
            for g in range(n_rows):
                reach_query(&t, &r, &keep[g, 0], reach2, nearest, nearest_d2, 0)
                if nearest[0] < 0:
                    top = INFINITY
                    break
                top = max(top, sqrt(nearest_d2[0]))
            bound = top + 2.0001 * half
            m = reach_query(&t, &r, NULL, min(reach2, bound * bound), &fv[0], &fd[0], most)
            if m > most:
                continue
            kept = 0
            for i in range(m):
                d = sqrt(fd[i])
                if d - half > margin or d > bound:
                    continue
                ot[pos + kept] = fv[i]
                od[pos + kept] = d
                kept += 1
            sort_entries(&ot[pos], &od[pos], kept)
            cnt[ci] = kept
            pos += kept
    chunks.append((out_tris[:pos].copy(), out_dc[:pos].copy()))
    return near_min, counts, np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])
