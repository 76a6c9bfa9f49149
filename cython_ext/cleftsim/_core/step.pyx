# cython: language_level=3
"""The step kernel: a trial's time steps (run_steps), each a Gaussian displacement of every volume
molecule traced through the geometry, then the reactions of the step.

At every surface a step meets, the (region, species) rule decides: specular reflection with the
rest of the displacement (any number of bounces), absorption, or a counted transparent crossing.
A molecule that survives its step near an absorbing surface is then absorbed with the
Brownian-bridge probability exp(-d1*d2/(D*dt)) of having touched it during the step (d1, d2: the
distances of the start and end points from the absorbing surface, each to its own nearest
absorbing triangle, both on the side of the end point's nearest triangle; the standard
crossing probability of a Brownian bridge, e.g. Borodin & Salminen, Handbook of Brownian Motion;
used for boundaries of particle simulations by Andrews & Bray 2004, Phys Biol 1:137).

No-leak rule: after a reflection the molecule restarts from a point of its incoming segment that
lies `delta` (perpendicular) before the surface, or from the segment's start if the hit was closer,
so every position the engine ever stores lies on a path that crossed no reflecting triangle.

Threads. The diffusion phase of a step runs on several threads, and a trial gives the same
numbers bit for bit on any number of them. Every volume molecule draws from its own stream
(random.pxd), so its draws do not depend on the thread that moves it. A thread moves a molecule
*speculatively*: its path must not meet a tile holding surface molecules it could react with
(the only state a step of one molecule reads that another one's step can change), and it must
not be under a geminate test; such a molecule is put back as it was (position, wall cache,
stream) and left for the serial phase, which moves those in index order with binding. Counts go
to per-thread tallies that are summed (integers, so the sum does not depend on the order), and
absorbed or consumed molecules leave afterwards, in index order. The result is that of moving
the molecules one after the other in index order.
"""
import numpy as np
from cython.parallel cimport prange, threadid
from libc.math cimport fabs, exp, floor, ceil, sqrt
from libc.stdint cimport uint64_t
from posix.unistd cimport getpid

from cleftsim._core.scene cimport Scene, Hit, RULE_ABSORB, RULE_TRANSPARENT, RULE_MASK, RULE_REACTIVE
from cleftsim._core.membrane cimport Membrane
from cleftsim._core.volume cimport VolumeKinetics
from cleftsim._core.pairs cimport PairReactions
from cleftsim._core.state cimport Counters, Molecules, StepTables
from cleftsim._core.molecules cimport Mols, move_slot, init_slot
from cleftsim._core.vec cimport dot3
from cleftsim._core.random cimport next_normal, next_uniform

cdef enum:
    MAX_BOUNCES = 1000

# The bridge test is skipped when lower bounds of d1 and d2 give exp(-d1*d2/(D dt)) < exp(-16) ≈ 1e-7.
cdef double BRIDGE_NEGLIGIBLE = 16.0

# Indices into the stats counter array.
cdef enum:
    STAT_TRUNCATED = 0
    STAT_BRIDGE = 1
    STAT_REFLECTIONS = 2
    STAT_WRAPS = 3
    STAT_SLAB = 4
    STAT_SERIAL = 5      # molecule-steps left to the serial phase (speculation stopped)
    N_STATS = 6

# Molecules per chunk of the parallel phase, and the fewest per thread worth a parallel phase.
cdef Py_ssize_t CHUNK = 256
cdef Py_ssize_t MIN_PER_THREAD = 1024
# The process whose threads have run (-1: none yet). OpenMP cannot start threads in a process
# forked from one whose threads have run (it would hang), so such a child moves its molecules on
# one thread: the same numbers, at the speed of one core.
cdef int threads_pid = -1


# A released molecule keeps its geminate test while it stays within the test's reach of its
# source's membrane and within NEAR_PATCH times that (squared) of its source along it.
cdef double NEAR_PATCH = 4.0
# Largest difference (µm) between where a step ends over a plane and its unfolded height there
# for a path that nothing across the plane turned back (restarts move paths by about 1e-9 µm).
cdef double FOLD_TOLERANCE = 1e-6

