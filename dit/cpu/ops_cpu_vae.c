/* ops_cpu_vae.c — the video-VAE ops of the CPU backend (layout [C, T, H, W], f32):
 * conv3d, channel_norm (Wan's RMS_norm), upsample2x, transpose, copy_frames.
 *
 * conv3d never builds a whole-clip im2col.  It works per (row tile, input frame):
 * the spatial kh x kw patches of one input frame's rows are unrolled into a
 * column buffer [Ci*kh*kw, rows*Wo] once, then one OpenBLAS sgemm per temporal
 * tap dt accumulates W[:, :, dt] . col into the output frame that tap feeds
 * (to = ti + pt0 - dt).  Zero padding in time is the absence of a GEMM; the
 * weights are repacked per call into [kt][Co][Ci*kh*kw] (tiny next to the
 * activations).  1x1 spatial kernels skip the unrolling and read the frame in
 * place; 1x1x1 kernels are a single GEMM.  The column buffer is capped at
 * COL_BYTES and lives in the backend's workspace, so steady-state calls do no
 * allocation.  The row tiles go to the OpenMP threads dynamically, each with its
 * own column buffer and single-threaded sgemms into its own output rows
 * (dit/cpu_gemm.h: why not OpenBLAS's threads); elementwise loops use OpenMP.
 *
 * Checked by tests/test_ops_vae.c against naive loops (odd sizes, every padding
 * combination, aliasing cases) and end to end by tests/test_vae.c.
 */
#include "cpu_internal.h"

#include <cblas.h>  /* cblas_sgemm */
#include <limits.h> /* INT_MAX */
#include <math.h>   /* sqrt */
#include <string.h> /* memset, memcpy, memmove */

#include "../cpu_gemm.h" /* dit_cpu_sgemm, dit_cpu_blas_serial_begin/end, dit_cpu_tile */
#include "../op_check.h" /* dit_check_operand, DIT_MASK */

#include <omp.h> /* omp_get_thread_num */

#define F32 DIT_MASK(DIT_DTYPE_F32)
#define COL_BYTES ((size_t)4 << 20) /* target size of one conv3d column buffer */
#define NORM_BLOCK 256              /* positions per channel_norm work item */
#define PAR_MIN ((int64_t)1 << 15)  /* elements below which a loop stays on one thread */

static dit_status need_ndim(dit_backend *be, const char *op, const char *name, const dit_tensor *t, int nd,
                            const char *layout) {
    if (t->ndim != nd) {
        char s[96];
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "%s: operand '%s' must be %d-D %s, got %s", op, name, nd, layout,
                        dit_shape_str(t, s, sizeof s));
    }
    return DIT_OK;
}

/* out[co, ...] = b[co] (or 0) over a [Co, n] view. */
static void fill_bias(float *o, const float *b, int64_t Co, int64_t n) {
#pragma omp parallel for schedule(dynamic, dit_cpu_chunk(Co)) if (Co * n >= PAR_MIN)
    for (int64_t c = 0; c < Co; c++) {
        float v = b ? b[c] : 0.0f;
        float *row = o + c * n;
        for (int64_t i = 0; i < n; i++) row[i] = v;
    }
}

