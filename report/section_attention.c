/* section_attention.c — the attention viewer's data and controls. Every prompt of a run whose
 * patterns are stored (or the first opt->viewer_prompts) gets a file of its own, viewer/pID.js
 * (ID: the prompt's id in the store), with its tokens and every recorded head's pattern (8-bit
 * values, causal triangle only, base64); the page holds only an index of them (label, length),
 * and report/viewer.js reads a prompt's file when it is picked.
 *
 * Size: a prompt of T tokens costs L·H·T(T+1)/2 bytes before base64, 4/3 of that after (GPT-2
 * small, T = 128: 1.2 MB before). The page stays small however many prompts there are, and a
 * browser reads only the files of the prompts one looks at; the folder holds them all. */
#define _GNU_SOURCE
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistr.h>

#include "base/error.h"
#include "base/tensor_blob.h"
#include "base/utf8.h"
#include "report/report_ctx.h"
#include "store/positions.h"
#include "report/viewer_js.h"
#include "viz/colormap.h"
#include "viz/heatmap.h"

hs_status hs_report_attention_init(hs_report_ctx *ctx, hs_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/viewer", ctx->dir);
    if (mkdir(path, 0755) != 0)
        return hs_fail(err, HS_ERR_IO, "%s: cannot create: %m", path);
    char colors[256 * 6 + 1];
    for (int i = 0; i < 256; i++) {
        uint8_t rgb[3];
        hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, i / 255.0, rgb);
        snprintf(colors + 6 * i, 7, "%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
    }
    char *js = NULL;
    if (asprintf(&js, "window.HS_VIEW = {colors: \"%s\", limit: %d, runs: []};", colors, ctx->opt->viewer_prompts) < 0)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hs_html_script(ctx->h, js);
    free(js);
    return HS_OK;
}

/* Appends s to f as a JavaScript string literal in plain ASCII: invalid UTF-8 and characters XML
 * forbids become U+FFFD (as on the page), everything outside printable ASCII a \u escape, so the
 * file reads the same whatever encoding a browser assumes for it. Returns -1 when out of memory. */
static int js_ascii_string(FILE *f, const char *s)
{
    char *safe = hs_utf8_xml_safe_str(s);
    if (!safe)
        return -1;
    fputc('"', f);
    const uint8_t *p = (const uint8_t *)safe, *end = p + strlen(safe);
    while (p < end) {
        ucs4_t c;
        int n = u8_mbtouc(&c, p, (size_t)(end - p));
        p += n > 0 ? n : 1;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", (int)c);
        else if (c >= 0x20 && c < 0x7f && c != '<' && c != '>' && c != '&')
            fputc((int)c, f);
        else if (c < 0x10000)
            fprintf(f, "\\u%04x", (unsigned)c);
        else
            fprintf(f, "\\u%04x\\u%04x", 0xd800 + ((unsigned)(c - 0x10000) >> 10), 0xdc00 + ((c - 0x10000) & 0x3ff));
    }
    fputc('"', f);
    free(safe);
    return 0;
}

/* One prompt's patterns in the viewer's layout: bytes[] holds round(255 A[q, k]) for k <= q, by
 * layer, head and stored query row; rows[] the query positions stored (all, or --positions). */
typedef struct prompt_data {
    char **tokens; /* T visible tokens (hs_viz_visible_token) */
    int T;
    int *rows, n_rows;
    int layers[512], heads[512], n_layers, n_heads;
    unsigned char *bytes;
    size_t n_bytes;
} prompt_data;

static void prompt_data_free(prompt_data *d)
{
    hs_report_free_strings(d->tokens, d->T);
    free(d->rows), free(d->bytes);
}

/* Reads a prompt's tokens and patterns; *complete = 0 (and nothing to write) when it has no
 * tokens or its patterns are not a full layers x heads grid of equal shapes. */
