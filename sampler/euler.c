/* euler.c — one step of the flow-match Euler solver, as diffusers'
 * FlowMatchEulerDiscreteScheduler.step (stochastic_sampling off):
 *   x_{i+1} = x_i + (sigma_{i+1} - sigma_i) v_i
 * The reference does this in float32; here the state is double.
 * Checked by tests/test_sampler.c (diffusers trajectories, analytic linear ODE). */
#include "solver_impl.h"

void smp_euler_step(smp_state *st, const smp_schedule *sch, int i) {
    const double dt = sch->sigma[i + 1] - sch->sigma[i];
    const int64_t n = st->n;
    double *x = st->x;
    const float *v = st->v;
#pragma omp parallel for schedule(static) if (n >= SMP_OMP_MIN_ELEMS)
    for (int64_t j = 0; j < n; j++) x[j] += dt * (double)v[j];
}
