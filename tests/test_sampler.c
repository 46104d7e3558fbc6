/* test_sampler.c — schedules, solvers and CFG of sampler/ against the reference
 * Python schedulers and an analytic ODE.
 *
 * 1. Schedules (tests/data/sampler_golden.safetensors, from tools/gen_sampler_goldens.py):
 *    Wan unipc, Wan dpm++, diffusers FlowMatchEuler and diffusers UniPC for
 *    (S, shift) = (50, 5), (20, 3), (7, 1): timesteps equal, sigmas within 1e-12 relative.
 * 2. Trajectories on the toy field v = a(t) x + B tanh(x) + c(t) sin(K j + PHI): every
 *    latent the model sees and the final x0 within 1e-6 relative L2 of the float64
 *    reference run; final x0 within 2e-6 of the reference as it runs in float32.
 * 3. Oracle: Gaussian data N(mu, s^2) per element makes the flow ODE linear with a
 *    closed-form solution (independent of the goldens): UniPC with 1000 Wan steps reaches
 *    x0 within 2e-6; on lambda-uniform steps the observed orders are 3 / 2 / 1
 *    (UniPC / DPM++ / Euler); a point mass is hit exactly by every solver.
 * 4. The parallel element loop (n = 70000) equals the serial one on shared elements.
 * 5. Argument / model errors, progress, CFG combine and adapter, the negative prompt bytes.
 */
#include "../dit/rng.h"         /* dit_rng: oracle noise and data */
#include "../io/safetensors.h"  /* golden file */
#include "../sampler/cfg.h"     /* smp_cfg_*, smp_wan_negative_prompt */
#include "../sampler/solver.h"  /* smp_sample, schedules */
#include "test_util.h"          /* CHECK, rel_l2, test_summary */

#include <stdint.h> /* int64_t */

/* ---- golden access ---- */

static const io_st_tensor *need(const io_safetensors *io, const char *name, io_st_dtype dt, int64_t numel) {
    const io_st_tensor *t = io_safetensors_find(io, name);
    CHECK(t != NULL, "golden tensor %s missing", name);
    if (!t) return NULL;
    CHECK(t->dtype == dt && io_st_tensor_numel(t) == numel, "golden %s: dtype %s numel %lld, expected %s %lld",
          name, io_st_dtype_name(t->dtype), (long long)io_st_tensor_numel(t), io_st_dtype_name(dt),
          (long long)numel);
    return t->dtype == dt && io_st_tensor_numel(t) == numel ? t : NULL;
}

static int read_f64(const io_safetensors *io, const char *name, double *dst, int64_t numel) {
    const io_st_tensor *t = need(io, name, IO_ST_F64, numel);
    if (!t) return 0;
    memcpy(dst, t->data, (size_t)numel * sizeof(double));
    return 1;
}

static double rel_l2_d(const double *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) return INFINITY;
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* ---- the toy model (same constants as tools/gen_sampler_goldens.py) ---- */

#define TOY_N 256
#define TOY_STRIDE 4
#define TOY_SUB (TOY_N / TOY_STRIDE)

typedef struct toy_ctx {
    const smp_schedule *sch;
    double *states; /* [(S+1) * TOY_SUB]: every latent the model sees, subset */
    int calls, bad_args;
} toy_ctx;

static void toy_field(const float *x, size_t n, double timestep, float *v) {
    double tau = timestep / 1000.0;
    double a = -0.6 + 0.4 * cos(2.5 * tau), c = 0.8 * tau * tau - 0.3;
    for (size_t j = 0; j < n; j++)
        v[j] = (float)(a * x[j] + 0.35 * tanh((double)x[j]) + c * sin(0.37 * (double)j + 0.5));
}

static dit_status toy_model(void *user, const float *x, double timestep, double sigma, int step, float *v,
                            dit_err *err) {
    toy_ctx *c = user;
    (void)err;
    if (step != c->calls || timestep != c->sch->timestep[step] || sigma != c->sch->sigma[step]) c->bad_args++;
    for (int j = 0; j < TOY_SUB; j++) c->states[(size_t)step * TOY_SUB + j] = x[j * TOY_STRIDE];
    c->calls++;
    toy_field(x, TOY_N, timestep, v);
    return DIT_OK;
}

