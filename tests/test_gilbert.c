/* test_gilbert.c — the 3D Gilbert token order and the block-neighbour mask (attention/gilbert.c).
 *
 * 1. Against the reference Python (tests/data/gilbert_golden.safetensors, from
 *    tools/gen_gilbert_goldens.py running Rectified SpaAttn's utils/jenga_gilbert.py): the order
 *    equals HILBERT_ORDER exactly on 11 grids up to Wan's 21x45x80, and the neighbour masks
 *    equal gilbert_block_neighbor_mapping on 6 (grid, block) pairs.
 * 2. Properties: a permutation; every step a unit grid step when all dimensions are even (the
 *    Gilbert property) and nearly all otherwise; starts at the origin; neighbour mask symmetric
 *    with the diagonal set, 17-19 blocks per row at Wan sizes; on the plain grid order with one
 *    grid row per block, the mask is exactly |df| <= 1 and |di| <= 1.
 * 3. Bad arguments give errors naming what is wrong.
 */
#include "../attention/gilbert.h" /* attn_gilbert_order, attn_neighbor_mask */
#include "../io/safetensors.h"    /* golden file */
#include "test_util.h"            /* CHECK, test_summary */

#include <stdint.h> /* int64_t, int32_t */

static dit_err err;

static const io_st_tensor *golden(const io_safetensors *st, const char *name, io_st_dtype dt) {
    const io_st_tensor *t = io_safetensors_find(st, name);
    CHECK(t != NULL && t->dtype == dt, "golden tensor %s missing or not %s", name, io_st_dtype_name(dt));
    return t && t->dtype == dt ? t : NULL;
}

/* Fraction of unit steps and the largest Manhattan step along the order. */
static double unit_steps(const int64_t *order, int64_t F, int64_t H, int64_t W, int64_t *max_step) {
    (void)F;
    int64_t unit = 0, n = F * H * W;
    *max_step = 0;
    for (int64_t r = 1; r < n; r++) {
        int64_t a = order[r - 1], b = order[r];
        int64_t d = llabs(a / (H * W) - b / (H * W)) + llabs(a / W % H - b / W % H) + llabs(a % W - b % W);
        unit += d == 1;
        if (d > *max_step) *max_step = d;
    }
    return n > 1 ? (double)unit / (double)(n - 1) : 1.0;
}

static int is_permutation(const int64_t *order, int64_t n) {
    uint8_t *seen = calloc((size_t)n, 1);
    int ok = 1;
    for (int64_t r = 0; r < n && ok; r++) {
        if (order[r] < 0 || order[r] >= n || seen[order[r]]) ok = 0;
        else seen[order[r]] = 1;
    }
    free(seen);
    return ok;
}

static void test_golden_orders(const io_safetensors *st) {
    int checked = 0;
    for (int t = 0; t < st->n; t++) {
        const io_st_tensor *g = &st->tensors[t];
        int F, H, W;
        if (sscanf(g->name, "order_%dx%dx%d", &F, &H, &W) != 3) continue;
        int64_t n = (int64_t)F * H * W;
        CHECK(g->dtype == IO_ST_I32 && io_st_tensor_numel(g) == n, "%s: I32 [%lld]", g->name, (long long)n);
        if (g->dtype != IO_ST_I32 || io_st_tensor_numel(g) != n) continue;
        int64_t *order = malloc((size_t)n * sizeof *order);
        CHECK(attn_gilbert_order(F, H, W, order, &err) == DIT_OK, "%s", err.msg);
        CHECK(is_permutation(order, n), "%s: C order is a permutation", g->name);
        const int32_t *ref = g->data;
        int64_t first_bad = -1;
        for (int64_t r = 0; r < n && first_bad < 0; r++)
            if (order[r] != ref[r]) first_bad = r;
        CHECK(first_bad < 0, "%s: differs from the reference at r = %lld (C %lld, Python %d)", g->name,
              (long long)first_bad, (long long)(first_bad >= 0 ? order[first_bad] : 0),
              first_bad >= 0 ? ref[first_bad] : 0);
        CHECK(order[0] == 0, "%s starts at the origin", g->name);
        int64_t max_step;
        double frac = unit_steps(order, F, H, W, &max_step);
        if (F % 2 == 0 && H % 2 == 0 && W % 2 == 0)
            CHECK(frac == 1.0, "%s (all even): every step is a unit step (%.4f, max %lld)", g->name, frac,
                  (long long)max_step);
        else
            CHECK(frac >= 0.95 && max_step <= 2, "%s: %.4f unit steps, largest Manhattan step %lld", g->name, frac,
                  (long long)max_step);
        printf("order %dx%dx%d: equal to the reference, %.4f unit steps (max %lld)\n", F, H, W, frac,
               (long long)max_step);
        free(order);
        checked++;
    }
    CHECK(checked == 11, "%d golden orders checked, expected 11", checked);
}

