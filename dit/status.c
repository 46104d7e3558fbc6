/* status.c — status strings and the error record (see status.h). */
#include "status.h"

#include <stdarg.h> /* va_list */
#include <stdio.h>  /* vsnprintf */
#include <string.h> /* strrchr, memmove */

const char *dit_status_str(dit_status s) {
    switch (s) {
    case DIT_OK: return "ok";
    case DIT_ERR_INVALID_ARG: return "invalid argument";
    case DIT_ERR_IO: return "i/o error";
    case DIT_ERR_FORMAT: return "malformed file";
    case DIT_ERR_SHAPE: return "shape mismatch";
    case DIT_ERR_MISSING: return "missing";
    case DIT_ERR_OOM: return "out of memory";
    case DIT_ERR_DEVICE: return "device error";
    case DIT_ERR_UNSUPPORTED: return "unsupported";
    case DIT_ERR_NO_DEVICE: return "no usable GPU";
    case DIT_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

void dit_err_clear(dit_err *err) {
    if (!err) return;
    err->code = DIT_OK;
    err->msg[0] = 0;
}

dit_status dit_err_set(dit_err *err, dit_status code, const char *file, int line, const char *fmt, ...) {
    if (!err) return code;
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char tmp[sizeof err->msg];
    int n = snprintf(tmp, sizeof tmp, "[%s:%d] ", base, line);
    if (n < 0) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp + n, sizeof tmp - (size_t)n, fmt, ap);
    va_end(ap);
    memcpy(err->msg, tmp, sizeof tmp);
    err->code = code;
    return code;
}

dit_status dit_err_wrap(dit_err *err, const char *fmt, ...) {
    if (!err) return DIT_ERR_INTERNAL;
    char head[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    char tmp[sizeof err->msg];
    int n = snprintf(tmp, sizeof tmp, "%s: ", head);
    if (n < 0 || (size_t)n >= sizeof tmp) n = 0;
    size_t room = sizeof tmp - (size_t)n;
    memcpy(tmp + n, err->msg, room - 1);
    tmp[sizeof tmp - 1] = 0;
    memcpy(err->msg, tmp, sizeof tmp);
    if (err->code == DIT_OK) err->code = DIT_ERR_INTERNAL;
    return err->code;
}