typedef struct ref_case {
    const char *key;
    smp_schedule_kind kind;
    smp_solver solver;
} ref_case;

static const ref_case CASES[] = {
    {"wan_unipc", SMP_SCHEDULE_WAN_UNIPC, SMP_SOLVER_UNIPC},
    {"wan_dpmpp", SMP_SCHEDULE_WAN_DPMPP, SMP_SOLVER_DPMPP_2M},
    {"euler", SMP_SCHEDULE_DIFFUSERS_EULER, SMP_SOLVER_EULER},
    {"diffusers_unipc", SMP_SCHEDULE_DIFFUSERS_UNIPC, SMP_SOLVER_UNIPC},
};
#define NCASES (int)(sizeof CASES / sizeof CASES[0])

static void test_golden(const io_safetensors *io) {
    double settings[6];
    if (!read_f64(io, "settings", settings, 6)) return;
    double worst_sig = 0, worst_traj = 0, worst_x0 = 0, worst_f32 = 0;
    static double ref[(SMP_MAX_STEPS + 1) * TOY_SUB], got[(SMP_MAX_STEPS + 1) * TOY_SUB];
    float x0_unipc_wan[TOY_N] = {0};
    for (int si = 0; si < 3; si++) {
        int S = (int)settings[2 * si];
        double shift = settings[2 * si + 1];
        char name[128];
        double noise[TOY_N];
        snprintf(name, sizeof name, "noise_S%d", S);
        if (!read_f64(io, name, noise, TOY_N)) continue;
        for (int k = 0; k < NCASES; k++) {
            const ref_case *rc = &CASES[k];
            dit_err err = {0};
            smp_schedule sch;
            if (smp_schedule_make(rc->kind, S, shift, &sch, &err) != DIT_OK) {
                CHECK(0, "%s S=%d: %s", rc->key, S, err.msg);
                continue;
            }
            /* schedule: timesteps equal, sigmas within 1e-12 relative */
            double sig[SMP_MAX_STEPS + 1], t[SMP_MAX_STEPS];
            snprintf(name, sizeof name, "%s_S%d_sigma", rc->key, S);
            int ok = read_f64(io, name, sig, S + 1);
            snprintf(name, sizeof name, "%s_S%d_t", rc->key, S);
            ok = ok && read_f64(io, name, t, S);
            if (!ok) continue;
            int t_bad = 0, sig_bad = 0;
            for (int i = 0; i < S; i++) {
                if (sch.timestep[i] != t[i]) {
                    if (!t_bad) printf("  %s S=%d: timestep[%d] = %.9g, reference %.9g\n", rc->key, S, i,
                                       sch.timestep[i], t[i]);
                    t_bad++;
                }
                if (rc->kind != SMP_SCHEDULE_DIFFUSERS_EULER && t[i] != floor(t[i])) t_bad++;
            }
            for (int i = 0; i <= S; i++) {
                double e = sig[i] == 0 ? fabs(sch.sigma[i]) : fabs(sch.sigma[i] - sig[i]) / fabs(sig[i]);
                if (e > worst_sig) worst_sig = e;
                if (e > 1e-12) sig_bad++;
            }
            CHECK(t_bad == 0, "%s S=%d shift %g: %d timesteps differ from the reference", rc->key, S, shift, t_bad);
            CHECK(sig_bad == 0, "%s S=%d shift %g: %d sigmas off by > 1e-12", rc->key, S, shift, sig_bad);

            /* trajectory */
            float x[TOY_N];
            for (int j = 0; j < TOY_N; j++) x[j] = (float)noise[j];
            toy_ctx ctx = {.sch = &sch, .states = got};
            dit_status st = smp_sample(rc->solver, &sch, x, TOY_N, toy_model, &ctx, NULL, NULL, &err);
            CHECK(st == DIT_OK, "%s S=%d: smp_sample: %s", rc->key, S, err.msg);
            CHECK(ctx.calls == S && ctx.bad_args == 0, "%s S=%d: %d model calls (expected %d), %d with wrong "
                  "step/timestep/sigma", rc->key, S, ctx.calls, S, ctx.bad_args);
            for (int j = 0; j < TOY_SUB; j++) got[(size_t)S * TOY_SUB + j] = x[j * TOY_STRIDE];
            snprintf(name, sizeof name, "%s_S%d_traj", rc->key, S);
            if (!read_f64(io, name, ref, (int64_t)(S + 1) * TOY_SUB)) continue;
            double wt = 0;
            int wi = 0;
            for (int i = 0; i <= S; i++) {
                double e = rel_l2_d(got + (size_t)i * TOY_SUB, ref + (size_t)i * TOY_SUB, TOY_SUB);
                if (e > wt) wt = e, wi = i;
            }
            CHECK(wt <= 1e-6, "%s S=%d: trajectory state %d off by rel L2 %.3e > 1e-6", rc->key, S, wi, wt);
            double x0ref[TOY_N], x0got[TOY_N];
            snprintf(name, sizeof name, "%s_S%d_x0", rc->key, S);
            if (!read_f64(io, name, x0ref, TOY_N)) continue;
            for (int j = 0; j < TOY_N; j++) x0got[j] = x[j];
            double e0 = rel_l2_d(x0got, x0ref, TOY_N);
            CHECK(e0 <= 1e-6, "%s S=%d: x0 off by rel L2 %.3e > 1e-6", rc->key, S, e0);
            snprintf(name, sizeof name, "%s_S%d_x0_f32", rc->key, S);
            const io_st_tensor *tf = need(io, name, IO_ST_F32, TOY_N);
            double ef = INFINITY;
            if (tf) {
                float r32[TOY_N];
                memcpy(r32, tf->data, sizeof r32);
                ef = rel_l2(x, r32, TOY_N);
            }
            CHECK(ef <= 2e-6, "%s S=%d: x0 vs the float32 reference run: rel L2 %.3e > 2e-6", rc->key, S, ef);
            printf("  %-16s S=%2d shift %g: t[0..2] = %g %g %g, worst state rel %.2e, x0 rel %.2e (f32 ref %.2e)\n",
                   rc->key, S, shift, sch.timestep[0], S > 1 ? sch.timestep[1] : 0.0, S > 2 ? sch.timestep[2] : 0.0,
                   wt, e0, ef);
            if (wt > worst_traj) worst_traj = wt;
            if (e0 > worst_x0) worst_x0 = e0;
            if (ef > worst_f32) worst_f32 = ef;
            if (k == 0 && S == 50) memcpy(x0_unipc_wan, x, sizeof x);
            if (k == 3 && S == 50) {
                /* discrimination: the two UniPC schedules must give visibly different results */
                double d = rel_l2(x, x0_unipc_wan, TOY_N);
                CHECK(d > 1e-4, "wan vs diffusers UniPC S=50: x0 differ by only %.3e", d);
                printf("  wan vs diffusers UniPC schedule, S=50 shift 5: x0 differ by rel %.2e\n", d);
            }
        }
    }
    printf("golden: worst sigma rel %.2e, worst state rel %.2e, worst x0 rel %.2e, worst vs f32 ref %.2e\n",
           worst_sig, worst_traj, worst_x0, worst_f32);
}

