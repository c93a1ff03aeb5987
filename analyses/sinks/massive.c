/* massive.c — L2 norms, RMS-normalised magnitudes, sink dimensions and sink tokens, and Sun et al.'s
 * massive-activation rule (definitions in massive.h). */
#include "analyses/sinks/massive.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

void hs_massive_row_norms(const float *x, int64_t n_rows, int64_t row_len, float *out)
{
    for (int64_t r = 0; r < n_rows; r++) {
        const float *row = x + r * row_len;
        double s = 0.0;
        for (int64_t j = 0; j < row_len; j++)
            s += (double)row[j] * row[j];
        out[r] = (float)sqrt(s);
    }
}

void hs_massive_rms_magnitudes(const float *x, int T, int d, float *h)
{
    for (int t = 0; t < T; t++) {
        const float *row = x + (size_t)t * d;
        double s = 0.0;
        for (int j = 0; j < d; j++)
            s += (double)row[j] * row[j];
        double inv = 1.0 / sqrt(s / d + 1e-6);
        float *out = h + (size_t)t * d;
        for (int j = 0; j < d; j++)
            out[j] = (float)(fabs((double)row[j]) * inv);
    }
}

int hs_massive_sink_dims(const float *x_bos, int d, float tau, int max_dims, int *dims)
{
    if (d < 1 || max_dims < 1)
        return 0;
    double s = 0.0;
    for (int j = 0; j < d; j++)
        s += (double)x_bos[j] * x_bos[j];
    double inv = 1.0 / sqrt(s / d + 1e-6);
    /* insertion into a short sorted list: max_dims is a handful */
    int n = 0;
    double *val = malloc((size_t)max_dims * sizeof *val);
    if (!val)
        return 0;
    for (int j = 0; j < d; j++) {
        double h = fabs((double)x_bos[j]) * inv;
        if (tau > 0.0f && !(h > (double)tau))
            continue;
        if (n == max_dims && !(h > val[n - 1]))
            continue;
        int p = n < max_dims ? n++ : n - 1;
        while (p > 0 && h > val[p - 1]) {
            val[p] = val[p - 1];
            dims[p] = dims[p - 1];
            p--;
        }
        val[p] = h;
        dims[p] = j;
    }
    free(val);
    return n;
}

int hs_massive_token_sinks(const float *x, int T, int d, const int *dims, int n_dims, float tau, float *score,
                           unsigned char *is_sink)
{
    int count = 0;
    for (int t = 0; t < T; t++) {
        const float *row = x + (size_t)t * d;
        double s = 0.0;
        for (int j = 0; j < d; j++)
            s += (double)row[j] * row[j];
        double inv = 1.0 / sqrt(s / d + 1e-6);
        double best = 0.0;
        for (int j = 0; j < n_dims; j++) {
            double h = fabs((double)row[dims[j]]) * inv;
            if (h > best)
                best = h;
        }
        int sink = n_dims > 0 && best > (double)tau;
        count += sink;
        if (score)
            score[t] = (float)best;
        if (is_sink)
            is_sink[t] = (unsigned char)sink;
    }
    return count;
}

/* The k-th smallest of a[0..n-1] (0-based), reordering a: Hoare's selection, expected O(n). */
static float select_kth(float *a, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = a[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                float tmp = a[i];
                a[i++] = a[j];
                a[j--] = tmp;
            }
        }
        /* a[lo..j] <= pivot <= a[i..hi]; anything between equals the pivot */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

hs_status hs_massive_sun(const float *x, int T, int d, float min_abs, float min_ratio, int *count_per_pos,
                         float *median_out, int64_t *n_massive_out, hs_error *err)
{
    if (!x || T < 1 || d < 1)
        return hs_fail(err, HS_ERR_ARG, "massive activations: empty [%d, %d] hidden states", T, d);
    size_t n = (size_t)T * d;
    float *mag = malloc(n * sizeof *mag);
    if (!mag)
        return hs_fail(err, HS_ERR_NOMEM, "massive activations: out of memory for %zu activations", n);
    for (size_t i = 0; i < n; i++)
        mag[i] = fabsf(x[i]);
    float median = select_kth(mag, (int64_t)n, ((int64_t)n - 1) / 2);
    free(mag);
    double floor_ratio = (double)min_ratio * median;
    int64_t total = 0;
    for (int t = 0; t < T; t++) {
        int c = 0;
        for (int j = 0; j < d; j++) {
            double a = fabs((double)x[(size_t)t * d + j]);
            c += a > (double)min_abs && a > floor_ratio;
        }
        if (count_per_pos)
            count_per_pos[t] = c;
        total += c;
    }
    if (median_out)
        *median_out = median;
    if (n_massive_out)
        *n_massive_out = total;
    return HS_OK;
}
