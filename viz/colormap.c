/* colormap.c — colour maps computed in OKLab (Björn Ottosson's 2020 transform) and gamut-mapped
 * to sRGB by lowering chroma at fixed lightness and hue, so the lightness ramp we design is the
 * lightness that comes out (up to 8-bit rounding). Workload: a few thousand lookups per figure. */
#include "viz/colormap.h"

#include <math.h>

static double srgb_decode(double c) /* sRGB [0,1] -> linear */
{
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

static double srgb_encode(double c) /* linear -> sRGB [0,1] */
{
    return c <= 0.0031308 ? 12.92 * c : 1.055 * pow(c, 1.0 / 2.4) - 0.055;
}

static void oklab_to_linear(double L, double a, double b, double rgb[3])
{
    double l = L + 0.3963377774 * a + 0.2158037573 * b;
    double m = L - 0.1055613458 * a - 0.0638541728 * b;
    double s = L - 0.0894841775 * a - 1.2914855480 * b;
    l = l * l * l, m = m * m * m, s = s * s * s;
    rgb[0] = 4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s;
    rgb[1] = -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s;
    rgb[2] = -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s;
}

double hs_srgb8_lightness(const uint8_t rgb[3])
{
    double r = srgb_decode(rgb[0] / 255.0), g = srgb_decode(rgb[1] / 255.0), b = srgb_decode(rgb[2] / 255.0);
    double l = cbrt(0.4122214708 * r + 0.5363371013 * g + 0.0514459929 * b);
    double m = cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
    double s = cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
    return 0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s;
}

static int in_gamut(const double lin[3])
{
    const double eps = 1e-9;
    return lin[0] >= -eps && lin[0] <= 1 + eps && lin[1] >= -eps && lin[1] <= 1 + eps &&
           lin[2] >= -eps && lin[2] <= 1 + eps;
}

/* OKLCh (hue in degrees) -> 8-bit sRGB, reducing chroma by bisection until the colour fits. */
static void oklch_to_srgb8(double L, double C, double h_deg, uint8_t out[3])
{
    double h = h_deg * M_PI / 180.0, lin[3];
    oklab_to_linear(L, C * cos(h), C * sin(h), lin);
    if (!in_gamut(lin)) {
        double lo = 0, hi = C;
        for (int i = 0; i < 40; i++) {
            double mid = 0.5 * (lo + hi);
            oklab_to_linear(L, mid * cos(h), mid * sin(h), lin);
            if (in_gamut(lin))
                lo = mid;
            else
                hi = mid;
        }
        oklab_to_linear(L, lo * cos(h), lo * sin(h), lin);
    }
    for (int k = 0; k < 3; k++) {
        double v = srgb_encode(fmin(fmax(lin[k], 0.0), 1.0));
        out[k] = (uint8_t)lrint(fmin(fmax(v, 0.0), 1.0) * 255.0);
    }
}

void hs_colormap_rgb(hs_colormap map, double t, uint8_t rgb[3])
{
    if (isnan(t))
        t = 0.5;
    t = fmin(fmax(t, 0.0), 1.0);
    if (map == HS_COLORMAP_DIVERGING) {
        /* s in [-1, 1]: lightness falls and chroma rises with |s|; the hue only picks the side,
         * so equal |s| gives equal lightness and s = 0 is an exact grey */
        double s = 2.0 * t - 1.0, a = fabs(s);
        double L = 0.96 - 0.52 * a;
        double C = 0.19 * sqrt(a);
        if (a == 0.0) {
            uint8_t g = (uint8_t)lrint(srgb_encode(L * L * L) * 255.0); /* OKLab grey: linear = L^3 */
            rgb[0] = rgb[1] = rgb[2] = g;
            return;
        }
        oklch_to_srgb8(L, C, s < 0 ? 255.0 : 28.0, rgb);
        return;
    }
    /* sequential: lightness rises linearly; the hue turns from violet through blue and teal to
     * yellow; chroma swells in the middle, where the gamut has room */
    double L = 0.22 + 0.73 * t;
    double h = 300.0 - 195.0 * t;
    double C = 0.09 + 0.07 * sin(M_PI * t) + 0.03 * t;
    oklch_to_srgb8(L, C, h, rgb);
}

void hs_palette_rgb(int i, uint8_t rgb[3])
{
    /* Tol, "Colour schemes", SRON/EPS/TN/09-002 (2021), the bright qualitative scheme, in order */
    static const uint8_t bright[HS_PALETTE_SIZE][3] = {
        {0x44, 0x77, 0xaa}, {0xee, 0x66, 0x77}, {0x22, 0x88, 0x33}, {0xcc, 0xbb, 0x44},
        {0x66, 0xcc, 0xee}, {0xaa, 0x33, 0x77}, {0xbb, 0xbb, 0xbb},
    };
    const uint8_t *c = bright[i < 0 ? 0 : i % HS_PALETTE_SIZE];
    rgb[0] = c[0], rgb[1] = c[1], rgb[2] = c[2];
}
