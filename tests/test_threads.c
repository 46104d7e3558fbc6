/* test_threads.c — the CPU backend's threading choice (dit/cpu_threads.h): cgroup quota parsing on
 * a fake cgroup tree, the thread count from the affinity mask and from an explicit count, and that
 * idle OpenMP workers really sleep (the start-up hook sets OMP_WAIT_POLICY=PASSIVE before libgomp
 * reads it: measured as the CPU time the process burns while the main thread sleeps). */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#include <omp.h>      /* omp_get_max_threads */
#include <sched.h>    /* sched_getaffinity */
#include <stdio.h>    /* fopen */
#include <stdlib.h>   /* mkdtemp, getenv */
#include <sys/stat.h> /* mkdir */
#include <time.h>     /* clock_gettime, nanosleep */

#include "../dit/backend.h"
#include "../dit/cpu_threads.h"
#include "test_util.h"

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static void test_parse(void) {
    CHECK(dit_cpu_parse_cpu_max("max 100000\n") == 0, "unlimited");
    CHECK(dit_cpu_parse_cpu_max("150000 100000\n") == 1.5, "%g", dit_cpu_parse_cpu_max("150000 100000\n"));
    CHECK(dit_cpu_parse_cpu_max("50000") == 0.5, "default period");
    CHECK(dit_cpu_parse_cpu_max("abc") < 0 && dit_cpu_parse_cpu_max("-5 100") < 0, "malformed");
}

static void test_fake_cgroups(void) {
    char root[] = "/tmp/spadit_cg_XXXXXX", p[512];
    if (!mkdtemp(root)) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    /* v2: the parent limits to 1.5 CPUs, the leaf is unlimited: the tightest along the path counts */
    snprintf(p, sizeof p, "%s/a", root), mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/a/b", root), mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/a/cpu.max", root), write_file(p, "150000 100000\n");
    snprintf(p, sizeof p, "%s/a/b/cpu.max", root), write_file(p, "max 100000\n");
    double l = dit_cpu_cgroup_limit_at("0::/a/b\n", root);
    CHECK(l == 1.5, "v2 limit %g", l);
    /* v1: cpu,cpuacct hierarchy with a 0.5-CPU quota; another controller's line is ignored */
    snprintf(p, sizeof p, "%s/cpu,cpuacct", root), mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/cpu,cpuacct/x", root), mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/cpu,cpuacct/x/cpu.cfs_quota_us", root), write_file(p, "50000\n");
    snprintf(p, sizeof p, "%s/cpu,cpuacct/x/cpu.cfs_period_us", root), write_file(p, "100000\n");
    l = dit_cpu_cgroup_limit_at("5:memory:/x\n4:cpu,cpuacct:/x\n", root);
    CHECK(l == 0.5, "v1 limit %g", l);
    /* v1 unlimited (-1) and a missing folder: no limit */
    snprintf(p, sizeof p, "%s/cpu,cpuacct/x/cpu.cfs_quota_us", root), write_file(p, "-1\n");
    CHECK(dit_cpu_cgroup_limit_at("4:cpu,cpuacct:/x\n", root) == 0, "v1 unlimited");
    CHECK(dit_cpu_cgroup_limit_at("0::/nowhere\n", root) == 0, "missing folder");
    test_rm_rf(root); /* no shell (issue 14: no system() anywhere) */
    struct stat st;
    CHECK(stat(root, &st) != 0, "cleanup");
}

static void test_thread_count(void) {
    dit_err err = {0};
    dit_backend *be = NULL;
    /* an explicit count (--threads N) sets the OpenMP team that OpenBLAS's OpenMP build shares */
    CHECK(dit_backend_cpu_create(3, &be, &err) == DIT_OK, "%s", err.msg);
    if (be) CHECK(be->threads == 3 && omp_get_max_threads() == 3, "threads %d, omp %d", be->threads, omp_get_max_threads());
    if (be) CHECK(strstr(be->device_name, "3 threads") != NULL, "%s", be->device_name);
    dit_backend_destroy(&be);
    CHECK(dit_backend_create_threads("cpu", 1, &be, &err) == DIT_OK && be->threads == 1, "threads 1");
    dit_backend_destroy(&be);
    if (getenv("OMP_NUM_THREADS")) {
        printf("note: OMP_NUM_THREADS is set: default-count checks skipped\n");
        return;
    }
    /* the default follows the affinity mask: pin to one CPU and the backend takes one thread */
    int cores = dit_cpu_affinity_cores();
    CHECK(cores >= 1, "affinity cores %d", cores);
    CHECK(dit_backend_create("cpu", &be, &err) == DIT_OK, "%s", err.msg);
    if (be) CHECK(be->threads == dit_cpu_cores_available() && be->threads <= cores, "default %d of %d cores", be->threads, cores);
    dit_backend_destroy(&be);
    cpu_set_t old, one;
    CHECK(sched_getaffinity(0, sizeof old, &old) == 0, "getaffinity");
    int first = 0;
    while (first < CPU_SETSIZE && !CPU_ISSET(first, &old)) first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    if (sched_setaffinity(0, sizeof one, &one) == 0) {
        CHECK(dit_cpu_affinity_cores() == 1 && dit_cpu_cores_available() == 1, "pinned: %d", dit_cpu_cores_available());
        CHECK(dit_backend_create("cpu", &be, &err) == DIT_OK && be->threads == 1, "pinned backend");
        dit_backend_destroy(&be);
        sched_setaffinity(0, sizeof old, &old);
    } else {
        printf("note: sched_setaffinity refused: pinning check skipped\n");
    }
}

static double cpu_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* CPU time the process burns while the main thread sleeps 100 ms after a parallel region: ~0 when
 * the workers sleep, several ms (libgomp's default spin) to ~100 ms per worker (active). */
static double idle_burn_ms(int threads) {
    omp_set_num_threads(threads);
    volatile double sink = 0;
    double worst = 0;
    for (int rep = 0; rep < 3; rep++) {
#pragma omp parallel
        {
            double y = 0;
            for (int i = 0; i < 200000; i++) y += i * 1e-9;
#pragma omp atomic
            sink += y;
        }
        double c0 = cpu_ms();
        struct timespec s = {0, 100000000};
        nanosleep(&s, NULL);
        double b = cpu_ms() - c0;
        if (b > worst) worst = b;
    }
    return worst;
}

static void test_wait_policy(void) {
    const char *w = dit_cpu_wait_policy();
    /* The hook re-executes the program with OMP_WAIT_POLICY=PASSIVE and SPADIT_OMP_WAIT=1 when the
     * environment sets neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT. */
    if (!getenv("SPADIT_OMP_WAIT") && (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))) {
        CHECK(strstr(w, "from the environment") != NULL, "%s", w);
        printf("note: the environment sets the wait policy (%s): burn check skipped\n", w);
        return;
    }
    CHECK(!strcmp(w, "passive wait"), "wait policy '%s' (the start-up hook did not run?)", w);
    CHECK(getenv("OMP_WAIT_POLICY") && !strcmp(getenv("OMP_WAIT_POLICY"), "PASSIVE"), "OMP_WAIT_POLICY not set");
    double burn = idle_burn_ms(2);
    printf("idle workers burned %.2f ms of CPU during 100 ms (passive: ~0; libgomp's default spin: 5-10)\n", burn);
    CHECK(burn < 2.5, "workers spin after a parallel region: %.2f ms of CPU in 100 ms of idle", burn);
}

int main(void) {
    test_parse();
    test_fake_cgroups();
    test_thread_count();
    test_wait_policy();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
