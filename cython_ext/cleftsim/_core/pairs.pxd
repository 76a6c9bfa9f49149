# Bimolecular reactions of volume molecules: pairs closer than a binding radius at the end of a step.
from libc.stdint cimport uint64_t
from cleftsim._core.scene cimport Scene
from cleftsim._core.molecules cimport Mols

cimport cython


cdef class PairTables:
    cdef readonly dict arrays           # the tables by name (see pairs.pyx)


@cython.final
cdef class PairReactions:
    cdef readonly int n_vol
    cdef readonly Py_ssize_t cap        # molecules the hash can hold
    cdef dict _arrays
    cdef double h                       # cell edge: twice the largest binding radius (µm)
    cdef double inv_h
    cdef double r_max                   # the largest binding radius
    cdef int* head                      # per bucket: first slot in its list, -1 if empty
    cdef int* nxt                       # per slot: next and previous slot in its bucket's list
    cdef int* prv
    cdef int* bucket                    # per slot: the bucket whose list holds it, -1 if none
    cdef Py_ssize_t n_listed            # slots 0..n_listed-1 are up to date in the lists
    cdef signed char* done              # per molecule: reacted this step
    cdef double* frac                   # per molecule: fraction of the step it has existed as its species
    cdef unsigned long long mask
    cdef const int* pair_rx             # (n_vol * n_vol) reaction of (searching, target) species, -1 if none
    cdef const double* rx_r2            # squared binding radius per reaction (µm²), 0 if not bimolecular
    cdef const double* rx_p             # probability per step that a pair in range reacts (1: always)
    cdef const int* rx_prod             # (n_rx, 2) up to two products, -1 for none
    cdef const double* weight           # (n_vol) D of each species: products sit at the D-weighted point
    cdef const signed char* searches    # (n_vol) species looks for partners (first reactant of a reaction)
    cdef const signed char* target      # (n_vol) species is put in the hash (second reactant)
    cdef long long* events
    cdef long long* stats               # [pairs blocked by a membrane, list moves]

    cdef void unlink(self, Py_ssize_t i) noexcept nogil
    cdef void link(self, Py_ssize_t i, int bk) noexcept nogil
    cdef void update_lists(self, const double* pos, const int* species, Py_ssize_t n) noexcept nogil
    cdef Py_ssize_t react(self, Scene sc, Mols* mols, Py_ssize_t n, long long* next_uid, bint partial,
                          uint64_t* rng) noexcept nogil
