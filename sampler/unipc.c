/* unipc.c — one step of FlowUniPC exactly as the Wan reference
 * (wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.step) with its
 * settings: solver_type bh2, solver_order 2, predict_x0, lower_order_final,
 * corrector on for every step > 0, flow_prediction.
 *
 * Notation (step i = 0..S-1, sigma_S = 0):  alpha = 1 - sigma,
 *   lambda_i = log(alpha_i) - log(sigma_i),  m_i = x_i - sigma_i v_i  (x0 prediction).
 * Step i, given v_i at the predicted x_i:
 *   1. corrector (UniC, i >= 1, order p_{i-1} of the previous predictor), with
 *      h = lambda_i - lambda_{i-1}, hh = -h, phi = B = expm1(hh):
 *        x_i <- (sigma_i / sigma_{i-1}) xc_{i-1} - alpha_i phi m_{i-1}
 *               - alpha_i B (rho_0 D + rho_1 (m_i - m_{i-1}))
 *      order 1: rho_1 = 1/2, no D term;
 *      order 2: r = (lambda_{i-2} - lambda_{i-1}) / h, D = (m_{i-2} - m_{i-1}) / r,
 *               [[1, 1], [r, 1]] (rho_0, rho_1) = (b_1, b_2),
 *               b_1 = g_1 / B, b_2 = 2 g_2 / B, g_1 = phi / hh - 1, g_2 = g_1 / hh - 1/2.
 *      m_i itself stays the prediction at the uncorrected x_i (as the reference).
 *   2. predictor (UniP) of order p_i = min(2, S - i, i + 1), from the corrected xc_i,
 *      with h = lambda_{i+1} - lambda_i, hh = -h, phi = B = expm1(hh):
 *        x_{i+1} = (sigma_{i+1} / sigma_i) xc_i - alpha_{i+1} phi m_i
 *                  [order 2: - alpha_{i+1} B 1/2 (m_{i-1} - m_i) / r, r = (lambda_{i-1} - lambda_i) / h]
 *      last step (sigma_{i+1} = 0: lambda = inf, phi = -1): x_S = m_{S-1}, special-cased.
 * The reference evaluates the coefficients in float32 from float32 sigmas; here they
 * are double from the same sigmas, the state is double.  Checked by tests/test_sampler.c.
 */
#include "solver_impl.h"

#include <math.h> /* expm1 */

void smp_unipc_step(smp_state *st, const smp_schedule *sch, int i) {
    const int S = sch->steps;
    const double *sg = sch->sigma;
    const double s_i = sg[i], s_n = sg[i + 1];
    const double lam_i = smp_lambda(s_i);

    /* corrector coefficients: xc = cx last - cm1 m1 - cd2 (m2 - m1) - cd (m - m1) */
    const int corr = i >= 1, corr2 = corr && st->prev_order == 2;
    double cx = 0, cm1 = 0, cd = 0, cd2 = 0;
    if (corr) {
        const double s_p = sg[i - 1], a_i = 1.0 - s_i;
        const double lam_p = smp_lambda(s_p);
        const double h = lam_i - lam_p, hh = -h;
        const double phi = expm1(hh), Bh = phi;
        cx = s_i / s_p;
        cm1 = a_i * phi;
        if (!corr2) {
            cd = a_i * Bh * 0.5;
        } else {
            const double r = (smp_lambda(sg[i - 2]) - lam_p) / h;
            const double g1 = phi / hh - 1.0, g2 = g1 / hh - 0.5;
            const double b1 = g1 / Bh, b2 = g2 * 2.0 / Bh;
            /* [[1, 1], [r, 1]] rho = b; r < 0 here, so 1 - r > 1 */
            const double rho0 = (b1 - b2) / (1.0 - r), rho1 = b1 - rho0;
            cd2 = a_i * Bh * rho0 / r;
            cd = a_i * Bh * rho1;
        }
    }

    /* predictor coefficients: x_{i+1} = px xc - pm m - pd (m1 - m) */
    int order = S - i < 2 ? S - i : 2;
    if (order > i + 1) order = i + 1;
    const int final = s_n == 0.0;
    double px = 0, pm = 0, pd = 0;
    if (!final) {
        const double a_n = 1.0 - s_n;
        const double h = smp_lambda(s_n) - lam_i, hh = -h;
        const double phi = expm1(hh), Bh = phi;
        px = s_n / s_i;
        pm = a_n * phi;
        if (order == 2) {
            const double r = (smp_lambda(sg[i - 1]) - lam_i) / h;
            pd = a_n * Bh * 0.5 / r;
        }
    }

    const int64_t n = st->n;
    double *x = st->x, *last = st->last, *m1 = st->m1, *m2 = st->m2;
    const float *v = st->v;
#pragma omp parallel for schedule(static) if (n >= SMP_OMP_MIN_ELEMS)
    for (int64_t j = 0; j < n; j++) {
        const double xi = x[j];
        const double m = xi - s_i * (double)v[j];
        double xc = xi;
        if (corr) {
            const double p1 = m1[j];
            xc = cx * last[j] - cm1 * p1 - cd * (m - p1);
            if (corr2) xc -= cd2 * (m2[j] - p1);
        }
        double xn;
        if (final)
            xn = m;
        else if (order == 2)
            xn = px * xc - pm * m - pd * (m1[j] - m);
        else
            xn = px * xc - pm * m;
        last[j] = xc;
        m2[j] = m1[j];
        m1[j] = m;
        x[j] = xn;
    }
    st->prev_order = order;
}
