/* tensor.c — helpers on hs_tensor views. */
#include "headscope.h"

int64_t hs_tensor_numel(const hs_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}
