/* tokenizer_hf.c — Hugging Face tokenizer.json (and tokenizer_config.json beside it): the BPE
 * model, added tokens, and the pipeline components real models use. Anything else is
 * HS_ERR_UNSUPPORTED naming the field, e.g. `normalizer.type "Lowercase" is not supported`. */
#include "tokenizer/tokenizer.h"
#include "tokenizer/byte_level.h"
#include "base/error.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What every parser below needs to fill the tokenizer and name the file and field at fault. */
typedef struct ctx {
    hs_tokenizer *tok;
    const char *path;
    hs_error *err;
} ctx;

/* Fails with "path: field: message". */
static hs_status fail(const ctx *c, hs_status st, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static hs_status fail(const ctx *c, hs_status st, const char *field, const char *fmt, ...)
{
    char msg[HS_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return hs_fail(c->err, st, "%s: %s: %s", c->path, field, msg);
}

static hs_status unsupported(const ctx *c, const char *field, const char *type)
{
    return hs_fail(c->err, HS_ERR_UNSUPPORTED, "%s: %s.type \"%.64s\" is not supported", c->path, field, type);
}

/* ---------------------------------------------------------------- typed field access */

/* obj[key] as a bool; absent or null gives dflt. */
static hs_status get_bool(const ctx *c, const json_t *obj, const char *field, const char *key, int dflt, int *out)
{
    const json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return HS_OK;
    if (!json_is_boolean(v))
        return fail(c, HS_ERR_FORMAT, field, "%s: expected true or false", key);
    *out = json_is_true(v);
    return HS_OK;
}

/* obj[key] as a string (*s NULL when absent or null and not required). */
static hs_status get_str(const ctx *c, const json_t *obj, const char *field, const char *key, int required,
                         const char **s, size_t *len)
{
    const json_t *v = json_object_get(obj, key);
    *s = NULL;
    *len = 0;
    if (!v || json_is_null(v))
        return required ? fail(c, HS_ERR_MISSING, field, "%s is missing", key) : HS_OK;
    if (!json_is_string(v))
        return fail(c, HS_ERR_FORMAT, field, "%s: expected a string", key);
    *s = json_string_value(v);
    *len = json_string_length(v);
    return HS_OK;
}

static hs_status get_int(const ctx *c, const json_t *obj, const char *field, const char *key, json_int_t lo,
                         json_int_t hi, json_int_t dflt, json_int_t *out)
{
    const json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return HS_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return fail(c, HS_ERR_FORMAT, field, "%s: expected an integer in %lld..%lld", key, (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    return HS_OK;
}

/* The component's "type" (required). */
static hs_status get_type(const ctx *c, const json_t *obj, const char *field, const char **type)
{
    size_t len;
    if (!json_is_object(obj))
        return fail(c, HS_ERR_FORMAT, field, "expected an object or null");
    return get_str(c, obj, field, "type", 1, type, &len);
}

/* obj["pattern"] = {"String": s} or {"Regex": r}. */
static hs_status get_pattern(const ctx *c, const json_t *obj, const char *field, hs_tok_pattern *p)
{
    const json_t *pat = json_object_get(obj, "pattern");
    const json_t *str = json_object_get(pat, "String"), *re = json_object_get(pat, "Regex");
    hs_status st;
    if (json_is_string(str)) {
        if (hs_tok_pattern_literal(p, json_string_value(str), json_string_length(str)) != HS_OK)
            return fail(c, HS_ERR_NOMEM, field, "out of memory");
        return HS_OK;
    }
    if (json_is_string(re)) {
        if ((st = hs_tok_pattern_regex(p, json_string_value(re), json_string_length(re), c->err)) != HS_OK)
            hs_error_prefix(c->err, "%s: %s.pattern", c->path, field);
        return st;
    }
    return fail(c, pat ? HS_ERR_FORMAT : HS_ERR_MISSING, field, "pattern: expected {\"String\": ...} or {\"Regex\": ...}");
}

/* A one-character string (Metaspace replacement, Strip content), copied NUL-terminated. */
static hs_status get_char(const ctx *c, const json_t *obj, const char *field, const char *key, char *buf,
                          size_t cap, size_t *len)
{
    const char *s;
    hs_status st = get_str(c, obj, field, key, 1, &s, len);
    if (st != HS_OK)
        return st;
    uint32_t cp;
    if (*len == 0 || *len >= cap || hs_utf8_decode(s, *len, &cp) != *len)
        return fail(c, HS_ERR_FORMAT, field, "%s: expected one character", key);
    memcpy(buf, s, *len);
    buf[*len] = '\0';
    return HS_OK;
}

static hs_status get_prepend_scheme(const ctx *c, const json_t *obj, const char *field, hs_prepend_scheme *out)
{
    const char *s;
    size_t len;
    hs_status st = get_str(c, obj, field, "prepend_scheme", 0, &s, &len);
    if (st != HS_OK)
        return st;
    if (!s) { /* before prepend_scheme there was add_prefix_space */
        int add;
        if ((st = get_bool(c, obj, field, "add_prefix_space", 1, &add)) != HS_OK)
            return st;
        *out = add ? HS_PREPEND_ALWAYS : HS_PREPEND_NEVER;
    } else if (strcmp(s, "always") == 0) {
        *out = HS_PREPEND_ALWAYS;
    } else if (strcmp(s, "first") == 0) {
        *out = HS_PREPEND_FIRST;
    } else if (strcmp(s, "never") == 0) {
        *out = HS_PREPEND_NEVER;
    } else {
        return fail(c, HS_ERR_UNSUPPORTED, field, "prepend_scheme \"%.32s\" is not supported", s);
    }
    return HS_OK;
}

/* The i-th element of obj[key] (an array) and its field name, for Sequence components. */
static hs_status get_array(const ctx *c, const json_t *obj, const char *field, const char *key, const json_t **arr)
{
    *arr = json_object_get(obj, key);
    if (!json_is_array(*arr))
        return fail(c, *arr ? HS_ERR_FORMAT : HS_ERR_MISSING, field, "%s: expected an array", key);
    return HS_OK;
}

static hs_status too_many(const ctx *c, const char *field)
{
    return fail(c, HS_ERR_UNSUPPORTED, field, "more than %d steps", HS_TOK_MAX_STEPS);
}

/* ---------------------------------------------------------------- model */

/* One merge: "left right" or ["left", "right"]. */
static hs_status parse_merge(const ctx *c, const json_t *m, int32_t rank)
{
    char field[64];
    snprintf(field, sizeof field, "model.merges[%d]", rank);
    const char *a, *b;
    size_t a_len, b_len;
    if (json_is_string(m)) {
        a = json_string_value(m);
        size_t len = json_string_length(m);
        const char *sp = memchr(a, ' ', len);
        if (!sp || memchr(sp + 1, ' ', len - (size_t)(sp + 1 - a)))
            return fail(c, HS_ERR_FORMAT, field, "expected two pieces separated by one space");
        a_len = (size_t)(sp - a);
        b = sp + 1;
        b_len = len - a_len - 1;
    } else if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
               json_is_string(json_array_get(m, 1))) {
        a = json_string_value(json_array_get(m, 0));
        a_len = json_string_length(json_array_get(m, 0));
        b = json_string_value(json_array_get(m, 1));
        b_len = json_string_length(json_array_get(m, 1));
    } else {
        return fail(c, HS_ERR_FORMAT, field, "expected \"left right\" or [\"left\", \"right\"]");
    }
    hs_status st = hs_tok_add_merge_pieces(c->tok, a, a_len, b, b_len, rank, c->err);
    if (st != HS_OK)
        hs_error_prefix(c->err, "%s: %s", c->path, field);
    return st;
}

static hs_status parse_model(const ctx *c, const json_t *m)
{
    hs_bpe *bpe = &c->tok->bpe;
    const char *type, *s;
    size_t len;
    hs_status st;
    if (!json_is_object(m))
        return fail(c, m ? HS_ERR_FORMAT : HS_ERR_MISSING, "model", "expected an object");
    if ((st = get_str(c, m, "model", "type", 0, &type, &len)) != HS_OK)
        return st;
    if (type && strcmp(type, "BPE") != 0)
        return unsupported(c, "model", type);
    const json_t *dropout = json_object_get(m, "dropout");
    if (dropout && !json_is_null(dropout) && !(json_is_number(dropout) && json_number_value(dropout) == 0))
        return fail(c, HS_ERR_UNSUPPORTED, "model", "dropout is not supported");
    static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        if ((st = get_str(c, m, "model", affixes[i], 0, &s, &len)) != HS_OK)
            return st;
        if (s && len > 0)
            return fail(c, HS_ERR_UNSUPPORTED, "model", "%s is not supported", affixes[i]);
    }

    const json_t *vocab = json_object_get(m, "vocab");
    if (!json_is_object(vocab))
        return fail(c, vocab ? HS_ERR_FORMAT : HS_ERR_MISSING, "model", "vocab: expected an object");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)vocab, key, val) {
        json_int_t id = json_is_integer(val) ? json_integer_value(val) : -1;
        if (id < 0 || id >= HS_VOCAB_MAX_ID)
            return fail(c, HS_ERR_FORMAT, "model.vocab", "\"%.64s\": the id must be an integer in 0..%d", key,
                        HS_VOCAB_MAX_ID - 1);
        if ((st = hs_vocab_set(&bpe->vocab, (int32_t)id, key, strlen(key), 1, c->err)) != HS_OK) {
            hs_error_prefix(c->err, "%s: model.vocab", c->path);
            return st;
        }
    }
    const json_t *merges;
    if ((st = get_array(c, m, "model", "merges", &merges)) != HS_OK)
        return st;
    for (size_t i = 0; i < json_array_size(merges); i++)
        if ((st = parse_merge(c, json_array_get(merges, i), (int32_t)i)) != HS_OK)
            return st;

    if ((st = get_str(c, m, "model", "unk_token", 0, &s, &len)) != HS_OK)
        return st;
    bpe->unk_id = s ? hs_vocab_find(&bpe->vocab, s, len) : -1;
    int byte_fallback;
    if ((st = get_bool(c, m, "model", "fuse_unk", 0, &bpe->fuse_unk)) != HS_OK ||
        (st = get_bool(c, m, "model", "ignore_merges", 0, &bpe->ignore_merges)) != HS_OK ||
        (st = get_bool(c, m, "model", "byte_fallback", 0, &byte_fallback)) != HS_OK)
        return st;
    if (byte_fallback)
        hs_tok_use_byte_fallback(c->tok);
    return HS_OK;
}

