/* schedule.c — flow-matching sigma / timestep schedules, bit-for-bit as the
 * reference Python computes them (numpy float64 where it uses numpy, float32
 * where it uses torch float32 tensors; see schedule.h and docs/sampler.md).
 *
 * The arithmetic below keeps the reference's operation order on purpose: every
 * expression is one IEEE operation per Python operator, so the results are the
 * same doubles/floats (no FMA contraction: ISO C11 mode, x86-64 SSE).
 * Checked by tests/test_sampler.c (timesteps equal, sigmas within 1e-12).
 */
#include "schedule.h"

#include <math.h>   /* isfinite, fabs, atan, sin, cos, tan */
#include <stdint.h> /* int64_t, uint32_t */
#include <string.h> /* memset, memcpy */

const char *smp_schedule_kind_name(smp_schedule_kind kind) {
    switch (kind) {
    case SMP_SCHEDULE_WAN_UNIPC: return "wan-unipc";
    case SMP_SCHEDULE_WAN_DPMPP: return "wan-dpm++";
    case SMP_SCHEDULE_DIFFUSERS_EULER: return "diffusers-euler";
    case SMP_SCHEDULE_DIFFUSERS_UNIPC: return "diffusers-unipc";
    case SMP_SCHEDULE_CUSTOM: return "custom";
    case SMP_SCHEDULE_RCM: return "rcm";
    case SMP_SCHEDULE_COUNT: break;
    }
    return "?";
}

/* numpy.linspace(start, stop, num)[i] for i < num - 1 (the last element is `stop`):
 * step = (stop - start) / (num - 1); y_i = i * step + start. */
static double np_linspace_at(double start, double stop, int num, int i) {
    if (num > 1 && i == num - 1) return stop;
    if (num <= 1) return 0.0 * (stop - start) + start;
    double step = (stop - start) / (double)(num - 1);
    return (double)i * step + start;
}

/* shift_s(sigma) = s * sigma / (1 + (s - 1) * sigma), as numpy evaluates it. */
static double shift_f64(double s, double sigma) {
    return s * sigma / (1.0 + (s - 1.0) * sigma);
}

/* The same in torch float32 (the Python scalars are rounded to float first). */
static float shift_f32(double s, float sigma) {
    float sf = (float)s, sm1 = (float)(s - 1.0);
    float num = sf * sigma;
    float den = 1.0f + sm1 * sigma;
    return num / den;
}

/* int64 truncation of sigma * 1000, as torch .to(torch.int64) does. */
static double trunc_t(double sigma) {
    return (double)(int64_t)(sigma * (double)SMP_NUM_TRAIN_TIMESTEPS);
}

static dit_status check_args(const char *what, int steps, double shift, smp_schedule *out, dit_err *err) {
    if (!out) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s schedule: output schedule is NULL", what);
    if (steps < 1 || steps > SMP_MAX_STEPS)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s schedule: steps = %d, expected 1..%d", what, steps,
                        SMP_MAX_STEPS);
    if (!isfinite(shift) || shift <= 0.0)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s schedule: shift = %g, expected a finite value > 0", what,
                        shift);
    return DIT_OK;
}

static void begin(smp_schedule *out, smp_schedule_kind kind, int steps, double shift) {
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->steps = steps;
    out->shift = shift;
}

dit_status smp_schedule_wan_unipc(int steps, double shift, smp_schedule *out, dit_err *err) {
    DIT_TRY(check_args("wan-unipc", steps, shift, out, err));
    begin(out, SMP_SCHEDULE_WAN_UNIPC, steps, shift);
    /* __init__: alphas = linspace(1, 1/1000, 1000)[::-1]; sigmas = 1 - alphas -> float32 tensor,
     * shifted with shift=1 (exact); sigma_max = sigmas[0] = f32(1 - 1/1000), sigma_min = 0. */
    double sigma_max = (double)(float)(1.0 - 1.0 / (double)SMP_NUM_TRAIN_TIMESTEPS);
    double sigma_min = 0.0;
    /* set_timesteps: linspace(sigma_max, sigma_min, S+1)[:-1], shifted in float64;
     * timesteps = int64(sigmas * 1000); sigmas -> float32 with 0 appended. */
    for (int i = 0; i < steps; i++) {
        double s = shift_f64(shift, np_linspace_at(sigma_max, sigma_min, steps + 1, i));
        out->timestep[i] = trunc_t(s);
        out->sigma[i] = (double)(float)s;
    }
    out->sigma[steps] = 0.0;
    return DIT_OK;
}