static hs_status read_prompt(hs_report_ctx *ctx, int64_t prompt_id, prompt_data *d, int *complete, hs_error *err)
{
    memset(d, 0, sizeof *d);
    d->n_rows = -1;
    *complete = 0;
    sqlite3_stmt *st = NULL;
    hs_status rc = HS_OK;
    size_t cap = 0;

    if ((rc = hs_report_prepare(ctx, "SELECT pos, token_id, text FROM tokens WHERE prompt_id = ?1 ORDER BY pos", &st,
                                err)) != HS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, prompt_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char **g = realloc(d->tokens, (size_t)(d->T + 1) * sizeof *d->tokens);
        if (!g) {
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            goto done;
        }
        d->tokens = g;
        const char *t = (const char *)sqlite3_column_blob(st, 2);
        int len = sqlite3_column_bytes(st, 2);
        d->tokens[d->T] = t ? hs_viz_visible_token(t, (size_t)len) : strdup("");
        if (!d->tokens[d->T]) {
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            goto done;
        }
        d->T++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (d->T == 0)
        goto done;
    if (!(d->rows = malloc((size_t)d->T * sizeof *d->rows))) {
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
    int n_slices = 0, T = d->T;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int layer = sqlite3_column_int(st, 0), head = sqlite3_column_int(st, 1);
        if (d->n_layers == 0 || d->layers[d->n_layers - 1] != layer) {
            if (d->n_layers == (int)(sizeof d->layers / sizeof d->layers[0]))
                goto done;
            d->layers[d->n_layers++] = layer;
        }
        if (d->n_layers == 1) {
            if (d->n_heads == (int)(sizeof d->heads / sizeof d->heads[0]))
                goto done;
            d->heads[d->n_heads++] = head;
        } else if (d->heads[n_slices % d->n_heads] != head) {
            goto done; /* not the same heads in every layer: not shown */
        }
        int nr;
        if (sqlite3_column_type(st, 2) == SQLITE_NULL) {
            for (int i = 0; i < T; i++)
                d->rows[i] = i;
            nr = T;
        } else {
            nr = hs_positions_parse((const char *)sqlite3_column_text(st, 2), T, d->rows);
        }
        if (nr <= 0 || (d->n_rows >= 0 && nr != d->n_rows))
            goto done;
        d->n_rows = nr;
        hs_blob_view v;
        if (hs_blob_parse(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3), &v) != 0 || v.ndim != 2 ||
            v.shape[0] != nr || v.shape[1] != T)
            goto done;
        size_t need = 0;
        for (int r = 0; r < nr; r++)
            need += (size_t)d->rows[r] + 1;
        if (d->n_bytes + need > cap) {
            cap = 2 * (d->n_bytes + need);
            unsigned char *g = realloc(d->bytes, cap);
            if (!g) {
                rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
                goto done;
            }
            d->bytes = g;
        }
        for (int r = 0; r < nr; r++)
            for (int k = 0; k <= d->rows[r]; k++) {
                float a = hs_blob_get(&v, (int64_t)r * T + k);
                a = a < 0 ? 0 : (a > 1 ? 1 : a);
                d->bytes[d->n_bytes++] = (unsigned char)lrintf(255.0f * a);
            }
        n_slices++;
    }
    *complete = n_slices > 0 && n_slices == d->n_layers * d->n_heads;
done:
    sqlite3_finalize(st);
    return rc;
}

/* Writes viewer/pID.js: HS_VIEW.add(ID, {T, tokens, layers, heads, rows, data}); adds its size to
 * *bytes. */
