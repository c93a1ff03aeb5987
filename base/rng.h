/* rng.h — a small explicit random stream (splitmix64) for everything that must be reproducible from
 * a seed on every platform: random checkpoints, training initialisation, batch sampling. The state
 * is the caller's: no hidden globals. */
#ifndef HS_BASE_RNG_H
#define HS_BASE_RNG_H

#include <stdint.h>

typedef struct hs_rng {
    uint64_t s;
} hs_rng;

/* The stream of `seed`: two streams with the same seed give the same numbers. */
static inline hs_rng hs_rng_seed(uint64_t seed)
{
    return (hs_rng){seed};
}

/* The next 64 random bits (splitmix64). */
uint64_t hs_rng_u64(hs_rng *r);
/* Uniform in [0, n) for n > 0 (multiply-shift: bias below 2^-32 for n < 2^32). */
uint32_t hs_rng_below(hs_rng *r, uint32_t n);
/* A standard normal sample (Box-Muller on two 53-bit uniforms; one sample per call). */
float hs_rng_normal(hs_rng *r);

#endif
