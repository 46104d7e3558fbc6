/* test_turbowan.c — TurboDiffusion's TurboWan checkpoints through the .pth reader and the
 * original-layout key mapping (tests/data/turbowan_tiny*, from tools/gen_turbowan_goldens.py).
 *
 * 1. turbowan_tiny.pth (flat state dict, no config.json beside it, 2-D Linear patch
 *    embedding, bf16 + f32 tensors, proj_l per block) loads; the config inferred from its
 *    shapes is the generator's; `wan_variant` names it TurboWan.
 * 2. Its dense and SLA velocities equal those of the same values in the original Wan layout
 *    with a config.json (turbowan_tiny_ref), bit for bit; the proj_l tensors are equal.
 * 3. Errors: a copy missing layer 1's proj_l names the tensors; the -quant.pth (int8 linear
 *    layers) is refused with a message saying so; a dense checkpoint is not called TurboWan;
 *    config inference on a diffusers-layout checkpoint names the tensor it lacks.
 */
#include <stdlib.h> /* mkdtemp */

#include "../dit/rng.h"               /* dit_rng: inputs */
#include "../io/safetensors_write.h"  /* io_safetensors_write: the copy without one proj_l */
#include "../models/wan/wan_dit.h"     /* wan_dit_load, wan_dit_forward */
#include "../models/wan/wan_variant.h" /* wan_variant_*, wan_config_infer */
#include "test_util.h"

#define F_ 2
#define H_ 16
#define W_ 16
#define CTX_ROWS 7

static char g_pth[512], g_quant[512], g_ref[512];

static void forward(wan_dit *m, const attn_policy *pol, const float *x, const float *ctx, float *out) {
    wan_run run;
    dit_err err = {0};
    CHECK(wan_run_init(&run, m, F_, H_, W_, &err) == DIT_OK, "run init: %s", err.msg);
    if (err.code) return;
    if (pol) CHECK(wan_run_set_policy(&run, pol, &err) == DIT_OK, "policy: %s", err.msg);
    CHECK(wan_dit_forward(&run, x, 987.0, ctx, CTX_ROWS, out, &err) == DIT_OK, "forward: %s", err.msg);
    wan_run_free(&run);
}

