/* vae_tiles.c — the public decode: validation, spatial tiling with diffusers'
 * blending, clamping, the memory estimate and the uint8 frame conversion.
 *
 * Tiling follows AutoencoderKLWan.tiled_decode exactly: latent tiles of
 * tile/8 x tile/8 start every stride/8 latent pixels (edge tiles are smaller);
 * each is decoded as its own stream; in raster order a tile is blended in place
 * with the (already blended) tile above over blend = tile - stride rows, then
 * with the tile to its left over blend columns, weights (1 - y/e, y/e) with
 * e = min(both sizes, blend); its first stride x stride pixels go to the output,
 * which is clamped to [-1, 1].  Instead of keeping every decoded tile we keep
 * only what later tiles read: the bottom `blend` rows of each tile of the
 * previous row and the right `blend` columns of the previous tile.
 * Checked by tests/test_vae.c against diffusers' tiled decode (rel L2 <= 1e-4).
 */
#include "vae_internal.h"
#include "../../dit/clock.h" /* dit_now_ms */

#include <stdlib.h> /* malloc, free */
#include <string.h> /* memcpy */

wan_vae_tiling wan_vae_tiling_default(void) {
    wan_vae_tiling t = {1, 256, 256, 192, 192};
    return t;
}

typedef struct tile_grid {
    int tiled;
    int64_t r;                /* spatial ratio (8) */
    int64_t tl_h, tl_w;       /* tile size, latent pixels */
    int64_t sl_h, sl_w;       /* stride, latent pixels */
    int64_t ny, nx;           /* tile rows and columns */
    int64_t hmax, wmax;       /* largest tile, latent pixels */
    int64_t blend_h, blend_w; /* output pixels */
    int64_t crop_h, crop_w;   /* stride in output pixels */
} tile_grid;

static dit_status grid_make(const wan_vae_config *cfg, int64_t h, int64_t w, const wan_vae_tiling *t, tile_grid *g,
                            dit_err *err) {
    memset(g, 0, sizeof *g);
    g->r = wan_vae_spatial_ratio(cfg);
    g->ny = g->nx = 1, g->hmax = h, g->wmax = w;
    if (!t || !t->enabled) return DIT_OK;
    const int v[4] = {t->tile_h, t->tile_w, t->stride_h, t->stride_w};
    const char *nm[4] = {"tile_h", "tile_w", "stride_h", "stride_w"};
    for (int k = 0; k < 4; k++)
        if (v[k] <= 0 || v[k] % g->r)
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "VAE tiling: %s = %d must be a positive multiple of %lld pixels", nm[k],
                            v[k], (long long)g->r);
    if (t->stride_h > t->tile_h || t->stride_w > t->tile_w)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "VAE tiling: stride %dx%d must not exceed the tile %dx%d", t->stride_h,
                        t->stride_w, t->tile_h, t->tile_w);
    g->tl_h = t->tile_h / g->r, g->tl_w = t->tile_w / g->r, g->sl_h = t->stride_h / g->r, g->sl_w = t->stride_w / g->r;
    if (h <= g->tl_h && w <= g->tl_w) return DIT_OK; /* fits one tile: decoded whole, as diffusers does */
    g->tiled = 1;
    g->ny = (h + g->sl_h - 1) / g->sl_h, g->nx = (w + g->sl_w - 1) / g->sl_w;
    g->hmax = g->tl_h < h ? g->tl_h : h, g->wmax = g->tl_w < w ? g->tl_w : w;
    g->blend_h = t->tile_h - t->stride_h, g->blend_w = t->tile_w - t->stride_w;
    g->crop_h = t->stride_h, g->crop_w = t->stride_w;
    return DIT_OK;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static float clampf(float v) { return v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v; }

/* Host bytes of the tile buffer and blend strips. */
static size_t tile_host_bytes(const tile_grid *g, int64_t planes) {
    if (!g->tiled) return 0;
    int64_t th = g->hmax * g->r, tw = g->wmax * g->r;
    int64_t n = planes * th * tw + g->nx * planes * min64(g->blend_h, th) * tw + planes * th * min64(g->blend_w, tw);
    return (size_t)n * sizeof(float);
}

