/* atomic_file.c — temp file next to the target, rename on success (see atomic_file.h).
 * Checked by tests/test_video.c (unwritable folder, aborts and failed writes leave
 * no file; successful writes replace the target). */
#include "atomic_file.h"

#include <errno.h>  /* errno, EEXIST */
#include <fcntl.h>  /* open, O_EXCL */
#include <stdint.h> /* uintptr_t */
#include <stdio.h>  /* snprintf, rename */
#include <string.h> /* strrchr, strerror */
#include <time.h>   /* clock_gettime */
#include <stdlib.h> /* free */
#include <sys/stat.h> /* mkdir, stat */
#include <unistd.h> /* close, getpid, unlink */

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
        return DIT_FAIL(err, DIT_ERR_IO, "%s: cannot move the finished file into place: %s", target, strerror(e));
    }
    return DIT_OK;
}

void io_tmp_discard(const char *tmp) {
    if (tmp && tmp[0]) unlink(tmp);
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