/* ---------------------------------------------------------------- added tokens */

static hs_status parse_added(const ctx *c, const json_t *list)
{
    if (!list || json_is_null(list))
        return HS_OK;
    if (!json_is_array(list))
        return fail(c, HS_ERR_FORMAT, "added_tokens", "expected an array");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *o = json_array_get(list, i);
        char field[64];
        snprintf(field, sizeof field, "added_tokens[%zu]", i);
        if (!json_is_object(o))
            return fail(c, HS_ERR_FORMAT, field, "expected an object");
        hs_added_token t = {0};
        json_int_t id = -1;
        int b[5];
        const char *content;
        hs_status st;
        if ((st = get_int(c, o, field, "id", 0, HS_VOCAB_MAX_ID - 1, -1, &id)) != HS_OK ||
            (st = get_str(c, o, field, "content", 1, &content, &t.len)) != HS_OK ||
            (st = get_bool(c, o, field, "single_word", 0, &b[0])) != HS_OK ||
            (st = get_bool(c, o, field, "lstrip", 0, &b[1])) != HS_OK ||
            (st = get_bool(c, o, field, "rstrip", 0, &b[2])) != HS_OK ||
            (st = get_bool(c, o, field, "normalized", 1, &b[3])) != HS_OK ||
            (st = get_bool(c, o, field, "special", 0, &b[4])) != HS_OK)
            return st;
        if (id < 0)
            return fail(c, HS_ERR_MISSING, field, "id is missing");
        t.id = (int32_t)id;
        t.content = (char *)content;
        t.single_word = (unsigned char)b[0];
        t.lstrip = (unsigned char)b[1];
        t.rstrip = (unsigned char)b[2];
        t.normalized = (unsigned char)b[3];
        t.special = (unsigned char)b[4];
        if ((st = hs_tok_add_token(c->tok, &t, c->err)) != HS_OK) {
            hs_error_prefix(c->err, "%s: %s", c->path, field);
            return st;
        }
    }
    return HS_OK;
}

