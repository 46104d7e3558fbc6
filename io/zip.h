/* zip.h — a read-only, validating zip central-directory reader over a memory image.
 *
 * Enough of PKWARE's APPNOTE for torch.save archives: end-of-central-directory
 * record (with comment), the zip64 end record + locator and the zip64 extra
 * field (sizes and offsets above 4 GiB), central entries cross-checked against
 * their local headers.  Entry data is handed out in place only for STORED
 * (method 0) entries; any other method, encryption or a multi-disk archive is
 * refused with a message naming the entry.  CRC-32s are not verified (that would
 * read a whole 11 GB checkpoint at open); every offset and size is bounds-checked
 * against the image instead.  Checked by tests/test_pth.c and tools/fuzz_pth.c.
 */
#ifndef SPADIT_ZIP_H
#define SPADIT_ZIP_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t, uint64_t */

#include "../dit/status.h" /* dit_status, dit_err */

typedef struct io_zip_entry {
    char *name;        /* NUL-terminated copy of the entry name */
    uint16_t method;   /* 0 = stored, 8 = deflate, ... */
    uint16_t flags;    /* general purpose bits (bit 0 = encrypted) */
    uint64_t csize;    /* compressed size (bytes in the archive) */
    uint64_t usize;    /* uncompressed size */
    uint64_t data_off; /* offset of the entry's data in the image */
} io_zip_entry;

typedef struct io_zip {
    const uint8_t *buf; /* the whole archive (not owned) */
    size_t len;
    int64_t n;
    io_zip_entry *entries; /* sorted by name */
} io_zip;

/* Parse and validate the central directory of `buf`; `label` names the file in
 * errors.  On failure z holds nothing to free. */
dit_status io_zip_parse(const uint8_t *buf, size_t len, const char *label, io_zip *z, dit_err *err);
void io_zip_free(io_zip *z);
/* Entry by exact name, or NULL. */
const io_zip_entry *io_zip_find(const io_zip *z, const char *name);
/* Data of a STORED entry (in place); other methods -> DIT_ERR_UNSUPPORTED naming the entry. */
dit_status io_zip_stored_data(const io_zip *z, const io_zip_entry *e, const char *label, const uint8_t **data,
                              size_t *size, dit_err *err);

#endif
