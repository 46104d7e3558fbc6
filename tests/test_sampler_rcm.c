/* test_sampler_rcm.c — the rCM few-step sampler (SMP_SOLVER_RCM, smp_schedule_rcm)
 * against TurboDiffusion's loop (tests/data/rcm_golden.safetensors, written by
 * tools/gen_rcm_goldens.py, which re-implements wan2.1_t2v_infer.py's loop).
 *
 * 1. Schedule: timesteps equal (their bf16 values), sigmas within 1e-15 relative, for
 *    (steps, sigma_max) = (1..4, 80), (4, 200), (2, 20).
 * 2. Trajectory: the golden's own noise draws are fed back through the noise callback
 *    (spadit's RNG cannot equal PyTorch's); every latent the model sees and x0 within
 *    1e-6 relative L2; the callback is called for steps 0..S-2 only, in order.
 * 3. Errors: steps 0 / 5, sigma_max too small for the table, no noise callback, a
 *    failing noise callback; a point mass is hit exactly whatever the noise.
 */
#include "../dit/rng.h"        /* dit_rng */
#include "../io/safetensors.h" /* golden file */
#include "../sampler/solver.h" /* smp_sample_with_noise, smp_schedule_rcm */
#include "test_util.h"         /* CHECK, test_summary */

#include <stdint.h> /* int64_t */

#define N 256

static const void *need(const io_safetensors *io, const char *name, io_st_dtype dt, int64_t numel) {
    const io_st_tensor *t = io_safetensors_find(io, name);
    CHECK(t != NULL, "golden tensor %s missing", name);
    if (!t) return NULL;
    int ok = t->dtype == dt && io_st_tensor_numel(t) == numel;
    CHECK(ok, "golden %s: dtype %s numel %lld, expected %s %lld", name, io_st_dtype_name(t->dtype),
          (long long)io_st_tensor_numel(t), io_st_dtype_name(dt), (long long)numel);
    return ok ? t->data : NULL;
}

/* The toy model of tools/gen_rcm_goldens.py. */
static void toy_field(const float *x, double timestep, double sigma, float *v) {
    double tau = timestep / 1000.0;
    double a = -0.6 + 0.4 * cos(2.5 * tau), c = 0.8 * tau * tau - 0.3;
    for (int j = 0; j < N; j++)
        v[j] = (float)(a * x[j] + 0.35 * tanh((double)x[j]) + c * sin(0.37 * j + 0.5) + 0.2 * sigma * cos(0.11 * j));
}

typedef struct rcm_ctx {
    const smp_schedule *sch;
    const float *noise; /* [S, N] golden draws */
    float states[SMP_RCM_MAX_STEPS][N];
    int calls, bad_args, noise_calls, noise_bad;
    int fail_noise_at;
} rcm_ctx;

static dit_status toy_model(void *user, const float *x, double timestep, double sigma, int step, float *v,
                            dit_err *err) {
    rcm_ctx *c = user;
    (void)err;
    if (step != c->calls || timestep != c->sch->timestep[step] || sigma != c->sch->sigma[step]) c->bad_args++;
    if (step < SMP_RCM_MAX_STEPS) memcpy(c->states[step], x, sizeof c->states[step]);
    c->calls++;
    toy_field(x, timestep, sigma, v);
    return DIT_OK;
}

static dit_status golden_noise(void *user, int step, float *out, size_t n, dit_err *err) {
    rcm_ctx *c = user;
    if (step != c->noise_calls || n != N) c->noise_bad++;
    c->noise_calls++;
    if (step == c->fail_noise_at) return DIT_FAIL(err, DIT_ERR_IO, "noise source ran dry");
    memcpy(out, c->noise + (size_t)step * N, N * sizeof(float));
    return DIT_OK;
}

