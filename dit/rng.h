/* rng.h — a small deterministic RNG (xoshiro256**, seeded by splitmix64) with
 * uniform and standard-normal draws.  Same seed, same numbers on every machine. */
#ifndef SPADIT_RNG_H
#define SPADIT_RNG_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

typedef struct dit_rng {
    uint64_t s[4];
    int has_spare;
    double spare;
} dit_rng;

void dit_rng_seed(dit_rng *r, uint64_t seed);
uint64_t dit_rng_u64(dit_rng *r);
double dit_rng_uniform(dit_rng *r);   /* [0, 1) */
double dit_rng_normal(dit_rng *r);    /* N(0, 1), Box-Muller */
void dit_rng_fill_normal(dit_rng *r, float *x, size_t n, float stddev);
void dit_rng_fill_uniform(dit_rng *r, float *x, size_t n, float lo, float hi);

#endif
