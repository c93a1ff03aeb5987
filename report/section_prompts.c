/* section_prompts.c — a run's prompt set as a table: index, id, text (escaped, whitespace kept),
 * token count and the contrastive fields where present; long sets are cut at opt->prompt_rows. */
#include <stdio.h>

#include "base/error.h"
#include "report/report_ctx.h"

hs_status hs_report_section_prompts(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err)
{
    sqlite3_stmt *st;
    HS_TRY(hs_report_prepare(ctx,
                             "SELECT idx, coalesce(ext_id, ''), text, n_tokens, answer, wrong "
                             "FROM prompts WHERE run_id = ?1 ORDER BY idx LIMIT ?2",
                             &st, err));
    sqlite3_bind_int64(st, 1, run->id);
    sqlite3_bind_int(st, 2, ctx->opt->prompt_rows);
    hs_html *h = ctx->h;
    char id[64];
    snprintf(id, sizeof id, "run-%lld-prompts", (long long)run->id);
    hs_status rc = hs_report_section_begin(ctx, 2, id, NULL, "Prompt set", err);
    if (rc != HS_OK) {
        sqlite3_finalize(st);
        return rc;
    }
    hs_html_start(h, "table", "class", "prompts", NULL);
    hs_html_start(h, "tr", NULL);
    static const char *heads[] = {"#", "id", "text", "tokens", "answer", "wrong"};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        hs_html_element(h, "th", heads[i], NULL);
    hs_html_end(h);
    int shown = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        shown++;
        hs_html_start(h, "tr", NULL);
        hs_html_element(h, "td", hs_report_col(st, 0), "class", "num", NULL);
        hs_html_element(h, "td", hs_report_col(st, 1), NULL);
        hs_html_element(h, "td", hs_report_col(st, 2), "class", "text", NULL);
        hs_html_element(h, "td", hs_report_col(st, 3), "class", "num", NULL);
        hs_html_element(h, "td", hs_report_col(st, 4), "class", "text", NULL);
        hs_html_element(h, "td", hs_report_col(st, 5), "class", "text", NULL);
        hs_html_end(h);
    }
    sqlite3_finalize(st);
    hs_html_end(h);
    HS_TRY(hs_report_prepare(ctx, "SELECT count(*) FROM prompts WHERE run_id = ?1", &st, err));
    sqlite3_bind_int64(st, 1, run->id);
    int total = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : shown;
    sqlite3_finalize(st);
    if (total > shown) {
        hs_html_start(h, "p", NULL);
        hs_html_textf(h, "%d more prompts are in the store (SELECT * FROM prompts WHERE run_id = %lld).",
                      total - shown, (long long)run->id);
        hs_html_end(h);
    }
    hs_html_end(h);
    ctx->sum->prompts_listed += shown;
    return HS_OK;
}
