# Lateral (2-D) diffusion of surface molecules on triangle meshes; algorithm in lateral.pyx.
# Other kernels cimport move_on_surface to move one molecule by a displacement in its
# triangle's plane, unfolding across edges to neighbouring triangles of the same region and
# reflecting at region boundaries (neighbour -1, see cleftsim.topology.surface_adjacency);
# tangent_gaussian draws a lateral step, lateral_move takes one.
from libc.stdint cimport uint64_t

from cleftsim._core.random cimport next_normal

# Edge crossings (unfoldings + reflections) allowed in one move; beyond it the move stops.
cdef enum:
    SURF_MAX_CROSSINGS = 1000

# Indices into the stats counter array (long long[3] or longer).
cdef enum:
    SURF_STAT_TRUNCATED = 0      # moves stopped at SURF_MAX_CROSSINGS
    SURF_STAT_CROSSINGS = 1      # edges crossed into a neighbouring triangle
    SURF_STAT_REFLECTIONS = 2    # reflections at region boundaries


cdef void tangent_basis(const double* v, double* e1, double* e2) noexcept nogil

cdef int move_on_surface(const double* tri_v, const int* neighbors, int t, double* p, double* d,
                         long long* stats) noexcept nogil


cdef inline void tangent_gaussian(const double* v, double sg, uint64_t* rng, double* d) noexcept nogil:
    """A 2-D Gaussian displacement d (rms sg per axis, µm) in the plane of triangle v (9 doubles):
    two normals along the basis of tangent_basis."""
    cdef double e1[3]
    cdef double e2[3]
    cdef double g1, g2
    tangent_basis(v, e1, e2)
    g1 = sg * next_normal(rng)
    g2 = sg * next_normal(rng)
    d[0] = g1 * e1[0] + g2 * e2[0]
    d[1] = g1 * e1[1] + g2 * e2[1]
    d[2] = g1 * e1[2] + g2 * e2[2]


cdef inline int lateral_move(const double* tri_v, const int* neighbors, int t, double* p, double sg,
                             uint64_t* rng, long long* stats) noexcept nogil:
    """One lateral diffusion step (rms sg per axis, µm) of the molecule at p on triangle t over the
    surface (move_on_surface); returns its new triangle."""
    cdef double d[3]
    tangent_gaussian(tri_v + 9 * t, sg, rng, d)
    return move_on_surface(tri_v, neighbors, t, p, d, stats)