/* ---- the OpenMP path (n >= SMP_OMP_MIN_ELEMS) gives the same numbers, element for element ---- */

typedef struct big_ctx {
    size_t n;
} big_ctx;

static dit_status toy_big(void *user, const float *x, double timestep, double sigma, int step, float *v,
                          dit_err *err) {
    (void)sigma, (void)step, (void)err;
    toy_field(x, ((big_ctx *)user)->n, timestep, v);
    return DIT_OK;
}

static void test_large(void) {
    const size_t n = 70000;
    float *big = malloc(n * sizeof(float)), small[TOY_N];
    if (!big) return;
    dit_rng rng;
    dit_rng_seed(&rng, 11);
    dit_rng_fill_normal(&rng, big, n, 1.0f);
    memcpy(small, big, sizeof small);
    for (int sv = 0; sv < SMP_SOLVER_COUNT; sv++) {
        if (smp_solver_is_stochastic((smp_solver)sv)) continue; /* rCM: tests/test_sampler_rcm.c */
        smp_schedule sch;
        dit_err err = {0};
        float b2[TOY_N];
        memcpy(b2, small, sizeof b2);
        float *bx = malloc(n * sizeof(float));
        if (!bx) break;
        memcpy(bx, big, n * sizeof(float));
        big_ctx cs = {TOY_N}, cb = {n};
        smp_schedule_for_solver((smp_solver)sv, 20, 3.0, &sch, &err);
        dit_status a = smp_sample((smp_solver)sv, &sch, b2, TOY_N, toy_big, &cs, NULL, NULL, &err);
        dit_status b = smp_sample((smp_solver)sv, &sch, bx, n, toy_big, &cb, NULL, NULL, &err);
        CHECK(a == DIT_OK && b == DIT_OK && memcmp(b2, bx, sizeof b2) == 0,
              "%s: n = %zu differs from n = %d on the shared elements", smp_solver_name((smp_solver)sv), n, TOY_N);
        free(bx);
    }
    free(big);
}

