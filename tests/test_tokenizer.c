/* test_tokenizer.c — the C unigram tokenizer against Hugging Face tokenizers and sentencepiece.
 *
 * Goldens come from tools/gen_tokenizer_goldens.py: two SentencePiece unigram
 * models (nmt_nfkc, 4000 and 8000 pieces) converted by transformers'
 * T5TokenizerFast, >= 1000 test strings (English, CJK, Korean jamo, accents
 * composed/decomposed, emoji ZWJ/flags/keycaps, odd whitespace, controls,
 * full-width forms, special-token look-alikes, HTML entities, random Unicode,
 * prompts over 512 tokens and at the truncation boundary, ""), with the ids HF
 * produced (EOS appended, truncated to 512) and sentencepiece's own ids.
 * Requires ZERO mismatches against HF for both models and for every pipeline
 * variant (older/newer converter outputs, stress pipelines), and reports how
 * sentencepiece differs from HF.  Also checks io_prompt_clean against Python.
 */
#include <cjson/cJSON.h> /* cJSON */
#include <stdint.h>       /* int32_t */
#include <stdlib.h>       /* malloc, free */
#include <string.h>       /* strcmp, strlen */

#include "../io/json_file.h"         /* io_json_load, io_file_read_all */
#include "../io/tokenizer_unigram.h" /* io_tok_*, io_prompt_clean */
#include "test_util.h"

#define MAXLEN 512

/* Print a string with non-ASCII / control bytes escaped, cut at 160 bytes. */
static void show(const char *s) {
    printf("\"");
    for (size_t i = 0; s[i] && i < 160; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7F || c == '"') printf("\\x%02x", c);
        else putchar(c);
    }
    printf("\"");
}

static void show_ids(const char *label, const int32_t *v, int n) {
    printf("    %s (%d):", label, n);
    for (int i = 0; i < n && i < 40; i++) printf(" %d", v[i]);
    printf(n > 40 ? " ...\n" : "\n");
}

/* ids of a JSON array into buf; returns count. */
static int json_ids(const cJSON *a, int32_t *buf, int cap) {
    int n = 0;
    for (const cJSON *e = a ? a->child : NULL; e && n < cap; e = e->next) buf[n++] = (int32_t)e->valuedouble;
    return n;
}

static int same(const int32_t *a, int na, const int32_t *b, int nb) {
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof *a) == 0);
}

/* Load a tokenizer.json whose charsmap may have been left out (tok_sp8k.json names
 * tok_sp4k.json as its source) or whose members are replaced by a variant. */
static io_tokenizer *load_tok(const char *path, const char *charsmap, const cJSON *variant) {
    cJSON *j = NULL;
    dit_err err = {0};
    if (io_json_load(path, &j, &err) != DIT_OK) {
        CHECK(0, "%s", err.msg);
        return NULL;
    }
    cJSON *norm = cJSON_GetObjectItemCaseSensitive(j, "normalizer");
    if (cJSON_GetObjectItemCaseSensitive(norm, "charsmap_from"))
        cJSON_ReplaceItemInObjectCaseSensitive(norm, "precompiled_charsmap", cJSON_CreateString(charsmap));
    const char *keys[] = {"normalizer", "pre_tokenizer", "added_tokens", "post_processor"};
    for (int k = 0; variant && k < 4; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(variant, keys[k]);
        if (!v) continue;
        cJSON *copy = cJSON_Duplicate(v, 1);
        /* fill bare {"type": "Precompiled"} entries with the base charsmap */
        cJSON *list = cJSON_GetObjectItemCaseSensitive(copy, "normalizers");
        cJSON *one = copy;
        for (cJSON *e = list ? list->child : one; e; e = list ? e->next : NULL) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "type");
            if (cJSON_IsString(t) && !strcmp(t->valuestring, "Precompiled") &&
                !cJSON_GetObjectItemCaseSensitive(e, "precompiled_charsmap"))
                cJSON_AddStringToObject(e, "precompiled_charsmap", charsmap);
        }
        cJSON_ReplaceItemInObjectCaseSensitive(j, keys[k], copy);
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    io_tokenizer *t = NULL;
    if (io_tok_load_mem(text, strlen(text), path, &t, &err) != DIT_OK) CHECK(0, "%s", err.msg);
    free(text);
    return t;
}

typedef struct tally {
    int n, bad, shown;
} tally;

/* Encode s and compare with want; prints the first few mismatches. */
static void compare(io_tokenizer *t, const char *what, const char *s, const int32_t *want, int nwant, tally *ty) {
    int32_t got[MAXLEN];
    int ngot = 0;
    dit_err err = {0};
    dit_status st = io_tok_encode(t, s, got, MAXLEN, &ngot, &err);
    ty->n++;
    if (st == DIT_OK && same(got, ngot, want, nwant)) return;
    ty->bad++;
    if (ty->shown++ < 8) {
        printf("  MISMATCH %s on ", what);
        show(s);
        printf("%s%s\n", st ? ": " : "", st ? err.msg : "");
        show_ids("want", want, nwant);
        show_ids("got ", got, ngot);
    }
}

