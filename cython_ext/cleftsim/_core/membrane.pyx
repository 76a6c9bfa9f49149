# cython: language_level=3
"""Surface molecules: binding on hit, exact first-order events, and their volume products.

Binding on hit. Every triangle of a region that holds surface molecules is cut into n_t² equal
tiles (cleftsim.binding, MCell's tiles) and every surface molecule occupies one. A volume molecule
whose traced step crosses the membrane at x on triangle t looks up the tile under x (O(1), from
the barycentric coordinates of x; the triangle is located in its grid cell when the tracer gave
another of the plane's, or none in the slab fast path) and may react with the molecules on that
tile that face its side: with the per-hit probability p(ligand, state) / A_tile (bind_p holds p
times the tile area) times the depletion factor f of the local reactivity κ_loc: the mean κ of
the tiles at CONTACTS points drawn from where the molecule's further contacts with the membrane
fall during the step (contact_tile: the time of a contact has density ∝ 1/√s, the lateral
position then a Gaussian of variance 2Ds per axis, followed along the mesh; cleftsim.binding),
so that the flux of reactions is k_on · c per surface molecule for a uniform concentration c at
any time step. The uniform number is drawn only when the
tile holds a candidate, and f is computed only when a reaction is possible (f <= 1). Only mobile
molecules can share a tile (after a lateral step each moves to the tile under its position); when
their probabilities sum to more than 1 the molecule reacts with certainty and the shortfall is
counted as a saturated hit (as is a hit with more than 64 candidate reactions, of which only the
first 64 are considered).

First-order events. Each surface molecule carries a clock: the unit-exponential hazard left to
its next event. Within a step of length dt the total rate R of its state (first-order reactions,
plus bindings driven by a concentration clamp at the step's mean concentration) uses the clock up
at R·dt; when the clock runs out first, the event happens at that exact time, the channel is
chosen with probability k/R, a new clock is drawn, and the rest of the step continues in the new
state (any number of events per step). By memorylessness a binding on hit leaves the clock valid;
as it happened at a uniform time of the step, the new state's events in that step run over a
uniform part U of it (shift: -U; a rebinding at the end of a step, after this pass, adds U·τ to
the next).

Products. Volume products appear `offset` away from the membrane on their side: the one the
molecule faces, the other, or a random one (rx_vol_side; Reaction.product_sides), from a point
moved 0.1 % of the way towards the triangle's centroid, off any edge (or join the clamp's bath when
that side is clamped for their species). Each moves for the rest of its step (from its event's
time; half a step after a binding on hit) under the geminate test of its source's membrane
(Membrane.watch, Membrane.geminate; cleftsim.binding, "Released ligand"), enters the volume at
the end of the step, and keeps the test on later steps while it stays near (step.pyx,
join_product, move_near_source). A binding from the back or from both sides
(Reaction.side) has its own tables, and a clamp drives it from the bath on that side.
"""
import numpy as np
from libc.math cimport floor, sqrt, exp, erfc, M_PI

from cleftsim._core.scene cimport Scene
from cleftsim._core.vec cimport dot3
from cleftsim._core.triangle cimport TRI_STRIDE, barycentric
from cleftsim._core.random cimport next_uniform, next_exponential
from cleftsim._core.reactions cimport pick_channel, depletion_factor
from cleftsim._core.lateral cimport move_on_surface, tangent_gaussian, lateral_move

cdef int MAX_CANDIDATES = 64
cdef double PRODUCT_INWARD = 1e-3
# Hits within GEM_REACH·√(4Dτ) of a watched point are left to the geminate test (99.8 % of the
# contacts fall there).
cdef double GEM_REACH = 2.0
# Contact points drawn for a local reactivity (local_kappa): at most 16.
cdef int CONTACTS = 8


cdef inline double erfcx(double z) noexcept nogil:
    """The scaled complementary error function exp(z²)·erfc(z), z >= 0 (asymptotic series above 20,
    relative error < 1e-7)."""
    cdef double iz2
    if z < 20.0:
        return exp(z * z) * erfc(z)
    iz2 = 1.0 / (z * z)
    return (1.0 - 0.5 * iz2 + 0.75 * iz2 * iz2) / (z * sqrt(M_PI))


cdef inline int bind_row(Membrane mb, int j, int s, int v, int o) noexcept nogil:
    """Row of the binding tables (bind_start) for ligand v meeting surface molecule j (in state
    s >= 0) from side o: from the side it faces, or its back."""
    return (v * mb.n_surf + s) * 2 + (0 if mb.orient[j] == o else 1)