static void test_load_and_equal(dit_backend *be) {
    dit_err err = {0};
    wan_dit *mt = NULL, *mr = NULL;
    CHECK(wan_dit_load(g_pth, be, &mt, &err) == DIT_OK, "load %s: %s", g_pth, err.msg);
    CHECK(wan_dit_load(g_ref, be, &mr, &err) == DIT_OK, "load %s: %s", g_ref, err.msg);
    if (!mt || !mr) {
        wan_dit_free(&mt), wan_dit_free(&mr);
        return;
    }
    const wan_config *c = &mt->cfg, *r = &mr->cfg;
    CHECK(c->dim == 32 && c->heads == 2 && c->head_dim == 16 && c->ffn_dim == 48 && c->layers == 2 &&
              c->text_dim == 32 && c->freq_dim == 64 && c->in_dim == 16 && c->out_dim == 16 && c->patch[0] == 1 &&
              c->patch[1] == 2 && c->patch[2] == 2 && c->qk_norm && c->cross_attn_norm,
          "inferred config: dim %d heads %d x %d ffn %d layers %d text %d freq %d in/out %d/%d", c->dim, c->heads,
          c->head_dim, c->ffn_dim, c->layers, c->text_dim, c->freq_dim, c->in_dim, c->out_dim);
    CHECK(c->dim == r->dim && c->heads == r->heads && c->ffn_dim == r->ffn_dim && c->layers == r->layers &&
              c->text_dim == r->text_dim && c->freq_dim == r->freq_dim && c->eps == r->eps,
          "inferred config differs from the reference's config.json");
    CHECK(mt->has_proj_l && mr->has_proj_l && mt->layout == WAN_LAYOUT_ORIGINAL, "proj_l %d/%d, layout %d",
          mt->has_proj_l, mr->has_proj_l, (int)mt->layout);
    for (int b = 0; b < c->layers && mt->has_proj_l && mr->has_proj_l; b++) {
        const dit_tensor *wt = &mt->blocks[b].proj_l_w, *wr = &mr->blocks[b].proj_l_w;
        CHECK(wt->dtype == DIT_DTYPE_F32 && dit_tensor_nbytes(wt) == 16 * 16 * 4 &&
                  memcmp(wt->data, wr->data, dit_tensor_nbytes(wt)) == 0 &&
                  memcmp(mt->blocks[b].proj_l_b.data, mr->blocks[b].proj_l_b.data, 16 * 4) == 0,
              "block %d: proj_l differs from the reference", b);
    }

    const size_t nx = (size_t)16 * F_ * H_ * W_, nc = (size_t)CTX_ROWS * 32;
    float *x = malloc(nx * 4), *ctx = malloc(nc * 4), *o1 = calloc(nx, 4), *o2 = calloc(nx, 4);
    if (x && ctx && o1 && o2) {
        dit_rng rng;
        dit_rng_seed(&rng, 15);
        dit_rng_fill_normal(&rng, x, nx, 1.0f);
        dit_rng_fill_normal(&rng, ctx, nc, 1.0f);
        forward(mt, NULL, x, ctx, o1);
        forward(mr, NULL, x, ctx, o2);
        double dense_rms = 0;
        for (size_t i = 0; i < nx; i++) dense_rms += (double)o1[i] * o1[i];
        CHECK(dense_rms > 0 && max_abs_diff(o1, o2, nx) == 0.0, "dense: TurboWan .pth vs original layout differ by %.3e",
              max_abs_diff(o1, o2, nx));
        attn_policy pol = attn_policy_dense();
        pol.sparse = attn_params_default(ATTN_METHOD_SLA);
        float *o3 = calloc(nx, 4);
        if (o3) {
            forward(mt, &pol, x, ctx, o2);
            forward(mr, &pol, x, ctx, o3);
            CHECK(max_abs_diff(o2, o3, nx) == 0.0, "sla: TurboWan .pth vs original layout differ by %.3e",
                  max_abs_diff(o2, o3, nx));
            CHECK(max_abs_diff(o1, o2, nx) > 0.0, "sla gave the dense output: proj_l or the sparse path unused");
            printf("turbowan tiny: dense == reference, sla == reference, sla vs dense max diff %.3e\n",
                   max_abs_diff(o1, o2, nx));
            free(o3);
        }
    }
    free(x), free(ctx), free(o1), free(o2);
    wan_dit_free(&mt);
    wan_dit_free(&mr);
}

/* The reference folder copied to a temp dir without blocks.1's proj_l (weight and bias). */
static void test_missing_proj_l(dit_backend *be) {
    char ref_st[600], dir[] = "/tmp/spadit_turbowan_XXXXXX", path[700], cfg_src[600], cfg_dst[700];
    snprintf(ref_st, sizeof ref_st, "%s/diffusion_pytorch_model.safetensors", g_ref);
    snprintf(cfg_src, sizeof cfg_src, "%s/config.json", g_ref);
    dit_err err = {0};
    io_safetensors *io = NULL;
    if (!mkdtemp(dir) || io_safetensors_open(ref_st, &io, &err) != DIT_OK) {
        CHECK(0, "setup: %s", err.msg);
        return;
    }
    io_st_out *outs = calloc((size_t)io->n, sizeof *outs);
    int n = 0;
    for (int i = 0; outs && i < io->n; i++) {
        const io_st_tensor *t = &io->tensors[i];
        if (strstr(t->name, "blocks.1.") && strstr(t->name, "proj_l")) continue;
        outs[n].name = t->name, outs[n].dtype = t->dtype, outs[n].ndim = t->ndim, outs[n].data = t->data;
        memcpy(outs[n].shape, t->shape, sizeof t->shape);
        n++;
    }
    snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors", dir);
    snprintf(cfg_dst, sizeof cfg_dst, "%s/config.json", dir);
    CHECK(outs && n == io->n - 2 && io_safetensors_write(path, outs, n, NULL, 0, &err) == DIT_OK, "write copy: %s",
          err.msg);
    FILE *fi = fopen(cfg_src, "rb"), *fo = fopen(cfg_dst, "wb");
    char buf[4096];
    size_t k;
    while (fi && fo && (k = fread(buf, 1, sizeof buf, fi)) > 0) fwrite(buf, 1, k, fo);
    if (fi) fclose(fi);
    if (fo) fclose(fo);
    wan_dit *m = NULL;
    dit_err_clear(&err);
    dit_status s = wan_dit_load(dir, be, &m, &err);
    CHECK(s == DIT_ERR_MISSING && strstr(err.msg, "blocks.1.self_attn.attn_op.local_attn.proj_l.weight") &&
              strstr(err.msg, "blocks.1.self_attn.attn_op.local_attn.proj_l.bias"),
          "missing proj_l in layer 1: %s", err.msg);
    wan_dit_free(&m);
    remove(path), remove(cfg_dst), remove(dir);
    free(outs);
    io_safetensors_close(&io);
}