dit_status smp_schedule_wan_dpmpp(int steps, double shift, smp_schedule *out, dit_err *err) {
    DIT_TRY(check_args("wan-dpm++", steps, shift, out, err));
    begin(out, SMP_SCHEDULE_WAN_DPMPP, steps, shift);
    /* get_sampling_sigmas: shift_s(linspace(1, 0, S+1)[:S]) in float64; set_timesteps(sigmas=...)
     * shifts again with the scheduler's shift=1 (exact), timesteps = int64(sigmas * 1000). */
    for (int i = 0; i < steps; i++) {
        double s = shift_f64(shift, np_linspace_at(1.0, 0.0, steps + 1, i));
        out->timestep[i] = trunc_t(s);
        out->sigma[i] = (double)(float)s;
    }
    out->sigma[steps] = 0.0;
    return DIT_OK;
}

dit_status smp_schedule_diffusers_euler(int steps, double shift, smp_schedule *out, dit_err *err) {
    DIT_TRY(check_args("diffusers-euler", steps, shift, out, err));
    begin(out, SMP_SCHEDULE_DIFFUSERS_EULER, steps, shift);
    /* __init__ (torch float32): training sigmas = linspace(1, 1000, 1000)[::-1] / 1000, shifted;
     * sigma_max = shift(1), sigma_min = shift(f32(1/1000)). */
    float t_min = 1.0f / (float)SMP_NUM_TRAIN_TIMESTEPS;
    double sigma_max = (double)shift_f32(shift, 1.0f);
    double sigma_min = (double)shift_f32(shift, t_min);
    /* set_timesteps (numpy float64): timesteps = linspace(sigma_max*1000, sigma_min*1000, S);
     * sigmas = timesteps / 1000, shifted again; float32 sigmas; timesteps = f32(sigma * 1000). */
    double t0 = sigma_max * (double)SMP_NUM_TRAIN_TIMESTEPS, t1 = sigma_min * (double)SMP_NUM_TRAIN_TIMESTEPS;
    for (int i = 0; i < steps; i++) {
        double s = np_linspace_at(t0, t1, steps, i) / (double)SMP_NUM_TRAIN_TIMESTEPS;
        float sf = (float)shift_f64(shift, s);
        out->sigma[i] = (double)sf;
        out->timestep[i] = (double)(sf * (float)SMP_NUM_TRAIN_TIMESTEPS);
    }
    out->sigma[steps] = 0.0;
    return DIT_OK;
}

dit_status smp_schedule_diffusers_unipc(int steps, double shift, smp_schedule *out, dit_err *err) {
    DIT_TRY(check_args("diffusers-unipc", steps, shift, out, err));
    begin(out, SMP_SCHEDULE_DIFFUSERS_UNIPC, steps, shift);
    /* set_timesteps with use_flow_sigmas: linspace(1, 1/1000, S+1)[:-1], shifted (float64);
     * sigma_0 -= 1e-6 when |sigma_0 - 1| < 1e-6; timesteps = int64(sigmas * 1000). */
    for (int i = 0; i < steps; i++) {
        double s = shift_f64(shift, np_linspace_at(1.0, 1.0 / (double)SMP_NUM_TRAIN_TIMESTEPS, steps + 1, i));
        if (i == 0 && fabs(s - 1.0) < 1e-6) s -= 1e-6;
        out->timestep[i] = trunc_t(s);
        out->sigma[i] = (double)(float)s;
    }
    out->sigma[steps] = 0.0;
    return DIT_OK;
}

dit_status smp_schedule_make(smp_schedule_kind kind, int steps, double shift, smp_schedule *out, dit_err *err) {
    switch (kind) {
    case SMP_SCHEDULE_WAN_UNIPC: return smp_schedule_wan_unipc(steps, shift, out, err);
    case SMP_SCHEDULE_WAN_DPMPP: return smp_schedule_wan_dpmpp(steps, shift, out, err);
    case SMP_SCHEDULE_DIFFUSERS_EULER: return smp_schedule_diffusers_euler(steps, shift, out, err);
    case SMP_SCHEDULE_DIFFUSERS_UNIPC: return smp_schedule_diffusers_unipc(steps, shift, out, err);
    case SMP_SCHEDULE_CUSTOM:
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "schedule kind custom has no formula: use smp_schedule_from_sigmas");
    case SMP_SCHEDULE_RCM: return smp_schedule_rcm(steps, SMP_RCM_SIGMA_MAX, out, err);
    case SMP_SCHEDULE_COUNT: break;
    }
    return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "schedule kind %d unknown, expected 0..%d", (int)kind,
                    (int)SMP_SCHEDULE_COUNT - 1);
}

float smp_round_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u) { /* inf stays, NaN stays NaN (quiet) */
        if (u & 0x007fffffu) u |= 0x00400000u;
        u &= 0xffff0000u;
    } else {
        u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest, ties to even */
        u &= 0xffff0000u;
    }
    memcpy(&f, &u, sizeof f);
    return f;
}

