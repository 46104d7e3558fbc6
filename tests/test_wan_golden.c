/* test_wan_golden.c — the C Wan DiT forward against diffusers' WanTransformer3DModel.
 *
 * Goldens come from tools/gen_wan_goldens.py (random weights, fp32 forward).
 * For every config and both checkpoint layouts: load, run the forward on the
 * stored latent / timestep / context (real rows only; the C side zero-pads to
 * 512), and require relative L2 <= 1e-4 against the stored velocity.
 * Also checks that the two layouts give bit-identical outputs. */
#include "../models/wan/wan_dit.h"
#include "test_util.h"

static float *read_io(io_safetensors *io, const char *name, int64_t *n) {
    const io_st_tensor *t = io_safetensors_find(io, name);
    if (!t) return NULL;
    *n = io_st_tensor_numel(t);
    float *buf = malloc((size_t)*n * sizeof(float));
    dit_err err = {0};
    if (io_st_tensor_to_f32(t, buf, *n, "io", &err) != DIT_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static float *run_one(const char *dir, io_safetensors *io, dit_backend *be, double *rel, int64_t *nout) {
    dit_err err = {0};
    wan_dit *m = NULL;
    if (wan_dit_load(dir, be, &m, &err) != DIT_OK) {
        CHECK(0, "load %s: %s", dir, err.msg);
        return NULL;
    }
    int64_t nl, nc, nt, nv;
    float *x = read_io(io, "latent", &nl), *ctx = read_io(io, "context", &nc), *ts = read_io(io, "timestep", &nt);
    float *ref = read_io(io, "velocity", &nv);
    const io_st_tensor *lt = io_safetensors_find(io, "latent");
    wan_run run;
    float *out = NULL;
    if (x && ctx && ts && ref && wan_run_init(&run, m, lt->shape[1], lt->shape[2], lt->shape[3], &err) == DIT_OK) {
        out = malloc((size_t)nv * sizeof(float));
        if (wan_dit_forward(&run, x, ts[0], ctx, nc / m->cfg.text_dim, out, &err) != DIT_OK) {
            CHECK(0, "forward %s: %s", dir, err.msg);
            free(out);
            out = NULL;
        } else {
            *rel = rel_l2(out, ref, (size_t)nv);
            *nout = nv;
        }
        wan_run_free(&run);
    } else {
        CHECK(0, "inputs or run for %s: %s", dir, err.msg);
    }
    free(x), free(ctx), free(ts), free(ref);
    wan_dit_free(&m);
    return out;
}

/* The attention policy plumbing: Rectified with every block kept runs the Gilbert token order
 * (permuted tokens and RoPE rows, un-permuted at the head) and must reproduce the dense output;
 * SLA on a checkpoint without proj_l must fail with a clear message. */
static void test_policies(dit_backend *be) {
    char d[512], p[512];
    snprintf(d, sizeof d, "%s/wan_small_diffusers", SPADIT_TEST_DATA);
    snprintf(p, sizeof p, "%s/wan_small_io.safetensors", SPADIT_TEST_DATA);
    dit_err err = {0};
    wan_dit *m = NULL;
    io_safetensors *io = NULL;
    if (wan_dit_load(d, be, &m, &err) != DIT_OK || io_safetensors_open(p, &io, &err) != DIT_OK) {
        CHECK(0, "%s", err.msg);
        return;
    }
    int64_t nl, nc, nt, nv;
    float *x = read_io(io, "latent", &nl), *ctx = read_io(io, "context", &nc), *ts = read_io(io, "timestep", &nt);
    float *ref = read_io(io, "velocity", &nv);
    float *o1 = malloc((size_t)nv * 4), *o2 = malloc((size_t)nv * 4);
    const io_st_tensor *lt = io_safetensors_find(io, "latent");
    wan_run run;
    CHECK(wan_run_init(&run, m, lt->shape[1], lt->shape[2], lt->shape[3], &err) == DIT_OK, "%s", err.msg);
    CHECK(wan_dit_forward(&run, x, ts[0], ctx, nc / m->cfg.text_dim, o1, &err) == DIT_OK, "%s", err.msg);
    attn_policy pol = attn_policy_dense();
    pol.sparse = attn_params_default(ATTN_METHOD_RECTIFIED);
    pol.sparse.rect.drop_rate = 0.0f;
    CHECK(wan_run_set_policy(&run, &pol, &err) == DIT_OK && run.order && run.neighbor, "rectified policy: %s", err.msg);
    CHECK(wan_dit_forward(&run, x, ts[0], ctx, nc / m->cfg.text_dim, o2, &err) == DIT_OK, "%s", err.msg);
    double e = rel_l2(o2, o1, (size_t)nv);
    printf("rectified (all blocks kept, Gilbert order) vs dense: rel L2 %.3e\n", e);
    CHECK(e < 1e-5, "rectified all-blocks vs dense %.3e", e);
    CHECK(rel_l2(o2, ref, (size_t)nv) < 1e-4, "rectified all-blocks vs diffusers");
    pol.sparse = attn_params_default(ATTN_METHOD_SLA);
    CHECK(wan_run_set_policy(&run, &pol, &err) == DIT_OK && !run.order, "sla policy restores grid order");
    CHECK(wan_dit_forward(&run, x, ts[0], ctx, nc / m->cfg.text_dim, o2, &err) == DIT_ERR_MISSING &&
              strstr(err.msg, "proj_l"),
          "sla without proj_l: %s", err.msg);
    wan_run_free(&run);
    free(x), free(ctx), free(ts), free(ref), free(o1), free(o2);
    io_safetensors_close(&io);
    wan_dit_free(&m);
}

int main(void) {
    const char *names[] = {"wan_small", "wan_tiny32"};
    dit_err err = {0};
    dit_backend *be = NULL;
    if (dit_backend_create("cpu", &be, &err) != DIT_OK) {
        printf("cpu backend: %s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < 2; i++) {
        char p[512], d1[512], d2[512];
        snprintf(p, sizeof p, "%s/%s_io.safetensors", SPADIT_TEST_DATA, names[i]);
        snprintf(d1, sizeof d1, "%s/%s_original", SPADIT_TEST_DATA, names[i]);
        snprintf(d2, sizeof d2, "%s/%s_diffusers", SPADIT_TEST_DATA, names[i]);
        io_safetensors *io = NULL;
        if (io_safetensors_open(p, &io, &err) != DIT_OK) {
            CHECK(0, "%s", err.msg);
            continue;
        }
        double r1 = 1, r2 = 1;
        int64_t n1 = 0, n2 = 0;
        float *o1 = run_one(d1, io, be, &r1, &n1), *o2 = run_one(d2, io, be, &r2, &n2);
        printf("%s: original layout rel L2 %.3e, diffusers layout rel L2 %.3e\n", names[i], r1, r2);
        CHECK(o1 && r1 <= 1e-4, "%s original: rel L2 %.3e > 1e-4", names[i], r1);
        CHECK(o2 && r2 <= 1e-4, "%s diffusers: rel L2 %.3e > 1e-4", names[i], r2);
        if (o1 && o2 && n1 == n2) {
            double d = max_abs_diff(o1, o2, (size_t)n1);
            /* same weights (bf16 in both) must give identical outputs; f16 vs f32 files hold the same values too */
            CHECK(d == 0.0, "%s: layouts differ by max %.3e", names[i], d);
        }
        free(o1), free(o2);
        io_safetensors_close(&io);
    }
    test_policies(be);
    dit_backend_destroy(&be);
    return test_summary("test_wan_golden");
}
