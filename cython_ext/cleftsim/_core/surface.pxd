# Lateral (2-D) diffusion of surface molecules on triangle meshes; algorithm in surface.pyx.
# Other kernels cimport move_on_surface to move one molecule by a displacement in its
# triangle's plane, unfolding across edges to neighbouring triangles of the same region and
# reflecting at region boundaries (neighbour -1, see cleftsim.topology.surface_adjacency).

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
