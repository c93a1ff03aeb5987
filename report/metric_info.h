/* metric_info.h — what the report says about each per-head metric in head_scores: a title, the
 * one-line definition shown under its figure, and how to colour and rank it. Analyses add their
 * metrics to the table in metric_info.c; a metric without an entry is still shown, with its
 * raw name and a note that no definition is registered. */
#ifndef HS_REPORT_METRIC_INFO_H
#define HS_REPORT_METRIC_INFO_H

#include "viz/colormap.h"

typedef struct hs_metric_info {
    const char *analysis, *metric; /* metric "*SUFFIX" matches every metric of the analysis ending in SUFFIX */
    const char *title;      /* "Attention on the first token" */
    const char *definition; /* one line, with the formula and its source */
    hs_colormap colormap;   /* sequential for scores, diverging for signed attributions */
    int rank_by_abs;        /* top heads by |value| rather than value */
    double lo, hi;          /* the bounds the definition gives the metric, which fix its colour scale
                               (0, 1 for scores and fractions; 0, NaN for counts, distances and
                               entropies); NaN where it is unbounded, so that end follows the data */
    int by_set;             /* drawn once per prompt set (meta.set) of a run that has several: a mean
                               over different tasks (direct logit attribution) describes none of them */
} hs_metric_info;

/* The entry for (analysis, metric), or NULL. */
const hs_metric_info *hs_metric_info_find(const char *analysis, const char *metric);

/* A sentence on what an analysis is, for its section heading; NULL when unknown. */
const char *hs_analysis_description(const char *analysis);

#endif
