/* st_diff — compare the float tensors two safetensors files share: relative L2 and max |diff| per
 * tensor; exit 1 when a tensor is missing from the second file, differs in shape, or exceeds --tol.
 * usage: st_diff A.safetensors B.safetensors [--tol X]   (tests: parallel vs single-rank latents) */
#include <math.h>   /* sqrt, fabs */
#include <stdio.h>  /* printf */
#include <stdlib.h> /* malloc, strtod */
#include <string.h> /* strcmp */

#include "../io/safetensors.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: st_diff A.safetensors B.safetensors [--tol X]\n");
        return 2;
    }
    double tol = 0;
    for (int i = 3; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--tol")) tol = strtod(argv[i + 1], NULL);
    dit_err err = {0};
    io_safetensors *a = NULL, *b = NULL;
    if (io_safetensors_open(argv[1], &a, &err) != DIT_OK || io_safetensors_open(argv[2], &b, &err) != DIT_OK) {
        fprintf(stderr, "st_diff: %s\n", err.msg);
        io_safetensors_close(&a);
        return 2;
    }
    int bad = 0;
    for (int i = 0; i < a->n; i++) {
        const io_st_tensor *ta = &a->tensors[i], *tb = io_safetensors_find(b, ta->name);
        int64_t n = io_st_tensor_numel(ta);
        if (!tb || io_st_tensor_numel(tb) != n || tb->ndim != ta->ndim) {
            printf("%s: missing or of another shape in %s\n", ta->name, argv[2]);
            bad = 1;
            continue;
        }
        float *x = malloc((size_t)n * sizeof(float) + 1), *y = malloc((size_t)n * sizeof(float) + 1);
        if (!x || !y || io_st_tensor_to_f32(ta, x, n, argv[1], &err) != DIT_OK ||
            io_st_tensor_to_f32(tb, y, n, argv[2], &err) != DIT_OK) {
            printf("%s: %s\n", ta->name, x && y ? err.msg : "out of memory");
            bad = 1;
        } else {
            double num = 0, den = 0, mx = 0;
            for (int64_t k = 0; k < n; k++) {
                double d = (double)x[k] - y[k];
                num += d * d, den += (double)y[k] * y[k];
                if (fabs(d) > mx || d != d) mx = d != d ? INFINITY : fabs(d);
            }
            double rel = den > 0 ? sqrt(num / den) : sqrt(num);
            if (!(rel <= tol)) bad = 1;
            printf("%s: rel L2 %.3e, max |diff| %.3e%s\n", ta->name, rel, mx, rel <= tol ? "" : "  (above --tol)");
        }
        free(x), free(y);
    }
    io_safetensors_close(&a);
    io_safetensors_close(&b);
    return bad;
}
