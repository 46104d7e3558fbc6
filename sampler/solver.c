/* solver.c — the denoising loop (smp_sample), solver names, and the schedule
 * each solver pairs with.  Per-step math lives in unipc.c, euler.c, dpmpp.c, rcm.c.
 *
 * Loop, for i = 0..S-1 (as wan/text2video.py):  v = model(x_i, timestep_i);
 * x_{i+1} = solver step.  The state is double; the model sees float(x_i).
 * Checked by tests/test_sampler.c (reference trajectories, analytic ODE, errors).
 */
#include "solver.h"

#include <math.h>   /* isfinite */
#include <stdint.h> /* int64_t, SIZE_MAX */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp */

#include "../dit/rng.h"   /* dit_rng, dit_rng_fill_normal */
#include "solver_impl.h" /* smp_state, step functions */
#include "../dit/clock.h" /* dit_now_ms */

const char *smp_solver_name(smp_solver s) {
    switch (s) {
    case SMP_SOLVER_UNIPC: return "unipc";
    case SMP_SOLVER_EULER: return "euler";
    case SMP_SOLVER_DPMPP_2M: return "dpm++";
    case SMP_SOLVER_RCM: return "rcm";
    case SMP_SOLVER_COUNT: break;
    }
    return "?";
}

int smp_solver_is_stochastic(smp_solver s) { return s == SMP_SOLVER_RCM; }

dit_status smp_noise_rng(void *rng, int step, float *out, size_t n, dit_err *err) {
    (void)step;
    if (!rng || !out) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "sampler noise: rng or output is NULL");
    dit_rng_fill_normal((dit_rng *)rng, out, n, 1.0f);
    return DIT_OK;
}

dit_status smp_solver_parse(const char *name, smp_solver *out, dit_err *err) {
    if (!name || !out) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "solver name or output is NULL");
    if (!strcmp(name, "unipc")) {
        *out = SMP_SOLVER_UNIPC;
    } else if (!strcmp(name, "euler")) {
        *out = SMP_SOLVER_EULER;
    } else if (!strcmp(name, "dpm++") || !strcmp(name, "dpmpp") || !strcmp(name, "dpm++2m")) {
        *out = SMP_SOLVER_DPMPP_2M;
    } else if (!strcmp(name, "rcm")) {
        *out = SMP_SOLVER_RCM;
    } else {
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "solver '%s' unknown, expected unipc, euler, dpm++ or rcm", name);
    }
    return DIT_OK;
}

smp_schedule_kind smp_solver_default_schedule(smp_solver s) {
    switch (s) {
    case SMP_SOLVER_EULER: return SMP_SCHEDULE_DIFFUSERS_EULER;
    case SMP_SOLVER_DPMPP_2M: return SMP_SCHEDULE_WAN_DPMPP;
    case SMP_SOLVER_RCM: return SMP_SCHEDULE_RCM;
    case SMP_SOLVER_UNIPC:
    case SMP_SOLVER_COUNT: break;
    }
    return SMP_SCHEDULE_WAN_UNIPC;
}

dit_status smp_schedule_for_solver(smp_solver s, int steps, double shift, smp_schedule *out, dit_err *err) {
    if ((int)s < 0 || s >= SMP_SOLVER_COUNT)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "solver %d unknown, expected 0..%d", (int)s,
                        (int)SMP_SOLVER_COUNT - 1);
    return smp_schedule_make(smp_solver_default_schedule(s), steps, shift, out, err);
}

/* Number of double arrays of n elements each solver keeps. */
static int state_arrays(smp_solver s) {
    switch (s) {
    case SMP_SOLVER_UNIPC: return 4; /* x, last, m1, m2 */
    case SMP_SOLVER_DPMPP_2M: return 2; /* x, m1 */
    case SMP_SOLVER_EULER:
    case SMP_SOLVER_RCM:
    case SMP_SOLVER_COUNT: break;
    }
    return 1; /* x */
}

dit_status smp_sample(smp_solver s, const smp_schedule *sch, float *x, size_t n, smp_model_fn model, void *user,
                      smp_progress_fn progress, void *puser, dit_err *err) {
    return smp_sample_with_noise(s, sch, x, n, model, user, NULL, NULL, progress, puser, err);
}

