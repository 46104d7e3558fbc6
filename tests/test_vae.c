/* test_vae.c — the C Wan VAE decoder against diffusers' AutoencoderKLWan.
 *
 * Goldens from tools/gen_vae_goldens.py (random bf16 weights, fp32 decode):
 *   vae_a  diffusers folder (with encoder tensors to skip): untiled decode of a
 *          T = 4 latent (13 frames), its uint8 frames (Wan's cache_video), and a
 *          tiled decode (tile 48x40, stride 32x24 pixels) against diffusers'
 *          tiled_decode;
 *   vae_b  the Wan2.1 block structure in both layouts (diffusers folder, original
 *          single file); the two must give identical outputs.
 * Every decode must reach relative L2 <= 1e-4 and give 1 + 4(T-1) frames.  Also:
 * the activation arena equals wan_vae_memory()'s estimate and does not grow with
 * T (streaming), and bad checkpoints, configs and arguments fail with the
 * documented status and a message naming the culprit.
 */
#include <stdio.h>  /* FILE, fopen */
#include <stdlib.h> /* malloc, free, mkstemp */
#include <string.h> /* strstr */
#include <unistd.h> /* close, unlink */

#include "../io/safetensors.h" /* io_safetensors */
#include "../models/wan/vae.h" /* wan_vae_* */
#include "test_util.h"         /* CHECK, rel_l2, test_summary */

