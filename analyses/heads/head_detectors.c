/* head_detectors.c — TransformerLens detection patterns and scores, retrieval (echo/induction)
 * scores, attention distance and entropy of one head's pattern. Sums in double. */
#include "analyses/heads/head_detectors.h"

#include <math.h>
#include <string.h>

void hs_detect_previous_token(int T, float *D)
{
    memset(D, 0, (size_t)T * (size_t)T * sizeof *D);
    for (int i = 1; i < T; i++)
        D[(size_t)i * T + (size_t)(i - 1)] = 1.0f;
}

void hs_detect_duplicate_token(const int32_t *ids, int T, float *D)
{
    memset(D, 0, (size_t)T * (size_t)T * sizeof *D);
    for (int i = 0; i < T; i++)
        for (int k = 0; k < i; k++)
            if (ids[k] == ids[i])
                D[(size_t)i * T + (size_t)k] = 1.0f;
}

void hs_detect_induction(const int32_t *ids, int T, float *D)
{
    memset(D, 0, (size_t)T * (size_t)T * sizeof *D);
    /* the duplicate pattern shifted one column right: key k marks a copy of tok[i] at k-1 < i;
     * k = i is included (tok[i-1] == tok[i]), as TL's roll-then-tril keeps it */
    for (int i = 0; i < T; i++)
        for (int k = 1; k <= i; k++)
            if (ids[k - 1] == ids[i])
                D[(size_t)i * T + (size_t)k] = 1.0f;
}

double hs_detect_score_mul(const float *A, const float *D, int T, const unsigned char *row_kept,
                           const hs_detect_options *opt)
{
    double num = 0, den = 0;
    for (int i = 0; i < T; i++) {
        if (row_kept && !row_kept[i])
            continue;
        const float *a = A + (size_t)i * T, *d = D + (size_t)i * T;
        for (int k = 0; k < T; k++) {
            if ((opt->exclude_bos && k == 0) || (opt->exclude_current_token && k == i))
                continue;
            den += a[k];
            num += (double)a[k] * d[k];
        }
    }
    return den > 0 ? num / den : NAN;
}

void hs_retrieval_scores(const float *A, int T, int offset, int block_len, int copies,
                         const unsigned char *row_kept, double *echo, double *induction)
{
    double se = 0, si = 0;
    int n = 0;
    int end = offset + copies * block_len;
    if (end > T)
        end = T;
    for (int i = offset + block_len; block_len > 0 && i < end; i++) {
        if (row_kept && !row_kept[i])
            continue;
        const float *a = A + (size_t)i * T;
        se += a[i - block_len];
        si += a[i - block_len + 1];
        n++;
    }
    *echo = n ? se / n : NAN;
    *induction = n ? si / n : NAN;
}

double hs_attention_distance(const float *A, int T, const unsigned char *row_kept)
{
    double sum = 0;
    int n = 0;
    for (int i = 0; i < T; i++) {
        if (row_kept && !row_kept[i])
            continue;
        const float *a = A + (size_t)i * T;
        double d = 0;
        for (int k = 0; k <= i; k++)
            d += (double)a[k] * (i - k);
        sum += d;
        n++;
    }
    return n ? sum / n : NAN;
}

double hs_attention_entropy(const float *A, int T, const unsigned char *row_kept)
{
    double sum = 0;
    int n = 0;
    for (int i = 0; i < T; i++) {
        if (row_kept && !row_kept[i])
            continue;
        const float *a = A + (size_t)i * T;
        double h = 0;
        for (int k = 0; k <= i; k++)
            if (a[k] > 0)
                h -= (double)a[k] * log((double)a[k]);
        sum += h;
        n++;
    }
    return n ? sum / n : NAN;
}
