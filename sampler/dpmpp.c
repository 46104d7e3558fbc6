/* dpmpp.c — one step of Wan's 'dpm++' solver (FlowDPMSolverMultistepScheduler in
 * wan/utils/fm_solvers.py with its defaults: algorithm_type dpmsolver++,
 * solver_order 2, solver_type midpoint, lower_order_final, final_sigmas_type zero,
 * flow_prediction).
 *
 * Notation: alpha = 1 - sigma, lambda = log(alpha) - log(sigma), m_i = x_i - sigma_i v_i.
 * Step i (h = lambda_{i+1} - lambda_i, E = expm1(-h) = exp(-h) - 1):
 *   order 1 (i = 0, and the last step i = S-1 because the final sigma is 0):
 *     x_{i+1} = (sigma_{i+1} / sigma_i) x_i - alpha_{i+1} E m_i
 *   order 2 (0 < i < S-1), h_0 = lambda_i - lambda_{i-1}, r_0 = h_0 / h,
 *     D_1 = (m_i - m_{i-1}) / r_0:
 *     x_{i+1} = (sigma_{i+1} / sigma_i) x_i - alpha_{i+1} E m_i - 1/2 alpha_{i+1} E D_1
 * Ends, where the reference relies on IEEE infinities, are special-cased:
 *   sigma_{i+1} = 0 (lambda = +inf, E = -1):        x_{i+1} = m_i
 *   sigma_i = 1 (Wan's dpm++ schedule starts there; lambda_i = -inf, E = -1):
 *                                                   x_{i+1} = sigma_{i+1} x_i + alpha_{i+1} m_i
 *   sigma_{i-1} = 1 (h_0 = inf, r_0 = inf):         D_1 = 0
 * The reference works in float32 (it casts the sample to float32); here the state is double.
 * Checked by tests/test_sampler.c. */
#include "solver_impl.h"

#include <math.h> /* expm1 */

void smp_dpmpp_step(smp_state *st, const smp_schedule *sch, int i) {
    const int S = sch->steps;
    const double *sg = sch->sigma;
    const double s_i = sg[i], s_n = sg[i + 1];
    const int order = (i == 0 || i == S - 1) ? 1 : 2;
    const int final = s_n == 0.0;

    /* x_{i+1} = cx x - cm m - cd (m - m1) */
    double cx = 0, cm = 0, cd = 0;
    if (!final) {
        const double a_n = 1.0 - s_n;
        double E;
        if (s_i >= 1.0) {
            E = -1.0;
            cx = s_n;
        } else {
            E = expm1(-(smp_lambda(s_n) - smp_lambda(s_i)));
            cx = s_n / s_i;
        }
        cm = a_n * E;
        if (order == 2 && sg[i - 1] < 1.0) {
            const double h = smp_lambda(s_n) - smp_lambda(s_i);
            const double r0 = (smp_lambda(s_i) - smp_lambda(sg[i - 1])) / h;
            cd = 0.5 * a_n * E / r0;
        }
    }

    const int64_t n = st->n;
    double *x = st->x, *m1 = st->m1;
    const float *v = st->v;
#pragma omp parallel for schedule(static) if (n >= SMP_OMP_MIN_ELEMS)
    for (int64_t j = 0; j < n; j++) {
        const double m = x[j] - s_i * (double)v[j];
        x[j] = final ? m : cx * x[j] - cm * m - cd * (m - m1[j]);
        m1[j] = m;
    }
}
