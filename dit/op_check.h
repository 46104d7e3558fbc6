/* op_check.h — operand validation shared by every backend's ops.
 * Each check fills be->err with the op name, the operand and what was expected. */
#ifndef SPADIT_OP_CHECK_H
#define SPADIT_OP_CHECK_H

#include "backend.h" /* dit_backend, dit_tensor */

/* Fails unless t is non-NULL, has data, lives on be's device and has one of the dtypes in mask
 * (bit (1<<dtype)). */
dit_status dit_check_operand(dit_backend *be, const char *op, const char *name, const dit_tensor *t,
                             unsigned dtype_mask);
/* Fails unless t has exactly n elements. */
dit_status dit_check_numel(dit_backend *be, const char *op, const char *name, const dit_tensor *t, int64_t n);
/* Fails unless a and b have the same shape. */
dit_status dit_check_same_shape(dit_backend *be, const char *op, const char *an, const dit_tensor *a,
                                const char *bn, const dit_tensor *b);

#define DIT_MASK(dt) (1u << (dt))
#define DIT_MASK_FLOAT (DIT_MASK(DIT_DTYPE_F32) | DIT_MASK(DIT_DTYPE_BF16) | DIT_MASK(DIT_DTYPE_F16))

/* Shared body of the linear op's checks: x[M,K], w[N,K], out[M,N], b[N]. */
dit_status dit_check_linear(dit_backend *be, const dit_tensor *out, const dit_tensor *x, const dit_tensor *w,
                            const dit_tensor *b, unsigned act_mask, unsigned w_mask);

/* The elementwise ops' checks, shared by the backends; the masks say which dtypes a backend takes
 * (x_mask for the main input, out_mask for the output).  Norm, gate and modulation vectors are
 * always f32 [C] (or NULL). */
dit_status dit_check_vec(dit_backend *be, const char *op, const char *name, const dit_tensor *v, int64_t C);
/* x[M, C], out the same shape; gamma, beta, scale, shift [C] or NULL. */
dit_status dit_check_layer_norm(dit_backend *be, const dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                const dit_tensor *beta, const dit_tensor *scale, const dit_tensor *shift,
                                unsigned x_mask, unsigned out_mask);
/* x[M, C], out the same shape; gamma [C] or NULL. */
dit_status dit_check_rms_norm(dit_backend *be, const dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                              unsigned x_mask, unsigned out_mask);
/* x[M, C] f32 (the residual stream), y the same shape, gate [C] or NULL. */
dit_status dit_check_gated_add(dit_backend *be, const dit_tensor *x, const dit_tensor *y, const dit_tensor *gate,
                               unsigned y_mask);
/* out = f(x): same element count, out of x's dtype. */
dit_status dit_check_unary(dit_backend *be, const char *op, const dit_tensor *out, const dit_tensor *x,
                           unsigned x_mask);
/* out = a op b: same element counts, b and out of a's dtype. */
dit_status dit_check_binary(dit_backend *be, const char *op, const dit_tensor *out, const dit_tensor *a,
                            const dit_tensor *b, unsigned a_mask);

#endif
