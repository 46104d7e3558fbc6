/* json_file.h — read a JSON file (cJSON) with errors that name the file. */
#ifndef SPADIT_JSON_FILE_H
#define SPADIT_JSON_FILE_H

#include <cjson/cJSON.h> /* cJSON */
#include <stddef.h>       /* size_t */
#include <stdint.h>       /* int64_t */

#include "../dit/status.h" /* dit_status, dit_err */

/* Parse a JSON file whose top level must be an object (every config, index and preset is one):
 * errors name the file (cannot open, not a regular file, invalid JSON near byte N, not an object). */
dit_status io_json_load(const char *path, cJSON **out, dit_err *err);
/* Read a whole regular file into a NUL-terminated heap buffer (a FIFO, device or folder is refused
 * without blocking). */
dit_status io_file_read_all(const char *path, char **data, size_t *len, dit_err *err);
int io_path_exists(const char *path);
int io_path_is_dir(const char *path);
/* Open `path` for reading only when it is a regular file: a FIFO or device is refused without blocking
 * on it, a folder gets its own message.  Returns the descriptor, or -1 after filling err. */
int io_open_regular(const char *path, dit_err *err);
/* 1 when v is a number holding an integer in [lo, hi] (then *out = it); 0 otherwise (non-integers,
 * NaN, and values beyond int64 are never converted, so nothing is silently truncated). */
int io_json_int_in(const cJSON *v, int64_t lo, int64_t hi, int64_t *out);
/* Checked integer members: *out = dflt when the key is absent; DIT_ERR_FORMAT naming path and key when
 * the member is not an integer in [lo, hi]. */
dit_status io_json_get_i64(const cJSON *o, const char *key, int64_t dflt, int64_t lo, int64_t hi, int64_t *out,
                           const char *path, dit_err *err);
dit_status io_json_get_int(const cJSON *o, const char *key, int dflt, int lo, int hi, int *out, const char *path,
                           dit_err *err);
/* Checked number member: finite and in [lo, hi], else DIT_ERR_FORMAT naming path and key. */
dit_status io_json_get_num(const cJSON *o, const char *key, double dflt, double lo, double hi, double *out,
                           const char *path, dit_err *err);
/* Unchecked getters with defaults (saturating: a value beyond int64 never converts with UB). */
int64_t io_json_int(const cJSON *o, const char *key, int64_t dflt);
double io_json_num(const cJSON *o, const char *key, double dflt);
const char *io_json_str(const cJSON *o, const char *key, const char *dflt);

#endif