cdef enum:
    CONSUMED = -2       # returned by trace/move: the molecule reacted with a surface molecule
    DEFER = -3          # returned in speculation: the step needs the serial phase
    MAX_CROSS = 16      # transparent crossings a speculative step may make


cdef struct Stats:
    long long v[6]


# A thread's counts: its engine counters accumulate here and go to `out` at the end of a range;
# crossings go straight to `crossed`. A speculative step logs its crossings so that it can be
# undone (with the counters saved before it).
cdef struct Tally:
    Stats stats
    int n_cross
    int cross[16]       # flat indices into the crossing counters, of the current speculative step
    long long* crossed  # the thread's crossing counters
    long long* out      # and its engine counters
    bint spec           # speculative: a reactive tile or more than MAX_CROSS crossings stop the step (DEFER)


cdef inline void tally_commit(Tally* ty) noexcept nogil:
    """Add the engine counters to `out` and start again from zero."""
    cdef int k
    for k in range(N_STATS):
        ty.out[k] += ty.stats.v[k]
        ty.stats.v[k] = 0


cdef inline bint tally_cross(Tally* ty, int idx) noexcept nogil:
    """Count a crossing; False when a speculative step has made too many (it must be deferred)."""
    if ty.spec:
        if ty.n_cross == MAX_CROSS:
            return False
        ty.cross[ty.n_cross] = idx
        ty.n_cross += 1
    ty.crossed[idx] += 1
    return True


cdef inline void tally_undo(Tally* ty, const Stats* saved) noexcept nogil:
    """Take back a speculative step: the counters as saved before it, its crossings removed."""
    cdef int k
    ty.stats = saved[0]
    for k in range(ty.n_cross):
        ty.crossed[ty.cross[k]] -= 1
    ty.n_cross = 0


cdef inline int trace(Scene sc, Membrane mb, double* p, double* d, int s, uint64_t* rng, Tally* ty,
                      bint* wrapped) noexcept nogil:
    """Move p by d through the geometry. Returns the absorbing region, CONSUMED if the molecule
    reacted with a surface molecule, DEFER (speculative tally only), or -1 if it survives."""
    cdef Hit h
    cdef int bounces = 0, rule, reg, k, ax, side
    cdef double nd, tb, f, rn, tbox, t
    cdef double x[3]
    cdef const double* plane
    while True:
        h = sc.first_hit(p, d)
        if sc.periodic_any:
            tbox = 2.0
            ax = -1
            for k in range(3):
                if sc.periodic[k] and d[k] != 0.0:
                    t = ((sc.box_hi[k] if d[k] > 0.0 else sc.box_lo[k]) - p[k]) / d[k]
                    if t < tbox:
                        tbox = t
                        ax = k
            if ax >= 0 and tbox < 1.0 and tbox < h.t:
                for k in range(3):
                    p[k] += tbox * d[k]
                    d[k] *= 1.0 - tbox
                p[ax] = sc.box_lo[ax] if d[ax] > 0.0 else sc.box_hi[ax]
                wrapped[0] = True
                ty.stats.v[STAT_WRAPS] += 1
                continue
        if h.tri < 0:
            p[0] += d[0]
            p[1] += d[1]
            p[2] += d[2]
            return -1
        reg = sc.tri_region[h.tri]
        rule = sc.rules[reg * sc.n_species + s]
        plane = sc.planes + 4 * sc.tri_plane[h.tri]
        nd = dot3(plane, d)
        if rule & RULE_REACTIVE and mb is not None:
            for k in range(3):
                x[k] = p[k] + h.t * d[k]
            side = 1 if nd < 0.0 else -1
            if ty.spec:
                if mb.has_candidates(sc, h.tri, plane, x, s, side):
                    return DEFER
            elif mb.react_on_hit(sc, h.tri, plane, x, s, side, rng):
                return CONSUMED
        rule = rule & RULE_MASK
        if rule == RULE_ABSORB:
            return reg
        if rule == RULE_TRANSPARENT:
            if not tally_cross(ty, (reg * sc.n_species + s) * 2 + (1 if nd > 0.0 else 0)):
                return DEFER
            t = h.t + sc.delta / fabs(nd)
            if t >= 1.0:
                p[0] += d[0]
                p[1] += d[1]
                p[2] += d[2]
                return -1
            for k in range(3):
                p[k] += t * d[k]
                d[k] *= 1.0 - t
            continue
        # specular reflection with the remaining displacement
        tb = h.t - sc.delta / fabs(nd)
        if tb < 0.0:
            tb = 0.0
        f = 1.0 - h.t
        rn = 2.0 * f * nd
        for k in range(3):
            p[k] += tb * d[k]
            d[k] = f * d[k] - rn * plane[k]
        ty.stats.v[STAT_REFLECTIONS] += 1
        bounces += 1
        if bounces >= MAX_BOUNCES:
            ty.stats.v[STAT_TRUNCATED] += 1
            return -1