/* Unroll rows [r0, r0+m) of input frame ti into col[Ci*kh*kw, m*Wo]. */
static void im2col_frame(float *col, const float *x, int64_t Ci, int64_t T, int64_t H, int64_t W, int64_t ti,
                         int64_t r0, int64_t m, int64_t kh, int64_t kw, int64_t ph, int64_t pw, int64_t Wo) {
    const int64_t K2 = Ci * kh * kw, N = m * Wo;
#pragma omp parallel for schedule(static) if (K2 * N >= PAR_MIN)
    for (int64_t k = 0; k < K2; k++) {
        int64_t ci = k / (kh * kw), rem = k % (kh * kw), dy = rem / kw, dx = rem % kw;
        const float *src = x + (ci * T + ti) * H * W;
        float *dst = col + k * N;
        int64_t lo = pw - dx > 0 ? pw - dx : 0;
        int64_t hi = W + pw - dx < Wo ? W + pw - dx : Wo;
        if (hi < lo) hi = lo;
        for (int64_t r = 0; r < m; r++) {
            int64_t yi = r0 + r + dy - ph;
            float *d = dst + r * Wo;
            if (yi < 0 || yi >= H || hi == lo) {
                memset(d, 0, (size_t)Wo * sizeof(float));
                continue;
            }
            if (lo > 0) memset(d, 0, (size_t)lo * sizeof(float));
            memcpy(d + lo, src + yi * W + (lo + dx - pw), (size_t)(hi - lo) * sizeof(float));
            if (hi < Wo) memset(d + hi, 0, (size_t)(Wo - hi) * sizeof(float));
        }
    }
}

