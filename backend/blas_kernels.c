/* blas_kernels.c — choosing OpenBLAS's kernels for CPUs it cannot name, at program start. */
#include "backend/blas_kernels.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* OpenBLAS picks its kernels from the CPU's model number when it loads. On a CPU it cannot name
 * (virtual machines often hide the model) it falls back to its generic "Prescott" kernels, two to
 * three times slower than the AVX-512 or AVX2 ones the CPU can run. When that happened, run the
 * program again with OPENBLAS_CORETYPE naming the kernels the CPU supports (read before main, so
 * only a fresh start can change it). A preset OPENBLAS_CORETYPE is always left alone. */
void hs_pick_blas_kernels(char **argv)
{
    const char *core = openblas_get_corename();
    if (getenv("OPENBLAS_CORETYPE") || !core || strcasecmp(core, "prescott") != 0)
        return;
    __builtin_cpu_init();
    const char *want = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "Haswell"
                                                                                         : NULL;
    if (!want || setenv("OPENBLAS_CORETYPE", want, 1) != 0)
        return;
    execv("/proc/self/exe", argv); /* returns only on failure: carry on with the generic kernels */
    unsetenv("OPENBLAS_CORETYPE");
}