dit_status wan_vae_memory(const wan_vae_config *cfg, int64_t frames, int64_t height, int64_t width,
                          const wan_vae_tiling *tiling, dit_dtype act_dtype, wan_vae_mem *m, dit_err *err) {
    memset(m, 0, sizeof *m);
    DIT_TRY(vae_config_check(cfg, "VAE config", err));
    const int64_t r = wan_vae_spatial_ratio(cfg), tr = wan_vae_temporal_ratio(cfg);
    if (frames < 1 || (frames - 1) % tr || height <= 0 || width <= 0 || height % r || width % r)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                        "VAE output %lld frames x %lld x %lld: frames must be 1 + %lld k, height and width positive "
                        "multiples of %lld",
                        (long long)frames, (long long)height, (long long)width, (long long)tr, (long long)r);
    const int64_t h = height / r, w = width / r;
    tile_grid g;
    DIT_TRY(grid_make(cfg, h, w, tiling, &g, err));
    vae_plan p;
    DIT_TRY(vae_plan_make(cfg, g.hmax, g.wmax, act_dtype, &p, err));
    int64_t nf32 = 0, ngemm = 0;
    DIT_TRY(vae_param_counts(cfg, &nf32, &ngemm, err));
    m->tiles_y = g.ny, m->tiles_x = g.nx, m->tile_h = g.hmax * r, m->tile_w = g.wmax * r;
    m->activations = p.bytes;
    m->weights = (size_t)nf32 * 4 + (size_t)ngemm * dit_dtype_size(act_dtype);
    m->host = (size_t)(cfg->z_dim * g.hmax * g.wmax) * sizeof(float) +
              tile_host_bytes(&g, (int64_t)cfg->out_channels * frames);
    m->output = (size_t)(cfg->out_channels * frames * height * width) * sizeof(float);
    return DIT_OK;
}

/* blend_v: tile rows [0, e) <- strip rows of the tile above (its last e rows) */
static void blend_v(float *tile, int64_t planes, int64_t th, int64_t tw, const float *strip, int64_t srows,
                    int64_t above_h, int64_t blend) {
    int64_t e = min64(min64(above_h, th), blend);
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < e; y++) {
            float wa = (float)(1.0 - (double)y / (double)e), wb = (float)((double)y / (double)e);
            const float *a = strip + (p * srows + srows - e + y) * tw;
            float *b = tile + (p * th + y) * tw;
            for (int64_t x = 0; x < tw; x++) b[x] = a[x] * wa + b[x] * wb;
        }
}

/* blend_h: tile columns [0, e) <- strip columns of the tile to the left (its last e columns) */
static void blend_h(float *tile, int64_t planes, int64_t th, int64_t tw, const float *strip, int64_t scols,
                    int64_t left_w, int64_t blend) {
    int64_t e = min64(min64(left_w, tw), blend);
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < th; y++) {
            const float *a = strip + (p * th + y) * scols + scols - e;
            float *b = tile + (p * th + y) * tw;
            for (int64_t x = 0; x < e; x++) {
                float wa = (float)(1.0 - (double)x / (double)e), wb = (float)((double)x / (double)e);
                b[x] = a[x] * wa + b[x] * wb;
            }
        }
}

static dit_status decode_tiled(vae_ctx *c, dit_backend *be, const wan_vae_config *cfg, const tile_grid *g,
                               const float *z, int64_t T, int64_t h, int64_t w, float *out, dit_err *err) {
    const int64_t r = g->r, F = wan_vae_out_frames(cfg, T), PL = (int64_t)cfg->out_channels * F;
    const int64_t Hp = h * r, Wp = w * r, thm = g->hmax * r, twm = g->wmax * r;
    const int64_t shc = min64(g->blend_h, thm), swc = min64(g->blend_w, twm);
    float *tile = malloc((size_t)(PL * thm * twm) * sizeof(float));
    float *bottom = malloc((size_t)(g->nx * PL * shc * twm + 1) * sizeof(float));
    float *right = malloc((size_t)(PL * thm * swc + 1) * sizeof(float));
    int64_t *bot_rows = calloc((size_t)g->nx, sizeof(int64_t)), *bot_h = calloc((size_t)g->nx, sizeof(int64_t));
    dit_status s = DIT_OK;
    if (!tile || !bottom || !right || !bot_rows || !bot_h)
        s = DIT_FAIL(err, DIT_ERR_OOM, "VAE tiling: host tile buffers (%.1f MiB)",
                     (double)tile_host_bytes(g, PL) / (1 << 20));
    int64_t right_cols = 0, right_w = 0;
    for (int64_t iy = 0; s == DIT_OK && iy < g->ny; iy++) {
        const int64_t i0 = iy * g->sl_h, th = min64(g->tl_h, h - i0), thp = th * r;
        for (int64_t jx = 0; s == DIT_OK && jx < g->nx; jx++) {
            const int64_t j0 = jx * g->sl_w, tw = min64(g->tl_w, w - j0), twp = tw * r;
            s = vae_ctx_decode_region(c, z, T, h, w, i0, j0, th, tw, tile);
            if (s != DIT_OK) {
                *err = be->err;
                dit_err_wrap(err, "tile (%lld, %lld)", (long long)iy, (long long)jx);
                break;
            }
            float *bstrip = bottom + jx * PL * shc * twm;
            if (iy > 0) blend_v(tile, PL, thp, twp, bstrip, bot_rows[jx], bot_h[jx], g->blend_h);
            if (jx > 0) blend_h(tile, PL, thp, twp, right, right_cols, right_w, g->blend_w);
            const int64_t cy = min64(g->crop_h, thp), cx = min64(g->crop_w, twp);
            for (int64_t p = 0; p < PL; p++)
                for (int64_t y = 0; y < cy; y++) {
                    const float *src = tile + (p * thp + y) * twp;
                    float *dst = out + (p * Hp + i0 * r + y) * Wp + j0 * r;
                    for (int64_t x = 0; x < cx; x++) dst[x] = clampf(src[x]);
                }
            /* keep what the next row and the next tile will read */
            const int64_t sh = min64(g->blend_h, thp), sw = min64(g->blend_w, twp);
            for (int64_t p = 0; p < PL; p++) {
                memcpy(bstrip + p * sh * twp, tile + (p * thp + thp - sh) * twp, (size_t)(sh * twp) * sizeof(float));
                for (int64_t y = 0; y < thp; y++)
                    memcpy(right + (p * thp + y) * sw, tile + (p * thp + y) * twp + twp - sw, (size_t)sw * sizeof(float));
            }
            bot_rows[jx] = sh, bot_h[jx] = thp;
            right_cols = sw, right_w = twp;
        }
    }
    free(tile), free(bottom), free(right), free(bot_rows), free(bot_h);
    return s;
}