dit_status dit_cpu_conv3d(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *w,
                          const dit_tensor *b, int pt0, int pt1, int ph, int pw) {
    DIT_TRY(dit_check_operand(be, "conv3d", "x", x, F32));
    DIT_TRY(dit_check_operand(be, "conv3d", "w", w, F32));
    DIT_TRY(dit_check_operand(be, "conv3d", "out", out, F32));
    DIT_TRY(need_ndim(be, "conv3d", "x", x, 4, "[Ci, T, H, W]"));
    DIT_TRY(need_ndim(be, "conv3d", "w", w, 5, "[Co, Ci, kt, kh, kw]"));
    DIT_TRY(need_ndim(be, "conv3d", "out", out, 4, "[Co, To, Ho, Wo]"));
    if (pt0 < 0 || pt1 < 0 || ph < 0 || pw < 0)
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "conv3d: paddings must be >= 0 (got pt0 %d, pt1 %d, ph %d, pw %d)",
                        pt0, pt1, ph, pw);
    const int64_t Ci = x->ne[0], T = x->ne[1], H = x->ne[2], W = x->ne[3];
    const int64_t Co = w->ne[0], kt = w->ne[2], kh = w->ne[3], kw = w->ne[4];
    if (w->ne[1] != Ci)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "conv3d: weight expects %lld input channels, x has %lld",
                        (long long)w->ne[1], (long long)Ci);
    const int64_t To = T + pt0 + pt1 - kt + 1, Ho = H + 2 * ph - kh + 1, Wo = W + 2 * pw - kw + 1;
    if (To < 1 || Ho < 1 || Wo < 1)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE,
                        "conv3d: kernel %lldx%lldx%lld does not fit the padded input %lldx%lldx%lld",
                        (long long)kt, (long long)kh, (long long)kw, (long long)(T + pt0 + pt1),
                        (long long)(H + 2 * ph), (long long)(W + 2 * pw));
    if (out->ne[0] != Co || out->ne[1] != To || out->ne[2] != Ho || out->ne[3] != Wo) {
        char s[96];
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "conv3d: out must be [%lld, %lld, %lld, %lld], got %s", (long long)Co,
                        (long long)To, (long long)Ho, (long long)Wo, dit_shape_str(out, s, sizeof s));
    }
    if (b) {
        DIT_TRY(dit_check_operand(be, "conv3d", "bias", b, F32));
        DIT_TRY(dit_check_numel(be, "conv3d", "bias", b, Co));
    }
    if (To * Ho * Wo > INT_MAX || T * H * W > INT_MAX || Ci * kt * kh * kw > INT_MAX)
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "conv3d: per-channel extent exceeds the BLAS int range");
    float *o = (float *)out->data;
    const float *xi = (const float *)x->data, *wt = (const float *)w->data;
    const int64_t HWo = Ho * Wo, HWi = H * W, K2 = Ci * kh * kw, ldo = To * HWo;
    fill_bias(o, b ? (const float *)b->data : NULL, Co, ldo);
    if (Co == 0 || K2 == 0) return DIT_OK;

    /* 1x1x1 without padding: one GEMM over all frames. */
    if (kt == 1 && kh == 1 && kw == 1 && ph == 0 && pw == 0 && pt0 == 0) {
        dit_cpu_sgemm(CblasNoTrans, CblasNoTrans, (int)Co, (int)(T * HWi), (int)Ci, 1.0f, wt, (int)Ci, xi,
                      (int)(T * HWi), 1.0f, o, (int)ldo);
        return DIT_OK;
    }
    int direct = kh == 1 && kw == 1 && ph == 0 && pw == 0; /* read frames in place */
    const int nt0 = dit_cpu_blas_serial_begin(); /* restored at the end */
    int nt = nt0;
    /* row tiles: ~4 per thread, at least 256 output pixels each, a column buffer of at most COL_BYTES */
    int64_t nr = dit_cpu_tile((int)Ho, nt, (int)((256 + Wo - 1) / Wo));
    if (!direct) {
        size_t row_bytes = (size_t)K2 * (size_t)Wo * sizeof(float);
        int64_t cap = (int64_t)(COL_BYTES / (row_bytes ? row_bytes : 1));
        if (nr > cap) nr = cap;
    }
    if (nr < 1) nr = 1;
    if (nr > Ho) nr = Ho;
    const int64_t ntiles = (Ho + nr - 1) / nr;
    if (nt > ntiles) nt = (int)ntiles;
    size_t wk_floats = kt > 1 ? (size_t)(Co * kt * K2) : 0;
    size_t col_floats = direct ? 0 : (size_t)(K2 * nr * Wo) + 16; /* one buffer per thread */
    float *ws = NULL;
    dit_status st = dit_cpu_workspace(be, (wk_floats + (size_t)nt * col_floats + 16) * sizeof(float), &ws);
    if (st != DIT_OK) {
        dit_cpu_blas_serial_end(nt0);
        return st;
    }
    const float *wk = wt; /* [kt][Co][K2] */
    if (kt > 1) {
        float *rp = ws;
#pragma omp parallel for schedule(static) num_threads(nt) if (Co * Ci * kt * kh * kw >= PAR_MIN)
        for (int64_t co = 0; co < Co; co++)
            for (int64_t ci = 0; ci < Ci; ci++)
                for (int64_t dt = 0; dt < kt; dt++)
                    memcpy(rp + (dt * Co + co) * K2 + ci * kh * kw, wt + ((co * Ci + ci) * kt + dt) * kh * kw,
                           (size_t)(kh * kw) * sizeof(float));
        wk = rp;
    }
    /* Row tiles over the threads (dynamic): each thread unrolls its rows of every input frame into
     * its own column buffer and runs single-threaded sgemms into its own output rows. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (ntiles > 1)
    for (int64_t tix = 0; tix < ntiles; tix++) {
        float *col = ws + wk_floats + (size_t)omp_get_thread_num() * col_floats;
        int64_t r0 = tix * nr, m = Ho - r0 < nr ? Ho - r0 : nr;
        for (int64_t ti = 0; ti < T; ti++) {
            int used = 0;
            for (int64_t dt = 0; dt < kt; dt++) {
                int64_t to = ti + pt0 - dt;
                if (to < 0 || to >= To) continue;
                const float *B;
                int ldb;
                if (direct) {
                    B = xi + ti * HWi + r0 * Wo;
                    ldb = (int)(T * HWi);
                } else {
                    if (!used) im2col_frame(col, xi, Ci, T, H, W, ti, r0, m, kh, kw, ph, pw, Wo);
                    B = col;
                    ldb = (int)(m * Wo);
                }
                used = 1;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Co, (int)(m * Wo), (int)K2, 1.0f,
                            wk + dt * Co * K2, (int)K2, B, ldb, 1.0f, o + to * HWo + r0 * Wo, (int)ldo);
            }
        }
    }
    dit_cpu_blas_serial_end(nt0);
    return DIT_OK;
}

dit_status dit_cpu_channel_norm(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                const dit_tensor *beta) {
    DIT_TRY(dit_check_operand(be, "channel_norm", "x", x, F32));
    DIT_TRY(dit_check_operand(be, "channel_norm", "out", out, F32));
    if (!dit_tensor_same_shape(out, x)) {
        char s1[96], s2[96];
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "channel_norm: out %s and x %s differ", dit_shape_str(out, s1, sizeof s1),
                        dit_shape_str(x, s2, sizeof s2));
    }
    const int64_t C = x->ndim ? x->ne[0] : 1, S = C ? dit_tensor_numel(x) / C : 0;
    if (gamma) {
        DIT_TRY(dit_check_operand(be, "channel_norm", "gamma", gamma, F32));
        DIT_TRY(dit_check_numel(be, "channel_norm", "gamma", gamma, C));
    }
    if (beta) {
        DIT_TRY(dit_check_operand(be, "channel_norm", "beta", beta, F32));
        DIT_TRY(dit_check_numel(be, "channel_norm", "beta", beta, C));
    }
    const float *xi = (const float *)x->data, *g = gamma ? gamma->data : NULL, *bt = beta ? beta->data : NULL;
    float *o = (float *)out->data;
    const float scale = (float)sqrt((double)C);
    const int64_t nblk = (S + NORM_BLOCK - 1) / NORM_BLOCK;
#pragma omp parallel for schedule(dynamic, dit_cpu_chunk(nblk)) if (C * S >= PAR_MIN)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t s0 = blk * NORM_BLOCK, n = S - s0 < NORM_BLOCK ? S - s0 : NORM_BLOCK;
        double ss[NORM_BLOCK];
        float inv[NORM_BLOCK];
        for (int64_t i = 0; i < n; i++) ss[i] = 0.0;
        for (int64_t c = 0; c < C; c++) {
            const float *xr = xi + c * S + s0;
            for (int64_t i = 0; i < n; i++) ss[i] += (double)xr[i] * xr[i];
        }
        for (int64_t i = 0; i < n; i++) {
            double nrm = sqrt(ss[i]);
            inv[i] = (float)(1.0 / (nrm > 1e-12 ? nrm : 1e-12)); /* F.normalize: x / max(||x||, 1e-12) */
        }
        for (int64_t c = 0; c < C; c++) {
            const float *xr = xi + c * S + s0;
            float *orow = o + c * S + s0;
            float gc = scale * (g ? g[c] : 1.0f), bc = bt ? bt[c] : 0.0f;
            for (int64_t i = 0; i < n; i++) orow[i] = xr[i] * inv[i] * gc + bc;
        }
    }
    return DIT_OK;
}

