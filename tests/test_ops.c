/* test_ops.c — every CPU backend op against a naive loop or a hand-computed value,
 * plus operand validation (wrong dtype / shape / device give errors, not crashes).
 * The CUDA backend is checked against these same ops in tests/test_ops_cuda.c. */
#include <math.h>

#include "../attention/attn.h"
#include "../dit/arena.h"
#include "../dit/patch.h"
#include "../dit/rng.h"
#include "test_util.h"

static dit_backend *be;
static dit_rng rng;

static float *randv(size_t n, float s) {
    float *p = malloc(n * sizeof(float));
    dit_rng_fill_normal(&rng, p, n, s);
    return p;
}

static void test_linear(void) {
    int64_t M = 7, K = 13, N = 5;
    float *x = randv((size_t)(M * K), 1), *w = randv((size_t)(N * K), 1), *b = randv((size_t)N, 1);
    float *o = malloc((size_t)(M * N) * 4), *ref = malloc((size_t)(M * N) * 4);
    dit_tensor tx = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, x, M, K);
    dit_tensor tw = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, w, N, K);
    dit_tensor tb = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, b, N);
    dit_tensor to = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, o, M, N);
    dit_act acts[] = {DIT_ACT_NONE, DIT_ACT_GELU_TANH, DIT_ACT_GELU_ERF, DIT_ACT_SILU};
    for (int a = 0; a < 4; a++) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = b[j];
                for (int64_t k = 0; k < K; k++) s += (double)x[i * K + k] * w[j * K + k];
                double v = s;
                if (acts[a] == DIT_ACT_GELU_TANH) v = 0.5 * s * (1 + tanh(sqrt(2 / M_PI) * (s + 0.044715 * s * s * s)));
                if (acts[a] == DIT_ACT_GELU_ERF) v = 0.5 * s * (1 + erf(s / sqrt(2.0)));
                if (acts[a] == DIT_ACT_SILU) v = s / (1 + exp(-s));
                ref[i * N + j] = (float)v;
            }
        CHECK(be->ops->linear(be, &to, &tx, &tw, &tb, acts[a]) == DIT_OK, "%s", be->err.msg);
        double e = rel_l2(o, ref, (size_t)(M * N));
        CHECK(e < 1e-6, "linear act %d rel %.3e", a, e);
    }
    /* shape error names the mismatch */
    dit_tensor bad = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, w, N, K - 1);
    CHECK(be->ops->linear(be, &to, &tx, &bad, NULL, DIT_ACT_NONE) == DIT_ERR_SHAPE && strstr(be->err.msg, "13 columns"),
          "got: %s", be->err.msg);
    dit_tensor bf = tx;
    bf.dtype = DIT_DTYPE_BF16;
    CHECK(be->ops->linear(be, &to, &bf, &tw, NULL, DIT_ACT_NONE) == DIT_ERR_UNSUPPORTED && strstr(be->err.msg, "BF16"),
          "got: %s", be->err.msg);
    dit_tensor gpu = tx;
    gpu.device = DIT_DEVICE_CUDA;
    CHECK(be->ops->linear(be, &to, &gpu, &tw, NULL, DIT_ACT_NONE) == DIT_ERR_INVALID_ARG && strstr(be->err.msg, "GPU"),
          "got: %s", be->err.msg);
    free(x), free(w), free(b), free(o), free(ref);
}