cdef inline bint no_room(Membrane mb, int rx) noexcept nogil:
    """Whether the volume products of reaction rx would not fit in the product buffer; if so the
    event is counted as deferred and the buffer marked to grow (overflow, need)."""
    cdef int m = mb.rx_vol_start[rx + 1] - mb.rx_vol_start[rx]
    if mb.n_pend + m <= mb.pend_cap:
        return False
    mb.stats[MSTAT_DEFERRED] += 1
    mb.overflow = True
    if m > mb.need:
        mb.need = m
    return True


cdef class MembraneTables:
    """The membrane kernel's tables, shared read-only by every trial of a compiled model
    (prepared by :func:`cleftsim.compiler.membrane.membrane_tables`; their meaning below).

    tile_n, tile_start, inv_tile_area (per triangle: tiles n_t per edge, first global tile, 1/area
    µm⁻²), n_tiles; bind_start, bind_rx, bind_p, bind_kv (binding channels per (ligand, state,
    side)); rx_k, rx_surf, rx_vol_start, rx_vol, rx_vol_side (per reaction: rate, surface product,
    volume products and their sides); uni_start, uni_rx, uni_total (first-order channels per
    state); bath_start, bath_rx, bath_lig, bath_side, bath_slot (bindings driven by clamps);
    depletion (the depletion polynomial's coefficients and its largest κ′); lat_sigma (lateral
    step SD per state, µm); tri_v, neighbors, mesh_neighbors (triangle vertices and the
    neighbours across edges within a region and where the membrane does not fold); vol_D (µm²/s
    per volume species); dt (s), n_vol, n_surf, offset (µm from the membrane where products appear).
    """

    def __init__(self, *, int[::1] tile_n, int[::1] tile_start, double[::1] inv_tile_area, Py_ssize_t n_tiles,
                 int[::1] bind_start, int[::1] bind_rx, double[::1] bind_p, double[::1] bind_kv,
                 double[::1] depletion, double[::1] rx_k, int[::1] rx_surf, int[::1] rx_vol_start, int[::1] rx_vol,
                 signed char[::1] rx_vol_side, int[::1] uni_start, int[::1] uni_rx, double[::1] uni_total,
                 int[::1] bath_start, int[::1] bath_rx, int[::1] bath_lig, signed char[::1] bath_side,
                 int[::1] bath_slot, double[::1] lat_sigma, double[:, :, ::1] tri_v, int[:, ::1] neighbors,
                 int[:, ::1] mesh_neighbors, double[::1] vol_D, double dt, int n_vol, int n_surf, double offset):
        self.arrays = {k: v if k == "n_tiles" else np.asarray(v) for k, v in dict(
            tile_n=tile_n, tile_start=tile_start, inv_tile_area=inv_tile_area, n_tiles=n_tiles,
            bind_start=bind_start, bind_rx=bind_rx, bind_p=bind_p, bind_kv=bind_kv, depletion=depletion, rx_k=rx_k,
            rx_surf=rx_surf, rx_vol_start=rx_vol_start, rx_vol=rx_vol, rx_vol_side=rx_vol_side, uni_start=uni_start,
            uni_rx=uni_rx, uni_total=uni_total, bath_start=bath_start, bath_rx=bath_rx, bath_lig=bath_lig,
            bath_side=bath_side, bath_slot=bath_slot, lat_sigma=lat_sigma, tri_v=tri_v, neighbors=neighbors,
            mesh_neighbors=mesh_neighbors, vol_D=vol_D).items()}
        self.arrays.update(dt=dt, n_vol=n_vol, n_surf=n_surf, offset=offset)

    def __reduce__(self):
        return _membrane_tables, (self.arrays,)


def _membrane_tables(dict arrays) -> MembraneTables:
    return MembraneTables(**arrays)


