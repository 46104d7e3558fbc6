/* weight_check.h — match a checkpoint against the tensors a model wants and report every problem
 * in one error: missing tensors (with the expected shape), mis-shaped or non-float ones (got vs
 * expected), and unexpected ones (present but asked for by nobody), at most 8 of each listed.
 * Used by the Wan DiT, umT5 and VAE loaders. */
#ifndef SPADIT_WEIGHT_CHECK_H
#define SPADIT_WEIGHT_CHECK_H

#include "weights.h" /* io_weights, io_st_tensor */

typedef struct io_wcheck {
    int n[3];            /* missing, mis-shaped, unexpected */
    char text[3][1400];  /* the first 8 of each */
    const char **names;  /* every name asked for (alternatives included) */
    size_t nn, cap;
    int oom;
} io_wcheck;

void io_wcheck_init(io_wcheck *c);
void io_wcheck_free(io_wcheck *c);
/* Look `name` up (or `alt`, NULL for none, when name is absent) and check it against shape[ndim]
 * and a float dtype; records what is wrong.  Returns the tensor if usable, else NULL. */
const io_st_tensor *io_wcheck_find(io_wcheck *c, const io_weights *iw, const char *name, const char *alt,
                                   const int64_t *shape, int ndim);
/* Record every tensor of iw that no io_wcheck_find asked for, except those `skip` (may be NULL)
 * says belong to another model (an encoder, a decoder, an LM head). */
void io_wcheck_unexpected(io_wcheck *c, const io_weights *iw, int (*skip)(const char *name, const void *user),
                          const void *user);
/* DIT_OK when nothing was recorded; else DIT_ERR_MISSING (or DIT_ERR_SHAPE when nothing is missing)
 * with "<context>: N missing, M mis-shaped, K unexpected tensor(s)" and the lists; context is
 * printf-style (the file, the layout and the config the shapes came from). */
dit_status io_wcheck_result(const io_wcheck *c, dit_err *err, const char *context_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
