/* rng.c — splitmix64 and the samplers built on it (see rng.h). */
#include "base/rng.h"

#include <math.h>

uint64_t hs_rng_u64(hs_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t hs_rng_below(hs_rng *r, uint32_t n)
{
    return (uint32_t)(((hs_rng_u64(r) >> 32) * (uint64_t)n) >> 32);
}

float hs_rng_normal(hs_rng *r)
{
    double u1 = ((double)(hs_rng_u64(r) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(hs_rng_u64(r) >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
