/* byte_level.h — GPT-2's reversible map between the 256 byte values and printable Unicode
 * characters, which byte-level BPE vocabularies are written in (a space is "Ġ", U+0120). */
#ifndef HS_TOKENIZER_BYTE_LEVEL_H
#define HS_TOKENIZER_BYTE_LEVEL_H

#include <stddef.h>
#include <stdint.h>

/* The character that stands for byte b. */
uint32_t hs_byte_level_char(uint8_t b);
/* The byte a character stands for, or -1 when it is not one of the 256. */
int hs_byte_level_byte(uint32_t c);

/* Writes the mapped form of n raw bytes to out (room for 2n bytes) and returns its length. */
size_t hs_byte_level_encode(const uint8_t *in, size_t n, char *out);
/* Maps a piece written in mapped characters back to raw bytes in out (room for n bytes).
 * Returns the number of bytes, or -1 when the piece holds a character outside the map or is
 * not valid UTF-8 (the caller then keeps the piece's own bytes, as Hugging Face does). */
long hs_byte_level_decode(const char *s, size_t n, uint8_t *out);

/* The pre-tokenizer regex of GPT-2, which ByteLevel(use_regex=true) splits with. */
extern const char hs_gpt2_split_pattern[];

#endif
