/* top_k.h — the k largest (or smallest) of n values, in order: the selection every lens table
 * stores (top tokens of a distribution, tokens a component promotes or suppresses). */
#ifndef HS_ANALYSES_LENS_TOP_K_H
#define HS_ANALYSES_LENS_TOP_K_H

#include <stdint.h>

/* Writes to idx [k] the indices of the k largest values of x [n] when sign > 0, largest first, or
 * of the k smallest when sign < 0, smallest first. Ties go to the lower index; NaN never ranks.
 * Requires 0 <= k <= n; slots NaN left unfilled hold -1. One pass, O(n·k) worst case and O(n) for the usual k << n. */
void hs_top_k(const float *x, int n, int k, int sign, int32_t *idx);

#endif
