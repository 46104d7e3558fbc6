/* tok_unigram.c — the Unigram model: vocabulary, byte trie, Viterbi.
 *
 * Mirrors HF tokenizers models/unigram/model.rs `encode_optimized` (itself a
 * port of sentencepiece's EncodeOptimized): one pass over character starts,
 * every vocabulary piece that starts there (common-prefix search in a byte
 * trie, shortest first) relaxes best[end] when strictly better (f64 sums, first
 * candidate wins ties); a character with no single-character piece gets the
 * unknown piece with score min_score - 10.  Backtracking fuses consecutive
 * unknown tokens, and every token string is mapped back through the
 * piece -> id table (last id for duplicated pieces, as HF's hash map).
 * Cost O(n * max_piece_len); the trie stores one node per distinct prefix, so a
 * 256k-piece vocabulary is fine.  Checked by tests/test_tokenizer.c (HF ids,
 * vocabularies of 4k and 8k pieces, CJK text with many unknowns).
 */
#include "tok_internal.h"

#include <math.h>   /* INFINITY */
#include <stdlib.h> /* malloc, calloc, qsort, free */
#include <string.h> /* memcmp, memcpy */

struct tok_unigram {
    int32_t n;        /* pieces */
    char *text;       /* all pieces, NUL-separated */
    size_t *off;      /* piece i at text + off[i] */
    uint32_t *plen;   /* byte lengths */
    double *score;
    int32_t unk;      /* -1 when absent */
    double min_score;
    /* trie: node 0 is the root; children of a node are contiguous, sorted by label */
    int32_t *value;   /* piece id ending at the node, -1 if none */
    uint32_t *first;  /* first child */
    uint16_t *nchild;
    uint8_t *label;   /* byte on the edge into the node */
    size_t nnodes;
};

typedef struct sort_item {
    const char *p;
    uint32_t len;
    int32_t id;
} sort_item;

static int piece_cmp(const void *pa, const void *pb) {
    const sort_item *a = pa, *b = pb;
    int c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);
    if (c) return c;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

void tok_unigram_free(tok_unigram **pm) {
    tok_unigram *m = pm ? *pm : NULL;
    if (!m) return;
    free(m->text), free(m->off), free(m->plen), free(m->score);
    free(m->value), free(m->first), free(m->nchild), free(m->label);
    free(m);
    *pm = NULL;
}

/* Breadth-first trie build over the pieces sorted by bytes (no recursion, so a
 * very long piece cannot exhaust the stack). */
static int build_trie(tok_unigram *m, const int32_t *order) {
    size_t total = 1;
    for (int32_t i = 0; i < m->n; i++) total += m->plen[i];
    m->value = malloc(total * sizeof *m->value);
    m->first = malloc(total * sizeof *m->first);
    m->nchild = malloc(total * sizeof *m->nchild);
    m->label = malloc(total);
    /* per node: its range of sorted pieces and its depth (uint32: n < 2^31, pieces < 4 GiB) */
    uint32_t *qlo = malloc(total * sizeof *qlo), *qhi = malloc(total * sizeof *qhi), *qdepth = malloc(total * sizeof *qdepth);
    int ok = m->value && m->first && m->nchild && m->label && qlo && qhi && qdepth;
    if (ok) {
        size_t nn = 1;
        qlo[0] = 0, qhi[0] = (uint32_t)m->n, qdepth[0] = 0, m->label[0] = 0;
        for (size_t node = 0; node < nn; node++) {
            size_t lo = qlo[node], hi = qhi[node], d = qdepth[node];
            m->value[node] = -1;
            while (lo < hi && m->plen[order[lo]] == d) m->value[node] = order[lo++]; /* last duplicate wins */
            m->first[node] = (uint32_t)nn;
            m->nchild[node] = 0;
            while (lo < hi) {
                uint8_t b = (uint8_t)m->text[m->off[order[lo]] + d];
                size_t e = lo;
                while (e < hi && (uint8_t)m->text[m->off[order[e]] + d] == b) e++;
                m->label[nn] = b;
                qlo[nn] = (uint32_t)lo, qhi[nn] = (uint32_t)e, qdepth[nn] = (uint32_t)(d + 1);
                nn++, m->nchild[node]++;
                lo = e;
            }
        }
        m->nnodes = nn;
    }
    free(qlo), free(qhi), free(qdepth);
    return ok ? 0 : -1;
}

