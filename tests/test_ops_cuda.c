/* test_ops_cuda.c — the CUDA backend against the CPU backend (the oracle):
 * every op on random inputs (bf16 operands where the CUDA backend narrows),
 * dense attention (cuDNN SDPA for self and cross shapes; the biased/masked
 * kernel), deterministic fill, an impossible allocation reported as OOM, and
 * the whole Wan forward on the golden models against diffusers (rel L2 <= 1e-2).
 * Skips (exit 77) when the build has no CUDA or no GPU is usable. */
#include <math.h>

#include "../attention/attn.h"
#include "../dit/comm.h"
#include "../dit/patch.h"
#include "../dit/rng.h"
#include "../models/wan/vae.h"
#include "../models/wan/wan_dit.h"
#include "test_util.h"

static dit_backend *cpu, *gpu;
static dit_rng rng;

/* Host f32 -> tensor on `be` with dtype dt (values rounded to dt first so both sides see the same numbers). */
static dit_tensor mk(dit_backend *be, dit_dtype dt, float *host, int ndim, const int64_t *ne) {
    dit_tensor t;
    dit_backend_tensor_alloc(be, &t, dt, ndim, ne);
    int64_t n = dit_tensor_numel(&t);
    if (dt == DIT_DTYPE_BF16)
        for (int64_t i = 0; i < n; i++) host[i] = dit_bf16_to_f32(dit_f32_to_bf16(host[i]));
    dit_backend_upload_f32(be, &t, host);
    return t;
}
static float *rnd(int64_t n, float s) {
    float *p = malloc((size_t)n * sizeof(float));
    dit_rng_fill_normal(&rng, p, (size_t)n, s);
    return p;
}
static float *dl(dit_backend *be, const dit_tensor *t) {
    float *p = malloc((size_t)dit_tensor_numel(t) * sizeof(float));
    dit_backend_download_f32(be, p, t);
    return p;
}
static void rel_check(const char *what, dit_backend *b, const dit_tensor *tg, const dit_tensor *tc, double tol) {
    float *a = dl(b, tg), *r = dl(cpu, tc);
    double e = rel_l2(a, r, (size_t)dit_tensor_numel(tc));
    printf("  %-40s rel L2 %.3e\n", what, e);
    CHECK(e <= tol, "%s: rel L2 %.3e > %.1e", what, e, tol);
    free(a), free(r);
}

static void test_linear(void) {
    int64_t M = 300, K = 264, N = 200;
    int64_t sx[2] = {M, K}, sw[2] = {N, K}, sb[1] = {N}, so[2] = {M, N};
    float *x = rnd(M * K, 1), *w = rnd(N * K, 0.06f), *b = rnd(N, 0.1f);
    dit_tensor xg = mk(gpu, DIT_DTYPE_BF16, x, 2, sx), wg = mk(gpu, DIT_DTYPE_BF16, w, 2, sw), bg = mk(gpu, DIT_DTYPE_F32, b, 1, sb);
    dit_tensor xc = mk(cpu, DIT_DTYPE_F32, x, 2, sx), wc = mk(cpu, DIT_DTYPE_F32, w, 2, sw), bc = mk(cpu, DIT_DTYPE_F32, b, 1, sb);
    dit_tensor oc, og16, og32;
    dit_backend_tensor_alloc(cpu, &oc, DIT_DTYPE_F32, 2, so);
    dit_backend_tensor_alloc(gpu, &og16, DIT_DTYPE_BF16, 2, so);
    dit_backend_tensor_alloc(gpu, &og32, DIT_DTYPE_F32, 2, so);
    dit_act acts[4] = {DIT_ACT_NONE, DIT_ACT_GELU_TANH, DIT_ACT_SILU, DIT_ACT_GELU_ERF};
    for (int a = 0; a < 4; a++) {
        for (int withb = 0; withb < 2; withb++) {
            cpu->ops->linear(cpu, &oc, &xc, &wc, withb ? &bc : NULL, acts[a]);
            CHECK(gpu->ops->linear(gpu, &og16, &xg, &wg, withb ? &bg : NULL, acts[a]) == DIT_OK, "%s", gpu->err.msg);
            CHECK(gpu->ops->linear(gpu, &og32, &xg, &wg, withb ? &bg : NULL, acts[a]) == DIT_OK, "%s", gpu->err.msg);
            char nm[64];
            snprintf(nm, sizeof nm, "linear bf16->bf16 act %d bias %d", a, withb);
            rel_check(nm, gpu, &og16, &oc, 8e-3);
            snprintf(nm, sizeof nm, "linear bf16->f32 act %d bias %d", a, withb);
            rel_check(nm, gpu, &og32, &oc, 1e-4);
        }
    }
    /* f32 x f32 (time MLP / head) */
    dit_tensor xf = mk(gpu, DIT_DTYPE_F32, x, 2, sx), wf = mk(gpu, DIT_DTYPE_F32, w, 2, sw);
    cpu->ops->linear(cpu, &oc, &xc, &wc, &bc, DIT_ACT_SILU);
    CHECK(gpu->ops->linear(gpu, &og32, &xf, &wf, &bg, DIT_ACT_SILU) == DIT_OK, "%s", gpu->err.msg);
    rel_check("linear f32 (silu)", gpu, &og32, &oc, 1e-5);
    dit_tensor *all[] = {&xg, &wg, &bg, &og16, &og32, &xf, &wf};
    for (int i = 0; i < 7; i++) dit_backend_tensor_free(gpu, all[i]);
    dit_tensor *allc[] = {&xc, &wc, &bc, &oc};
    for (int i = 0; i < 4; i++) dit_backend_tensor_free(cpu, allc[i]);
    free(x), free(w), free(b);
}

