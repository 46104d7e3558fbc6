/* cpu_threads.h — how many threads the CPU backend runs, and how its idle OpenMP workers wait.
 *
 * Thread count: the cores this process may actually use = the CPUs of its affinity mask
 * (sched_getaffinity: taskset, cpusets, container pinning), capped by the cgroup CPU quota
 * (v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us, the tightest along the cgroup path),
 * at least 1.  `--threads N` on the CLI overrides it (dit_backend_cpu_create(N)).
 *
 * Waiting: libgomp's default is to spin ~300,000 iterations (5-10 ms measured here) after every
 * parallel region before sleeping; on a machine whose cores are shared with other processes the
 * spinning workers take the cores that the working threads need (bench/NOTES.md: a DiT forward
 * 6x slower).  Every program linked with the CPU backend therefore runs with
 * OMP_WAIT_POLICY=PASSIVE unless the environment sets OMP_WAIT_POLICY or GOMP_SPINCOUNT itself.
 * libgomp reads its environment once, in its load-time constructor, before main, and a setenv
 * before that constructor does not survive (at the executable's .preinit_array, the earliest
 * hook, glibc has not adopted the environment yet; measured: GOMP_SPINCOUNT stays 300000).  So
 * the pre-initialiser re-executes the program (/proc/self/exe, same argv, same pid) with
 * OMP_WAIT_POLICY=PASSIVE and SPADIT_OMP_WAIT=1 added: ~65 ms once per start.  Not under
 * valgrind (the new image would leave the tool); set OMP_WAIT_POLICY there.
 */
#ifndef SPADIT_CPU_THREADS_H
#define SPADIT_CPU_THREADS_H

/* CPUs in this thread's affinity mask; 0 when unknown. */
int dit_cpu_affinity_cores(void);

/* The CPU limit of this process's cgroups in CPUs (quota / period, e.g. 1.5); 0 when there is
 * none or it cannot be read.  dit_cpu_cgroup_limit_at reads an explicit /proc/self/cgroup text
 * and cgroup mount root (tests). */
double dit_cpu_cgroup_limit(void);
double dit_cpu_cgroup_limit_at(const char *proc_cgroup, const char *root);

/* cgroup v2 cpu.max contents ("max 100000" -> 0, "150000 100000" -> 1.5); -1 when malformed. */
double dit_cpu_parse_cpu_max(const char *text);

/* The default thread count: min(affinity cores, cgroup limit rounded to the nearest core), >= 1. */
int dit_cpu_cores_available(void);

/* How the OpenMP workers wait, for reports: "passive wait" (set by spadit at start-up),
 * "OMP_WAIT_POLICY=... from the environment" (or GOMP_SPINCOUNT), or "libgomp default wait
 * (spinning)" when the start-up hook did not run. */
const char *dit_cpu_wait_policy(void);

#endif
