/* report.c — assembling the report: open the store read-only, write index.html section by section
 * into a staging folder, then swap it into place (see report.h). */
#define _GNU_SOURCE
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/error.h"
#include "config.h"
#include "report/out_dir.h"
#include "report/report_ctx.h"
#include "store/store.h"
#include "viz/canvas.h"

static const char css[] =
    "body{font-family:'DejaVu Sans',system-ui,sans-serif;margin:0 auto;max-width:1180px;padding:0 24px 64px;"
    "color:#1d1d24;line-height:1.45}\n"
    "h1{font-size:1.7em;margin:28px 0 4px}h2{margin-top:40px;border-bottom:1px solid #ddd;padding-bottom:4px}\n"
    "h3{margin-top:28px}.sub{color:#666;margin:0 0 16px}\n"
    "nav>ul{padding-left:20px;columns:2}nav li{break-inside:avoid}nav ul ul{padding-left:18px;font-size:0.9em}\n"
    "table{border-collapse:collapse;margin:8px 0 16px;font-size:0.9em}\n"
    "th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\n"
    "th{background:#f4f4f7}td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "td.text{white-space:pre-wrap;max-width:640px;word-break:break-word}\n"
    "code{font-size:0.9em;word-break:break-all}\n"
    ".metric{display:flex;flex-wrap:wrap;gap:8px 40px;align-items:flex-start}\n"
    ".sets{display:flex;flex-wrap:wrap;gap:8px 40px;align-items:flex-start}\n"
    ".sets figure,.metric figure{display:table}.sets .metric{gap:8px 16px}\n"
    ".sets figcaption,.metric figcaption{display:table-caption;caption-side:bottom}\n"
    "figure{margin:12px 0 20px}figure object,figure img{max-width:100%}\n"
    "figcaption{color:#444;font-size:0.9em}figcaption a{margin-right:8px}\n"
    ".def{background:#f7f7fa;border-left:3px solid #8a7fd0;padding:6px 10px}\n"
    ".note{background:#fff8e8;border-left:3px solid #d8a040;padding:4px 10px}\n"
    ".viewer select,.viewer input{margin-right:12px}\n"
    ".viewer canvas{border:1px solid #ddd;margin-top:8px}\n"
    "#hs-readout{font-family:'DejaVu Sans Mono',monospace;min-height:1.4em;margin-top:6px}\n"
    ".error{color:#a00;font-weight:bold}\n";

void hs_report_options_default(hs_report_options *opt)
{
    opt->viewer_prompts = -1;
    opt->prompt_rows = 200;
    opt->top_heads = 10;
    opt->formats = HS_REPORT_PNG | HS_REPORT_SVG | HS_REPORT_PDF;
}

hs_status hs_report_prepare(hs_report_ctx *ctx, const char *sql, sqlite3_stmt **st, hs_error *err)
{
    if (sqlite3_prepare_v2(ctx->db, sql, -1, st, NULL) != SQLITE_OK)
        return hs_fail(err, HS_ERR_FORMAT, "store: %s", sqlite3_errmsg(ctx->db));
    return HS_OK;
}

const char *hs_report_col(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? (const char *)s : "";
}

int hs_report_has_table(hs_report_ctx *ctx, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ctx->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

hs_status hs_report_prompt_sets(hs_report_ctx *ctx, const hs_report_run *run, hs_report_set **sets, int *n,
                                hs_error *err)
{
    *sets = NULL;
    *n = 0;
    sqlite3_stmt *st;
    HS_TRY(hs_report_prepare(ctx,
                             "SELECT " HS_REPORT_SET_OF_P " AS s, count(*) FROM prompts p WHERE p.run_id = ?1 "
                             "GROUP BY s ORDER BY min(p.idx)",
                             &st, err));
    sqlite3_bind_int64(st, 1, run->id);
    hs_report_set *v = NULL;
    int k = 0;
    hs_status rc = HS_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        hs_report_set *g = realloc(v, (size_t)(k + 1) * sizeof *v);
        if (!g) {
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            break;
        }
        v = g;
        v[k].name = NULL;
        v[k].n_prompts = sqlite3_column_int(st, 1);
        if (sqlite3_column_type(st, 0) != SQLITE_NULL && !(v[k].name = strdup(hs_report_col(st, 0)))) {
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            break;
        }
        k++;
    }
    sqlite3_finalize(st);
    if (rc != HS_OK) {
        hs_report_sets_free(v, k);
        return rc;
    }
    *sets = v;
    *n = k;
    return HS_OK;
}

