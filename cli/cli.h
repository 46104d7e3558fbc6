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

#endif
