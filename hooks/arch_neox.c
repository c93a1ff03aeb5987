/* arch_neox.c — placeholder, being written. */
