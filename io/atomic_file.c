/* atomic_file.c — temp file next to the target, rename on success (see atomic_file.h).
 * Checked by tests/test_video.c (unwritable folder, aborts and failed writes leave
 * no file; successful writes replace the target). */
#include "atomic_file.h"

#include <errno.h>  /* errno, EEXIST */
#include <signal.h> /* sigaction, raise, sig_atomic_t */
#include <fcntl.h>  /* open, O_EXCL */
#include <stdint.h> /* uintptr_t */
#include <stdio.h>  /* snprintf, rename */
#include <string.h> /* strrchr, strerror */
#include <time.h>   /* clock_gettime */
#include <stdlib.h> /* free */
#include <sys/stat.h> /* mkdir, stat */
#include <unistd.h> /* close, getpid, unlink */

/* Live temp files, for removal from a signal handler.  The one piece of process-wide state in io/:
 * a handler cannot reach caller-owned records.  Slots are claimed and released by the thread that
 * writes outputs (main); the handler only reads them, and unlink(2) is async-signal-safe. */
#define TMP_SLOTS 64
static struct {
    volatile sig_atomic_t used;
    char path[4352];
} g_tmp[TMP_SLOTS];

static void tmp_register(const char *path) {
    if (strlen(path) >= sizeof g_tmp[0].path) return;
    for (int i = 0; i < TMP_SLOTS; i++)
        if (!g_tmp[i].used) {
            memcpy(g_tmp[i].path, path, strlen(path) + 1);
            g_tmp[i].used = 1; /* published after the path is complete */
            return;
        }
}

static void tmp_unregister(const char *path) {
    for (int i = 0; i < TMP_SLOTS; i++)
        if (g_tmp[i].used && !strcmp(g_tmp[i].path, path)) {
            g_tmp[i].used = 0;
            return;
        }
}

int io_tmp_live(void) {
    int n = 0;
    for (int i = 0; i < TMP_SLOTS; i++) n += g_tmp[i].used != 0;
    return n;
}

void io_tmp_remove_all(void) {
    for (int i = 0; i < TMP_SLOTS; i++)
        if (g_tmp[i].used) {
            unlink(g_tmp[i].path);
            g_tmp[i].used = 0;
        }
}

static void on_fatal_signal(int sig) {
    io_tmp_remove_all();
    signal(sig, SIG_DFL); /* then die of the same signal: the exit status still says which one */
    raise(sig);
}

void io_tmp_cleanup_on_signals(void) {
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) sigaddset(&sa.sa_mask, sigs[k]);
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue; /* nohup: stay ignored */
        sigaction(sigs[i], &sa, NULL);
    }
}

dit_status io_tmp_create(const char *target, char *tmp, size_t cap, dit_err *err) {
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    int dlen = slash ? (int)(slash - target + 1) : 0;
    if (!*base) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: output path names a folder, not a file", target);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned seq = (unsigned)(ts.tv_nsec ^ (long)(uintptr_t)tmp);
    for (int attempt = 0; attempt < 64; attempt++, seq = seq * 1103515245u + 12345u) {
        int n = snprintf(tmp, cap, "%.*s.%s.tmp-%ld-%08x", dlen, target, base, (long)getpid(), seq);
        if (n < 0 || (size_t)n >= cap) {
            tmp[0] = 0;
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: output path too long for its temporary name", target);
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            close(fd);
            tmp_register(tmp);
            return DIT_OK;
        }
        if (errno != EEXIST) {
            int e = errno;
            tmp[0] = 0;
            return DIT_FAIL(err, DIT_ERR_IO, "%s: cannot create a temporary file in %s%.*s: %s", target,
                            dlen ? "" : "the current folder", dlen, target, strerror(e));
        }
    }
    tmp[0] = 0;
    return DIT_FAIL(err, DIT_ERR_IO, "%s: no free temporary name after 64 tries", target);
}

dit_status io_tmp_commit(const char *tmp, const char *target, dit_err *err) {
    if (rename(tmp, target) != 0) {
        int e = errno;
        unlink(tmp);
        tmp_unregister(tmp);
        return DIT_FAIL(err, DIT_ERR_IO, "%s: cannot move the finished file into place: %s", target, strerror(e));
    }
    tmp_unregister(tmp);
    return DIT_OK;
}

void io_tmp_discard(const char *tmp) {
    if (tmp && tmp[0]) {
        unlink(tmp);
        tmp_unregister(tmp);
    }
}

int io_same_file(const char *a, const char *b) {
    if (!strcmp(a, b)) return 1;
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    /* not both existing: compare the resolved folders and the last components */
    char da[4200], db[4200];
    const char *ba = strrchr(a, '/'), *bb = strrchr(b, '/');
    const char *na = ba ? ba + 1 : a, *nb = bb ? bb + 1 : b;
    if (strcmp(na, nb)) return 0;
    snprintf(da, sizeof da, "%.*s", ba ? (int)(ba - a) + 1 : 1, ba ? a : ".");
    snprintf(db, sizeof db, "%.*s", bb ? (int)(bb - b) + 1 : 1, bb ? b : ".");
    if (stat(da, &sa) != 0 || stat(db, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

dit_status io_write_file_atomic(const char *path, const void *data, size_t len, dit_err *err) {
    char tmp[4200];
    DIT_TRY(io_tmp_create(path, tmp, sizeof tmp, err));
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) {
        io_tmp_discard(tmp);
        return DIT_FAIL(err, DIT_ERR_IO, "%s: cannot write %zu bytes (%s)", path, len, strerror(errno));
    }
    return io_tmp_commit(tmp, path, err);
}

dit_status io_output_dir_check(const char *target, dit_err *err) {
    char dir[4200];
    const char *slash = strrchr(target, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == target) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - target), target);
    if (access(dir, F_OK) != 0)
        return DIT_FAIL(err, DIT_ERR_IO, "%s: the folder %s does not exist", target, dir);
    struct stat sb;
    if (stat(target, &sb) == 0 && S_ISDIR(sb.st_mode))
        return DIT_FAIL(err, DIT_ERR_IO, "%s: is a folder; name a file", target);
    if (access(dir, W_OK | X_OK) != 0)
        return DIT_FAIL(err, DIT_ERR_IO, "%s: the folder %s is not writable (%s)", target, dir, strerror(errno));
    return DIT_OK;
}

dit_status io_mkdir_p(const char *path, dit_err *err) {
    size_t n = strlen(path);
    if (n == 0) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "empty folder name");
    char *p = strdup(path);
    if (!p) return DIT_FAIL(err, DIT_ERR_OOM, "%s: mkdir", path);
    dit_status s = DIT_OK;
    for (size_t i = 1; i <= n && s == DIT_OK; i++) {
        if (p[i] != '/' && p[i] != 0) continue;
        char c = p[i];
        p[i] = 0;
        struct stat sb;
        if (mkdir(p, 0755) != 0) {
            int e = errno;
            if (e != EEXIST) s = DIT_FAIL(err, DIT_ERR_IO, "%s: cannot create the folder %s: %s", path, p, strerror(e));
            else if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
                s = DIT_FAIL(err, DIT_ERR_IO, "%s: %s exists and is not a folder", path, p);
        }
        p[i] = c;
    }
    free(p);
    return s;
}
