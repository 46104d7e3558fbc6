/* solver.h — the denoising loop: flow-matching ODE solvers that call a model
 * callback once per step and move a latent from noise (sigma[0]) to x0 (sigma[S] = 0).
 *
 *   SMP_SOLVER_UNIPC     FlowUniPC as the Wan reference (wan/utils/fm_solvers_unipc.py):
 *                        bh2, order 2, predict_x0, lower_order_final, corrector on.
 *   SMP_SOLVER_EULER     flow-match Euler, x += (sigma_{i+1} - sigma_i) v (diffusers
 *                        FlowMatchEulerDiscreteScheduler).
 *   SMP_SOLVER_DPMPP_2M  Wan's 'dpm++' (FlowDPMSolverMultistepScheduler in wan/utils/fm_solvers.py):
 *                        dpmsolver++, order 2 multistep, midpoint, first order at the ends.
 *   SMP_SOLVER_RCM       TurboDiffusion's rCM few-step sampler for timestep-distilled models
 *                        (turbodiffusion/inference/wan2.1_t2v_infer.py): starts from sigma_0 * noise,
 *                        x <- (1 - sigma_{i+1}) (x - sigma_i v) + sigma_{i+1} * fresh noise; no CFG.
 * The sampler knows no network: the model is a callback returning the velocity
 * v ~ eps - x0 at (x, timestep).  Formulas: docs/sampler.md.
 *
 * Checked by tests/test_sampler.c: whole trajectories on a toy field against the
 * reference Python schedulers (tools/gen_sampler_goldens.py, <= 1e-6 relative) and
 * an analytic linear ODE (Gaussian data) integrated with many steps.
 */
#ifndef SPADIT_SMP_SOLVER_H
#define SPADIT_SMP_SOLVER_H

#include <stddef.h> /* size_t */

#include "../dit/status.h" /* dit_status, dit_err */
#include "schedule.h"      /* smp_schedule */

/* Wan2.1 text-to-video defaults (generate.py / wan/configs): UniPC, 50 steps, shift 5, guidance 5. */
#define SMP_WAN_T2V_STEPS 50
#define SMP_WAN_T2V_SHIFT 5.0
#define SMP_WAN_T2V_GUIDANCE 5.0

typedef enum smp_solver {
    SMP_SOLVER_UNIPC = 0,
    SMP_SOLVER_EULER,
    SMP_SOLVER_DPMPP_2M,
    SMP_SOLVER_RCM,
    SMP_SOLVER_COUNT
} smp_solver;

/* The model: write the velocity at latent x (n floats) into `velocity` (n floats).
 * `timestep` is what the DiT's time embedding takes (schedule->timestep[step]),
 * `sigma` the noise level (schedule->sigma[step]); `step` counts from 0.
 * x and velocity never alias.  Return DIT_OK or fill err. */
typedef dit_status (*smp_model_fn)(void *user, const float *x, double timestep, double sigma, int step,
                                   float *velocity, dit_err *err);
/* Called after every step: `step` = 1..steps done so far, step_ms = wall time of that step
 * (model call included). */
typedef void (*smp_progress_fn)(void *user, int step, int steps, double step_ms);

/* Fresh standard-normal noise for a stochastic solver (rCM): fill out[0..n-1] for step
 * `step` (0-based).  Called in step order, once per step whose next sigma is > 0 (the
 * last rCM step, sigma_S = 0, draws none).  Return DIT_OK or fill err. */
typedef dit_status (*smp_noise_fn)(void *user, int step, float *out, size_t n, dit_err *err);

/* An smp_noise_fn drawing from a dit_rng (dit/rng.h) passed as user: dit_rng_fill_normal. */
dit_status smp_noise_rng(void *rng, int step, float *out, size_t n, dit_err *err);

/* "unipc", "euler", "dpm++", "rcm" (also accepted: "dpmpp", "dpm++2m"). */
dit_status smp_solver_parse(const char *name, smp_solver *out, dit_err *err);
/* "unipc", "euler", "dpm++", "rcm"; "?" when out of range. */
/* 1 for solvers that need an smp_noise_fn (rCM). */
int smp_solver_is_stochastic(smp_solver s);
const char *smp_solver_name(smp_solver s);
/* The schedule each solver uses in its reference: UniPC -> Wan unipc, Euler -> diffusers
 * FlowMatchEuler, DPM++ -> Wan dpm++, rCM -> rcm (sigma_max SMP_RCM_SIGMA_MAX; shift unused,
 * call smp_schedule_rcm for another sigma_max).  Convenience for the CLI (solver + steps + shift). */
smp_schedule_kind smp_solver_default_schedule(smp_solver s);
dit_status smp_schedule_for_solver(smp_solver s, int steps, double shift, smp_schedule *out, dit_err *err);

/* Run the whole loop: x (n floats, host) holds the initial noise and receives x0.
 * The solver state (x and the model-output history) is kept in double; the model
 * sees x rounded to float.  Memory: (8 to 32) * n bytes of state, plus 4n for the
 * velocity, allocated once here; nothing is allocated inside the loop.
 * UniPC needs sigma[0] < 1 (the reference's log(1 - sigma) is -inf at 1); DPM++
 * and Euler accept sigma[0] = 1.  `progress` may be NULL.
 * A model failure or a non-finite velocity stops the loop with an error naming the
 * step; x then holds the latent of that step's model call. */
dit_status smp_sample(smp_solver s, const smp_schedule *sch, float *x, size_t n, smp_model_fn model, void *user,
                      smp_progress_fn progress, void *puser, dit_err *err);

/* smp_sample with a noise source, which SMP_SOLVER_RCM requires (the others ignore it).
 * rCM: x holds standard-normal noise on entry; the state starts at sigma_0 * x in double
 * (as the reference's init_noise.to(float64) * t_steps[0]) and takes 4n more bytes for the
 * step noise. */
dit_status smp_sample_with_noise(smp_solver s, const smp_schedule *sch, float *x, size_t n, smp_model_fn model,
                                 void *user, smp_noise_fn noise, void *nuser, smp_progress_fn progress, void *puser,
                                 dit_err *err);

#endif
