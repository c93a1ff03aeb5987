/* rng.h — the prompt-set generators' random stream: splitmix64, fixed and platform-independent, so
 * a seed names the same file everywhere. Datasets-local on purpose (header-only, static inline). */
#ifndef HS_DATASETS_RNG_H
#define HS_DATASETS_RNG_H

#include <stdint.h>

typedef struct hs_rng {
    uint64_t s;
} hs_rng;

/* A stream for (seed, salt): salt separates tasks and splits that share a seed. */
static inline hs_rng hs_rng_seed(uint64_t seed, uint64_t salt)
{
    hs_rng r = {seed ^ (salt * 0xd1342543de82ef95ull)};
    return r;
}

static inline uint64_t hs_rng_next(hs_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias; n >= 1. */
static inline int hs_rng_below(hs_rng *r, int n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % (uint64_t)n, x;
    do
        x = hs_rng_next(r);
    while (x >= limit);
    return (int)(x % (uint64_t)n);
}

/* Uniform in [lo, hi]. */
static inline int hs_rng_range(hs_rng *r, int lo, int hi)
{
    return lo + hs_rng_below(r, hi - lo + 1);
}

/* k distinct indices of [0, n) into out (k <= n <= 256), in random order. */
static inline void hs_rng_pick(hs_rng *r, int n, int k, int *out)
{
    int pool[256];
    for (int i = 0; i < n; i++)
        pool[i] = i;
    for (int j = 0; j < k; j++) {
        int m = j + hs_rng_below(r, n - j), t = pool[j];
        pool[j] = pool[m];
        pool[m] = t;
        out[j] = pool[j];
    }
}

/* A 64-bit salt from a name (FNV-1a). */
static inline uint64_t hs_rng_salt(const char *name)
{
    uint64_t h = 1469598103934665603ull;
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 1099511628211ull;
    return h;
}

#endif
