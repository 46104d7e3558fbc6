/* weights.c — checkpoint = set of safetensors / torch.save files with a hashed name index.
 * Checked by tests/test_safetensors.c (sharded index, missing shard, key in the
 * wrong shard), tests/test_pth.c (.pth files and folders) and by the Wan loaders. */
#include "weights.h"

#include <dirent.h>   /* opendir */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* calloc */
#include <string.h>   /* strcmp */

#include "json_file.h" /* io_json_load, io_path_is_dir */
#include "pth.h"       /* io_pth_open */

typedef struct entry {
    const io_st_tensor *t;
    int file;
} entry;

/* One weight file of either format. */
typedef struct wfile {
    const char *path; /* owned by st or pth */
    io_safetensors *st;
    io_pth *pth;
    const io_st_tensor *tensors;
    int n;
    size_t bytes;
} wfile;

struct io_weights {
    wfile *files;
    int nfiles;
    entry *table; /* open addressing, capacity power of two */
    size_t cap;
    int count;
    const io_st_tensor **order; /* insertion order for listing */
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void io_weights_close(io_weights **pw) {
    if (!pw || !*pw) return;
    io_weights *w = *pw;
    for (int i = 0; i < w->nfiles; i++) {
        io_safetensors_close(&w->files[i].st);
        io_pth_close(&w->files[i].pth);
    }
    free(w->files);
    free(w->table);
    free(w->order);
    free(w);
    *pw = NULL;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* torch.save archives by extension; everything else is read as safetensors. */
static int is_torch_file(const char *path) {
    return ends_with(path, ".pth") || ends_with(path, ".pt") || ends_with(path, ".ckpt") || ends_with(path, ".bin");
}

static dit_status add_file(io_weights *w, const char *path, dit_err *err) {
    wfile f = {0};
    if (is_torch_file(path)) {
        DIT_TRY(io_pth_open(path, &f.pth, err));
        f.path = f.pth->path, f.tensors = f.pth->tensors, f.n = f.pth->n, f.bytes = f.pth->map_size;
    } else {
        DIT_TRY(io_safetensors_open(path, &f.st, err));
        f.path = f.st->path, f.tensors = f.st->tensors, f.n = f.st->n, f.bytes = f.st->map_size;
    }
    wfile *nf = realloc(w->files, (size_t)(w->nfiles + 1) * sizeof *nf);
    if (!nf) {
        io_safetensors_close(&f.st);
        io_pth_close(&f.pth);
        return DIT_FAIL(err, DIT_ERR_OOM, "weights: file list");
    }
    w->files = nf;
    w->files[w->nfiles++] = f;
    return DIT_OK;
}

static const io_st_tensor *file_find(const wfile *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

static dit_status build_index(io_weights *w, dit_err *err) {
    int total = 0;
    for (int i = 0; i < w->nfiles; i++) total += w->files[i].n;
    size_t cap = 16;
    while (cap < (size_t)total * 2) cap <<= 1;
    w->table = calloc(cap, sizeof *w->table);
    w->order = calloc((size_t)(total ? total : 1), sizeof *w->order);
    if (!w->table || !w->order) return DIT_FAIL(err, DIT_ERR_OOM, "weights: index of %d tensors", total);
    w->cap = cap;
    for (int f = 0; f < w->nfiles; f++)
        for (int i = 0; i < w->files[f].n; i++) {
            const io_st_tensor *t = &w->files[f].tensors[i];
            size_t h = (size_t)hash_str(t->name) & (cap - 1);
            while (w->table[h].t) {
                if (!strcmp(w->table[h].t->name, t->name))
                    return DIT_FAIL(err, DIT_ERR_FORMAT, "tensor '%s' is in both %s and %s", t->name,
                                    w->files[w->table[h].file].path, w->files[f].path);
                h = (h + 1) & (cap - 1);
            }
            w->table[h].t = t;
            w->table[h].file = f;
            w->order[w->count++] = t;
        }
    return DIT_OK;
}

const io_st_tensor *io_weights_find(const io_weights *w, const char *name) {
    if (!w->cap) return NULL;
    size_t h = (size_t)hash_str(name) & (w->cap - 1);
    while (w->table[h].t) {
        if (!strcmp(w->table[h].t->name, name)) return w->table[h].t;
        h = (h + 1) & (w->cap - 1);
    }
    return NULL;
}

const char *io_weights_file_of(const io_weights *w, const io_st_tensor *t) {
    for (int f = 0; f < w->nfiles; f++)
        if (t >= w->files[f].tensors && t < w->files[f].tensors + w->files[f].n) return w->files[f].path;
    return "?";
}

int io_weights_count(const io_weights *w) { return w->count; }
const io_st_tensor *io_weights_at(const io_weights *w, int i) { return w->order[i]; }
int io_weights_nfiles(const io_weights *w) { return w->nfiles; }
const char *io_weights_file(const io_weights *w, int i) { return w->files[i].path; }
size_t io_weights_file_bytes(const io_weights *w) {
    size_t b = 0;
    for (int i = 0; i < w->nfiles; i++) b += w->files[i].bytes;
    return b;
}

dit_status io_weights_read_f32(const io_weights *w, const char *name, float *dst, int64_t n, dit_err *err) {
    const io_st_tensor *t = io_weights_find(w, name);
    if (!t) return DIT_FAIL(err, DIT_ERR_MISSING, "tensor '%s' not found in the checkpoint", name);
    return io_st_tensor_to_f32(t, dst, n, io_weights_file_of(w, t), err);
}

/* Sharded checkpoint through its index: open each distinct shard once and check
 * that every key sits in the shard the index names. */
static dit_status open_index(io_weights *w, const char *index_path, dit_err *err) {
    cJSON *j;
    DIT_TRY(io_json_load(index_path, &j, err));
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(j, "weight_map");
    if (!cJSON_IsObject(map)) {
        cJSON_Delete(j);
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: no 'weight_map' object", index_path);
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", index_path);
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0;
    else dir[0] = 0;
    dit_status s = DIT_OK;
    for (const cJSON *e = map->child; e && s == DIT_OK; e = e->next) {
        if (!cJSON_IsString(e) || strchr(e->valuestring, '/')) {
            s = DIT_FAIL(err, DIT_ERR_FORMAT, "%s: weight_map entry '%s' must name a shard file in the same folder",
                         index_path, e->string ? e->string : "?");
            break;
        }
        char p[8192];
        snprintf(p, sizeof p, "%s%s", dir, e->valuestring);
        int have = 0;
        for (int f = 0; f < w->nfiles; f++)
            if (!strcmp(w->files[f].path, p)) have = 1;
        if (!have) {
            s = add_file(w, p, err);
            if (s != DIT_OK) dit_err_wrap(err, "%s names shard '%s'", index_path, e->valuestring);
        }
    }
    for (const cJSON *e = map->child; e && s == DIT_OK; e = e->next) {
        char p[8192];
        snprintf(p, sizeof p, "%s%s", dir, e->valuestring);
        int found = 0;
        for (int f = 0; f < w->nfiles && !found; f++)
            if (!strcmp(w->files[f].path, p) && file_find(&w->files[f], e->string)) found = 1;
        if (!found)
            s = DIT_FAIL(err, DIT_ERR_MISSING, "%s: tensor '%s' is mapped to %s but that shard does not hold it",
                         index_path, e->string, e->valuestring);
    }
    cJSON_Delete(j);
    return s;
}

dit_status io_weights_open(const char *path, const char *stem, io_weights **out, dit_err *err) {
    *out = NULL;
    io_weights *w = calloc(1, sizeof *w);
    if (!w) return DIT_FAIL(err, DIT_ERR_OOM, "weights");
    dit_status s = DIT_OK;
    if (io_path_is_dir(path)) {
        char p[8192];
        snprintf(p, sizeof p, "%s/%s.safetensors.index.json", path, stem ? stem : "model");
        if (stem && io_path_exists(p)) {
            s = open_index(w, p, err);
        } else {
            snprintf(p, sizeof p, "%s/%s.safetensors", path, stem ? stem : "model");
            char q[8192];
            snprintf(q, sizeof q, "%s/%s.pth", path, stem ? stem : "model");
            if (stem && io_path_exists(p)) {
                s = add_file(w, p, err);
            } else if (stem && io_path_exists(q)) {
                s = add_file(w, q, err);
            } else {
                /* the only weight file (.safetensors or .pth) of the folder */
                DIR *d = opendir(path);
                char found[8192] = {0};
                int n = 0;
                struct dirent *de;
                while (d && (de = readdir(d))) {
                    if (ends_with(de->d_name, ".safetensors") || ends_with(de->d_name, ".pth")) {
                        n++;
                        snprintf(found, sizeof found, "%s/%s", path, de->d_name);
                    }
                }
                if (d) closedir(d);
                if (n == 1) s = add_file(w, found, err);
                else if (n == 0)
                    s = DIT_FAIL(err, DIT_ERR_MISSING,
                                 "%s: no %s%s.safetensors[.index.json] or .pth, and no .safetensors or .pth file", path,
                                 stem ? stem : "", stem ? "" : "model");
                else
                    s = DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                                 "%s: %d .safetensors/.pth files and no %s.safetensors.index.json to say which belong "
                                 "together (name one file, or pass its stem)",
                                 path, n, stem ? stem : "model");
            }
        }
    } else if (ends_with(path, ".json")) {
        s = open_index(w, path, err);
    } else if (io_path_exists(path)) {
        s = add_file(w, path, err);
    } else {
        s = DIT_FAIL(err, DIT_ERR_MISSING, "%s: no such file or directory", path);
    }
    if (s == DIT_OK) s = build_index(w, err);
    if (s != DIT_OK) {
        io_weights_close(&w);
        return s;
    }
    *out = w;
    return DIT_OK;
}