/* ---- analytic oracle: data ~ N(mu_j, s_j^2) ----
 * x_sigma = (1 - sigma) x0 + sigma eps has std d(sigma) = sqrt((1-sigma)^2 s^2 + sigma^2); the
 * exact velocity is v = -mu + d'(sigma)/d(sigma) (x - (1-sigma) mu), linear in x, and the ODE
 * keeps z = (x - (1-sigma) mu) / d(sigma) constant: x(sigma) = (1-sigma) mu + d(sigma) z.
 * Two errors per run: at the last model call (sigma_{S-1}: the multistep integration itself)
 * and at x0 (the last step returns the x0 prediction, which is off the ODE by O(sigma_{S-1}^2)). */

#define ODE_N 64

typedef struct ode_ctx {
    double mu[ODE_N], s[ODE_N];
    float last_x[ODE_N]; /* latent at the latest model call */
    double last_sigma;
} ode_ctx;

static double ode_d(double s, double sigma) {
    return sqrt((1.0 - sigma) * (1.0 - sigma) * s * s + sigma * sigma);
}

static dit_status ode_model(void *user, const float *x, double timestep, double sigma, int step, float *v,
                            dit_err *err) {
    ode_ctx *c = user;
    (void)timestep, (void)step, (void)err;
    for (int j = 0; j < ODE_N; j++) {
        double s2 = c->s[j] * c->s[j], a = 1.0 - sigma;
        double d2 = a * a * s2 + sigma * sigma;
        double k = (sigma - a * s2) / d2;
        v[j] = (float)(-c->mu[j] + k * ((double)x[j] - a * c->mu[j]));
        c->last_x[j] = x[j];
    }
    c->last_sigma = sigma;
    return DIT_OK;
}

/* rel L2 errors (x0, and the state at the last model call) after sampling from fixed noise. */
static double ode_run(ode_ctx *c, smp_solver sv, const smp_schedule *sch, double *e_last) {
    dit_err err = {0};
    float x[ODE_N];
    double z[ODE_N], exact[ODE_N], got[ODE_N];
    double s0 = sch->sigma[0];
    dit_rng rng;
    dit_rng_seed(&rng, 7);
    for (int j = 0; j < ODE_N; j++) {
        x[j] = (float)dit_rng_normal(&rng);
        z[j] = ((double)x[j] - (1.0 - s0) * c->mu[j]) / ode_d(c->s[j], s0);
    }
    if (smp_sample(sv, sch, x, ODE_N, ode_model, c, NULL, NULL, &err) != DIT_OK) {
        printf("  ode: %s\n", err.msg);
        return INFINITY;
    }
    for (int j = 0; j < ODE_N; j++) {
        double sl = c->last_sigma;
        exact[j] = (1.0 - sl) * c->mu[j] + ode_d(c->s[j], sl) * z[j];
        got[j] = c->last_x[j];
    }
    *e_last = rel_l2_d(got, exact, ODE_N);
    for (int j = 0; j < ODE_N; j++) {
        exact[j] = c->mu[j] + c->s[j] * z[j];
        got[j] = x[j];
    }
    return rel_l2_d(got, exact, ODE_N);
}

