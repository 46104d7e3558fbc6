/* json_file.h — read a JSON file (cJSON) with errors that name the file. */
#ifndef SPADIT_JSON_FILE_H
#define SPADIT_JSON_FILE_H

#include <cjson/cJSON.h> /* cJSON */
#include <stddef.h>       /* size_t */
#include <stdint.h>       /* int64_t */

#include "../dit/status.h" /* dit_status, dit_err */

dit_status io_json_load(const char *path, cJSON **out, dit_err *err);
/* Read a whole file into a NUL-terminated heap buffer. */
dit_status io_file_read_all(const char *path, char **data, size_t *len, dit_err *err);
int io_path_exists(const char *path);
int io_path_is_dir(const char *path);
/* Integer / number / bool / string field getters with defaults. */
int64_t io_json_int(const cJSON *o, const char *key, int64_t dflt);
double io_json_num(const cJSON *o, const char *key, double dflt);
const char *io_json_str(const cJSON *o, const char *key, const char *dflt);

#endif
