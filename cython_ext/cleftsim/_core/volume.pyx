# cython: language_level=3
"""First-order reactions of volume molecules with exact event times.

Every volume molecule carries a clock: the unit-exponential hazard left before its next event.
In a step of length dt a molecule of species s with total rate R_s (the sum of its first-order
reactions) uses R_s·dt of the clock; when the clock runs out first, the event happens at that
exact time, its channel is chosen with probability k/R_s, and the rest of the step continues with
the first product (which takes the molecule's place and position) and a fresh clock; further
products start at the same place and time and also live out the rest of the step. A reaction
without products removes the molecule. Rates never become per-step probabilities, so the
kinetics do not depend on dt.

Dissociation of the product of a reversible pair reaction (C -> A + B with A + B -> C) puts A and
B the unbinding separation σ_u apart (cleftsim.bimolecular.reversible_radii), in a random
direction, on either side of the parent split by their diffusion coefficients
(x_A = x_C − D_A/(D_A + D_B)·σ_u·e, x_B = x_C + D_B/(D_A + D_B)·σ_u·e), so that detailed balance holds.
A direction whose products would lie across a surface from the parent is redrawn (up to 32
times; then both stay at the parent's place, counted in stats).

Zeroth-order productions (``0 -> A`` inside a closed object) arrive as molecules made at uniform
times within the step at uniform positions in the object (drawn by the caller, the count per
step Poisson): each lives out the rest of its step for first-order events like an extra product.
It does not move or meet partners before the end of the step; in a closed reflecting object the
uniform position is exactly where a molecule made earlier in the step would be (uniform density
is stationary there).
"""
import numpy as np
from libc.math cimport sqrt

from cleftsim._core.random cimport next_uniform, next_normal, next_exponential
from cleftsim._core.scene cimport Scene, Hit
from cleftsim._core.molecules cimport Mols, move_slot, init_slot
from cleftsim._core.reactions cimport pick_channel


cdef class VolumeTables:
    """The first-order volume kernel's tables, shared read-only by every trial (prepared by
    :func:`cleftsim.compiler.volume.volume_tables`): per species its channels uni_start/uni_rx
    and total rate uni_total (s⁻¹) and D (µm²/s); per reaction rx_k, its volume products
    rx_vol_start/rx_vol and the unbinding separation rx_sep (µm) of a reverse pair reaction."""

    def __init__(self, *, int[::1] uni_start, int[::1] uni_rx, double[::1] uni_total, double[::1] rx_k, int[::1] rx_vol_start, int[::1] rx_vol, double[::1] rx_sep, double[::1] D):
        self.arrays = {k: np.asarray(v) for k, v in dict(uni_start=uni_start, uni_rx=uni_rx, uni_total=uni_total, rx_k=rx_k, rx_vol_start=rx_vol_start, rx_vol=rx_vol, rx_sep=rx_sep, D=D).items()}

    def __reduce__(self):
        return _volume_tables, (self.arrays,)


def _volume_tables(dict arrays) -> VolumeTables:
    return VolumeTables(**arrays)


