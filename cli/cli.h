/* cli.h — subcommands of the spadit program (argv -> run config -> pipeline calls; no math here). */
#ifndef SPADIT_CLI_H
#define SPADIT_CLI_H

int cmd_info(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Print "spadit: error: <msg>" to stderr and return the exit code for a status. */
int cli_fail(const char *msg);
/* Parse a positive integer flag value; returns 0 and prints an error naming the flag on failure. */
int cli_parse_int(const char *flag, const char *val, long long lo, long long hi, long long *out);
int cli_parse_float(const char *flag, const char *val, double lo, double hi, double *out);
/* "WxH" or "W*H", decimal digits only, each side in [1, CLI_MAX_SIDE]; 1 on success, 0 otherwise
 * (0x0, 4294967312x48 and 64x48garbage are all refused). */
#define CLI_MAX_SIDE (1 << 17)
int cli_parse_size(const char *v, long long *W, long long *H);
/* n positive decimals joined by 'x' (or '*'), each in [1, max], nothing after; 1 on success. */
int cli_parse_dims(const char *v, int n, long long max, long long *out);

/* The run-shape flags generate, compare and bench share: --size WxH (or W*H), --frames N, --steps N,
 * --seed N, --shift X.  Callers set their defaults first. */
typedef struct cli_run_flags {
    long long W, H, frames, steps, seed;
    double shift;
} cli_run_flags;
/* If `a` is one of those flags, parse its value `v` into f: returns 1 (consumed a value), -1 after
 * printing an error naming the flag, 0 when `a` is not one of them. */
int cli_run_flag(const char *a, const char *v, cli_run_flags *f);

/* `--threads N` (every command that runs a backend): CPU threads, 1..1024 (0, the default: the cores
 * this process may use; dit/cpu_threads.h).  Same return convention as cli_run_flag. */
int cli_threads_flag(const char *a, const char *v, long long *threads);
#define CLI_THREADS_HELP "  --threads N          CPU backend threads (default: the cores this process may use:\n" \
                         "                       affinity mask and cgroup CPU quota)\n"

#endif
