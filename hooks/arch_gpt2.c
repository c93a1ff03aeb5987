/* arch_gpt2.c — placeholder, being written. */
