/* fuzz_tokenizer.c — libFuzzer target: a tokenizer.json from arbitrary bytes (io_tok_load_mem), then
 * a few prompts encoded with it.  Loading must fail cleanly or give a tokenizer that encodes without
 * crashing, leaking or reading out of bounds (normalizers, pre-tokenizer regexes, added tokens,
 * the template).
 *   build-fuzz/tools/fuzz_tokenizer corpus/ seeds/   (seeds: tests/data/tok_*.json) */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t */
#include <stdlib.h> /* abort */

#include "../io/tokenizer_unigram.h" /* io_tok_load_mem, io_tok_encode */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dit_err err = {0};
    io_tokenizer *t = NULL;
    if (io_tok_load_mem((const char *)data, size, "fuzz/tokenizer.json", &t, &err) != DIT_OK) return 0;
    static const char *const prompts[] = {"", "a cat  walks on the grass, <extra_id_0> 4K\n\t", "  \xe2\x96\x81 ab   ",
                                          "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac</s><pad>"};
    for (size_t i = 0; i < sizeof prompts / sizeof prompts[0]; i++) {
        int32_t ids[64];
        int n = -1;
        if (io_tok_encode(t, prompts[i], ids, 64, &n, &err) == DIT_OK && (n < 0 || n > 64)) abort();
        for (int k = 0; k < n && k < 64; k++) (void)io_tok_piece(t, ids[k]);
    }
    io_tok_free(&t);
    return 0;
}