/* A component parser: reads the JSON object j (named `field` in messages) into c->tok. */
typedef hs_status (*component_parser)(const ctx *c, const json_t *j, const char *field);

/* {"type": "Sequence", key: [...]}: parses each element with `parse`, naming it field.key[i]. */
static hs_status parse_sequence(const ctx *c, const json_t *j, const char *field, const char *key,
                                component_parser parse)
{
    const json_t *arr;
    hs_status st = get_array(c, j, field, key, &arr);
    if (st != HS_OK)
        return st;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s.%s[%zu]", field, key, i);
        if ((st = parse(c, json_array_get(arr, i), sub)) != HS_OK)
            return st;
    }
    return HS_OK;
}

/* ---------------------------------------------------------------- normalizers */

static hs_status parse_normalizer(const ctx *c, const json_t *j, const char *field)
{
    hs_tokenizer *tok = c->tok;
    const char *type;
    hs_status st;
    if (!j || json_is_null(j))
        return HS_OK;
    if ((st = get_type(c, j, field, &type)) != HS_OK)
        return st;
    if (strcmp(type, "Sequence") == 0)
        return parse_sequence(c, j, field, "normalizers", parse_normalizer);
    static const struct { const char *name; hs_norm_kind kind; } forms[] = {
        {"NFC", HS_NORM_NFC}, {"NFD", HS_NORM_NFD}, {"NFKC", HS_NORM_NFKC}, {"NFKD", HS_NORM_NFKD},
        {"Prepend", HS_NORM_PREPEND}, {"Replace", HS_NORM_REPLACE}};
    int k = 0;
    while (k < 6 && strcmp(type, forms[k].name) != 0)
        k++;
    if (k == 6)
        return unsupported(c, field, type);
    if (tok->n_norm == HS_TOK_MAX_STEPS)
        return too_many(c, field);
    hs_tok_normalizer *step = &tok->norm[tok->n_norm++];
    step->kind = forms[k].kind;
    if (step->kind != HS_NORM_PREPEND && step->kind != HS_NORM_REPLACE)
        return HS_OK;
    if (step->kind == HS_NORM_REPLACE && (st = get_pattern(c, j, field, &step->pattern)) != HS_OK)
        return st;
    const char *s;
    size_t len;
    if ((st = get_str(c, j, field, step->kind == HS_NORM_PREPEND ? "prepend" : "content", 1, &s, &len)) != HS_OK)
        return st;
    if (!(step->content = malloc(len + 1)))
        return fail(c, HS_ERR_NOMEM, field, "out of memory");
    memcpy(step->content, s, len + 1);
    step->content_len = len;
    return HS_OK;
}

