/* model_info.h — describe a model folder or file: family, layout, config,
 * parameter count, dtypes and bytes on disk (`spadit info`). */
#ifndef SPADIT_MODEL_INFO_H
#define SPADIT_MODEL_INFO_H

#include <stdio.h> /* FILE */

#include "../dit/status.h" /* dit_status, dit_err */

dit_status model_info_print(const char *path, FILE *out, dit_err *err);

#endif