void hs_report_sets_free(hs_report_set *sets, int n)
{
    for (int i = 0; sets && i < n; i++)
        free(sets[i].name);
    free(sets);
}

void hs_report_free_strings(char **s, int n)
{
    if (s)
        for (int i = 0; i < n; i++)
            free(s[i]);
    free(s);
}

hs_status hs_report_figure(hs_report_ctx *ctx, const hs_canvas *c, const char *slug, const char *caption,
                           hs_error *err)
{
    /* file names from our own counter plus a slug reduced to [a-z0-9_-]: analysis and metric
     * names come from the store and must not reach the file system as they are */
    char safe[48];
    size_t n = 0;
    for (const char *p = slug; *p && n < sizeof safe - 1; p++) {
        char ch = *p;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        safe[n++] = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ? ch : '_';
    }
    safe[n] = '\0';
    int number = ++ctx->next_figure;
    static const struct {
        int bit;
        hs_viz_format format;
        const char *ext;
    } formats[] = {{HS_REPORT_PNG, HS_VIZ_PNG, "png"}, {HS_REPORT_SVG, HS_VIZ_SVG, "svg"}, {HS_REPORT_PDF, HS_VIZ_PDF, "pdf"}};
    char rel[3][128];
    for (int k = 0; k < 3; k++) {
        snprintf(rel[k], sizeof rel[k], "fig/%03d-%s.%s", number, safe, formats[k].ext);
        if (!(ctx->opt->formats & formats[k].bit))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", ctx->dir, rel[k]);
        HS_TRY(hs_canvas_write(c, path, formats[k].format, err));
    }
    ctx->sum->figures++;

    char w[32], hgt[32];
    snprintf(w, sizeof w, "%.0f", hs_canvas_width(c));
    snprintf(hgt, sizeof hgt, "%.0f", hs_canvas_height(c));
    hs_html *h = ctx->h;
    hs_html_start(h, "figure", NULL);
    int has_png = ctx->opt->formats & HS_REPORT_PNG, has_svg = ctx->opt->formats & HS_REPORT_SVG;
    if (has_svg) {
        hs_html_start(h, "object", "type", "image/svg+xml", "data", rel[1], "width", w, "height", hgt, NULL);
        if (has_png)
            hs_html_void(h, "img", "src", rel[0], "alt", caption, "width", w, "height", hgt, NULL);
        hs_html_end(h);
    } else if (has_png) {
        hs_html_void(h, "img", "src", rel[0], "alt", caption, "width", w, "height", hgt, NULL);
    }
    hs_html_start(h, "figcaption", NULL);
    hs_html_text(h, caption);
    hs_html_text(h, " ");
    for (int k = 0; k < 3; k++)
        if (ctx->opt->formats & formats[k].bit)
            hs_html_element(h, "a", formats[k].ext, "href", rel[k], NULL);
    hs_html_end(h);
    hs_html_end(h);
    return HS_OK;
}

