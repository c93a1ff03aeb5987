/* generate.c — placeholder, being written. */