static int64_t child(const tok_unigram *m, size_t node, uint8_t b) {
    size_t lo = m->first[node], hi = lo + m->nchild[node];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->label[mid] == b) return (int64_t)mid;
        if (m->label[mid] < b) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

dit_status tok_unigram_load(const cJSON *model, const char *file, tok_unigram **out, dit_err *err) {
    *out = NULL;
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsArray(vocab))
        return DIT_FAIL(err, DIT_ERR_MISSING, "%s: model.vocab missing or not an array of [piece, score]", file);
    int n = cJSON_GetArraySize(vocab);
    if (n <= 0) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: model.vocab is empty", file);
    const cJSON *bf = cJSON_GetObjectItemCaseSensitive(model, "byte_fallback");
    if (cJSON_IsTrue(bf))
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: model.byte_fallback = true is not supported (umT5 has false)", file);
    tok_unigram *m = calloc(1, sizeof *m);
    if (!m) return DIT_FAIL(err, DIT_ERR_OOM, "%s: unigram model", file);
    m->n = n;
    m->off = malloc((size_t)n * sizeof *m->off);
    m->plen = malloc((size_t)n * sizeof *m->plen);
    m->score = malloc((size_t)n * sizeof *m->score);
    int32_t *order = malloc((size_t)n * sizeof *order);
    if (!m->off || !m->plen || !m->score || !order) goto oom;
    size_t total = 0;
    int i = 0;
    for (const cJSON *e = vocab->child; e; e = e->next, i++) {
        const cJSON *p = cJSON_GetArrayItem(e, 0), *s = cJSON_GetArrayItem(e, 1);
        if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !cJSON_IsString(p) || !cJSON_IsNumber(s)) {
            free(order);
            tok_unigram_free(&m);
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: model.vocab[%d] is not a [piece string, score number] pair",
                            file, i);
        }
        size_t l = strlen(p->valuestring);
        if (tok_utf8_check(p->valuestring, l) != l) {
            free(order);
            tok_unigram_free(&m);
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: model.vocab[%d] piece is not valid UTF-8", file, i);
        }
        m->off[i] = total, m->plen[i] = (uint32_t)l, m->score[i] = s->valuedouble;
        total += l + 1;
    }
    m->text = malloc(total ? total : 1);
    if (!m->text) goto oom;
    m->min_score = INFINITY;
    i = 0;
    for (const cJSON *e = vocab->child; e; e = e->next, i++) {
        memcpy(m->text + m->off[i], cJSON_GetArrayItem(e, 0)->valuestring, m->plen[i] + 1);
        if (m->score[i] < m->min_score) m->min_score = m->score[i];
        order[i] = i;
    }
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_id");
    m->unk = -1;
    if (unk && !cJSON_IsNull(unk)) {
        if (!cJSON_IsNumber(unk) || unk->valuedouble < 0 || unk->valuedouble >= n ||
            unk->valuedouble != (double)(int32_t)unk->valuedouble) {
            free(order);
            tok_unigram_free(&m);
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: model.unk_id must be null or an integer in [0, %d)", file, n);
        }
        m->unk = (int32_t)unk->valuedouble;
    }
    sort_item *items = malloc((size_t)n * sizeof *items);
    if (!items) goto oom;
    for (int32_t k = 0; k < n; k++) items[k] = (sort_item){m->text + m->off[k], m->plen[k], k};
    qsort(items, (size_t)n, sizeof *items, piece_cmp);
    for (int32_t k = 0; k < n; k++) order[k] = items[k].id;
    free(items);
    if (build_trie(m, order)) goto oom;
    free(order);
    *out = m;
    return DIT_OK;
oom:
    free(order);
    tok_unigram_free(&m);
    return DIT_FAIL(err, DIT_ERR_OOM, "%s: unigram vocabulary of %d pieces", file, n);
}

