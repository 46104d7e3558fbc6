/* gilbert.h — the 3D Gilbert (generalised Hilbert) token order of a latent grid and the
 * static block-neighbour mask that Rectified SpaAttn ORs into its selection.
 *
 * Grid token n = (f*Hp + i)*Wp + j (dit/patch.h).  attn_gilbert_order walks the
 * generalised Hilbert curve over the Fp x Hp x Wp cuboid with the axis order w > h > t
 * (major axis along j, then i, then f), as Jenga / Rectified SpaAttn do for Wan, and writes
 * order[r] = grid index of the r-th token on the curve: exactly what wan_run_set_order takes.
 * Checked by tests/test_gilbert.c against the reference Python (tools/gen_gilbert_goldens.py).
 */
#ifndef SPADIT_GILBERT_H
#define SPADIT_GILBERT_H

#include <stdint.h> /* int64_t, uint8_t */

#include "../dit/status.h" /* dit_status, dit_err */

/* order[Fp*Hp*Wp] <- the curve order.  Dimensions must be >= 1. */
dit_status attn_gilbert_order(int64_t Fp, int64_t Hp, int64_t Wp, int64_t *order, dit_err *err);

/* Number of blocks of `block` tokens covering n tokens (the last one possibly partial). */
int64_t attn_block_count(int64_t n, int64_t block);

/* mask[nb * nb] (nb = attn_block_count(Fp*Hp*Wp, block)) <- for block i (tokens [i*block,
 * (i+1)*block) of the sequence in `order`), mask[i*nb + j] = 1 iff block j contains a
 * 26-neighbour in the grid of some token of block i, or j == i; else 0.  order NULL means
 * the grid order itself; otherwise it must be a permutation of the grid indices. */
dit_status attn_neighbor_mask(const int64_t *order, int64_t Fp, int64_t Hp, int64_t Wp, int64_t block,
                              uint8_t *mask, dit_err *err);

#endif