static double ode_error(ode_ctx *c, smp_solver sv, smp_schedule_kind kind, int steps, double shift, double *e_last) {
    smp_schedule sch;
    dit_err err = {0};
    *e_last = INFINITY;
    if (smp_schedule_make(kind, steps, shift, &sch, &err) != DIT_OK) return INFINITY;
    return ode_run(c, sv, &sch, e_last);
}

/* Steps uniform in lambda = log((1 - sigma) / sigma) over [-3, 5], then sigma = 0: the
 * classical setting for exponential integrators, where the orders show. */
static double ode_error_lambda(ode_ctx *c, smp_solver sv, int steps, double *e_last) {
    smp_schedule sch;
    dit_err err = {0};
    double sig[SMP_MAX_STEPS];
    for (int i = 0; i < steps; i++) sig[i] = 1.0 / (1.0 + exp(-3.0 + 8.0 * i / (steps - 1)));
    *e_last = INFINITY;
    if (smp_schedule_from_sigmas(sig, steps, &sch, &err) != DIT_OK) {
        printf("  ode: %s\n", err.msg);
        return INFINITY;
    }
    return ode_run(c, sv, &sch, e_last);
}

static void test_oracle(void) {
    ode_ctx c;
    dit_rng rng;
    dit_rng_seed(&rng, 3);
    for (int j = 0; j < ODE_N; j++) {
        c.mu[j] = 1.5 * dit_rng_normal(&rng);
        c.s[j] = 0.2 + 0.8 * dit_rng_uniform(&rng);
    }
    const int steps[] = {10, 50, 200, 1000};
    double eu[4], eup[4], ed[4], ee[4], lu[4], lup[4], ld[4], le[4];
    for (int k = 0; k < 4; k++) {
        eu[k] = ode_error(&c, SMP_SOLVER_UNIPC, SMP_SCHEDULE_WAN_UNIPC, steps[k], 1.0, &lu[k]);
        eup[k] = ode_error(&c, SMP_SOLVER_UNIPC, SMP_SCHEDULE_WAN_UNIPC, steps[k], 5.0, &lup[k]);
        ed[k] = ode_error(&c, SMP_SOLVER_DPMPP_2M, SMP_SCHEDULE_WAN_DPMPP, steps[k], 1.0, &ld[k]);
        ee[k] = ode_error(&c, SMP_SOLVER_EULER, SMP_SCHEDULE_DIFFUSERS_EULER, steps[k], 1.0, &le[k]);
        printf("  oracle S=%4d  x(sigma_{S-1}): unipc %.2e (shift 5: %.2e), dpm++ %.2e, euler %.2e\n"
               "                x0:            unipc %.2e (shift 5: %.2e), dpm++ %.2e, euler %.2e\n",
               steps[k], lu[k], lup[k], ld[k], le[k], eu[k], eup[k], ed[k], ee[k]);
    }
    /* Wan schedules start at sigma 0.999, where the first step is long in lambda
     * (h_0 = log(1 + 1000/S)), and end with the O(sigma_{S-1}^2) x0 step: that caps the
     * observed order near 2 for every multistep solver, so check accuracy at many steps. */
    CHECK(eu[3] <= 2e-6 && lu[3] <= 3e-6, "UniPC, 1000 steps: x0 error %.3e > 2e-6 or state error %.3e > 3e-6",
          eu[3], lu[3]);
    CHECK(eup[3] <= 5e-5, "UniPC shift 5, 1000 steps: x0 error %.3e > 5e-5", eup[3]);
    CHECK(ed[3] <= 1e-5, "DPM++, 1000 steps: x0 error %.3e > 1e-5", ed[3]);
    CHECK(ee[3] <= 1e-3, "Euler, 1000 steps: x0 error %.3e > 1e-3", ee[3]);
    CHECK(eu[2] * 8 < eu[1] && ed[2] * 8 < ed[1] && ee[2] * 3 < ee[1] && ee[2] * 6 > ee[1],
          "convergence 50 -> 200 steps: unipc %.2e -> %.2e, dpm++ %.2e -> %.2e, euler %.2e -> %.2e", eu[1], eu[2],
          ed[1], ed[2], ee[1], ee[2]);
    /* lambda-uniform steps: the orders show (UniPC 3 with its corrector, DPM++(2M) 2, Euler 1) */
    const int lsteps[] = {16, 32, 64, 256};
    double lu2[4], ld2[4], le2[4];
    for (int k = 0; k < 4; k++) {
        ode_error_lambda(&c, SMP_SOLVER_UNIPC, lsteps[k], &lu2[k]);
        ode_error_lambda(&c, SMP_SOLVER_DPMPP_2M, lsteps[k], &ld2[k]);
        ode_error_lambda(&c, SMP_SOLVER_EULER, lsteps[k], &le2[k]);
        printf("  oracle lambda-uniform S=%3d x(sigma_{S-1}): unipc %.2e, dpm++ %.2e, euler %.2e\n", lsteps[k],
               lu2[k], ld2[k], le2[k]);
    }
    for (int k = 0; k < 2; k++) {
        double ru = lu2[k] / lu2[k + 1], rd = ld2[k] / ld2[k + 1], re = le2[k] / le2[k + 1];
        CHECK(ru >= 6.0, "UniPC order: error ratio %.2f for %d -> %d steps, expected ~8", ru, lsteps[k],
              lsteps[k + 1]);
        CHECK(rd >= 3.0 && rd <= 5.5, "DPM++ order: error ratio %.2f for %d -> %d steps, expected ~4", rd, lsteps[k],
              lsteps[k + 1]);
        CHECK(re >= 1.6 && re <= 2.5, "Euler order: error ratio %.2f for %d -> %d steps, expected ~2", re, lsteps[k],
              lsteps[k + 1]);
    }
    CHECK(lu2[3] <= 3e-6, "UniPC, 256 lambda-uniform steps: state error %.3e > 3e-6", lu2[3]);
    /* point mass (s = 0): the x0 prediction is exact, so every solver lands on mu from any step count */
    for (int j = 0; j < ODE_N; j++) c.s[j] = 0;
    for (int sv = 0; sv < SMP_SOLVER_COUNT; sv++) {
        if (smp_solver_is_stochastic((smp_solver)sv)) continue; /* rCM's point mass: tests/test_sampler_rcm.c */
        double el;
        double e = ode_error(&c, (smp_solver)sv, smp_solver_default_schedule((smp_solver)sv), 7, 3.0, &el);
        CHECK(e <= 1e-6, "%s on a point mass: error %.3e > 1e-6", smp_solver_name((smp_solver)sv), e);
    }
}

