# cython: language_level=3
"""Ziggurat tables and the rare paths of the normal generator declared in random.pxd.

Layers (Marsaglia & Tsang 2000, 256 regions of equal area V under f(x) = exp(-x²/2), x >= 0):
region 0 is the base rectangle [0, R] x [0, f(R)] plus the tail x > R; region k >= 1 is the
rectangle [0, x[k-1]] x [f(x[k-1]), f(x[k])], with x[0] = R and x[k] = f⁻¹(V/x[k-1] + f(x[k-1])).
"""
import numpy as np
from libc.math cimport exp

cdef double _V = 0.00492867323399


cdef double normal_slow(uint64_t* s, int k, uint64_t j, bint negative) noexcept nogil:
    cdef double x, y, xt, yt
    cdef uint64_t u
    while True:
        x = j * ZIG_W[k]
        if k == 0:
            while True:
                xt = next_exponential(s) / ZIG_R
                yt = next_exponential(s)
                if 2.0 * yt > xt * xt:
                    break
            x = ZIG_R + xt
            return -x if negative else x
        if j < ZIG_K[k]:
            return -x if negative else x
        y = ZIG_FLO[k] + next_uniform(s) * (ZIG_FHI[k] - ZIG_FLO[k])
        if y < exp(-0.5 * x * x):
            return -x if negative else x
        u = next_u64(s)
        k = <int>(u & 0xff)
        j = u >> 12
        negative = (u >> 8) & 1


def _init_tables():
    global ZIG_R
    cdef int k
    cdef double two52 = 4503599627370496.0
    ZIG_R = 3.6541528853610088
    f = lambda x: np.exp(-0.5 * x * x)
    x = [ZIG_R]
    for k in range(1, 256):
        a = _V / x[k - 1] + f(x[k - 1])
        x.append(float(np.sqrt(-2.0 * np.log(a))) if a < 1.0 else 0.0)
    w0 = _V / f(ZIG_R)
    ZIG_W[0] = w0 / two52
    ZIG_K[0] = <uint64_t>(ZIG_R / w0 * two52)
    ZIG_FLO[0] = 0.0
    ZIG_FHI[0] = f(ZIG_R)
    for k in range(1, 256):
        ZIG_W[k] = x[k - 1] / two52
        ZIG_K[k] = <uint64_t>(x[k] / x[k - 1] * two52)
        ZIG_FLO[k] = f(x[k - 1])
        ZIG_FHI[k] = f(x[k])


_init_tables()


def seed_state(seed_sequence) -> np.ndarray:
    """A uint64[2] stream state (or a trial's key for the molecules' streams) drawn from a numpy
    SeedSequence (never all zero)."""
    state = seed_sequence.generate_state(2, np.uint64)
    if not state.any():
        state[0] = 1
    return state


def seed_streams(uint64_t[::1] key, long long[::1] uid, uint64_t[:, ::1] out) -> None:
    """Seed out[i] with the stream of molecule uid[i] under the trial's key (uint64[2])."""
    cdef Py_ssize_t i
    if key.shape[0] != 2 or out.shape[0] != uid.shape[0] or out.shape[1] != 2:
        raise ValueError("seed_streams needs a uint64[2] key and a (len(uid), 2) output")
    for i in range(uid.shape[0]):
        seed_stream(&key[0], uid[i], &out[i, 0])


def normals(cnp_state, Py_ssize_t n):
    """n standard normal deviates from the stream (for tests of the generator)."""
    cdef uint64_t[::1] st = cnp_state
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    cdef Py_ssize_t i
    for i in range(n):
        o[i] = next_normal(&st[0])
    return out

