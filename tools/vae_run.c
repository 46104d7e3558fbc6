/* vae_run.c — decode a stored latent with spadit's Wan VAE decoder, time it, and
 * write the video; or print the memory estimate for an output size.
 *
 *   vae_run --vae PATH --latent IN.safetensors [--out OUT.safetensors]
 *           [--backend cpu|cuda] [--config vae.json] [--tile H,W,SH,SW | --no-tiling]
 *           [--repeat N]
 *   vae_run --estimate FRAMES,HEIGHT,WIDTH [--vae PATH | --config vae.json]
 *           [--tile H,W,SH,SW | --no-tiling] [--act f32|bf16]
 *
 * IN holds tensor "latent" [z, T, h, w] (or [1, z, T, h, w]) f32: normalised
 * latents, de-normalised by the decoder.  OUT gets "video" [3, F, 8h, 8w] f32.
 * Tiling defaults to diffusers' (256x256 tiles, stride 192).  Prints one line
 * per run with the time, and the device memory (weights + activation arena).
 * Used by tools/vae_gpu_check.py (which compares with diffusers) and to produce
 * the numbers in docs/vae.md.
 */
#include <stdio.h>  /* printf, fprintf, FILE */
#include <stdlib.h> /* malloc, free, strtol */
#include <string.h> /* strcmp */

#include "../io/json_file.h"   /* io_json_load */
#include "../io/safetensors.h" /* io_safetensors */
#include "../models/wan/vae.h" /* wan_vae_* */
#include "../dit/clock.h" /* dit_now_ms */

static int usage(void) {
    fprintf(stderr,
            "usage: vae_run --vae PATH --latent IN.safetensors [--out OUT.safetensors] [--backend cpu|cuda]\n"
            "               [--config vae.json] [--tile H,W,SH,SW | --no-tiling] [--repeat N]\n"
            "       vae_run --estimate FRAMES,HEIGHT,WIDTH [--vae PATH | --config vae.json]\n"
            "               [--tile H,W,SH,SW | --no-tiling] [--act f32|bf16]\n");
    return 2;
}

static int fail(const char *what, const dit_err *err) {
    fprintf(stderr, "vae_run: %s: %s\n", what, err->msg);
    return 1;
}

