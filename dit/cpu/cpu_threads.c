/* cpu_threads.c — the CPU backend's thread count (affinity, cgroup quota) and the start-up hook
 * that makes idle OpenMP workers sleep instead of spin (see ../cpu_threads.h).
 * Checked by tests/test_threads.c (parsers, a fake cgroup tree, taskset, the measured spin). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "../cpu_threads.h"

#include <math.h>   /* floor */
#include <sched.h>  /* sched_getaffinity, cpu_set_t */
#include <stdio.h>  /* fopen, snprintf */
#include <stdlib.h> /* malloc, strtod */
#include <string.h> /* strncmp, strchr, strrchr, strlen, strstr */
#include <unistd.h> /* readlink, execve */

/* ---- start-up: the wait policy ------------------------------------------------------------ */

/* What the hook found or did; written once before main, read-only afterwards. */
static char g_wait[96] = "libgomp default wait (spinning)";

/* Value of NAME in envp, or NULL.  (This early, glibc's environ is not set up yet: getenv sees
 * nothing, and a setenv is discarded when libc adopts the loader's envp; hence the re-exec.) */
static const char *env_in(char **envp, const char *name) {
    size_t n = strlen(name);
    for (char **e = envp; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

#define SPADIT_MARK "SPADIT_OMP_WAIT"

static void spadit_wait_policy_hook(int argc, char **argv, char **envp) {
    (void)argc;
    const char *p = env_in(envp, "OMP_WAIT_POLICY"), *s = env_in(envp, "GOMP_SPINCOUNT");
    if (p && env_in(envp, SPADIT_MARK)) {
        snprintf(g_wait, sizeof g_wait, "passive wait");
        return;
    }
    if (p || s) {
        snprintf(g_wait, sizeof g_wait, "%s=%.40s from the environment", p ? "OMP_WAIT_POLICY" : "GOMP_SPINCOUNT",
                 p ? p : s);
        return;
    }
    /* Under valgrind the re-executed program would run outside the tool: keep the default there. */
    const char *pre = env_in(envp, "LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload")) return;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || !argv) return;
    exe[n] = 0;
    size_t ne = 0;
    while (envp && envp[ne]) ne++;
    char **env = malloc((ne + 3) * sizeof *env);
    if (!env) return;
    for (size_t i = 0; i < ne; i++) env[i] = envp[i];
    env[ne] = "OMP_WAIT_POLICY=PASSIVE";
    env[ne + 1] = SPADIT_MARK "=1";
    env[ne + 2] = NULL;
    execve(exe, argv, env); /* returns only on failure: carry on with libgomp's default */
    free(env);
}

/* The executable's pre-initialisers run before every shared library's constructor, libgomp's
 * (which reads OMP_WAIT_POLICY once) included.  This object is linked into every program that
 * creates a CPU backend, since dit_backend_cpu_create calls dit_cpu_cores_available. */
__attribute__((section(".preinit_array"), used)) static void (*const spadit_preinit)(int, char **,
                                                                                     char **) = spadit_wait_policy_hook;

const char *dit_cpu_wait_policy(void) { return g_wait; }

/* ---- cores -------------------------------------------------------------------------------- */

int dit_cpu_affinity_cores(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    return CPU_COUNT(&set);
}

double dit_cpu_parse_cpu_max(const char *text) {
    if (!text) return -1;
    while (*text == ' ' || *text == '\t') text++;
    if (!strncmp(text, "max", 3)) return 0;
    char *end;
    double quota = strtod(text, &end);
    if (end == text || !(quota > 0)) return -1;
    text = end;
    double period = strtod(text, &end);
    if (end == text) period = 100000; /* the kernel's default period */
    if (!(period > 0)) return -1;
    return quota / period;
}

/* First line of a small file into buf; 0 on success. */
static int read_line(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    return ok ? 0 : -1;
}

/* The limit (CPUs) in one cgroup folder; 0 when none. */
static double limit_in(const char *dir, int v2) {
    char path[1200], a[128], b[128];
    if (v2) {
        snprintf(path, sizeof path, "%s/cpu.max", dir);
        if (read_line(path, a, sizeof a)) return 0;
        double l = dit_cpu_parse_cpu_max(a);
        return l > 0 ? l : 0;
    }
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    if (read_line(path, a, sizeof a)) return 0;
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if (read_line(path, b, sizeof b)) return 0;
    double q = strtod(a, NULL), p = strtod(b, NULL);
    return q > 0 && p > 0 ? q / p : 0;
}

/* The tightest limit from mount/path up to mount. */
static double limit_along(const char *mount, const char *path, int v2) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s%s%s", mount, path[0] == '/' ? "" : "/", path);
    size_t base = strlen(mount);
    double best = 0;
    for (;;) {
        size_t n = strlen(dir);
        while (n > base && dir[n - 1] == '/') dir[--n] = 0;
        double l = limit_in(dir, v2);
        if (l > 0 && (best == 0 || l < best)) best = l;
        if (n <= base) break;
        char *slash = strrchr(dir + base, '/');
        if (!slash) break;
        *slash = 0;
    }
    return best;
}

/* Does the v1 controller list (e.g. "cpu,cpuacct") name "cpu"? */
static int names_cpu(const char *list, size_t len) {
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && list[j] != ',') j++;
        if (j - i == 3 && !strncmp(list + i, "cpu", 3)) return 1;
        i = j + 1;
    }
    return 0;
}

double dit_cpu_cgroup_limit_at(const char *proc_cgroup, const char *root) {
    double best = 0;
    const char *line = proc_cgroup;
    while (line && *line) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        const char *c1 = memchr(line, ':', len);
        const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
        if (c2) {
            char path[512], mount[600];
            size_t plen = len - (size_t)(c2 + 1 - line);
            snprintf(path, sizeof path, "%.*s", (int)(plen < sizeof path ? plen : sizeof path - 1), c2 + 1);
            double l = 0;
            if (c2 == c1 + 1 && !strncmp(line, "0:", 2)) { /* v2: "0::/path" */
                l = limit_along(root, path, 1);
            } else if (names_cpu(c1 + 1, (size_t)(c2 - c1 - 1))) { /* v1: "N:cpu,cpuacct:/path" */
                snprintf(mount, sizeof mount, "%s/%.*s", root, (int)(c2 - c1 - 1), c1 + 1);
                l = limit_along(mount, path, 0);
                if (l == 0) { /* the controller is often also mounted as "cpu" */
                    snprintf(mount, sizeof mount, "%s/cpu", root);
                    l = limit_along(mount, path, 0);
                }
            }
            if (l > 0 && (best == 0 || l < best)) best = l;
        }
        line = eol ? eol + 1 : NULL;
    }
    return best;
}

double dit_cpu_cgroup_limit(void) {
    char text[4096];
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return dit_cpu_cgroup_limit_at(text, "/sys/fs/cgroup");
}

int dit_cpu_cores_available(void) {
    int cores = dit_cpu_affinity_cores();
    if (cores < 1) cores = 1;
    double lim = dit_cpu_cgroup_limit();
    if (lim > 0) {
        int q = (int)floor(lim + 0.5);
        if (q < 1) q = 1;
        if (q < cores) cores = q;
    }
    return cores;
}
