/* json_file.c — JSON and whole-file helpers (see json_file.h). */
#include "json_file.h"

#include <errno.h>    /* errno */
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

dit_status io_file_read_all(const char *path, char **data, size_t *len, dit_err *err) {
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return DIT_FAIL(err, errno == ENOENT ? DIT_ERR_MISSING : DIT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
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
        return DIT_FAIL(err, DIT_ERR_OOM, "%s: %ld bytes", path, n);
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
    size_t len;
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
    *out = j;
    return DIT_OK;
}

int64_t io_json_int(const cJSON *o, const char *key, int64_t dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

double io_json_num(const cJSON *o, const char *key, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

const char *io_json_str(const cJSON *o, const char *key, const char *dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}
