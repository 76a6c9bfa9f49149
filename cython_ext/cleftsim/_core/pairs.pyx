# cython: language_level=3
"""Bimolecular reactions of volume molecules (Andrews & Bray 2004, Phys Biol 1:137).

After every molecule has taken its step, a pair of species (A, B) with a reaction reacts when
the two are closer than the binding radius σ_b of cleftsim.bimolecular (computed so that the
steady-state rate equals k at this time step), unless a triangle lies between them; with a
reaction radius given by the user, each pair in range reacts with the calibrated probability p
per step instead. The step's first-order events come first, and a molecule made during the step
(by them, or by a production) reacts in proportion to the part of the step it has existed: no
step is lost between, e.g., an enzyme's release and its next binding. Each molecule reacts at
most once per step; a molecule with several partners in range takes the first one found that
reacts.

Only the second reactants of the reactions go into a spatial hash (cells of edge 2σ_max, buckets
of doubly linked lists kept from step to step: a molecule moves between lists only when its
bucket changed, so a step in which few molecules change cell costs a hash and a comparison per
molecule), and only the first reactants search it, so each pair is examined once. Products take
the reactants' slots, at the point weighted by the diffusion coefficients,
(D_B x_A + D_A x_B)/(D_A + D_B), which is where the pair's centre of diffusion lies; a reaction
without products frees both slots.
"""
import numpy as np
from libc.stdint cimport uint64_t

from cleftsim._core.random cimport next_uniform

from cleftsim._core.scene cimport Scene, Hit
from cleftsim._core.hashgrid cimport bucket_of, ball_buckets
from cleftsim._core.molecules cimport Mols, move_slot, init_slot


cdef class PairTables:
    """The pair kernel's tables, shared read-only by every trial (prepared by
    :func:`cleftsim.compiler.volume.pair_tables`): pair_rx (species × species → reaction, -1 none),
    per reaction rx_r2 (binding radius², µm²), rx_p (probability per step within it) and rx_prod
    (its two products), per species weight (D, µm²/s), searches and target (roles in the hash)."""

    def __init__(self, *, int[::1] pair_rx, double[::1] rx_r2, double[::1] rx_p, int[:, ::1] rx_prod, double[::1] weight, signed char[::1] searches, signed char[::1] target):
        self.arrays = {k: np.asarray(v) for k, v in dict(pair_rx=pair_rx, rx_r2=rx_r2, rx_p=rx_p, rx_prod=rx_prod, weight=weight, searches=searches, target=target).items()}

    def __reduce__(self):
        return _pairs_tables, (self.arrays,)


def _pairs_tables(dict arrays) -> PairTables:
    return PairTables(**arrays)