static void test_norms(void) {
    int64_t M = 5, C = 33;
    float *x = randv((size_t)(M * C), 3), *g = randv((size_t)C, 1), *bt = randv((size_t)C, 1);
    float *sc = randv((size_t)C, 1), *sh = randv((size_t)C, 1);
    float *o = malloc((size_t)(M * C) * 4), *ref = malloc((size_t)(M * C) * 4);
    for (int64_t i = 0; i < M * C; i++) x[i] += 2.0f; /* non-zero mean */
    dit_tensor tx = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, x, M, C), to = tx;
    to.data = o;
    dit_tensor tg = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, g, C), tb = tg, ts = tg, th = tg;
    tb.data = bt, ts.data = sc, th.data = sh;
    for (int variant = 0; variant < 3; variant++) {
        for (int64_t i = 0; i < M; i++) {
            double mu = 0, var = 0;
            for (int64_t j = 0; j < C; j++) mu += x[i * C + j];
            mu /= C;
            for (int64_t j = 0; j < C; j++) var += (x[i * C + j] - mu) * (x[i * C + j] - mu);
            var /= C;
            for (int64_t j = 0; j < C; j++) {
                double v = (x[i * C + j] - mu) / sqrt(var + 1e-6);
                if (variant == 1) v = v * g[j] + bt[j];
                if (variant == 2) v = v * (1 + sc[j]) + sh[j];
                ref[i * C + j] = (float)v;
            }
        }
        dit_status s = variant == 0   ? be->ops->layer_norm(be, &to, &tx, NULL, NULL, NULL, NULL, 1e-6f)
                       : variant == 1 ? be->ops->layer_norm(be, &to, &tx, &tg, &tb, NULL, NULL, 1e-6f)
                                      : be->ops->layer_norm(be, &to, &tx, NULL, NULL, &ts, &th, 1e-6f);
        CHECK(s == DIT_OK, "%s", be->err.msg);
        CHECK(rel_l2(o, ref, (size_t)(M * C)) < 1e-6, "layer_norm variant %d", variant);
    }
    for (int64_t i = 0; i < M; i++) {
        double ss = 0;
        for (int64_t j = 0; j < C; j++) ss += (double)x[i * C + j] * x[i * C + j];
        for (int64_t j = 0; j < C; j++) ref[i * C + j] = (float)(x[i * C + j] / sqrt(ss / C + 1e-6) * g[j]);
    }
    CHECK(be->ops->rms_norm(be, &to, &tx, &tg, 1e-6f) == DIT_OK, "%s", be->err.msg);
    CHECK(rel_l2(o, ref, (size_t)(M * C)) < 1e-6, "rms_norm");
    /* in place (out aliases x) gives the same */
    CHECK(be->ops->rms_norm(be, &tx, &tx, &tg, 1e-6f) == DIT_OK && rel_l2(x, ref, (size_t)(M * C)) < 1e-6, "rms in place");
    dit_tensor short_g = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, g, C - 1);
    CHECK(be->ops->rms_norm(be, &to, &tx, &short_g, 1e-6f) == DIT_ERR_SHAPE && strstr(be->err.msg, "gamma"), "got %s",
          be->err.msg);
    free(x), free(g), free(bt), free(sc), free(sh), free(o), free(ref);
}

static void test_rope(void) {
    /* table: token (f, i, j) = (2, 3, 5) in a 4x6x7 grid; D = 128: pairs 0..21 use f, 22..42 i, 43..63 j */
    int64_t Fp = 4, Hp = 6, Wp = 7, n = (2 * Hp + 3) * Wp + 5;
    float tab[128];
    dit_rope3d_table(Fp, Hp, Wp, 128, 10000.0, NULL, n, 1, tab);
    CHECK(fabs(tab[0] - cos(2.0)) < 1e-6 && fabs(tab[1] - sin(2.0)) < 1e-6, "pair 0 angle = f");
    double a1 = 2.0 * pow(10000.0, -2.0 / 44.0);
    CHECK(fabs(tab[2] - cos(a1)) < 1e-6, "pair 1 angle = f * 10000^(-2/44)");
    CHECK(fabs(tab[44] - cos(3.0)) < 1e-6 && fabs(tab[45] - sin(3.0)) < 1e-6, "pair 22 angle = i");
    double a23 = 3.0 * pow(10000.0, -2.0 / 42.0);
    CHECK(fabs(tab[46] - cos(a23)) < 1e-6, "pair 23 angle = i * 10000^(-2/42)");
    CHECK(fabs(tab[86] - cos(5.0)) < 1e-6 && fabs(tab[87] - sin(5.0)) < 1e-6, "pair 43 angle = j");
    /* apply to x[1, 2, 128]: each pair rotated as a complex number */
    float *x = randv(256, 1), *o = malloc(256 * 4);
    memcpy(o, x, 256 * 4);
    dit_tensor tx = dit_tensor_3d(DIT_DTYPE_F32, DIT_DEVICE_CPU, o, 1, 2, 128);
    dit_tensor tt = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, tab, 1, 128);
    CHECK(be->ops->rope(be, &tx, &tt) == DIT_OK, "%s", be->err.msg);
    double worst = 0;
    for (int h = 0; h < 2; h++)
        for (int p = 0; p < 64; p++) {
            double re = x[h * 128 + 2 * p], im = x[h * 128 + 2 * p + 1], c = tab[2 * p], s = tab[2 * p + 1];
            worst = fmax(worst, fabs(o[h * 128 + 2 * p] - (re * c - im * s)));
            worst = fmax(worst, fabs(o[h * 128 + 2 * p + 1] - (re * s + im * c)));
        }
    CHECK(worst < 1e-6, "rope max err %.3e", worst);
    /* permuted order: row r of the table = grid token order[r] */
    int64_t order[2] = {n, 0};
    float tab2[256];
    dit_rope3d_table(Fp, Hp, Wp, 128, 10000.0, order, 0, 2, tab2);
    CHECK(!memcmp(tab2, tab, sizeof tab) && tab2[128] == 1.0f && tab2[129] == 0.0f, "ordered table rows");
    free(x), free(o);
}

