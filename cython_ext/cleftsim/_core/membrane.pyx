# cython: language_level=3
"""Surface molecules: binding on hit, exact first-order events, and their volume products.

Binding on hit. Each surface molecule owns a reactive disc of radius r_s (area A = π r_s²) in its
membrane. A volume molecule whose traced step crosses the membrane at a point x may react with
each molecule j facing its side whose centre lies within r_s of x: with the linear per-hit
probability p(ligand, state) of cleftsim.binding times the depletion factor f of the local
reactivity, averaged over the ligand's reach ρ around x (see cleftsim.binding), so that the flux
of reactions is k_on · c per surface molecule for a uniform concentration c at any time step. Candidates are
found in a spatial hash (buckets of cells of edge 2 r_s, chained lists). The uniform number
that decides the outcome is drawn first: when it exceeds p_max(ligand) times the number of
molecules in the buckets (a bound on the summed probability), the hit cannot react and the
buckets are not searched (nor hashed, when it exceeds p_max times 8 times the fullest bucket). When the probabilities at a point sum to more than 1 (discs of several molecules
overlap), the molecule reacts with certainty and the shortfall is counted as a saturated hit
(as is a hit with more than 64 candidate reactions, of which only the first 64 are considered).

First-order events. Each surface molecule carries a clock: the unit-exponential hazard left to
its next event. Within a step of length dt the total rate R of its state (first-order reactions,
plus bindings driven by a concentration clamp at the step's mean concentration) uses the clock up
at R·dt; when the clock runs out first, the event happens at that exact time, the channel is
chosen with probability k/R, a new clock is drawn, and the rest of the step continues in the new
state (any number of events per step). By memorylessness a binding on hit leaves the clock valid.

Products. Volume products appear `offset` away from the membrane on the side the molecule faces
(from a point moved 0.1 % of the way towards the triangle's centroid, off any edge)
(or join the clamp's bath when that side is clamped for their species) and enter the volume at the
end of the step.
"""
import numpy as np
from libc.math cimport floor, log, sqrt

from cleftsim._core.scene cimport Scene
from cleftsim._core.vec cimport dot3
from cleftsim._core.random cimport next_uniform, next_normal
from cleftsim._core.surface cimport tangent_basis, move_on_surface
from cleftsim._core.hashgrid cimport cell_hash, bucket_of, ball_buckets

cdef int MAX_CANDIDATES = 64
cdef double PRODUCT_INWARD = 1e-3