static void test_golden_neighbors(const io_safetensors *st) {
    int checked = 0;
    for (int t = 0; t < st->n; t++) {
        const io_st_tensor *g = &st->tensors[t];
        int F, H, W, B;
        if (sscanf(g->name, "neighbor_%dx%dx%d_b%d", &F, &H, &W, &B) != 4) continue;
        if (!golden(st, g->name, IO_ST_I32) || g->ndim != 2 || g->shape[1] != 2) continue;
        int64_t n = (int64_t)F * H * W, nb = attn_block_count(n, B);
        int64_t *order = malloc((size_t)n * sizeof *order);
        uint8_t *mask = malloc((size_t)(nb * nb)), *ref = calloc((size_t)(nb * nb), 1);
        CHECK(attn_gilbert_order(F, H, W, order, &err) == DIT_OK, "%s", err.msg);
        CHECK(attn_neighbor_mask(order, F, H, W, B, mask, &err) == DIT_OK, "%s", err.msg);
        const int32_t *pairs = g->data;
        int in_range = 1;
        for (int64_t p = 0; p < g->shape[0]; p++) {
            if (pairs[2 * p] < 0 || pairs[2 * p] >= nb || pairs[2 * p + 1] < 0 || pairs[2 * p + 1] >= nb) in_range = 0;
            else ref[pairs[2 * p] * nb + pairs[2 * p + 1]] = 1;
        }
        CHECK(in_range, "%s: golden pairs within [0, %lld)", g->name, (long long)nb);
        int64_t diff = 0, asym = 0, diag = 0, sum = 0;
        for (int64_t i = 0; i < nb; i++) {
            diag += mask[i * nb + i];
            for (int64_t j = 0; j < nb; j++) {
                diff += mask[i * nb + j] != ref[i * nb + j];
                asym += mask[i * nb + j] != mask[j * nb + i];
                sum += mask[i * nb + j];
            }
        }
        double per_row = (double)sum / (double)nb;
        CHECK(diff == 0, "%s: %lld of %lld entries differ from the reference", g->name, (long long)diff,
              (long long)(nb * nb));
        CHECK(asym == 0 && diag == nb, "%s: symmetric (%lld asymmetric), diagonal set (%lld of %lld)", g->name,
              (long long)asym, (long long)diag, (long long)nb);
        if (B == 128 && F == 21)
            CHECK(per_row >= 17 && per_row <= 19, "%s: %.2f neighbour blocks per row, expected 17-19", g->name, per_row);
        printf("neighbours %dx%dx%d block %d: %lld blocks, %.2f per row, equal to the reference\n", F, H, W, B,
               (long long)nb, per_row);
        free(order), free(mask), free(ref);
        checked++;
    }
    CHECK(checked == 6, "%d golden neighbour masks checked, expected 6", checked);
}