int main(void) {
    char path4[512], path8[512], pathg[512];
    snprintf(path4, sizeof path4, "%s/tok_sp4k.json", SPADIT_TEST_DATA);
    snprintf(path8, sizeof path8, "%s/tok_sp8k.json", SPADIT_TEST_DATA);
    snprintf(pathg, sizeof pathg, "%s/tok_goldens.json", SPADIT_TEST_DATA);
    dit_err err = {0};
    cJSON *g = NULL, *base = NULL;
    if (io_json_load(pathg, &g, &err) != DIT_OK || io_json_load(path4, &base, &err) != DIT_OK) {
        printf("%s\n", err.msg);
        return 1;
    }
    const char *charsmap =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(base, "normalizer"), "precompiled_charsmap")
            ->valuestring;
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(g, "cases");
    int ncases = cJSON_GetArraySize(cases);
    CHECK(ncases >= 1000, "only %d golden strings", ncases);
    int32_t *want = malloc(MAXLEN * 2 * sizeof *want), *alt = malloc(MAXLEN * 2 * sizeof *alt);

    /* 1. both models against HF; sentencepiece differences reported per category */
    const char *models[2] = {"sp4k", "sp8k"};
    const char *paths[2] = {path4, path8};
    for (int m = 0; m < 2; m++) {
        io_tokenizer *t = load_tok(paths[m], charsmap, NULL);
        if (!t) continue;
        tally hf = {0}, sp = {0};
        char cats[64][16] = {{0}};
        int catdiff[64] = {0}, catn[64] = {0}, ncat = 0, shown = 0;
        for (const cJSON *c = cases->child; c; c = c->next) {
            const char *s = cJSON_GetObjectItemCaseSensitive(c, "s")->valuestring;
            const char *cat = cJSON_GetObjectItemCaseSensitive(c, "cat")->valuestring;
            int nw = json_ids(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "hf"), models[m]),
                              want, MAXLEN);
            compare(t, models[m], s, want, nw, &hf);
            /* sentencepiece: stored only where it differs from HF */
            const cJSON *spm = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "spm"), models[m]);
            int k = 0;
            while (k < ncat && strcmp(cats[k], cat)) k++;
            if (k == ncat && ncat < 64) snprintf(cats[ncat++], sizeof cats[0], "%s", cat);
            catn[k]++;
            sp.n++;
            if (spm) {
                int na = json_ids(spm, alt, MAXLEN);
                alt[na++] = io_tok_eos_id(t);
                sp.bad++, catdiff[k]++;
                if (m == 0 && shown++ < 6) {
                    printf("  sentencepiece != HF on ");
                    show(s);
                    printf(" [%s]\n", cat);
                    show_ids("HF ", want, nw);
                    show_ids("spm", alt, na);
                }
            }
        }
        printf("%s: %d strings, C vs HF tokenizers: %d mismatches\n", models[m], hf.n, hf.bad);
        printf("%s: sentencepiece itself differs from HF on %d/%d strings; by category:", models[m], sp.bad, sp.n);
        for (int k = 0; k < ncat; k++)
            if (catdiff[k]) printf(" %s %d/%d", cats[k], catdiff[k], catn[k]);
        printf("\n");
        CHECK(hf.bad == 0, "%s: %d of %d strings differ from HF", models[m], hf.bad, hf.n);
        io_tok_free(&t);
    }

    /* 2. pipeline variants of sp4k */
    const cJSON *variants = cJSON_GetObjectItemCaseSensitive(g, "variants");
    for (const cJSON *v = variants->child; v; v = v->next) {
        const char *name = cJSON_GetObjectItemCaseSensitive(v, "name")->valuestring;
        int sample = (int)io_json_int(v, "sample", 1);
        io_tokenizer *t = load_tok(path4, charsmap, v);
        if (!t) continue;
        tally ty = {0};
        int i = 0;
        for (const cJSON *c = cases->child; c; c = c->next, i++) {
            const char *cat = cJSON_GetObjectItemCaseSensitive(c, "cat")->valuestring;
            if (sample > 1 && (i % sample != 0 || !strcmp(cat, "long") || !strcmp(cat, "boundary"))) continue;
            const cJSON *vi = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "var"), name);
            if (!vi) vi = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "hf"), "sp4k");
            int nw = json_ids(vi, want, MAXLEN);
            compare(t, name, cJSON_GetObjectItemCaseSensitive(c, "s")->valuestring, want, nw, &ty);
        }
        printf("variant %-18s %4d strings, C vs HF: %d mismatches\n", name, ty.n, ty.bad);
        CHECK(ty.n > 0 && ty.bad == 0, "variant %s: %d of %d strings differ from HF", name, ty.bad, ty.n);
        io_tok_free(&t);
    }

    /* 3. prompt cleaning against Python (html.unescape x2, strip, \s+ -> ' ') */
    const cJSON *clean = cJSON_GetObjectItemCaseSensitive(g, "clean");
    int cbad = 0, cn = 0;
    for (const cJSON *c = clean->child; c; c = c->next, cn++) {
        const char *in = cJSON_GetArrayItem(c, 0)->valuestring, *exp = cJSON_GetArrayItem(c, 1)->valuestring;
        char out[4096];
        size_t need = io_prompt_clean(in, out, sizeof out);
        if (need != strlen(exp) || strcmp(out, exp) != 0) {
            if (cbad++ < 8) {
                printf("  clean mismatch: in ");
                show(in);
                printf("\n    want ");
                show(exp);
                printf("\n    got  ");
                show(out);
                printf("\n");
            }
        }
    }
    printf("io_prompt_clean: %d strings, %d mismatches against Python\n", cn, cbad);
    CHECK(cn >= 100 && cbad == 0, "io_prompt_clean: %d of %d differ from Python", cbad, cn);

    free(want), free(alt);
    cJSON_Delete(g);
    cJSON_Delete(base);
    return test_summary("test_tokenizer");
}