cdef inline int slab_react(Scene sc, Membrane mb, int c, const double* p, const double* d, int s,
                           uint64_t* rng, bint spec) noexcept nogil:
    """Binding at the plane crossings of a folded slab step (slab cell c, from Scene.slab_cell),
    in the order the path meets them: CONSUMED if the molecule reacted (DEFER, in speculation,
    at a crossing whose tile holds candidates), else -1. In the unfolded picture the path is
    straight and crosses images of plane a at 2kL and of plane b at (2k+1)L (L = b - a), so each
    crossing's parameter and point follow directly: the same hits the ray tracer finds."""
    cdef int ax = sc.slab_axis[c], k, side
    cdef int reg_a = sc.slab_region[2 * c], reg_b = sc.slab_region[2 * c + 1]
    cdef bint react_a = sc.rules[reg_a * sc.n_species + s] & RULE_REACTIVE
    cdef bint react_b = sc.rules[reg_b * sc.n_species + s] & RULE_REACTIVE
    cdef double a = sc.slab_bounds[3 * c], L = sc.slab_bounds[3 * c + 1] - a
    cdef double z0 = p[ax] - a, z1 = z0 + d[ax], t
    cdef long long m, m_end, dm
    cdef bint on_a
    cdef double x[3]
    cdef double nrm[3]
    if d[ax] > 0.0:
        m, m_end, dm = 1, <long long>floor(z1 / L), 1       # crossings at mL, 1 <= m <= floor(z1/L)
        if m > m_end:
            return -1
    else:
        m, m_end, dm = 0, <long long>ceil(z1 / L), -1       # crossings at mL, ceil(z1/L) <= m <= 0
        if z1 >= 0.0:
            return -1
    while True:
        on_a = (m & 1) == 0
        if (react_a if on_a else react_b):
            t = (m * L - z0) / d[ax]
            for k in range(3):
                x[k] = p[k] + t * d[k]
                nrm[k] = 0.0
            x[ax] = a if on_a else a + L
            if on_a:
                nrm[ax] = sc.slab_sign[2 * c]
                side = sc.slab_sign[2 * c]              # the gap lies on the +axis side of plane a
            else:
                nrm[ax] = sc.slab_sign[2 * c + 1]
                side = -sc.slab_sign[2 * c + 1]
            if spec:
                if mb.has_candidates(sc, -1, nrm, x, s, side):
                    return DEFER
            elif mb.react_on_hit(sc, -1, nrm, x, s, side, rng):
                return CONSUMED
        if m == m_end:
            return -1
        m += dm