static void test_variants_and_quant(dit_backend *be) {
    dit_err err = {0};
    wan_variant v = WAN_VARIANT_DENSE;
    CHECK(wan_dit_probe_variant(g_pth, &v, &err) == DIT_OK && v == WAN_VARIANT_TURBOWAN &&
              !strcmp(wan_variant_name(v), "TurboWan (SLA fine-tune)"),
          "variant of %s: %d %s", g_pth, (int)v, err.msg);
    CHECK(wan_dit_probe_variant(g_quant, &v, &err) == DIT_OK && v == WAN_VARIANT_TURBOWAN_INT8, "variant of -quant: %d",
          (int)v);
    char dense[512];
    snprintf(dense, sizeof dense, "%s/wan_small_original", SPADIT_TEST_DATA);
    CHECK(wan_dit_probe_variant(dense, &v, &err) == DIT_OK && v == WAN_VARIANT_DENSE, "variant of %s: %d", dense,
          (int)v);
    wan_dit *m = NULL;
    dit_err_clear(&err);
    CHECK(wan_dit_load(g_quant, be, &m, &err) == DIT_ERR_UNSUPPORTED && strstr(err.msg, "int8") &&
              strstr(err.msg, "-quant"),
          "-quant.pth: %s", err.msg);
    wan_dit_free(&m);
    /* config inference refuses what it cannot read */
    io_weights *iw = NULL;
    char st[600];
    snprintf(st, sizeof st, "%s/wan_small_diffusers", SPADIT_TEST_DATA);
    wan_config c;
    CHECK(io_weights_open(st, "diffusion_pytorch_model", &iw, &err) == DIT_OK, "open %s: %s", st, err.msg);
    if (iw) {
        CHECK(wan_config_infer(iw, st, &c, &err) == DIT_ERR_MISSING && strstr(err.msg, "text_embedding.0.weight"),
              "infer on the diffusers layout: %s", err.msg);
        io_weights_close(&iw);
    }
}

int main(void) {
    snprintf(g_pth, sizeof g_pth, "%s/turbowan_tiny/turbowan_tiny.pth", SPADIT_TEST_DATA);
    snprintf(g_quant, sizeof g_quant, "%s/turbowan_tiny/turbowan_tiny-quant.pth", SPADIT_TEST_DATA);
    snprintf(g_ref, sizeof g_ref, "%s/turbowan_tiny_ref", SPADIT_TEST_DATA);
    dit_err err = {0};
    dit_backend *be = NULL;
    if (dit_backend_create("cpu", &be, &err) != DIT_OK) {
        printf("cpu backend: %s\n", err.msg);
        return 1;
    }
    test_load_and_equal(be);
    test_missing_proj_l(be);
    test_variants_and_quant(be);
    dit_backend_destroy(&be);
    return test_summary("test_turbowan");
}