static double rel_l2_fd(const float *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        if (isnan(d)) return INFINITY;
        num += d * d, den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static void test_golden(const io_safetensors *io) {
    const io_st_tensor *ct = io_safetensors_find(io, "cases");
    CHECK(ct && ct->dtype == IO_ST_F64 && ct->ndim == 2 && ct->shape[1] == 2, "golden 'cases' missing or malformed");
    if (!ct || ct->dtype != IO_ST_F64 || ct->ndim != 2 || ct->shape[1] != 2) return;
    const double *cases = ct->data;
    double worst_sig = 0, worst_state = 0, worst_x0 = 0;
    for (int k = 0; k < (int)ct->shape[0]; k++) {
        int S = (int)cases[2 * k];
        double sm = cases[2 * k + 1];
        char key[64], name[96];
        snprintf(key, sizeof key, "S%d_sm%d", S, (int)sm);
        smp_schedule sch;
        dit_err err = {0};
        CHECK(smp_schedule_rcm(S, sm, &sch, &err) == DIT_OK, "%s: %s", key, err.msg);
        if (err.code) continue;
#define GET(var, suffix, dt, numel)                          \
    snprintf(name, sizeof name, "%s_%s", key, suffix);       \
    const void *var = need(io, name, dt, numel);             \
    if (!var) continue;
        GET(sig, "sigma", IO_ST_F64, S + 1)
        GET(ts, "t", IO_ST_F64, S)
        GET(init, "init", IO_ST_F32, N)
        GET(noise, "noise", IO_ST_F32, (int64_t)S * N)
        GET(states, "states", IO_ST_F32, (int64_t)S * N)
        GET(x0, "x0", IO_ST_F64, N)
#undef GET
        int t_bad = 0, sig_bad = 0;
        for (int i = 0; i <= S; i++) {
            double r = ((const double *)sig)[i], d = fabs(sch.sigma[i] - r) / (r > 0 ? r : 1);
            if (d > worst_sig) worst_sig = d;
            sig_bad += d > 1e-15;
            if (i < S) t_bad += sch.timestep[i] != ((const double *)ts)[i];
        }
        CHECK(t_bad == 0, "%s: %d timesteps differ (first: %g vs %g)", key, t_bad, sch.timestep[0],
              ((const double *)ts)[0]);
        CHECK(sig_bad == 0, "%s: %d sigmas off by > 1e-15 relative", key, sig_bad);

        rcm_ctx c;
        memset(&c, 0, sizeof c);
        c.sch = &sch, c.noise = noise, c.fail_noise_at = -1;
        float x[N];
        memcpy(x, init, sizeof x);
        dit_status st = smp_sample_with_noise(SMP_SOLVER_RCM, &sch, x, N, toy_model, &c, golden_noise, &c, NULL,
                                              NULL, &err);
        CHECK(st == DIT_OK, "%s: smp_sample_with_noise: %s", key, err.msg);
        CHECK(c.calls == S && c.bad_args == 0, "%s: %d model calls (expected %d), %d with wrong arguments", key,
              c.calls, S, c.bad_args);
        CHECK(c.noise_calls == S - 1 && c.noise_bad == 0, "%s: %d noise calls (expected %d), %d out of order", key,
              c.noise_calls, S - 1, c.noise_bad);
        for (int i = 0; i < S; i++) {
            double ref[N];
            for (int j = 0; j < N; j++) ref[j] = ((const float *)states)[(size_t)i * N + j];
            double e = rel_l2_fd(c.states[i], ref, N);
            if (e > worst_state) worst_state = e;
            CHECK(e <= 1e-6, "%s: state %d off by rel L2 %.3e > 1e-6", key, i, e);
        }
        double e0 = rel_l2_fd(x, x0, N);
        if (e0 > worst_x0) worst_x0 = e0;
        CHECK(e0 <= 1e-6, "%s: x0 off by rel L2 %.3e > 1e-6", key, e0);
    }
    printf("rcm golden: worst sigma rel %.2e, worst state rel %.2e, worst x0 rel %.2e\n", worst_sig, worst_state,
           worst_x0);
}

/* Point mass at mu: the exact velocity v = (x - mu) / sigma makes every x0 prediction mu,
 * so rCM returns mu whatever noise it re-injects. */
static dit_status point_model(void *user, const float *x, double timestep, double sigma, int step, float *v,
                              dit_err *err) {
    (void)user, (void)timestep, (void)step, (void)err;
    for (int j = 0; j < N; j++) v[j] = (float)(((double)x[j] - sin(0.3 * j)) / sigma);
    return DIT_OK;
}

static void test_errors_and_point_mass(void) {
    smp_schedule sch;
    dit_err err = {0};
    CHECK(smp_schedule_rcm(0, 80, &sch, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "1..4"), "steps 0: %s",
          err.msg);
    CHECK(smp_schedule_rcm(5, 80, &sch, &err) == DIT_ERR_INVALID_ARG, "steps 5 accepted");
    CHECK(smp_schedule_rcm(2, 10, &sch, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "sigma_max"),
          "sigma_max 10 with 2 steps: %s", err.msg);
    CHECK(smp_schedule_rcm(1, 10, &sch, &err) == DIT_OK, "sigma_max 10 with 1 step: %s", err.msg);
    CHECK(smp_schedule_rcm(3, NAN, &sch, &err) == DIT_ERR_INVALID_ARG, "sigma_max NaN accepted");
    smp_schedule def;
    CHECK(smp_schedule_for_solver(SMP_SOLVER_RCM, 4, 5.0, &def, &err) == DIT_OK && def.kind == SMP_SCHEDULE_RCM &&
              def.timestep[0] == 988 && def.timestep[3] == 608,
          "default rcm schedule: %s", err.msg);
    smp_solver sv;
    CHECK(smp_solver_parse("rcm", &sv, &err) == DIT_OK && sv == SMP_SOLVER_RCM &&
              !strcmp(smp_solver_name(sv), "rcm") && smp_solver_is_stochastic(sv) &&
              !smp_solver_is_stochastic(SMP_SOLVER_UNIPC),
          "parse rcm");
    CHECK(smp_round_bf16(987.654f) == 988.0f && smp_round_bf16(1.00390625f) == 1.0f &&
              smp_round_bf16(1.01171875f) == 1.015625f,
          "bf16 rounding (ties to even)");

    float x[N];
    dit_rng rng;
    dit_rng_seed(&rng, 3);
    dit_rng_fill_normal(&rng, x, N, 1.0f);
    CHECK(smp_sample(SMP_SOLVER_RCM, &def, x, N, point_model, NULL, NULL, NULL, &err) == DIT_ERR_INVALID_ARG &&
              strstr(err.msg, "noise"),
          "rcm without a noise callback: %s", err.msg);
    dit_status st = smp_sample_with_noise(SMP_SOLVER_RCM, &def, x, N, point_model, NULL, smp_noise_rng, &rng, NULL,
                                          NULL, &err);
    double worst = 0;
    for (int j = 0; j < N; j++) worst = fmax(worst, fabs((double)x[j] - sin(0.3 * j)));
    CHECK(st == DIT_OK && worst <= 1e-6, "point mass: %s, max error %.3e", err.msg, worst);

    rcm_ctx c;
    memset(&c, 0, sizeof c);
    float noise[SMP_RCM_MAX_STEPS * N] = {0};
    c.sch = &def, c.noise = noise, c.fail_noise_at = 1;
    dit_err_clear(&err);
    CHECK(smp_sample_with_noise(SMP_SOLVER_RCM, &def, x, N, toy_model, &c, golden_noise, &c, NULL, NULL, &err) ==
                  DIT_ERR_IO &&
              strstr(err.msg, "step 2/4") && strstr(err.msg, "ran dry"),
          "noise failure: %s", err.msg);
}

int main(void) {
    io_safetensors *io = NULL;
    dit_err err = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/rcm_golden.safetensors", SPADIT_TEST_DATA);
    if (io_safetensors_open(path, &io, &err) != DIT_OK) {
        CHECK(0, "%s", err.msg);
        return test_summary("test_sampler_rcm");
    }
    test_golden(io);
    test_errors_and_point_mass();
    io_safetensors_close(&io);
    return test_summary("test_sampler_rcm");
}
