/* solver_impl.h — internal to sampler/: the solver state shared by solver.c (the
 * loop) and the per-solver step functions (unipc.c, euler.c, dpmpp.c, rcm.c).
 *
 * One step function advances the state from x_i (the latent the model was just
 * evaluated at, velocity v) to x_{i+1}.  All per-element work is a single pass
 * over n; the scalar coefficients are computed once per step in double.
 * Checked through smp_sample by tests/test_sampler.c.
 */
#ifndef SPADIT_SMP_SOLVER_IMPL_H
#define SPADIT_SMP_SOLVER_IMPL_H

#include <math.h>   /* log, INFINITY */
#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t */

#include "schedule.h" /* smp_schedule */

/* Vectorise/parallelise element loops only when they are large enough to pay. */
#define SMP_OMP_MIN_ELEMS 65536

typedef struct smp_state {
    int64_t n;
    double *x;      /* [n] x_i: the latent the model is evaluated at; receives x_{i+1} */
    double *last;   /* [n] UniPC: corrected x_{i-1} (the previous predictor's start point) */
    double *m1;     /* [n] UniPC, DPM++: data prediction m_{i-1} = x_{i-1} - sigma_{i-1} v_{i-1} */
    double *m2;     /* [n] UniPC: m_{i-2} */
    const float *v; /* [n] velocity at x_i */
    const float *noise; /* [n] rCM: fresh N(0, 1) noise for this step (NULL when sigma_{i+1} = 0) */
    int prev_order; /* UniPC: order of the predictor at step i-1 (the corrector reuses it) */
} smp_state;

/* lambda(sigma) = log(alpha) - log(sigma) with alpha = 1 - sigma, as the reference
 * computes it; -inf at sigma = 1, +inf at sigma = 0 (callers special-case both). */
static inline double smp_lambda(double sigma) {
    if (sigma >= 1.0) return -INFINITY;
    if (sigma <= 0.0) return INFINITY;
    return log(1.0 - sigma) - log(sigma);
}

void smp_unipc_step(smp_state *st, const smp_schedule *sch, int i);
void smp_euler_step(smp_state *st, const smp_schedule *sch, int i);
void smp_dpmpp_step(smp_state *st, const smp_schedule *sch, int i);
void smp_rcm_step(smp_state *st, const smp_schedule *sch, int i);

#endif
