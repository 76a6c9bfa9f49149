# The state of one trial that the step kernel (step.pyx) reads and writes.

cdef class Molecules:
    cdef public object pos        # (capacity, 3) float64, µm
    cdef public object species    # (capacity,) int32
    cdef public object uid        # (capacity,) int64, unique per trial
    cdef public object wall       # (capacity,) float64: distance to absorbing surfaces, -1 unknown
    cdef public object clock      # (capacity,) float64: unit-exponential hazard left to the next event
    cdef public object rng        # (capacity, 2) uint64: each molecule's own random stream
    cdef public object key        # (2,) uint64: the trial's key, seeds new molecules' streams
    cdef public Py_ssize_t n      # molecules present (the first n slots)
    cdef public long long next_uid


cdef class Counters:
    cdef public object absorbed   # (regions, species) int64
    cdef public object crossed    # (regions, species, 2) int64: [.., 0] against the normals, [.., 1] along
    cdef public object stats      # (6,) int64: see step.pyx


cdef class StepTables:
    cdef public double dt         # s
    cdef public object sigma      # (species,) sqrt(2 D dt), µm
    cdef public object ddt        # (species,) D dt, µm²
    cdef public object rcut       # (species,) search radius of the bridge test, µm (0: none)
