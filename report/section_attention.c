/* section_attention.c — the attention viewer: the first opt->viewer_prompts prompts of each run
 * whose patterns are stored are embedded as compact data (8-bit values, causal triangle only,
 * base64), and report/viewer.js draws the chosen prompt, layer and head on a canvas.
 *
 * Size: a prompt of T tokens costs L·H·T(T+1)/2 bytes before base64 (GPT-2 small, T = 128:
 * 1.2 MB), which is why only the first prompts are embedded; every prompt's patterns stay in the
 * store, where SQL reaches them. */
#define _GNU_SOURCE
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/tensor_blob.h"
#include "report/report_ctx.h"
#include "store/positions.h"
#include "report/viewer_js.h"
#include "viz/colormap.h"
#include "viz/heatmap.h"

hs_status hs_report_attention_init(hs_report_ctx *ctx, hs_error *err)
{
    char colors[256 * 6 + 1];
    for (int i = 0; i < 256; i++) {
        uint8_t rgb[3];
        hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, i / 255.0, rgb);
        snprintf(colors + 6 * i, 7, "%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
    }
    char *js = NULL;
    if (asprintf(&js, "window.HS_VIEW = {colors: \"%s\", prompts: []};", colors) < 0)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hs_html_script(ctx->h, js);
    free(js);
    return HS_OK;
}

/* Appends one prompt's viewer data as a script; *added = 0 when its patterns are absent or not a
 * full layers x heads grid of equal shapes. */
