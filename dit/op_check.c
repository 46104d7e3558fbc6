/* op_check.c — operand validation shared by the backends (see op_check.h). */
#include "op_check.h"

dit_status dit_check_operand(dit_backend *be, const char *op, const char *name, const dit_tensor *t,
                             unsigned dtype_mask) {
    if (!t || !t->data) return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "%s: operand '%s' is missing", op, name);
    if (t->device != be->device)
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "%s: operand '%s' lives on the %s, backend '%s' needs it on the %s",
                        op, name, t->device == DIT_DEVICE_CPU ? "host" : "GPU", be->name,
                        be->device == DIT_DEVICE_CPU ? "host" : "GPU");
    if (!(dtype_mask & DIT_MASK(t->dtype)))
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "%s: operand '%s' has dtype %s, not supported by backend '%s'",
                        op, name, dit_dtype_name(t->dtype), be->name);
    return DIT_OK;
}

dit_status dit_check_numel(dit_backend *be, const char *op, const char *name, const dit_tensor *t, int64_t n) {
    if (dit_tensor_numel(t) != n) {
        char s[96];
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "%s: operand '%s' has shape %s (%lld elements), expected %lld elements",
                        op, name, dit_shape_str(t, s, sizeof s), (long long)dit_tensor_numel(t), (long long)n);
    }
    return DIT_OK;
}

dit_status dit_check_same_shape(dit_backend *be, const char *op, const char *an, const dit_tensor *a,
                                const char *bn, const dit_tensor *b) {
    if (dit_tensor_numel(a) != dit_tensor_numel(b) || dit_tensor_cols(a) != dit_tensor_cols(b)) {
        char s1[96], s2[96];
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "%s: '%s' %s and '%s' %s differ", op, an,
                        dit_shape_str(a, s1, sizeof s1), bn, dit_shape_str(b, s2, sizeof s2));
    }
    return DIT_OK;
}

dit_status dit_check_linear(dit_backend *be, const dit_tensor *out, const dit_tensor *x, const dit_tensor *w,
                            const dit_tensor *b, unsigned act_mask, unsigned w_mask) {
    DIT_TRY(dit_check_operand(be, "linear", "x", x, act_mask));
    DIT_TRY(dit_check_operand(be, "linear", "w", w, w_mask));
    DIT_TRY(dit_check_operand(be, "linear", "out", out, act_mask));
    if (w->ndim != 2)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "linear: weight must be 2-D [N, K], got %d dims", w->ndim);
    int64_t K = dit_tensor_cols(x), M = dit_tensor_rows(x), N = w->ne[0];
    if (w->ne[1] != K)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "linear: x has %lld columns but weight is [%lld, %lld]", (long long)K,
                        (long long)w->ne[0], (long long)w->ne[1]);
    if (dit_tensor_cols(out) != N || dit_tensor_rows(out) != M)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "linear: out must be [%lld, %lld], got %lld x %lld", (long long)M,
                        (long long)N, (long long)dit_tensor_rows(out), (long long)dit_tensor_cols(out));
    if (b) {
        DIT_TRY(dit_check_operand(be, "linear", "bias", b, DIT_MASK(DIT_DTYPE_F32)));
        DIT_TRY(dit_check_numel(be, "linear", "bias", b, N));
    }
    return DIT_OK;
}

dit_status dit_check_vec(dit_backend *be, const char *op, const char *name, const dit_tensor *v, int64_t C) {
    if (!v) return DIT_OK;
    DIT_TRY(dit_check_operand(be, op, name, v, DIT_MASK(DIT_DTYPE_F32)));
    return dit_check_numel(be, op, name, v, C);
}

dit_status dit_check_layer_norm(dit_backend *be, const dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                const dit_tensor *beta, const dit_tensor *scale, const dit_tensor *shift,
                                unsigned x_mask, unsigned out_mask) {
    DIT_TRY(dit_check_operand(be, "layer_norm", "x", x, x_mask));
    DIT_TRY(dit_check_operand(be, "layer_norm", "out", out, out_mask));
    DIT_TRY(dit_check_same_shape(be, "layer_norm", "out", out, "x", x));
    const int64_t C = dit_tensor_cols(x);
    DIT_TRY(dit_check_vec(be, "layer_norm", "gamma", gamma, C));
    DIT_TRY(dit_check_vec(be, "layer_norm", "beta", beta, C));
    DIT_TRY(dit_check_vec(be, "layer_norm", "scale", scale, C));
    return dit_check_vec(be, "layer_norm", "shift", shift, C);
}

dit_status dit_check_rms_norm(dit_backend *be, const dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                              unsigned x_mask, unsigned out_mask) {
    DIT_TRY(dit_check_operand(be, "rms_norm", "x", x, x_mask));
    DIT_TRY(dit_check_operand(be, "rms_norm", "out", out, out_mask));
    DIT_TRY(dit_check_same_shape(be, "rms_norm", "out", out, "x", x));
    return dit_check_vec(be, "rms_norm", "gamma", gamma, dit_tensor_cols(x));
}

dit_status dit_check_gated_add(dit_backend *be, const dit_tensor *x, const dit_tensor *y, const dit_tensor *gate,
                               unsigned y_mask) {
    DIT_TRY(dit_check_operand(be, "gated_add", "x", x, DIT_MASK(DIT_DTYPE_F32)));
    DIT_TRY(dit_check_operand(be, "gated_add", "y", y, y_mask));
    DIT_TRY(dit_check_same_shape(be, "gated_add", "x", x, "y", y));
    return dit_check_vec(be, "gated_add", "gate", gate, dit_tensor_cols(x));
}

dit_status dit_check_unary(dit_backend *be, const char *op, const dit_tensor *out, const dit_tensor *x,
                           unsigned x_mask) {
    DIT_TRY(dit_check_operand(be, op, "x", x, x_mask));
    DIT_TRY(dit_check_operand(be, op, "out", out, DIT_MASK(x->dtype)));
    return dit_check_numel(be, op, "out", out, dit_tensor_numel(x));
}

dit_status dit_check_binary(dit_backend *be, const char *op, const dit_tensor *out, const dit_tensor *a,
                            const dit_tensor *b, unsigned a_mask) {
    DIT_TRY(dit_check_operand(be, op, "a", a, a_mask));
    DIT_TRY(dit_check_operand(be, op, "b", b, DIT_MASK(a->dtype)));
    DIT_TRY(dit_check_operand(be, op, "out", out, DIT_MASK(a->dtype)));
    DIT_TRY(dit_check_numel(be, op, "b", b, dit_tensor_numel(a)));
    return dit_check_numel(be, op, "out", out, dit_tensor_numel(a));
}
