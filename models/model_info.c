/* model_info.c — `spadit info`: what a model folder holds (see model_info.h). */
#include "model_info.h"

#include <string.h> /* strcmp */

#include "../io/json_file.h"   /* io_json_load */
#include "../io/weights.h"     /* io_weights */
#include "wan/wan_dit.h"       /* wan_dit_locate, wan_config */
#include "wan/wan_variant.h"   /* wan_variant_*, wan_config_infer */

static void print_weights_summary(const io_weights *w, FILE *out) {
    int64_t count[IO_ST_DTYPE_COUNT] = {0}, elems[IO_ST_DTYPE_COUNT] = {0}, total = 0;
    for (int i = 0; i < io_weights_count(w); i++) {
        const io_st_tensor *t = io_weights_at(w, i);
        count[t->dtype]++;
        elems[t->dtype] += io_st_tensor_numel(t);
        total += io_st_tensor_numel(t);
    }
    fprintf(out, "tensors:     %d in %d file(s)\n", io_weights_count(w), io_weights_nfiles(w));
    fprintf(out, "parameters:  %lld (%.3f B) in the checkpoint\n", (long long)total, (double)total / 1e9);
    fprintf(out, "dtypes:     ");
    for (int d = 0; d < IO_ST_DTYPE_COUNT; d++)
        if (count[d])
            fprintf(out, " %s x%lld (%.1f MiB)", io_st_dtype_name((io_st_dtype)d), (long long)count[d],
                    (double)elems[d] * (double)io_st_dtype_size((io_st_dtype)d) / (1 << 20));
    fprintf(out, "\non disk:     %.1f MiB\n", (double)io_weights_file_bytes(w) / (1 << 20));
    for (int i = 0; i < io_weights_nfiles(w) && i < 8; i++) fprintf(out, "  file:      %s\n", io_weights_file(w, i));
}

static dit_status info_wan(const char *path, const char *cfg_path, const char *wpath, const cJSON *cj, FILE *out,
                           dit_err *err) {
    wan_config c;
    if (cj) DIT_TRY(wan_config_from_json(cj, cfg_path, &c, err));
    io_weights *w;
    DIT_TRY(io_weights_open(wpath, "diffusion_pytorch_model", &w, err));
    if (!cj && wan_config_infer(w, wpath, &c, err) != DIT_OK) {
        io_weights_close(&w);
        return dit_err_wrap(err, "%s: no config.json beside the weights file", wpath);
    }
    const char *layout = io_weights_find(w, "blocks.0.self_attn.q.weight") ||
                                 io_weights_find(w, "blocks.0.self_attn.q.int8_weight")
                             ? "original (blocks.N.self_attn.q ...)"
                         : io_weights_find(w, "blocks.0.attn1.to_q.weight") ? "diffusers (blocks.N.attn1.to_q ...)"
                                                                             : "unknown (no Wan block keys found)";
    wan_variant var = wan_variant_detect(w);
    int sla = var != WAN_VARIANT_DENSE;
    fprintf(out, "path:        %s\n", path);
    fprintf(out, "family:      Wan2.1 DiT (%s)\n", c.model_type);
    fprintf(out, "layout:      %s\n", layout);
    fprintf(out, "variant:     %s\n", wan_variant_name(var));
    fprintf(out, "config:      %s\n", cj ? cfg_path : "inferred from the tensor shapes (no config.json beside the file)");
    fprintf(out, "             dim %d, ffn %d, heads %d x %d, layers %d, patch %dx%dx%d, in/out %d/%d, text_dim %d, "
                 "freq_dim %d, eps %g, qk_norm %d, cross_attn_norm %d\n",
            c.dim, c.ffn_dim, c.heads, c.head_dim, c.layers, c.patch[0], c.patch[1], c.patch[2], c.in_dim, c.out_dim,
            c.text_dim, c.freq_dim, (double)c.eps, c.qk_norm, c.cross_attn_norm);
    fprintf(out, "expected:    %lld parameters from the config\n", (long long)wan_config_param_count(&c));
    print_weights_summary(w, out);
    fprintf(out, "sla proj_l:  %s\n", sla ? "yes (SLA fine-tuned)" : "no");
    io_weights_close(&w);
    return DIT_OK;
}

dit_status model_info_print(const char *path, FILE *out, dit_err *err) {
    char cfg_path[8192], wpath[8192];
    DIT_TRY(wan_dit_locate(path, cfg_path, sizeof cfg_path, wpath, sizeof wpath, err));
    if (!cfg_path[0]) return info_wan(path, cfg_path, wpath, NULL, out, err); /* a lone file (TurboWan .pth) */
    cJSON *cj;
    DIT_TRY(io_json_load(cfg_path, &cj, err));
    const char *cls = io_json_str(cj, "_class_name", "");
    dit_status s;
    if (!strcmp(cls, "WanModel") || !strcmp(cls, "WanTransformer3DModel") ||
        cJSON_GetObjectItemCaseSensitive(cj, "num_heads") ||
        cJSON_GetObjectItemCaseSensitive(cj, "num_attention_heads"))
        s = info_wan(path, cfg_path, wpath, cj, out, err);
    else
        s = DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: unknown model family (_class_name '%s')", cfg_path, cls);
    cJSON_Delete(cj);
    return s;
}
