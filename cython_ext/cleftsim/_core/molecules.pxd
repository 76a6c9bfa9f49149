# The volume molecules' structure of arrays (header-only helpers shared by the kernels).
from libc.stdint cimport uint64_t

from cleftsim._core.random cimport next_exponential, seed_stream


cdef struct Mols:
    double* pos          # (cap, 3) µm
    int* species
    long long* uid       # unique per trial: keys the molecule's stream
    double* wall         # distance to absorbing surfaces (-1 unknown, <= -2 under a geminate test)
    double* clock        # unit-exponential hazard left to the next first-order event
    uint64_t* rng        # (cap, 2) each molecule's own random stream
    uint64_t key[2]      # the trial's key for new molecules' streams


cdef inline void move_slot(Mols* m, Py_ssize_t dst, Py_ssize_t src) noexcept nogil:
    """Copy molecule src into slot dst (every field): removing molecule dst by moving the last
    one into its place."""
    m.pos[3 * dst] = m.pos[3 * src]
    m.pos[3 * dst + 1] = m.pos[3 * src + 1]
    m.pos[3 * dst + 2] = m.pos[3 * src + 2]
    m.species[dst] = m.species[src]
    m.uid[dst] = m.uid[src]
    m.wall[dst] = m.wall[src]
    m.clock[dst] = m.clock[src]
    m.rng[2 * dst] = m.rng[2 * src]
    m.rng[2 * dst + 1] = m.rng[2 * src + 1]


cdef inline void init_slot(Mols* m, Py_ssize_t i, int s, long long u, double w) noexcept nogil:
    """Slot i holds a new molecule of species s (its position set by the caller) with uid u, the
    wall-distance cache w (-1: unknown), its own stream (seeded from the trial's key and u) and a
    fresh clock: a unit-exponential hazard, the stream's first draw."""
    m.species[i] = s
    m.uid[i] = u
    m.wall[i] = w
    seed_stream(m.key, u, m.rng + 2 * i)
    m.clock[i] = next_exponential(m.rng + 2 * i)
