# The volume molecules' structure of arrays (header-only helpers shared by the kernels).


cdef inline void move_slot(double* pos, int* species, long long* uid, double* wall, double* clock,
                           Py_ssize_t dst, Py_ssize_t src) noexcept nogil:
    """Copy molecule src into slot dst (positions, species, uid, wall-distance cache, clock):
    removing molecule dst by moving the last one into its place."""
    pos[3 * dst] = pos[3 * src]
    pos[3 * dst + 1] = pos[3 * src + 1]
    pos[3 * dst + 2] = pos[3 * src + 2]
    species[dst] = species[src]
    uid[dst] = uid[src]
    wall[dst] = wall[src]
    clock[dst] = clock[src]
