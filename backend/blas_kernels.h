/* blas_kernels.h — OpenBLAS's kernel choice for CPUs it cannot name (the generic "Prescott"
 * kernels are 2-3x slower than the AVX-512/AVX2 ones): programs call this first thing in main. */
#ifndef HS_BACKEND_BLAS_KERNELS_H
#define HS_BACKEND_BLAS_KERNELS_H

/* When OpenBLAS fell back to its generic kernels, OPENBLAS_CORETYPE is unset and the CPU has
 * AVX-512 (SkylakeX kernels) or AVX2 + FMA (Haswell kernels), sets OPENBLAS_CORETYPE and re-executes
 * the program with the same argv (/proc/self/exe). Returns when nothing is to be done or exec
 * failed. Every program of the project calls it, so the command line and the tests that compare
 * with it compute with the same kernels. */
void hs_pick_blas_kernels(char **argv);

#endif