static hs_status write_prompt_file(hs_report_ctx *ctx, int64_t prompt_id, const prompt_data *d, size_t *bytes,
                                   hs_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/viewer/p%lld.js", ctx->dir, (long long)prompt_id);
    FILE *f = fopen(path, "w");
    if (!f)
        return hs_fail(err, HS_ERR_IO, "%s: cannot create: %m", path);
    int bad = 0;
    fprintf(f, "HS_VIEW.add(%lld, {T: %d, tokens: [", (long long)prompt_id, d->T);
    for (int i = 0; i < d->T && !bad; i++) {
        if (i)
            fputc(',', f);
        bad = js_ascii_string(f, d->tokens[i]) != 0;
    }
    fputs("],\nlayers: [", f);
    for (int i = 0; i < d->n_layers; i++)
        fprintf(f, "%s%d", i ? "," : "", d->layers[i]);
    fputs("], heads: [", f);
    for (int i = 0; i < d->n_heads; i++)
        fprintf(f, "%s%d", i ? "," : "", d->heads[i]);
    fputs("], rows: [", f);
    for (int i = 0; i < d->n_rows; i++)
        fprintf(f, "%s%d", i ? "," : "", d->rows[i]);
    gchar *b64 = g_base64_encode(d->bytes, d->n_bytes);
    if (!b64)
        bad = 1;
    else
        fprintf(f, "],\ndata: \"%s\"});\n", b64);
    g_free(b64);
    long size = ftell(f);
    int write_failed = ferror(f);
    if (fclose(f) != 0 || write_failed)
        return hs_fail(err, HS_ERR_IO, "%s: cannot write: %m", path);
    if (bad)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    *bytes += size > 0 ? (size_t)size : 0;
    return HS_OK;
}

/* The picker's label of a prompt: "#idx (ext_id): the first 60 bytes of its text…". */
static void append_label(FILE *f, int idx, const char *ext_id, const char *text)
{
    GString *full = g_string_new(NULL);
    g_string_printf(full, "#%d", idx);
    if (ext_id && *ext_id)
        g_string_append_printf(full, " (%s)", ext_id);
    g_string_append(full, ": ");
    size_t text_len = strlen(text);
    g_string_append_len(full, text, (gssize)(text_len > 60 ? 60 : text_len));
    if (text_len > 60)
        g_string_append(full, "\xe2\x80\xa6");
    hs_html_js_string(f, full->str); /* cutting at 60 bytes may split a character: made valid there */
    g_string_free(full, TRUE);
}