static void test_norms(void) {
    int64_t M = 97, H = 3, D = 128, C = H * D;
    int64_t sx[2] = {M, C}, sv[1] = {C}, st[2] = {M, D};
    float *x = rnd(M * C, 2), *g = rnd(C, 0.2f), *bt = rnd(C, 0.2f), *sc = rnd(C, 0.3f), *sh = rnd(C, 0.3f);
    for (int64_t i = 0; i < C; i++) g[i] += 1.0f;
    float *tab = malloc((size_t)(M * D) * 4);
    dit_rope3d_table(2, 7, 7, (int)D, 10000.0, NULL, 0, M, tab);
    dit_tensor xg = mk(gpu, DIT_DTYPE_F32, x, 2, sx), xc = mk(cpu, DIT_DTYPE_F32, x, 2, sx);
    dit_tensor gg = mk(gpu, DIT_DTYPE_F32, g, 1, sv), gc = mk(cpu, DIT_DTYPE_F32, g, 1, sv);
    dit_tensor bg = mk(gpu, DIT_DTYPE_F32, bt, 1, sv), bc = mk(cpu, DIT_DTYPE_F32, bt, 1, sv);
    dit_tensor scg = mk(gpu, DIT_DTYPE_F32, sc, 1, sv), scc = mk(cpu, DIT_DTYPE_F32, sc, 1, sv);
    dit_tensor shg = mk(gpu, DIT_DTYPE_F32, sh, 1, sv), shc = mk(cpu, DIT_DTYPE_F32, sh, 1, sv);
    dit_tensor tg = mk(gpu, DIT_DTYPE_F32, tab, 2, st), tc = mk(cpu, DIT_DTYPE_F32, tab, 2, st);
    dit_tensor oc, og, og32;
    dit_backend_tensor_alloc(cpu, &oc, DIT_DTYPE_F32, 2, sx);
    dit_backend_tensor_alloc(gpu, &og, DIT_DTYPE_BF16, 2, sx);
    dit_backend_tensor_alloc(gpu, &og32, DIT_DTYPE_F32, 2, sx);
    cpu->ops->layer_norm(cpu, &oc, &xc, NULL, NULL, &scc, &shc, 1e-6f);
    CHECK(gpu->ops->layer_norm(gpu, &og, &xg, NULL, NULL, &scg, &shg, 1e-6f) == DIT_OK, "%s", gpu->err.msg);
    rel_check("layer_norm + modulation -> bf16", gpu, &og, &oc, 6e-3);
    cpu->ops->layer_norm(cpu, &oc, &xc, &gc, &bc, NULL, NULL, 1e-6f);
    CHECK(gpu->ops->layer_norm(gpu, &og32, &xg, &gg, &bg, NULL, NULL, 1e-6f) == DIT_OK, "%s", gpu->err.msg);
    rel_check("layer_norm affine -> f32", gpu, &og32, &oc, 1e-5);
    /* rms + rope: bf16 input (GEMM output) -> bf16 */
    dit_tensor qg = mk(gpu, DIT_DTYPE_BF16, x, 2, sx), qc = mk(cpu, DIT_DTYPE_F32, x, 2, sx);
    CHECK(dit_op_rms_norm_rope(cpu, &oc, &qc, &gc, &tc, (int)H, 1e-6f) == DIT_OK, "%s", cpu->err.msg);
    CHECK(dit_op_rms_norm_rope(gpu, &qg, &qg, &gg, &tg, (int)H, 1e-6f) == DIT_OK, "%s", gpu->err.msg);
    rel_check("rms_norm + rope (fused, in place)", gpu, &qg, &oc, 6e-3);
    CHECK(gpu->ops->rms_norm(gpu, &og32, &xg, &gg, 1e-6f) == DIT_OK, "%s", gpu->err.msg);
    cpu->ops->rms_norm(cpu, &oc, &xc, &gc, 1e-6f);
    rel_check("rms_norm f32", gpu, &og32, &oc, 1e-5);
    /* gated add: x f32 += y bf16 * gate */
    dit_tensor y2g = mk(gpu, DIT_DTYPE_BF16, x, 2, sx), y2c = mk(cpu, DIT_DTYPE_F32, x, 2, sx);
    cpu->ops->gated_add(cpu, &xc, &y2c, &scc);
    CHECK(gpu->ops->gated_add(gpu, &xg, &y2g, &scg) == DIT_OK, "%s", gpu->err.msg);
    rel_check("gated_add", gpu, &xg, &xc, 1e-6);
    cpu->ops->activation(cpu, &oc, &xc, DIT_ACT_GELU_TANH);
    CHECK(gpu->ops->activation(gpu, &og32, &xg, DIT_ACT_GELU_TANH) == DIT_OK, "%s", gpu->err.msg);
    rel_check("activation gelu_tanh", gpu, &og32, &oc, 1e-5);
    cpu->ops->mul(cpu, &oc, &xc, &xc);
    CHECK(gpu->ops->mul(gpu, &og32, &xg, &xg) == DIT_OK, "%s", gpu->err.msg);
    rel_check("mul", gpu, &og32, &oc, 1e-6);
    dit_tensor *fg[] = {&xg, &gg, &bg, &scg, &shg, &tg, &og, &og32, &qg, &y2g};
    for (int i = 0; i < 10; i++) dit_backend_tensor_free(gpu, fg[i]);
    dit_tensor *fc[] = {&xc, &gc, &bc, &scc, &shc, &tc, &oc, &qc, &y2c};
    for (int i = 0; i < 9; i++) dit_backend_tensor_free(cpu, fc[i]);
    free(x), free(g), free(bt), free(sc), free(sh), free(tab);
}