dit_status wan_vae_decode(wan_vae *v, const float *z, int64_t T, int64_t h, int64_t w, const wan_vae_tiling *tiling,
                          float *out, wan_vae_stats *stats, dit_err *err) {
    double t0 = dit_now_ms();
    if (stats) memset(stats, 0, sizeof *stats);
    if (!v || !z || !out)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "VAE decode: %s is NULL", !v ? "the model" : !z ? "z" : "out");
    const wan_vae_config *cfg = &v->cfg;
    if (T < 1 || h < 1 || w < 1 || T > (1 << 20) || h > (1 << 16) || w > (1 << 16))
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                        "VAE decode: latent [%d, %lld, %lld, %lld] (z_dim, T, h, w) needs T, h, w >= 1 (and h, w <= 65536)",
                        cfg->z_dim, (long long)T, (long long)h, (long long)w);
    tile_grid g;
    DIT_TRY(grid_make(cfg, h, w, tiling, &g, err));
    vae_ctx *c = NULL;
    DIT_TRY(vae_ctx_create(v, g.hmax, g.wmax, &c, err));
    dit_status s;
    if (!g.tiled) {
        s = vae_ctx_decode_region(c, z, T, h, w, 0, 0, h, w, out);
        if (s == DIT_OK) {
            int64_t n = (int64_t)cfg->out_channels * wan_vae_out_frames(cfg, T) * h * g.r * w * g.r;
            for (int64_t i = 0; i < n; i++) out[i] = clampf(out[i]);
        } else {
            *err = v->be->err;
        }
    } else {
        s = decode_tiled(c, v->be, cfg, &g, z, T, h, w, out, err);
    }
    if (stats) {
        stats->tiles = g.ny * g.nx;
        stats->chunks = stats->tiles * T;
        stats->arena_bytes = vae_ctx_arena_bytes(c);
        stats->arena_peak = vae_ctx_arena_peak(c);
        stats->ms_total = dit_now_ms() - t0;
    }
    vae_ctx_free(&c);
    return s;
}

dit_status wan_vae_to_rgb8(const float *video, int64_t frames, int64_t height, int64_t width, uint8_t *rgb,
                           dit_err *err) {
    if (!video || !rgb || frames < 0 || height < 0 || width < 0)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "VAE rgb8: NULL buffer or negative size");
    const int64_t HW = height * width;
    for (int64_t f = 0; f < frames; f++)
        for (int64_t i = 0; i < HW; i++)
            for (int64_t ch = 0; ch < 3; ch++) {
                float v = clampf(video[(ch * frames + f) * HW + i]);
                float u = (v + 1.0f) / 2.0f * 255.0f; /* cache_video: clamp, (x+1)/2, *255, truncate */
                rgb[(f * HW + i) * 3 + ch] = u >= 0.0f ? (uint8_t)u : 0;
            }
    return DIT_OK;
}