cdef class PairReactions:
    """The pair reactions of one trial over the shared ``tables``, with its event and engine
    counters."""

    def __cinit__(self, PairTables tables, long long[::1] events, long long[::1] stats):
        cdef dict a = dict(tables.arrays, events=np.asarray(events), stats=np.asarray(stats))
        cdef int[::1] pair_rx = a["pair_rx"]
        cdef double[::1] rx_r2 = a["rx_r2"]
        cdef double[::1] rx_p = a["rx_p"]
        cdef int[:, ::1] rx_prod = a["rx_prod"]
        cdef double[::1] weight = a["weight"]
        cdef signed char[::1] searches = a["searches"]
        cdef signed char[::1] target = a["target"]
        self._arrays = dict(a)
        self.n_vol = weight.shape[0]
        self.r_max = float(np.sqrt(np.max(a["rx_r2"])))
        self.h = 2.0 * self.r_max
        self.inv_h = 1.0 / self.h
        self.pair_rx = &pair_rx[0]
        self.rx_r2 = &rx_r2[0]
        self.rx_p = &rx_p[0]
        self.rx_prod = &rx_prod[0, 0]
        self.weight = &weight[0]
        self.searches = &searches[0]
        self.target = &target[0]
        self.events = &events[0]
        self.stats = &stats[0]
        self.cap = 0
        self.ensure(1024)

    def blocked(self):
        """Pairs in range that did not react because a triangle lies between them."""
        return int(self._arrays["stats"][0])

    def relinked(self):
        """Molecule-steps in which a molecule changed bucket list (the lists are kept, not rebuilt)."""
        return int(self._arrays["stats"][1])

    def ensure(self, Py_ssize_t cap):
        """Make room for cap molecules."""
        if cap <= self.cap:
            return
        cdef Py_ssize_t nb = 16
        while nb < 2 * cap:
            nb *= 2
        head_arr = np.full(nb, -1, dtype=np.int32)
        nxt_arr = np.full(cap, -1, dtype=np.int32)
        prv_arr = np.full(cap, -1, dtype=np.int32)
        bucket_arr = np.full(cap, -1, dtype=np.int32)
        done_arr = np.zeros(cap, dtype=np.int8)
        frac_arr = np.ones(cap)
        cdef int[::1] head = head_arr
        cdef int[::1] nxt = nxt_arr
        cdef int[::1] prv = prv_arr
        cdef int[::1] bucket = bucket_arr
        cdef signed char[::1] done = done_arr
        cdef double[::1] frac = frac_arr
        self._arrays.update(head=head_arr, nxt=nxt_arr, prv=prv_arr, bucket=bucket_arr, done=done_arr,
                            frac=frac_arr)
        self.head = &head[0]
        self.nxt = &nxt[0]
        self.prv = &prv[0]
        self.bucket = &bucket[0]
        self.done = &done[0]
        self.frac = &frac[0]
        self.mask = nb - 1
        self.cap = cap
        self.n_listed = 0                   # the new lists are empty: the next step fills them

    cdef void unlink(self, Py_ssize_t i) noexcept nogil:
        cdef int a = self.prv[i], b = self.nxt[i]
        if a >= 0:
            self.nxt[a] = b
        else:
            self.head[self.bucket[i]] = b
        if b >= 0:
            self.prv[b] = a
        self.bucket[i] = -1

    cdef void link(self, Py_ssize_t i, int bk) noexcept nogil:
        cdef int first = self.head[bk]
        self.nxt[i] = first
        self.prv[i] = -1
        if first >= 0:
            self.prv[first] = <int>i
        self.head[bk] = <int>i
        self.bucket[i] = bk

    cdef void update_lists(self, const double* pos, const int* species, Py_ssize_t n) noexcept nogil:
        """Bring the bucket lists up to date with slots 0..n-1: only a slot whose bucket changed
        (the molecule moved to another cell, or the slot holds another molecule or species) is
        moved between lists; slots beyond n leave theirs."""
        cdef Py_ssize_t i
        cdef int bk
        for i in range(n, self.n_listed):
            if self.bucket[i] >= 0:
                self.unlink(i)
        for i in range(n):
            self.done[i] = 0
            bk = <int>bucket_of(pos + 3 * i, self.inv_h, self.mask) if self.target[species[i]] else -1
            if bk != self.bucket[i]:
                if self.bucket[i] >= 0:
                    self.unlink(i)
                if bk >= 0:
                    self.link(i, bk)
                self.stats[1] += 1
        self.n_listed = n

    cdef Py_ssize_t react(self, Scene sc, Mols* mols, Py_ssize_t n, long long* next_uid, bint partial,
                          uint64_t* rng) noexcept nogil:
        """React every pair in range among molecules 0..n-1 (n <= cap); returns the new count.
        With `partial`, frac[i] is the fraction of the step molecule i has existed as its
        species (VolumeKinetics.first_order, which runs first), and a pair in range reacts with
        probability p·min(frac_i, frac_j): a molecule made during the step has its share of it.
        Products get new uids (so their own streams) and fresh clocks, done[i] = 1, and (with `partial`) in frac[i] the
        fraction of the step left after the (uniformly distributed) moment the pair met, for
        VolumeKinetics.age_products."""
        cdef Py_ssize_t i, j, last
        cdef int s, t, rx = -1, k, m, nb, p0, p1
        cdef unsigned long long buckets[8]
        cdef double wa, wb, tot, chance, left
        cdef double d[3]
        cdef double q[3]
        cdef Hit hit
        cdef bint found
        cdef double* pos = mols.pos
        cdef int* species = mols.species
        self.update_lists(pos, species, n)
        for i in range(n):
            s = species[i]
            if self.done[i] or not self.searches[s]:
                continue
            nb = ball_buckets(pos + 3 * i, self.r_max, self.inv_h, self.mask, buckets)
            found = False
            for m in range(nb):
                j = self.head[buckets[m]]
                while j >= 0:
                    if j != i and not self.done[j]:
                        rx = self.pair_rx[s * self.n_vol + species[j]]
                        if rx >= 0:
                            for k in range(3):
                                d[k] = pos[3 * j + k] - pos[3 * i + k]
                            if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < self.rx_r2[rx]:
                                hit.tri = -1
                                if sc.n_tri:
                                    hit = sc.first_hit(pos + 3 * i, d)
                                if hit.tri >= 0:
                                    self.stats[0] += 1        # a membrane lies between them
                                else:
                                    chance = self.rx_p[rx]
                                    if partial:
                                        chance *= self.frac[i] if self.frac[i] < self.frac[j] else self.frac[j]
                                    if chance >= 1.0 or next_uniform(rng) < chance:
                                        found = True
                                        break
                    j = self.nxt[j]
                if found:
                    break
            if not found:
                continue
            t = species[j]
            self.events[rx] += 1
            self.done[i] = 1
            self.done[j] = 1
            wa = self.weight[t]                              # A's share is D_B / (D_A + D_B)
            wb = self.weight[s]
            tot = wa + wb
            if tot <= 0.0:
                wa = 0.5
                wb = 0.5
                tot = 1.0
            for k in range(3):
                q[k] = (wa * pos[3 * i + k] + wb * pos[3 * j + k]) / tot
            p0 = self.rx_prod[2 * rx]
            p1 = self.rx_prod[2 * rx + 1]
            for k in range(3):
                pos[3 * i + k] = q[k]
                pos[3 * j + k] = q[k]
            # the pair met at a uniform time within the part of the step both existed: the
            # products' share of the step left (VolumeKinetics.age_products lives it out)
            if partial:
                left = (self.frac[i] if self.frac[i] < self.frac[j] else self.frac[j]) * next_uniform(rng)
                self.frac[i] = left
                self.frac[j] = left
            for k in range(2):
                last = i if k == 0 else j
                init_slot(mols, last, p0 if k == 0 else p1, next_uid[0], -1.0)
                next_uid[0] += 1
        # free the slots of reactions with fewer than two products (species -1)
        i = 0
        while i < n:
            if species[i] >= 0:
                i += 1
                continue
            last = n - 1
            move_slot(mols, i, last)
            self.done[i] = self.done[last]
            self.frac[i] = self.frac[last]
            n = last
        return n
