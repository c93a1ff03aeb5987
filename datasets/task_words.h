/* task_words.h — the word lists the prompt-set generators draw from (names, places, objects,
 * colours, nations and capitals, ...), each split into a train part and a disjoint held-out part
 * where the task allows, and the list of them all that the tokenizer trainer forces to be single
 * tokens. Every word is one GPT-2 pre-token (letters only), is used after a space (" Mary"), and with
 * the space is also a single token of GPT-2's own tokenizer, so the sets serve GPT-2 small as well. */
#ifndef HS_DATASETS_TASK_WORDS_H
#define HS_DATASETS_TASK_WORDS_H

#include <stdint.h>

#include "headscope.h"

/* A list whose train and held-out parts are disjoint. */
typedef struct hs_word_list {
    const char *const *train;
    int n_train;
    const char *const *heldout;
    int n_heldout;
} hs_word_list;

extern const hs_word_list hs_words_names;   /* people (IOI, stories, MCQ) */
extern const hs_word_list hs_words_places;  /* IOI places ("went to the store") */
extern const hs_word_list hs_words_objects; /* IOI objects ("gave a drink to") */
extern const hs_word_list hs_words_items;   /* colored objects ("a red ball") */
extern const hs_word_list hs_words_events;  /* greater-than nouns ("The war lasted from ...") */
extern const hs_word_list hs_words_animals; /* MCQ and stories */
extern const hs_word_list hs_words_foods;   /* MCQ and stories */

/* Colours: one list for both splits (the answers of colored objects). */
extern const char *const hs_words_colors[];
extern const int hs_n_colors;

typedef struct hs_nation {
    const char *nation, *capital;
} hs_nation;

/* Nations with one-word names and capitals: one table for both splits (facts cannot be held out;
 * factual recall holds out templates instead). */
extern const hs_nation hs_nations[];
extern const int hs_n_nations;

/* Every word above, once, with a leading space (" Mary"), plus the capital letters " A".." Z" (MCQ
 * choices, MQAR keys): what
 * `headscope tokenizer train --task-tokens` forces to be single tokens. *words_out is a malloc'd
 * array of *n_out malloc'd strings: free it with hs_task_words_free. */
hs_status hs_task_words(char ***words_out, int *n_out, hs_error *err);
void hs_task_words_free(char **words, int n);

/* The ids of the task words that `tok` encodes as one token each (" Mary" -> one id): a vocabulary
 * of whole words the toy models were trained on, for probes such as repeated random blocks.
 * *ids_out is malloc'd (*n_out ids, in word order); the caller frees it. */
hs_status hs_task_word_ids(const hs_tokenizer *tok, int32_t **ids_out, int *n_out, hs_error *err);

#endif
