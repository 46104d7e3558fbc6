/* patch.h — host-side layout helpers of the video DiTs: 3D patchify/unpatchify
 * and the 3D rotary tables.
 *
 * Latents are [C, F, H, W] f32.  Token n of the patch grid (f, i, j) is
 * n = (f*Hp + i)*Wp + j with Fp = F/pt, Hp = H/ph, Wp = W/pw.
 */
#ifndef SPADIT_PATCH_H
#define SPADIT_PATCH_H

#include <stdint.h> /* int64_t */

typedef struct dit_grid {
    int64_t C, F, H, W;    /* latent shape */
    int pt, ph, pw;        /* patch size */
} dit_grid;

static inline int64_t dit_grid_tokens(const dit_grid *g) { return (g->F / g->pt) * (g->H / g->ph) * (g->W / g->pw); }
static inline int64_t dit_grid_patch_dim(const dit_grid *g) { return g->C * g->pt * g->ph * g->pw; }

/* tokens[N, C*pt*ph*pw] with the vector ordered (c, dt, dy, dx) — the order of a
 * Conv3d(kernel = stride = patch) weight flattened to [dim, C*pt*ph*pw]. */
void dit_patchify(const dit_grid *g, const float *latent, float *tokens);
/* out[C, F, H, W] from y[N, pt*ph*pw*C] ordered (dt, dy, dx, c): channel innermost. */
void dit_unpatchify(const dit_grid *g, const float *y, float *latent);

/* Rotary table for a 3D token grid: out[n, D/2, 2] = (cos, sin) of the angle
 * of pair p for the token at grid (f, i, j).  Pairs [0, Pt) rotate with f,
 * [Pt, Pt+Ph) with i, the rest with j, where Ph = Pw = D/6 (integer) and
 * Pt = D/2 - 2*Ph; theta_k = base^(-2k/dim_axis) with dim_axis = 2*P_axis.
 * Angles are computed in double precision.  Rows cover tokens [n0, n0+count)
 * of the grid order, or the tokens listed in `order` (order[r] = grid index
 * of row r) when order is not NULL. */
void dit_rope3d_table(int64_t Fp, int64_t Hp, int64_t Wp, int head_dim, double base, const int64_t *order,
                      int64_t n0, int64_t count, float *out);

#endif