/* ---------------------------------------------------------------- pre-tokenizers */

static hs_status parse_behavior(const ctx *c, const json_t *j, const char *field, hs_split_behavior *out)
{
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    const char *s;
    size_t len;
    hs_status st = get_str(c, j, field, "behavior", 1, &s, &len);
    if (st != HS_OK)
        return st;
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (hs_split_behavior)i;
            return HS_OK;
        }
    return fail(c, HS_ERR_UNSUPPORTED, field, "behavior \"%.32s\" is not supported", s);
}

static hs_status parse_pretok(const ctx *c, const json_t *j, const char *field)
{
    hs_tokenizer *tok = c->tok;
    const char *type;
    hs_status st;
    if (!j || json_is_null(j))
        return HS_OK;
    if ((st = get_type(c, j, field, &type)) != HS_OK)
        return st;
    if (strcmp(type, "Sequence") == 0)
        return parse_sequence(c, j, field, "pretokenizers", parse_pretok);
    if (strcmp(type, "ByteLevel") != 0 && strcmp(type, "Split") != 0 && strcmp(type, "Metaspace") != 0 &&
        strcmp(type, "Digits") != 0)
        return unsupported(c, field, type);
    if (tok->n_pretok > 0 && tok->pretok[tok->n_pretok - 1].kind == HS_PRETOK_BYTE_LEVEL)
        return fail(c, HS_ERR_UNSUPPORTED, field, "a pre-tokenizer after ByteLevel is not supported");
    if (tok->n_pretok == HS_TOK_MAX_STEPS)
        return too_many(c, field);
    hs_tok_pretok *step = &tok->pretok[tok->n_pretok++];
    if (strcmp(type, "ByteLevel") == 0) {
        step->kind = HS_PRETOK_BYTE_LEVEL;
        if ((st = get_bool(c, j, field, "add_prefix_space", 1, &step->add_prefix_space)) != HS_OK ||
            (st = get_bool(c, j, field, "use_regex", 1, &step->has_pattern)) != HS_OK)
            return st;
        return step->has_pattern ? hs_tok_pattern_regex(&step->pattern, hs_gpt2_split_pattern,
                                                        strlen(hs_gpt2_split_pattern), c->err)
                                 : HS_OK;
    }
    if (strcmp(type, "Split") == 0) {
        step->kind = HS_PRETOK_SPLIT;
        step->has_pattern = 1;
        if ((st = get_pattern(c, j, field, &step->pattern)) != HS_OK ||
            (st = parse_behavior(c, j, field, &step->behavior)) != HS_OK)
            return st;
        return get_bool(c, j, field, "invert", 0, &step->invert);
    }
    if (strcmp(type, "Digits") == 0) {
        int individual;
        step->kind = HS_PRETOK_DIGITS;
        step->has_pattern = 1;
        if ((st = get_bool(c, j, field, "individual_digits", 0, &individual)) != HS_OK)
            return st;
        step->behavior = individual ? HS_SPLIT_ISOLATED : HS_SPLIT_CONTIGUOUS;
        return hs_tok_pattern_regex(&step->pattern, "\\p{N}", 5, c->err);
    }
    step->kind = HS_PRETOK_METASPACE;
    if ((st = get_char(c, j, field, "replacement", step->replacement, sizeof step->replacement,
                       &step->replacement_len)) != HS_OK ||
        (st = get_prepend_scheme(c, j, field, &step->prepend)) != HS_OK ||
        (st = get_bool(c, j, field, "split", 1, &step->split)) != HS_OK)
        return st;
    step->has_pattern = 1;
    if (hs_tok_pattern_literal(&step->pattern, step->replacement, step->replacement_len) != HS_OK)
        return fail(c, HS_ERR_NOMEM, field, "out of memory");
    return HS_OK;
}