dit_status dit_cpu_upsample2x(dit_backend *be, dit_tensor *out, const dit_tensor *x) {
    DIT_TRY(dit_check_operand(be, "upsample2x", "x", x, F32));
    DIT_TRY(dit_check_operand(be, "upsample2x", "out", out, F32));
    DIT_TRY(need_ndim(be, "upsample2x", "x", x, 4, "[C, T, H, W]"));
    DIT_TRY(need_ndim(be, "upsample2x", "out", out, 4, "[C, T, 2H, 2W]"));
    const int64_t C = x->ne[0], T = x->ne[1], H = x->ne[2], W = x->ne[3];
    if (out->ne[0] != C || out->ne[1] != T || out->ne[2] != 2 * H || out->ne[3] != 2 * W) {
        char s[96];
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "upsample2x: out must be [%lld, %lld, %lld, %lld], got %s",
                        (long long)C, (long long)T, (long long)(2 * H), (long long)(2 * W),
                        dit_shape_str(out, s, sizeof s));
    }
    const float *xi = (const float *)x->data;
    float *o = (float *)out->data;
    const int64_t rows = C * T * H;
#pragma omp parallel for schedule(dynamic, dit_cpu_chunk(rows)) if (rows * W >= PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *src = xi + r * W;
        float *d0 = o + 2 * r * 2 * W; /* output rows 2y and 2y+1 of the same plane */
        for (int64_t j = 0; j < W; j++) d0[2 * j] = d0[2 * j + 1] = src[j];
        memcpy(d0 + 2 * W, d0, (size_t)(2 * W) * sizeof(float));
    }
    return DIT_OK;
}