static void test_elementwise(void) {
    int64_t M = 4, C = 9;
    float *x = randv((size_t)(M * C), 1), *y = randv((size_t)(M * C), 1), *g = randv((size_t)C, 1);
    float *x0 = malloc((size_t)(M * C) * 4), *o = malloc((size_t)(M * C) * 4);
    memcpy(x0, x, (size_t)(M * C) * 4);
    dit_tensor tx = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, x, M, C), ty = tx, to = tx;
    ty.data = y, to.data = o;
    dit_tensor tg = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, g, C);
    CHECK(be->ops->gated_add(be, &tx, &ty, &tg) == DIT_OK, "%s", be->err.msg);
    double w = 0;
    for (int64_t i = 0; i < M * C; i++) w = fmax(w, fabs(x[i] - (x0[i] + y[i] * g[i % C])));
    CHECK(w < 1e-6, "gated_add");
    CHECK(be->ops->add(be, &to, &tx, &ty) == DIT_OK && fabs(o[5] - (x[5] + y[5])) < 1e-6, "add");
    CHECK(be->ops->mul(be, &to, &tx, &ty) == DIT_OK && fabs(o[7] - x[7] * y[7]) < 1e-6, "mul");
    CHECK(be->ops->activation(be, &to, &ty, DIT_ACT_SILU) == DIT_OK && fabs(o[3] - y[3] / (1 + expf(-y[3]))) < 1e-6,
          "silu");
    dit_tensor shorter = ty;
    shorter.ne[0] = 3;
    CHECK(be->ops->add(be, &to, &tx, &shorter) == DIT_ERR_SHAPE, "add shape check");
    free(x), free(y), free(g), free(x0), free(o);
}

static void test_patchify(void) {
    dit_grid g = {3, 2, 4, 6, 1, 2, 2};
    int64_t n = 3 * 2 * 4 * 6, N = dit_grid_tokens(&g), P = dit_grid_patch_dim(&g);
    CHECK(N == 12 && P == 12, "grid sizes");
    float *lat = malloc((size_t)n * 4), *tok = malloc((size_t)(N * P) * 4), *back = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) lat[i] = (float)i;
    dit_patchify(&g, lat, tok);
    /* token (f=1, i=1, j=2) -> n = (1*2+1)*3+2 = 11; element (c=2, dy=1, dx=0) -> index (2*2+1)*2+0 = 10,
     * value = latent[c=2][f=1][y=3][x=4] */
    CHECK(tok[11 * P + 10] == lat[((2 * 2 + 1) * 4 + 3) * 6 + 4], "patchify order (c, dy, dx)");
    /* unpatchify is channel-innermost: y[n, (dy*2+dx)*C + c] */
    float *y = malloc((size_t)(N * P) * 4);
    for (int64_t t = 0; t < N; t++)
        for (int64_t c = 0; c < 3; c++)
            for (int k = 0; k < 4; k++) y[t * P + k * 3 + c] = tok[t * P + c * 4 + k];
    dit_unpatchify(&g, y, back);
    CHECK(!memcmp(back, lat, (size_t)n * 4), "unpatchify(channel-innermost) inverts patchify");
    free(lat), free(tok), free(back), free(y);
}

