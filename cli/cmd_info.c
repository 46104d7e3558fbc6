/* cmd_info.c — `spadit info MODEL`. */
#include <stdio.h>  /* printf */
#include <string.h> /* strcmp */

#include "../models/model_info.h" /* model_info_print */
#include "cli.h"

int cmd_info(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: spadit info MODEL\n  MODEL: a model folder (original or diffusers layout) or a .safetensors "
                "file with config.json beside it\n");
        return argc < 2 ? 2 : 0;
    }
    if (argc > 2) {
        fprintf(stderr, "spadit: error: info takes one MODEL, got an extra argument '%s'\n", argv[2]);
        return 2;
    }
    dit_err err = {0};
    if (model_info_print(argv[1], stdout, &err) != DIT_OK) return cli_fail(err.msg);
    return 0;
}