cdef class VolumeKinetics:
    """The first-order volume reactions of one trial over the shared ``tables``, with its event and engine
    counters and the size of its product buffer."""

    def __cinit__(self, VolumeTables tables, long long[::1] events, long long[::1] stats, Py_ssize_t pend_cap):
        cdef dict a = dict(tables.arrays, events=np.asarray(events), stats=np.asarray(stats), pend_cap=pend_cap)
        cdef int[::1] uni_start = a["uni_start"]
        cdef int[::1] uni_rx = a["uni_rx"]
        cdef double[::1] uni_total = a["uni_total"]
        cdef double[::1] rx_k = a["rx_k"]
        cdef int[::1] rx_vol_start = a["rx_vol_start"]
        cdef int[::1] rx_vol = a["rx_vol"]
        cdef double[::1] rx_sep = a["rx_sep"]
        cdef double[::1] D = a["D"]
        self._arrays = dict(a)
        self.rx_sep = &rx_sep[0]
        self.D = &D[0]
        self.stats = &stats[0]
        self.n_vol = uni_total.shape[0]
        self.uni_start = &uni_start[0]
        self.uni_rx = &uni_rx[0]
        self.uni_total = &uni_total[0]
        self.rx_k = &rx_k[0]
        self.rx_vol_start = &rx_vol_start[0]
        self.rx_vol = &rx_vol[0]
        self.events = &events[0]
        self.grow_pending(a["pend_cap"])

    def grow_pending(self, Py_ssize_t cap):
        """Room for cap extra products per step (beyond those that replace their parent)."""
        pos_arr = np.zeros((cap, 3))
        species_arr = np.zeros(cap, dtype=np.int32)
        left_arr = np.zeros(cap)
        cdef double[:, ::1] p = pos_arr
        cdef int[::1] s = species_arr
        cdef double[::1] l = left_arr
        self._arrays.update(pend_pos=pos_arr, pend_species=species_arr, pend_left=left_arr)
        self.pend_pos = &p[0, 0]
        self.pend_species = &s[0]
        self.pend_left = &l[0]
        self.pend_cap = cap
        self.n_pend = 0
        self.overflow = False

    cdef void straddle(self, Scene sc, const double* c, int a, int b, double sep, double* pa, double* pb,
                       uint64_t* rng) noexcept nogil:
        """Positions pa, pb of a dissociating pair (species a, b) around the parent at c."""
        cdef double e[3]
        cdef double d[3]
        cdef double norm, wa, wb, tot = self.D[a] + self.D[b]
        cdef int tries, k
        cdef Hit h
        wa = self.D[a] / tot if tot > 0.0 else 0.5
        wb = 1.0 - wa
        for tries in range(32):
            for k in range(3):
                e[k] = next_normal(rng)
            norm = sqrt(e[0] * e[0] + e[1] * e[1] + e[2] * e[2])
            for k in range(3):
                pa[k] = c[k] - wa * sep * e[k] / norm
                pb[k] = c[k] + wb * sep * e[k] / norm
            if sc.n_tri == 0:
                return
            for k in range(3):
                d[k] = pa[k] - c[k]
            h = sc.first_hit(c, d)
            if h.tri >= 0:
                continue
            for k in range(3):
                d[k] = pb[k] - c[k]
            h = sc.first_hit(c, d)
            if h.tri < 0:
                return
        self.stats[0] += 1
        for k in range(3):
            pa[k] = c[k]
            pb[k] = c[k]

    cdef bint live(self, Scene sc, Mols* m, Py_ssize_t i, double left) noexcept nogil:
        """Molecule i lives out the last `left` seconds of the step, reacting at the exact times
        its clock runs out (drawing from its own stream); returns False if a reaction removed it.
        The time left after its last event (its age as the species it ends as) is stored in
        self.age. An event whose extra products would not fit in the buffer is postponed to the
        start of the next step (overflow set)."""
        cdef int s = m.species[i], rx, j, k
        cdef double R, u
        cdef double pa[3]
        cdef double pb[3]
        cdef double* pos = m.pos
        cdef double* clock = m.clock
        cdef uint64_t* rng = m.rng + 2 * i
        self.age = left
        while True:
            R = self.uni_total[s]
            if R <= 0.0 or clock[i] >= R * left:
                if R > 0.0:
                    clock[i] -= R * left
                return True
            u = next_uniform(rng) * R
            rx = pick_channel(self.uni_rx, self.uni_start[s], self.uni_start[s + 1], self.rx_k, &u)
            if self.n_pend + self.rx_vol_start[rx + 1] - self.rx_vol_start[rx] - 1 > self.pend_cap:
                clock[i] = 0.0
                self.overflow = True
                return True
            left -= clock[i] / R
            self.age = left
            self.events[rx] += 1
            if self.rx_sep[rx] > 0.0:                       # pa -> pos[i], pb -> the buffer
                self.straddle(sc, pos + 3 * i, self.rx_vol[self.rx_vol_start[rx]],
                              self.rx_vol[self.rx_vol_start[rx] + 1], self.rx_sep[rx], pa, pb, rng)
                for k in range(3):
                    pos[3 * i + k] = pa[k]
            for j in range(self.rx_vol_start[rx] + 1, self.rx_vol_start[rx + 1]):
                for k in range(3):
                    self.pend_pos[3 * self.n_pend + k] = pb[k] if self.rx_sep[rx] > 0.0 else pos[3 * i + k]
                self.pend_species[self.n_pend] = self.rx_vol[j]
                self.pend_left[self.n_pend] = left
                self.n_pend += 1
            if self.rx_vol_start[rx] == self.rx_vol_start[rx + 1]:
                return False
            s = self.rx_vol[self.rx_vol_start[rx]]
            m.species[i] = s
            clock[i] = next_exponential(rng)

    cdef Py_ssize_t first_order(self, Scene sc, Mols* m, Py_ssize_t n, long long* next_uid, double dt, double* frac,
                                const double* new_pos, const int* new_rx, const double* new_left,
                                Py_ssize_t n_new) noexcept nogil:
        """Fire the first-order events of the step for molecules 0..n-1 and the extra products
        they make (which join at the end of the arrays: the caller keeps room for pend_cap + n_new
        more); returns the new number of molecules. The n_new molecules of zeroth-order
        productions (reaction new_rx[k], at new_pos[k], made new_left[k] seconds before the end of
        the step) join too and live out their time left. frac[i] (unless NULL) receives the
        fraction of the step each molecule has existed as its present species, for the pair
        reactions that follow."""
        cdef Py_ssize_t i = 0, last, k = 0
        cdef int j
        cdef double inv_dt = 1.0 / dt
        self.n_pend = 0
        while i < n:
            if self.live(sc, m, i, dt):
                if frac != NULL:
                    frac[i] = self.age * inv_dt
                i += 1
                continue
            last = n - 1
            move_slot(m, i, last)
            n = last
        for k in range(n_new):
            for j in range(3):
                m.pos[3 * n + j] = new_pos[3 * k + j]
            self.events[new_rx[k]] += 1
            init_slot(m, n, self.rx_vol[self.rx_vol_start[new_rx[k]]], next_uid[0], -1.0)
            next_uid[0] += 1
            if self.live(sc, m, n, new_left[k]):
                if frac != NULL:
                    frac[n] = self.age * inv_dt
                n += 1
        return self.flush(sc, m, n, next_uid, dt, frac)

    cdef Py_ssize_t age_products(self, Scene sc, Mols* m, Py_ssize_t n, long long* next_uid, double dt,
                                 signed char* made, double* left) noexcept nogil:
        """Molecules with made[i] are products of the step's pair reactions, made left[i]·dt before
        the end of the step (the pair met at that moment, not at the end of the step where it was
        found): they live that time out now, so that their first-order events (and so, e.g., an
        enzyme's cycle) keep continuous time. Returns the new number of molecules."""
        cdef Py_ssize_t i = 0, last
        self.n_pend = 0
        while i < n:
            if not made[i] or self.live(sc, m, i, left[i] * dt):
                i += 1
                continue
            last = n - 1
            made[i] = made[last]
            left[i] = left[last]
            move_slot(m, i, last)
            n = last
        return self.flush(sc, m, n, next_uid, dt, NULL)

    cdef Py_ssize_t flush(self, Scene sc, Mols* m, Py_ssize_t n, long long* next_uid, double dt,
                          double* frac) noexcept nogil:
        """Append the extra products waiting in the buffer (each with a new uid), each living out
        its time left (and recording it in frac unless NULL); returns the new number of molecules."""
        cdef Py_ssize_t k = 0
        cdef int j
        cdef double inv_dt = 1.0 / dt
        while k < self.n_pend:                      # the buffer may grow while it is read
            for j in range(3):
                m.pos[3 * n + j] = self.pend_pos[3 * k + j]
            init_slot(m, n, self.pend_species[k], next_uid[0], -1.0)
            next_uid[0] += 1
            if self.live(sc, m, n, self.pend_left[k]):
                if frac != NULL:
                    frac[n] = self.age * inv_dt
                n += 1
            k += 1
        self.n_pend = 0
        return n
