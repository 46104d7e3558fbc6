/* json_file.c — JSON and whole-file helpers (see json_file.h). */
#include "json_file.h"

#include <errno.h>    /* errno */
#include <fcntl.h>    /* open, O_NONBLOCK */
#include <math.h>     /* isfinite, floor */
#include <unistd.h>   /* close */
#include <stdint.h>   /* int64_t */
#include <stdio.h>    /* fopen */
#include <stdlib.h>   /* malloc */
#include <string.h>   /* strerror */
#include <sys/stat.h> /* stat */

int io_path_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

int io_path_is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int io_open_regular(const char *path, dit_err *err) {
    /* O_NONBLOCK: opening a FIFO with no writer must not block; cleared again for regular files */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        DIT_FAIL(err, e == ENOENT ? DIT_ERR_MISSING : DIT_ERR_IO, "%s: cannot open: %s", path, strerror(e));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int dir = S_ISDIR(sb.st_mode);
        close(fd);
        DIT_FAIL(err, DIT_ERR_IO, "%s: %s", path,
                 dir ? "is a folder, not a file" : "is not a regular file (a FIFO, socket or device is not read)");
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl != -1) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

dit_status io_file_read_all(const char *path, char **data, size_t *len, dit_err *err) {
    *data = NULL;
    int fd = io_open_regular(path, err);
    if (fd < 0) return err->code;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return DIT_FAIL(err, DIT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return DIT_FAIL(err, DIT_ERR_IO, "%s: cannot seek", path);
    }
    long n = ftell(f);
    if (n < 0) {
        fclose(f);
        return DIT_FAIL(err, DIT_ERR_IO, "%s: cannot tell size", path);
    }
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (!buf) {
        fclose(f);
        return DIT_FAIL(err, DIT_ERR_OOM, "%s: cannot allocate %ld bytes to read it", path, n);
    }
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n) {
        free(buf);
        return DIT_FAIL(err, DIT_ERR_IO, "%s: short read (%zu of %ld bytes)", path, got, n);
    }
    buf[n] = 0;
    *data = buf;
    if (len) *len = (size_t)n;
    return DIT_OK;
}

dit_status io_json_load(const char *path, cJSON **out, dit_err *err) {
    char *buf;
    size_t len = 0;
    *out = NULL;
    DIT_TRY(io_file_read_all(path, &buf, &len, err));
    cJSON *j = cJSON_ParseWithLength(buf, len);
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= buf && at <= buf + len ? (long)(at - buf) : -1;
        free(buf);
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: invalid JSON (near byte %ld)", path, off);
    }
    free(buf);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: expected a JSON object {...} at the top level", path);
    }
    *out = j;
    return DIT_OK;
}

int io_json_int_in(const cJSON *v, int64_t lo, int64_t hi, int64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    /* +-2^63 are exact doubles: compare before converting (a conversion out of range is UB) */
    if (!isfinite(d) || d != floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0) return 0;
    int64_t i = (int64_t)d;
    if (i < lo || i > hi) return 0;
    *out = i;
    return 1;
}

dit_status io_json_get_i64(const cJSON *o, const char *key, int64_t dflt, int64_t lo, int64_t hi, int64_t *out,
                           const char *path, dit_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        *out = dflt;
        return DIT_OK;
    }
    if (!io_json_int_in(v, lo, hi, out)) {
        char *txt = cJSON_PrintUnformatted(v);
        DIT_FAIL(err, DIT_ERR_FORMAT, "%s: '%s' is %.40s; expected an integer in [%lld, %lld]", path, key,
                 txt ? txt : "?", (long long)lo, (long long)hi);
        free(txt);
        return DIT_ERR_FORMAT;
    }
    return DIT_OK;
}

dit_status io_json_get_int(const cJSON *o, const char *key, int dflt, int lo, int hi, int *out, const char *path,
                           dit_err *err) {
    int64_t v;
    DIT_TRY(io_json_get_i64(o, key, dflt, lo, hi, &v, path, err));
    *out = (int)v;
    return DIT_OK;
}

dit_status io_json_get_num(const cJSON *o, const char *key, double dflt, double lo, double hi, double *out,
                           const char *path, dit_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        *out = dflt;
        return DIT_OK;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || !(v->valuedouble >= lo && v->valuedouble <= hi)) {
        char *txt = cJSON_PrintUnformatted(v);
        DIT_FAIL(err, DIT_ERR_FORMAT, "%s: '%s' is %.40s; expected a number in [%g, %g]", path, key,
                 txt ? txt : "?", lo, hi);
        free(txt);
        return DIT_ERR_FORMAT;
    }
    *out = v->valuedouble;
    return DIT_OK;
}

int64_t io_json_int(const cJSON *o, const char *key, int64_t dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) return dflt;
    double d = v->valuedouble;
    if (!(d == d)) return dflt;
    if (d >= 9223372036854775807.0) return INT64_MAX;
    if (d <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)d;
}

double io_json_num(const cJSON *o, const char *key, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

const char *io_json_str(const cJSON *o, const char *key, const char *dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}