static float *read_f32(io_safetensors *io, const char *name, const io_st_tensor **info) {
    const io_st_tensor *t = io_safetensors_find(io, name);
    if (!t) return NULL;
    if (info) *info = t;
    int64_t n = io_st_tensor_numel(t);
    float *buf = malloc((size_t)n * sizeof(float));
    dit_err err = {0};
    if (io_st_tensor_to_f32(t, buf, n, "io", &err) != DIT_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Decode the latent `lname` of io and compare with `vname`; returns the output (caller frees). */
static float *check_decode(const char *label, wan_vae *v, io_safetensors *io, const char *lname, const char *vname,
                           const wan_vae_tiling *tiling, wan_vae_stats *st, int64_t *nout) {
    const io_st_tensor *lt = NULL, *vt = NULL;
    float *z = read_f32(io, lname, &lt), *ref = read_f32(io, vname, &vt);
    if (!z || !ref) {
        CHECK(0, "%s: golden tensors '%s' / '%s' missing", label, lname, vname);
        free(z), free(ref);
        return NULL;
    }
    int64_t T = lt->shape[1], h = lt->shape[2], w = lt->shape[3];
    int64_t F = wan_vae_out_frames(&v->cfg, T);
    CHECK(F == 1 + 4 * (T - 1) && vt->shape[1] == F && vt->shape[2] == 8 * h && vt->shape[3] == 8 * w,
          "%s: %lld latent frames -> %lld frames, golden has %lld", label, (long long)T, (long long)F,
          (long long)vt->shape[1]);
    int64_t n = io_st_tensor_numel(vt);
    float *out = malloc((size_t)n * sizeof(float));
    dit_err err = {0};
    dit_status s = wan_vae_decode(v, z, T, h, w, tiling, out, st, &err);
    double r = s == DIT_OK ? rel_l2(out, ref, (size_t)n) : 1.0;
    printf("%s: latent %lldx%lldx%lld -> video %lldx%lldx%lld, rel L2 %.3e, max abs %.3e, %lld tile(s), arena %.1f KiB\n",
           label, (long long)T, (long long)h, (long long)w, (long long)F, (long long)(8 * h), (long long)(8 * w), r,
           s == DIT_OK ? max_abs_diff(out, ref, (size_t)n) : 1.0, (long long)st->tiles, st->arena_bytes / 1024.0);
    CHECK(s == DIT_OK, "%s: decode failed: %s", label, err.msg);
    CHECK(r <= 1e-4, "%s: rel L2 %.3e > 1e-4", label, r);
    free(z), free(ref);
    *nout = n;
    if (s != DIT_OK) {
        free(out);
        return NULL;
    }
    return out;
}

static dit_status load_cfg(const char *path, wan_vae_config *cfg) {
    cJSON *j = NULL;
    dit_err err = {0};
    char *txt = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return DIT_ERR_IO;
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    txt = calloc(len + 1, 1);
    if (fread(txt, 1, len, f) != len) len = 0;
    fclose(f);
    j = cJSON_Parse(txt);
    free(txt);
    if (!j) return DIT_ERR_FORMAT;
    dit_status s = wan_vae_config_from_json(j, path, cfg, &err);
    cJSON_Delete(j);
    return s;
}

static void test_vae_a(dit_backend *be) {
    char dir[512], iop[512];
    snprintf(dir, sizeof dir, "%s/vae_a_diffusers", SPADIT_TEST_DATA);
    snprintf(iop, sizeof iop, "%s/vae_a_io.safetensors", SPADIT_TEST_DATA);
    dit_err err = {0};
    wan_vae *v = NULL;
    io_safetensors *io = NULL;
    if (wan_vae_load(dir, NULL, be, &v, &err) != DIT_OK || io_safetensors_open(iop, &io, &err) != DIT_OK) {
        CHECK(0, "vae_a: %s", err.msg);
        wan_vae_free(&v);
        return;
    }
    CHECK(v->layout == WAN_VAE_LAYOUT_DIFFUSERS && v->cfg.base_dim == 8 && v->cfg.num_res_blocks == 1,
          "vae_a: layout %d base_dim %d", v->layout, v->cfg.base_dim);
    wan_vae_stats st;
    int64_t n = 0;
    float *out = check_decode("vae_a untiled", v, io, "latent", "video", NULL, &st, &n);
    const io_st_tensor *lt = io_safetensors_find(io, "latent");
    if (out && lt) {
        /* the arena is exactly the estimate, fully used, and independent of the clip length */
        int64_t F = wan_vae_out_frames(&v->cfg, lt->shape[1]), H = 8 * lt->shape[2], W = 8 * lt->shape[3];
        wan_vae_mem m1, m2;
        CHECK(wan_vae_memory(&v->cfg, F, H, W, NULL, be->act_dtype, &m1, &err) == DIT_OK, "memory: %s", err.msg);
        CHECK(wan_vae_memory(&v->cfg, 81, H, W, NULL, be->act_dtype, &m2, &err) == DIT_OK, "memory: %s", err.msg);
        CHECK(st.arena_bytes == m1.activations && st.arena_peak == st.arena_bytes,
              "arena %zu (peak %zu) vs estimate %zu", st.arena_bytes, st.arena_peak, m1.activations);
        CHECK(m2.activations == m1.activations, "activations grow with frames: %zu (13) vs %zu (81)", m1.activations,
              m2.activations);
        CHECK(m1.weights == (size_t)v->bytes_on_device, "weights estimate %zu vs loaded %lld", m1.weights,
              (long long)v->bytes_on_device);
        CHECK(st.tiles == 1 && st.chunks == lt->shape[1], "untiled: %lld tiles, %lld chunks", (long long)st.tiles,
              (long long)st.chunks);
        /* uint8 frames as Wan's cache_video: equal up to a rare 1-step rounding flip */
        const io_st_tensor *rt = io_safetensors_find(io, "rgb8");
        uint8_t *rgb = malloc((size_t)n);
        if (rt && io_st_tensor_numel(rt) == n &&
            wan_vae_to_rgb8(out, F, H, W, rgb, &err) == DIT_OK) {
            const uint8_t *g = rt->data;
            int64_t off1 = 0, worse = 0;
            for (int64_t i = 0; i < n; i++) {
                int d = abs((int)rgb[i] - (int)g[i]);
                off1 += d == 1, worse += d > 1;
            }
            printf("vae_a rgb8: %lld of %lld values off by one, %lld by more\n", (long long)off1, (long long)n,
                   (long long)worse);
            CHECK(worse == 0 && off1 * 1000 <= n, "rgb8: %lld off by one, %lld by more", (long long)off1,
                  (long long)worse);
        } else {
            CHECK(0, "rgb8 golden or conversion: %s", err.msg);
        }
        free(rgb);
    }
    free(out);
    /* tiled decode vs diffusers' tiled_decode with the same tile sizes */
    const io_st_tensor *tp = io_safetensors_find(io, "tiling");
    if (tp && io_st_tensor_numel(tp) == 4) {
        const int32_t *p = tp->data;
        wan_vae_tiling t = {1, p[0], p[1], p[2], p[3]};
        float *ot = check_decode("vae_a tiled", v, io, "tiled_latent", "tiled_video", &t, &st, &n);
        CHECK(st.tiles == 6, "tiled: expected 2x3 tiles, got %lld", (long long)st.tiles);
        const io_st_tensor *tl = io_safetensors_find(io, "tiled_latent");
        wan_vae_mem m;
        if (tl && wan_vae_memory(&v->cfg, wan_vae_out_frames(&v->cfg, tl->shape[1]), 8 * tl->shape[2],
                                 8 * tl->shape[3], &t, be->act_dtype, &m, &err) == DIT_OK)
            CHECK(m.tiles_y == 2 && m.tiles_x == 3 && m.activations == st.arena_bytes && m.tile_h == 48 &&
                      m.tile_w == 40,
                  "tiled estimate: %lldx%lld tiles of %lldx%lld, %zu vs arena %zu", (long long)m.tiles_y,
                  (long long)m.tiles_x, (long long)m.tile_h, (long long)m.tile_w, m.activations, st.arena_bytes);
        /* a tile larger than the frame decodes whole (diffusers' rule) and equals the untiled result */
        wan_vae_tiling big = {1, 256, 256, 192, 192};
        float *ob = check_decode("vae_a one big tile", v, io, "latent", "video", &big, &st, &n);
        CHECK(st.tiles == 1, "big tile: %lld tiles", (long long)st.tiles);
        free(ot), free(ob);
    } else {
        CHECK(0, "vae_a_io has no 'tiling' [4]");
    }
    /* bad arguments */
    float dummy[16] = {0};
    wan_vae_tiling bad_t = {1, 20, 40, 16, 24};
    CHECK(wan_vae_decode(v, dummy, 0, 1, 1, NULL, dummy, NULL, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "T, h, w"),
          "T = 0: %s", err.msg);
    CHECK(wan_vae_decode(v, NULL, 1, 1, 1, NULL, dummy, NULL, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "z"),
          "z NULL: %s", err.msg);
    CHECK(wan_vae_decode(v, dummy, 1, 1, 1, &bad_t, dummy, NULL, &err) == DIT_ERR_INVALID_ARG &&
              strstr(err.msg, "tile_h = 20"),
          "tile_h 20: %s", err.msg);
    bad_t.tile_h = 48, bad_t.stride_w = 48;
    CHECK(wan_vae_decode(v, dummy, 1, 1, 1, &bad_t, dummy, NULL, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "stride"),
          "stride > tile: %s", err.msg);
    wan_vae_mem m;
    CHECK(wan_vae_memory(&v->cfg, 12, 64, 64, NULL, DIT_DTYPE_F32, &m, &err) == DIT_ERR_INVALID_ARG &&
              strstr(err.msg, "1 + 4 k"),
          "12 frames: %s", err.msg);
    uint8_t px[6];
    float vid[6] = {-1.0f, 1.0f, 0.0f, 2.0f, -0.5f, -3.0f}; /* 3 channels x 1 frame x 1 x 2 */
    CHECK(wan_vae_to_rgb8(vid, 1, 1, 2, px, &err) == DIT_OK && px[0] == 0 && px[3] == 255 && px[1] == 127 &&
              px[4] == 255 && px[2] == 63 && px[5] == 0,
          "rgb8 values %d %d %d %d %d %d", px[0], px[1], px[2], px[3], px[4], px[5]);
    io_safetensors_close(&io);
    wan_vae_free(&v);
}

static void test_vae_b(dit_backend *be) {
    char dir[512], orig[512], iop[512], cfgp[512];
    snprintf(dir, sizeof dir, "%s/vae_b_diffusers", SPADIT_TEST_DATA);
    snprintf(orig, sizeof orig, "%s/vae_b_original.safetensors", SPADIT_TEST_DATA);
    snprintf(iop, sizeof iop, "%s/vae_b_io.safetensors", SPADIT_TEST_DATA);
    snprintf(cfgp, sizeof cfgp, "%s/vae_b_diffusers/config.json", SPADIT_TEST_DATA);
    dit_err err = {0};
    wan_vae_config cfg;
    io_safetensors *io = NULL;
    if (load_cfg(cfgp, &cfg) != DIT_OK || io_safetensors_open(iop, &io, &err) != DIT_OK) {
        CHECK(0, "vae_b config or io: %s", err.msg);
        return;
    }
    wan_vae *vd = NULL, *vo = NULL;
    float *od = NULL, *oo = NULL;
    int64_t n1 = 0, n2 = 0;
    wan_vae_stats st;
    if (wan_vae_load(dir, NULL, be, &vd, &err) == DIT_OK) od = check_decode("vae_b diffusers", vd, io, "latent", "video", NULL, &st, &n1);
    else CHECK(0, "vae_b diffusers: %s", err.msg);
    if (wan_vae_load(orig, &cfg, be, &vo, &err) == DIT_OK) oo = check_decode("vae_b original", vo, io, "latent", "video", NULL, &st, &n2);
    else CHECK(0, "vae_b original: %s", err.msg);
    CHECK(vo && vo->layout == WAN_VAE_LAYOUT_ORIGINAL, "original layout not detected");
    if (od && oo && n1 == n2) CHECK(max_abs_diff(od, oo, (size_t)n1) == 0.0, "layouts differ");
    free(od), free(oo);
    wan_vae_free(&vd), wan_vae_free(&vo);
    /* the original file alone gets the Wan2.1 defaults: every shape is wrong, reported together */
    dit_status s = wan_vae_load(orig, NULL, be, &vo, &err);
    CHECK(s == DIT_ERR_SHAPE && strstr(err.msg, "original layout") && strstr(err.msg, "Wan2.1 defaults") &&
              strstr(err.msg, "mis-shaped:") && strstr(err.msg, "decoder.conv1.weight: got [16, 16, 3, 3, 3], expected [384, 16, 3, 3, 3]") &&
              strstr(err.msg, "... and"),
          "defaults vs small file: %d %s", s, err.msg);
    io_safetensors_close(&io);
}

/* Write a copy of `src` without tensor `drop` and with an extra tensor `add` (a copy of the first one). */
static int write_variant(const char *src, const char *dst, const char *drop, const char *add) {
    io_safetensors *st = NULL;
    dit_err err = {0};
    if (io_safetensors_open(src, &st, &err) != DIT_OK) return -1;
    size_t cap = 1 << 16, len = 0, off = 0;
    char *hdr = malloc(cap);
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    int first = 1;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < st->n; i++) {
            const io_st_tensor *t = &st->tensors[i];
            if (pass == 0 && !strcmp(t->name, drop)) continue;
            if (pass == 1 && i > 0) break;
            size_t nb = t->end - t->begin;
            len += (size_t)snprintf(hdr + len, cap - len, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", first ? "" : ",",
                                    pass ? add : t->name, io_st_dtype_name(t->dtype));
            for (int d = 0; d < t->ndim; d++) len += (size_t)snprintf(hdr + len, cap - len, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            len += (size_t)snprintf(hdr + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", off, off + nb);
            off += nb, first = 0;
        }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8) hdr[len++] = ' ';
    FILE *f = fopen(dst, "wb");
    if (!f) return -1;
    uint64_t hl = len;
    fwrite(&hl, 8, 1, f);
    fwrite(hdr, 1, len, f);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < st->n; i++) {
            const io_st_tensor *t = &st->tensors[i];
            if (pass == 0 && !strcmp(t->name, drop)) continue;
            if (pass == 1 && i > 0) break;
            fwrite(t->data, 1, t->end - t->begin, f);
        }
    fclose(f);
    free(hdr);
    io_safetensors_close(&st);
    return 0;
}

static void test_bad_inputs(dit_backend *be) {
    dit_err err = {0};
    wan_vae *v = NULL;
    char src[512], cfgp[512], tmpl[] = "/tmp/spadit_vae_XXXXXX";
    snprintf(src, sizeof src, "%s/vae_a_diffusers/diffusion_pytorch_model.safetensors", SPADIT_TEST_DATA);
    snprintf(cfgp, sizeof cfgp, "%s/vae_a_diffusers/config.json", SPADIT_TEST_DATA);
    wan_vae_config cfg;
    int fd = mkstemp(tmpl);
    if (fd < 0 || load_cfg(cfgp, &cfg) != DIT_OK) {
        CHECK(0, "temp file or vae_a config");
        return;
    }
    close(fd);
    /* one missing, one unexpected; the encoder and quant_conv tensors stay silent */
    CHECK(write_variant(src, tmpl, "decoder.conv_out.bias", "decoder.bogus.weight") == 0, "write variant");
    dit_status s = wan_vae_load(tmpl, &cfg, be, &v, &err);
    CHECK(s == DIT_ERR_MISSING && strstr(err.msg, "1 missing, 0 mis-shaped, 1 unexpected") &&
              strstr(err.msg, "decoder.conv_out.bias [3, 8, 3, 3, 3]") == NULL && strstr(err.msg, "decoder.conv_out.bias [3]") &&
              strstr(err.msg, "decoder.bogus.weight") && !strstr(err.msg, "encoder.") && !strstr(err.msg, "quant_conv"),
          "missing + unexpected: %d %s", s, err.msg);
    CHECK(v == NULL, "failed load must not return a model");
    unlink(tmpl);
    /* a caller's config is checked like a file's */
    wan_vae_config broken = cfg;
    broken.n_levels = 0;
    s = wan_vae_load(src, &broken, be, &v, &err);
    CHECK(s == DIT_ERR_FORMAT && strstr(err.msg, "from the caller") && strstr(err.msg, "levels=0"), "caller config: %s",
          err.msg);
    /* not a VAE at all */
    char dit[512];
    snprintf(dit, sizeof dit, "%s/wan_tiny32_original/diffusion_pytorch_model.safetensors", SPADIT_TEST_DATA);
    s = wan_vae_load(dit, &cfg, be, &v, &err);
    CHECK(s == DIT_ERR_FORMAT && strstr(err.msg, "not a Wan VAE checkpoint"), "DiT file: %d %s", s, err.msg);
    s = wan_vae_load("/nonexistent/vae", NULL, be, &v, &err);
    CHECK(s == DIT_ERR_MISSING && strstr(err.msg, "/nonexistent/vae"), "no path: %s", err.msg);
    /* configs the decoder does not implement or that contradict themselves */
    const struct {
        const char *json, *needle;
        dit_status want;
    } bad[] = {
        {"{\"_class_name\":\"AutoencoderKLWan\",\"is_residual\":true}", "is_residual", DIT_ERR_UNSUPPORTED},
        {"{\"_class_name\":\"AutoencoderKLWan\",\"patch_size\":2}", "patch_size", DIT_ERR_UNSUPPORTED},
        {"{\"attn_scales\":[0.5]}", "attn_scales", DIT_ERR_UNSUPPORTED},
        {"{\"_class_name\":\"WanTransformer3DModel\"}", "AutoencoderKLWan", DIT_ERR_FORMAT},
        {"{\"dim_mult\":[1,2,4],\"temperal_downsample\":[false,true,true]}", "temperal_downsample", DIT_ERR_FORMAT},
        {"{\"latents_mean\":[0,1]}", "latents_mean must be 16", DIT_ERR_FORMAT},
        {"{\"z_dim\":4}", "latents_mean is required", DIT_ERR_FORMAT},
        {"{\"base_dim\":0}", "'base_dim' is 0", DIT_ERR_FORMAT},
        {"{\"base_dim\":3,\"dim_mult\":[1,1,1,1]}", "must be even", DIT_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *j = cJSON_Parse(bad[i].json);
        wan_vae_config c;
        s = wan_vae_config_from_json(j, "cfg.json", &c, &err);
        CHECK(s == bad[i].want && strstr(err.msg, bad[i].needle) && strstr(err.msg, "cfg.json"), "config %s: %d %s",
              bad[i].json, s, err.msg);
        cJSON_Delete(j);
    }
    wan_vae_config d;
    wan_vae_config_default(&d);
    CHECK(d.base_dim == 96 && wan_vae_spatial_ratio(&d) == 8 && wan_vae_temporal_ratio(&d) == 4 &&
              wan_vae_out_frames(&d, 21) == 81,
          "Wan2.1 defaults");
}

int main(void) {
    dit_err err = {0};
    dit_backend *be = NULL;
    if (dit_backend_create("cpu", &be, &err) != DIT_OK) {
        printf("cpu backend: %s\n", err.msg);
        return 1;
    }
    test_vae_a(be);
    test_vae_b(be);
    test_bad_inputs(be);
    dit_backend_destroy(&be);
    return test_summary("test_vae");
}
