/* kernels_ref.c — placeholder, being written. */