hs_status hs_report_section_attention(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err)
{
    sqlite3_stmt *st;
    HS_TRY(hs_report_prepare(ctx,
                             "SELECT p.id, p.idx, coalesce(p.ext_id, ''), p.text FROM prompts p WHERE p.run_id = ?1 "
                             "AND EXISTS (SELECT 1 FROM activations a WHERE a.prompt_id = p.id AND "
                             "a.hook = 'attn.hook_pattern') ORDER BY p.idx",
                             &st, err));
    sqlite3_bind_int64(st, 1, run->id);
    char *index = NULL;
    size_t index_len = 0;
    FILE *f = open_memstream(&index, &index_len);
    if (!f) {
        sqlite3_finalize(st);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    fputs("HS_VIEW.runs.push({label: ", f);
    hs_html_js_string(f, run->label);
    fputs(", prompts: [", f);
    /* left_out: beyond --viewer-prompts; incomplete: patterns stored but not a full grid */
    int limit = ctx->opt->viewer_prompts, shown = 0, left_out = 0, incomplete = 0;
    hs_status rc = HS_OK;
    while (rc == HS_OK && sqlite3_step(st) == SQLITE_ROW) {
        if (limit >= 0 && shown + incomplete >= limit) {
            left_out++;
            continue;
        }
        int64_t id = sqlite3_column_int64(st, 0);
        prompt_data d;
        int complete = 0;
        rc = read_prompt(ctx, id, &d, &complete, err);
        if (rc == HS_OK && complete)
            rc = write_prompt_file(ctx, id, &d, &ctx->sum->viewer_bytes, err);
        if (rc == HS_OK && complete) {
            fprintf(f, "%s\n[%lld, %d, %d, ", shown ? "," : "", (long long)id, sqlite3_column_int(st, 1), d.T);
            append_label(f, sqlite3_column_int(st, 1), hs_report_col(st, 2), hs_report_col(st, 3));
            fputc(']', f);
            shown++;
        } else if (rc == HS_OK) {
            incomplete++;
        }
        prompt_data_free(&d);
    }
    sqlite3_finalize(st);
    fprintf(f, "], left_out: %d, incomplete: %d});", left_out, incomplete);
    if (fclose(f) != 0 && rc == HS_OK)
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (rc == HS_OK)
        hs_html_script(ctx->h, index);
    free(index);
    ctx->sum->viewer_prompts += shown;
    return rc;
}

hs_status hs_report_attention_viewer(hs_report_ctx *ctx, hs_error *err)
{
    (void)err;
    hs_html *h = ctx->h;
    hs_html_start(h, "section", "id", "attention-viewer", "class", "viewer", NULL);
    hs_html_element(h, "h2", "Attention viewer", NULL);
    hs_html_start(h, "p", NULL);
    if (ctx->opt->viewer_prompts < 0)
        hs_html_text(h, "Every prompt of each run whose patterns are stored, every recorded layer and head. ");
    else
        hs_html_textf(h, "The first %d prompts of each run whose patterns are stored (--viewer-prompts), every "
                         "recorded layer and head. ", ctx->opt->viewer_prompts);
    hs_html_text(h, "Pick a prompt and a layer: the grid shows every head of the layer (click one to pick it), the "
                    "tokens below colour what the hovered (or clicked) token attends to in the picked head, and the "
                    "pattern shows that head with the tokens on both axes, queries down and keys across; zoom, "
                    "scroll, and hover a cell for its value. Thumbnails of long prompts show in each pixel the "
                    "largest value it covers. Values are shown to 8 bits (\xc2\xb1 0.002); the store holds them in "
                    "full. Each prompt's data is a file in viewer/, read when the prompt is picked.");
    hs_html_end(h);
    hs_html_start(h, "div", "id", "hs-viewer", "data-ready", "0", NULL);
    hs_html_start(h, "div", "class", "hs-controls", NULL);
    hs_html_start(h, "label", NULL);
    hs_html_text(h, "Prompt ");
    hs_html_element(h, "select", NULL, "id", "hs-prompt", NULL);
    hs_html_end(h);
    hs_html_element(h, "button", "\xe2\x97\x80", "id", "hs-prev", "type", "button", "title", "previous prompt", NULL);
    hs_html_element(h, "button", "\xe2\x96\xb6", "id", "hs-next", "type", "button", "title", "next prompt", NULL);
    static const char *const selects[][2] = {{"Layer ", "hs-layer"}, {"Head ", "hs-head"}, {"Zoom ", "hs-zoom"}};
    for (size_t i = 0; i < sizeof selects / sizeof selects[0]; i++) {
        hs_html_start(h, "label", NULL);
        hs_html_text(h, selects[i][0]);
        hs_html_element(h, "select", NULL, "id", selects[i][1], NULL);
        hs_html_end(h);
    }
    hs_html_element(h, "a", "link to this view", "id", "hs-link", NULL);
    hs_html_end(h);
    hs_html_element(h, "div", NULL, "id", "hs-legend", NULL);
    hs_html_element(h, "div", NULL, "id", "hs-readout", NULL);
    static const char *const parts[] = {"hs-heads", "hs-tokens"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        char title[32];
        snprintf(title, sizeof title, "%s-title", parts[i]);
        hs_html_element(h, "div", NULL, "id", title, "class", "hs-title", NULL);
        hs_html_element(h, "div", NULL, "id", parts[i], NULL);
    }
    hs_html_element(h, "div", NULL, "id", "hs-pattern-title", "class", "hs-title", NULL);
    hs_html_start(h, "div", "id", "hs-scroll", NULL);
    hs_html_element(h, "canvas", NULL, "id", "hs-canvas", "width", "8", "height", "8", NULL);
    hs_html_element(h, "div", NULL, "id", "hs-spacer", NULL);
    hs_html_end(h);
    hs_html_element(h, "div", NULL, "id", "hs-tip", NULL);
    hs_html_end(h);
    hs_html_element(h, "noscript", "The viewer needs JavaScript; every figure above works without it.", NULL);
    hs_html_script(h, viewer_js);
    hs_html_end(h);
    return HS_OK;
}