cdef class Membrane:
    """Surface molecules and reaction tables prepared by :mod:`cleftsim.surface`; see there."""

    def __cinit__(self, dict a):
        cdef double[:, ::1] pos = a["pos"]
        cdef int[::1] tri = a["tri"]
        cdef int[::1] state = a["state"]
        cdef signed char[::1] orient = a["orient"]
        cdef double[::1] clock = a["clock"]
        cdef int[::1] bind_start = a["bind_start"]
        cdef int[::1] bind_rx = a["bind_rx"]
        cdef double[::1] bind_p = a["bind_p"]
        cdef double[::1] rx_k = a["rx_k"]
        cdef int[::1] rx_surf = a["rx_surf"]
        cdef int[::1] rx_vol_start = a["rx_vol_start"]
        cdef int[::1] rx_vol = a["rx_vol"]
        cdef int[::1] uni_start = a["uni_start"]
        cdef int[::1] uni_rx = a["uni_rx"]
        cdef double[::1] uni_total = a["uni_total"]
        cdef int[::1] bath_start = a["bath_start"]
        cdef int[::1] bath_rx = a["bath_rx"]
        cdef int[::1] bath_lig = a["bath_lig"]
        cdef int[::1] bath_slot = a["bath_slot"]
        cdef long long[::1] events = a["events"]
        cdef long long[::1] stats = a["stats"]
        cdef double[::1] p_max = a["p_max"]
        cdef double[::1] kp_weight = a["kp_weight"]
        cdef double[::1] rho = a["rho"]
        cdef double[::1] depl = a["depletion"]
        cdef double[:, :, ::1] tri_v = a["tri_v"]
        cdef int[:, ::1] neighbors = a["neighbors"]
        cdef double[::1] lat_sigma = a["lat_sigma"]
        cdef double[:, ::1] pend_pos = a["pend_pos"]
        cdef int[::1] pend_species = a["pend_species"]
        cdef Py_ssize_t nb = 16
        self.n = pos.shape[0]
        while nb < 2 * self.n:
            nb *= 2
        head_arr = np.full(nb, -1, dtype=np.int32)
        nxt_arr = np.full(max(self.n, 1), -1, dtype=np.int32)
        count_arr = np.zeros(nb, dtype=np.int32)
        stamp_arr = np.zeros(nb, dtype=np.int64)
        cdef long long[::1] stamp = stamp_arr
        cdef int[::1] head = head_arr
        cdef int[::1] nxt = nxt_arr
        cdef int[::1] count = count_arr
        self._arrays = dict(a, head=head_arr, nxt=nxt_arr, count=count_arr, stamp=stamp_arr)
        self.n_vol = a["n_vol"]
        self.n_surf = a["n_surf"]
        self.site_radius = a["site_radius"]
        self.offset = a["offset"]
        self.r2 = self.site_radius * self.site_radius
        self.inv_h = 1.0 / (2.0 * self.site_radius)
        self.mask = nb - 1
        self.pend_cap = pend_pos.shape[0]
        self.n_pend = 0
        self.pos = &pos[0, 0] if self.n else NULL
        self.tri = &tri[0] if self.n else NULL
        self.state = &state[0] if self.n else NULL
        self.orient = &orient[0] if self.n else NULL
        self.clock = &clock[0] if self.n else NULL
        self.head = &head[0]
        self.nxt = &nxt[0]
        self.count = &count[0]
        self.p_max = &p_max[0]
        self.kp_weight = &kp_weight[0]
        self.rho = &rho[0]
        self.depl = &depl[0]
        self.stamp = &stamp[0]
        self.query = 0
        self.tri_v = &tri_v[0, 0, 0]
        self.neighbors = &neighbors[0, 0]
        self.lat_sigma = &lat_sigma[0]
        self.mobile = bool((np.asarray(lat_sigma) > 0).any())
        self.bind_start = &bind_start[0]
        self.bind_rx = &bind_rx[0]
        self.bind_p = &bind_p[0]
        self.rx_k = &rx_k[0]
        self.rx_surf = &rx_surf[0]
        self.rx_vol_start = &rx_vol_start[0]
        self.rx_vol = &rx_vol[0]
        self.uni_start = &uni_start[0]
        self.uni_rx = &uni_rx[0]
        self.uni_total = &uni_total[0]
        self.bath_start = &bath_start[0]
        self.bath_rx = &bath_rx[0]
        self.bath_lig = &bath_lig[0]
        self.bath_slot = &bath_slot[0]
        self.events = &events[0]
        self.stats = &stats[0]
        self.pend_pos = &pend_pos[0, 0]
        self.pend_species = &pend_species[0]
        self.rebuild_hash()

    def rehash(self):
        """Rebuild the spatial hash after surface molecules moved."""
        self.rebuild_hash()

    def grow_pending(self, Py_ssize_t cap):
        """Make room for at least cap volume products per step (the buffer must be empty)."""
        if self.n_pend:
            raise RuntimeError("grow_pending with products waiting")
        if cap <= self.pend_cap:
            return
        pend_pos_arr = np.zeros((cap, 3))
        pend_species_arr = np.zeros(cap, dtype=np.int32)
        cdef double[:, ::1] pend_pos = pend_pos_arr
        cdef int[::1] pend_species = pend_species_arr
        self._arrays["pend_pos"] = pend_pos_arr
        self._arrays["pend_species"] = pend_species_arr
        self.pend_pos = &pend_pos[0, 0]
        self.pend_species = &pend_species[0]
        self.pend_cap = cap
        self.overflow = False

    def arrays(self, *names):
        """The named arrays (views, first n rows), e.g. ``arrays("pos", "state")``."""
        return tuple(self._arrays[k][: self.n] if k in ("pos", "tri", "state", "orient", "clock") else self._arrays[k]
                     for k in names)


    cdef void rebuild_hash(self) noexcept nogil:
        cdef Py_ssize_t i
        cdef unsigned long long b
        self.max_count = 0
        for i in range(<Py_ssize_t>(self.mask + 1)):
            self.head[i] = -1
            self.count[i] = 0
        for i in range(self.n):
            if self.state[i] < 0:
                continue
            b = bucket_of(self.pos + 3 * i, self.inv_h, self.mask)
            self.nxt[i] = self.head[b]
            self.head[b] = <int>i
            self.count[b] += 1
            if self.count[b] > self.max_count:
                self.max_count = self.count[b]

    cdef void lateral_step(self, uint64_t* rng) noexcept nogil:
        """One step of lateral diffusion of every mobile surface molecule within its region
        (surface.pyx: unfolding across edges, reflection at region borders), then a new hash."""
        cdef Py_ssize_t i
        cdef int s, t
        cdef double sg, g1, g2
        cdef double e1[3]
        cdef double e2[3]
        cdef double d[3]
        for i in range(self.n):
            s = self.state[i]
            if s < 0:
                continue
            sg = self.lat_sigma[s]
            if sg == 0.0:
                continue
            t = self.tri[i]
            tangent_basis(self.tri_v + 9 * t, e1, e2)
            g1 = sg * next_normal(rng)
            g2 = sg * next_normal(rng)
            d[0] = g1 * e1[0] + g2 * e2[0]
            d[1] = g1 * e1[1] + g2 * e2[1]
            d[2] = g1 * e1[2] + g2 * e2[2]
            self.tri[i] = move_on_surface(self.tri_v, self.neighbors, t, self.pos + 3 * i, d,
                                          self.stats + MSTAT_LATERAL)
        self.rebuild_hash()

    cdef bint react_on_hit(self, Scene sc, const double* n_hit, const double* x, int ligand, int side,
                           uint64_t* rng) noexcept nogil:
        """A volume molecule of species `ligand` crosses a membrane of unit normal n_hit at x,
        coming from `side` (+1: the side n_hit points to). Returns True if it reacted (and is
        consumed); surface molecules count if they face that side, lie within the site radius
        and sit on a triangle within 60° of the membrane's orientation."""
        cdef unsigned long long buckets[8]
        cdef int cand[64]
        cdef int cand_rx[64]
        cdef double cand_p[64]
        cdef int nb, nc = 0, k, m, j, s, q
        cdef double total = 0.0, u, dx, dy, dz, f
        cdef const double* pj
        cdef bint crowded = False
        u = next_uniform(rng)
        if u >= 8 * self.max_count * self.p_max[ligand]:
            return False                                   # more than any 8 buckets can hold
        nb = ball_buckets(x, self.site_radius, self.inv_h, self.mask, buckets)
        for k in range(nb):
            total += self.count[buckets[k]]
        if u >= total * self.p_max[ligand]:
            return False
        total = 0.0
        for k in range(nb):
            j = self.head[buckets[k]]
            while j >= 0:
                s = self.state[j]
                if s >= 0 and self.orient[j] == side:
                    pj = self.pos + 3 * j
                    dx = pj[0] - x[0]
                    dy = pj[1] - x[1]
                    dz = pj[2] - x[2]
                    if (dx * dx + dy * dy + dz * dz <= self.r2
                            and dot3(sc.planes + 4 * sc.tri_plane[self.tri[j]], n_hit) > 0.5):
                        q = ligand * self.n_surf + s
                        for m in range(self.bind_start[q], self.bind_start[q + 1]):
                            if nc == MAX_CANDIDATES:
                                crowded = True
                                break
                            cand[nc] = j
                            cand_rx[nc] = self.bind_rx[m]
                            cand_p[nc] = self.bind_p[m]
                            total += cand_p[nc]
                            nc += 1
                j = self.nxt[j]
        if nc == 0 or u >= total:                          # f <= 1: no reaction possible
            return False
        f = self.local_factor(sc, n_hit, x, ligand, side)
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
                m = self.rx_vol_start[cand_rx[k] + 1] - self.rx_vol_start[cand_rx[k]]
                if self.n_pend + m > self.pend_cap:
                    self.stats[MSTAT_DEFERRED] += 1
                    self.overflow = True
                    if m > self.need:
                        self.need = m
                    return False
                self.fire(sc, cand[k], cand_rx[k])
                return True
        return False

    cdef double local_factor(self, Scene sc, const double* n_hit, const double* x, int ligand,
                             int side) noexcept nogil:
        """Depletion factor f(κ′_loc) of cleftsim.binding: κ′_loc sums the shares of the molecules
        facing `side` within the reach ρ of x (cells searched: the box around x, flattened along
        the membrane normal to the site radius)."""
        cdef double r = self.rho[ligand], r2 = r * r, kp = 0.0, w, ext, dx, dy, dz
        cdef long long lo[3]
        cdef long long hi[3]
        cdef long long a, b, c
        cdef unsigned long long bk
        cdef int k, j, s
        cdef const double* pj
        for k in range(3):
            ext = r * sqrt(max(0.0, 1.0 - n_hit[k] * n_hit[k])) + self.site_radius
            lo[k] = <long long>floor((x[k] - ext) * self.inv_h)
            hi[k] = <long long>floor((x[k] + ext) * self.inv_h)
        self.query += 1
        for a in range(lo[0], hi[0] + 1):
            for b in range(lo[1], hi[1] + 1):
                for c in range(lo[2], hi[2] + 1):
                    bk = cell_hash(a, b, c) & self.mask
                    if self.stamp[bk] == self.query:
                        continue
                    self.stamp[bk] = self.query
                    j = self.head[bk]
                    while j >= 0:
                        s = self.state[j]
                        if s >= 0 and self.orient[j] == side:
                            w = self.kp_weight[ligand * self.n_surf + s]
                            if w > 0.0:
                                pj = self.pos + 3 * j
                                dx = pj[0] - x[0]
                                dy = pj[1] - x[1]
                                dz = pj[2] - x[2]
                                if (dx * dx + dy * dy + dz * dz <= r2
                                        and dot3(sc.planes + 4 * sc.tri_plane[self.tri[j]], n_hit) > 0.5):
                                    kp += w
                        j = self.nxt[j]
        if kp > self.depl[3]:
            return (1.0 - self.depl[0] * self.depl[3] + self.depl[1] * self.depl[3] ** 2
                    - self.depl[2] * self.depl[3] ** 3) * self.depl[3] / kp
        return 1.0 - self.depl[0] * kp + self.depl[1] * kp * kp - self.depl[2] * kp * kp * kp

    cdef void fire(self, Scene sc, Py_ssize_t i, int rx) noexcept nogil:
        """Apply reaction rx to surface molecule i: new state and volume products."""
        cdef int k, v, t = self.tri[i], ctx = sc.tri_region[t] * 2 + (1 if self.orient[i] > 0 else 0)
        cdef const double* nrm = sc.planes + 4 * sc.tri_plane[t]
        cdef const double* tv = self.tri_v + 9 * t
        cdef double off = self.offset * self.orient[i]
        cdef double q[3]
        self.events[rx] += 1
        # the product starts `offset` off the membrane, after a shift of PRODUCT_INWARD of the way
        # to the triangle's centroid: a molecule sitting on an edge would otherwise put it on
        # (or, at a sharp fold, beyond) the neighbouring face's plane
        for k in range(3):
            q[k] = (self.pos[3 * i + k] + PRODUCT_INWARD * ((tv[k] + tv[3 + k] + tv[6 + k]) / 3.0 - self.pos[3 * i + k])
                    + off * nrm[k])
        for k in range(self.rx_vol_start[rx], self.rx_vol_start[rx + 1]):
            v = self.rx_vol[k]
            if self.bath_slot[ctx * self.n_vol + v] >= 0:
                continue                                   # released into a clamped bath
            self.pend_pos[3 * self.n_pend] = q[0]
            self.pend_pos[3 * self.n_pend + 1] = q[1]
            self.pend_pos[3 * self.n_pend + 2] = q[2]
            self.pend_species[self.n_pend] = v
            self.n_pend += 1
        self.state[i] = self.rx_surf[rx]

    cdef void first_order(self, Scene sc, double dt, const double* conc, uint64_t* rng) noexcept nogil:
        """Fire every first-order event of the step [t, t + dt); conc[slot] is each clamp's mean
        concentration (M) over the step."""
        cdef Py_ssize_t i
        cdef int s, k, rx, slot, ctx, nprod
        cdef double left, R, bath, u
        for i in range(self.n):
            s = self.state[i]
            if s < 0:
                continue
            left = dt
            ctx = (sc.tri_region[self.tri[i]] * 2 + (1 if self.orient[i] > 0 else 0)) * self.n_vol
            while s >= 0:
                bath = 0.0
                for k in range(self.bath_start[s], self.bath_start[s + 1]):
                    slot = self.bath_slot[ctx + self.bath_lig[k]]
                    if slot >= 0:
                        bath += self.rx_k[self.bath_rx[k]] * conc[slot]
                R = self.uni_total[s] + bath
                if R <= 0.0:
                    break
                if self.clock[i] >= R * left:
                    self.clock[i] -= R * left
                    break
                # an event at time (t + dt - left) + clock / R: choose its channel
                u = next_uniform(rng) * R
                rx = -1
                for k in range(self.uni_start[s], self.uni_start[s + 1]):
                    rx = self.uni_rx[k]
                    u -= self.rx_k[rx]
                    if u < 0.0:
                        break
                if u >= 0.0:
                    for k in range(self.bath_start[s], self.bath_start[s + 1]):
                        slot = self.bath_slot[ctx + self.bath_lig[k]]
                        if slot >= 0:
                            rx = self.bath_rx[k]
                            u -= self.rx_k[rx] * conc[slot]
                            if u < 0.0:
                                break
                nprod = self.rx_vol_start[rx + 1] - self.rx_vol_start[rx]
                if self.n_pend + nprod > self.pend_cap:
                    self.clock[i] = 0.0                    # fires at the start of the next step
                    self.stats[MSTAT_DEFERRED] += 1
                    self.overflow = True
                    if nprod > self.need:
                        self.need = nprod
                    break
                left -= self.clock[i] / R
                self.fire(sc, i, rx)
                self.stats[MSTAT_EVENTS] += 1
                self.clock[i] = -log(1.0 - next_uniform(rng))
                s = self.state[i]
