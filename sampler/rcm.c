/* rcm.c — one step of TurboDiffusion's rCM few-step sampler (the loop in
 * turbodiffusion/inference/wan2.1_t2v_infer.py), written from its behaviour:
 *   x_{i+1} = (1 - sigma_{i+1}) (x_i - sigma_i v_i) + sigma_{i+1} eps_i
 * with eps_i fresh standard-normal noise each step (none needed when sigma_{i+1} = 0).
 * x_i - sigma_i v_i is the x0 prediction; the step re-noises it to sigma_{i+1}.
 * The reference keeps x in float64 and promotes v and eps (float32 / bf16) to float64;
 * the expression is evaluated in its operation order here.
 * Checked by tests/test_sampler.c against tools/gen_rcm_goldens.py (<= 1e-6). */
#include "solver_impl.h"

void smp_rcm_step(smp_state *st, const smp_schedule *sch, int i) {
    const double t_cur = sch->sigma[i], t_next = sch->sigma[i + 1];
    const double keep = 1.0 - t_next;
    const int64_t n = st->n;
    double *x = st->x;
    const float *v = st->v, *eps = st->noise;
    if (eps && t_next != 0.0) {
#pragma omp parallel for schedule(static) if (n >= SMP_OMP_MIN_ELEMS)
        for (int64_t j = 0; j < n; j++) {
            double a = keep * (x[j] - t_cur * (double)v[j]);
            double b = t_next * (double)eps[j];
            x[j] = a + b;
        }
    } else {
#pragma omp parallel for schedule(static) if (n >= SMP_OMP_MIN_ELEMS)
        for (int64_t j = 0; j < n; j++) x[j] = keep * (x[j] - t_cur * (double)v[j]);
    }
}
