/* tok_regex.c — the regex subset that tokenizer.json Replace / Split patterns use.
 *
 * HF compiles these with Oniguruma (Ruby syntax); converted SentencePiece files
 * use patterns like " {2,}", "\A +| +\z", "\A▁".  Supported: literals (UTF-8),
 * escaped punctuation, \t \n \r \f \v \e \a \uHHHH \x{H..} \xHH (ASCII),
 * . (not \n), [...] classes (ranges, negation, \s \S inside), \s \S (Unicode
 * White_Space, as onig), anchors \A \z \Z ^ $ (Ruby: ^ $ are line anchors),
 * groups ( ) (?: ), alternation, greedy and lazy * + ? {n} {n,} {n,m} {,m}.
 * Anything else (\d \w \b \p, lookaround, flags, backrefs, possessive) fails
 * to load with DIT_ERR_UNSUPPORTED naming the construct, rather than guess.
 *
 * Matching is leftmost-first backtracking (Perl/onig priority) over a small
 * compiled program with an explicit stack, memoized failed states (linear time
 * per start position set) and a step budget; repeats whose body can match ""
 * unboundedly are rejected at compile time.  find_all replays the
 * onig crate's find_iter (an empty match right after the previous match is
 * skipped).  Checked by tests/test_tokenizer.c: unit cases plus tokenizer
 * variants whose Replace/Split patterns HF itself ran to make the goldens.
 */
#include "tok_internal.h"

#include <stdlib.h> /* malloc, realloc, free */
#include <string.h> /* strlen */

enum { I_CHAR, I_ANY, I_CLASS, I_SPLIT, I_JMP, I_MATCH, I_BOL, I_EOL, I_BOS, I_EOS, I_EOSNL };
enum { N_EMPTY, N_CHAR, N_ANY, N_CLASS, N_ASSERT, N_CAT, N_ALT, N_REP };

#define RE_MAX_NODES 4096
#define RE_MAX_PROG 20000
#define RE_MAX_REPEAT 1000
#define RE_STEP_BUDGET 200000000L
#define RE_MAX_SEEN (16u << 20) /* states memoized per find_all (64 MiB of marks) */
#define RE_MAX_GROUPS 100       /* groups nested deeper are refused (the parser recurses per group) */
#define RE_MAX_DEPTH 500        /* compile/nullable recursion depth (chains of | and of concatenation loop) */

typedef struct re_inst { int op, x, y; uint32_t c; } re_inst;
typedef struct re_node { int type, a, b, min, max, greedy, depth; uint32_t c; } re_node;
typedef struct re_class {
    uint32_t (*r)[2];
    int nr, neg, space, nonspace;
} re_class;

struct tok_regex {
    re_inst *prog;
    int nprog, cap; /* grows to RE_MAX_PROG */
    re_class *cls;
    int ncls;
};

typedef struct re_parser {
    const char *start, *p, *end, *where;
    re_node *nodes; /* grows to RE_MAX_NODES */
    int nnodes, cap, groups; /* groups: nesting of the group being parsed */
    tok_regex *re;
    dit_err *err;
    dit_status st;
} re_parser;

static int fail(re_parser *ps, dit_status code, const char *what) {
    if (ps->st == DIT_OK)
        ps->st = DIT_FAIL(ps->err, code, "%s: regex %s at offset %ld", ps->where, what,
                          (long)(ps->p - ps->start));
    return -1;
}

/* Recursion depth compile() and nullable() need for a node: a chain of | or of concatenation
 * (left-deep, as the parser builds them) is walked in a loop, so it costs one level, not one per link. */
static int node_depth(const re_parser *ps, int type, int a, int b) {
    switch (type) {
    case N_CAT: case N_ALT: {
        const re_node *na = &ps->nodes[a], *nb = &ps->nodes[b];
        int d = 1 + nb->depth, da = na->type == type ? na->depth : 1 + na->depth;
        return d > da ? d : da;
    }
    case N_REP: return 1 + ps->nodes[a].depth;
    default: return 1;
    }
}

