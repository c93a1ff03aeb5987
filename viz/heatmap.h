/* heatmap.h — the heatmap figure: a [rows, cols] grid of values (layer x head scores, query x key
 * attention, position x layer logit lens) with labels, a title, a colour bar and per-cell tooltips
 * ("L9H6 = 0.8312"), written as PNG, SVG or PDF from one display list.
 *
 *   hs_heatmap *h;
 *   hs_heatmap_create(12, 12, scores, &h, &err);          // scores is [12, 12], copied
 *   hs_heatmap_set_row_labels(h, layer_names, 0, &err);   // "L0".."L11"
 *   hs_heatmap_set_col_labels(h, head_names, 0, &err);    // "H0".."H11"
 *   hs_heatmap_set_label_join(h, "", &err);               // tooltips read "L9H6 = ..."
 *   hs_heatmap_set_title(h, "Induction score", &err);
 *   hs_heatmap_write(h, "induction.svg", HS_VIZ_SVG, &err);
 *   hs_heatmap_free(h);
 */
#ifndef HS_VIZ_HEATMAP_H
#define HS_VIZ_HEATMAP_H

#include <stddef.h>

#include "headscope.h"
#include "viz/canvas.h"
#include "viz/colormap.h"

typedef struct hs_heatmap hs_heatmap;

/* values is [rows, cols], row-major, copied; NaN marks a missing cell (drawn grey with a diagonal,
 * tooltip "= missing"). On success *out owns the heatmap; free it with hs_heatmap_free. */
hs_status hs_heatmap_create(int rows, int cols, const float *values, hs_heatmap **out, hs_error *err);
void hs_heatmap_free(hs_heatmap *h);

/* labels has rows (resp. cols) UTF-8 strings, copied. With as_tokens non-zero each is shown through
 * hs_viz_visible_token, so whitespace and control characters stay visible. Without labels the
 * axes are numbered from 0. On failure the previous labels stay. */
hs_status hs_heatmap_set_row_labels(hs_heatmap *h, const char *const *labels, int as_tokens, hs_error *err);
hs_status hs_heatmap_set_col_labels(hs_heatmap *h, const char *const *labels, int as_tokens, hs_error *err);
/* Title and axis names (x: under the columns, y: beside the rows); NULL removes one. Copied. */
hs_status hs_heatmap_set_title(hs_heatmap *h, const char *title, hs_error *err);
hs_status hs_heatmap_set_axis_labels(hs_heatmap *h, const char *xlabel, const char *ylabel, hs_error *err);
/* What joins the row and column label in a cell's tooltip: "" gives "L9H6 = 0.8312"; the
 * default " / " gives "the / cat = 0.25". Copied. */
hs_status hs_heatmap_set_label_join(hs_heatmap *h, const char *join, hs_error *err);

/* The colour map (default sequential) and the value range mapped onto it. An end given as NaN
 * (the default for both) is automatic: the min (max) of the finite values for the sequential map,
 * -m (m) with m = max |value| for the diverging one (zero stays neutral); so (0, 1) fixes a score's
 * scale and (0, NaN) one that starts at zero. Values outside the range take the end colours. The
 * colour bar labels both ends of the range. */
void hs_heatmap_set_colormap(hs_heatmap *h, hs_colormap map);
void hs_heatmap_set_range(hs_heatmap *h, double lo, double hi);
/* Cell side in pixels (default 28, at least 2) and significant digits in tooltips (default 4). */
void hs_heatmap_set_cell_size(hs_heatmap *h, int px);
void hs_heatmap_set_digits(hs_heatmap *h, int digits);

/* Where cell (r, c) lies in the figure (pixels from the top left) and the range in use, as the
 * last hs_heatmap_write or hs_heatmap_draw laid it out; for tests and for callers adding marks. */
void hs_heatmap_cell_rect(const hs_heatmap *h, int r, int c, double *x, double *y, double *w, double *ht);
void hs_heatmap_range_used(const hs_heatmap *h, double *lo, double *hi);
/* The colour map position of a value under the range in use (NaN for a missing value). */
double hs_heatmap_position(const hs_heatmap *h, double value);

/* Lays the figure out into a new display list (*out, freed with hs_canvas_free). */
hs_status hs_heatmap_draw(hs_heatmap *h, hs_canvas **out, hs_error *err);
/* Draws and writes to path in the given format. */
hs_status hs_heatmap_write(hs_heatmap *h, const char *path, hs_viz_format format, hs_error *err);

/* A visible form of a token's bytes (len bytes, need not be NUL-terminated): space -> "␣",
 * newline -> "↵", tab -> "→", carriage return and other C0 controls and DEL -> "\xNN", C1 controls
 * -> "\u00NN", bytes that are not valid UTF-8 -> "\xNN"; everything else as is. Returns a malloc'd
 * string the caller frees, or NULL when out of memory. */
char *hs_viz_visible_token(const char *tok, size_t len);

#endif
