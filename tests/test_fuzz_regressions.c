/* test_fuzz_regressions.c — inputs the libFuzzer targets (tools/fuzz_*.c) once
 * tripped on, replayed through the parsers so the fixes stay fixed (this suite
 * also runs under ASan+UBSan with -fno-sanitize-recover, where a regression
 * aborts).  Each case must be rejected with a clear message, not crash. */
#include <stdint.h> /* uint8_t */

#include "../io/pth.h"
#include "../io/safetensors.h"
#include "test_util.h"

/* A safetensors image: 8-byte little-endian header length, the header, then `data` bytes of zeros. */
static uint8_t *st_image(const char *header, size_t data, size_t *len) {
    size_t h = strlen(header);
    *len = 8 + h + data;
    uint8_t *b = calloc(1, *len);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    return b;
}

int main(void) {
    /* fuzz_safetensors: data_offsets beyond 2^64 were converted to uint64_t before the
     * range check (UBSan: "2.95556e+61 is outside the range of representable values") */
    static const char *st_cases[][2] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,2.95556e61]}}", "invalid data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1e300,1e301]}}", "invalid data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", "shape[0] is not a non-negative"},
    };
    for (size_t i = 0; i < sizeof st_cases / sizeof st_cases[0]; i++) {
        size_t len;
        uint8_t *b = st_image(st_cases[i][0], 4, &len);
        dit_err err = {0};
        io_safetensors *st = NULL;
        dit_status s = io_safetensors_parse(b, len, "regress.safetensors", &st, &err);
        CHECK(s == DIT_ERR_FORMAT && strstr(err.msg, st_cases[i][1]) && strstr(err.msg, "tensor 'a'"),
              "safetensors case %zu: %s", i, err.msg);
        io_safetensors_close(&st);
        free(b);
    }
    /* fuzz_pth: no findings so far (2 x 600 s); an empty and a one-byte image stay rejected */
    dit_err err = {0};
    io_pth *p = NULL;
    CHECK(io_pth_parse((const uint8_t *)"", 0, "empty.pth", &p, &err) == DIT_ERR_FORMAT && strstr(err.msg, "empty.pth"),
          "empty: %s", err.msg);
    CHECK(io_pth_parse((const uint8_t *)"\x80", 1, "one.pth", &p, &err) == DIT_ERR_UNSUPPORTED &&
              strstr(err.msg, "legacy"),
          "one byte: %s", err.msg);
    return test_summary("test_fuzz_regressions");
}