/* ---- errors, names, progress ---- */

typedef struct fail_ctx {
    int fail_at, nan_at, progress_calls, progress_bad;
} fail_ctx;

static dit_status fail_model(void *user, const float *x, double timestep, double sigma, int step, float *v,
                             dit_err *err) {
    fail_ctx *c = user;
    (void)x, (void)timestep, (void)sigma;
    for (int j = 0; j < 8; j++) v[j] = 0.5f;
    if (step == c->nan_at) v[5] = NAN;
    if (step == c->fail_at) return DIT_FAIL(err, DIT_ERR_DEVICE, "toy model broke");
    return DIT_OK;
}

static void on_progress(void *user, int step, int steps, double ms) {
    fail_ctx *c = user;
    c->progress_calls++;
    if (step != c->progress_calls || steps != 7 || !(ms >= 0)) c->progress_bad++;
}

static void test_errors(void) {
    dit_err err = {0};
    smp_schedule sch;
    float x[8] = {0};
    CHECK(smp_schedule_wan_unipc(0, 5, &sch, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "steps"), "steps 0: %s",
          err.msg);
    CHECK(smp_schedule_diffusers_euler(SMP_MAX_STEPS + 1, 5, &sch, &err) == DIT_ERR_INVALID_ARG, "steps 1001");
    CHECK(smp_schedule_wan_dpmpp(10, 0.0, &sch, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "shift"), "shift 0");
    CHECK(smp_schedule_wan_unipc(10, NAN, &sch, &err) == DIT_ERR_INVALID_ARG, "shift NaN");
    CHECK(smp_schedule_make((smp_schedule_kind)9, 10, 1, &sch, &err) == DIT_ERR_INVALID_ARG, "kind 9");
    CHECK(smp_schedule_make(SMP_SCHEDULE_CUSTOM, 10, 1, &sch, &err) == DIT_ERR_INVALID_ARG, "make custom");
    const double up[3] = {0.5, 0.7, 0.2}, ok3[3] = {0.9, 0.5, 0.1};
    CHECK(smp_schedule_from_sigmas(up, 3, &sch, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "sigma[1]"),
          "increasing custom sigmas: %s", err.msg);
    CHECK(smp_schedule_from_sigmas(ok3, 3, &sch, &err) == DIT_OK && sch.timestep[1] == 500.0 && sch.sigma[3] == 0,
          "custom schedule: %s", err.msg);

    smp_solver sv;
    CHECK(smp_solver_parse("unipc", &sv, &err) == DIT_OK && sv == SMP_SOLVER_UNIPC, "parse unipc");
    CHECK(smp_solver_parse("euler", &sv, &err) == DIT_OK && sv == SMP_SOLVER_EULER, "parse euler");
    CHECK(smp_solver_parse("dpm++", &sv, &err) == DIT_OK && sv == SMP_SOLVER_DPMPP_2M, "parse dpm++");
    CHECK(smp_solver_parse("ddim", &sv, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "ddim"), "parse ddim");
    CHECK(!strcmp(smp_solver_name(SMP_SOLVER_DPMPP_2M), "dpm++") && !strcmp(smp_solver_name(SMP_SOLVER_UNIPC), "unipc"),
          "names");
    CHECK(smp_schedule_for_solver(SMP_SOLVER_EULER, 4, 3, &sch, &err) == DIT_OK &&
              sch.kind == SMP_SCHEDULE_DIFFUSERS_EULER,
          "euler schedule");

    fail_ctx fc = {.fail_at = -1, .nan_at = -1};
    smp_schedule_wan_unipc(7, 5, &sch, &err);
    CHECK(smp_sample(SMP_SOLVER_UNIPC, &sch, x, 0, fail_model, &fc, NULL, NULL, &err) == DIT_ERR_INVALID_ARG,
          "n = 0 accepted");
    CHECK(smp_sample(SMP_SOLVER_UNIPC, &sch, x, 8, NULL, &fc, NULL, NULL, &err) == DIT_ERR_INVALID_ARG,
          "NULL model accepted");
    CHECK(smp_sample((smp_solver)7, &sch, x, 8, fail_model, &fc, NULL, NULL, &err) == DIT_ERR_INVALID_ARG,
          "solver 7 accepted");
    smp_schedule bad = sch;
    bad.sigma[3] = bad.sigma[2];
    CHECK(smp_sample(SMP_SOLVER_EULER, &bad, x, 8, fail_model, &fc, NULL, NULL, &err) == DIT_ERR_INVALID_ARG &&
              strstr(err.msg, "decreasing"),
          "non-decreasing sigmas: %s", err.msg);
    bad = sch;
    bad.sigma[7] = 0.01;
    CHECK(smp_sample(SMP_SOLVER_EULER, &bad, x, 8, fail_model, &fc, NULL, NULL, &err) == DIT_ERR_INVALID_ARG,
          "final sigma 0.01 accepted");
    smp_schedule dpm;
    smp_schedule_wan_dpmpp(7, 5, &dpm, &err);
    CHECK(smp_sample(SMP_SOLVER_UNIPC, &dpm, x, 8, fail_model, &fc, NULL, NULL, &err) == DIT_ERR_INVALID_ARG &&
              strstr(err.msg, "sigma[0]"),
          "UniPC from sigma 1: %s", err.msg);
    CHECK(smp_sample(SMP_SOLVER_DPMPP_2M, &dpm, x, 8, fail_model, &fc, on_progress, &fc, &err) == DIT_OK,
          "dpm++ from sigma 1: %s", err.msg);
    CHECK(fc.progress_calls == 7 && fc.progress_bad == 0, "progress: %d calls, %d bad", fc.progress_calls,
          fc.progress_bad);

    fc.fail_at = 3;
    dit_err_clear(&err);
    CHECK(smp_sample(SMP_SOLVER_UNIPC, &sch, x, 8, fail_model, &fc, NULL, NULL, &err) == DIT_ERR_DEVICE &&
              strstr(err.msg, "step 4/7") && strstr(err.msg, "toy model broke"),
          "model failure: %s", err.msg);
    fc.fail_at = -1, fc.nan_at = 2;
    dit_err_clear(&err);
    CHECK(smp_sample(SMP_SOLVER_EULER, &sch, x, 8, fail_model, &fc, NULL, NULL, &err) == DIT_ERR_INTERNAL &&
              strstr(err.msg, "velocity[5]"),
          "NaN velocity: %s", err.msg);
}

