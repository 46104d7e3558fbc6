/* pickle.h — a small, bounded pickle virtual machine (protocols 2-5) for state dicts.
 *
 * It builds a tree of io_pk_obj (None, bool, int, float, str, bytes, tuple, list,
 * dict, global, and "ext" objects made by the caller) and never imports or calls
 * anything: GLOBAL/STACK_GLOBAL, BINPERSID and REDUCE are handed to caller hooks
 * (io/pth.c supplies the torch ones), which may refuse.  Supported opcodes:
 * PROTO FRAME STOP MARK POP POP_MARK DUP, NONE NEWTRUE NEWFALSE, BININT BININT1
 * BININT2 LONG1 BINFLOAT, BINUNICODE SHORT_BINUNICODE BINUNICODE8 BINSTRING
 * SHORT_BINSTRING BINBYTES SHORT_BINBYTES BINBYTES8, EMPTY_TUPLE TUPLE TUPLE1-3,
 * EMPTY_LIST LIST APPEND APPENDS, EMPTY_DICT DICT SETITEM SETITEMS, BINPUT
 * LONG_BINPUT BINGET LONG_BINGET MEMOIZE, GLOBAL STACK_GLOBAL, REDUCE BUILD,
 * BINPERSID.  Anything else is an error naming the opcode and its offset.
 *
 * Safety: every read is bounds-checked, memo indices are bounded by the input
 * length, MARKs live on their own stack (pop-to-mark is O(1), as in CPython),
 * objects live in one per-VM list freed together (cycles are harmless), and
 * nothing recurses while loading: time and memory are linear in the input.  Checked by tests/test_pth.c and
 * tools/fuzz_pth.c.
 */
#ifndef SPADIT_PICKLE_H
#define SPADIT_PICKLE_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t, uint8_t */

#include "../dit/status.h" /* dit_status, dit_err */

typedef enum io_pk_type {
    IO_PK_NONE = 0, IO_PK_BOOL, IO_PK_INT, IO_PK_FLOAT, IO_PK_STR, IO_PK_BYTES, IO_PK_TUPLE, IO_PK_LIST,
    IO_PK_DICT, IO_PK_GLOBAL, IO_PK_EXT
} io_pk_type;

typedef struct io_pk_obj io_pk_obj;
struct io_pk_obj {
    io_pk_type type;
    int64_t i;          /* INT, BOOL; GLOBAL: the kind the find_class hook chose */
    double f;           /* FLOAT */
    char *s;            /* STR/BYTES (NUL-terminated copy); GLOBAL: "module.name" */
    size_t len;         /* bytes in s */
    io_pk_obj **items;  /* TUPLE/LIST: n items; DICT: keys and values alternating (n even) */
    int64_t n, cap;
    void *ext;          /* EXT: the hook's payload (not owned); EXT's i is the hook's tag */
};

typedef struct io_pk_vm io_pk_vm;

typedef struct io_pk_hooks {
    void *ctx;
    /* GLOBAL module.name -> a kind >= 0 stored in the GLOBAL object, or an error. */
    dit_status (*find_class)(void *ctx, const char *module, const char *name, int64_t *kind, dit_err *err);
    /* BINPERSID: turn the persistent id into an object (made with io_pk_new). */
    dit_status (*persistent_load)(void *ctx, io_pk_vm *vm, const io_pk_obj *pid, io_pk_obj **out, dit_err *err);
    /* REDUCE: callable(*args) for a GLOBAL callable; args is a TUPLE. */
    dit_status (*reduce)(void *ctx, io_pk_vm *vm, const io_pk_obj *callable, const io_pk_obj *args,
                         io_pk_obj **out, dit_err *err);
} io_pk_hooks;

/* Run the pickle in buf[0, len); `label` names it in errors.  *root is the
 * unpickled object, valid until io_pk_vm_free. */
dit_status io_pk_load(const uint8_t *buf, size_t len, const char *label, const io_pk_hooks *hooks, io_pk_vm **vm,
                      io_pk_obj **root, dit_err *err);
void io_pk_vm_free(io_pk_vm **vm);
/* A new object owned by the VM (NULL when out of memory). */
io_pk_obj *io_pk_new(io_pk_vm *vm, io_pk_type type);
/* Byte offset of the opcode being executed (for hook messages). */
size_t io_pk_offset(const io_pk_vm *vm);
const char *io_pk_type_name(io_pk_type t);

#endif