/* Grids beyond the goldens: all-even ones must be walked with unit steps only. */
static void test_even_grids(void) {
    const int64_t g[][3] = {{2, 2, 2}, {2, 4, 8}, {8, 8, 8}, {6, 10, 4}, {16, 2, 6}, {4, 30, 52}, {2, 2, 100}};
    for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
        int64_t F = g[k][0], H = g[k][1], W = g[k][2], n = F * H * W, max_step;
        int64_t *order = malloc((size_t)n * sizeof *order);
        CHECK(attn_gilbert_order(F, H, W, order, &err) == DIT_OK, "%s", err.msg);
        CHECK(is_permutation(order, n), "%lldx%lldx%lld permutation", (long long)F, (long long)H, (long long)W);
        double frac = unit_steps(order, F, H, W, &max_step);
        CHECK(frac == 1.0, "%lldx%lldx%lld: unit steps %.4f (max %lld)", (long long)F, (long long)H, (long long)W, frac,
              (long long)max_step);
        free(order);
    }
    int64_t one = -1;
    CHECK(attn_gilbert_order(1, 1, 1, &one, &err) == DIT_OK && one == 0, "1x1x1");
}

/* Plain grid order, one grid row (f, i) per block: mask(i, j) iff the rows are 8-neighbours. */
static void test_identity_order(void) {
    int64_t F = 4, H = 5, W = 8, nb = F * H;
    uint8_t *mask = malloc((size_t)(nb * nb));
    CHECK(attn_neighbor_mask(NULL, F, H, W, W, mask, &err) == DIT_OK, "%s", err.msg);
    int64_t bad = 0;
    for (int64_t a = 0; a < nb; a++)
        for (int64_t b = 0; b < nb; b++) {
            int expect = llabs(a / H - b / H) <= 1 && llabs(a % H - b % H) <= 1;
            bad += mask[a * nb + b] != expect;
        }
    CHECK(bad == 0, "identity order: %lld entries differ from |df|<=1 && |di|<=1", (long long)bad);
    /* a partial last block: 3 tokens, block 2 -> 2 blocks, both neighbours */
    uint8_t m2[4];
    CHECK(attn_neighbor_mask(NULL, 1, 1, 3, 2, m2, &err) == DIT_OK && m2[0] && m2[1] && m2[2] && m2[3], "1x1x3/2");
    free(mask);
}

static void test_errors(void) {
    int64_t order[24];
    uint8_t mask[16];
    CHECK(attn_gilbert_order(0, 4, 6, order, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "0 x 4 x 6"), "got %s",
          err.msg);
    CHECK(attn_gilbert_order(2, -1, 6, order, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "dimension"), "got %s",
          err.msg);
    CHECK(attn_gilbert_order(1, 2, 3, NULL, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "NULL"), "got %s", err.msg);
    CHECK(attn_gilbert_order(2, 3, 4, order, &err) == DIT_OK, "%s", err.msg);
    CHECK(attn_neighbor_mask(order, 2, 3, 4, 0, mask, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "block size 0"),
          "got %s", err.msg);
    order[5] = order[4];
    CHECK(attn_neighbor_mask(order, 2, 3, 4, 8, mask, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "order[5]") &&
              strstr(err.msg, "repeated"),
          "got %s", err.msg);
    order[5] = 24;
    CHECK(attn_neighbor_mask(order, 2, 3, 4, 8, mask, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "out of range"),
          "got %s", err.msg);
    CHECK(attn_block_count(257, 128) == 3 && attn_block_count(256, 128) == 2 && attn_block_count(0, 128) == 0,
          "block count");
}

int main(void) {
    io_safetensors *st = NULL;
    const char *path = SPADIT_TEST_DATA "/gilbert_golden.safetensors";
    CHECK(io_safetensors_open(path, &st, &err) == DIT_OK, "%s", err.msg);
    if (st) {
        test_golden_orders(st);
        test_golden_neighbors(st);
        io_safetensors_close(&st);
    }
    test_even_grids();
    test_identity_order();
    test_errors();
    return test_summary("test_gilbert");
}