/* A one-tensor safetensors file: "video" f32 with the given shape. */
static int write_video(const char *path, const float *data, const int64_t *shape, int nd) {
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= (size_t)shape[i];
    char hdr[512];
    int len = snprintf(hdr, sizeof hdr, "{\"video\":{\"dtype\":\"F32\",\"shape\":[");
    for (int i = 0; i < nd; i++) len += snprintf(hdr + len, sizeof hdr - (size_t)len, "%s%lld", i ? "," : "", (long long)shape[i]);
    len += snprintf(hdr + len, sizeof hdr - (size_t)len, "],\"data_offsets\":[0,%zu]}}", n * sizeof(float));
    while (len % 8) hdr[len++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint64_t hl = (uint64_t)len;
    int ok = fwrite(&hl, 8, 1, f) == 1 && fwrite(hdr, 1, (size_t)len, f) == (size_t)len &&
             fwrite(data, sizeof(float), n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int parse_list(const char *s, long *v, int n) {
    char *end;
    for (int i = 0; i < n; i++) {
        v[i] = strtol(s, &end, 10);
        if (end == s || (i < n - 1 && *end != ',') || (i == n - 1 && *end)) return -1;
        s = end + 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *vae_path = NULL, *latent_path = NULL, *out_path = NULL, *backend = "cpu", *cfg_path = NULL;
    const char *estimate = NULL, *act = "f32";
    wan_vae_tiling tiling = wan_vae_tiling_default();
    int repeat = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-tiling")) {
            tiling.enabled = 0;
            continue;
        }
        if (!v) return usage();
        i++;
        if (!strcmp(a, "--vae")) vae_path = v;
        else if (!strcmp(a, "--latent")) latent_path = v;
        else if (!strcmp(a, "--out")) out_path = v;
        else if (!strcmp(a, "--backend")) backend = v;
        else if (!strcmp(a, "--config")) cfg_path = v;
        else if (!strcmp(a, "--estimate")) estimate = v;
        else if (!strcmp(a, "--act")) act = v;
        else if (!strcmp(a, "--repeat")) repeat = atoi(v) > 0 ? atoi(v) : 1;
        else if (!strcmp(a, "--tile")) {
            long t[4];
            if (parse_list(v, t, 4)) return usage();
            tiling.enabled = 1, tiling.tile_h = (int)t[0], tiling.tile_w = (int)t[1];
            tiling.stride_h = (int)t[2], tiling.stride_w = (int)t[3];
        } else return usage();
    }
    dit_err err = {0};
    wan_vae_config cfg;
    wan_vae_config_default(&cfg);
    if (cfg_path) {
        cJSON *j;
        if (io_json_load(cfg_path, &j, &err) != DIT_OK) return fail("config", &err);
        dit_status s = wan_vae_config_from_json(j, cfg_path, &cfg, &err);
        cJSON_Delete(j);
        if (s != DIT_OK) return fail("config", &err);
    }
    if (estimate) {
        long e[3];
        if (parse_list(estimate, e, 3)) return usage();
        wan_vae_mem m;
        dit_dtype dt = !strcmp(act, "bf16") ? DIT_DTYPE_BF16 : DIT_DTYPE_F32;
        if (wan_vae_memory(&cfg, e[0], e[1], e[2], tiling.enabled ? &tiling : NULL, dt, &m, &err) != DIT_OK)
            return fail("estimate", &err);
        printf("estimate %ldx%ldx%ld (base_dim %d, %s, act %s): tiles %lldx%lld of %lldx%lld px; device: activations "
               "%.1f MiB + weights %.1f MiB = %.1f MiB; host: staging %.1f MiB + output %.1f MiB\n",
               e[0], e[1], e[2], cfg.base_dim, tiling.enabled ? "tiled" : "untiled", act, (long long)m.tiles_y,
               (long long)m.tiles_x, (long long)m.tile_h, (long long)m.tile_w, m.activations / 1048576.0,
               m.weights / 1048576.0, (m.activations + m.weights) / 1048576.0, m.host / 1048576.0,
               m.output / 1048576.0);
        return 0;
    }
    if (!vae_path || !latent_path) return usage();
    dit_backend *be = NULL;
    if (dit_backend_create(backend, &be, &err) != DIT_OK) return fail("backend", &err);
    wan_vae *v = NULL;
    double t0 = dit_now_ms();
    if (wan_vae_load(vae_path, cfg_path ? &cfg : NULL, be, &v, &err) != DIT_OK) {
        dit_backend_destroy(&be);
        return fail("load", &err);
    }
    double t_load = dit_now_ms() - t0;
    io_safetensors *io = NULL;
    const io_st_tensor *lt;
    if (io_safetensors_open(latent_path, &io, &err) != DIT_OK || !(lt = io_safetensors_find(io, "latent"))) {
        wan_vae_free(&v), dit_backend_destroy(&be);
        return fail("latent", &err);
    }
    int off = lt->ndim == 5 ? 1 : 0;
    int64_t zc = lt->shape[off], T = lt->shape[off + 1], h = lt->shape[off + 2], w = lt->shape[off + 3];
    int64_t nz = io_st_tensor_numel(lt), F = wan_vae_out_frames(&v->cfg, T);
    int64_t r = wan_vae_spatial_ratio(&v->cfg), H = h * r, W = w * r, nout = (int64_t)v->cfg.out_channels * F * H * W;
    float *z = malloc((size_t)nz * sizeof(float)), *out = malloc((size_t)nout * sizeof(float));
    int rc = 0;
    if (lt->ndim != 4 + off || zc != v->cfg.z_dim || !z || !out ||
        io_st_tensor_to_f32(lt, z, nz, latent_path, &err) != DIT_OK) {
        fprintf(stderr, "vae_run: %s: 'latent' must be [%d, T, h, w] float (%s)\n", latent_path, v->cfg.z_dim, err.msg);
        rc = 1;
    }
    for (int it = 0; !rc && it < repeat; it++) {
        wan_vae_stats st;
        if (wan_vae_decode(v, z, T, h, w, &tiling, out, &st, &err) != DIT_OK) {
            rc = fail("decode", &err);
            break;
        }
        printf("decode %s: latent %lldx%lldx%lld -> %lld frames of %lldx%lld, %.1f ms (load %.0f ms), %lld tile(s), "
               "device: weights %.1f MiB + activations %.1f MiB\n",
               be->name, (long long)T, (long long)h, (long long)w, (long long)F, (long long)H, (long long)W,
               st.ms_total, t_load, (long long)st.tiles, v->bytes_on_device / 1048576.0, st.arena_bytes / 1048576.0);
    }
    if (!rc && out_path) {
        int64_t shape[4] = {v->cfg.out_channels, F, H, W};
        if (write_video(out_path, out, shape, 4) != 0) {
            fprintf(stderr, "vae_run: cannot write %s\n", out_path);
            rc = 1;
        }
    }
    free(z), free(out);
    io_safetensors_close(&io);
    wan_vae_free(&v);
    dit_backend_destroy(&be);
    return rc;
}
