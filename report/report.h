/* report.h — the static HTML report of a store: `headscope report --db DB --out DIR` writes
 * DIR/index.html, DIR/fig/ (PNG, SVG and PDF of every figure) and DIR/viewer/ (the attention
 * viewer's data, one file per prompt). No server, no file outside DIR, no JavaScript library: it
 * opens from disk, over SSH, from an archive. What is in it:
 *   - the runs (model, its sha256, options, dtype, backend, when) and each run's prompt set;
 *   - one section per analysis present in head_scores, each metric as a layer x head heatmap,
 *     a table of its top heads and a line on how the metric is defined (report/metric_info.c);
 *   - an attention viewer (prompt, layer, head -> the heads of the layer, the pattern with its
 *     tokens) for the prompts of each run whose patterns are stored, one file each in DIR/viewer/.
 * Everything that came from user data is escaped; invalid UTF-8 is shown as U+FFFD. */
#ifndef HS_REPORT_REPORT_H
#define HS_REPORT_REPORT_H

#include "headscope.h"

typedef struct hs_report_options {
    int viewer_prompts; /* prompts per run in the attention viewer (default -1: all; 0: none) */
    int prompt_rows;    /* prompts listed per run in the prompt-set table (default 200) */
    int top_heads;      /* rows of each top-heads table (default 10) */
    int formats;        /* bit set of figure formats: 1 PNG, 2 SVG, 4 PDF (default all) */
} hs_report_options;

#define HS_REPORT_PNG 1
#define HS_REPORT_SVG 2
#define HS_REPORT_PDF 4

void hs_report_options_default(hs_report_options *opt);

/* What a written report holds, for the command line's closing line and for tests. */
typedef struct hs_report_summary {
    int runs, prompts_listed, analyses, figures, viewer_prompts;
    size_t viewer_bytes; /* of the viewer's per-prompt files (viewer/) */
} hs_report_summary;

/* Reads the store at db_path (read-only) and writes the report into out_dir, replacing an earlier
 * report there in one step (see report/out_dir.h; a folder that is neither empty nor a report is
 * refused). On failure nothing at out_dir has changed. summary may be NULL. */
hs_status hs_report_write(const char *db_path, const char *out_dir, const hs_report_options *opt,
                          hs_report_summary *summary, hs_error *err);

#endif
