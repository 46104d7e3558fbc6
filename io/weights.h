/* weights.h — one checkpoint = one or more weight files, looked up by tensor name.
 *
 * Sources: a single .safetensors file, a PyTorch torch.save archive (.pth, .pt,
 * .ckpt, .bin; see pth.h), a sharded set through its `*.safetensors.index.json`
 * (every key of its weight_map must be in the named shard), or a directory
 * holding one of these.  Lookups are hashed.
 */
#ifndef SPADIT_WEIGHTS_H
#define SPADIT_WEIGHTS_H

#include "safetensors.h" /* io_safetensors, io_st_tensor */

typedef struct io_weights io_weights;

/* Open `path`: a .safetensors file, a .pth/.pt/.ckpt/.bin file, an .index.json,
 * or a directory.  In a directory, `stem` (e.g. "diffusion_pytorch_model" or
 * "Wan2.1_VAE") picks stem.safetensors.index.json, then stem.safetensors, then
 * stem.pth, then the folder's only *.safetensors or *.pth file. */
dit_status io_weights_open(const char *path, const char *stem, io_weights **out, dit_err *err);
void io_weights_close(io_weights **w);

const io_st_tensor *io_weights_find(const io_weights *w, const char *name);
/* File that holds a tensor (for messages). */
const char *io_weights_file_of(const io_weights *w, const io_st_tensor *t);
int io_weights_count(const io_weights *w);
const io_st_tensor *io_weights_at(const io_weights *w, int i);
int io_weights_nfiles(const io_weights *w);
const char *io_weights_file(const io_weights *w, int i);
size_t io_weights_file_bytes(const io_weights *w); /* bytes on disk, all files */
/* Load a float tensor as f32 into dst (n elements), naming file and tensor on error. */
dit_status io_weights_read_f32(const io_weights *w, const char *name, float *dst, int64_t n, dit_err *err);

#endif
