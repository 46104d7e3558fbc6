/* cmd_compare.c — `spadit compare PROMPT --attention A,B,...`: dense against each
 * attention preset on the same seed, noise and embeddings (eval/compare.h); prints
 * the summary and where the JSON / HTML report went.  A prompt file runs each
 * prompt into its own subfolder. */
#include <stdio.h>  /* fprintf */
#include <stdlib.h> /* malloc */
#include <string.h> /* strtok */

#include "../eval/compare.h" /* ev_compare_run */
#include "../io/atomic_file.h" /* io_mkdir_p */
#include "../io/json_file.h"   /* io_file_read_all */
#include "cli.h"

#ifndef SPADIT_SOURCE_DIR
#define SPADIT_SOURCE_DIR "."
#endif
#define DEFAULT_MODEL SPADIT_SOURCE_DIR "/models/tiny/wan-tiny-t2v"

double cli_adherence(void *user, const char *caption, const uint8_t *rgb, int frames, int height, int width);
int cli_adherence_applies(const char *model_dir);

static void usage(FILE *f) {
    fprintf(f, "usage: spadit compare PROMPT --attention PRESET[,PRESET...] [options]\n"
               "  PROMPT               the prompt, or @FILE for one prompt per line\n"
               "  --attention LIST     presets to compare with dense (configs/attention/ names or .json files)\n"
               "  --model DIR          model folder (default: the embedded tiny model)\n"
               "  --out-dir DIR        where videos and reports go (default compare_out)\n"
               "  --shadow-steps N     attention-output error vs dense for the first N steps (default: the\n"
               "                       presets' dense warm-up steps + 2, so sparse steps are measured)\n"
               "  --amplify N          difference amplification in the side-by-side video (default 4)\n"
               "  --size WxH --frames N --steps N --shift X --guidance X --seed N --sampler NAME\n"
               "  --negative-prompt S --backend cpu|cuda --cache-dir DIR --no-cache --quiet\n"
               "  --max-memory GIB     memory each run may use (default: what is available)\n"
               CLI_THREADS_HELP);
}

