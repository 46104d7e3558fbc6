/* image.c — PNG write (stb_image_write, temp + rename) and read (stb_image).
 * Debian's libstb ships the compiled implementations (libstb.so), so no
 * STB_*_IMPLEMENTATION is defined here.  Checked by tests/test_video.c. */
#include "image.h"

#include <errno.h>                 /* errno */
#include <unistd.h>                /* close */
#include <stdio.h>                 /* fopen, fwrite, snprintf */
#include <stdlib.h>                /* malloc, free */
#include <string.h>                /* memcpy, strerror */
#include <stb/stb_image.h>         /* stbi_load, stbi_failure_reason */
#include <stb/stb_image_write.h>   /* stbi_write_png_to_func */

#include "atomic_file.h" /* io_tmp_create, io_tmp_commit */
#include "json_file.h"   /* io_open_regular */

typedef struct png_sink {
    FILE *f;
    int failed, err_no;
} png_sink;

static void sink_write(void *ctx, void *data, int size) {
    png_sink *s = ctx;
    if (s->failed || size <= 0) return;
    if (fwrite(data, 1, (size_t)size, s->f) != (size_t)size) s->failed = 1, s->err_no = errno;
}

dit_status io_image_write_png(const char *path, const uint8_t *rgb, int width, int height, dit_err *err) {
    if (width <= 0 || height <= 0 || width > IO_IMAGE_MAX_DIM || height > IO_IMAGE_MAX_DIM)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: image size %dx%d outside 1..%d", path, width, height,
                        IO_IMAGE_MAX_DIM);
    char tmp[4096];
    DIT_TRY(io_tmp_create(path, tmp, sizeof tmp, err));
    png_sink s = {fopen(tmp, "wb"), 0, 0};
    if (!s.f) {
        int e = errno;
        io_tmp_discard(tmp);
        return DIT_FAIL(err, DIT_ERR_IO, "%s: cannot open temporary file %s: %s", path, tmp, strerror(e));
    }
    int ok = stbi_write_png_to_func(sink_write, &s, width, height, 3, rgb, width * 3);
    int closed = fclose(s.f);
    if (!ok || s.failed || closed != 0) {
        int e = s.failed ? s.err_no : errno;
        io_tmp_discard(tmp);
        if (!ok) return DIT_FAIL(err, DIT_ERR_OOM, "%s: PNG encoding of %dx%d failed (out of memory)", path, width, height);
        return DIT_FAIL(err, DIT_ERR_IO, "%s: writing the PNG failed: %s", path, strerror(e));
    }
    return io_tmp_commit(tmp, path, err);
}

dit_status io_image_seq_path(const char *prefix, int64_t index, char *buf, size_t cap, dit_err *err) {
    int n = snprintf(buf, cap, "%s_%05lld.png", prefix, (long long)index);
    if (n < 0 || (size_t)n >= cap)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: PNG sequence path too long (%d bytes)", prefix, n);
    return DIT_OK;
}

dit_status io_image_write_seq(const char *prefix, int64_t index, const uint8_t *rgb, int width, int height,
                              dit_err *err) {
    char path[4096];
    DIT_TRY(io_image_seq_path(prefix, index, path, sizeof path, err));
    return io_image_write_png(path, rgb, width, height, err);
}

dit_status io_image_read_png(const char *path, uint8_t **rgb, int *width, int *height, dit_err *err) {
    *rgb = NULL;
    int fd = io_open_regular(path, err); /* a FIFO is refused without blocking on it */
    if (fd < 0) return err->code;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return DIT_FAIL(err, DIT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    int w = 0, h = 0, comp = 0;
    unsigned char *px = stbi_load_from_file(f, &w, &h, &comp, 3);
    fclose(f);
    if (!px) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: not a readable image: %s", path, stbi_failure_reason());
    size_t n = (size_t)w * (size_t)h * 3;
    *rgb = malloc(n ? n : 1);
    if (!*rgb) {
        stbi_image_free(px);
        return DIT_FAIL(err, DIT_ERR_OOM, "%s: %dx%d image", path, w, h);
    }
    memcpy(*rgb, px, n);
    stbi_image_free(px);
    *width = w;
    *height = h;
    return DIT_OK;
}
