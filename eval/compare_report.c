/* compare_report.c — the A/B results as JSON (for machines) and as one
 * self-contained HTML page (for people): summary table, inline SVG plots of
 * per-frame PSNR / SSIM, latent error per step and attention error per layer
 * and step (report_svg.h), and each side-by-side video embedded as a data URI.
 * The page reads at 800 px: the table scrolls inside its box, charts scale
 * down, small videos are scaled up past their controls. */
#include <cjson/cJSON.h> /* cJSON */
#include <math.h>        /* isfinite */
#include <stdio.h>       /* fopen */
#include <stdlib.h>      /* malloc */
#include <string.h>      /* strlen */

#include "../io/atomic_file.h" /* io_tmp_create, io_tmp_commit */
#include "../io/report_html.h" /* io_sbuf */
#include "compare.h"
#include "report_svg.h"

dit_status ev_compare_write_reports(const ev_compare_opts *o, ev_compare_result *res, dit_err *err);

static cJSON *num_array(const double *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull());
    return a;
}

static dit_status write_json(const ev_compare_opts *o, ev_compare_result *res, dit_err *err) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "prompt", o->prompt);
    cJSON_AddStringToObject(j, "negative_prompt", o->negative ? o->negative : "");
    cJSON_AddStringToObject(j, "model", o->model_label ? o->model_label : "");
    cJSON_AddNumberToObject(j, "seed", (double)o->seed);
    cJSON_AddNumberToObject(j, "steps", o->steps);
    cJSON_AddNumberToObject(j, "shift", o->shift);
    cJSON_AddNumberToObject(j, "guidance", o->guidance);
    cJSON_AddStringToObject(j, "sampler", smp_solver_name(o->solver));
    cJSON_AddNumberToObject(j, "width", o->width);
    cJSON_AddNumberToObject(j, "height", o->height);
    cJSON_AddNumberToObject(j, "frames", o->frames);
    cJSON *ms = cJSON_AddArrayToObject(j, "methods");
    for (int i = 0; i < res->n; i++) {
        const ev_method_result *r = &res->results[i];
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "label", r->label);
        cJSON_AddNumberToObject(m, "mean_sparsity", r->mean_sparsity);
        cJSON_AddItemToObject(m, "psnr_mean", isfinite(r->psnr_mean) ? cJSON_CreateNumber(r->psnr_mean) : cJSON_CreateNull());
        cJSON_AddItemToObject(m, "psnr_worst", isfinite(r->psnr_worst) ? cJSON_CreateNumber(r->psnr_worst) : cJSON_CreateNull());
        cJSON_AddNumberToObject(m, "worst_frame", r->worst_frame);
        cJSON_AddNumberToObject(m, "ssim_mean", r->ssim_mean);
        cJSON_AddNumberToObject(m, "ssim_worst", r->ssim_worst);
        cJSON_AddItemToObject(m, "psnr_per_frame", num_array(r->psnr, r->frames));
        cJSON_AddItemToObject(m, "ssim_per_frame", num_array(r->ssim, r->frames));
        cJSON_AddItemToObject(m, "latent_rel_error_per_step", num_array(r->latent_err, r->steps));
        if (r->attn_err && r->layers) {
            cJSON *ae = cJSON_AddArrayToObject(m, "attention_rel_error");
            for (int c = 0; c < r->shadow_calls; c++)
                cJSON_AddItemToArray(ae, num_array(r->attn_err + (size_t)c * r->layers, r->layers));
        }
        if (r->adherence >= 0) cJSON_AddNumberToObject(m, "caption_adherence", r->adherence);
        cJSON_AddNumberToObject(m, "seconds_total", r->ms_total / 1e3);
        cJSON_AddNumberToObject(m, "seconds_denoise", r->ms_denoise / 1e3);
        cJSON_AddNumberToObject(m, "seconds_attention", r->ms_attention / 1e3);
        cJSON_AddStringToObject(m, "video_lossless", r->video_lossless);
        cJSON_AddStringToObject(m, "video_mp4", r->video_mp4);
        cJSON_AddStringToObject(m, "side_by_side", r->side_by_side);
        cJSON_AddItemToArray(ms, m);
    }
    char *txt = cJSON_Print(j);
    cJSON_Delete(j);
    snprintf(res->json_path, sizeof res->json_path, "%s/report.json", o->out_dir);
    dit_status s = txt ? io_write_file_atomic(res->json_path, txt, strlen(txt), err) : DIT_FAIL(err, DIT_ERR_OOM, "report JSON");
    free(txt);
    return s;
}

