# Inline random numbers for the kernels: xoroshiro128++ (Blackman & Vigna 2021, ACM TOMS 47:36)
# feeding a 256-layer ziggurat normal (Marsaglia & Tsang 2000, J Stat Softw 5(8)).
#
# A stream is a uint64[2] state. A trial has one serial stream (surface molecules, pair
# reactions, releases' partial steps) and every volume molecule has its own, seeded from the
# trial's key and the molecule's uid (seed_stream), so the draws of a molecule do not depend on
# which thread moves it or in which order. States are seeded from numpy.random.SeedSequence, so
# a seed gives the same numbers on every machine.
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
    cdef uint64_t s0 = s[0], s1 = s[1]
    cdef uint64_t result = rotl(s0 + s1, 17) + s0
    s1 ^= s0
    s[0] = rotl(s0, 49) ^ s1 ^ (s1 << 21)
    s[1] = rotl(s1, 28)
    return result


cdef inline uint64_t mix64(uint64_t z) noexcept nogil:
    """A bijective 64-bit finaliser (SplitMix64's; Steele, Lea & Flood 2014, OOPSLA)."""
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL
    return z ^ (z >> 31)


cdef inline void seed_stream(const uint64_t* key, long long uid, uint64_t* s) noexcept nogil:
    """The stream of molecule `uid` under the trial's key (uint64[2]): distinct uids give distinct
    hashes h, and the state is two SplitMix64 outputs after h (never all zero)."""
    cdef uint64_t h = mix64(key[0] ^ mix64(<uint64_t>uid ^ key[1]))
    s[0] = mix64(h + 0x9e3779b97f4a7c15ULL)           # the golden-ratio increment of SplitMix64
    s[1] = mix64(h + 0x3c6ef372fe94f82aULL)           # twice it
    if s[0] == 0 and s[1] == 0:
        s[1] = 1


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
