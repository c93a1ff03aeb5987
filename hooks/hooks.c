/* hooks.c — placeholder, being written. */