static hs_status add_prompt(hs_report_ctx *ctx, const hs_report_run *run, int64_t prompt_id, int idx,
                            const char *ext_id, const char *text, int *added, hs_error *err)
{
    *added = 0;
    sqlite3_stmt *st = NULL;
    hs_status rc = HS_OK;
    char **tokens = NULL;
    int T = 0;
    int *rows = NULL, n_rows = -1;
    int layers[512], heads[512], n_layers = 0, n_heads = 0;
    unsigned char *bytes = NULL;
    size_t n_bytes = 0, cap = 0;
    char *js = NULL;
    size_t js_len = 0;
    FILE *f = NULL;

    /* tokens */
    if ((rc = hs_report_prepare(ctx, "SELECT pos, token_id, text FROM tokens WHERE prompt_id = ?1 ORDER BY pos", &st,
                                err)) != HS_OK)
        goto done;
    sqlite3_bind_int64(st, 1, prompt_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char **g = realloc(tokens, (size_t)(T + 1) * sizeof *tokens);
        if (!g) {
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            goto done;
        }
        tokens = g;
        const char *t = (const char *)sqlite3_column_blob(st, 2);
        int len = sqlite3_column_bytes(st, 2);
        tokens[T] = t ? hs_viz_visible_token(t, (size_t)len) : strdup("");
        if (!tokens[T]) {
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            goto done;
        }
        T++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (T == 0)
        goto done;
    if (!(rows = malloc((size_t)T * sizeof *rows))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }

    /* patterns, layer by layer, head by head */
    if ((rc = hs_report_prepare(ctx,
                                "SELECT layer, head, positions, data FROM activations WHERE prompt_id = ?1 AND "
                                "hook = 'attn.hook_pattern' AND layer IS NOT NULL AND head IS NOT NULL "
                                "ORDER BY layer, head",
                                &st, err)) != HS_OK)
        goto done;
    sqlite3_bind_int64(st, 1, prompt_id);
    int n_slices = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int layer = sqlite3_column_int(st, 0), head = sqlite3_column_int(st, 1);
        if (n_layers == 0 || layers[n_layers - 1] != layer) {
            if (n_layers == (int)(sizeof layers / sizeof layers[0]))
                goto done;
            layers[n_layers++] = layer;
        }
        if (n_layers == 1) {
            if (n_heads == (int)(sizeof heads / sizeof heads[0]))
                goto done;
            heads[n_heads++] = head;
        } else if (heads[n_slices % n_heads] != head) {
            goto done; /* not the same heads in every layer: not shown */
        }
        int nr;
        if (sqlite3_column_type(st, 2) == SQLITE_NULL) {
            for (int i = 0; i < T; i++)
                rows[i] = i;
            nr = T;
        } else {
            nr = hs_positions_parse((const char *)sqlite3_column_text(st, 2), T, rows);
        }
        if (nr <= 0 || (n_rows >= 0 && nr != n_rows))
            goto done;
        n_rows = nr;
        hs_blob_view v;
        if (hs_blob_parse(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3), &v) != 0 || v.ndim != 2 ||
            v.shape[0] != nr || v.shape[1] != T)
            goto done;
        size_t need = 0;
        for (int r = 0; r < nr; r++)
            need += (size_t)rows[r] + 1;
        if (n_bytes + need > cap) {
            cap = 2 * (n_bytes + need);
            unsigned char *g = realloc(bytes, cap);
            if (!g) {
                rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
                goto done;
            }
            bytes = g;
        }
        for (int r = 0; r < nr; r++)
            for (int k = 0; k <= rows[r]; k++) {
                float a = hs_blob_get(&v, (int64_t)r * T + k);
                a = a < 0 ? 0 : (a > 1 ? 1 : a);
                bytes[n_bytes++] = (unsigned char)lrintf(255.0f * a);
            }
        n_slices++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (n_slices == 0 || n_slices != n_layers * n_heads)
        goto done;

    /* the script */
    if (!(f = open_memstream(&js, &js_len))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    char label[64];
    snprintf(label, sizeof label, "%s \xc2\xb7 #%d", run->label, idx);
    GString *full = g_string_new(label);
    if (ext_id && *ext_id)
        g_string_append_printf(full, " (%s)", ext_id);
    g_string_append(full, ": ");
    size_t text_len = strlen(text);
    g_string_append_len(full, text, (gssize)(text_len > 60 ? 60 : text_len));
    if (text_len > 60)
        g_string_append(full, "\xe2\x80\xa6");
    fputs("HS_VIEW.prompts.push({label: ", f);
    hs_html_js_string(f, full->str); /* cutting at 60 bytes may split a character: made valid there */
    g_string_free(full, TRUE);
    fprintf(f, ", T: %d, tokens: [", T);
    for (int i = 0; i < T; i++) {
        if (i)
            fputc(',', f);
        hs_html_js_string(f, tokens[i]);
    }
    fputs("], layers: [", f);
    for (int i = 0; i < n_layers; i++)
        fprintf(f, "%s%d", i ? "," : "", layers[i]);
    fputs("], heads: [", f);
    for (int i = 0; i < n_heads; i++)
        fprintf(f, "%s%d", i ? "," : "", heads[i]);
    fputs("], rows: [", f);
    for (int i = 0; i < n_rows; i++)
        fprintf(f, "%s%d", i ? "," : "", rows[i]);
    gchar *b64 = g_base64_encode(bytes, n_bytes);
    fprintf(f, "], data: \"%s\"});", b64);
    g_free(b64);
    if (fclose(f) != 0) {
        f = NULL;
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    f = NULL;
    hs_html_script(ctx->h, js);
    *added = 1;
done:
    if (f)
        fclose(f);
    free(js);
    sqlite3_finalize(st);
    if (tokens)
        for (int i = 0; i < T; i++)
            free(tokens[i]);
    free(tokens), free(rows), free(bytes);
    return rc;
}

hs_status hs_report_section_attention(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err)
{
    if (ctx->opt->viewer_prompts <= 0)
        return HS_OK;
    sqlite3_stmt *st;
    HS_TRY(hs_report_prepare(ctx,
                             "SELECT p.id, p.idx, coalesce(p.ext_id, ''), p.text FROM prompts p WHERE p.run_id = ?1 "
                             "AND EXISTS (SELECT 1 FROM activations a WHERE a.prompt_id = p.id AND "
                             "a.hook = 'attn.hook_pattern') ORDER BY p.idx LIMIT ?2",
                             &st, err));
    sqlite3_bind_int64(st, 1, run->id);
    sqlite3_bind_int(st, 2, ctx->opt->viewer_prompts);
    hs_status rc = HS_OK;
    while (rc == HS_OK && sqlite3_step(st) == SQLITE_ROW) {
        char *ext = strdup(hs_report_col(st, 2)), *text = strdup(hs_report_col(st, 3));
        int added = 0;
        if (!ext || !text)
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        else
            rc = add_prompt(ctx, run, sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1), ext, text, &added, err);
        ctx->sum->viewer_prompts += added;
        free(ext), free(text);
    }
    sqlite3_finalize(st);
    return rc;
}

hs_status hs_report_attention_viewer(hs_report_ctx *ctx, hs_error *err)
{
    (void)err;
    hs_html *h = ctx->h;
    hs_html_start(h, "section", "id", "attention-viewer", "class", "viewer", NULL);
    hs_html_element(h, "h2", "Attention viewer", NULL);
    hs_html_start(h, "p", NULL);
    hs_html_textf(h,
                  "The first %d prompts of each run whose patterns are stored, every recorded layer and head. "
                  "Values are shown to 8 bits (\xc2\xb1 0.002); the store holds them in full.",
                  ctx->opt->viewer_prompts);
    hs_html_end(h);
    hs_html_start(h, "div", "id", "hs-viewer", "data-ready", "0", NULL);
    hs_html_start(h, "label", NULL);
    hs_html_text(h, "Prompt ");
    hs_html_element(h, "select", NULL, "id", "hs-prompt", NULL);
    hs_html_end(h);
    hs_html_start(h, "label", NULL);
    hs_html_text(h, "Layer ");
    hs_html_element(h, "select", NULL, "id", "hs-layer", NULL);
    hs_html_end(h);
    hs_html_start(h, "label", NULL);
    hs_html_text(h, "Head ");
    hs_html_element(h, "select", NULL, "id", "hs-head", NULL);
    hs_html_end(h);
    hs_html_element(h, "div", NULL, "id", "hs-readout", NULL);
    hs_html_element(h, "canvas", NULL, "id", "hs-canvas", "width", "8", "height", "8", NULL);
    hs_html_end(h);
    hs_html_element(h, "noscript", "The viewer needs JavaScript; every figure above works without it.", NULL);
    hs_html_script(h, viewer_js);
    hs_html_end(h);
    return HS_OK;
}
