/* cmd_report.c — `headscope report --db DB --out DIR`: writes the static HTML report of a store
 * (report/report.h) and says where it is. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "cli/commands.h"

static const char report_help[] =
    "usage: headscope report --db DB --out DIR [options]\n"
    "\n"
    "Writes DIR/index.html and DIR/fig/: the runs in the store with their provenance, each run's\n"
    "prompt set, one section per analysis in head_scores (layer x head heatmaps as PNG, SVG and PDF,\n"
    "top heads, the metric's definition) and an attention viewer (its data in DIR/viewer/, one file\n"
    "per prompt). Static files only: open DIR/index.html in any browser, no server needed. An\n"
    "existing report in DIR is replaced in one step; a non-empty DIR that is not a headscope report\n"
    "is refused.\n"
    "\n"
    "  --viewer-prompts N  prompts per run in the attention viewer (default all; 0: none)\n"
    "  --prompt-rows N     prompts listed per run (default 200)\n"
    "  --top N             rows of each top-heads table (default 10)\n"
    "  --formats LIST      figure files to write: any of png,svg,pdf (default all three)\n";

static int parse_count(const char *opt, const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0 || v > 1000000) {
        fprintf(stderr, "headscope report: %s '%s' is not a count\n", opt, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_formats(const char *s, int *out)
{
    int f = 0;
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return -1;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "png"))
            f |= HS_REPORT_PNG;
        else if (!strcmp(t, "svg"))
            f |= HS_REPORT_SVG;
        else if (!strcmp(t, "pdf"))
            f |= HS_REPORT_PDF;
        else {
            fprintf(stderr, "headscope report: --formats: '%s' is not one of png, svg, pdf\n", t);
            free(copy);
            return -1;
        }
    }
    free(copy);
    if (!f) {
        fprintf(stderr, "headscope report: --formats names no format\n");
        return -1;
    }
    *out = f;
    return 0;
}

int cmd_report(int argc, char **argv)
{
    const char *db = NULL, *out = NULL;
    hs_report_options opt;
    hs_report_options_default(&opt);
    enum { O_VIEWER = 256, O_ROWS, O_TOP, O_FORMATS };
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},          {"out", required_argument, 0, 'o'},
        {"viewer-prompts", required_argument, 0, O_VIEWER}, {"prompt-rows", required_argument, 0, O_ROWS},
        {"top", required_argument, 0, O_TOP},       {"formats", required_argument, 0, O_FORMATS},
        {"help", no_argument, 0, 'h'},              {0}};
    int c;
    while ((c = cli_getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'd': db = optarg; break;
        case 'o': out = optarg; break;
        case O_VIEWER: bad = parse_count("--viewer-prompts", optarg, &opt.viewer_prompts); break;
        case O_ROWS: bad = parse_count("--prompt-rows", optarg, &opt.prompt_rows); break;
        case O_TOP: bad = parse_count("--top", optarg, &opt.top_heads); break;
        case O_FORMATS: bad = parse_formats(optarg, &opt.formats); break;
        case 'h': fputs(report_help, stdout); return 0;
        default: return 2;
        }
        if (bad)
            return 2;
    }
    if (!db || !out || optind != argc) {
        fprintf(stderr, "headscope report: --db DB and --out DIR are required (see --help)\n");
        return 2;
    }
    hs_error err = {0};
    hs_report_summary sum;
    if (hs_report_write(db, out, &opt, &sum, &err) != HS_OK)
        return cli_fail("report", &err);
    printf("headscope report: %d run%s, %d analys%s, %d figures, %d prompts in the viewer (%.1f MB)\n", sum.runs,
           sum.runs == 1 ? "" : "s", sum.analyses, sum.analyses == 1 ? "is" : "es", sum.figures, sum.viewer_prompts,
           sum.viewer_bytes / 1e6);
    printf("report: %s/index.html\n", out);
    return 0;
}
