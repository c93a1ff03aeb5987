/* llama2c.c — placeholder, being written. */