cdef inline int move(Scene sc, Membrane mb, double* p, double* d, int s, double ddt, double rcut, uint64_t* rng,
                     Tally* ty, double* wall) noexcept nogil:
    """Move one molecule by d from p (both updated in place). Returns the absorbing region,
    CONSUMED, DEFER (speculative tally only), or -1.

    wall caches the molecule's distance to the nearest absorbing triangle at its current position
    (-1 when unknown): read as d1 for this step, replaced by d2 (or -1) for the next.
    """
    cdef double p0[3]
    cdef int reg = -1, j
    cdef double s0, s1, d1 = wall[0], d2, lb1
    cdef const double* plane
    cdef bint wrapped = False
    wall[0] = -1.0
    p0[0] = p[0]
    p0[1] = p[1]
    p0[2] = p[2]
    j = sc.slab_cell(p, d, s) if sc.has_slabs else -1
    if j >= 0 and mb is not None and ((sc.rules[sc.slab_region[2 * j] * sc.n_species + s]
                                       | sc.rules[sc.slab_region[2 * j + 1] * sc.n_species + s]) & RULE_REACTIVE):
        reg = slab_react(sc, mb, j, p, d, s, rng, ty.spec)
        if reg != -1:
            return reg
    if j >= 0:
        ty.stats.v[STAT_REFLECTIONS] += sc.slab_fold(j, p, d)
        ty.stats.v[STAT_SLAB] += 1
    else:
        reg = trace(sc, mb, p, d, s, rng, ty, &wrapped)
        if reg != -1:
            return reg
    if rcut <= 0.0 or wrapped:
        return -1
    lb1 = d1 if d1 >= 0.0 else sc.absorber_lower_bound(p0, rcut)
    if lb1 * sc.absorber_lower_bound(p, rcut) >= BRIDGE_NEGLIGIBLE * ddt:
        return -1
    j = sc.nearest_absorber(p, s, rcut, &d2)
    wall[0] = d2 if j >= 0 else -1.0
    if j >= 0:
        plane = sc.planes + 4 * sc.tri_plane[j]
        s0 = dot3(plane, p0) - plane[3]
        s1 = dot3(plane, p) - plane[3]
        if s0 * s1 > 0.0:
            if d1 < 0.0:
                sc.nearest_absorber(p0, s, rcut, &d1)
            if next_uniform(rng) < exp(-d1 * d2 / ddt):
                ty.stats.v[STAT_BRIDGE] += 1
                return sc.tri_region[j]
    return -1


cdef inline Py_ssize_t join_product(Scene sc, Membrane mb, Py_ssize_t k, Mols* m, Py_ssize_t n,
                                    long long* next_uid, const double* rcut, Tally* ty,
                                    long long* ab) noexcept nogil:
    """Product k of the membrane's buffer takes slot n with a new uid (and so its own stream),
    moves for the rest of its step under the geminate test of its source (Membrane.watch,
    Membrane.geminate) and stays unless absorbed, bound or rebound, marked for the test on its
    next step too (wall = -2 - source); returns the new number of molecules."""
    cdef int v = mb.pend_species[k], reg = -1, src = mb.pend_src[k]
    cdef double tau = mb.pend_left[k], D = mb.vol_D[v], sg, y
    cdef const double* plane
    cdef bint near = False
    cdef double* p = m.pos + 3 * n
    cdef uint64_t* rng = m.rng + 2 * n
    cdef double d[3]
    cdef double wl = -1.0
    p[0] = mb.pend_pos[3 * k]
    p[1] = mb.pend_pos[3 * k + 1]
    p[2] = mb.pend_pos[3 * k + 2]
    init_slot(m, n, v, next_uid[0], -1.0)
    next_uid[0] += 1
    if tau > 0.0 and D > 0.0:
        sg = sqrt(2.0 * D * tau)
        d[0] = sg * next_normal(rng)
        d[1] = sg * next_normal(rng)
        d[2] = sg * next_normal(rng)
        plane = sc.planes + 4 * sc.tri_plane[mb.tri[src]]
        y = fabs(dot3(plane, d))
        mb.watch(sc, src, mb.pos + 3 * src, 4.0 * D * tau)
        reg = move(sc, mb, p, d, v, D * tau, rcut[v], rng, ty, &wl)
        near = reg == -1 and opposite_free(plane, p, mb.pend_side[k], y, 4.0 * D * tau)
        if reg == -1 and mb.geminate(sc, src, NULL, v, mb.pend_side[k], tau, 0.0, y, tau / mb.dt, rng):
            reg = CONSUMED
        mb.unwatch()
        if reg >= 0:
            ab[reg * sc.n_species + v] += 1
        if reg != -1:
            return n
    m.wall[n] = -2.0 - src if near else wl
    return n + 1


