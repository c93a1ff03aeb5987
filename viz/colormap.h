/* colormap.h — computed colour maps: a perceptually uniform sequential map and a diverging map
 * centred on zero, both built in OKLab (no stored tables), returned as 8-bit sRGB; and a small
 * qualitative palette for telling series apart (lines, bars). */
#ifndef HS_VIZ_COLORMAP_H
#define HS_VIZ_COLORMAP_H

#include <stdint.h>

typedef enum hs_colormap {
    HS_COLORMAP_SEQUENTIAL = 0, /* dark violet -> teal -> pale yellow; OKLab lightness rises strictly */
    HS_COLORMAP_DIVERGING       /* blue -> neutral grey at 0.5 -> red; lightness symmetric about 0.5 */
} hs_colormap;

/* Maps t in [0, 1] (clamped; NaN reads as 0.5) to 8-bit sRGB in rgb[3]. The 8-bit value is the
 * answer: every renderer writes exactly these bytes, so a PNG pixel can be compared to it. */
void hs_colormap_rgb(hs_colormap map, double t, uint8_t rgb[3]);

/* OKLab lightness (0 black .. 1 white) of an 8-bit sRGB colour; used by the tests and by callers
 * that pick a readable text colour over a cell. */
double hs_srgb8_lightness(const uint8_t rgb[3]);

/* The qualitative palette: Paul Tol's "bright" scheme (blue, red, green, yellow, cyan, purple,
 * grey), whose colours stay distinct under the common colour-vision deficiencies and read on
 * white. Series i takes colour i mod HS_PALETTE_SIZE (negative i reads as 0), so more series than
 * colours repeat them: give those colours of their own. */
#define HS_PALETTE_SIZE 7
void hs_palette_rgb(int i, uint8_t rgb[3]);

#endif
