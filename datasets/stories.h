/* stories.h — synthetic natural-ish text for the training corpus: short template stories whose two or
 * three characters recur (so the model sees names repeat, and induction heads have something to copy),
 * and blocks of random words repeated two to four times (the cleanest induction signal in text). */
#ifndef HS_DATASETS_STORIES_H
#define HS_DATASETS_STORIES_H

#include <stddef.h>

#include "datasets/rng.h"

/* Room for any text below. */
#define HS_STORY_MAX 4096

/* A story of 5 to 11 sentences ("Once upon a time, Mary and Tom lived near the park. ..."), drawn from
 * every list of task_words.h (train and held-out words alike: held-out names are still names the model
 * should know; only the task prompts keep them apart). Writes NUL-terminated text; returns its length. */
size_t hs_story(hs_rng *r, char out[HS_STORY_MAX]);

/* Four to twelve random words (names, colours, animals, foods, objects, numbers), the block repeated
 * two to four times: "red lion 42 Paris red lion 42 Paris". Returns the length. */
size_t hs_repeated_words(hs_rng *r, char out[HS_STORY_MAX]);

#endif