/* ---------------------------------------------------------------- decoders */

static hs_status parse_decoder(const ctx *c, const json_t *j, const char *field)
{
    hs_tokenizer *tok = c->tok;
    const char *type;
    hs_status st;
    if (!j || json_is_null(j))
        return HS_OK;
    if ((st = get_type(c, j, field, &type)) != HS_OK)
        return st;
    tok->has_decoder = 1;
    if (strcmp(type, "Sequence") == 0)
        return parse_sequence(c, j, field, "decoders", parse_decoder);
    static const struct { const char *name; hs_dec_kind kind; } kinds[] = {
        {"ByteLevel", HS_DEC_BYTE_LEVEL}, {"Replace", HS_DEC_REPLACE}, {"ByteFallback", HS_DEC_BYTE_FALLBACK},
        {"Fuse", HS_DEC_FUSE}, {"Strip", HS_DEC_STRIP}, {"Metaspace", HS_DEC_METASPACE}};
    int k = 0;
    while (k < 6 && strcmp(type, kinds[k].name) != 0)
        k++;
    if (k == 6)
        return unsupported(c, field, type);
    if (tok->n_dec == HS_TOK_MAX_STEPS)
        return too_many(c, field);
    hs_tok_decoder *step = &tok->dec[tok->n_dec++];
    step->kind = kinds[k].kind;
    char ch[8];
    size_t len;
    const char *s;
    switch (step->kind) {
    case HS_DEC_REPLACE:
        if ((st = get_pattern(c, j, field, &step->pattern)) != HS_OK ||
            (st = get_str(c, j, field, "content", 1, &s, &len)) != HS_OK)
            return st;
        break;
    case HS_DEC_STRIP: {
        json_int_t start, stop;
        if ((st = get_char(c, j, field, "content", ch, sizeof ch, &len)) != HS_OK ||
            (st = get_int(c, j, field, "start", 0, 1 << 20, 0, &start)) != HS_OK ||
            (st = get_int(c, j, field, "stop", 0, 1 << 20, 0, &stop)) != HS_OK)
            return st;
        step->start = (int)start;
        step->stop = (int)stop;
        s = ch;
        break;
    }
    case HS_DEC_METASPACE:
        if ((st = get_char(c, j, field, "replacement", ch, sizeof ch, &len)) != HS_OK ||
            (st = get_prepend_scheme(c, j, field, &step->prepend)) != HS_OK)
            return st;
        s = ch;
        break;
    default:
        return HS_OK;
    }
    if (!(step->content = malloc(len + 1)))
        return fail(c, HS_ERR_NOMEM, field, "out of memory");
    memcpy(step->content, s, len + 1);
    step->content_len = len;
    return HS_OK;
}

