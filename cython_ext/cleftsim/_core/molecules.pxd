# The volume molecules' structure of arrays (header-only helpers shared by the kernels).
from libc.stdint cimport uint64_t

from cleftsim._core.random cimport next_exponential


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


cdef inline void init_slot(int* species, long long* uid, double* wall, double* clock, Py_ssize_t i, int s,
                           long long u, double w, uint64_t* rng) noexcept nogil:
    """Slot i holds a new molecule of species s (its position set by the caller) with uid u, the
    wall-distance cache w (-1: unknown) and a fresh clock: a unit-exponential hazard (one uniform)."""
    species[i] = s
    uid[i] = u
    wall[i] = w
    clock[i] = next_exponential(rng)
