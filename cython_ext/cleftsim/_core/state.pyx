# cython: language_level=3
"""The state of one trial that the step kernel reads and writes: the volume molecules (a
structure of arrays that grows on demand), the counters of absorptions, crossings and engine
events, and the per-species step tables (see state.pxd for the fields)."""
import numpy as np

FIELDS = ("pos", "species", "uid", "wall", "clock", "rng")


cdef class Molecules:
    """The volume molecules of one trial; the first ``n`` slots hold them."""

    def __init__(self, Py_ssize_t capacity, key):
        self.key = np.ascontiguousarray(key, dtype=np.uint64)
        if self.key.shape != (2,):
            raise ValueError("key must be a uint64[2] (cleftsim._core.random.seed_state)")
        self.pos = np.zeros((capacity, 3))
        self.species = np.zeros(capacity, dtype=np.int32)
        self.uid = np.zeros(capacity, dtype=np.int64)
        self.wall = np.full(capacity, -1.0)
        self.clock = np.zeros(capacity)
        self.rng = np.zeros((capacity, 2), dtype=np.uint64)
        self.n = 0
        self.next_uid = 0

    @property
    def capacity(self) -> int:
        return len(self.pos)

    def reserve(self, Py_ssize_t need) -> None:
        """Grow the arrays (at least doubling them) to hold ``need`` molecules."""
        if need <= len(self.pos):
            return
        cap = max(2 * len(self.pos), need)
        for name in FIELDS:
            old = getattr(self, name)
            new = np.zeros((cap,) + old.shape[1:], dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)


cdef class Counters:
    """Absorptions per (region, species), crossings per (region, species, direction) and the
    engine's counters, since t = 0."""

    def __init__(self, tuple shape):
        self.absorbed = np.zeros(shape, dtype=np.int64)
        self.crossed = np.zeros(shape + (2,), dtype=np.int64)
        self.stats = np.zeros(6, dtype=np.int64)


cdef class StepTables:
    """The time step dt (s) and, per species, sigma = sqrt(2 D dt) (µm), D dt (µm²) and the
    search radius of the Brownian-bridge test (µm)."""

    def __init__(self, double dt, sigma, ddt, rcut):
        self.dt = dt
        self.sigma = np.ascontiguousarray(sigma, dtype=np.float64)
        self.ddt = np.ascontiguousarray(ddt, dtype=np.float64)
        self.rcut = np.ascontiguousarray(rcut, dtype=np.float64)
