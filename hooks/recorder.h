/* recorder.h — recording a prompt set into the store: which hooks, layers, heads and positions to
 * keep, in which dtype, and the loop that runs each prompt in its own transaction (resumable). */
#ifndef HS_HOOKS_RECORDER_H
#define HS_HOOKS_RECORDER_H

#include "headscope.h"
#include "base/dtype.h"
#include "datasets/prompts.h"
#include "store/store.h"

#define HS_RECORD_MAX_RANGES 64

/* Index ranges such as "0-5,7,-1" (negative = from the end, resolved against a length). */
typedef struct hs_index_ranges {
    int all;                 /* "all": every index */
    int n;
    int lo[HS_RECORD_MAX_RANGES], hi[HS_RECORD_MAX_RANGES]; /* inclusive, may be negative */
} hs_index_ranges;

typedef struct hs_record_options {
    uint32_t hooks;          /* bit (1u << kind) per hs_hook_kind to store */
    hs_index_ranges layers, heads, positions;
    /* per kind, the layers --record named (blocks.3.hook_z): n == 0 when the kind was named without
     * a layer (it then follows `layers`); else only these, each of which must be among `layers` */
    hs_index_ranges hook_layers[HS_HOOK_KIND_COUNT];
    hs_dtype dtype;          /* F16 (default), F32 or BF16 */
    int summaries;           /* per-head attention summaries into head_scores (default on) */
} hs_record_options;

/* Defaults: attention patterns, z and resid_post of every layer, head and position, float16,
 * summaries on. */
void hs_record_options_default(hs_record_options *opt);

/* Sets opt->hooks and opt->hook_layers from --record: "all", or a comma-separated list of short
 * names (the hook name after "hook_", e.g. pattern, z, q, result, attn_out, resid_pre, mlp_post,
 * logits; ln scales as ln1.scale / ln2.scale / ln_final.scale), kind names ("attn.hook_pattern"),
 * TransformerLens's bare hook names ("hook_pattern", refused when several kinds end so, as
 * hook_scale does) and full names: "blocks.3.attn.hook_z" (that layer only; several such names add
 * layers) or "blocks.*.attn.hook_z" (every layer). A kind also named without a layer records every
 * layer. Layers are checked against the model and --layers by hs_record_options_check. */
hs_status hs_record_parse_hooks(const char *spec, hs_record_options *opt, hs_error *err);
/* "all" or comma-separated ranges "a-b" / "a" (negative allowed when allow_negative). */
hs_status hs_index_ranges_parse(const char *spec, int allow_negative, const char *what, hs_index_ranges *out,
                                hs_error *err);
/* Whether index i (0 <= i < len) is selected. */
int hs_index_ranges_has(const hs_index_ranges *r, int i, int len);
/* The selection as written canonically: "all", or "0-5,7". */
void hs_index_ranges_text(const hs_index_ranges *r, char *buf, size_t cap);
/* Canonical JSON of the options, for the run's identity and provenance (malloc'd, caller frees). */
char *hs_record_options_json(const hs_record_options *opt);

/* Checks the selection against the model before anything is recorded: --layers, --heads or a
 * --record blocks.L.NAME naming a layer or head it does not have are HS_ERR_RANGE, with a message
 * naming the option and the model's range; a layer named in --record that --layers leaves out is
 * HS_ERR_ARG (the two contradict each other). */
hs_status hs_record_options_check(const hs_record_options *opt, const hs_model *m, hs_error *err);

/* Whether the recorder stores hook point hp (its kind in --record, its layer in --layers and among
 * the layers --record named for it). What the recorder writes and what the estimate counts. */
int hs_record_stores(const hs_record_options *opt, const hs_hook_point *hp, int n_layers);
/* The selected positions of a prompt of T tokens into sel [T]; returns how many. */
int hs_record_select_positions(const hs_index_ranges *positions, int T, int *sel);

/* A prompt set tokenised with the model's BOS rule and checked against its context. */
typedef struct hs_tokenized_set {
    int n;
    int32_t **ids;  /* [n] arrays */
    size_t *n_ids;  /* [n] */
    char **text;    /* [n] what prompts.text stores: the prompt's own text, or for a token-id prompt
                     * without one, its ids decoded by the model's tokenizer (the ids in decimal,
                     * space-separated, when the model has none) */
} hs_tokenized_set;

/* Tokenises every prompt (a prompt with "tokens" is taken verbatim: no BOS is added, and the model
 * needs no tokenizer for it); a prompt that encodes to nothing, is longer than the model's context
 * or holds an id outside the vocabulary is an error naming its line. Run it before opening the
 * store, so bad input writes nothing. */
hs_status hs_record_tokenize(const hs_model *m, const hs_prompt_set *set, hs_tokenized_set **out, hs_error *err);
void hs_tokenized_set_free(hs_tokenized_set *ts);

/* How a prompt set falls short of --positions. A prompt is short when a position the selection
 * names lies beyond its end (10 in a prompt of 5 tokens, -6 in one of 5): it keeps the positions
 * it has, and one with none of them stores its tokens and summaries but no activations. */
typedef struct hs_positions_shortfall {
    int needed;                  /* tokens a prompt needs to hold every named position (0: "all") */
    int n_short;                 /* prompts with fewer tokens */
    int n_empty;                 /* of those, prompts with none of the positions */
    int first_line, first_len;   /* the first short prompt: its line and its token count */
} hs_positions_shortfall;

void hs_record_positions_shortfall(const hs_record_options *opt, const hs_prompt_set *set,
                                   const hs_tokenized_set *ts, hs_positions_shortfall *out);

typedef struct hs_record_progress {
    int done, total;         /* prompts finished in this run so far (recorded or skipped), and all */
    int skipped;             /* prompts already recorded by an earlier, interrupted invocation */
    int64_t tokens;          /* tokens processed in this invocation */
} hs_record_progress;

/* Called after each prompt (recorded or found recorded); nonzero asks to stop there. */
typedef int (*hs_record_progress_fn)(void *user, const hs_record_progress *p);

/* Records every prompt of `set` (tokenised as `ts`) not yet recorded for run_id, each in its own
 * transaction: prompt row, tokens, selected activations, per-head summaries. On failure the
 * current prompt is rolled back and the store keeps every completed prompt, so the same call
 * resumes. When `progress` asks to stop with prompts left, returns HS_ERR_CALLBACK, every prompt
 * done so far kept. */
hs_status hs_record_prompts(const hs_model *m, const hs_prompt_set *set, const hs_tokenized_set *ts, hs_store *store,
                            int64_t run_id, const hs_record_options *opt, hs_record_progress_fn progress, void *user,
                            hs_error *err);

#endif