static void test_fill(void) {
    int64_t n[1] = {100003};
    dit_tensor a, b;
    dit_backend_tensor_alloc(cpu, &a, DIT_DTYPE_F32, 1, n);
    dit_backend_tensor_alloc(gpu, &b, DIT_DTYPE_F32, 1, n);
    cpu->ops->fill_uniform(cpu, &a, 77, -2, 3);
    CHECK(gpu->ops->fill_uniform(gpu, &b, 77, -2, 3) == DIT_OK, "%s", gpu->err.msg);
    float *hb = dl(gpu, &b);
    CHECK(max_abs_diff(hb, a.data, (size_t)n[0]) < 1e-6, "fill_uniform identical on both backends");
    free(hb);
    dit_backend_tensor_free(gpu, &b);
    dit_backend_tensor_free(cpu, &a);
    void *p = NULL;
    CHECK(gpu->ops->alloc(gpu, (size_t)1 << 52, &p) == DIT_ERR_OOM && strstr(gpu->err.msg, "out of GPU memory"),
          "impossible allocation: %s", gpu->err.msg);
}

static void attn_case(const char *what, int64_t Sq, int64_t Sk, int64_t H, int64_t D, int bias, int64_t valid) {
    int64_t sq[3] = {Sq, H, D}, sk[3] = {Sk, H, D}, sb[3] = {H, Sq, Sk};
    float *q = rnd(Sq * H * D, 1), *k = rnd(Sk * H * D, 1), *v = rnd(Sk * H * D, 1), *bb = bias ? rnd(H * Sq * Sk, 1) : NULL;
    dit_tensor qg = mk(gpu, DIT_DTYPE_BF16, q, 3, sq), kg = mk(gpu, DIT_DTYPE_BF16, k, 3, sk), vg = mk(gpu, DIT_DTYPE_BF16, v, 3, sk);
    dit_tensor qc = mk(cpu, DIT_DTYPE_F32, q, 3, sq), kc = mk(cpu, DIT_DTYPE_F32, k, 3, sk), vc = mk(cpu, DIT_DTYPE_F32, v, 3, sk);
    dit_tensor og, oc, bg, bc;
    dit_backend_tensor_alloc(gpu, &og, DIT_DTYPE_BF16, 3, sq);
    dit_backend_tensor_alloc(cpu, &oc, DIT_DTYPE_F32, 3, sq);
    attn_call call;
    memset(&call, 0, sizeof call);
    call.params = attn_params_default(ATTN_METHOD_DENSE);
    call.kv_valid = valid;
    if (bias) {
        bg = mk(gpu, DIT_DTYPE_F32, bb, 3, sb);
        bc = mk(cpu, DIT_DTYPE_F32, bb, 3, sb);
        call.scale = 1.0f;
    }
    attn_ctx *cg, *cc;
    attn_ctx_create(gpu, &cg);
    attn_ctx_create(cpu, &cc);
    call.bias = bias ? &bc : NULL;
    CHECK(attn_forward(cc, &call, &oc, &qc, &kc, &vc, NULL) == DIT_OK, "%s", cpu->err.msg);
    call.bias = bias ? &bg : NULL;
    attn_stats st;
    st.selected_per_head = NULL;
    CHECK(attn_forward(cg, &call, &og, &qg, &kg, &vg, &st) == DIT_OK, "%s: %s", what, gpu->err.msg);
    rel_check(what, gpu, &og, &oc, 1e-2);
    CHECK(st.ms_total > 0, "%s: timed (%.3f ms)", what, st.ms_total);
    attn_ctx_destroy(&cg);
    attn_ctx_destroy(&cc);
    dit_tensor *g[] = {&qg, &kg, &vg, &og};
    for (int i = 0; i < 4; i++) dit_backend_tensor_free(gpu, g[i]);
    dit_tensor *c[] = {&qc, &kc, &vc, &oc};
    for (int i = 0; i < 4; i++) dit_backend_tensor_free(cpu, c[i]);
    if (bias) dit_backend_tensor_free(gpu, &bg), dit_backend_tensor_free(cpu, &bc);
    free(q), free(k), free(v), free(bb);
}