cdef class Membrane:
    """The surface molecules of one trial (positions µm, global triangles, states, orientations
    +1 along the normals, tiles, event clocks), its event and engine counters and the size of its
    product buffer, over the shared ``tables``."""

    def __cinit__(self, MembraneTables tables, double[:, ::1] pos, int[::1] tri, int[::1] state,
                  signed char[::1] orient, int[::1] tile, double[::1] clock, long long[::1] events,
                  long long[::1] stats, Py_ssize_t pend_cap):
        cdef dict a = dict(tables.arrays, pos=np.asarray(pos), tri=np.asarray(tri), state=np.asarray(state),
                           orient=np.asarray(orient), tile=np.asarray(tile), clock=np.asarray(clock),
                           events=np.asarray(events), stats=np.asarray(stats), pend_cap=pend_cap)
        cdef int[::1] bind_start = a["bind_start"]
        cdef int[::1] bind_rx = a["bind_rx"]
        cdef double[::1] bind_p = a["bind_p"]
        cdef double[::1] rx_k = a["rx_k"]
        cdef int[::1] rx_surf = a["rx_surf"]
        cdef int[::1] rx_vol_start = a["rx_vol_start"]
        cdef int[::1] rx_vol = a["rx_vol"]
        cdef signed char[::1] rx_vol_side = a["rx_vol_side"]
        cdef signed char[::1] bath_side = a["bath_side"]
        cdef int[::1] uni_start = a["uni_start"]
        cdef int[::1] uni_rx = a["uni_rx"]
        cdef double[::1] uni_total = a["uni_total"]
        cdef int[::1] bath_start = a["bath_start"]
        cdef int[::1] bath_rx = a["bath_rx"]
        cdef int[::1] bath_lig = a["bath_lig"]
        cdef int[::1] bath_slot = a["bath_slot"]
        cdef int[::1] tile_n = a["tile_n"]
        cdef int[::1] tile_start = a["tile_start"]
        cdef double[::1] inv_tile_area = a["inv_tile_area"]
        cdef double[::1] depl = a["depletion"]
        cdef double[:, :, ::1] tri_v = a["tri_v"]
        cdef int[:, ::1] neighbors = a["neighbors"]
        cdef int[:, ::1] mesh_neighbors = a["mesh_neighbors"]
        cdef double[::1] lat_sigma = a["lat_sigma"]
        cdef double[::1] vol_D = a["vol_D"]
        cdef double[::1] bind_kv = a["bind_kv"]
        self.n = pos.shape[0]
        self.n_tiles = a["n_tiles"]
        tile_head_arr = np.full(max(self.n_tiles, 1), -1, dtype=np.int32)
        tile_next_arr = np.full(max(self.n, 1), -1, dtype=np.int32)
        cdef int[::1] tile_head = tile_head_arr
        cdef int[::1] tile_next = tile_next_arr
        self._arrays = dict(a, tile_head=tile_head_arr, tile_next=tile_next_arr)
        self.n_vol = a["n_vol"]
        self.n_surf = a["n_surf"]
        self.offset = a["offset"]
        self.dt = a["dt"]
        self.gem_on = False
        self.pend_cap = 0
        self.n_pend = 0
        self.alloc_pending(a["pend_cap"])
        self.pos = &pos[0, 0] if self.n else NULL
        self.tri = &tri[0] if self.n else NULL
        self.state = &state[0] if self.n else NULL
        self.orient = &orient[0] if self.n else NULL
        self.clock = &clock[0] if self.n else NULL
        shift_arr = np.zeros(max(self.n, 1))
        cdef double[::1] shift = shift_arr
        self.shift = &shift[0]
        self._arrays["shift"] = shift_arr
        self.tile = &tile[0] if self.n else NULL
        self.tile_head = &tile_head[0]
        self.tile_next = &tile_next[0]
        self.tile_n = &tile_n[0]
        self.tile_start = &tile_start[0]
        self.inv_tile_area = &inv_tile_area[0]
        self.depl = &depl[0]
        self.tri_v = &tri_v[0, 0, 0]
        self.neighbors = &neighbors[0, 0]
        self.mesh_neighbors = &mesh_neighbors[0, 0]
        self.lat_sigma = &lat_sigma[0]
        self.mobile = bool((np.asarray(lat_sigma) > 0).any())
        self.bind_start = &bind_start[0]
        self.bind_rx = &bind_rx[0]
        self.bind_p = &bind_p[0]
        self.rx_k = &rx_k[0]
        self.rx_surf = &rx_surf[0]
        self.rx_vol_start = &rx_vol_start[0]
        self.rx_vol = &rx_vol[0]
        self.rx_vol_side = &rx_vol_side[0]
        self.bath_side = &bath_side[0]
        self.uni_start = &uni_start[0]
        self.uni_rx = &uni_rx[0]
        self.uni_total = &uni_total[0]
        self.bath_start = &bath_start[0]
        self.bath_rx = &bath_rx[0]
        self.bath_lig = &bath_lig[0]
        self.bath_slot = &bath_slot[0]
        self.events = &events[0]
        self.stats = &stats[0]
        self.vol_D = &vol_D[0]
        self.bind_kv = &bind_kv[0]
        cdef Py_ssize_t i
        for i in range(self.n - 1, -1, -1):          # each tile's list in placement order
            if self.state[i] >= 0:
                self.tile_next[i] = self.tile_head[self.tile[i]]
                self.tile_head[self.tile[i]] = <int>i
        idle_arr = np.array([uni_total[k] <= 0.0 and bath_start[k] == bath_start[k + 1] for k in range(self.n_surf)],
                            dtype=np.int8).reshape(-1)
        active_arr = np.zeros(max(self.n, 1), dtype=np.int32)
        listed_arr = np.zeros(max(self.n, 1), dtype=np.int8)
        cdef signed char[::1] idle = idle_arr if self.n_surf else np.ones(1, dtype=np.int8)
        cdef int[::1] active = active_arr
        cdef signed char[::1] listed = listed_arr
        self._arrays.update(idle=idle_arr, active=active_arr, listed=listed_arr)
        self.idle = &idle[0]
        self.active = &active[0]
        self.listed = &listed[0]
        self.n_active = 0
        for i in range(self.n):
            self.activate(i)

    cdef void activate(self, Py_ssize_t i) noexcept nogil:
        """Put molecule i in the list first_order visits if its state is not idle."""
        cdef int s = self.state[i]
        if s >= 0 and not self.idle[s] and not self.listed[i]:
            self.listed[i] = 1
            self.active[self.n_active] = <int>i
            self.n_active += 1

    def grow_pending(self, Py_ssize_t cap):
        """Make room for at least cap volume products per step (the buffer must be empty)."""
        if self.n_pend:
            raise RuntimeError("grow_pending with products waiting")
        if cap > self.pend_cap:
            self.alloc_pending(cap)
        self.overflow = False

    def alloc_pending(self, Py_ssize_t cap):
        """(Re)allocate the product buffer for cap products."""
        pend_pos_arr = np.zeros((cap, 3))
        pend_species_arr = np.zeros(cap, dtype=np.int32)
        pend_src_arr = np.zeros(cap, dtype=np.int32)
        pend_side_arr = np.zeros(cap, dtype=np.int8)
        pend_left_arr = np.zeros(cap)
        cdef double[:, ::1] pend_pos = pend_pos_arr
        cdef int[::1] pend_species = pend_species_arr
        cdef int[::1] pend_src = pend_src_arr
        cdef signed char[::1] pend_side = pend_side_arr
        cdef double[::1] pend_left = pend_left_arr
        self._arrays.update(pend_pos=pend_pos_arr, pend_species=pend_species_arr, pend_src=pend_src_arr,
                            pend_side=pend_side_arr, pend_left=pend_left_arr)
        self.pend_pos = &pend_pos[0, 0]
        self.pend_species = &pend_species[0]
        self.pend_src = &pend_src[0]
        self.pend_side = &pend_side[0]
        self.pend_left = &pend_left[0]
        self.pend_cap = cap

    def arrays(self, *names):
        """The named arrays (views, first n rows), e.g. ``arrays("pos", "state")``."""
        return tuple(self._arrays[k][: self.n] if k in ("pos", "tri", "state", "orient", "clock", "tile") else self._arrays[k]
                     for k in names)


    cdef int tile_at(self, Scene sc, int t, const double* x) noexcept nogil:
        """The global tile of triangle t under x (its barycentric coordinates, clamped onto the
        triangle; the layout is that of cleftsim.surface.tile_of_bary), -1 if t has no tiles."""
        cdef double U, W
        cdef int n, i, j
        if t < 0:
            return -1
        n = self.tile_n[t]
        if n == 0:
            return -1
        barycentric(sc.tri + TRI_STRIDE * t, x, &U, &W)
        U *= n
        W *= n
        i = <int>floor(U)
        if i < 0:
            i = 0
        elif i > n - 1:
            i = n - 1
        j = <int>floor(W)
        if j > n - 1 - i:
            j = n - 1 - i
        if j < 0:
            j = 0
        return (self.tile_start[t] + i * (2 * n - i) + 2 * j
                + (1 if (U - i) + (W - j) > 1.0 and i + j <= n - 2 else 0))

    cdef void lateral_step(self, Scene sc, uint64_t* rng) noexcept nogil:
        """One step of lateral diffusion of every mobile surface molecule within its region
        (lateral.pyx: unfolding across edges, reflection at region borders); each moves to the
        tile under its new position."""
        cdef Py_ssize_t i
        cdef int s, t, k, old, j
        cdef double sg
        for i in range(self.n):
            s = self.state[i]
            if s < 0:
                continue
            sg = self.lat_sigma[s]
            if sg == 0.0:
                continue
            t = lateral_move(self.tri_v, self.neighbors, self.tri[i], self.pos + 3 * i, sg, rng,
                             self.stats + MSTAT_LATERAL)
            self.tri[i] = t
            k = self.tile_at(sc, t, self.pos + 3 * i)
            old = self.tile[i]
            if k == old:
                continue
            # unlink from the old tile's list (a few molecules at most), link to the new one
            j = self.tile_head[old]
            if j == i:
                self.tile_head[old] = self.tile_next[i]
            else:
                while j >= 0:
                    if self.tile_next[j] == i:
                        self.tile_next[j] = self.tile_next[i]
                        break
                    j = self.tile_next[j]
            self.tile[i] = k
            self.tile_next[i] = self.tile_head[k]
            self.tile_head[k] = <int>i

    cdef bint react_on_hit(self, Scene sc, int t, const double* n_hit, const double* x, int ligand, int side,
                           uint64_t* rng) noexcept nogil:
        """A volume molecule of species `ligand` crosses a membrane of unit normal n_hit at x on
        triangle t (or another triangle of that plane, or -1: located here), coming from `side`
        (+1: the side n_hit points to). Returns True if it reacted (and is consumed); the
        molecules on the tile under x count through their reactions from that side (the one they
        face, or their back)."""
        cdef int cand[64]
        cdef int cand_rx[64]
        cdef double cand_p[64]
        cdef int nc = 0, k, m, j, s, q, tl
        cdef double total = 0.0, u, f, inv_a
        cdef bint crowded = False
        if self.gem_on and self.near_source(sc, n_hit, x):
            return False                                   # the geminate test covers this hit
        t = sc.locate(x, n_hit, t)
        tl = self.tile_at(sc, t, x)
        if tl < 0:
            return False
        j = self.tile_head[tl]
        if j < 0:
            return False
        inv_a = self.inv_tile_area[t]
        while j >= 0:
            s = self.state[j]
            if s >= 0:
                q = bind_row(self, j, s, ligand, side)
                for m in range(self.bind_start[q], self.bind_start[q + 1]):
                    if nc == MAX_CANDIDATES:
                        crowded = True
                        break
                    cand[nc] = j
                    cand_rx[nc] = self.bind_rx[m]
                    cand_p[nc] = self.bind_p[m] * inv_a
                    total += cand_p[nc]
                    nc += 1
            j = self.tile_next[j]
        if nc == 0:
            return False
        u = next_uniform(rng)
        if u >= total:                                     # f <= 1: no reaction possible
            return False
        f = self.local_factor(sc, t, x, ligand, side, rng)
        total *= f
        if crowded:
            self.stats[MSTAT_SATURATED] += 1
        if total > 1.0:
            self.stats[MSTAT_SATURATED] += 1
            u *= total
        elif u >= total:
            return False
        for k in range(nc):
            u -= f * cand_p[k]
            if u < 0.0 or k == nc - 1:
                # it bound at a uniform time of the step
                return self.bind(sc, cand[k], cand_rx[k], 0.5 * self.dt, -1.0, rng)
        return False

    cdef bint has_candidates(self, Scene sc, int t, const double* n_hit, const double* x, int ligand,
                             int side) noexcept nogil:
        """Whether react_on_hit would find molecules on the tile under x that may react with the
        hit (and so draw a number or change the membrane); read-only, for the parallel phase,
        which never watches a geminate test."""
        cdef int j, s, q, tl
        t = sc.locate(x, n_hit, t)
        tl = self.tile_at(sc, t, x)
        if tl < 0:
            return False
        j = self.tile_head[tl]
        while j >= 0:
            s = self.state[j]
            if s >= 0:
                q = bind_row(self, j, s, ligand, side)
                if self.bind_start[q + 1] > self.bind_start[q]:
                    return True
            j = self.tile_next[j]
        return False

    cdef bint bind(self, Scene sc, Py_ssize_t i, int rx, double left, double shift, uint64_t* rng) noexcept nogil:
        """Fire binding rx of surface molecule i during a step (fire, its products to move for
        `left`), its next first-order pass shifted by a uniform part of shift·Δt (Membrane.shift);
        False, and the buffer marked to grow, when the products do not fit (it binds on a later hit)."""
        if no_room(self, rx):
            return False
        self.fire(sc, i, rx, left, rng)
        self.shift[i] = shift * next_uniform(rng)
        return True

    cdef int contact_tile(self, Scene sc, int t, const double* x, const double* off, double q4,
                          uint64_t* rng, int* t_out) noexcept nogil:
        """A tile drawn from where a molecule that met the membrane at x on triangle t (moved by
        `off` along it first, or NULL) makes its contacts with it during the next τ (q4 = 4Dτ, µm²):
        contacts accumulate as ds/√s (s = τU², U uniform) and the lateral position at s is a
        2-D Gaussian of variance 2Ds per axis, followed along the mesh across region borders where
        it does not fold, reflected where it does (surface.move_on_surface,
        cleftsim.compiler.membrane.CONTACT_FOLD_COS); its triangle goes to t_out. -1 where there are no tiles."""
        cdef double p[3]
        cdef double d[3]
        cdef double sg = sqrt(0.5 * q4) * next_uniform(rng), dn
        cdef const double* nrm = sc.planes + 4 * sc.tri_plane[t]
        cdef long long st[3]
        cdef int k
        tangent_gaussian(self.tri_v + 9 * t, sg, rng, d)
        for k in range(3):
            p[k] = x[k]
        if off != NULL:
            dn = dot3(nrm, off)
            for k in range(3):
                d[k] += off[k] - dn * nrm[k]
        t = move_on_surface(self.tri_v, self.mesh_neighbors, t, p, d, st)
        t_out[0] = t
        return self.tile_at(sc, t, p)

    cdef double tile_kappa(self, int tl, int tt, int v, int o) noexcept nogil:
        """Σ k/(N_A·A_tile) (µm/s) of the molecules on tile tl (of triangle tt) that bind v from side o."""
        cdef int j = self.tile_head[tl], s, q, m
        cdef double K = 0.0
        while j >= 0:
            s = self.state[j]
            if s >= 0:
                q = bind_row(self, j, s, v, o)
                for m in range(self.bind_start[q], self.bind_start[q + 1]):
                    K += self.bind_kv[m]
            j = self.tile_next[j]
        return K * self.inv_tile_area[tt]

    cdef double local_kappa(self, Scene sc, int t, const double* x, const double* off, double q4, int v, int o,
                            uint64_t* rng, int* tiles, int* tris, double* kap) noexcept nogil:
        """The local reactivity κ_loc (µm/s) for ligand v from side o around x on triangle t (moved
        by off along it first, or NULL): the mean κ of CONTACTS tiles drawn from where a molecule's
        contacts with the membrane fall during the next τ (q4 = 4Dτ; contact_tile), each kept in
        tiles, tris and kap."""
        cdef int c
        cdef double total = 0.0
        for c in range(CONTACTS):
            tiles[c] = self.contact_tile(sc, t, x, off, q4, rng, tris + c)
            kap[c] = self.tile_kappa(tiles[c], tris[c], v, o) if tiles[c] >= 0 else 0.0
            total += kap[c]
        return total / CONTACTS

    cdef double local_factor(self, Scene sc, int t, const double* x, int ligand, int side,
                             uint64_t* rng) noexcept nogil:
        """Depletion factor f(κ′_loc) of cleftsim.binding for a hit at x on triangle t from `side`,
        κ′_loc = κ_loc·√(Δt/(2D)) (local_kappa)."""
        cdef int tiles[16]
        cdef int tris[16]
        cdef double kap[16]
        cdef double D = self.vol_D[ligand]
        return depletion_factor(self.depl, self.local_kappa(sc, t, x, NULL, 4.0 * D * self.dt, ligand, side, rng,
                                                            tiles, tris, kap) * sqrt(self.dt / (2.0 * D)))

    cdef void fire(self, Scene sc, Py_ssize_t i, int rx, double left, uint64_t* rng) noexcept nogil:
        """Apply reaction rx to surface molecule i, `left` (s) before the end of the step: new state
        and volume products, each on its side (the one the molecule faces, the other, or a random
        one: one uniform per such product), to move for `left` with the geminate test on joining."""
        cdef int k, v, t = self.tri[i], ctx, o
        cdef const double* nrm = sc.planes + 4 * sc.tri_plane[t]
        cdef const double* tv = self.tri_v + 9 * t
        cdef double q[3]
        cdef double off
        self.events[rx] += 1
        # the product starts `offset` off the membrane, after a shift of PRODUCT_INWARD of the way
        # to the triangle's centroid: a molecule sitting on an edge would otherwise put it on
        # (or, at a sharp fold, beyond) the neighbouring face's plane
        for k in range(3):
            q[k] = self.pos[3 * i + k] + PRODUCT_INWARD * ((tv[k] + tv[3 + k] + tv[6 + k]) / 3.0 - self.pos[3 * i + k])
        for k in range(self.rx_vol_start[rx], self.rx_vol_start[rx + 1]):
            v = self.rx_vol[k]
            o = self.orient[i] * self.rx_vol_side[k]
            if o == 0:
                o = 1 if next_uniform(rng) < 0.5 else -1
            ctx = sc.tri_region[t] * 2 + (1 if o > 0 else 0)
            if self.bath_slot[ctx * self.n_vol + v] >= 0:
                continue                                   # released into a clamped bath
            off = self.offset * o
            self.pend_pos[3 * self.n_pend] = q[0] + off * nrm[0]
            self.pend_pos[3 * self.n_pend + 1] = q[1] + off * nrm[1]
            self.pend_pos[3 * self.n_pend + 2] = q[2] + off * nrm[2]
            self.pend_species[self.n_pend] = v
            self.pend_src[self.n_pend] = <int>i
            self.pend_side[self.n_pend] = o
            self.pend_left[self.n_pend] = left
            self.n_pend += 1
        self.state[i] = self.rx_surf[rx]
        self.activate(i)

    cdef void watch(self, Scene sc, Py_ssize_t src, const double* x, double q4) noexcept nogil:
        """A molecule is about to move near surface molecule src's membrane, over x on its plane,
        for a time τ (q4 = 4Dτ, µm²): hits within GEM_REACH·√q4 of x on membranes facing that way
        no longer bind (the geminate test decides) until unwatch."""
        self.gem_on = True
        self.gem_x[0] = x[0]
        self.gem_x[1] = x[1]
        self.gem_x[2] = x[2]
        self.gem_n = sc.planes + 4 * sc.tri_plane[self.tri[src]]
        self.gem_r2 = GEM_REACH * GEM_REACH * q4

    cdef void unwatch(self) noexcept nogil:
        self.gem_on = False

    cdef bint near_source(self, Scene sc, const double* n_hit, const double* x) noexcept nogil:
        """Whether a hit at x on a membrane of normal n_hit lies within the watched reach."""
        cdef double dx = x[0] - self.gem_x[0], dy = x[1] - self.gem_x[1], dz = x[2] - self.gem_x[2]
        return dx * dx + dy * dy + dz * dz <= self.gem_r2 and dot3(self.gem_n, n_hit) > 0.5

    cdef bint geminate(self, Scene sc, Py_ssize_t src, const double* off, int v, int o, double tau, double y0,
                       double y, double shift, uint64_t* rng) noexcept nogil:
        """The geminate test of a molecule of species v that moved for τ (s) from height y0 (µm) on
        side o of surface molecule src's membrane, over the point `off` (or NULL: 0) from src along
        it (without binding within the watched reach), by a step that would end at height y over
        that plane alone (the unfolded height): True if it reacted with a molecule there during
        the step (and is consumed). The partner's first-order events then skip (shift < 0) or add
        (shift > 0) a uniform part of shift·Δt in its next pass (Membrane.first_order), as the
        reaction happened at a uniform time of the move.

        A molecule reacts within τ, given that it went from height y0 to y, with the probability
        of a partially reflecting boundary (Robin, coefficient κ) against a reflecting one — the
        ratio of the two half-line propagators (Carslaw & Jaeger 1959, §14.2):
            P = 2√(2π)κ′·erfcx((y + y0)/√(4Dτ) + √2·κ′) / (1 + exp(y·y0/(Dτ))),   κ′ = κ·√(τ/(2D)),
        (√(2π)κ′·erfcx(y/√(4Dτ) + √2κ′) from the membrane, y0 = 0). With the unfolded height,
        walls parallel to the membrane (a cleft) reflect the path but add no contacts with it
        unless it travels twice their distance. κ = Σ k/(N_A·A_tile) of the molecules on a tile
        drawn from where its contacts fall (contact_tile), one of them reacting in proportion to
        its rate: exact for a uniform surface, and to first order in κ for any pattern."""
        cdef int tiles[16]
        cdef int tris[16]
        cdef double kap[16]
        cdef int c, j, s, q, m, rx = -1, pick = -1
        cdef double D = self.vol_D[v], q4 = 4.0 * D * tau
        cdef double K, kp, z, P, u, a
        if q4 <= 0.0:
            return False
        a = y * y0 / (D * tau)
        if a > 30.0:                                       # P < 1e-13
            return False
        K = self.local_kappa(sc, self.tri[src], self.pos + 3 * src, off, q4, v, o, rng, tiles, tris, kap)
        if K <= 0.0:
            return False
        kp = K * sqrt(tau / (2.0 * D))
        z = (y + y0) / sqrt(q4) + sqrt(2.0) * kp
        P = 2.0 * sqrt(2.0 * M_PI) * kp * erfcx(z) / (1.0 + exp(a))
        u = next_uniform(rng)
        if u >= P:
            return False
        u = u / P * K * CONTACTS                           # the contact, then the partner on its tile,
        for c in range(CONTACTS):                          # in proportion to their rates
            if u < kap[c]:
                break
            u -= kap[c]
        if c == CONTACTS:
            c = CONTACTS - 1
        u /= self.inv_tile_area[tris[c]]
        j = self.tile_head[tiles[c]]
        while j >= 0:
            s = self.state[j]
            if s >= 0:
                q = bind_row(self, j, s, v, o)
                for m in range(self.bind_start[q], self.bind_start[q + 1]):
                    pick = j
                    rx = self.bind_rx[m]
                    u -= self.bind_kv[m]
                    if u < 0.0:
                        break
                if u < 0.0:
                    break
            j = self.tile_next[j]
        return pick >= 0 and self.bind(sc, pick, rx, 0.5 * tau, shift, rng)

    cdef double bath_conc(self, int k, int ctx_f, int ctx_b, const double* conc) noexcept nogil:
        """Concentration (M) of the clamped bath(s) that drive binding entry k of bath_rx: the
        facing side's (ctx_f), the other side's (ctx_b) or both, as the reaction's side says."""
        cdef int slot, sd = self.bath_side[k], lig = self.bath_lig[k]
        cdef double c = 0.0
        if sd >= 0:
            slot = self.bath_slot[ctx_f + lig]
            if slot >= 0:
                c += conc[slot]
        if sd <= 0:
            slot = self.bath_slot[ctx_b + lig]
            if slot >= 0:
                c += conc[slot]
        return c

    cdef void first_order(self, Scene sc, double dt, const double* conc, uint64_t* rng) noexcept nogil:
        """Fire every first-order event of the step [t, t + dt); conc[slot] is each clamp's mean
        concentration (M) over the step. Only the molecules in states that are not idle are
        visited (the list `active`); one that ends the pass idle leaves the list (the last entry
        takes its place, so the order of the list is that of their histories)."""
        cdef Py_ssize_t i, a = 0
        cdef int s, k, rx, ctx_f, ctx_b, reg
        cdef double left, R, bath, u
        while a < self.n_active:
            i = self.active[a]
            s = self.state[i]
            left = dt * (1.0 + self.shift[i])             # less after a binding during the step
            self.shift[i] = 0.0
            reg = sc.tri_region[self.tri[i]]
            ctx_f = (reg * 2 + (1 if self.orient[i] > 0 else 0)) * self.n_vol
            ctx_b = (reg * 2 + (0 if self.orient[i] > 0 else 1)) * self.n_vol
            while s >= 0:
                bath = 0.0
                for k in range(self.bath_start[s], self.bath_start[s + 1]):
                    bath += self.rx_k[self.bath_rx[k]] * self.bath_conc(k, ctx_f, ctx_b, conc)
                R = self.uni_total[s] + bath
                if R <= 0.0:
                    break
                if self.clock[i] >= R * left:
                    self.clock[i] -= R * left
                    break
                # an event at time (t + dt - left) + clock / R: choose its channel
                u = next_uniform(rng) * R
                rx = pick_channel(self.uni_rx, self.uni_start[s], self.uni_start[s + 1], self.rx_k, &u)
                if u >= 0.0:
                    for k in range(self.bath_start[s], self.bath_start[s + 1]):
                        bath = self.bath_conc(k, ctx_f, ctx_b, conc)
                        if bath > 0.0:
                            rx = self.bath_rx[k]
                            u -= self.rx_k[rx] * bath
                            if u < 0.0:
                                break
                if no_room(self, rx):
                    self.clock[i] = 0.0                    # fires at the start of the next step
                    break
                left -= self.clock[i] / R
                self.fire(sc, i, rx, left, rng)
                self.stats[MSTAT_EVENTS] += 1
                self.clock[i] = next_exponential(rng)
                s = self.state[i]
            s = self.state[i]
            if s < 0 or self.idle[s]:
                self.listed[i] = 0
                self.n_active -= 1
                self.active[a] = self.active[self.n_active]
            else:
                a += 1