/* ---- CFG ---- */

typedef struct lin_model {
    float scale;
    int calls;
} lin_model;

static dit_status lin(void *user, const float *x, double timestep, double sigma, int step, float *v, dit_err *err) {
    lin_model *m = user;
    (void)timestep, (void)sigma, (void)step, (void)err;
    for (int j = 0; j < 4; j++) v[j] = m->scale * x[j];
    m->calls++;
    return DIT_OK;
}

static void test_cfg(const io_safetensors *io) {
    dit_err err = {0};
    float u[2] = {1, 2}, c[2] = {3, -1}, out[2];
    CHECK(smp_cfg_combine(out, u, c, 2, 5.0, &err) == DIT_OK && out[0] == 11 && out[1] == -13, "combine %g %g",
          out[0], out[1]);
    CHECK(smp_cfg_combine(c, u, c, 2, 5.0, &err) == DIT_OK && c[0] == 11 && c[1] == -13, "combine in place");
    CHECK(smp_cfg_combine(out, u, c, 2, INFINITY, &err) == DIT_ERR_INVALID_ARG, "inf guidance accepted");

    lin_model mc = {2.0f, 0}, mu = {1.0f, 0};
    float scratch[4], x[4] = {1, -2, 3, 0.5f}, v[4];
    smp_cfg cfg = {lin, &mc, lin, &mu, 5.0, scratch, 4};
    CHECK(smp_cfg_model(&cfg, x, 999, 0.999, 0, v, &err) == DIT_OK, "cfg model: %s", err.msg);
    int ok = 1;
    for (int j = 0; j < 4; j++) ok &= v[j] == 6.0f * x[j]; /* x + 5 (2x - x) */
    CHECK(ok && mc.calls == 1 && mu.calls == 1, "cfg adapter: v[0] = %g, calls %d %d", v[0], mc.calls, mu.calls);
    cfg.guidance = 1.0;
    CHECK(smp_cfg_model(&cfg, x, 999, 0.999, 0, v, &err) == DIT_OK && v[1] == -4.0f && mu.calls == 1,
          "guidance 1 must skip the unconditional model");
    cfg.guidance = 5.0, cfg.scratch = NULL;
    CHECK(smp_cfg_model(&cfg, x, 999, 0.999, 0, v, &err) == DIT_ERR_INVALID_ARG, "missing scratch accepted");

    const char *neg = smp_wan_negative_prompt();
    const io_st_tensor *t = io_safetensors_find(io, "wan_negative_prompt");
    CHECK(t && t->dtype == IO_ST_U8, "golden wan_negative_prompt missing");
    if (t) {
        size_t len = (size_t)io_st_tensor_numel(t);
        CHECK(strlen(neg) == len && memcmp(neg, t->data, len) == 0,
              "negative prompt differs from shared_config.py (%zu bytes vs %zu)", strlen(neg), len);
    }
}

int main(void) {
    io_safetensors *io = NULL;
    dit_err err = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/sampler_golden.safetensors", SPADIT_TEST_DATA);
    if (io_safetensors_open(path, &io, &err) != DIT_OK) {
        CHECK(0, "%s", err.msg);
        return test_summary("test_sampler");
    }
    test_golden(io);
    test_large();
    test_oracle();
    test_errors();
    test_cfg(io);
    io_safetensors_close(&io);
    return test_summary("test_sampler");
}