static void test_wan_golden(void) {
    const char *names[] = {"wan_small", "wan_tiny32"};
    for (int i = 0; i < 2; i++) {
        char p[512], d[512];
        snprintf(p, sizeof p, "%s/%s_io.safetensors", SPADIT_TEST_DATA, names[i]);
        snprintf(d, sizeof d, "%s/%s_diffusers", SPADIT_TEST_DATA, names[i]);
        dit_err err = {0};
        io_safetensors *io = NULL;
        wan_dit *m = NULL;
        if (io_safetensors_open(p, &io, &err) != DIT_OK || wan_dit_load(d, gpu, &m, &err) != DIT_OK) {
            CHECK(0, "%s", err.msg);
            io_safetensors_close(&io);
            continue;
        }
        const io_st_tensor *lt = io_safetensors_find(io, "latent"), *ct = io_safetensors_find(io, "context");
        const io_st_tensor *tt = io_safetensors_find(io, "timestep"), *vt = io_safetensors_find(io, "velocity");
        int64_t nl = io_st_tensor_numel(lt), nc = io_st_tensor_numel(ct), nv = io_st_tensor_numel(vt);
        float *x = malloc((size_t)nl * 4), *c = malloc((size_t)nc * 4), *ref = malloc((size_t)nv * 4), *out = malloc((size_t)nv * 4), t;
        io_st_tensor_to_f32(lt, x, nl, p, &err);
        io_st_tensor_to_f32(ct, c, nc, p, &err);
        io_st_tensor_to_f32(vt, ref, nv, p, &err);
        io_st_tensor_to_f32(tt, &t, 1, p, &err);
        wan_run run;
        if (wan_run_init(&run, m, lt->shape[1], lt->shape[2], lt->shape[3], &err) == DIT_OK) {
            CHECK(wan_dit_forward(&run, x, t, c, nc / m->cfg.text_dim, out, &err) == DIT_OK, "%s", err.msg);
            double e = rel_l2(out, ref, (size_t)nv);
            printf("  %-40s rel L2 %.3e\n", names[i], e);
            CHECK(e <= 1e-2, "%s on CUDA vs diffusers: rel L2 %.3e > 1e-2", names[i], e);
            wan_run_free(&run);
        } else {
            CHECK(0, "%s", err.msg);
        }
        free(x), free(c), free(ref), free(out);
        wan_dit_free(&m);
        io_safetensors_close(&io);
    }
}

