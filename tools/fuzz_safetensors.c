/* fuzz_safetensors.c — libFuzzer target: io_safetensors_parse on arbitrary bytes.
 * Must never crash, leak or read out of bounds; errors are expected.
 *   build-fuzz/tools/fuzz_safetensors corpus/ seeds/   (seeds: tests/data safetensors files) */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t */

#include "../io/safetensors.h" /* io_safetensors_parse */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dit_err err = {0};
    io_safetensors *st = NULL;
    if (io_safetensors_parse(data, size, "fuzz.safetensors", &st, &err) == DIT_OK) {
        volatile uint8_t sink = 0; /* touch every tensor's bytes so ASan checks the ranges */
        for (int i = 0; i < st->n; i++) {
            const uint8_t *d = st->tensors[i].data;
            for (size_t k = st->tensors[i].begin; k < st->tensors[i].end; k++) sink ^= d[k - st->tensors[i].begin];
        }
        (void)sink;
    }
    io_safetensors_close(&st);
    return 0;
}
