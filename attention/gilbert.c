/* gilbert.c — 3D Gilbert curve token order (axis order w > h > t) and block-neighbour mask.
 *
 * The curve is the generalised Hilbert curve of J. Cerveny / abetusk ("gilbert3d") that
 * Jenga and Rectified SpaAttn use: a cuboid spanned by a major vector a, and two others b, c
 * is split into 2, 3 or 5 sub-cuboids (halves rounded so that sub-sizes stay even where
 * possible), each walked recursively with re-oriented vectors, until one of them is a line.
 * Here the curve is generated directly in walk order (O(N)), starting at the origin with
 * a = (Wp,0,0), b = (0,Hp,0), c = (0,0,Fp).  Halving follows Python's floor division on
 * negative sizes (-5 // 2 = -3), which decides which side keeps the odd cell.
 * Checked by tests/test_gilbert.c: permutation, unit steps on even grids, and exact equality
 * with the reference Python on several grids (tests/data/gilbert_golden.safetensors).
 */
#include "gilbert.h"

#include <stdlib.h> /* malloc, free, llabs */
#include <string.h> /* memset */

typedef struct v3 {
    int64_t x, y, z; /* x along w (j), y along h (i), z along t (f) */
} v3;

typedef struct walk {
    int64_t W, H, F, n, pos;
    int64_t *order;
    int bad; /* a point outside the grid or too many points: never expected */
} walk;

static v3 v_add(v3 a, v3 b) { return (v3){a.x + b.x, a.y + b.y, a.z + b.z}; }
static v3 v_sub(v3 a, v3 b) { return (v3){a.x - b.x, a.y - b.y, a.z - b.z}; }
static v3 v_neg(v3 a) { return (v3){-a.x, -a.y, -a.z}; }
static v3 v_scale(v3 a, int64_t s) { return (v3){a.x * s, a.y * s, a.z * s}; }
static int64_t sgn(int64_t v) { return (v > 0) - (v < 0); }
static v3 v_sgn(v3 a) { return (v3){sgn(a.x), sgn(a.y), sgn(a.z)}; }
/* Python's v // 2 (floor), also for negative v. */
static int64_t floor_half(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }
static v3 v_half(v3 a) { return (v3){floor_half(a.x), floor_half(a.y), floor_half(a.z)}; }
/* Every vector here is axis-aligned: its length is |x + y + z|. */
static int64_t v_len(v3 a) { return llabs(a.x + a.y + a.z); }

static void emit(walk *w, v3 p) {
    if (p.x < 0 || p.x >= w->W || p.y < 0 || p.y >= w->H || p.z < 0 || p.z >= w->F || w->pos >= w->n) {
        w->bad = 1;
        return;
    }
    w->order[w->pos++] = (p.z * w->H + p.y) * w->W + p.x;
}

static void line(walk *w, v3 p, v3 step, int64_t n) {
    for (int64_t i = 0; i < n; i++) emit(w, v_add(p, v_scale(step, i)));
}

/* Walk the cuboid at p spanned by a (major), b, c. */
static void gen(walk *w, v3 p, v3 a, v3 b, v3 c) {
    int64_t wa = v_len(a), hb = v_len(b), dc = v_len(c);
    if (wa == 0 || hb == 0 || dc == 0 || w->bad) return;
    v3 da = v_sgn(a), db = v_sgn(b), dd = v_sgn(c);
    if (hb == 1 && dc == 1) {
        line(w, p, da, wa);
        return;
    }
    if (wa == 1 && dc == 1) {
        line(w, p, db, hb);
        return;
    }
    if (wa == 1 && hb == 1) {
        line(w, p, dd, dc);
        return;
    }
    v3 a2 = v_half(a), b2 = v_half(b), c2 = v_half(c);
    /* prefer even sub-sizes */
    if ((v_len(a2) & 1) && wa > 2) a2 = v_add(a2, da);
    if ((v_len(b2) & 1) && hb > 2) b2 = v_add(b2, db);
    if ((v_len(c2) & 1) && dc > 2) c2 = v_add(c2, dd);

    if (2 * wa > 3 * hb && 2 * wa > 3 * dc) { /* wide: split a only */
        gen(w, p, a2, b, c);
        gen(w, v_add(p, a2), v_sub(a, a2), b, c);
    } else if (3 * hb > 4 * dc) { /* split a and b, not c */
        gen(w, p, b2, c, a2);
        gen(w, v_add(p, b2), a, v_sub(b, b2), c);
        gen(w, v_add(p, v_add(v_sub(a, da), v_sub(b2, db))), v_neg(b2), c, v_neg(v_sub(a, a2)));
    } else if (3 * dc > 4 * hb) { /* split a and c, not b */
        gen(w, p, c2, a2, b);
        gen(w, v_add(p, c2), a, b, v_sub(c, c2));
        gen(w, v_add(p, v_add(v_sub(a, da), v_sub(c2, dd))), v_neg(c2), v_neg(v_sub(a, a2)), b);
    } else { /* split all three */
        gen(w, p, b2, c2, a2);
        gen(w, v_add(p, b2), c, a2, v_sub(b, b2));
        gen(w, v_add(p, v_add(v_sub(b2, db), v_sub(c, dd))), a, v_neg(b2), v_neg(v_sub(c, c2)));
        gen(w, v_add(p, v_add(v_add(v_sub(a, da), b2), v_sub(c, dd))), v_neg(c), v_neg(v_sub(a, a2)),
            v_sub(b, b2));
        gen(w, v_add(p, v_add(v_sub(a, da), v_sub(b2, db))), v_neg(b2), c2, v_neg(v_sub(a, a2)));
    }
}

