/* policy.c — per-layer / per-step attention choice and the JSON presets (see policy.h).
 * Checked by tests/test_policy.c: every preset in configs/attention loads, the warm-up
 * arithmetic (layers, steps counted from CFG calls), and errors naming key and file. */
#include "policy.h"

#include <math.h>   /* isfinite, floor */
#include <stdio.h>  /* snprintf */
#include <string.h> /* memset, strchr, strcmp, strlen */

#include "../io/json_file.h" /* io_json_load, cJSON */

#ifndef SPADIT_CONFIG_DIR
#define SPADIT_CONFIG_DIR "configs"
#endif

attn_policy attn_policy_dense(void) {
    attn_policy p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "dense");
    p.sparse = attn_params_default(ATTN_METHOD_DENSE);
    p.calls_per_step = 1;
    return p;
}

attn_params attn_policy_select(const attn_policy *p, int layer, int call_index) {
    if (!p || p->sparse.method == ATTN_METHOD_DENSE) return attn_params_default(ATTN_METHOD_DENSE);
    int cps = p->calls_per_step > 0 ? p->calls_per_step : 1;
    int step = call_index / cps;
    if (layer < p->dense_layers || step < p->dense_steps) return attn_params_default(ATTN_METHOD_DENSE);
    return p->sparse;
}

/* ---- loader ---- */

typedef struct loader {
    const char *path;
    dit_err *err;
} loader;

static dit_status check_keys(const loader *L, const cJSON *obj, const char *where, const char *const *allowed) {
    for (const cJSON *it = obj->child; it; it = it->next) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++) ok = !strcmp(it->string, *a);
        if (!ok) {
            char list[256] = "";
            for (const char *const *a = allowed; *a; a++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", a == allowed ? "" : ", ", *a);
            return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: unknown key '%s'%s%s (known: %s)", L->path, it->string,
                            where ? " in " : "", where ? where : "", list);
        }
    }
    return DIT_OK;
}

/* A number in [lo, hi] (open ends when lo_open / hi_open); absent keys keep *v. */
static dit_status get_num(const loader *L, const cJSON *o, const char *sec, const char *key, double lo, int lo_open,
                          double hi, int hi_open, float *v) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j) return DIT_OK;
    double x = j->valuedouble;
    if (!cJSON_IsNumber(j) || !isfinite(x) || (lo_open ? x <= lo : x < lo) || (hi_open ? x >= hi : x > hi))
        return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: %s.%s must be a number in %c%g, %g%c", L->path, sec, key,
                        lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
    *v = (float)x;
    return DIT_OK;
}

static dit_status get_int(const loader *L, const cJSON *o, const char *sec, const char *key, int lo, int hi, int *v) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j) return DIT_OK;
    double x = j->valuedouble;
    if (!cJSON_IsNumber(j) || x != floor(x) || x < lo || x > hi)
        return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: %s%s%s must be an integer in [%d, %d]", L->path, sec ? sec : "",
                        sec ? "." : "", key, lo, hi);
    *v = (int)x;
    return DIT_OK;
}

static dit_status get_bool(const loader *L, const cJSON *o, const char *sec, const char *key, int *v) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j) return DIT_OK;
    if (!cJSON_IsBool(j)) return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: %s.%s must be true or false", L->path, sec, key);
    *v = cJSON_IsTrue(j) ? 1 : 0;
    return DIT_OK;
}

static dit_status load_rectified(const loader *L, const cJSON *o, attn_rectified_params *r) {
    static const char *const keys[] = {"drop_rate", "tau", "gapr", "neighbors", "forced_square", "block", NULL};
    const char *sec = "rectified";
    if (!cJSON_IsObject(o)) return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: 'rectified' must be an object", L->path);
    DIT_TRY(check_keys(L, o, "'rectified'", keys));
    DIT_TRY(get_num(L, o, sec, "drop_rate", 0, 0, 1, 1, &r->drop_rate));
    DIT_TRY(get_num(L, o, sec, "tau", 0, 0, 1, 0, &r->tau));
    DIT_TRY(get_bool(L, o, sec, "gapr", &r->gapr));
    DIT_TRY(get_bool(L, o, sec, "neighbors", &r->neighbors));
    DIT_TRY(get_bool(L, o, sec, "forced_square", &r->forced_square));
    return get_int(L, o, sec, "block", 1, 1 << 16, &r->block);
}