cdef inline bint opposite_free(const double* plane, const double* p, int o, double y, double q4) noexcept nogil:
    """Whether the molecule may keep the geminate test after a step that would end at the
    unfolded height y over the plane (on side o; q4 = 4Dτ): where nothing facing the plane turned
    it back (walls across it only fold its normal coordinate), or where what did is at least
    √q4 away (a single reflection at H puts it at 2H − y), so that the unfolded height misses no
    contacts of a path that comes back to the plane from there within a step."""
    cdef double h = o * (dot3(plane, p) - plane[3])
    return fabs(h - y) <= FOLD_TOLERANCE or (h + y) * (h + y) >= 4.0 * q4


cdef inline int move_near_source(Scene sc, Membrane mb, double* p, double* d, int s, double ddt, double rcut,
                                 uint64_t* rng, Tally* ty, double* wall) noexcept nogil:
    """move() for a product's first whole step (wall holds -2 - its source): under the geminate
    test of its source's membrane around the point below it, from its height there (serial)."""
    cdef int src = <int>(-wall[0] - 2.0 + 0.5), o, reg
    cdef const double* plane = sc.planes + 4 * sc.tri_plane[mb.tri[src]]
    cdef double h = dot3(plane, p) - plane[3], y0 = fabs(h), y
    cdef double x[3]
    cdef double off[3]
    cdef double r2
    cdef int k
    cdef bint near
    o = 1 if h >= 0.0 else -1
    y = fabs(y0 + o * dot3(plane, d))
    for k in range(3):
        x[k] = p[k] - h * plane[k]                   # the point below it
        off[k] = x[k] - mb.pos[3 * src + k]
    wall[0] = -1.0
    mb.watch(sc, src, x, 4.0 * ddt)
    reg = move(sc, mb, p, d, s, ddt, rcut, rng, ty, wall)
    near = reg == -1 and opposite_free(plane, p, o, y, 4.0 * ddt)
    if reg == -1 and mb.geminate(sc, src, off, s, o, mb.dt, y0, y, -1.0, rng):
        reg = CONSUMED
    mb.unwatch()
    if near:
        # still near its source's membrane (within the test's reach of it, over the same patch,
        # and that membrane still flat there: the point below it lies on the source's plane):
        # the test again next step
        h = dot3(plane, p) - plane[3]
        r2 = 0.0
        for k in range(3):
            x[k] = p[k] - h * plane[k]
            r2 += (x[k] - mb.pos[3 * src + k]) ** 2
        if (h * o > 0.0 and h * h <= mb.gem_r2 and r2 <= NEAR_PATCH * mb.gem_r2
                and sc.locate(x, plane, -1) >= 0):
            wall[0] = -2.0 - src
    return reg


cdef inline void gaussian_step(uint64_t* rng, double sg, double* d) noexcept nogil:
    d[0] = sg * next_normal(rng)
    d[1] = sg * next_normal(rng)
    d[2] = sg * next_normal(rng)


cdef void diffuse_range(Scene sc, Membrane mb, Mols* m, Py_ssize_t lo, Py_ssize_t hi, const double* sigma,
                        const double* ddt, const double* rcut, Tally* ty, int* fate) noexcept nogil:
    """The parallel phase for molecules lo..hi-1: each takes its Gaussian step speculatively;
    fate[i] gets -1 (moved), its absorbing region, or DEFER (put back as it was, for the serial
    phase). Thread-safe: it writes only molecules lo..hi-1, fate and the thread's tally."""
    cdef Py_ssize_t i
    cdef int s, reg
    cdef double w0
    cdef uint64_t r0, r1
    cdef Stats saved
    cdef double d[3]
    cdef double p0[3]
    cdef double* p
    cdef uint64_t* rng
    cdef bint free_space = sc.n_tri == 0 and not sc.periodic_any
    for i in range(lo, hi):
        s = m.species[i]
        p = m.pos + 3 * i
        rng = m.rng + 2 * i
        if m.wall[i] < -1.5:
            fate[i] = DEFER
            continue
        r0 = rng[0]
        r1 = rng[1]
        gaussian_step(rng, sigma[s], d)
        if free_space:
            p[0] += d[0]
            p[1] += d[1]
            p[2] += d[2]
            fate[i] = -1
            continue
        p0[0] = p[0]
        p0[1] = p[1]
        p0[2] = p[2]
        w0 = m.wall[i]
        saved = ty.stats
        ty.n_cross = 0
        reg = move(sc, mb, p, d, s, ddt[s], rcut[s], rng, ty, m.wall + i)
        if reg == DEFER:
            p[0] = p0[0]
            p[1] = p0[1]
            p[2] = p0[2]
            m.wall[i] = w0
            rng[0] = r0
            rng[1] = r1
            tally_undo(ty, &saved)
        fate[i] = reg
    tally_commit(ty)


