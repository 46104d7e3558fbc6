/* test_util.h — tiny test harness: CHECK macros, error metrics, a pass/fail tally.
 * Each test program ends with "N passed, N failed" and exits non-zero on failure. */
#ifndef SPADIT_TEST_UTIL_H
#define SPADIT_TEST_UTIL_H

#include <math.h>   /* sqrt, isnan */
#include <stdio.h>  /* printf */
#include <stdlib.h> /* getenv */
#include <string.h> /* strstr */
#include <dirent.h>   /* opendir (test_rm_rf) */
#include <fcntl.h>    /* open (test_run) */
#include <sys/stat.h> /* lstat */
#include <sys/wait.h> /* waitpid */
#include <unistd.h>   /* fork, execv */

static int g_pass = 0, g_fail = 0;

#define CHECK(cond, ...)                                              \
    do {                                                              \
        if (cond) {                                                   \
            g_pass++;                                                 \
        } else {                                                      \
            g_fail++;                                                 \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            printf(__VA_ARGS__);                                      \
            printf("\n");                                             \
        }                                                             \
    } while (0)

/* ||a - b|| / ||b||; NaN anywhere returns +inf. */
static inline double rel_l2(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) return INFINITY;
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static inline double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || isnan(d)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

static inline int test_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, g_pass, g_fail);
    return g_fail ? 1 : 0;
}

/* Run argv[0] with argv (no shell: nothing in the arguments is interpreted); quiet sends its output
 * to /dev/null.  Returns its exit code, 128 + the signal that killed it, or -1. */
static inline int test_run(char *const argv[], int quiet) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) < 0) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

/* rm -rf without a shell (does not follow symbolic links). */
static inline void test_rm_rf(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            size_t n = strlen(path) + strlen(e->d_name) + 2;
            char *sub = malloc(n);
            if (!sub) continue;
            memcpy(sub, path, strlen(path)), sub[strlen(path)] = '/';
            memcpy(sub + strlen(path) + 1, e->d_name, strlen(e->d_name) + 1);
            test_rm_rf(sub);
            free(sub);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

#ifndef SPADIT_TEST_DATA
#define SPADIT_TEST_DATA "tests/data"
#endif

#endif
