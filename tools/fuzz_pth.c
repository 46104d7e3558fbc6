/* fuzz_pth.c — libFuzzer target: io_pth_parse (zip directory, pickle VM, torch
 * rebuilds, flattening) on arbitrary bytes.  Must never crash, leak or read out
 * of bounds; errors are expected.  Seed it with real torch.save files, e.g.
 *   build-fuzz/tools/fuzz_pth -max_len=65536 corpus/ tests/data/pth/   */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t */

#include "../io/pth.h" /* io_pth_parse */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dit_err err = {0};
    io_pth *p = NULL;
    if (io_pth_parse(data, size, "fuzz.pth", &p, &err) == DIT_OK) {
        /* touch every tensor's bytes so ASan checks the ranges handed out */
        volatile uint8_t sink = 0;
        for (int i = 0; i < p->n; i++) {
            const uint8_t *d = p->tensors[i].data;
            size_t n = (size_t)io_st_tensor_numel(&p->tensors[i]) * io_st_dtype_size(p->tensors[i].dtype);
            for (size_t k = 0; k < n; k++) sink ^= d[k];
        }
        (void)sink;
    }
    io_pth_close(&p);
    return 0;
}
