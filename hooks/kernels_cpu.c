/* kernels_cpu.c — placeholder, being written. */