/* The VAE ops against the CPU backend, then the golden VAE decoded on CUDA against diffusers. */
static void test_vae_ops(void) {
    int64_t sx[4] = {5, 4, 9, 7}, sw[5] = {6, 5, 3, 3, 3}, sb[1] = {6}, so[4] = {6, 2, 9, 7}, sg[1] = {5};
    float *x = rnd(5 * 4 * 9 * 7, 1), *w = rnd(6 * 5 * 27, 0.1f), *b = rnd(6, 0.1f), *g = rnd(5, 0.2f);
    dit_tensor xg = mk(gpu, DIT_DTYPE_F32, x, 4, sx), xc = mk(cpu, DIT_DTYPE_F32, x, 4, sx);
    dit_tensor wg = mk(gpu, DIT_DTYPE_F32, w, 5, sw), wc = mk(cpu, DIT_DTYPE_F32, w, 5, sw);
    dit_tensor bg = mk(gpu, DIT_DTYPE_F32, b, 1, sb), bc = mk(cpu, DIT_DTYPE_F32, b, 1, sb);
    dit_tensor gg = mk(gpu, DIT_DTYPE_F32, g, 1, sg), gc = mk(cpu, DIT_DTYPE_F32, g, 1, sg);
    dit_tensor og, oc, ng, nc, ug, uc, tg, tc;
    dit_backend_tensor_alloc(gpu, &og, DIT_DTYPE_F32, 4, so);
    dit_backend_tensor_alloc(cpu, &oc, DIT_DTYPE_F32, 4, so);
    CHECK(cpu->ops->conv3d(cpu, &oc, &xc, &wc, &bc, 0, 0, 1, 1) == DIT_OK, "%s", cpu->err.msg);
    CHECK(gpu->ops->conv3d(gpu, &og, &xg, &wg, &bg, 0, 0, 1, 1) == DIT_OK, "%s", gpu->err.msg);
    rel_check("conv3d 3x3x3 (cuDNN, TF32 allowed)", gpu, &og, &oc, 3e-3);
    CHECK(gpu->ops->conv3d(gpu, &og, &xg, &wg, &bg, 2, 0, 1, 1) == DIT_ERR_UNSUPPORTED, "asymmetric time pad refused");
    dit_backend_tensor_alloc(gpu, &ng, DIT_DTYPE_F32, 4, sx);
    dit_backend_tensor_alloc(cpu, &nc, DIT_DTYPE_F32, 4, sx);
    cpu->ops->channel_norm(cpu, &nc, &xc, &gc, NULL);
    CHECK(gpu->ops->channel_norm(gpu, &ng, &xg, &gg, NULL) == DIT_OK, "%s", gpu->err.msg);
    rel_check("channel_norm", gpu, &ng, &nc, 1e-5);
    int64_t su[4] = {5, 4, 18, 14};
    dit_backend_tensor_alloc(gpu, &ug, DIT_DTYPE_F32, 4, su);
    dit_backend_tensor_alloc(cpu, &uc, DIT_DTYPE_F32, 4, su);
    cpu->ops->upsample2x(cpu, &uc, &xc);
    CHECK(gpu->ops->upsample2x(gpu, &ug, &xg) == DIT_OK, "%s", gpu->err.msg);
    rel_check("upsample2x", gpu, &ug, &uc, 0);
    int64_t st2[2] = {9 * 7, 5 * 4};
    dit_tensor xg2 = xg, xc2 = xc;
    xg2.ndim = xc2.ndim = 2, xg2.ne[0] = xc2.ne[0] = 5 * 4, xg2.ne[1] = xc2.ne[1] = 9 * 7;
    dit_backend_tensor_alloc(gpu, &tg, DIT_DTYPE_F32, 2, st2);
    dit_backend_tensor_alloc(cpu, &tc, DIT_DTYPE_F32, 2, st2);
    cpu->ops->transpose(cpu, &tc, &xc2);
    CHECK(gpu->ops->transpose(gpu, &tg, &xg2) == DIT_OK, "%s", gpu->err.msg);
    rel_check("transpose", gpu, &tg, &tc, 0);
    /* copy_frames into destinations that start out identical (zeros): the result must be bit-exact */
    float *zero = calloc((size_t)5 * 4 * 9 * 7, sizeof(float));
    dit_tensor zg = mk(gpu, DIT_DTYPE_F32, zero, 4, sx), zc = mk(cpu, DIT_DTYPE_F32, zero, 4, sx);
    cpu->ops->copy_frames(cpu, &zc, 1, &xc, 0, 3);
    CHECK(gpu->ops->copy_frames(gpu, &zg, 1, &xg, 0, 3) == DIT_OK, "%s", gpu->err.msg);
    rel_check("copy_frames", gpu, &zg, &zc, 0);
    dit_backend_tensor_free(gpu, &zg), dit_backend_tensor_free(cpu, &zc), free(zero);
    dit_tensor *fg[] = {&xg, &wg, &bg, &gg, &og, &ng, &ug, &tg};
    for (int i = 0; i < 8; i++) dit_backend_tensor_free(gpu, fg[i]);
    dit_tensor *fc[] = {&xc, &wc, &bc, &gc, &oc, &nc, &uc, &tc};
    for (int i = 0; i < 8; i++) dit_backend_tensor_free(cpu, fc[i]);
    free(x), free(w), free(b), free(g);
    /* the golden VAE decode on CUDA vs diffusers fp32 */
    char dir[512], iop[512];
    snprintf(dir, sizeof dir, "%s/vae_a_diffusers", SPADIT_TEST_DATA);
    snprintf(iop, sizeof iop, "%s/vae_a_io.safetensors", SPADIT_TEST_DATA);
    dit_err err = {0};
    wan_vae *v = NULL;
    io_safetensors *io = NULL;
    if (wan_vae_load(dir, NULL, gpu, &v, &err) != DIT_OK || io_safetensors_open(iop, &io, &err) != DIT_OK) {
        CHECK(0, "vae_a on CUDA: %s", err.msg);
        wan_vae_free(&v);
        return;
    }
    const io_st_tensor *lt = io_safetensors_find(io, "latent"), *vt = io_safetensors_find(io, "video");
    int64_t nl = io_st_tensor_numel(lt), nv = io_st_tensor_numel(vt);
    float *z = malloc((size_t)nl * 4), *ref = malloc((size_t)nv * 4), *out = malloc((size_t)nv * 4);
    io_st_tensor_to_f32(lt, z, nl, iop, &err);
    io_st_tensor_to_f32(vt, ref, nv, iop, &err);
    CHECK(wan_vae_decode(v, z, lt->shape[1], lt->shape[2], lt->shape[3], NULL, out, NULL, &err) == DIT_OK, "%s", err.msg);
    double e = rel_l2(out, ref, (size_t)nv);
    printf("  %-40s rel L2 %.3e\n", "VAE decode (vae_a) on CUDA vs diffusers", e);
    CHECK(e <= 1e-2, "VAE on CUDA: rel L2 %.3e", e);
    free(z), free(ref), free(out);
    io_safetensors_close(&io);
    wan_vae_free(&v);
}

