# Inline random numbers for the kernels: xoshiro256++ (Blackman & Vigna 2021, ACM TOMS 47:36)
# feeding a 256-layer ziggurat normal (Marsaglia & Tsang 2000, J Stat Softw 5(8)).
# The stream state is a uint64[4] array owned by the Python Simulation and seeded from
# numpy.random.SeedSequence, so a seed gives the same numbers on every machine.
from libc.math cimport log
from libc.stdint cimport uint64_t

cdef double ZIG_W[256]       # layer width / 2^52
cdef uint64_t ZIG_K[256]     # accept j < ZIG_K[k] without evaluating the density
cdef double ZIG_FLO[256]     # density at the layer's lower edge
cdef double ZIG_FHI[256]     # density at the layer's upper edge
cdef double ZIG_R            # start of the tail


cdef inline uint64_t rotl(uint64_t x, int k) noexcept nogil:
    return (x << k) | (x >> (64 - k))


cdef inline uint64_t next_u64(uint64_t* s) noexcept nogil:
    cdef uint64_t result = rotl(s[0] + s[3], 23) + s[0]
    cdef uint64_t t = s[1] << 17
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 45)
    return result


cdef inline double next_uniform(uint64_t* s) noexcept nogil:
    """Uniform on [0, 1) with 53 random bits."""
    return (next_u64(s) >> 11) * (1.0 / 9007199254740992.0)


cdef double normal_slow(uint64_t* s, int k, uint64_t j, bint negative) noexcept nogil


cdef inline double next_normal(uint64_t* s) noexcept nogil:
    """Standard normal deviate; the fast path (about 99 % of calls) is one uint64 and a compare."""
    cdef uint64_t u = next_u64(s)
    cdef int k = <int>(u & 0xff)
    cdef uint64_t j = u >> 12
    cdef double x
    if j < ZIG_K[k]:
        x = j * ZIG_W[k]
        return -x if (u >> 8) & 1 else x
    return normal_slow(s, k, j, (u >> 8) & 1)


cdef inline double next_exponential(uint64_t* s) noexcept nogil:
    """Unit-exponential deviate -log(1 - U) (one uniform)."""
    return -log(1.0 - next_uniform(s))
