/* hf_config.c — placeholder, being written. */