/* The multi-GPU building blocks on one GPU: swap01 (copy_2d) in bf16 against the CPU, and an NCCL
 * communicator of one rank (init from a unique id, the all-to-all's self copy, all-gather, destroy). */
static void test_parallel_ops(void) {
    const int64_t n = 333, P = 3, w = 256;
    int64_t ne[2] = {n, P * w};
    float *x = rnd(n * P * w, 1.0f);
    dit_tensor xg = mk(gpu, DIT_DTYPE_BF16, x, 2, ne), og, xc = mk(cpu, DIT_DTYPE_F32, x, 2, ne), oc;
    dit_backend_tensor_alloc(gpu, &og, DIT_DTYPE_BF16, 2, ne);
    dit_backend_tensor_alloc(cpu, &oc, DIT_DTYPE_F32, 2, ne);
    CHECK(dit_op_swap01(gpu, &og, &xg, n, P) == DIT_OK, "swap01 on CUDA: %s", gpu->err.msg);
    dit_op_swap01(cpu, &oc, &xc, n, P);
    float *a = dl(gpu, &og);
    CHECK(max_abs_diff(a, oc.data, (size_t)(n * P * w)) == 0, "swap01 bf16 [333, 3, 256] on CUDA equals the CPU");
    free(a);
    if (dit_comm_nccl_available()) {
        unsigned char id[DIT_NCCL_ID_BYTES];
        dit_err err = {0};
        dit_comm *c = NULL;
        dit_status st = dit_comm_nccl_unique_id(id, &err);
        if (st == DIT_OK) st = dit_comm_nccl_create(id, 1, 0, gpu, &c, &err);
        CHECK(st == DIT_OK, "NCCL communicator of one rank: %s", err.msg);
        if (st == DIT_OK) {
            size_t bytes[1] = {dit_tensor_nbytes(&xg)};
            CHECK(dit_comm_all_gather(c, xg.data, bytes, og.data) == DIT_OK, "NCCL all-gather: %s", c->err.msg);
            float *b = dl(gpu, &og), *r = dl(gpu, &xg);
            CHECK(max_abs_diff(b, r, (size_t)(n * P * w)) == 0, "NCCL all-gather of one rank copies its input");
            free(b), free(r);
            dit_comm_destroy(&c);
        }
    } else {
        printf("  (no NCCL in this build: the one-rank NCCL check is skipped)\n");
    }
    dit_backend_tensor_free(gpu, &xg), dit_backend_tensor_free(gpu, &og);
    dit_backend_tensor_free(cpu, &xc), dit_backend_tensor_free(cpu, &oc);
    free(x);
}

int main(void) {
    dit_err err = {0};
    if (dit_backend_create("cuda", &gpu, &err) != DIT_OK) {
        printf("SKIP: no usable CUDA backend: %s\n", err.msg);
        return 77;
    }
    dit_backend_create("cpu", &cpu, &err);
    dit_rng_seed(&rng, 7);
    test_linear();
    test_norms();
    test_fill();
    test_parallel_ops();
    attn_case("cuDNN SDPA self 1000x1000 H3 D128", 1000, 1000, 3, 128, 0, 0);
    attn_case("cuDNN SDPA cross 700x512 H2 D128", 700, 512, 2, 128, 0, 0);
    attn_case("cuDNN SDPA self 333x333 H4 D64", 333, 333, 4, 64, 0, 0);
    attn_case("bias + key mask (umT5) 77x77 H4 D64", 77, 77, 4, 64, 1, 60);
    attn_case("key mask only 50x64 H2 D32", 50, 64, 2, 32, 0, 41);
    test_wan_golden();
    test_vae_ops();
    dit_backend_destroy(&gpu);
    dit_backend_destroy(&cpu);
    return test_summary("test_ops_cuda");
}