#define TR_BLOCK 32

dit_status dit_cpu_transpose(dit_backend *be, dit_tensor *out, const dit_tensor *x) {
    DIT_TRY(dit_check_operand(be, "transpose", "x", x, F32));
    DIT_TRY(dit_check_operand(be, "transpose", "out", out, F32));
    const int64_t R = dit_tensor_rows(x), C = dit_tensor_cols(x);
    if (dit_tensor_numel(out) != R * C || dit_tensor_cols(out) != R) {
        char s1[96], s2[96];
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "transpose: x %s is [%lld, %lld] as a matrix, out %s must be [%lld, %lld]",
                        dit_shape_str(x, s1, sizeof s1), (long long)R, (long long)C, dit_shape_str(out, s2, sizeof s2),
                        (long long)C, (long long)R);
    }
    if (out->data == x->data && R > 1 && C > 1)
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "transpose: out must not alias x");
    const float *xi = (const float *)x->data;
    float *o = (float *)out->data;
    const int64_t nbr = (R + TR_BLOCK - 1) / TR_BLOCK;
#pragma omp parallel for schedule(dynamic, dit_cpu_chunk(nbr)) if (R * C >= PAR_MIN)
    for (int64_t bi = 0; bi < nbr; bi++) {
        int64_t i0 = bi * TR_BLOCK, i1 = i0 + TR_BLOCK < R ? i0 + TR_BLOCK : R;
        for (int64_t j0 = 0; j0 < C; j0 += TR_BLOCK) {
            int64_t j1 = j0 + TR_BLOCK < C ? j0 + TR_BLOCK : C;
            for (int64_t j = j0; j < j1; j++)
                for (int64_t i = i0; i < i1; i++) o[j * R + i] = xi[i * C + j];
        }
    }
    return DIT_OK;
}

dit_status dit_cpu_copy_frames(dit_backend *be, dit_tensor *dst, int64_t d0, const dit_tensor *src, int64_t s0,
                               int64_t n) {
    DIT_TRY(dit_check_operand(be, "copy_frames", "src", src, F32));
    DIT_TRY(dit_check_operand(be, "copy_frames", "dst", dst, F32));
    DIT_TRY(need_ndim(be, "copy_frames", "src", src, 4, "[C, T, H, W]"));
    DIT_TRY(need_ndim(be, "copy_frames", "dst", dst, 4, "[C, T, H, W]"));
    if (src->ne[0] != dst->ne[0] || src->ne[2] != dst->ne[2] || src->ne[3] != dst->ne[3]) {
        char s1[96], s2[96];
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "copy_frames: src %s and dst %s differ in channels or frame size",
                        dit_shape_str(src, s1, sizeof s1), dit_shape_str(dst, s2, sizeof s2));
    }
    if (n < 0 || s0 < 0 || d0 < 0 || s0 + n > src->ne[1] || d0 + n > dst->ne[1])
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG,
                        "copy_frames: frames [%lld, %lld) of src (%lld frames) -> [%lld, %lld) of dst (%lld frames) out "
                        "of range",
                        (long long)s0, (long long)(s0 + n), (long long)src->ne[1], (long long)d0, (long long)(d0 + n),
                        (long long)dst->ne[1]);
    const int64_t C = src->ne[0], HW = src->ne[2] * src->ne[3], Ts = src->ne[1], Td = dst->ne[1];
    const float *si = (const float *)src->data;
    float *di = (float *)dst->data;
    if (n == 0 || HW == 0) return DIT_OK;
    for (int64_t c = 0; c < C; c++) /* memmove: the same tensor may be both src and dst */
        memmove(di + (c * Td + d0) * HW, si + (c * Ts + s0) * HW, (size_t)(n * HW) * sizeof(float));
    return DIT_OK;
}