static dit_status check_dims(int64_t Fp, int64_t Hp, int64_t Wp, const char *what, dit_err *err) {
    if (Fp < 1 || Hp < 1 || Wp < 1 || Fp > (INT64_C(1) << 20) || Hp > (INT64_C(1) << 20) || Wp > (INT64_C(1) << 20))
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: grid %lld x %lld x %lld: every dimension must be in [1, 2^20]",
                        what, (long long)Fp, (long long)Hp, (long long)Wp);
    return DIT_OK;
}

dit_status attn_gilbert_order(int64_t Fp, int64_t Hp, int64_t Wp, int64_t *order, dit_err *err) {
    DIT_TRY(check_dims(Fp, Hp, Wp, "gilbert order", err));
    if (!order) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "gilbert order: output array is NULL");
    walk w = {Wp, Hp, Fp, Fp * Hp * Wp, 0, order, 0};
    gen(&w, (v3){0, 0, 0}, (v3){Wp, 0, 0}, (v3){0, Hp, 0}, (v3){0, 0, Fp});
    if (w.bad || w.pos != w.n)
        return DIT_FAIL(err, DIT_ERR_INTERNAL, "gilbert order: the walk of %lld x %lld x %lld visited %lld of %lld cells%s",
                        (long long)Fp, (long long)Hp, (long long)Wp, (long long)w.pos, (long long)w.n,
                        w.bad ? " and left the grid" : "");
    return DIT_OK;
}

int64_t attn_block_count(int64_t n, int64_t block) { return block > 0 && n > 0 ? (n + block - 1) / block : 0; }

dit_status attn_neighbor_mask(const int64_t *order, int64_t Fp, int64_t Hp, int64_t Wp, int64_t block,
                              uint8_t *mask, dit_err *err) {
    DIT_TRY(check_dims(Fp, Hp, Wp, "neighbour mask", err));
    if (block < 1) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "neighbour mask: block size %lld must be >= 1", (long long)block);
    if (!mask) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "neighbour mask: output array is NULL");
    int64_t n = Fp * Hp * Wp, nb = attn_block_count(n, block);
    int64_t *rank = malloc((size_t)n * sizeof *rank); /* rank[grid index] = position in the sequence */
    if (!rank) return DIT_FAIL(err, DIT_ERR_OOM, "neighbour mask: %lld ranks", (long long)n);
    for (int64_t g = 0; g < n; g++) rank[g] = -1;
    for (int64_t r = 0; r < n; r++) {
        int64_t g = order ? order[r] : r;
        if (g < 0 || g >= n || rank[g] >= 0) {
            free(rank);
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                            "neighbour mask: order[%lld] = %lld is %s: order must be a permutation of 0..%lld",
                            (long long)r, (long long)g, g < 0 || g >= n ? "out of range" : "repeated", (long long)(n - 1));
        }
        rank[g] = r;
    }
    memset(mask, 0, (size_t)(nb * nb));
    for (int64_t f = 0; f < Fp; f++)
        for (int64_t i = 0; i < Hp; i++)
            for (int64_t j = 0; j < Wp; j++) {
                int64_t bi = rank[(f * Hp + i) * Wp + j] / block;
                for (int64_t df = -1; df <= 1; df++) {
                    int64_t f2 = f + df;
                    if (f2 < 0 || f2 >= Fp) continue;
                    for (int64_t di = -1; di <= 1; di++) {
                        int64_t i2 = i + di;
                        if (i2 < 0 || i2 >= Hp) continue;
                        for (int64_t dj = -1; dj <= 1; dj++) {
                            int64_t j2 = j + dj;
                            if (j2 < 0 || j2 >= Wp) continue;
                            mask[bi * nb + rank[(f2 * Hp + i2) * Wp + j2] / block] = 1;
                        }
                    }
                }
            }
    free(rank);
    return DIT_OK;
}