int cmd_compare(int argc, char **argv) {
    const char *model = DEFAULT_MODEL, *prompt = NULL, *neg = NULL, *list = NULL, *out_dir = "compare_out";
    const char *backend = "cpu", *cache_dir = NULL, *sampler = NULL;
    cli_run_flags rf = {0, 0, 0, 0, 0, -1}; /* 0 / -1: the model's defaults */
    long long shadow = -1, amp = 4, threads = 0; /* shadow -1: the presets' dense steps + 2 */
    double guidance = -1, max_memory_gib = 0;
    int quiet = 0, no_cache = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1, run_flag;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1, takes = 0;
        } else if (!strcmp(a, "--no-cache")) {
            no_cache = 1, takes = 0;
        } else if (a[0] == '-' && a[1] == '-' && !v) {
            fprintf(stderr, "spadit: error: %s needs a value (see spadit compare --help)\n", a);
            return 2;
        } else if ((run_flag = cli_run_flag(a, v, &rf)) != 0 || (run_flag = cli_threads_flag(a, v, &threads)) != 0) {
            if (run_flag < 0) return 2;
        } else if (!strcmp(a, "--attention")) list = v;
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--out-dir")) out_dir = v;
        else if (!strcmp(a, "--negative-prompt")) neg = v;
        else if (!strcmp(a, "--backend")) backend = v;
        else if (!strcmp(a, "--cache-dir")) cache_dir = v;
        else if (!strcmp(a, "--sampler")) sampler = v;
        else if (!strcmp(a, "--shadow-steps")) {
            if (!cli_parse_int(a, v, 0, 1000, &shadow)) return 2;
        } else if (!strcmp(a, "--amplify")) {
            if (!cli_parse_int(a, v, 1, 100, &amp)) return 2;
        } else if (!strcmp(a, "--guidance")) {
            if (!cli_parse_float(a, v, 0, 50, &guidance)) return 2;
        } else if (!strcmp(a, "--max-memory")) {
            if (!cli_parse_float(a, v, 0.001, 1 << 20, &max_memory_gib)) return 2;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "spadit: error: unknown option '%s' for compare (see spadit compare --help)\n", a);
            return 2;
        } else if (!prompt) {
            prompt = a, takes = 0;
        } else {
            fprintf(stderr, "spadit: error: more than one prompt given; quote it or use @FILE\n");
            return 2;
        }
        i += takes;
    }
    const long long W = rf.W, H = rf.H, frames = rf.frames, steps = rf.steps, seed = rf.seed;
    const double shift = rf.shift;
    if (!prompt || !list) {
        fprintf(stderr, "spadit: error: compare needs a PROMPT and --attention PRESET[,PRESET...]\n");
        usage(stderr);
        return 2;
    }
    dit_err err = {0};
    wan_t2v_paths paths;
    wan_t2v_defaults def;
    if (wan_t2v_locate(model, &paths, &err) != DIT_OK) return cli_fail(err.msg);
    if (wan_t2v_defaults_load(model, &def, &err) != DIT_OK) return cli_fail(err.msg);
    /* methods */
    ev_method methods[16];
    int nm = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (nm == 16) return cli_fail("at most 16 presets per comparison");
        ev_method *m = &methods[nm];
        memset(m, 0, sizeof *m);
        if (attn_policy_load(tok, &m->policy, &err) != DIT_OK) return cli_fail(err.msg);
        char name[sizeof m->policy.name];
        memcpy(name, m->policy.name, sizeof name);
        name[sizeof name - 1] = 0;
        snprintf(m->label, sizeof m->label, "%s", name);
        if (m->policy.sparse.method == ATTN_METHOD_SLA && paths.sla_dit[0]) {
            snprintf(m->dit, sizeof m->dit, "%s", paths.sla_dit);
            snprintf(m->label, sizeof m->label, "%s (SLA fine-tune)", name);
        }
        nm++;
    }
    smp_solver solver;
    if (smp_solver_parse(sampler ? sampler : def.sampler, &solver, &err) != DIT_OK) return cli_fail(err.msg);
    /* prompts */
    char **prompts = NULL;
    int np = 0;
    if (prompt[0] == '@') { /* one prompt per line; a regular file only (a FIFO would block) */
        char *text = NULL;
        if (io_file_read_all(prompt + 1, &text, NULL, &err) != DIT_OK) {
            fprintf(stderr, "spadit: error: cannot read the prompt file: %s\n", err.msg);
            return 1;
        }
        for (char *line = text, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next) *next++ = 0;
            line[strcspn(line, "\r")] = 0;
            if (!line[0] || line[0] == '#') continue;
            char **np2 = realloc(prompts, sizeof *prompts * (size_t)(np + 1));
            char *dup = np2 ? strdup(line) : NULL;
            if (np2) prompts = np2;
            if (!dup) {
                for (int k = 0; k < np; k++) free(prompts[k]);
                free(prompts);
                free(text);
                return cli_fail("out of memory reading the prompt file");
            }
            prompts[np++] = dup;
        }
        free(text);
        if (!np) return fprintf(stderr, "spadit: error: %s holds no prompt\n", prompt + 1), 1;
    } else {
        prompts = malloc(sizeof *prompts);
        if (prompts) prompts[0] = strdup(prompt);
        if (!prompts || !prompts[0]) {
            free(prompts);
            return cli_fail("out of memory");
        }
        np = 1;
    }
    dit_backend *be = NULL;
    if (dit_backend_create_threads(backend, (int)threads, &be, &err) != DIT_OK) return cli_fail(err.msg);
    int rc = 0;
    for (int p = 0; p < np && rc == 0; p++) {
        char dir[4096];
        int dl = np == 1 ? snprintf(dir, sizeof dir, "%s", out_dir) : snprintf(dir, sizeof dir, "%s/prompt_%03d", out_dir, p);
        if (dl < 0 || (size_t)dl >= sizeof dir) {
            rc = cli_fail("--out-dir: the path is too long");
            break;
        }
        if (np > 1 && io_mkdir_p(dir, &err) != DIT_OK) { /* no shell: the path never reaches one */
            fprintf(stderr, "spadit: error: %s (flag --out-dir)\n", err.msg);
            rc = 1;
            break;
        }
        ev_compare_opts o;
        memset(&o, 0, sizeof o);
        o.paths = &paths;
        o.prompt = prompts[p];
        o.negative = neg ? neg : def.negative_prompt;
        o.width = (int)(W ? W : def.width), o.height = (int)(H ? H : def.height);
        /* rcm: TurboDiffusion's defaults (4 steps, no CFG, sigma_max 80) */
        const int rcm = solver == SMP_SOLVER_RCM;
        o.frames = (int)(frames ? frames : def.frames);
        o.steps = (int)(steps ? steps : rcm ? SMP_RCM_MAX_STEPS : def.steps);
        o.fps = def.fps, o.shift = shift > 0 ? shift : def.shift;
        o.guidance = guidance >= 0 ? guidance : rcm ? 1.0 : def.guidance;
        o.seed = (uint64_t)seed, o.solver = solver;
        o.cache_dir = no_cache ? "" : cache_dir;
        int shadow_steps = (int)shadow;
        if (shadow < 0) { /* measure at least two steps in which every preset is sparse */
            shadow_steps = 2;
            for (int k = 0; k < nm; k++)
                if (methods[k].policy.dense_steps + 2 > shadow_steps) shadow_steps = methods[k].policy.dense_steps + 2;
            if (shadow_steps > o.steps) shadow_steps = o.steps;
        }
        o.shadow_steps = shadow_steps, o.amplify = (int)amp, o.out_dir = dir, o.model_label = model;
        o.adherence = cli_adherence_applies(model) ? cli_adherence : NULL; /* n/a unless a tiny-family model */
        o.log = quiet ? NULL : stderr;
        o.max_memory = (int64_t)(max_memory_gib * (double)((int64_t)1 << 30));
        ev_compare_result res;
        if (ev_compare_run(&o, methods, nm, be, &res, &err) != DIT_OK) {
            rc = cli_fail(err.msg);
        } else {
            printf("%s\n%s\n", res.json_path, res.html_path);
            ev_compare_free(&res);
        }
    }
    for (int p = 0; p < np; p++) free(prompts[p]);
    free(prompts);
    dit_backend_destroy(&be);
    return rc;
}