/* TurboDiffusion's mid_t ("for better visual quality"; their commented-out alternative
 * is {1.3, 1.0, 0.6}).  Step count S uses the first S-1. */
static const double RCM_MID_T[SMP_RCM_MAX_STEPS - 1] = {1.5, 1.4, 1.0};

dit_status smp_schedule_rcm(int steps, double sigma_max, smp_schedule *out, dit_err *err) {
    if (!out) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "rcm schedule: output schedule is NULL");
    if (steps < 1 || steps > SMP_RCM_MAX_STEPS)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                        "rcm schedule: steps = %d, expected 1..%d (TurboDiffusion's rCM table has %d middle times)",
                        steps, SMP_RCM_MAX_STEPS, SMP_RCM_MAX_STEPS - 1);
    if (!isfinite(sigma_max) || sigma_max <= 0.0)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "rcm schedule: sigma_max = %g, expected a finite value > 0",
                        sigma_max);
    double T[SMP_RCM_MAX_STEPS + 1];
    T[0] = atan(sigma_max);
    for (int i = 1; i < steps; i++) T[i] = RCM_MID_T[i - 1];
    T[steps] = 0.0;
    if (steps >= 2 && !(T[0] > T[1]))
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                        "rcm schedule: sigma_max = %g gives TrigFlow time atan(sigma_max) = %.6g, expected above the "
                        "first middle time %.6g (sigma_max > tan(%.6g) = %.6g)",
                        sigma_max, T[0], T[1], T[1], tan(T[1]));
    begin(out, SMP_SCHEDULE_RCM, steps, 1.0);
    for (int i = 0; i <= steps; i++) {
        double sn = sin(T[i]), cs = cos(T[i]);
        out->sigma[i] = sn / (cs + sn);
    }
    for (int i = 0; i < steps; i++) {
        /* (t_cur.float() * ones(f64) * 1000).to(bf16): f32, back to f64, times 1000, then
         * torch's double -> bf16 cast goes through float. */
        double t = (double)(float)out->sigma[i] * (double)SMP_NUM_TRAIN_TIMESTEPS;
        out->timestep[i] = (double)smp_round_bf16((float)t);
    }
    return smp_schedule_check(out, err);
}

dit_status smp_schedule_from_sigmas(const double *sigmas, int steps, smp_schedule *out, dit_err *err) {
    DIT_TRY(check_args("custom", steps, 1.0, out, err));
    if (!sigmas) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "custom schedule: sigmas is NULL");
    begin(out, SMP_SCHEDULE_CUSTOM, steps, 1.0);
    for (int i = 0; i < steps; i++) {
        out->sigma[i] = sigmas[i];
        out->timestep[i] = sigmas[i] * (double)SMP_NUM_TRAIN_TIMESTEPS;
    }
    out->sigma[steps] = 0.0;
    return smp_schedule_check(out, err);
}

dit_status smp_schedule_check(const smp_schedule *s, dit_err *err) {
    if (!s) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "schedule is NULL");
    if ((int)s->kind < 0 || s->kind >= SMP_SCHEDULE_COUNT)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "schedule: kind %d unknown, expected 0..%d", (int)s->kind,
                        (int)SMP_SCHEDULE_COUNT - 1);
    int S = s->steps;
    if (S < 1 || S > SMP_MAX_STEPS)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "schedule: steps = %d, expected 1..%d", S, SMP_MAX_STEPS);
    for (int i = 0; i <= S; i++)
        if (!isfinite(s->sigma[i]))
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "schedule: sigma[%d] = %g, expected a finite value", i,
                            s->sigma[i]);
    if (!(s->sigma[0] <= 1.0))
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "schedule: sigma[0] = %.9g, expected <= 1", s->sigma[0]);
    if (!(s->sigma[S - 1] > 0.0))
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "schedule: sigma[%d] = %g, expected > 0 before the final 0", S - 1,
                        s->sigma[S - 1]);
    for (int i = 0; i < S; i++)
        if (!(s->sigma[i + 1] < s->sigma[i]))
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                            "schedule: sigma[%d] = %.9g is not below sigma[%d] = %.9g, expected strictly decreasing",
                            i + 1, s->sigma[i + 1], i, s->sigma[i]);
    if (s->sigma[S] != 0.0)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "schedule: sigma[%d] = %g, expected the final sigma 0", S,
                        s->sigma[S]);
    for (int i = 0; i < S; i++)
        if (!isfinite(s->timestep[i]))
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "schedule: timestep[%d] = %g, expected a finite value", i,
                            s->timestep[i]);
    return DIT_OK;
}