/* Appends an entry to the table of contents. */
static hs_status toc_add(hs_report_ctx *ctx, int level, const char *id, const char *title, hs_error *err)
{
    hs_report_toc_entry *grown = realloc(ctx->toc, (size_t)(ctx->n_toc + 1) * sizeof *grown);
    if (!grown)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    ctx->toc = grown;
    hs_report_toc_entry *e = &ctx->toc[ctx->n_toc];
    e->level = level;
    e->id = strdup(id), e->title = strdup(title);
    if (!e->id || !e->title) {
        free(e->id), free(e->title);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    ctx->n_toc++;
    return HS_OK;
}

hs_status hs_report_section_begin(hs_report_ctx *ctx, int level, const char *id, const char *cls, const char *title,
                                  hs_error *err)
{
    HS_TRY(toc_add(ctx, level, id, title, err));
    if (cls)
        hs_html_start(ctx->h, "section", "id", id, "class", cls, NULL);
    else
        hs_html_start(ctx->h, "section", "id", id, NULL);
    hs_html_element(ctx->h, level <= 1 ? "h2" : "h3", title, NULL);
    return HS_OK;
}

/* The runs in the store with their model dimensions; *out is malloc'd (labels too). */
static hs_status list_runs(hs_report_ctx *ctx, hs_report_run **out, int *n_out, hs_error *err)
{
    *out = NULL;
    *n_out = 0;
    sqlite3_stmt *st;
    HS_TRY(hs_report_prepare(ctx,
                             "SELECT r.id, coalesce(m.n_layers, 0), coalesce(m.n_heads, 0) FROM runs r "
                             "LEFT JOIN models m ON m.id = r.model_id ORDER BY r.id",
                             &st, err));
    hs_report_run *runs = NULL;
    int n = 0;
    hs_status rc = HS_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        hs_report_run *grown = realloc(runs, (size_t)(n + 1) * sizeof *runs);
        if (!grown) {
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            break;
        }
        runs = grown;
        runs[n].id = sqlite3_column_int64(st, 0);
        runs[n].n_layers = sqlite3_column_int(st, 1);
        runs[n].n_heads = sqlite3_column_int(st, 2);
        char *label = NULL;
        if (asprintf(&label, "run %lld", (long long)runs[n].id) < 0) {
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            break;
        }
        runs[n++].label = label;
    }
    sqlite3_finalize(st);
    if (rc != HS_OK) {
        for (int i = 0; i < n; i++)
            free((char *)runs[i].label);
        free(runs);
        return rc;
    }
    *out = runs;
    *n_out = n;
    return HS_OK;
}

/* The page's title, what it is of, and its table of contents: every section written, runs at the
 * top level with their sections under them. */
