# The compiled form of a model's geometry: triangles grouped by plane, a uniform grid, the
# per-(region, species) surface rules, and the lists used by the Brownian-bridge test.

from cleftsim._core.triangle cimport TRI_STRIDE
from cleftsim._core.tree cimport Tree

# Surface-rule codes of Scene.rules (also module attributes of cleftsim._core.scene): one of the
# three rules, plus the reactive flag.
cpdef enum:
    RULE_REFLECT = 0
    RULE_ABSORB = 1
    RULE_TRANSPARENT = 2
    RULE_MASK = 3            # mask of the three rules above
    RULE_REACTIVE = 4        # flag: surface molecules here may react with the species on a hit

cdef struct Group:
    # one plane's triangles inside one grid cell (the Scene's groups array, 48 bytes each)
    double plane[4]  # the plane: unit normal, offset
    int start        # its first entry in group_tris
    int count        # its number of triangles
    int first        # group_tris[start]: its triangle with the most area inside the cell
    int full         # 1 if its triangles (of one region) cover the cell's section of the plane

cdef struct Hit:
    int tri          # triangle index, -1 if none
    double t         # fraction of the segment at the hit

cdef struct DDA:
    int idx[3]
    int step[3]
    double tmax[3]
    double tdelta[3]
    double t_in      # entry parameter of the current cell
    double t_out     # exit parameter of the current cell
    double t_clip    # exit parameter of the whole grid
    bint alive

cimport cython


@cython.final
cdef class Scene:
    cdef readonly int n_tri
    cdef readonly int n_regions
    cdef readonly int n_species
    cdef readonly double delta
    cdef readonly double bary_eps
    cdef readonly double space_eps
    cdef list _keep
    cdef const double* planes
    cdef const double* tri
    cdef const int* tri_plane
    cdef const int* tri_region
    cdef const int* tri_object
    cdef const signed char* rules
    cdef double lo[3]
    cdef double hi[3]
    cdef double cell[3]
    cdef double inv_cell[3]
    cdef int ncell[3]
    cdef const int* slot_of[3]           # per axis, cell index -> its part of the cell's storage slot
    cdef const unsigned int* cell_start  # (slots + 1) first group of each cell
    cdef const unsigned char* cell_bits  # bit c (of byte c >> 3): cell c holds a group
    cdef const Group* groups             # (G,) the groups of every cell, cell after cell
    cdef const int* group_tris           # the groups' triangles, group after group
    cdef const double* near_min         # (N,) per absorber-grid cell: distance from its centre to the nearest absorber
    cdef const long long* near_start
    cdef const int* near_tris
    cdef const double* near_dc
    cdef Tree tree                       # the absorbing triangles (the cells without a list search it)
    cdef const signed char* absorbs      # (S, R) 1 where the region absorbs the species
    cdef double near_cell[3]             # the absorber grid (same origin as the tracing grid)
    cdef double near_inv_cell[3]
    cdef int near_n[3]
    cdef double slab_inv_cell[3]         # the slab map's own, finer grid (same origin)
    cdef int slab_n[3]
    cdef const long long* slab_slot_of[3]  # per axis, fine index -> its part of (tracing cell << slab_bits) | fine cell in it
    cdef int slab_bits                   # a tracing cell holds 1 << slab_bits fine cells
    cdef const int* slab_block           # (C,) per tracing cell: its block of fine cells, -1 if none
    cdef const signed char* slab_axis    # (E,) per fine cell of the blocks: the axis of its two planes, -1 if none
    cdef const double* slab_bounds       # (E, 3) coordinates a < b of the two planes on that axis, 1/(b-a)
    cdef const int* slab_region          # (E, 2) regions of the two planes (a, then b)
    cdef const signed char* slab_sign    # (E, 2) sign of each plane's normal along the slab axis
    cdef const double* slab_safe         # (E, 6) lo, hi corners of the cell's safe box
    cdef bint has_slabs
    cdef long long* stamp
    cdef long long ray_id
    cdef bint periodic_any
    cdef bint periodic[3]
    cdef double box_lo[3]
    cdef double box_hi[3]

    cdef void test_cell(self, int a, int b, int c, const double* p, const double* d, double lo_t, double hi_t,
                        Hit* hit) noexcept nogil
    cdef int slab_cell(self, const double* p, const double* d, int species) noexcept nogil
    cdef int slab_fold(self, int c, double* p, const double* d) noexcept nogil
    cdef Hit first_hit(self, const double* p, const double* d) noexcept nogil
    cdef int locate(self, const double* x, const double* n, int hint) noexcept nogil
    cdef int near_cell_of(self, const double* p, double* r_center) noexcept nogil
    cdef double absorber_lower_bound(self, const double* p, double rcut) noexcept nogil
    cdef int nearest_absorber(self, const double* p, int species, double rcut, double* dist) noexcept nogil
    cdef int crossing_parity(self, const double* p, const double* d, int obj, bint* ambiguous) noexcept nogil