static int node(re_parser *ps, int type, int a, int b, uint32_t c) {
    if (ps->nnodes >= RE_MAX_NODES) return fail(ps, DIT_ERR_UNSUPPORTED, "too large (more than 4096 nodes)");
    int depth = node_depth(ps, type, a, b);
    if (depth > RE_MAX_DEPTH) return fail(ps, DIT_ERR_UNSUPPORTED, "nested too deeply (more than 500 levels)");
    if (ps->nnodes == ps->cap) {
        int cap = ps->cap ? 2 * ps->cap : 64;
        re_node *v = realloc(ps->nodes, (size_t)(cap < RE_MAX_NODES ? cap : RE_MAX_NODES) * sizeof *v);
        if (!v) return fail(ps, DIT_ERR_OOM, "nodes");
        ps->nodes = v, ps->cap = cap < RE_MAX_NODES ? cap : RE_MAX_NODES;
    }
    re_node *n = &ps->nodes[ps->nnodes];
    n->type = type, n->a = a, n->b = b, n->c = c, n->min = n->max = 0, n->greedy = 1, n->depth = depth;
    return ps->nnodes++;
}

static int next_cp(re_parser *ps, uint32_t *cp) {
    size_t left = (size_t)(ps->end - ps->p);
    int n = tok_utf8_decode(ps->p, left, 0, cp);
    if (n == 0) return fail(ps, DIT_ERR_FORMAT, "is not valid UTF-8");
    ps->p += n;
    return 0;
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Escape after '\': a literal code point (*cp), or a class shorthand (*kind 's'/'S'),
 * or an anchor (*kind 'A'/'z'/'Z').  Returns 0 or -1. */
static int parse_escape(re_parser *ps, uint32_t *cp, int *kind, int in_class) {
    *kind = 0;
    if (ps->p >= ps->end) return fail(ps, DIT_ERR_FORMAT, "ends with a backslash");
    char c = *ps->p++;
    switch (c) {
    case 't': *cp = '\t'; return 0;
    case 'n': *cp = '\n'; return 0;
    case 'r': *cp = '\r'; return 0;
    case 'f': *cp = '\f'; return 0;
    case 'v': *cp = '\v'; return 0;
    case 'e': *cp = 0x1B; return 0;
    case 'a': *cp = 0x07; return 0;
    case 's': case 'S': *kind = c; return 0;
    case 'A': case 'z': case 'Z':
        if (in_class) return fail(ps, DIT_ERR_UNSUPPORTED, "anchor inside a class");
        *kind = c;
        return 0;
    case 'u': {
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) {
            int h = ps->p < ps->end ? hexval(*ps->p) : -1;
            if (h < 0) return fail(ps, DIT_ERR_FORMAT, "\\u needs 4 hex digits");
            v = v * 16 + (uint32_t)h, ps->p++;
        }
        *cp = v;
        return 0;
    }
    case 'x': {
        uint32_t v = 0;
        int nd = 0;
        if (ps->p < ps->end && *ps->p == '{') {
            ps->p++;
            while (ps->p < ps->end && *ps->p != '}') {
                int h = hexval(*ps->p++);
                if (h < 0 || ++nd > 6) return fail(ps, DIT_ERR_FORMAT, "bad \\x{...}");
                v = v * 16 + (uint32_t)h;
            }
            if (ps->p >= ps->end || nd == 0) return fail(ps, DIT_ERR_FORMAT, "bad \\x{...}");
            ps->p++;
        } else {
            while (nd < 2 && ps->p < ps->end && hexval(*ps->p) >= 0) v = v * 16 + (uint32_t)hexval(*ps->p++), nd++;
            if (nd == 0) return fail(ps, DIT_ERR_FORMAT, "\\x without hex digits");
            if (v >= 0x80) return fail(ps, DIT_ERR_UNSUPPORTED, "\\xHH above 0x7F (a raw byte in onig)");
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return fail(ps, DIT_ERR_FORMAT, "bad code point");
        *cp = v;
        return 0;
    }
    default:
        if ((unsigned char)c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            return fail(ps, DIT_ERR_UNSUPPORTED, "escape (only \\t\\n\\r\\f\\v\\e\\a\\s\\S\\A\\z\\Z\\u\\x and punctuation)");
        *cp = (uint32_t)(unsigned char)c;
        return 0;
    }
}

static int class_add(re_parser *ps, re_class *k, uint32_t lo, uint32_t hi) {
    if (lo > hi) return fail(ps, DIT_ERR_FORMAT, "class range out of order");
    uint32_t(*r)[2] = realloc(k->r, (size_t)(k->nr + 1) * sizeof *r);
    if (!r) return fail(ps, DIT_ERR_OOM, "class");
    k->r = r;
    k->r[k->nr][0] = lo, k->r[k->nr][1] = hi;
    k->nr++;
    return 0;
}

static int parse_class(re_parser *ps) {
    tok_regex *re = ps->re;
    re_class *v = realloc(re->cls, (size_t)(re->ncls + 1) * sizeof *v);
    if (!v) return fail(ps, DIT_ERR_OOM, "class");
    re->cls = v;
    re_class *k = &re->cls[re->ncls];
    memset(k, 0, sizeof *k);
    int idx = re->ncls++;
    if (ps->p < ps->end && *ps->p == '^') k->neg = 1, ps->p++;
    int first = 1;
    for (;;) {
        if (ps->p >= ps->end) return fail(ps, DIT_ERR_FORMAT, "unterminated [");
        if (*ps->p == ']' && !first) {
            ps->p++;
            break;
        }
        if (*ps->p == '[') return fail(ps, DIT_ERR_UNSUPPORTED, "nested class");
        if (*ps->p == '&' && ps->p + 1 < ps->end && ps->p[1] == '&') return fail(ps, DIT_ERR_UNSUPPORTED, "class &&");
        first = 0;
        uint32_t lo;
        int kind = 0;
        if (*ps->p == '\\') {
            ps->p++;
            if (parse_escape(ps, &lo, &kind, 1)) return -1;
        } else if (next_cp(ps, &lo)) {
            return -1;
        }
        if (kind == 's') { k->space = 1; continue; }
        if (kind == 'S') { k->nonspace = 1; continue; }
        uint32_t hi = lo;
        if (ps->p + 1 < ps->end && *ps->p == '-' && ps->p[1] != ']') {
            ps->p++;
            if (*ps->p == '\\') {
                ps->p++;
                if (parse_escape(ps, &hi, &kind, 1)) return -1;
                if (kind) return fail(ps, DIT_ERR_FORMAT, "class shorthand as a range end");
            } else if (next_cp(ps, &hi)) {
                return -1;
            }
        }
        if (class_add(ps, k, lo, hi)) return -1;
    }
    return node(ps, N_CLASS, 0, 0, (uint32_t)idx);
}

static int parse_alt(re_parser *ps);

static int parse_atom(re_parser *ps) {
    uint32_t cp;
    char c = *ps->p;
    if (c == '(') {
        if (ps->groups >= RE_MAX_GROUPS) return fail(ps, DIT_ERR_UNSUPPORTED, "groups nested deeper than 100");
        ps->groups++;
        ps->p++;
        if (ps->p < ps->end && *ps->p == '?') {
            if (ps->p + 1 < ps->end && ps->p[1] == ':') ps->p += 2;
            else return fail(ps, DIT_ERR_UNSUPPORTED, "group kind (?...) (only (?:...))");
        }
        int a = parse_alt(ps);
        if (a < 0) return -1;
        if (ps->p >= ps->end || *ps->p != ')') return fail(ps, DIT_ERR_FORMAT, "missing )");
        ps->p++;
        ps->groups--;
        return a;
    }
    if (c == '[') {
        ps->p++;
        return parse_class(ps);
    }
    if (c == '.') return ps->p++, node(ps, N_ANY, 0, 0, 0);
    if (c == '^') return ps->p++, node(ps, N_ASSERT, 0, 0, I_BOL);
    if (c == '$') return ps->p++, node(ps, N_ASSERT, 0, 0, I_EOL);
    if (c == '*' || c == '+' || c == '?') return fail(ps, DIT_ERR_FORMAT, "quantifier without a target");
    if (c == '\\') {
        ps->p++;
        int kind;
        if (parse_escape(ps, &cp, &kind, 0)) return -1;
        if (kind == 'A') return node(ps, N_ASSERT, 0, 0, I_BOS);
        if (kind == 'z') return node(ps, N_ASSERT, 0, 0, I_EOS);
        if (kind == 'Z') return node(ps, N_ASSERT, 0, 0, I_EOSNL);
        if (kind == 's' || kind == 'S') {
            re_class *v = realloc(ps->re->cls, (size_t)(ps->re->ncls + 1) * sizeof *v);
            if (!v) return fail(ps, DIT_ERR_OOM, "class");
            ps->re->cls = v;
            memset(&v[ps->re->ncls], 0, sizeof *v);
            v[ps->re->ncls].space = kind == 's', v[ps->re->ncls].nonspace = kind == 'S';
            return node(ps, N_CLASS, 0, 0, (uint32_t)ps->re->ncls++);
        }
        return node(ps, N_CHAR, 0, 0, cp);
    }
    if (next_cp(ps, &cp)) return -1;
    return node(ps, N_CHAR, 0, 0, cp);
}

/* {n}, {n,}, {n,m}, {,m}; returns 1 when parsed, 0 when '{' is a literal. */
static int parse_interval(re_parser *ps, int *min, int *max) {
    const char *q = ps->p + 1;
    long a = -1, b = -1;
    int comma = 0;
    while (q < ps->end && *q >= '0' && *q <= '9') a = (a < 0 ? 0 : a * 10) + (*q++ - '0'), a = a > 100000 ? 100000 : a;
    if (q < ps->end && *q == ',') {
        comma = 1, q++;
        while (q < ps->end && *q >= '0' && *q <= '9') b = (b < 0 ? 0 : b * 10) + (*q++ - '0'), b = b > 100000 ? 100000 : b;
    }
    if (q >= ps->end || *q != '}' || (a < 0 && b < 0)) return 0;
    *min = a < 0 ? 0 : (int)a;
    *max = comma ? (b < 0 ? -1 : (int)b) : *min;
    ps->p = q + 1;
    return 1;
}

static int parse_repeat(re_parser *ps) {
    int a = parse_atom(ps);
    if (a < 0) return -1;
    while (ps->p < ps->end) {
        int min, max;
        char c = *ps->p;
        if (c == '*') min = 0, max = -1, ps->p++;
        else if (c == '+') min = 1, max = -1, ps->p++;
        else if (c == '?') min = 0, max = 1, ps->p++;
        else if (c != '{' || !parse_interval(ps, &min, &max)) break; /* '{' not an interval: a literal */
        if (max >= 0 && min > max) return fail(ps, DIT_ERR_FORMAT, "repeat {n,m} with n > m");
        if (min > RE_MAX_REPEAT || max > RE_MAX_REPEAT) return fail(ps, DIT_ERR_UNSUPPORTED, "repeat count above 1000");
        int greedy = 1;
        if (ps->p < ps->end && *ps->p == '?') greedy = 0, ps->p++;
        else if (ps->p < ps->end && *ps->p == '+') return fail(ps, DIT_ERR_UNSUPPORTED, "possessive quantifier");
        if (ps->nodes[a].type == N_ASSERT) return fail(ps, DIT_ERR_UNSUPPORTED, "quantified anchor");
        int r = node(ps, N_REP, a, 0, 0);
        if (r < 0) return -1;
        ps->nodes[r].min = min, ps->nodes[r].max = max, ps->nodes[r].greedy = greedy;
        a = r;
    }
    return a;
}

static int parse_cat(re_parser *ps) {
    int acc = -1;
    while (ps->p < ps->end && *ps->p != '|' && *ps->p != ')') {
        int r = parse_repeat(ps);
        if (r < 0) return -1;
        acc = acc < 0 ? r : node(ps, N_CAT, acc, r, 0);
        if (acc < 0) return -1;
    }
    return acc < 0 ? node(ps, N_EMPTY, 0, 0, 0) : acc;
}

static int parse_alt(re_parser *ps) {
    int a = parse_cat(ps);
    while (a >= 0 && ps->p < ps->end && *ps->p == '|') {
        ps->p++;
        int b = parse_cat(ps);
        if (b < 0) return -1;
        a = node(ps, N_ALT, a, b, 0);
    }
    return a;
}

static int nullable(const re_parser *ps, int i) {
    const re_node *n = &ps->nodes[i];
    switch (n->type) {
    case N_EMPTY: case N_ASSERT: return 1;
    case N_CAT: /* a left-deep chain: walk it, recurse only into its links */
        for (; n->type == N_CAT; n = &ps->nodes[n->a])
            if (!nullable(ps, n->b)) return 0;
        return nullable(ps, (int)(n - ps->nodes));
    case N_ALT:
        for (; n->type == N_ALT; n = &ps->nodes[n->a])
            if (nullable(ps, n->b)) return 1;
        return nullable(ps, (int)(n - ps->nodes));
    case N_REP: return n->min == 0 || nullable(ps, n->a);
    default: return 0;
    }
}

/* The links of a left-deep chain of `type` rooted at i, first to last, into a heap array; -1 on OOM. */
static int chain(re_parser *ps, int i, int type, int **out) {
    int n = 1;
    for (int k = i; ps->nodes[k].type == type; k = ps->nodes[k].a) n++;
    int *v = malloc((size_t)n * sizeof *v);
    if (!v) return fail(ps, DIT_ERR_OOM, "compile");
    int k = i;
    for (int j = n - 1; j > 0; j--, k = ps->nodes[k].a) v[j] = ps->nodes[k].b;
    v[0] = k;
    *out = v;
    return n;
}

static int emit(re_parser *ps, int op, int x, int y, uint32_t c) {
    tok_regex *re = ps->re;
    if (re->nprog >= RE_MAX_PROG) return fail(ps, DIT_ERR_UNSUPPORTED, "program too large (expand repeats less)");
    if (re->nprog == re->cap) {
        int cap = re->cap ? 2 * re->cap : 64;
        if (cap > RE_MAX_PROG) cap = RE_MAX_PROG;
        re_inst *v = realloc(re->prog, (size_t)cap * sizeof *v);
        if (!v) return fail(ps, DIT_ERR_OOM, "program");
        re->prog = v, re->cap = cap;
    }
    re->prog[re->nprog] = (re_inst){op, x, y, c};
    return re->nprog++;
}

/* Recursion depth is bounded by RE_MAX_DEPTH (node()), and no frame holds an array. */
static int compile(re_parser *ps, int i) {
    const re_node *n = &ps->nodes[i];
    tok_regex *re = ps->re;
    switch (n->type) {
    case N_EMPTY: return 0;
    case N_CHAR: return emit(ps, I_CHAR, 0, 0, n->c) < 0 ? -1 : 0;
    case N_ANY: return emit(ps, I_ANY, 0, 0, 0) < 0 ? -1 : 0;
    case N_CLASS: return emit(ps, I_CLASS, 0, 0, n->c) < 0 ? -1 : 0;
    case N_ASSERT: return emit(ps, (int)n->c, 0, 0, 0) < 0 ? -1 : 0;
    case N_CAT: { /* iterative over the chain: a 2000-character literal must not recurse 2000 deep */
        int *v, nv = chain(ps, i, N_CAT, &v), rc = 0;
        if (nv < 0) return -1;
        for (int k = 0; k < nv && rc == 0; k++) rc = compile(ps, v[k]);
        free(v);
        return rc;
    }
    case N_ALT: { /* a|b|c: SPLIT(a, SPLIT(b, c)) as the nested form, with one loop */
        int *v, nv = chain(ps, i, N_ALT, &v), rc = 0;
        if (nv < 0) return -1;
        int *jmp = malloc((size_t)nv * sizeof *jmp);
        if (!jmp) rc = fail(ps, DIT_ERR_OOM, "compile");
        for (int k = 0; k < nv && rc == 0; k++) {
            int sp = k + 1 < nv ? emit(ps, I_SPLIT, 0, 0, 0) : 0;
            if (sp < 0 || compile(ps, v[k])) {
                rc = -1;
                break;
            }
            if (k + 1 < nv) {
                if ((jmp[k] = emit(ps, I_JMP, 0, 0, 0)) < 0) {
                    rc = -1;
                    break;
                }
                re->prog[sp].x = sp + 1, re->prog[sp].y = re->nprog;
            }
        }
        for (int k = 0; rc == 0 && k + 1 < nv; k++) re->prog[jmp[k]].x = re->nprog;
        free(jmp);
        free(v);
        return rc;
    }
    case N_REP: {
        for (int k = 0; k < n->min; k++)
            if (compile(ps, n->a)) return -1;
        if (n->max < 0) {
            if (nullable(ps, n->a)) return fail(ps, DIT_ERR_UNSUPPORTED, "unbounded repeat of something that matches \"\"");
            int sp = emit(ps, I_SPLIT, 0, 0, 0);
            if (sp < 0 || compile(ps, n->a) || emit(ps, I_JMP, sp, 0, 0) < 0) return -1;
            re->prog[sp].x = n->greedy ? sp + 1 : re->nprog;
            re->prog[sp].y = n->greedy ? re->nprog : sp + 1;
            return 0;
        }
        int *splits = malloc((size_t)(n->max - n->min + 1) * sizeof *splits), ns = 0; /* heap: frames stay small */
        if (!splits) return fail(ps, DIT_ERR_OOM, "compile");
        for (int k = n->min; k < n->max; k++) {
            int sp = emit(ps, I_SPLIT, 0, 0, 0);
            if (sp < 0 || compile(ps, n->a)) {
                free(splits);
                return -1;
            }
            splits[ns++] = sp;
        }
        for (int k = 0; k < ns; k++) {
            int sp = splits[k];
            re->prog[sp].x = n->greedy ? sp + 1 : re->nprog;
            re->prog[sp].y = n->greedy ? re->nprog : sp + 1;
        }
        free(splits);
        return 0;
    }
    }
    return fail(ps, DIT_ERR_INTERNAL, "bad node");
}

dit_status tok_regex_compile(const char *pat, int literal, const char *where, tok_regex **out, dit_err *err) {
    *out = NULL;
    re_parser *ps = calloc(1, sizeof *ps);
    tok_regex *re = calloc(1, sizeof *re);
    if (!ps || !re) {
        free(ps);
        tok_regex_free(&re);
        return DIT_FAIL(err, DIT_ERR_OOM, "%s: regex", where);
    }
    ps->start = ps->p = pat, ps->end = pat + strlen(pat), ps->where = where, ps->re = re, ps->err = err, ps->st = DIT_OK;
    int root = -1;
    if (literal) {
        while (ps->p < ps->end) {
            uint32_t cp;
            if (next_cp(ps, &cp)) break;
            int c = node(ps, N_CHAR, 0, 0, cp);
            if (c < 0) break;
            root = root < 0 ? c : node(ps, N_CAT, root, c, 0);
            if (root < 0) break;
        }
        if (root < 0 && ps->st == DIT_OK) root = node(ps, N_EMPTY, 0, 0, 0);
    } else {
        root = parse_alt(ps);
        if (root >= 0 && ps->p < ps->end) root = fail(ps, DIT_ERR_FORMAT, "unbalanced )");
    }
    if (root >= 0 && ps->st == DIT_OK && compile(ps, root) == 0 && emit(ps, I_MATCH, 0, 0, 0) >= 0) {
        re_inst *fit = realloc(re->prog, (size_t)re->nprog * sizeof *fit);
        if (fit) re->prog = fit, re->cap = re->nprog;
    }
    dit_status st = ps->st;
    free(ps->nodes);
    free(ps);
    if (st != DIT_OK) {
        tok_regex_free(&re);
        return st;
    }
    *out = re;
    return DIT_OK;
}

void tok_regex_free(tok_regex **pre) {
    tok_regex *re = pre ? *pre : NULL;
    if (!re) return;
    for (int i = 0; i < re->ncls; i++) free(re->cls[i].r);
    free(re->cls);
    free(re->prog);
    free(re);
    *pre = NULL;
}

static int class_match(const re_class *k, uint32_t cp) {
    int in = (k->space && tok_is_white_space(cp)) || (k->nonspace && !tok_is_white_space(cp));
    for (int i = 0; i < k->nr && !in; i++) in = cp >= k->r[i][0] && cp <= k->r[i][1];
    return k->neg ? !in : in;
}

typedef struct re_thread { int pc; size_t sp; } re_thread;
typedef struct re_stack {
    re_thread *v;
    size_t n, cap;
    uint32_t *seen; /* per (pc, sp): generation in which the state was explored, or NULL */
    uint32_t gen;
} re_stack;

/* Anchored run at `start`: 1 and *end on a match, 0 none, -1 OOM, -2 budget.
 * Without captures, a state (pc, sp) that was explored and did not lead to a
 * match never will, so `seen` prunes revisits (reset by bumping gen after each
 * match); this keeps e.g. " +\z" linear on long runs of spaces. */
static int re_run(const tok_regex *re, const char *s, size_t len, size_t start, size_t *end, re_stack *st,
                  long *budget) {
    st->n = 0;
    int pc = 0;
    size_t sp = start;
    for (;;) {
        if (--*budget < 0) return -2;
        const re_inst *in = &re->prog[pc];
        int ok = 1;
        if (st->seen) {
            uint32_t *mark = &st->seen[(size_t)pc * (len + 1) + sp];
            if (*mark == st->gen) {
                ok = 0;
                goto backtrack;
            }
            *mark = st->gen;
        }
        uint32_t cp = 0;
        int n = 0;
        switch (in->op) {
        case I_CHAR: case I_ANY: case I_CLASS:
            n = sp < len ? tok_utf8_decode(s, len, sp, &cp) : 0;
            ok = n > 0 && (in->op == I_CHAR ? cp == in->c : in->op == I_ANY ? cp != '\n' : class_match(&re->cls[in->c], cp));
            if (ok) sp += (size_t)n, pc++;
            break;
        case I_SPLIT:
            if (st->n == st->cap) {
                size_t cap = st->cap ? st->cap * 2 : 64;
                re_thread *v = realloc(st->v, cap * sizeof *v);
                if (!v) return -1;
                st->v = v, st->cap = cap;
            }
            st->v[st->n].pc = in->y, st->v[st->n].sp = sp, st->n++;
            pc = in->x;
            break;
        case I_JMP: pc = in->x; break;
        case I_MATCH: *end = sp; return 1;
        case I_BOL: ok = sp == 0 || (s[sp - 1] == '\n' && sp < len), pc++; break; /* onig: not at the very end */
        case I_EOL: ok = sp == len || s[sp] == '\n', pc++; break;
        case I_BOS: ok = sp == 0, pc++; break;
        case I_EOS: ok = sp == len, pc++; break;
        case I_EOSNL: ok = sp == len || (sp + 1 == len && s[sp] == '\n'), pc++; break;
        default: ok = 0;
        }
    backtrack:
        if (!ok) {
            if (st->n == 0) return 0;
            st->n--;
            pc = st->v[st->n].pc, sp = st->v[st->n].sp;
        }
    }
}

int tok_regex_find_all(const tok_regex *re, const char *s, size_t len, tok_spans *out) {
    out->n = 0;
    if (len == 0) return tok_spans_push(out, 0, 0, 0);
    re_stack st = {0};
    long budget = RE_STEP_BUDGET;
    if ((size_t)re->nprog * (len + 1) <= RE_MAX_SEEN) st.seen = calloc((size_t)re->nprog * (len + 1), sizeof *st.seen);
    st.gen = 1;
    size_t last_end = 0, prev = 0, last_match_end = (size_t)-1;
    int rc = 0;
    while (last_end <= len) {
        size_t ms = 0, me = 0;
        int found = 0;
        for (size_t start = last_end; start <= len;) {
            int r = re_run(re, s, len, start, &me, &st, &budget);
            if (r < 0) {
                rc = r;
                goto done;
            }
            if (r == 1) {
                ms = start, found = 1;
                break;
            }
            start += start < len ? (size_t)tok_utf8_len(s, start) : 1;
        }
        if (!found) break;
        st.gen++; /* states on this run's path led to a match: forget the marks */
        if (ms == me && last_match_end == me) { /* empty match right after the last one */
            last_end += last_end < len ? (size_t)tok_utf8_len(s, last_end) : 1;
            continue;
        }
        last_end = me, last_match_end = me;
        if (prev != ms && tok_spans_push(out, prev, ms, 0)) rc = -1;
        if (rc == 0 && tok_spans_push(out, ms, me, 1)) rc = -1;
        if (rc) goto done;
        prev = me;
    }
    if (prev != len && tok_spans_push(out, prev, len, 0)) rc = -1;
done:
    free(st.v);
    free(st.seen);
    return rc;
}