dit_status smp_sample_with_noise(smp_solver s, const smp_schedule *sch, float *x, size_t n, smp_model_fn model,
                                 void *user, smp_noise_fn noise, void *nuser, smp_progress_fn progress, void *puser,
                                 dit_err *err) {
    if ((int)s < 0 || s >= SMP_SOLVER_COUNT)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "sampler: solver %d unknown, expected 0..%d", (int)s,
                        (int)SMP_SOLVER_COUNT - 1);
    if (!x || !model)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "sampler: latent x or model callback is NULL");
    if (n == 0) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "sampler: latent has 0 elements, expected >= 1");
    if (smp_schedule_check(sch, err) != DIT_OK) return dit_err_wrap(err, "sampler (%s)", smp_solver_name(s));
    if (s == SMP_SOLVER_UNIPC && !(sch->sigma[0] < 1.0))
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                        "sampler (unipc): sigma[0] = %.9g, expected < 1 (UniPC takes log(1 - sigma); the Wan "
                        "schedule starts at 0.999, diffusers' at 1 - 1e-6)",
                        sch->sigma[0]);
    const int stoch = smp_solver_is_stochastic(s);
    if (stoch && !noise)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                        "sampler (%s): draws fresh noise every step, expected a noise callback "
                        "(smp_sample_with_noise)",
                        smp_solver_name(s));
    const int narr = state_arrays(s);
    if (n > (SIZE_MAX / sizeof(double)) / (size_t)narr || n > (size_t)INT64_MAX)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "sampler: latent of %zu elements is too large", n);

    double *mem = calloc((size_t)narr * n, sizeof(double));
    float *v = malloc((stoch ? 2 : 1) * n * sizeof(float));
    if (!mem || !v) {
        free(mem), free(v);
        return DIT_FAIL(err, DIT_ERR_OOM, "sampler (%s): cannot allocate %zu bytes of solver state",
                        smp_solver_name(s), (size_t)narr * n * sizeof(double) + (stoch ? 2 : 1) * n * sizeof(float));
    }
    float *eps = stoch ? v + n : NULL;
    smp_state st = {.n = (int64_t)n, .x = mem, .v = v, .prev_order = 0};
    if (narr >= 2) st.m1 = mem + n;
    if (narr >= 4) st.last = mem + 2 * n, st.m2 = mem + 3 * n;
    if (s == SMP_SOLVER_RCM) { /* init_noise.to(float64) * t_steps[0]; the model sees float of that */
        const double s0 = sch->sigma[0];
        for (size_t j = 0; j < n; j++) st.x[j] = (double)x[j] * s0, x[j] = (float)st.x[j];
    } else {
        for (size_t j = 0; j < n; j++) st.x[j] = (double)x[j];
    }

    dit_status rc = DIT_OK;
    const int S = sch->steps;
    for (int i = 0; i < S; i++) {
        double t0 = dit_now_ms();
        if (i > 0)
            for (size_t j = 0; j < n; j++) x[j] = (float)st.x[j];
        rc = model(user, x, sch->timestep[i], sch->sigma[i], i, v, err);
        if (rc != DIT_OK) {
            dit_err_wrap(err, "sampler (%s) step %d/%d at timestep %g", smp_solver_name(s), i + 1, S,
                         sch->timestep[i]);
            break;
        }
        for (size_t j = 0; j < n; j++)
            if (!isfinite(v[j])) {
                rc = DIT_FAIL(err, DIT_ERR_INTERNAL,
                              "sampler (%s) step %d/%d at timestep %g: the model returned velocity[%zu] = %g, "
                              "expected a finite value",
                              smp_solver_name(s), i + 1, S, sch->timestep[i], j, (double)v[j]);
                break;
            }
        if (rc != DIT_OK) break;
        st.noise = NULL;
        if (stoch && sch->sigma[i + 1] > 0.0) {
            rc = noise(nuser, i, eps, n, err);
            if (rc != DIT_OK) {
                dit_err_wrap(err, "sampler (%s) step %d/%d: drawing the step noise", smp_solver_name(s), i + 1, S);
                break;
            }
            st.noise = eps;
        }
        switch (s) {
        case SMP_SOLVER_UNIPC: smp_unipc_step(&st, sch, i); break;
        case SMP_SOLVER_EULER: smp_euler_step(&st, sch, i); break;
        case SMP_SOLVER_DPMPP_2M: smp_dpmpp_step(&st, sch, i); break;
        case SMP_SOLVER_RCM: smp_rcm_step(&st, sch, i); break;
        case SMP_SOLVER_COUNT: break;
        }
        if (progress) progress(puser, i + 1, S, dit_now_ms() - t0);
    }
    if (rc == DIT_OK)
        for (size_t j = 0; j < n; j++) x[j] = (float)st.x[j];
    free(mem);
    free(v);
    return rc;
}
