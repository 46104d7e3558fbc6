/* status.h — error codes and the error record every fallible call fills.
 *
 * Functions return a dit_status (0 = ok, negative = failure).  The human detail
 * (file:line, tensor or flag name, what was expected) goes into a dit_err that
 * the caller owns and passes down; there is no global error state.
 */
#ifndef SPADIT_STATUS_H
#define SPADIT_STATUS_H

#include <stddef.h> /* size_t */

typedef enum dit_status {
    DIT_OK = 0,
    DIT_ERR_INVALID_ARG = -1, /* bad flag, bad parameter, impossible shape request */
    DIT_ERR_IO = -2,          /* open/read/write/mmap failed */
    DIT_ERR_FORMAT = -3,      /* a file's content is malformed (truncated, bad header, bad JSON) */
    DIT_ERR_SHAPE = -4,       /* a tensor's shape disagrees with what the model expects */
    DIT_ERR_MISSING = -5,     /* a required tensor / file / key is absent */
    DIT_ERR_OOM = -6,         /* host or device allocation failed */
    DIT_ERR_DEVICE = -7,      /* CUDA / cuBLAS / cuDNN / NCCL reported an error */
    DIT_ERR_UNSUPPORTED = -8, /* op, dtype or method not available on this backend or build */
    DIT_ERR_NO_DEVICE = -9,   /* a GPU was asked for and none is usable */
    DIT_ERR_INTERNAL = -10
} dit_status;

const char *dit_status_str(dit_status s);

typedef struct dit_err {
    dit_status code;
    char msg[4096];
} dit_err;

/* Record an error (printf-style message, prefixed with file:line) and return `code`.
 * When err already holds a message, the new one is prepended as context:
 * "loading model: <older message>". */
dit_status dit_err_set(dit_err *err, dit_status code, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
/* Add context in front of an existing message, keep its code. */
dit_status dit_err_wrap(dit_err *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void dit_err_clear(dit_err *err);

#define DIT_FAIL(err, code, ...) dit_err_set((err), (code), __FILE__, __LINE__, __VA_ARGS__)
/* Propagate a failure: evaluate expr, return its status when negative. */
#define DIT_TRY(expr)                       \
    do {                                    \
        dit_status s_try_ = (expr);         \
        if (s_try_ != DIT_OK) return s_try_; \
    } while (0)

#endif
