/* section_runs.c — the report's first section: every run in the store with its provenance (model
 * path and sha256, architecture and shape, tool version, recording options, dtype, backend,
 * prompt set and when it ran), so a figure can always be traced to what produced it. */
#include <stdio.h>

#include "base/error.h"
#include "report/report_ctx.h"

hs_status hs_report_section_runs(hs_report_ctx *ctx, hs_error *err)
{
    sqlite3_stmt *st;
    HS_TRY(hs_report_prepare(ctx,
                             "SELECT r.id, r.model_path, r.model_sha256, coalesce(r.architecture, ''), "
                             "m.n_layers, m.n_heads, m.n_kv_heads, m.d_model, m.d_head, m.d_mlp, m.d_vocab, "
                             "m.n_ctx, coalesce(m.dtype, ''), coalesce(r.tool_version, ''), r.options, r.dtype, "
                             "r.backend, coalesce(r.prompts_path, ''), r.prompts_sha256, r.started_at, "
                             "r.finished_at, (SELECT count(*) FROM prompts p WHERE p.run_id = r.id) "
                             "FROM runs r LEFT JOIN models m ON m.id = r.model_id ORDER BY r.id",
                             &st, err));
    hs_html *h = ctx->h;
    hs_status rc = hs_report_section_begin(ctx, 1, "runs", NULL, "Runs", err);
    if (rc != HS_OK) {
        sqlite3_finalize(st);
        return rc;
    }
    hs_html_start(h, "table", "class", "runs", NULL);
    hs_html_start(h, "tr", NULL);
    static const char *heads[] = {"run", "model", "architecture and shape", "recording", "prompt set", "when"};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        hs_html_element(h, "th", heads[i], NULL);
    hs_html_end(h);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        n++;
        hs_html_start(h, "tr", NULL);
        hs_html_element(h, "td", hs_report_col(st, 0), "class", "num", NULL);

        hs_html_start(h, "td", NULL);
        hs_html_element(h, "code", hs_report_col(st, 1), NULL);
        hs_html_void(h, "br", NULL);
        hs_html_textf(h, "sha256 %.12s\xe2\x80\xa6", hs_report_col(st, 2)); /* full hash in the tooltip */
        hs_html_end(h);

        hs_html_start(h, "td", NULL);
        hs_html_textf(h, "%s: %d layers, %d heads (%d kv), d_model %d, d_head %d, d_mlp %d, vocab %d, context %d, %s",
                      hs_report_col(st, 3), sqlite3_column_int(st, 4), sqlite3_column_int(st, 5),
                      sqlite3_column_int(st, 6), sqlite3_column_int(st, 7), sqlite3_column_int(st, 8),
                      sqlite3_column_int(st, 9), sqlite3_column_int(st, 10), sqlite3_column_int(st, 11),
                      hs_report_col(st, 12));
        hs_html_end(h);

        hs_html_start(h, "td", NULL);
        hs_html_textf(h, "dtype %s, backend %s, headscope %s", hs_report_col(st, 15), hs_report_col(st, 16),
                      hs_report_col(st, 13));
        hs_html_void(h, "br", NULL);
        hs_html_element(h, "code", hs_report_col(st, 14), NULL);
        hs_html_end(h);

        hs_html_start(h, "td", NULL);
        hs_html_element(h, "code", hs_report_col(st, 17), NULL);
        hs_html_void(h, "br", NULL);
        hs_html_textf(h, "%d prompts, sha256 %.12s\xe2\x80\xa6", sqlite3_column_int(st, 21), hs_report_col(st, 18));
        hs_html_end(h);

        hs_html_start(h, "td", NULL);
        hs_html_textf(h, "started %s", hs_report_col(st, 19));
        hs_html_void(h, "br", NULL);
        if (sqlite3_column_type(st, 20) == SQLITE_NULL)
            hs_html_text(h, "unfinished (rerun the same command to resume)");
        else
            hs_html_textf(h, "finished %s", hs_report_col(st, 20));
        hs_html_end(h);
        hs_html_end(h);
    }
    sqlite3_finalize(st);
    hs_html_end(h);
    if (n == 0)
        hs_html_element(h, "p", "This store holds no runs yet: record one with headscope run.", NULL);
    hs_html_end(h);
    return HS_OK;
}