/* ---------------------------------------------------------------- post-processor: the BOS rule */

static void set_bos(hs_tokenizer *tok, int32_t id)
{
    if (id >= 0 && !tok->add_bos) {
        tok->bos_id = id;
        tok->add_bos = 1;
    }
}

static hs_status parse_post(const ctx *c, const json_t *j, const char *field)
{
    hs_tokenizer *tok = c->tok;
    const char *type;
    hs_status st;
    if (!j || json_is_null(j))
        return HS_OK;
    if ((st = get_type(c, j, field, &type)) != HS_OK)
        return st;
    if (strcmp(type, "ByteLevel") == 0)
        return HS_OK; /* offsets only */
    if (strcmp(type, "Sequence") == 0)
        return parse_sequence(c, j, field, "processors", parse_post);
    if (strcmp(type, "TemplateProcessing") == 0) {
        /* a special token before $A in the single-sequence template is the BOS that encodings get */
        const json_t *single;
        if ((st = get_array(c, j, field, "single", &single)) != HS_OK)
            return st;
        const json_t *first = json_array_get(single, 0);
        const json_t *special = json_object_get(first, "SpecialToken");
        if (!special)
            return HS_OK;
        const json_t *name = json_object_get(special, "id");
        if (!json_is_string(name))
            return fail(c, HS_ERR_FORMAT, field, "single[0].SpecialToken.id: expected a string");
        const json_t *ids = json_object_get(json_object_get(json_object_get(j, "special_tokens"),
                                                            json_string_value(name)), "ids");
        int32_t id = json_is_integer(json_array_get(ids, 0)) ? (int32_t)json_integer_value(json_array_get(ids, 0))
                                                              : hs_tok_find(tok, json_string_value(name),
                                                                            json_string_length(name));
        if (id < 0 || hs_vocab_piece(&tok->bpe.vocab, id, NULL) == NULL)
            return fail(c, HS_ERR_FORMAT, field, "special token \"%.64s\" has no id in the vocabulary",
                        json_string_value(name));
        set_bos(tok, id);
        return HS_OK;
    }
    if (strcmp(type, "RobertaProcessing") == 0 || strcmp(type, "BertProcessing") == 0) {
        const json_t *cls = json_object_get(j, "cls");
        if (!json_is_integer(json_array_get(cls, 1)))
            return fail(c, HS_ERR_FORMAT, field, "cls: expected [\"token\", id]");
        set_bos(tok, (int32_t)json_integer_value(json_array_get(cls, 1)));
        return HS_OK;
    }
    return unsupported(c, field, type);
}

