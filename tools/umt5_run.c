/* umt5_run.c — run the umT5 encoder once (or a few times) on token ids from a
 * file and write the output as safetensors: the C side of
 * tools/umt5_gpu_check.py, usable by hand for timing.
 *
 *   umt5_run MODEL IDS OUT [--backend cpu|cuda|cuda:N] [--valid N] [--repeat N]
 *     MODEL  encoder folder or file (see wan_umt5_locate)
 *     IDS    text file of token ids (separated by spaces, commas, newlines or brackets)
 *     OUT    safetensors file written with "embedding" F32 [n, d_model] and "ids" I64 [n]
 *     --valid N   only the first N ids are real (right padding, keys masked); default all
 *     --repeat N  encode N times (the first includes one-time costs such as the bias tables)
 * Prints human-readable lines, then one JSON line with load_ms, encode_ms (each
 * run), tokens, backend and bytes_on_device for scripts.  Exit status 0 on
 * success, 1 on failure (the error is printed), 2 on bad usage.
 * Checked by running tools/umt5_gpu_check.py --small --backend cpu. */
#include <errno.h>  /* errno */
#include <stdint.h> /* INT32_MIN, INT32_MAX */
#include <stdio.h>  /* printf, fprintf */
#include <stdlib.h> /* strtoll, malloc */
#include <string.h> /* strcmp */

#include "../io/json_file.h"         /* io_file_read_all */
#include "../io/safetensors_write.h" /* io_safetensors_write */
#include "../models/wan/umt5.h"      /* wan_umt5_load, wan_umt5_encode_padded */

static void usage(FILE *f) {
    fprintf(f, "usage: umt5_run MODEL IDS OUT.safetensors [--backend cpu|cuda|cuda:N] [--valid N] [--repeat N]\n");
}

static int parse_count(const char *flag, const char *v, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "umt5_run: error: %s expects an integer in [%lld, %lld], got '%s'\n", flag, lo, hi, v ? v : "");
        return 0;
    }
    *out = x;
    return 1;
}

/* ids from text: integers separated by anything in " \t\r\n,[]" */
static int read_ids(const char *path, int32_t **ids, int64_t *n) {
    char *buf = NULL;
    size_t len = 0;
    dit_err err = {0};
    if (io_file_read_all(path, &buf, &len, &err) != DIT_OK) {
        fprintf(stderr, "umt5_run: error: %s\n", err.msg);
        return 0;
    }
    int64_t cap = 64, k = 0;
    int32_t *v = malloc((size_t)cap * sizeof *v);
    char *p = buf;
    while (v && *p) {
        if (strchr(" \t\r\n,[]", *p)) {
            p++;
            continue;
        }
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (end == p || errno || x < INT32_MIN || x > INT32_MAX) {
            fprintf(stderr, "umt5_run: error: %s: '%.20s' at byte %lld is not a token id\n", path, p, (long long)(p - buf));
            free(v), free(buf);
            return 0;
        }
        if (k == cap) {
            int32_t *nv = realloc(v, (size_t)(cap *= 2) * sizeof *v);
            if (!nv) free(v);
            v = nv;
            if (!v) break;
        }
        v[k++] = (int32_t)x;
        p = end;
    }
    free(buf);
    if (!v || k == 0) {
        fprintf(stderr, "umt5_run: error: %s holds no token ids\n", path);
        free(v);
        return 0;
    }
    *ids = v;
    *n = k;
    return 1;
}

