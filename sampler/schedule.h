/* schedule.h — flow-matching noise schedules: the sigmas a solver steps through
 * and the timesteps the model is called with, computed exactly as the reference
 * code computes them (docs/sampler.md gives the formulas).
 *
 * Flow matching: x_sigma = (1 - sigma) x0 + sigma eps, sigma from ~1 (noise) to
 * 0 (data).  A schedule of S steps holds sigma[0..S] (strictly decreasing,
 * sigma[S] = 0) and timestep[0..S-1] (what the DiT's time embedding sees).
 * The sigmas are the reference's float32 values, held in double.
 *
 * Checked by tests/test_sampler.c against tools/gen_sampler_goldens.py
 * (timesteps equal, sigmas within 1e-12 relative).
 */
#ifndef SPADIT_SMP_SCHEDULE_H
#define SPADIT_SMP_SCHEDULE_H

#include "../dit/status.h" /* dit_status, dit_err */

/* Largest step count: one step per training timestep (num_train_timesteps = 1000). */
#define SMP_MAX_STEPS 1000
#define SMP_NUM_TRAIN_TIMESTEPS 1000

typedef enum smp_schedule_kind {
    SMP_SCHEDULE_WAN_UNIPC = 0,     /* Wan FlowUniPCMultistepScheduler (wan/utils/fm_solvers_unipc.py) */
    SMP_SCHEDULE_WAN_DPMPP,         /* Wan get_sampling_sigmas + FlowDPMSolverMultistepScheduler (fm_solvers.py) */
    SMP_SCHEDULE_DIFFUSERS_EULER,   /* diffusers FlowMatchEulerDiscreteScheduler(shift) */
    SMP_SCHEDULE_DIFFUSERS_UNIPC,   /* diffusers UniPCMultistepScheduler(use_flow_sigmas, flow_shift) */
    SMP_SCHEDULE_CUSTOM,            /* caller's sigmas (smp_schedule_from_sigmas) */
    SMP_SCHEDULE_RCM,               /* TurboDiffusion rCM few-step: TrigFlow times -> rectified flow */
    SMP_SCHEDULE_COUNT
} smp_schedule_kind;

typedef struct smp_schedule {
    smp_schedule_kind kind;
    int steps;                          /* S, 1..SMP_MAX_STEPS */
    double shift;                       /* s in shift_s(sigma) = s sigma / (1 + (s - 1) sigma) */
    double sigma[SMP_MAX_STEPS + 1];    /* sigma[0..S]; sigma[S] = 0 */
    double timestep[SMP_MAX_STEPS];     /* timestep[0..S-1] given to the model */
} smp_schedule;

/* Wan reference 'unipc': FlowUniPCMultistepScheduler(shift=1).set_timesteps(S, shift=s).
 * sigma_i = f32(shift_s(linspace(f32(0.999), 0, S+1)[i])), timestep_i = trunc(1000 * that f64 value).
 * s = 5, S = 50: timesteps 999, 995, 991, 987, 982, ..., 241, 172, 92. */
dit_status smp_schedule_wan_unipc(int steps, double shift, smp_schedule *out, dit_err *err);

/* Wan reference 'dpm++': sigmas = shift_s(linspace(1, 0, S+1)[:S]) (starts at 1.0),
 * timestep_i = trunc(1000 sigma_i) (so 1000 first), sigma_i stored as float32. */
dit_status smp_schedule_wan_dpmpp(int steps, double shift, smp_schedule *out, dit_err *err);

/* diffusers FlowMatchEulerDiscreteScheduler(shift=s).set_timesteps(S): linspace of
 * 1000 sigma over [sigma_max, sigma_min] of the shifted training table (so the
 * shift hits sigma_min twice), shifted again; float32 timesteps = f32(sigma) * 1000. */
dit_status smp_schedule_diffusers_euler(int steps, double shift, smp_schedule *out, dit_err *err);

/* diffusers UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
 * flow_shift=s).set_timesteps(S): shift_s(linspace(1, 1/1000, S+1)[:S]), sigma_0 -= 1e-6 when
 * it is 1, timestep_i = trunc(1000 sigma_i).  Same solver as the Wan reference, other schedule. */
dit_status smp_schedule_diffusers_unipc(int steps, double shift, smp_schedule *out, dit_err *err);

/* A caller's sigmas[0..steps-1] (decreasing, <= 1, > 0); sigma[S] = 0 is appended and
 * timestep_i = 1000 sigma_i (not truncated), like the references' set_timesteps(sigmas=...)
 * minus their integer cast.  shift is recorded as 1. */
dit_status smp_schedule_from_sigmas(const double *sigmas, int steps, smp_schedule *out, dit_err *err);

/* TurboDiffusion's rCM few-step schedule (turbodiffusion/inference/wan2.1_t2v_infer.py):
 * TrigFlow times T = [atan(sigma_max), mid_t[0..S-2], 0] with mid_t = {1.5, 1.4, 1.0}
 * (their "better visual quality" table), mapped to rectified-flow time
 * sigma_i = sin(T_i) / (cos(T_i) + sin(T_i)) in float64.  timestep_i is what their
 * loop hands the network: bf16(f64(f32(sigma_i)) * 1000) (f32 then bf16, round to
 * nearest even), e.g. 988, 932, 852, 608 for S = 4, sigma_max = 80.
 * steps 1..SMP_RCM_MAX_STEPS; sigma_max finite and > tan(1.5) ~ 14.1 when steps >= 2 (so
 * the times decrease), > 0 otherwise.  shift is recorded as 1. */
#define SMP_RCM_MAX_STEPS 4
#define SMP_RCM_SIGMA_MAX 80.0
dit_status smp_schedule_rcm(int steps, double sigma_max, smp_schedule *out, dit_err *err);

/* float -> bfloat16 -> float, round to nearest even (torch's .to(torch.bfloat16)); NaN stays NaN. */
float smp_round_bf16(float f);

/* Any kind by enum but SMP_SCHEDULE_CUSTOM (SMP_SCHEDULE_RCM: sigma_max = SMP_RCM_SIGMA_MAX,
 * shift unused). */
dit_status smp_schedule_make(smp_schedule_kind kind, int steps, double shift, smp_schedule *out, dit_err *err);

/* "wan-unipc", "wan-dpm++", "diffusers-euler", "diffusers-unipc", "custom", "rcm"; "?" when out of range. */
const char *smp_schedule_kind_name(smp_schedule_kind kind);

/* Check a (possibly hand-made) schedule: kind known, 1 <= steps <= SMP_MAX_STEPS, sigma
 * finite, sigma[0] <= 1, strictly decreasing, sigma[S] = 0, timesteps finite. */
dit_status smp_schedule_check(const smp_schedule *s, dit_err *err);

#endif
