/* main.c — `spadit <command> [flags]`: dispatch to the subcommands. */
#include <stdio.h>  /* fprintf */
#include <stdlib.h> /* strtoll, strtod */
#include <string.h> /* strcmp */
#include <errno.h>  /* errno */

#include "../io/atomic_file.h" /* io_tmp_cleanup_on_signals */
#include "cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "spadit — video diffusion transformers with sparse attention\n\n"
            "usage: spadit <command> [options]\n\n"
            "commands:\n"
            "  generate PROMPT       text to video (default: the embedded tiny model)\n"
            "  compare PROMPT        A/B of attention presets against dense: PSNR/SSIM, errors, report\n"
            "  bench                 attention and step time per layer and step: dense (cuDNN) vs presets\n"
            "  info MODEL            family, layout, config, parameters, dtypes, bytes on disk\n"
            "  forward [MODEL]       one DiT forward on random inputs (default: the bundled model)\n"
            "  help                  this text\n\n"
            "Run 'spadit <command> --help' for a command's options.\n");
}

int cli_fail(const char *msg) {
    fprintf(stderr, "spadit: error: %s\n", msg);
    return 1;
}

int cli_parse_int(const char *flag, const char *val, long long lo, long long hi, long long *out) {
    if (!val) {
        fprintf(stderr, "spadit: error: %s needs a value\n", flag);
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(val, &end, 10);
    if (errno || end == val || *end || v < lo || v > hi) {
        fprintf(stderr, "spadit: error: %s expects an integer in [%lld, %lld], got '%s'\n", flag, lo, hi, val);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_float(const char *flag, const char *val, double lo, double hi, double *out) {
    if (!val) {
        fprintf(stderr, "spadit: error: %s needs a value\n", flag);
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (errno || end == val || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "spadit: error: %s expects a number in [%g, %g], got '%s'\n", flag, lo, hi, val);
        return 0;
    }
    *out = v;
    return 1;
}

/* One decimal number: digits only (no sign, no spaces), no overflow, in [1, max]. */
static const char *parse_side(const char *s, long long max, long long *out) {
    long long v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > max) return NULL;
    }
    if (p == s || v < 1) return NULL;
    *out = v;
    return p;
}

int cli_parse_dims(const char *v, int n, long long max, long long *out) {
    const char *p = v;
    for (int i = 0; i < n; i++) {
        if (!p || (i && *p != 'x' && *p != '*')) return 0;
        p = parse_side(p + (i > 0), max, &out[i]);
    }
    return p && !*p; /* "64x48garbage" */
}

int cli_parse_size(const char *v, long long *W, long long *H) {
    long long d[2];
    if (!cli_parse_dims(v, 2, CLI_MAX_SIDE, d)) return 0;
    *W = d[0], *H = d[1];
    return 1;
}

int cli_run_flag(const char *a, const char *v, cli_run_flags *f) {
    if (!strcmp(a, "--size")) {
        if (!cli_parse_size(v, &f->W, &f->H)) {
            fprintf(stderr, "spadit: error: --size expects WxH with 1 <= W, H <= %d (e.g. 832x480), got '%s'\n",
                    CLI_MAX_SIDE, v ? v : "nothing");
            return -1;
        }
        return 1;
    }
    if (!strcmp(a, "--frames")) return cli_parse_int(a, v, 1, 1001, &f->frames) ? 1 : -1;
    if (!strcmp(a, "--steps")) return cli_parse_int(a, v, 1, 1000, &f->steps) ? 1 : -1;
    if (!strcmp(a, "--seed")) return cli_parse_int(a, v, 0, (long long)1 << 62, &f->seed) ? 1 : -1;
    if (!strcmp(a, "--shift")) return cli_parse_float(a, v, 0.01, 100, &f->shift) ? 1 : -1;
    return 0;
}

int cli_threads_flag(const char *a, const char *v, long long *threads) {
    if (strcmp(a, "--threads")) return 0;
    return cli_parse_int(a, v, 1, 1024, threads) ? 1 : -1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    io_tmp_cleanup_on_signals(); /* SIGINT / SIGTERM while an output is written leave no temp file */
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "generate")) return cmd_generate(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare")) return cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "forward")) return cmd_forward(argc - 1, argv + 1);
    fprintf(stderr, "spadit: error: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