static dit_status load_sla(const loader *L, const cJSON *o, attn_sla_params *s) {
    static const char *const keys[] = {"topk", "variant", "block_q", "block_k", NULL};
    const char *sec = "sla";
    if (!cJSON_IsObject(o)) return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: 'sla' must be an object", L->path);
    DIT_TRY(check_keys(L, o, "'sla'", keys));
    DIT_TRY(get_num(L, o, sec, "topk", 0, 1, 1, 0, &s->topk));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "variant");
    if (v) {
        if (cJSON_IsString(v) && !strcmp(v->valuestring, "main")) s->variant = ATTN_SLA_MAIN;
        else if (cJSON_IsString(v) && !strcmp(v->valuestring, "sla1")) s->variant = ATTN_SLA_1;
        else
            return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: sla.variant must be \"main\" or \"sla1\", got %s%s%s", L->path,
                            cJSON_IsString(v) ? "\"" : "", cJSON_IsString(v) ? v->valuestring : "a non-string",
                            cJSON_IsString(v) ? "\"" : "");
    }
    DIT_TRY(get_int(L, o, sec, "block_q", 1, 1 << 16, &s->block_q));
    return get_int(L, o, sec, "block_k", 1, 1 << 16, &s->block_k);
}

static dit_status parse_policy(const loader *L, const cJSON *j, const char *stem, attn_policy *out) {
    static const char *const keys[] = {"name", "description", "method", "dense_layers", "dense_steps", "rectified", "sla",
                                       NULL};
    if (!cJSON_IsObject(j)) return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: expected a JSON object", L->path);
    DIT_TRY(check_keys(L, j, NULL, keys));
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "method");
    if (!cJSON_IsString(m))
        return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: key 'method' (\"dense\", \"rectified\" or \"sla\") is %s", L->path,
                        m ? "not a string" : "missing");
    int method = attn_method_parse(m->valuestring);
    if (method < 0)
        return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: unknown method \"%s\" (known: dense, rectified, sla)", L->path,
                        m->valuestring);
    attn_policy p = attn_policy_dense();
    p.sparse = attn_params_default((attn_method)method);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (name && (!cJSON_IsString(name) || !name->valuestring[0] || strlen(name->valuestring) >= sizeof p.name))
        return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: 'name' must be a string of 1 to %zu characters", L->path,
                        sizeof p.name - 1);
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(j, "description");
    if (desc && !cJSON_IsString(desc)) return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: 'description' must be a string", L->path);
    snprintf(p.name, sizeof p.name, "%s", name ? name->valuestring : stem);
    DIT_TRY(get_int(L, j, NULL, "dense_layers", 0, 1 << 20, &p.dense_layers));
    DIT_TRY(get_int(L, j, NULL, "dense_steps", 0, 1 << 20, &p.dense_steps));
    const char *sections[] = {"rectified", "sla"};
    for (int s = 0; s < 2; s++) {
        const cJSON *sec = cJSON_GetObjectItemCaseSensitive(j, sections[s]);
        if (!sec) continue;
        if (method != (s == 0 ? ATTN_METHOD_RECTIFIED : ATTN_METHOD_SLA))
            return DIT_FAIL(L->err, DIT_ERR_FORMAT, "%s: key '%s' does not apply to method \"%s\"", L->path, sections[s],
                            m->valuestring);
        DIT_TRY(s == 0 ? load_rectified(L, sec, &p.sparse.rect) : load_sla(L, sec, &p.sparse.sla));
    }
    *out = p;
    return DIT_OK;
}

dit_status attn_policy_from_json(const cJSON *j, const char *label, const char *stem, attn_policy *out, dit_err *err) {
    loader L = {label, err};
    return parse_policy(&L, j, stem, out);
}

dit_status attn_policy_load(const char *name_or_path, attn_policy *out, dit_err *err) {
    if (!name_or_path || !name_or_path[0] || !out)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "attention policy: empty preset name or path");
    size_t n = strlen(name_or_path);
    int is_path = strchr(name_or_path, '/') || (n > 5 && !strcmp(name_or_path + n - 5, ".json"));
    char path[4096], stem[64];
    if (is_path) {
        snprintf(path, sizeof path, "%s", name_or_path);
    } else {
        for (const char *c = name_or_path; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                  *c == '_' || *c == '.'))
                return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "attention policy: bad preset name '%s' (letters, digits, - _ .)",
                                name_or_path);
        snprintf(path, sizeof path, "%s/attention/%s.json", SPADIT_CONFIG_DIR, name_or_path);
        if (!io_path_exists(path))
            return DIT_FAIL(err, DIT_ERR_MISSING, "attention policy: no preset '%s' (looked for %s)", name_or_path, path);
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t bl = strlen(base);
    if (bl > 5 && !strcmp(base + bl - 5, ".json")) bl -= 5;
    snprintf(stem, sizeof stem, "%.*s", (int)(bl < sizeof stem ? bl : sizeof stem - 1), base);
    cJSON *j = NULL;
    DIT_TRY(io_json_load(path, &j, err));
    loader L = {path, err};
    dit_status s = parse_policy(&L, j, stem, out);
    cJSON_Delete(j);
    return s;
}
