# Reaction helpers shared by the kernels (header-only): the channel of a first-order event and
# the depletion factor of binding on hit.


cdef inline int pick_channel(const int* rx, int lo, int hi, const double* k, double* u) noexcept nogil:
    """The channel of an event among reactions rx[lo:hi] of rates k[rx[j]] (s⁻¹): u (a uniform
    times the total rate) loses each rate in turn until it falls below 0. Returns that reaction,
    the last one if u stays >= 0 (-1 if there are none); u keeps what is left."""
    cdef int j, r = -1
    for j in range(lo, hi):
        r = rx[j]
        u[0] -= k[r]
        if u[0] < 0.0:
            break
    return r


cdef inline double depletion_factor(const double* a, double kp) noexcept nogil:
    """Depletion factor f(κ′) = 1 − a1 κ′ + a2 κ′² − a3 κ′³ of cleftsim.binding (a = a1, a2, a3,
    κ′_max); beyond κ′_max, f(κ′_max)·κ′_max/κ′. (The two branches keep their own operation order,
    (a2·κ′)·κ′ against a2·κ′_max², so results stay as they were.)"""
    if kp > a[3]:
        return (1.0 - a[0] * a[3] + a[1] * a[3] ** 2 - a[2] * a[3] ** 3) * a[3] / kp
    return 1.0 - a[0] * kp + a[1] * kp * kp - a[2] * kp * kp * kp
