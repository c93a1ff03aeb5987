/* report_ctx.h — what the report's section writers share: the store, the page being written,
 * the staging folder figures go into, options and counters. Internal to report/. */
#ifndef HS_REPORT_REPORT_CTX_H
#define HS_REPORT_REPORT_CTX_H

#include <sqlite3.h>
#include <stdint.h>

#include "headscope.h"
#include "report/html.h"
#include "report/report.h"

/* An entry of the page's table of contents: a section, at level 1 (runs) or 2 (a run's sections). */
typedef struct hs_report_toc_entry {
    int level;
    char *id, *title;
} hs_report_toc_entry;

typedef struct hs_report_ctx {
    sqlite3 *db;                   /* the store, read-only */
    hs_html *h;                    /* the page's sections (a fragment index.html takes in after its contents) */
    const char *dir;               /* staging folder: index.html and fig/ are written here */
    const hs_report_options *opt;
    hs_report_summary *sum;
    int next_figure;               /* figure files are numbered in the order they are written */
    hs_report_toc_entry *toc;      /* every section begun so far, in page order (malloc'd) */
    int n_toc;
} hs_report_ctx;

/* The model dimensions a run was recorded with. */
typedef struct hs_report_run {
    int64_t id;
    int n_layers, n_heads;
    const char *label;             /* "run 3" */
} hs_report_run;

/* Opens <section id="id" class="cls"> (cls may be NULL) with its heading (h2 for a level 1 entry, h3
 * for level 2) and enters it in the table of contents; the caller closes the section with
 * hs_html_end. Fails only when out of memory (nothing is written then). */
hs_status hs_report_section_begin(hs_report_ctx *ctx, int level, const char *id, const char *cls, const char *title,
                                  hs_error *err);

/* Section writers; each writes a <section> into ctx->h. */
hs_status hs_report_section_runs(hs_report_ctx *ctx, hs_error *err);
hs_status hs_report_section_prompts(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err);
hs_status hs_report_section_scores(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err);
/* The logit lens tables (store schema 2): grids, target curves, DLA by layer; nothing when absent. */
hs_status hs_report_section_lens(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err);
/* The head detectors' best score per layer (analyze heads); nothing when absent. */
hs_status hs_report_section_heads(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err);
/* The sinks section (store schema 3): sink rate by layer, sink scores by position, hidden-sink
 * positions, norms by position, massive activations, the ACT calibration; nothing when absent. */
hs_status hs_report_section_sinks(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err);
/* section_patch: the activation patching grids of patch_grid beyond head_scores; nothing when absent. */
hs_status hs_report_section_patch(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err);
/* The attention viewer: init writes the colour table once, before any run, and makes viewer/;
 * section_attention writes a file per prompt of a run into viewer/ and the run's index into the
 * page; attention_viewer writes the controls and the script, last. */
hs_status hs_report_attention_init(hs_report_ctx *ctx, hs_error *err);
hs_status hs_report_section_attention(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err);
hs_status hs_report_attention_viewer(hs_report_ctx *ctx, hs_error *err);

/* The prompt set a prompt belongs to, as SQL over a prompts row aliased p: its meta.set as text, NULL
 * when meta is absent, not JSON or has no "set". Compare with IS, so NULL matches NULL. */
#define HS_REPORT_SET_OF_P "(CASE WHEN json_valid(p.meta) THEN CAST(json_extract(p.meta, '$.set') AS TEXT) END)"

/* One prompt set of a run: direct logit attribution and the like mean little over different tasks. */
typedef struct hs_report_set {
    char *name;    /* meta.set; NULL for the prompts without one */
    int n_prompts; /* the run's prompts in it */
} hs_report_set;

/* The prompt sets of a run's prompts, in the order they first appear (*sets malloc'd, free with
 * hs_report_sets_free; *n = 0 for a run without prompts). */
hs_status hs_report_prompt_sets(hs_report_ctx *ctx, const hs_report_run *run, hs_report_set **sets, int *n,
                                hs_error *err);
void hs_report_sets_free(hs_report_set *sets, int n);

/* A prepared statement or an error naming the store's failure. */
hs_status hs_report_prepare(hs_report_ctx *ctx, const char *sql, sqlite3_stmt **st, hs_error *err);
/* Whether the store has a table of that name (older schemas lack the newer analyses' tables). */
int hs_report_has_table(hs_report_ctx *ctx, const char *name);
/* Frees n malloc'd strings and their array (either may be NULL). */
void hs_report_free_strings(char **s, int n);
/* sqlite3_column_text as a C string ("" for NULL). */
const char *hs_report_col(sqlite3_stmt *st, int i);

/* Writes one figure from a display list as fig/NNN-slug.{png,svg,pdf} (the formats in opt) and
 * the <figure> element that shows it (SVG in an <object>, so its tooltips work, with the PNG
 * inside as a fallback) with links to every format and the caption. slug is sanitised. */
struct hs_canvas;
hs_status hs_report_figure(hs_report_ctx *ctx, const struct hs_canvas *c, const char *slug, const char *caption,
                           hs_error *err);

#endif