/* Encode `repeat` times and write OUT; prints the human and JSON lines. */
static dit_status run(wan_umt5 *m, const int32_t *ids, int64_t n, int64_t valid, long long repeat, const char *out_path,
                      dit_err *err) {
    dit_backend *be = m->be;
    printf("model:    %s layout, d_model %d, %d layers, %d heads x %d, d_ff %d, vocab %lld\n",
           m->layout == WAN_UMT5_LAYOUT_HF ? "HF" : "original (Wan)", m->cfg.d_model, m->cfg.layers, m->cfg.heads,
           m->cfg.d_kv, m->cfg.d_ff, (long long)m->cfg.vocab);
    printf("backend:  %s, %.2f GiB of weights on the device, loaded in %.1f ms\n", be->name,
           (double)m->bytes_on_device / (1 << 30), m->ms_load);
    float *out = malloc((size_t)(n * m->cfg.d_model) * sizeof(float));
    double *ms = calloc((size_t)repeat, sizeof *ms);
    int64_t *id64 = malloc((size_t)n * sizeof *id64);
    dit_status s = out && ms && id64 ? DIT_OK : DIT_FAIL(err, DIT_ERR_OOM, "umt5_run: output of %lld rows", (long long)n);
    for (long long r = 0; s == DIT_OK && r < repeat; r++) {
        s = wan_umt5_encode_padded(m, ids, n, valid, out, err);
        ms[r] = m->ms_encode;
        if (s == DIT_OK)
            printf("encode:   %lld tokens (%lld valid) in %.2f ms%s\n", (long long)n, (long long)valid, ms[r],
                   r == 0 ? " (first run: includes the position-bias tables)" : "");
    }
    if (s == DIT_OK) {
        for (int64_t i = 0; i < n; i++) id64[i] = ids[i];
        int64_t sh_e[2] = {n, m->cfg.d_model};
        io_st_out t[2] = {io_st_out_f32("embedding", IO_ST_F32, out, 2, sh_e), {"ids", IO_ST_I64, 1, {n}, id64, NULL}};
        io_st_meta meta[2] = {{"model", m->identity}, {"backend", be->name}};
        s = io_safetensors_write(out_path, t, 2, meta, 2, err);
    }
    if (s == DIT_OK) {
        double best = ms[0];
        for (long long r = 1; r < repeat; r++) best = ms[r] < best ? ms[r] : best;
        printf("output:   %s [%lld, %d]; best encode %.2f ms\n", out_path, (long long)n, m->cfg.d_model, best);
        printf("{\"load_ms\": %.3f, \"encode_ms\": [", m->ms_load);
        for (long long r = 0; r < repeat; r++) printf("%s%.3f", r ? ", " : "", ms[r]);
        printf("], \"best_ms\": %.3f, \"tokens\": %lld, \"valid\": %lld, \"backend\": \"%s\", \"bytes_on_device\": "
               "%lld}\n",
               best, (long long)n, (long long)valid, be->name, (long long)m->bytes_on_device);
    }
    free(out), free(ms), free(id64);
    return s;
}

int main(int argc, char **argv) {
    const char *pos[3] = {NULL, NULL, NULL}, *backend = "cpu";
    long long valid = 0, repeat = 1;
    int np = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--backend")) {
            if (!v) return usage(stderr), 2;
            backend = v, i++;
        } else if (!strcmp(a, "--valid")) {
            if (!parse_count(a, v, 1, 1 << 30, &valid)) return 2;
            i++;
        } else if (!strcmp(a, "--repeat")) {
            if (!parse_count(a, v, 1, 1000, &repeat)) return 2;
            i++;
        } else if (a[0] == '-' || np == 3) {
            fprintf(stderr, "umt5_run: error: unexpected argument '%s'\n", a);
            return usage(stderr), 2;
        } else {
            pos[np++] = a;
        }
    }
    if (np != 3) return usage(stderr), 2;
    int32_t *ids = NULL;
    int64_t n = 0;
    if (!read_ids(pos[1], &ids, &n)) return 1;
    if (valid == 0) valid = n;
    if (valid > n) {
        fprintf(stderr, "umt5_run: error: --valid %lld exceeds the %lld ids in %s\n", valid, (long long)n, pos[1]);
        free(ids);
        return 2;
    }
    dit_err err = {0};
    dit_backend *be = NULL;
    wan_umt5 *m = NULL;
    dit_status s = dit_backend_create(backend, &be, &err);
    if (s == DIT_OK) s = wan_umt5_load(pos[0], be, &m, &err);
    if (s == DIT_OK) s = run(m, ids, n, valid, repeat, pos[2], &err);
    if (s != DIT_OK) fprintf(stderr, "umt5_run: error: %s\n", err.msg);
    wan_umt5_free(&m);
    dit_backend_destroy(&be);
    free(ids);
    return s == DIT_OK ? 0 : 1;
}
