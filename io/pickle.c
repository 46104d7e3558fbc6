/* pickle.c — bounded pickle VM for state dicts (see pickle.h).
 * Checked by tests/test_pth.c (torch.save files at protocols 2 and 4, crafted bad
 * pickles) and fuzzed by tools/fuzz_pth.c. */
#include "pickle.h"

#include <stdarg.h> /* va_list */
#include <stdio.h>  /* vsnprintf */
#include <stdlib.h> /* malloc, realloc, free */
#include <string.h> /* memcpy, memset, strlen */

struct io_pk_vm {
    io_pk_obj **all; /* every object, freed together */
    int64_t nall, capall;
    io_pk_obj **stack;
    int64_t sp, capstack;
    int64_t *marks; /* the mark stack: stack heights at each MARK (O(1) pop-to-mark) */
    int64_t nmarks, capmarks;
    io_pk_obj **memo;
    int64_t nmemo, nset; /* array length; number of slots set (MEMOIZE's next index) */
    const uint8_t *buf;
    size_t len, pos, op_pos;
    const char *label;
    const io_pk_hooks *hooks;
};

const char *io_pk_type_name(io_pk_type t) {
    static const char *names[] = {"None",  "bool", "int",  "float",  "str",   "bytes",
                                  "tuple", "list", "dict", "global", "object"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

size_t io_pk_offset(const io_pk_vm *vm) { return vm->op_pos; }

/* Room for `need` elements of `elem` bytes in array p: the (possibly moved) array,
 * or NULL when out of memory (p is then still valid). */
static void *grow(void *p, int64_t *cap, int64_t need, size_t elem) {
    if (need <= *cap) return p;
    int64_t nc = *cap ? *cap : 8;
    while (nc < need) nc *= 2;
    void *np = realloc(p, (size_t)nc * elem);
    if (np) *cap = nc;
    return np;
}

io_pk_obj *io_pk_new(io_pk_vm *vm, io_pk_type type) {
    io_pk_obj **na = grow(vm->all, &vm->capall, vm->nall + 1, sizeof *vm->all);
    if (!na) return NULL;
    vm->all = na;
    io_pk_obj *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->type = type;
    vm->all[vm->nall++] = o;
    return o;
}

void io_pk_vm_free(io_pk_vm **pvm) {
    if (!pvm || !*pvm) return;
    io_pk_vm *vm = *pvm;
    for (int64_t i = 0; i < vm->nall; i++) {
        free(vm->all[i]->s);
        free(vm->all[i]->items);
        free(vm->all[i]);
    }
    free(vm->all);
    free(vm->stack);
    free(vm->marks);
    free(vm->memo);
    free(vm);
    *pvm = NULL;
}

#define FAIL(vm, err, code, ...) fail_at((vm), (err), (code), __LINE__, __VA_ARGS__)
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static dit_status fail_at(io_pk_vm *vm, dit_err *err, dit_status code, int line, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dit_err_set(err, code, __FILE__, line, "%s: pickle offset %zu (opcode 0x%02x): %s", vm->label, vm->op_pos,
                       vm->op_pos < vm->len ? vm->buf[vm->op_pos] : 0, msg);
}

static dit_status oom(io_pk_vm *vm, dit_err *err) { return FAIL(vm, err, DIT_ERR_OOM, "out of memory"); }

static dit_status push(io_pk_vm *vm, io_pk_obj *o, dit_err *err) {
    if (!o) return oom(vm, err);
    io_pk_obj **ns = grow(vm->stack, &vm->capstack, vm->sp + 1, sizeof *vm->stack);
    if (!ns) return oom(vm, err);
    vm->stack = ns;
    vm->stack[vm->sp++] = o;
    return DIT_OK;
}

/* Lowest stack index usable since the last MARK (values below it belong to outer frames). */
static int64_t floor_of(const io_pk_vm *vm) { return vm->nmarks ? vm->marks[vm->nmarks - 1] : 0; }

/* Pop one value; a MARK is a wall. */
static dit_status pop(io_pk_vm *vm, io_pk_obj **o, dit_err *err) {
    if (vm->sp <= floor_of(vm)) return FAIL(vm, err, DIT_ERR_FORMAT, "stack underflow (nothing above the MARK)");
    *o = vm->stack[--vm->sp];
    return DIT_OK;
}

static dit_status top(io_pk_vm *vm, io_pk_obj **o, dit_err *err) {
    if (vm->sp <= floor_of(vm)) return FAIL(vm, err, DIT_ERR_FORMAT, "stack underflow (no object below)");
    *o = vm->stack[vm->sp - 1];
    return DIT_OK;
}

static dit_status push_mark(io_pk_vm *vm, dit_err *err) {
    int64_t *nm = grow(vm->marks, &vm->capmarks, vm->nmarks + 1, sizeof *vm->marks);
    if (!nm) return oom(vm, err);
    vm->marks = nm;
    vm->marks[vm->nmarks++] = vm->sp;
    return DIT_OK;
}

/* Pop the topmost MARK: the items above it are stack[*first, sp); the caller then sets sp = *first. */
static dit_status find_mark(io_pk_vm *vm, int64_t *first, dit_err *err) {
    if (!vm->nmarks) return FAIL(vm, err, DIT_ERR_FORMAT, "no MARK on the stack");
    *first = vm->marks[--vm->nmarks];
    return DIT_OK;
}

static dit_status append(io_pk_vm *vm, io_pk_obj *c, io_pk_obj *v, dit_err *err) {
    io_pk_obj **ni = grow(c->items, &c->cap, c->n + 1, sizeof *c->items);
    if (!ni) return oom(vm, err);
    c->items = ni;
    c->items[c->n++] = v;
    return DIT_OK;
}

static io_pk_obj *seq_from(io_pk_vm *vm, io_pk_type type, io_pk_obj **items, int64_t n) {
    io_pk_obj *o = io_pk_new(vm, type);
    if (!o || n == 0) return o;
    o->items = malloc((size_t)n * sizeof *o->items);
    if (!o->items) return NULL;
    memcpy(o->items, items, (size_t)n * sizeof *items);
    o->n = o->cap = n;
    return o;
}

static dit_status need(io_pk_vm *vm, size_t n, dit_err *err) {
    if (n > vm->len - vm->pos)
        return FAIL(vm, err, DIT_ERR_FORMAT, "needs %zu more bytes but the pickle ends after %zu (truncated?)", n,
                    vm->len - vm->pos);
    return DIT_OK;
}

static uint64_t rd_le(io_pk_vm *vm, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | vm->buf[vm->pos + (size_t)i];
    vm->pos += (size_t)n;
    return v;
}

/* A str or bytes object of n bytes read from the input. */
static dit_status push_bytes(io_pk_vm *vm, uint64_t n, io_pk_type type, dit_err *err) {
    DIT_TRY(need(vm, n, err));
    io_pk_obj *o = io_pk_new(vm, type);
    if (!o || !(o->s = malloc((size_t)n + 1))) return oom(vm, err);
    memcpy(o->s, vm->buf + vm->pos, (size_t)n);
    o->s[n] = 0;
    o->len = (size_t)n;
    vm->pos += (size_t)n;
    return push(vm, o, err);
}

static dit_status memo_put(io_pk_vm *vm, uint64_t idx, dit_err *err) {
    io_pk_obj *o = NULL;
    DIT_TRY(top(vm, &o, err));
    if (idx > vm->len) /* a real pickler numbers memo slots 0, 1, 2, ...: never more than opcodes */
        return FAIL(vm, err, DIT_ERR_FORMAT, "memo index %llu is larger than the pickle itself", (unsigned long long)idx);
    if ((int64_t)idx >= vm->nmemo) {
        int64_t old = vm->nmemo, cap = vm->nmemo;
        io_pk_obj **nm = grow(vm->memo, &cap, (int64_t)idx + 1, sizeof *vm->memo);
        if (!nm) return oom(vm, err);
        vm->memo = nm;
        memset(vm->memo + old, 0, (size_t)(cap - old) * sizeof *vm->memo);
        vm->nmemo = cap;
    }
    if (!vm->memo[idx]) vm->nset++;
    vm->memo[idx] = o;
    return DIT_OK;
}

static dit_status memo_get(io_pk_vm *vm, uint64_t idx, dit_err *err) {
    if (idx >= (uint64_t)vm->nmemo || !vm->memo[idx])
        return FAIL(vm, err, DIT_ERR_FORMAT, "memo slot %llu was never stored", (unsigned long long)idx);
    return push(vm, vm->memo[idx], err);
}

/* A line of text ending in '\n' (GLOBAL operands). */
static dit_status read_line(io_pk_vm *vm, char *dst, size_t cap, dit_err *err) {
    size_t i = 0;
    for (;;) {
        if (vm->pos >= vm->len) return FAIL(vm, err, DIT_ERR_FORMAT, "GLOBAL operand runs past the end of the pickle");
        char c = (char)vm->buf[vm->pos++];
        if (c == '\n') break;
        if (i + 1 >= cap) return FAIL(vm, err, DIT_ERR_FORMAT, "GLOBAL operand longer than %zu bytes", cap - 1);
        dst[i++] = c;
    }
    dst[i] = 0;
    return DIT_OK;
}

static dit_status make_global(io_pk_vm *vm, const char *module, const char *name, dit_err *err) {
    int64_t kind = -1;
    if (!vm->hooks->find_class) return FAIL(vm, err, DIT_ERR_UNSUPPORTED, "global '%s.%s' not allowed", module, name);
    dit_status s = vm->hooks->find_class(vm->hooks->ctx, module, name, &kind, err);
    if (s != DIT_OK) return dit_err_wrap(err, "%s: pickle offset %zu", vm->label, vm->op_pos);
    io_pk_obj *o = io_pk_new(vm, IO_PK_GLOBAL);
    size_t lm = strlen(module), ln = strlen(name);
    if (!o || !(o->s = malloc(lm + ln + 2))) return oom(vm, err);
    memcpy(o->s, module, lm);
    o->s[lm] = '.';
    memcpy(o->s + lm + 1, name, ln + 1);
    o->len = lm + ln + 1;
    o->i = kind;
    return push(vm, o, err);
}

/* Execute one opcode; *done is set by STOP. */
static dit_status step(io_pk_vm *vm, io_pk_obj **root, int *done, dit_err *err) {
    vm->op_pos = vm->pos;
    uint8_t op = vm->buf[vm->pos++];
    io_pk_obj *a = NULL, *b = NULL, *c = NULL;
    int64_t first = 0;
    switch (op) {
    case 0x80: /* PROTO */
        DIT_TRY(need(vm, 1, err));
        if (vm->buf[vm->pos] > 5) return FAIL(vm, err, DIT_ERR_UNSUPPORTED, "pickle protocol %d (0..5 supported)", vm->buf[vm->pos]);
        vm->pos++;
        return DIT_OK;
    case 0x95: /* FRAME: an 8-byte length hint */
        DIT_TRY(need(vm, 8, err));
        vm->pos += 8;
        return DIT_OK;
    case '.': /* STOP */
        DIT_TRY(pop(vm, root, err));
        *done = 1;
        return DIT_OK;
    case '(': return push_mark(vm, err);
    case '0': /* POP: the top value, or the MARK itself when nothing is above it */
        if (vm->sp > floor_of(vm)) vm->sp--;
        else if (vm->nmarks) vm->nmarks--;
        else return FAIL(vm, err, DIT_ERR_FORMAT, "POP on an empty stack");
        return DIT_OK;
    case '1': /* POP_MARK */
        DIT_TRY(find_mark(vm, &first, err));
        vm->sp = first;
        return DIT_OK;
    case '2': DIT_TRY(top(vm, &a, err)); return push(vm, a, err); /* DUP */
    case 'N': return push(vm, io_pk_new(vm, IO_PK_NONE), err);
    case 0x88: /* NEWTRUE */
    case 0x89: /* NEWFALSE */
        a = io_pk_new(vm, IO_PK_BOOL);
        if (a) a->i = op == 0x88;
        return push(vm, a, err);
    case 'J': /* BININT */
    case 'K': /* BININT1 */
    case 'M': { /* BININT2 */
        int n = op == 'J' ? 4 : op == 'K' ? 1 : 2;
        DIT_TRY(need(vm, (size_t)n, err));
        uint64_t v = rd_le(vm, n);
        a = io_pk_new(vm, IO_PK_INT);
        if (a) a->i = op == 'J' ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
        return push(vm, a, err);
    }
    case 0x8a: { /* LONG1 */
        DIT_TRY(need(vm, 1, err));
        int n = vm->buf[vm->pos++];
        if (n > 8) return FAIL(vm, err, DIT_ERR_UNSUPPORTED, "LONG1 of %d bytes does not fit 64 bits", n);
        DIT_TRY(need(vm, (size_t)n, err));
        uint64_t v = n ? rd_le(vm, n) : 0;
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~0ull << (8 * n); /* sign-extend */
        a = io_pk_new(vm, IO_PK_INT);
        if (a) memcpy(&a->i, &v, sizeof v);
        return push(vm, a, err);
    }
    case 'G': { /* BINFLOAT: big-endian double */
        DIT_TRY(need(vm, 8, err));
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) v = (v << 8) | vm->buf[vm->pos++];
        a = io_pk_new(vm, IO_PK_FLOAT);
        if (a) memcpy(&a->f, &v, sizeof v);
        return push(vm, a, err);
    }
    case 'X': /* BINUNICODE */
    case 'T': /* BINSTRING */
    case 'B': /* BINBYTES */
        DIT_TRY(need(vm, 4, err));
        return push_bytes(vm, rd_le(vm, 4), op == 'B' ? IO_PK_BYTES : IO_PK_STR, err);
    case 0x8c: /* SHORT_BINUNICODE */
    case 'U':  /* SHORT_BINSTRING */
    case 'C':  /* SHORT_BINBYTES */
        DIT_TRY(need(vm, 1, err));
        return push_bytes(vm, rd_le(vm, 1), op == 'C' ? IO_PK_BYTES : IO_PK_STR, err);
    case 0x8d: /* BINUNICODE8 */
    case 0x8e: /* BINBYTES8 */
        DIT_TRY(need(vm, 8, err));
        return push_bytes(vm, rd_le(vm, 8), op == 0x8e ? IO_PK_BYTES : IO_PK_STR, err);
    case ')': return push(vm, io_pk_new(vm, IO_PK_TUPLE), err);
    case ']': return push(vm, io_pk_new(vm, IO_PK_LIST), err);
    case '}': return push(vm, io_pk_new(vm, IO_PK_DICT), err);
    case 't': /* TUPLE */
    case 'l': /* LIST */
    case 'd': /* DICT */
        DIT_TRY(find_mark(vm, &first, err));
        if (op == 'd' && (vm->sp - first) % 2)
            return FAIL(vm, err, DIT_ERR_FORMAT, "DICT with an odd number (%lld) of keys and values",
                        (long long)(vm->sp - first));
        a = seq_from(vm, op == 't' ? IO_PK_TUPLE : op == 'l' ? IO_PK_LIST : IO_PK_DICT, vm->stack + first,
                     vm->sp - first);
        vm->sp = first;
        return push(vm, a, err);
    case 0x85: /* TUPLE1..3 */
    case 0x86:
    case 0x87: {
        int n = op - 0x84;
        io_pk_obj *it[3] = {NULL, NULL, NULL};
        for (int i = n - 1; i >= 0; i--) DIT_TRY(pop(vm, &it[i], err));
        return push(vm, seq_from(vm, IO_PK_TUPLE, it, n), err);
    }
    case 'a': /* APPEND */
        DIT_TRY(pop(vm, &b, err));
        DIT_TRY(top(vm, &a, err));
        if (a->type != IO_PK_LIST) return FAIL(vm, err, DIT_ERR_FORMAT, "APPEND to a %s, not a list", io_pk_type_name(a->type));
        return append(vm, a, b, err);
    case 'e': /* APPENDS */
        DIT_TRY(find_mark(vm, &first, err));
        if (first <= floor_of(vm) || vm->stack[first - 1]->type != IO_PK_LIST)
            return FAIL(vm, err, DIT_ERR_FORMAT, "APPENDS without a list below its MARK");
        for (int64_t k = first; k < vm->sp; k++) DIT_TRY(append(vm, vm->stack[first - 1], vm->stack[k], err));
        vm->sp = first;
        return DIT_OK;
    case 's': /* SETITEM */
        DIT_TRY(pop(vm, &c, err));
        DIT_TRY(pop(vm, &b, err));
        DIT_TRY(top(vm, &a, err));
        if (a->type != IO_PK_DICT) return FAIL(vm, err, DIT_ERR_FORMAT, "SETITEM on a %s, not a dict", io_pk_type_name(a->type));
        DIT_TRY(append(vm, a, b, err));
        return append(vm, a, c, err);
    case 'u': /* SETITEMS */
        DIT_TRY(find_mark(vm, &first, err));
        if (first <= floor_of(vm) || vm->stack[first - 1]->type != IO_PK_DICT)
            return FAIL(vm, err, DIT_ERR_FORMAT, "SETITEMS without a dict below its MARK");
        if ((vm->sp - first) % 2)
            return FAIL(vm, err, DIT_ERR_FORMAT, "SETITEMS with an odd number (%lld) of keys and values",
                        (long long)(vm->sp - first));
        a = vm->stack[first - 1];
        for (int64_t k = first; k < vm->sp; k++) DIT_TRY(append(vm, a, vm->stack[k], err));
        vm->sp = first;
        return DIT_OK;
    case 'q': DIT_TRY(need(vm, 1, err)); return memo_put(vm, rd_le(vm, 1), err); /* BINPUT */
    case 'r': DIT_TRY(need(vm, 4, err)); return memo_put(vm, rd_le(vm, 4), err); /* LONG_BINPUT */
    case 0x94: return memo_put(vm, (uint64_t)vm->nset, err);                     /* MEMOIZE */
    case 'h': DIT_TRY(need(vm, 1, err)); return memo_get(vm, rd_le(vm, 1), err); /* BINGET */
    case 'j': DIT_TRY(need(vm, 4, err)); return memo_get(vm, rd_le(vm, 4), err); /* LONG_BINGET */
    case 'c': { /* GLOBAL "module\nname\n" */
        char mod[256], name[256];
        DIT_TRY(read_line(vm, mod, sizeof mod, err));
        DIT_TRY(read_line(vm, name, sizeof name, err));
        return make_global(vm, mod, name, err);
    }
    case 0x93: /* STACK_GLOBAL */
        DIT_TRY(pop(vm, &b, err));
        DIT_TRY(pop(vm, &a, err));
        if (a->type != IO_PK_STR || b->type != IO_PK_STR || strlen(a->s) != a->len || strlen(b->s) != b->len)
            return FAIL(vm, err, DIT_ERR_FORMAT, "STACK_GLOBAL needs two strings, got %s and %s",
                        io_pk_type_name(a->type), io_pk_type_name(b->type));
        return make_global(vm, a->s, b->s, err);
    case 'R': { /* REDUCE */
        DIT_TRY(pop(vm, &b, err));
        DIT_TRY(pop(vm, &a, err));
        if (a->type != IO_PK_GLOBAL || b->type != IO_PK_TUPLE)
            return FAIL(vm, err, DIT_ERR_FORMAT, "REDUCE needs a global and a tuple, got %s and %s",
                        io_pk_type_name(a->type), io_pk_type_name(b->type));
        if (!vm->hooks->reduce) return FAIL(vm, err, DIT_ERR_UNSUPPORTED, "calling '%s' is not allowed", a->s);
        io_pk_obj *r = NULL;
        dit_status s = vm->hooks->reduce(vm->hooks->ctx, vm, a, b, &r, err);
        if (s != DIT_OK) return s;
        return push(vm, r, err);
    }
    case 'b': /* BUILD: instance state; kept for nothing (e.g. a state dict's _metadata) */
        DIT_TRY(pop(vm, &b, err));
        DIT_TRY(top(vm, &a, err));
        if (a->type != IO_PK_DICT && a->type != IO_PK_EXT)
            return FAIL(vm, err, DIT_ERR_UNSUPPORTED, "BUILD (set state) on a %s", io_pk_type_name(a->type));
        return DIT_OK;
    case 'Q': { /* BINPERSID */
        DIT_TRY(pop(vm, &a, err));
        if (!vm->hooks->persistent_load) return FAIL(vm, err, DIT_ERR_UNSUPPORTED, "persistent ids are not allowed");
        io_pk_obj *r = NULL;
        dit_status s = vm->hooks->persistent_load(vm->hooks->ctx, vm, a, &r, err);
        if (s != DIT_OK) return s;
        return push(vm, r, err);
    }
    default:
        return FAIL(vm, err, DIT_ERR_UNSUPPORTED, "unknown or unsupported pickle opcode 0x%02x ('%c')", op,
                    op >= 0x20 && op < 0x7f ? op : '?');
    }
}

dit_status io_pk_load(const uint8_t *buf, size_t len, const char *label, const io_pk_hooks *hooks, io_pk_vm **pvm,
                      io_pk_obj **root, dit_err *err) {
    *root = NULL;
    io_pk_vm *vm = calloc(1, sizeof *vm);
    *pvm = vm;
    if (!vm) return DIT_FAIL(err, DIT_ERR_OOM, "%s: pickle machine", label);
    vm->buf = buf;
    vm->len = len;
    vm->label = label;
    vm->hooks = hooks;
    int done = 0;
    while (!done) {
        if (vm->pos >= vm->len) {
            vm->op_pos = vm->pos;
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: pickle ends after %zu bytes without STOP (truncated?)", label, len);
        }
        DIT_TRY(step(vm, root, &done, err));
    }
    return DIT_OK;
}
