# First-order reactions of volume molecules (decay, conversion, dissociation) at exact times.
from libc.stdint cimport uint64_t
from cleftsim._core.scene cimport Scene
from cleftsim._core.molecules cimport Mols

cimport cython


cdef class VolumeTables:
    cdef readonly dict arrays           # the tables by name (see volume.pyx)


@cython.final
cdef class VolumeKinetics:
    cdef readonly int n_vol
    cdef readonly Py_ssize_t pend_cap
    cdef public bint overflow            # an event was postponed: its products did not fit in the buffer
    cdef dict _arrays
    cdef const int* uni_start            # (n_vol + 1) CSR of first-order reactions per species
    cdef const int* uni_rx
    cdef const double* uni_total         # total first-order rate per species (s^-1)
    cdef const double* rx_k              # rate constant of every reaction of the model
    cdef const int* rx_vol_start         # (n_rx + 1) CSR of volume products
    cdef const int* rx_vol
    cdef const double* rx_sep            # (n_rx) separation of the two products of a dissociation (µm), 0: none
    cdef const double* D                 # (n_vol) diffusion coefficients: products straddle the parent by D
    cdef long long* events               # per-reaction event counts (shared with the membrane)
    cdef long long* stats                # [dissociations placed at zero separation: no clear direction]
    cdef double* pend_pos                # products beyond the first, with the time left in their step
    cdef int* pend_species
    cdef double* pend_left
    cdef Py_ssize_t n_pend
    cdef double age                      # set by live(): time the molecule has been its species at the step's end (s)

    cdef void straddle(self, Scene sc, const double* c, int a, int b, double sep, double* pa, double* pb,
                       uint64_t* rng) noexcept nogil
    cdef bint live(self, Scene sc, Mols* m, Py_ssize_t i, double left) noexcept nogil
    cdef Py_ssize_t age_products(self, Scene sc, Mols* m, Py_ssize_t n, long long* next_uid, double dt,
                                 signed char* made, double* left) noexcept nogil
    cdef Py_ssize_t flush(self, Scene sc, Mols* m, Py_ssize_t n, long long* next_uid, double dt,
                          double* frac) noexcept nogil
    cdef Py_ssize_t first_order(self, Scene sc, Mols* m, Py_ssize_t n, long long* next_uid, double dt, double* frac,
                                const double* new_pos, const int* new_rx, const double* new_left,
                                Py_ssize_t n_new) noexcept nogil