static void test_attention(void) {
    int64_t Sq = 37, Sk = 300, H = 3, D = 16, valid = 290;
    float *q = randv((size_t)(Sq * H * D), 1), *k = randv((size_t)(Sk * H * D), 1), *v = randv((size_t)(Sk * H * D), 1);
    float *bias = randv((size_t)(H * Sq * Sk), 1), *o = malloc((size_t)(Sq * H * D) * 4), *ref = malloc((size_t)(Sq * H * D) * 4);
    float scale = 0.7f;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Sq; i++) {
            double mx = -1e300, den = 0, acc[64] = {0};
            double *s = malloc((size_t)Sk * sizeof(double));
            for (int64_t j = 0; j < valid; j++) {
                double d = 0;
                for (int64_t c = 0; c < D; c++) d += (double)q[(i * H + h) * D + c] * k[(j * H + h) * D + c];
                s[j] = d * scale + bias[(h * Sq + i) * Sk + j];
                mx = fmax(mx, s[j]);
            }
            for (int64_t j = 0; j < valid; j++) {
                double p = exp(s[j] - mx);
                den += p;
                for (int64_t c = 0; c < D; c++) acc[c] += p * v[(j * H + h) * D + c];
            }
            for (int64_t c = 0; c < D; c++) ref[(i * H + h) * D + c] = (float)(acc[c] / den);
            free(s);
        }
    dit_tensor tq = dit_tensor_3d(DIT_DTYPE_F32, DIT_DEVICE_CPU, q, Sq, H, D);
    dit_tensor tk = dit_tensor_3d(DIT_DTYPE_F32, DIT_DEVICE_CPU, k, Sk, H, D), tv = tk, to = tq;
    tv.data = v, to.data = o;
    dit_tensor tb = dit_tensor_3d(DIT_DTYPE_F32, DIT_DEVICE_CPU, bias, H, Sq, Sk);
    attn_ctx *ctx;
    CHECK(attn_ctx_create(be, &ctx) == DIT_OK, "ctx");
    attn_call call;
    memset(&call, 0, sizeof call);
    call.params = attn_params_default(ATTN_METHOD_DENSE);
    call.scale = scale;
    call.bias = &tb;
    call.kv_valid = valid;
    attn_stats st;
    st.selected_per_head = NULL;
    CHECK(attn_forward(ctx, &call, &to, &tq, &tk, &tv, &st) == DIT_OK, "%s", be->err.msg);
    double e = rel_l2(o, ref, (size_t)(Sq * H * D));
    CHECK(e < 1e-5, "dense attention with bias and key mask rel %.3e", e);
    CHECK(st.method == ATTN_METHOD_DENSE && st.heads == 3 && st.sparsity == 0, "stats");
    dit_tensor wrong = tk;
    wrong.ne[2] = 8;
    CHECK(attn_forward(ctx, &call, &to, &tq, &wrong, &tv, NULL) == DIT_ERR_SHAPE, "attention shape check");
    attn_ctx_destroy(&ctx);
    free(q), free(k), free(v), free(bias), free(o), free(ref);
}

static void test_convert_and_arena(void) {
    float vals[6] = {1.0f, -2.5f, 3.14159f, 65504.0f, 1e-5f, -0.0f};
    uint16_t h[6];
    float back[6];
    dit_convert_from_f32(h, DIT_DTYPE_F16, vals, 6);
    dit_convert_to_f32(back, h, DIT_DTYPE_F16, 6);
    CHECK(back[0] == 1.0f && back[1] == -2.5f && back[3] == 65504.0f && fabs(back[2] - 3.14159f) < 2e-3, "f16 round trip");
    dit_convert_from_f32(h, DIT_DTYPE_BF16, vals, 6);
    dit_convert_to_f32(back, h, DIT_DTYPE_BF16, 6);
    CHECK(back[0] == 1.0f && back[1] == -2.5f && fabs(back[2] - 3.14159f) < 2e-2, "bf16 round trip");
    CHECK(dit_f32_to_bf16(1.00390625f) == 0x3f80, "bf16 ties to even"); /* 1 + 2^-8 rounds down to 1 */
    dit_arena a;
    CHECK(dit_arena_init(&a, be, 1024) == DIT_OK, "arena");
    dit_tensor t1, t2;
    CHECK(dit_arena_tensor_2d(&a, &t1, "small", DIT_DTYPE_F32, 4, 4) == DIT_OK, "arena alloc");
    CHECK(dit_arena_tensor_2d(&a, &t2, "too big", DIT_DTYPE_F32, 64, 64) != DIT_OK && strstr(be->err.msg, "too big"),
          "arena overflow names the tensor: %s", be->err.msg);
    dit_arena_free(&a);
}

int main(void) {
    dit_err err = {0};
    if (dit_backend_create("cpu", &be, &err) != DIT_OK) return printf("%s\n", err.msg), 1;
    dit_rng_seed(&rng, 42);
    test_linear();
    test_norms();
    test_rope();
    test_elementwise();
    test_patchify();
    test_attention();
    test_convert_and_arena();
    dit_backend *other = NULL;
    CHECK(dit_backend_create("tpu", &other, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "tpu") && !other,
          "unknown backend");
    dit_backend_destroy(&be);
    return test_summary("test_ops");
}