static dit_status write_html(const ev_compare_opts *o, ev_compare_result *res, dit_err *err) {
    io_sbuf b = {0};
    io_sbuf_printf(&b, "<!DOCTYPE html><html><head><meta charset='utf-8'><title>spadit A/B: ");
    io_sbuf_html(&b, o->prompt);
    io_sbuf_printf(&b, "</title><meta name='viewport' content='width=device-width,initial-scale=1'>"
                       "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
                       ".tablewrap{max-width:100%%;overflow-x:auto}table{border-collapse:collapse;font-size:85%%}"
                       "td,th{border:1px solid #ccc;padding:3px 5px;text-align:right}td{white-space:nowrap}"
                       "td small{color:#666}"
                       "th{background:#f4f4f4}td:first-child{text-align:left;white-space:normal;overflow-wrap:anywhere;min-width:6em}"
                       "figure{margin:1em 0}figcaption{font-weight:bold;margin-bottom:.3em}"
                       "svg{max-width:100%%;height:auto}"
                       /* small videos (the tiny model's 3 x 192 px) are scaled up so the controls do not cover
                        * them; large ones are scaled down to the page */
                       "video.sbs{display:block;width:100%%;min-height:180px;max-height:80vh;object-fit:contain;"
                       "background:#111;image-rendering:pixelated;border:1px solid #ccc}"
                       ".note{color:#666;font-size:90%%}</style></head><body>");
    io_sbuf_printf(&b, "<h1>Sparse vs dense attention</h1><p><b>Prompt:</b> ");
    io_sbuf_html(&b, o->prompt);
    io_sbuf_printf(&b, "<br><b>Model:</b> ");
    io_sbuf_html(&b, o->model_label ? o->model_label : "");
    io_sbuf_printf(&b, "<br><b>Run:</b> %dx%d, %d frames, %d steps (%s, shift %g, guidance %g), seed %llu. Every method "
                       "starts from the same noise and text embeddings; frames are compared before lossy encoding.</p>",
                   o->width, o->height, o->frames, o->steps, smp_solver_name(o->solver), o->shift, o->guidance,
                   (unsigned long long)o->seed);
    io_sbuf_printf(&b, "<div class='tablewrap'><table id='summary'><tr><th>method</th><th>sparsity</th><th>PSNR mean (dB)</th><th>PSNR worst</th>"
                       "<th>SSIM mean</th><th>SSIM worst</th><th>final latent rel. error</th><th>caption adherence</th>"
                       "<th>denoise (s)</th><th>attention (s)</th></tr>");
    for (int i = 0; i < res->n; i++) {
        const ev_method_result *r = &res->results[i];
        io_sbuf_printf(&b, "<tr><td>");
        io_sbuf_html(&b, r->label);
        io_sbuf_printf(&b, "</td><td>%.3f</td>", r->mean_sparsity);
        if (isfinite(r->psnr_mean)) io_sbuf_printf(&b, "<td>%.2f</td><td>%.2f<br><small>frame %d</small></td>", r->psnr_mean, r->psnr_worst, r->worst_frame);
        else io_sbuf_printf(&b, "<td>identical</td><td>identical</td>");
        io_sbuf_printf(&b, "<td>%.4f</td><td>%.4f</td><td>%.3g</td>", r->ssim_mean, r->ssim_worst,
                       r->latent_err ? r->latent_err[r->steps - 1] : 0);
        if (r->adherence >= 0) io_sbuf_printf(&b, "<td>%.0f%%</td>", 100 * r->adherence);
        else io_sbuf_printf(&b, "<td class='adherence-na'>n/a</td>");
        io_sbuf_printf(&b, "<td>%.2f</td><td>%.2f</td></tr>", r->ms_denoise / 1e3, r->ms_attention / 1e3);
    }
    io_sbuf_printf(&b, "</table></div>");
    if (!o->adherence)
        io_sbuf_printf(&b, "<p class='note'>Caption adherence: n/a. The checker (models/tiny/adherence.c) scores only "
                           "models of the tiny family trained on its caption language (spadit.json: "
                           "\"caption_checker\": \"tiny\"); on other or random-weight models a score would mean "
                           "nothing.</p>");
    else if (res->n && res->results[0].adherence < 0)
        io_sbuf_printf(&b, "<p class='note'>Caption adherence: n/a. The prompt is outside the tiny model's caption "
                           "language.</p>");
    int nm = res->n - 1;
    if (nm > 0) {
        ev_series *sp = calloc((size_t)nm, sizeof *sp), *ss = calloc((size_t)nm, sizeof *ss);
        ev_series *sl = calloc((size_t)nm, sizeof *sl);
        for (int i = 0; i < nm && sp && ss && sl; i++) {
            const ev_method_result *r = &res->results[i + 1];
            sp[i] = (ev_series){r->label, r->psnr, r->frames};
            ss[i] = (ev_series){r->label, r->ssim, r->frames};
            sl[i] = (ev_series){r->label, r->latent_err, r->steps};
        }
        if (sp && ss && sl) {
            const char *ident = "identical to dense";
            io_sbuf_printf(&b, "<h2>Per-frame quality against dense</h2>");
            ev_svg_lines(&b, &(ev_chart){"PSNR per frame", "frame", "PSNR (dB)", " dB", 0, 0, 100, ident}, sp, nm);
            ev_svg_lines(&b, &(ev_chart){"SSIM per frame", "frame", "SSIM", NULL, 0, 0, 0, ident}, ss, nm);
            io_sbuf_printf(&b, "<h2>Latent divergence</h2>");
            ev_svg_lines(&b,
                         &(ev_chart){"relative error of the latent after each step", "step",
                                     "||x - x_dense|| / ||x_dense||", NULL, 1, 1, 0, ident},
                         sl, nm);
        }
        free(sp), free(ss), free(sl);
        for (int i = 1; i < res->n; i++) {
            const ev_method_result *r = &res->results[i];
            io_sbuf_printf(&b, "<h2>");
            io_sbuf_html(&b, r->label);
            io_sbuf_printf(&b, "</h2>");
            if (r->attn_err && r->layers) {
                ev_svg_heatmap(&b, "attention-output relative error against dense (rows: transformer calls, 2 per step "
                                   "with CFG; columns: layers)",
                               "layer", "call", r->attn_err, r->shadow_calls, r->layers,
                               "dense layer, no error computed");
            }
            if (r->side_by_side[0]) {
                io_sbuf_printf(&b, "<p class='note'>dense | ");
                io_sbuf_html(&b, r->label);
                io_sbuf_printf(&b, " | |difference| x%d</p><video class='sbs' controls loop autoplay muted src='",
                               o->amplify > 0 ? o->amplify : 4);
                dit_status s = io_sbuf_data_uri(&b, r->side_by_side, "video/webm", err);
                if (s != DIT_OK) {
                    io_sbuf_free(&b);
                    return s;
                }
                io_sbuf_printf(&b, "'></video>");
            }
        }
    }
    io_sbuf_printf(&b, "<p class='note'>Generated by spadit compare. Machine-readable results: report.json.</p></body></html>\n");
    if (b.oom) {
        io_sbuf_free(&b);
        return DIT_FAIL(err, DIT_ERR_OOM, "HTML report");
    }
    snprintf(res->html_path, sizeof res->html_path, "%s/report.html", o->out_dir);
    dit_status s = io_write_file_atomic(res->html_path, b.s, b.len, err);
    io_sbuf_free(&b);
    return s;
}

dit_status ev_compare_write_reports(const ev_compare_opts *o, ev_compare_result *res, dit_err *err) {
    DIT_TRY(write_json(o, res, err));
    return write_html(o, res, err);
}
