/* tokenizer.c — placeholder, being written. */