int32_t tok_unigram_size(const tok_unigram *m) { return m->n; }
int32_t tok_unigram_unk(const tok_unigram *m) { return m->unk; }

const char *tok_unigram_piece(const tok_unigram *m, int32_t id) {
    return id >= 0 && id < m->n ? m->text + m->off[id] : NULL;
}

int32_t tok_unigram_find(const tok_unigram *m, const char *s, size_t n) {
    size_t node = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t c = child(m, node, (uint8_t)s[i]);
        if (c < 0) return -1;
        node = (size_t)c;
    }
    return n ? m->value[node] : -1;
}

typedef struct best_node {
    double score;
    int64_t start; /* -1: not reached */
    int32_t id;
} best_node;

static int ids_push(int32_t **ids, size_t *n, size_t *cap, int32_t id) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        int32_t *v = realloc(*ids, c * sizeof *v);
        if (!v) return -1;
        *ids = v, *cap = c;
    }
    (*ids)[(*n)++] = id;
    return 0;
}

dit_status tok_unigram_encode(const tok_unigram *m, const char *s, size_t n, int32_t **ids, size_t *nids,
                              size_t *cap, dit_err *err) {
    if (n == 0) return DIT_OK;
    best_node *best = malloc((n + 1) * sizeof *best);
    size_t *tok_b = malloc((n + 1) * sizeof *tok_b);
    int32_t *tok_id = malloc((n + 1) * sizeof *tok_id);
    if (!best || !tok_b || !tok_id) {
        free(best), free(tok_b), free(tok_id);
        return DIT_FAIL(err, DIT_ERR_OOM, "unigram lattice for %zu bytes", n);
    }
    for (size_t i = 0; i <= n; i++) best[i].score = 0, best[i].start = -1, best[i].id = 0;
    double unk_score = m->min_score - 10.0;
    dit_status st = DIT_OK;
    for (size_t at = 0; at < n;) {
        double base = best[at].score;
        size_t mblen = (size_t)tok_utf8_len(s, at);
        int single = 0;
        size_t node = 0;
        for (size_t k = at; k < n; k++) {
            int64_t c = child(m, node, (uint8_t)s[k]);
            if (c < 0) break;
            node = (size_t)c;
            int32_t id = m->value[node];
            if (id < 0) continue;
            size_t end = k + 1;
            double cand = m->score[id] + base;
            if (best[end].start < 0 || cand > best[end].score) {
                best[end].score = cand, best[end].start = (int64_t)at, best[end].id = id;
            }
            if (end - at == mblen) single = 1;
        }
        if (!single) {
            if (m->unk < 0) {
                st = DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                              "text has a character (byte %zu) with no vocabulary piece and the model has no unk_id",
                              at);
                break;
            }
            size_t end = at + mblen;
            double cand = unk_score + base;
            if (best[end].start < 0 || cand > best[end].score) {
                best[end].score = cand, best[end].start = (int64_t)at, best[end].id = m->unk;
            }
        }
        at += mblen;
    }
    if (st == DIT_OK) {
        /* Backtrack into (start, id) pairs, then emit in order fusing unknown runs. */
        size_t nt = 0;
        for (size_t end = n; end > 0; end = (size_t)best[end].start) {
            tok_b[nt] = (size_t)best[end].start;
            tok_id[nt] = best[end].id;
            nt++;
        }
        for (size_t t = nt; t-- > 0 && st == DIT_OK;) {
            size_t b = tok_b[t], e = t ? tok_b[t - 1] : n;
            int32_t id = tok_id[t];
            if (id == m->unk) {
                while (t > 0 && tok_id[t - 1] == m->unk) t--, e = t ? tok_b[t - 1] : n;
            }
            int32_t mapped = tok_unigram_find(m, s + b, e - b);
            if (mapped < 0) mapped = m->unk; /* a fused unknown run */
            if (ids_push(ids, nids, cap, mapped)) st = DIT_FAIL(err, DIT_ERR_OOM, "token ids");
        }
    }
    free(best), free(tok_b), free(tok_id);
    return st;
}
