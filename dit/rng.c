/* rng.c — xoshiro256** with Box-Muller normals (see rng.h). */
#include "rng.h"

#include <math.h> /* log, sqrt, cos, sin */

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void dit_rng_seed(dit_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&x);
    r->has_spare = 0;
    r->spare = 0;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t dit_rng_u64(dit_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double dit_rng_uniform(dit_rng *r) { return (double)(dit_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

double dit_rng_normal(dit_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = dit_rng_uniform(r), u2 = dit_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
    r->spare = rad * sin(th);
    r->has_spare = 1;
    return rad * cos(th);
}

void dit_rng_fill_normal(dit_rng *r, float *x, size_t n, float stddev) {
    for (size_t i = 0; i < n; i++) x[i] = (float)dit_rng_normal(r) * stddev;
}

void dit_rng_fill_uniform(dit_rng *r, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)dit_rng_uniform(r);
}