/* ---------------------------------------------------------------- tokenizer_config.json */

/* "bos_token": "<s>" or {"content": "<s>", ...} or null. */
static int32_t config_token(const hs_tokenizer *tok, const json_t *v)
{
    if (json_is_object(v))
        v = json_object_get(v, "content");
    return json_is_string(v) ? hs_tok_find(tok, json_string_value(v), json_string_length(v)) : -1;
}

hs_status hs_tok_load_hf_config(hs_tokenizer *tok, const char *path, hs_error *err)
{
    char cfg[4096];
    const char *slash = strrchr(path, '/');
    snprintf(cfg, sizeof cfg, "%.*stokenizer_config.json", slash ? (int)(slash - path + 1) : 0, path);
    struct stat sb;
    if (stat(cfg, &sb) != 0)
        return HS_OK;
    json_error_t jerr;
    json_t *root = json_load_file(cfg, 0, &jerr);
    if (!root)
        return hs_fail(err, HS_ERR_FORMAT, "%s: bad JSON at line %d column %d: %s", cfg, jerr.line, jerr.column, jerr.text);
    hs_status st = HS_OK;
    if (!json_is_object(root)) {
        st = hs_fail(err, HS_ERR_FORMAT, "%s: expected an object", cfg);
        goto done;
    }
    int32_t bos = config_token(tok, json_object_get(root, "bos_token"));
    int32_t eos = config_token(tok, json_object_get(root, "eos_token"));
    if (bos >= 0 && !tok->add_bos)
        tok->bos_id = bos; /* a template's BOS, when there is one, is what encodings really get */
    if (eos >= 0)
        tok->eos_id = eos;
    const json_t *add = json_object_get(root, "add_bos_token");
    if (json_is_boolean(add))
        tok->add_bos = json_is_true(add);
done:
    json_decref(root);
    return st;
}

/* ---------------------------------------------------------------- tokenizer.json */

hs_status hs_tok_load_hf(hs_tokenizer *tok, const char *path, hs_error *err)
{
    ctx c = {tok, path, err};
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    hs_status st = HS_OK;
    if (!root)
        return hs_fail(err, HS_ERR_FORMAT, "%s: bad JSON at line %d column %d: %s", path, jerr.line, jerr.column,
                       jerr.text);
    if (!json_is_object(root)) {
        st = hs_fail(err, HS_ERR_FORMAT, "%s: expected a JSON object", path);
        goto done;
    }
    tok->kind = HS_TOK_PIPELINE;
    /* the model first: merges and added tokens refer to its vocabulary; normalized added tokens
     * need the normalizer; the byte-level alphabet needs the pre-tokenizer */
    if ((st = parse_model(&c, json_object_get(root, "model"))) != HS_OK ||
        (st = parse_added(&c, json_object_get(root, "added_tokens"))) != HS_OK ||
        (st = parse_normalizer(&c, json_object_get(root, "normalizer"), "normalizer")) != HS_OK ||
        (st = parse_pretok(&c, json_object_get(root, "pre_tokenizer"), "pre_tokenizer")) != HS_OK ||
        (st = parse_decoder(&c, json_object_get(root, "decoder"), "decoder")) != HS_OK ||
        (st = parse_post(&c, json_object_get(root, "post_processor"), "post_processor")) != HS_OK)
        goto done;
    for (int i = 0; i < tok->n_pretok; i++)
        if (tok->pretok[i].kind == HS_PRETOK_BYTE_LEVEL)
            hs_tok_use_byte_level(tok);
    if ((st = hs_tok_load_hf_config(tok, path, err)) != HS_OK)
        goto done;
    st = hs_tok_finish(tok, path, err);
done:
    json_decref(root);
    return st;
}
