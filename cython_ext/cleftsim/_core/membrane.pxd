# Surface molecules and their reactions: binding of volume molecules on hit, first-order events
# with exact times, and the volume products they release. Layout and algorithms: membrane.pyx.
from libc.stdint cimport uint64_t
from cleftsim._core.scene cimport Scene

cimport cython

# Indices into Membrane.stats.
cdef enum:
    MSTAT_SATURATED = 0      # hits where the summed binding probability of a tile's occupants exceeded 1
    MSTAT_DEFERRED = 1       # events postponed to the next step because the product buffer was full
    MSTAT_EVENTS = 2         # first-order events fired
    MSTAT_LATERAL = 3        # three counters of lateral diffusion (lateral.pxd SURF_STAT_*)


cdef class MembraneTables:
    cdef readonly dict arrays           # the tables by name (see MembraneTables in membrane.pyx)


@cython.final
cdef class Membrane:
    cdef readonly Py_ssize_t n          # surface molecule slots (dead ones have state -1)
    cdef readonly int n_vol             # volume species
    cdef readonly int n_surf            # surface species (states)
    cdef readonly Py_ssize_t n_tiles
    cdef readonly double offset         # distance from the membrane at which products appear (µm)
    cdef readonly bint mobile           # some surface species diffuse laterally
    cdef readonly Py_ssize_t pend_cap
    cdef public Py_ssize_t n_pend       # volume products waiting to join the volume arrays
    cdef public bint overflow           # an event found the product buffer full (it fires next step)
    cdef public Py_ssize_t need         # products of the largest event that did not fit
    cdef readonly double dt             # the time step (s)
    cdef public bint gem_on             # a molecule moves under the geminate test (Membrane.watch):
    cdef double gem_x[3]                # the point on the membrane it watches,
    cdef const double* gem_n            # that membrane's plane,
    cdef public double gem_r2           # and the squared reach (µm²) of the test
    cdef dict _arrays                   # the numpy arrays behind the pointers below
    cdef double* pos                    # (n, 3) positions on the triangles
    cdef int* tri
    cdef int* state
    cdef signed char* orient            # +1: faces the side the triangle normal points to; -1: the other
    cdef double* clock                  # remaining unit-exponential hazard to the next first-order event
    cdef double* shift                  # part of Δt to add to (or, < 0, take from) its next first-order pass
    cdef int* tile                      # the tile each molecule occupies (global index)
    cdef int* tile_head                 # (n_tiles) first molecule on each tile, -1 none
    cdef int* tile_next                 # next molecule on the same tile (only mobile ones share)
    cdef const int* tile_n              # (T) n_t: triangle t is cut into n_t² tiles (0: none)
    cdef const int* tile_start          # (T + 1) first global tile of each triangle
    cdef const double* inv_tile_area    # (T) 1 / area of each of the triangle's tiles (µm⁻²)
    cdef const double* depl             # depletion-factor coefficients a1, a2, a3 and κ′_max
    cdef const int* bind_start          # (n_vol * n_surf * 2 + 1) CSR of binding reactions per (ligand, state,
                                        # relation: 0 the hit comes from the side the molecule faces, 1 the other)
    cdef const int* bind_rx
    cdef const double* bind_p           # per-hit probability of each times the tile area (µm²)
    cdef const double* bind_kv          # rate constant of each over N_A (µm³/s)
    cdef const double* rx_k             # rate constant of each reaction (s^-1 or M^-1 s^-1)
    cdef const int* rx_surf             # surface product of each reaction (-1: the molecule is removed)
    cdef const int* rx_vol_start        # (n_rx + 1) CSR of volume products
    cdef const int* rx_vol
    cdef const signed char* rx_vol_side # side of each volume product: +1 facing, -1 back, 0 random
    cdef const int* uni_start           # (n_surf + 1) CSR of first-order reactions per state
    cdef const int* uni_rx
    cdef const double* uni_total        # total first-order rate per state (s^-1)
    cdef const int* bath_start          # (n_surf + 1) CSR of binding reactions a clamp can drive
    cdef const int* bath_rx
    cdef const int* bath_lig
    cdef const signed char* bath_side   # the side (as Reaction.side) a clamped bath drives each from
    cdef const int* bath_slot           # (2 * n_regions * n_vol): clamp slot of (region, side, ligand), -1 none
    cdef long long* events              # per-reaction event counts
    cdef long long* stats
    cdef const double* tri_v            # (T, 3, 3) vertices of every triangle of the scene
    cdef const int* neighbors           # (T, 3) neighbour across each edge within the region, or -1
    cdef const int* mesh_neighbors      # (T, 3) neighbour across each edge where the membrane does not fold, or -1
    cdef const double* lat_sigma        # (n_surf) lateral rms step per axis sqrt(2 D dt) (µm)
    cdef double* pend_pos               # (pend_cap, 3) volume products waiting to join: start points,
    cdef int* pend_species              # species,
    cdef int* pend_src                  # the surface molecule that released each,
    cdef signed char* pend_side         # the side of its triangle each starts on (+1: along the normal),
    cdef double* pend_left              # and the time (s) each moves before the step ends
    cdef const double* vol_D            # (n_vol) diffusion coefficient of each volume species (µm²/s)
    cdef signed char* idle              # (n_surf) the state has no first-order or clamp-driven event
    cdef int* active                    # the molecules in states that are not idle (any order),
    cdef signed char* listed            # (n) whether each is in that list,
    cdef Py_ssize_t n_active            # and its length: first_order visits only these

    cdef void activate(self, Py_ssize_t i) noexcept nogil

    cdef int tile_at(self, Scene sc, int t, const double* x) noexcept nogil
    cdef void lateral_step(self, Scene sc, uint64_t* rng) noexcept nogil
    cdef bint react_on_hit(self, Scene sc, int t, const double* n_hit, const double* x, int ligand, int side,
                           uint64_t* rng) noexcept nogil
    cdef bint has_candidates(self, Scene sc, int t, const double* n_hit, const double* x, int ligand,
                             int side) noexcept nogil
    cdef int contact_tile(self, Scene sc, int t, const double* x, const double* off, double q4,
                          uint64_t* rng, int* t_out) noexcept nogil
    cdef double tile_kappa(self, int tl, int tt, int v, int o) noexcept nogil
    cdef double local_kappa(self, Scene sc, int t, const double* x, const double* off, double q4, int v, int o,
                            uint64_t* rng, int* tiles, int* tris, double* kap) noexcept nogil
    cdef double local_factor(self, Scene sc, int t, const double* x, int ligand, int side,
                             uint64_t* rng) noexcept nogil
    cdef void fire(self, Scene sc, Py_ssize_t i, int rx, double left, uint64_t* rng) noexcept nogil
    cdef bint bind(self, Scene sc, Py_ssize_t i, int rx, double left, double shift, uint64_t* rng) noexcept nogil
    cdef void watch(self, Scene sc, Py_ssize_t src, const double* x, double q4) noexcept nogil
    cdef void unwatch(self) noexcept nogil
    cdef bint near_source(self, Scene sc, const double* n_hit, const double* x) noexcept nogil
    cdef bint geminate(self, Scene sc, Py_ssize_t src, const double* off, int v, int o, double tau, double y0,
                       double y, double shift, uint64_t* rng) noexcept nogil
    cdef double bath_conc(self, int k, int ctx_f, int ctx_b, const double* conc) noexcept nogil
    cdef void first_order(self, Scene sc, double dt, const double* conc, uint64_t* rng) noexcept nogil