static void write_header(hs_report_ctx *ctx, hs_html *h, const char *db_path, int n_runs)
{
    hs_html_element(h, "h1", "headscope report", NULL);
    char when[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    hs_html_start(h, "p", "class", "sub", NULL);
    hs_html_text(h, "Store ");
    hs_html_element(h, "code", db_path, NULL);
    hs_html_textf(h, " \xc2\xb7 %d run%s \xc2\xb7 written %s by headscope %s", n_runs, n_runs == 1 ? "" : "s", when,
                  PACKAGE_VERSION);
    hs_html_end(h);
    hs_html_start(h, "nav", NULL);
    hs_html_start(h, "ul", NULL);
    for (int i = 0; i < ctx->n_toc; i++) {
        const hs_report_toc_entry *e = &ctx->toc[i];
        char *href = NULL;
        if (asprintf(&href, "#%s", e->id) < 0)
            href = NULL;
        hs_html_start(h, "li", NULL);
        hs_html_element(h, "a", e->title, "href", href ? href : "#", NULL);
        free(href);
        int children = i + 1 < ctx->n_toc && ctx->toc[i + 1].level > e->level;
        if (children) { /* a run: its sections in a list of their own */
            hs_html_start(h, "ul", NULL);
            for (; i + 1 < ctx->n_toc && ctx->toc[i + 1].level > e->level; i++) {
                char *sub = NULL;
                if (asprintf(&sub, "#%s", ctx->toc[i + 1].id) < 0)
                    sub = NULL;
                hs_html_start(h, "li", NULL);
                hs_html_element(h, "a", ctx->toc[i + 1].title, "href", sub ? sub : "#", NULL);
                hs_html_end(h);
                free(sub);
            }
            hs_html_end(h);
        }
        hs_html_end(h);
    }
    hs_html_end(h);
    hs_html_end(h);
}

/* Everything of one run: its prompt set, its analyses, its attention viewer. */
static hs_status write_run(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err)
{
    char id[64];
    snprintf(id, sizeof id, "run-%lld", (long long)run->id);
    char title[96];
    snprintf(title, sizeof title, "Run %lld", (long long)run->id);
    HS_TRY(hs_report_section_begin(ctx, 1, id, NULL, title, err));
    HS_TRY(hs_report_section_prompts(ctx, run, err));
    HS_TRY(hs_report_section_lens(ctx, run, err));
    HS_TRY(hs_report_section_sinks(ctx, run, err));
    HS_TRY(hs_report_section_heads(ctx, run, err));
    HS_TRY(hs_report_section_patch(ctx, run, err));
    HS_TRY(hs_report_section_scores(ctx, run, err));
    HS_TRY(hs_report_section_attention(ctx, run, err));
    hs_html_end(ctx->h);
    return HS_OK;
}

hs_status hs_report_write(const char *db_path, const char *out_dir, const hs_report_options *opt,
                          hs_report_summary *summary, hs_error *err)
{
    hs_report_options defaults;
    if (!opt) {
        hs_report_options_default(&defaults);
        opt = &defaults;
    }
    hs_report_summary local;
    if (!summary)
        summary = &local;
    memset(summary, 0, sizeof *summary);

    hs_store *store = NULL;
    char *staging = NULL;
    hs_report_run *runs = NULL;
    int n_runs = 0;
    hs_report_ctx ctx = {.opt = opt, .sum = summary};
    hs_html *page = NULL;
    hs_status rc = hs_store_open(db_path, HS_STORE_READONLY, NULL, &store, err);
    if (rc != HS_OK)
        goto done;
    ctx.db = hs_store_db(store);
    if ((rc = hs_out_dir_begin(out_dir, &staging, err)) != HS_OK)
        goto done;
    ctx.dir = staging;
    char path[4096];
    snprintf(path, sizeof path, "%s/fig", staging);
    if (mkdir(path, 0755) != 0) {
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot create: %m", path);
        goto done;
    }
    if ((rc = list_runs(&ctx, &runs, &n_runs, err)) != HS_OK)
        goto done;
    summary->runs = n_runs;

    /* the sections first, into a fragment: the table of contents above them is known only after */
    char body[4096];
    snprintf(body, sizeof body, "%s/.sections.html", staging);
    if ((rc = hs_html_open_fragment(body, &ctx.h, err)) != HS_OK)
        goto done;
    rc = hs_report_attention_init(&ctx, err);
    if (rc == HS_OK)
        rc = hs_report_section_runs(&ctx, err);
    for (int i = 0; rc == HS_OK && i < n_runs; i++)
        rc = write_run(&ctx, &runs[i], err);
    if (rc == HS_OK && (rc = hs_report_attention_viewer(&ctx, err)) == HS_OK)
        rc = toc_add(&ctx, 1, "attention-viewer", "Attention viewer", err); /* the section it wrote */
    hs_status close_rc = hs_html_close(ctx.h, rc == HS_OK ? err : NULL);
    ctx.h = NULL;
    if (rc == HS_OK)
        rc = close_rc;
    if (rc != HS_OK)
        goto done;
    snprintf(path, sizeof path, "%s/index.html", staging);
    if ((rc = hs_html_open(path, "headscope report", css, &page, err)) != HS_OK)
        goto done;
    write_header(&ctx, page, db_path, n_runs);
    hs_html_include(page, body);
    rc = hs_html_close(page, err);
    page = NULL;
    if (rc == HS_OK && remove(body) != 0)
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot remove: %m", body);
    if (rc == HS_OK)
        rc = hs_out_dir_commit(out_dir, staging, err);
done:
    hs_html_close(ctx.h, NULL);
    hs_html_close(page, NULL);
    if (rc != HS_OK)
        hs_out_dir_abandon(staging);
    free(staging);
    for (int i = 0; i < ctx.n_toc; i++)
        free(ctx.toc[i].id), free(ctx.toc[i].title);
    free(ctx.toc);
    for (int i = 0; i < n_runs; i++)
        free((char *)runs[i].label);
    free(runs);
    hs_store_close(store);
    return rc;
}