cdef Py_ssize_t diffuse_step(Scene sc, Membrane mb, Mols* m, Py_ssize_t n, const double* sigma, const double* ddt,
                             const double* rcut, Tally* tallies, int threads, int* fate, long long* absorbed) noexcept nogil:
    """One diffusion step of the first n molecules (parallel phase on up to `threads` threads,
    then the serial phase and the removals, both in index order); returns the new number of
    molecules."""
    cdef Py_ssize_t i, c, n_chunks, last
    cdef int s, reg, tid, nt = threads
    cdef double d[3]
    cdef Tally* ty = &tallies[0]
    global threads_pid
    if n == 0:
        return 0
    if n < nt * MIN_PER_THREAD:
        nt = <int>(n // MIN_PER_THREAD)
    if nt > 1 and threads_pid != getpid():
        if threads_pid == -1:
            threads_pid = getpid()
        else:
            nt = 1
    if nt <= 1:
        diffuse_range(sc, mb, m, 0, n, sigma, ddt, rcut, ty, fate)
    else:
        n_chunks = (n + CHUNK - 1) // CHUNK
        for c in prange(n_chunks, num_threads=nt, schedule="dynamic"):
            tid = threadid()
            diffuse_range(sc, mb, m, c * CHUNK, (c + 1) * CHUNK if (c + 1) * CHUNK < n else n, sigma, ddt, rcut,
                          &tallies[tid], fate)
    ty.spec = False
    for i in range(n):
        if fate[i] != DEFER:
            continue
        s = m.species[i]
        gaussian_step(m.rng + 2 * i, sigma[s], d)
        if m.wall[i] < -1.5:
            reg = move_near_source(sc, mb, m.pos + 3 * i, d, s, ddt[s], rcut[s], m.rng + 2 * i, ty, m.wall + i)
        else:
            reg = move(sc, mb, m.pos + 3 * i, d, s, ddt[s], rcut[s], m.rng + 2 * i, ty, m.wall + i)
        ty.stats.v[STAT_SERIAL] += 1
        fate[i] = reg
    tally_commit(ty)
    ty.spec = True
    i = n - 1
    while i >= 0:                      # every slot above i holds a survivor: the last one fills a gap
        if fate[i] != -1:
            if fate[i] >= 0:
                absorbed[fate[i] * sc.n_species + m.species[i]] += 1
            last = n - 1
            move_slot(m, i, last)
            n = last
        i -= 1
    return n


def run_steps(Scene sc, Membrane mb, VolumeKinetics vk, PairReactions pr, Molecules mol, Counters cnt,
              StepTables tab, uint64_t[::1] rng_state, long long n_steps, double[:, ::1] conc,
              double[:, ::1] new_pos, int[::1] new_rx, double[::1] new_left, long long[::1] new_start,
              int threads=1):
    """Advance the molecules ``mol`` by up to n_steps time steps of length tab.dt (s); returns the
    steps done (mol.n and mol.next_uid are updated).

    Each step: mobile surface molecules take their lateral step; every volume molecule takes its
    Gaussian step through the geometry (surface rules; binding to surface molecules of the
    membrane `mb`, or None), on up to `threads` threads; then the first-order events of volume
    molecules fire at their exact times (`vk`, or None; clock[i] is each molecule's
    unit-exponential hazard left, see volume.pyx), and molecules made by zeroth-order productions
    in step k of this call join (new_pos/new_rx/new_left[new_start[k]:new_start[k + 1]]; vk is
    then not None); then pairs of volume molecules in range react (`pr`, or None; its hash must
    hold the arrays' capacity; molecules made during the step react in proportion to the part of
    the step they existed); then the membrane's first-order events fire, with conc[step] the mean
    concentration (M) of each clamp over the step, and their volume products join the volume
    arrays with new uids. The numbers do not depend on `threads`.

    tab.sigma[s] = sqrt(2 D_s dt) (µm), tab.ddt[s] = D_s dt (µm²), tab.rcut[s] = search radius of
    the bridge test (0 when species s meets no absorbing surface). Absorbed or reacted molecules
    are removed by moving the last molecule into their slot (every field of Molecules together;
    wall -1 for a new molecule); absorptions are counted in cnt.absorbed[region, species],
    transparent crossings in cnt.crossed[region, species, direction] (direction 1 = along the
    triangle normal). rng_state is the trial's serial stream (uint64[2], updated); each molecule
    draws its steps from its own (mol.rng). cnt.stats accumulates [truncated steps, bridge
    absorptions, reflections, periodic wraps, steps taken by the slab fast path, steps moved in
    the serial phase]. The loop stops early, at a step boundary, when the volume arrays could not
    hold full product buffers or when a product buffer overflowed (an event was postponed to the
    next step); the caller grows them and calls again.
    """
    cdef double[:, ::1] pos = mol.pos
    cdef int[::1] species = mol.species
    cdef long long[::1] uid = mol.uid
    cdef double[::1] wall = mol.wall
    cdef double[::1] clock = mol.clock
    cdef uint64_t[:, ::1] mrng = mol.rng
    cdef uint64_t[::1] key = mol.key
    cdef long long[:, ::1] absorbed = cnt.absorbed
    cdef long long[:, :, ::1] crossed = cnt.crossed
    cdef long long[::1] stats = cnt.stats
    cdef double[::1] sigma = tab.sigma
    cdef double[::1] ddt = tab.ddt
    cdef double[::1] rcut = tab.rcut
    cdef double dt = tab.dt
    cdef Py_ssize_t n = mol.n
    cdef long long next_uid = mol.next_uid
    cdef uint64_t* rng = &rng_state[0]
    cdef long long step, done = 0
    cdef Py_ssize_t k, n_new, cap = pos.shape[0], n_cross = crossed.size
    # room for the product buffers: the membrane's once, the volume's twice (first-order events, then
    # the pair products living out their step)
    cdef Py_ssize_t pend_cap = (mb.pend_cap if mb is not None else 0) + (2 * vk.pend_cap if vk is not None else 0)
    cdef Mols m
    cdef long long* ab = &absorbed[0, 0]
    cdef int t, nt = threads if threads > 1 else 1
    if rng_state.shape[0] != 2:
        raise ValueError("rng_state must be a uint64[2] stream state")
    if mb is not None and (conc.shape[0] < n_steps or conc.shape[1] < 1):
        raise ValueError("conc needs one row per step and at least one column")
    if pr is not None and pr.cap < cap:
        raise ValueError("the pair hash must hold the arrays' capacity (PairReactions.ensure)")
    if new_start.shape[0] < n_steps + 1 or (vk is None and new_start[n_steps] > new_start[0]):
        raise ValueError("new_start needs n_steps + 1 entries, and productions need the VolumeKinetics kernel")
    m.pos = &pos[0, 0]
    m.species = &species[0]
    m.uid = &uid[0]
    m.wall = &wall[0]
    m.clock = &clock[0]
    m.rng = &mrng[0, 0]
    m.key[0] = key[0]
    m.key[1] = key[1]
    fate_arr = np.empty(cap, dtype=np.int32)
    cdef int[::1] fate = fate_arr
    # thread 0 counts into the counters, the others into their own, summed at the end
    extra_cross = np.zeros((nt, n_cross), dtype=np.int64)
    extra_stats = np.zeros((nt, N_STATS), dtype=np.int64)
    cdef long long[:, ::1] xc = extra_cross
    cdef long long[:, ::1] xs = extra_stats
    tallies_arr = np.zeros(nt * sizeof(Tally), dtype=np.uint8)
    cdef unsigned char[::1] tb = tallies_arr
    cdef Tally* tallies = <Tally*>&tb[0]
    for t in range(nt):
        tallies[t].crossed = &crossed[0, 0, 0] if t == 0 else &xc[t, 0]
        tallies[t].out = &stats[0] if t == 0 else &xs[t, 0]
        tallies[t].spec = True
    with nogil:
        for step in range(n_steps):
            n_new = new_start[step + 1] - new_start[step]
            if n + pend_cap + n_new > cap:
                break
            done += 1
            if mb is not None and mb.mobile:
                mb.lateral_step(sc, rng)
            n = diffuse_step(sc, mb, &m, n, &sigma[0], &ddt[0], &rcut[0], tallies, nt, &fate[0], ab)
            if vk is not None:
                n = vk.first_order(sc, &m, n, &next_uid, dt, pr.frac if pr is not None else NULL,
                                   &new_pos[new_start[step], 0], &new_rx[new_start[step]],
                                   &new_left[new_start[step]], n_new)
            if pr is not None:
                n = pr.react(sc, &m, n, &next_uid, vk is not None, rng)
                if vk is not None:
                    n = vk.age_products(sc, &m, n, &next_uid, dt, pr.done, pr.frac)
            if mb is not None:
                mb.first_order(sc, dt, &conc[step, 0], rng)
                tallies[0].spec = False
                k = 0
                while k < mb.n_pend:                   # a rebinding may add products: the list grows
                    n = join_product(sc, mb, k, &m, n, &next_uid, &rcut[0], &tallies[0], ab)
                    k += 1
                tally_commit(&tallies[0])
                tallies[0].spec = True
                mb.n_pend = 0
            if (mb is not None and mb.overflow) or (vk is not None and vk.overflow):
                break
    if nt > 1:
        np.asarray(cnt.crossed).reshape(-1)[:] += extra_cross[1:].sum(axis=0)
        np.asarray(cnt.stats)[:] += extra_stats[1:].sum(axis=0)
    mol.n = n
    mol.next_uid = next_uid
    return done


def displace(Scene sc, double[:, ::1] pos, double[:, ::1] disp, int species, double ddt, double rcut,
             uint64_t[::1] rng_state, Counters cnt):
    """Move each molecule i (of one species) by the given displacement disp[i], in place, drawing
    from the serial stream rng_state (uint64[2]).

    The same tracing as a diffusion step, with chosen instead of random displacements: the entry
    point for tests that aim rays at edges and vertices. Returns the absorbing region per
    molecule (-1 where it survived).
    """
    cdef Py_ssize_t i, n = pos.shape[0]
    cdef int k
    cdef double d[3]
    cdef double wall
    cdef long long[:, :, ::1] crossed = cnt.crossed
    cdef long long[::1] stats = cnt.stats
    cdef Tally ty
    fate = np.full(n, -1, dtype=np.int32)
    cdef int[::1] f = fate
    if disp.shape[0] != n:
        raise ValueError("pos and disp must have the same number of rows")
    if rng_state.shape[0] != 2:
        raise ValueError("rng_state must be a uint64[2] stream state")
    ty.crossed = &crossed[0, 0, 0]
    ty.out = &stats[0]
    ty.spec = False
    for k in range(N_STATS):
        ty.stats.v[k] = 0
    for i in range(n):
        d[0] = disp[i, 0]
        d[1] = disp[i, 1]
        d[2] = disp[i, 2]
        wall = -1.0
        f[i] = move(sc, None, &pos[i, 0], d, species, ddt, rcut, &rng_state[0], &ty, &wall)
    tally_commit(&ty)
    return fate
