/* top_k.c — selection of the k extreme values by insertion into a sorted list of k: vocabularies
 * are 10^4..10^5 and k is at most a few dozen, so after the first values almost every candidate
 * is rejected by one comparison with the current k-th. */
#include "analyses/lens/top_k.h"

void hs_top_k(const float *x, int n, int k, int sign, int32_t *idx)
{
    if (k <= 0)
        return;
    float s = sign < 0 ? -1.0f : 1.0f;
    int have = 0;
    for (int i = 0; i < n; i++) {
        float v = s * x[i];
        if (v != v) /* NaN */
            continue;
        if (have == k && !(v > s * x[idx[k - 1]]))
            continue;
        int j = have < k ? have++ : k - 1;
        /* strictly better than the one above: move it down (equal values keep the lower index first) */
        while (j > 0 && v > s * x[idx[j - 1]]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    for (int j = have; j < k; j++) /* only when NaNs left fewer than k candidates */
        idx[j] = -1;
}
