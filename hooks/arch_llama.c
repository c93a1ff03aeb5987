/* arch_llama.c — placeholder, being written. */
