/* pth.h — read PyTorch torch.save checkpoints (.pth/.pt/.ckpt zip archives) without Python.
 *
 * A torch.save file is a zip (io/zip.h) holding <archive>/data.pkl, a pickle
 * (io/pickle.h) of the saved object, and one STORED entry <archive>/data/<key>
 * per storage.  Tensors are rebuilt from their persistent ids and
 * torch._utils._rebuild_tensor_v2/_v3 calls; contiguous ones point straight into
 * the file's mapping (like io/safetensors.h), non-contiguous views are copied.
 *
 * Naming: nested dicts and lists are flattened with '.' ({"a": {"b": t}} ->
 * "a.b"; list items by index); non-tensor leaves (ints, strings, None) are
 * skipped.  While the top-level dict has exactly one entry holding tensors and
 * that entry is itself a dict (e.g. {"state_dict": {...}, "epoch": 3} or
 * {"model": {...}}), the wrapper is stripped and its key recorded in `wrapper`.
 * A bare saved tensor is named "tensor".
 *
 * Every offset, size and stride is validated before a tensor is handed out;
 * errors name the file, the tensor (or pickle offset / zip entry) and what was
 * expected.  Checked by tests/test_pth.c against safetensors copies written by
 * PyTorch (tools/gen_pth_goldens.py) and fuzzed by tools/fuzz_pth.c.
 */
#ifndef SPADIT_PTH_H
#define SPADIT_PTH_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t */

#include "safetensors.h" /* io_st_tensor, io_st_dtype, dit_status, dit_err */

typedef struct io_pth {
    char *path;
    void *map; /* whole-file mapping (or the caller's buffer for io_pth_parse) */
    size_t map_size;
    int owns_map;
    int n;
    io_st_tensor *tensors; /* in pickle order; begin/end = byte range in the file */
    char wrapper[256];     /* stripped wrapper keys joined with '.', e.g. "state_dict"; "" if none */
    void **copies;         /* buffers of non-contiguous tensors (owned) */
    int ncopies;
} io_pth;

/* mmap and parse a torch.save file. */
dit_status io_pth_open(const char *path, io_pth **out, dit_err *err);
/* Parse an in-memory image (tests, fuzzer); `label` names it in errors.  The
 * buffer must outlive the result. */
dit_status io_pth_parse(const uint8_t *buf, size_t len, const char *label, io_pth **out, dit_err *err);
void io_pth_close(io_pth **p);
const io_st_tensor *io_pth_find(const io_pth *p, const char *name);
/* Whether buf starts like a zip archive (what torch.save writes). */
int io_pth_sniff(const uint8_t *buf, size_t len);

#endif
