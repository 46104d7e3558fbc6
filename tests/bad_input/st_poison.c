/* st_poison.c — test helper: copy a safetensors file with one tensor's values replaced by NaN (or,
 * with "inf", +Inf), every other tensor bit-exact.  Used by tests/bad_input/run.sh to make a VAE
 * whose weights are corrupt.   st_poison IN OUT TENSOR [nan|inf] */
#include <math.h>   /* NAN, INFINITY */
#include <stdio.h>  /* fprintf */
#include <stdlib.h> /* malloc */
#include <string.h> /* strcmp */

#include "../../io/safetensors.h"
#include "../../io/safetensors_write.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: st_poison IN OUT TENSOR [nan|inf]\n");
        return 2;
    }
    float bad = argc > 4 && !strcmp(argv[4], "inf") ? INFINITY : NAN;
    dit_err err = {0};
    io_safetensors *st = NULL;
    if (io_safetensors_open(argv[1], &st, &err) != DIT_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    io_st_out *o = calloc((size_t)st->n, sizeof *o);
    float **buf = calloc((size_t)st->n, sizeof *buf);
    int found = 0, rc = 0;
    for (int i = 0; i < st->n && rc == 0; i++) {
        const io_st_tensor *t = &st->tensors[i];
        int64_t n = io_st_tensor_numel(t);
        buf[i] = malloc((size_t)(n ? n : 1) * sizeof(float));
        if (io_st_tensor_to_f32(t, buf[i], n, argv[1], &err) != DIT_OK) {
            fprintf(stderr, "%s\n", err.msg);
            rc = 1;
            break;
        }
        if (!strcmp(t->name, argv[3])) {
            for (int64_t k = 0; k < n; k++) buf[i][k] = bad;
            found = 1;
        }
        o[i] = io_st_out_f32(t->name, t->dtype, buf[i], t->ndim, t->shape);
    }
    if (rc == 0 && !found) {
        fprintf(stderr, "%s: no tensor '%s'\n", argv[1], argv[3]);
        rc = 1;
    }
    if (rc == 0 && io_safetensors_write(argv[2], o, st->n, NULL, 0, &err) != DIT_OK) {
        fprintf(stderr, "%s\n", err.msg);
        rc = 1;
    }
    for (int i = 0; i < st->n; i++) free(buf[i]);
    free(buf);
    free(o);
    io_safetensors_close(&st);
    return rc;
}
