/* recorder.c — observers that write selected hook tensors into the store, one transaction per
 * prompt, plus the per-head attention summaries computed during the pass. */
#include "hooks/recorder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"

void hs_record_options_default(hs_record_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->hooks = (1u << HS_HOOK_PATTERN) | (1u << HS_HOOK_Z) | (1u << HS_HOOK_RESID_POST);
    opt->layers.all = opt->heads.all = opt->positions.all = 1;
    opt->dtype = HS_DTYPE_F16;
    opt->summaries = 1;
}

/* The short name of a kind: what follows "hook_", with the ln prefixes kept ("ln1.scale"), and
 * "logits" for unembed.hook_out (whose suffix, "out", says nothing). */
static void short_name(hs_hook_kind k, char *buf, size_t cap)
{
    const char *full = hs_hook_kind_name(k);
    const char *h = strstr(full, "hook_");
    if (k == HS_HOOK_LOGITS)
        snprintf(buf, cap, "logits");
    else if (!strncmp(full, "ln", 2))
        snprintf(buf, cap, "%.*s%s", (int)(h - full), full, h + 5);
    else
        snprintf(buf, cap, "%s", h + 5);
}

/* Adds index i to r, keeping its ranges ascending and merged, so the same selection always reads
 * (and identifies the run) the same way: layers 1 and 0 give "0-1". -1 when r is full. */
static int ranges_add(hs_index_ranges *r, int i)
{
    int k = 0;
    while (k < r->n && r->hi[k] < i - 1)
        k++;
    if (k < r->n && r->lo[k] <= i + 1) { /* i touches range k: widen it, then merge with the next */
        if (i < r->lo[k])
            r->lo[k] = i;
        if (i > r->hi[k])
            r->hi[k] = i;
        if (k + 1 < r->n && r->lo[k + 1] <= r->hi[k] + 1) {
            r->hi[k] = r->hi[k + 1] > r->hi[k] ? r->hi[k + 1] : r->hi[k];
            memmove(r->lo + k + 1, r->lo + k + 2, (size_t)(r->n - k - 2) * sizeof *r->lo);
            memmove(r->hi + k + 1, r->hi + k + 2, (size_t)(r->n - k - 2) * sizeof *r->hi);
            r->n--;
        }
        return 0;
    }
    if (r->n == HS_RECORD_MAX_RANGES)
        return -1;
    memmove(r->lo + k + 1, r->lo + k, (size_t)(r->n - k) * sizeof *r->lo);
    memmove(r->hi + k + 1, r->hi + k, (size_t)(r->n - k) * sizeof *r->hi);
    r->lo[k] = r->hi[k] = i;
    r->n++;
    return 0;
}

/* One name of --record (tok) without its block prefix (name): a kind name ("attn.hook_pattern")
 * and, when no "blocks." prefix was written, a short name ("pattern") or TransformerLens's bare hook
 * name ("hook_pattern", which must name one kind). Returns the kind, or -1 with err set. */
static int match_kind(const char *tok, const char *name, int prefixed, hs_error *err)
{
    for (int k = 0; k < HS_HOOK_KIND_COUNT; k++) {
        char sn[64];
        short_name((hs_hook_kind)k, sn, sizeof sn);
        /* "scores", as --help has always listed it, besides the kind's own short name attn_scores */
        int alias = k == HS_HOOK_ATTN_SCORES && !strcmp(name, "scores");
        if (!strcmp(name, hs_hook_kind_name((hs_hook_kind)k)) || (!prefixed && (!strcmp(name, sn) || alias)))
            return k;
    }
    int found = -1, n_found = 0;
    char list[512] = "";
    size_t len = strlen(name), used = 0;
    for (int k = 0; !prefixed && !strncmp(name, "hook_", 5) && k < HS_HOOK_KIND_COUNT; k++) {
        const char *full = hs_hook_kind_name((hs_hook_kind)k);
        size_t fl = strlen(full);
        if (fl > len && full[fl - len - 1] == '.' && !strcmp(full + fl - len, name)) {
            found = k;
            n_found++;
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", full);
        }
    }
    if (n_found == 1)
        return found;
    if (n_found > 1)
        hs_fail(err, HS_ERR_ARG, "--record: '%s' is ambiguous: %s", tok, list);
    else if (prefixed)
        hs_fail(err, HS_ERR_ARG, "--record: '%s': no hook '%s' in a block (e.g. blocks.0.attn.hook_pattern, "
                "blocks.0.hook_resid_post, blocks.*.mlp.hook_post)", tok, name);
    else
        hs_fail(err, HS_ERR_ARG,
                "--record: unknown hook '%s' (e.g. pattern, scores, q, k, v, z, result, attn_out, resid_pre, "
                "resid_mid, resid_post, mlp_pre, mlp_post, mlp_out, embed, logits, ln1.scale, TransformerLens's "
                "blocks.0.attn.hook_pattern, blocks.*.hook_resid_post or hook_pattern, or all)", tok);
    return -1;
}

hs_status hs_record_parse_hooks(const char *spec, hs_record_options *opt, hs_error *err)
{
    opt->hooks = 0;
    memset(opt->hook_layers, 0, sizeof opt->hook_layers);
    if (!strcmp(spec, "all")) {
        /* every kind up to the logits: the copies of the residual stream (per-head inputs, d_model per
         * head; mlp_in) only by name */
        opt->hooks = (uint32_t)((1ull << (HS_HOOK_LOGITS + 1)) - 1);
        return HS_OK;
    }
    char *copy = strdup(spec), *save = NULL;
    if (!copy)
        return hs_fail(err, HS_ERR_NOMEM, "--record: out of memory");
    hs_status rc = HS_OK;
    uint32_t every_layer = 0; /* kinds named without a layer: those follow --layers whole */
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == HS_OK; tok = strtok_r(NULL, ",", &save)) {
        const char *name = tok;
        int layer = -1, prefixed = !strncmp(tok, "blocks.", 7);
        if (prefixed) {
            char *end = tok + 7;
            long l = -1;
            if (*end == '*')
                end++;
            else if (*end >= '0' && *end <= '9')
                l = strtol(tok + 7, &end, 10);
            if (end == tok + 7 || *end != '.' || l > 1000000) {
                rc = hs_fail(err, HS_ERR_ARG, "--record: '%s': expected blocks.LAYER.NAME or blocks.*.NAME", tok);
                break;
            }
            layer = (int)l;
            name = end + 1;
        }
        int k = match_kind(tok, name, prefixed, err);
        if (k < 0) {
            rc = HS_ERR_ARG;
            break;
        }
        if (prefixed && !hs_hook_kind_in_block((hs_hook_kind)k)) {
            rc = hs_fail(err, HS_ERR_ARG, "--record: '%s': %s is outside the blocks, so it takes no layer (write %s)",
                         tok, name, name);
            break;
        }
        opt->hooks |= 1u << k;
        if (layer >= 0 && ranges_add(&opt->hook_layers[k], layer) != 0)
            rc = hs_fail(err, HS_ERR_ARG, "--record: more than %d separate layers of %s", HS_RECORD_MAX_RANGES,
                         hs_hook_kind_name((hs_hook_kind)k));
        else if (layer < 0)
            every_layer |= 1u << k;
    }
    free(copy);
    for (int k = 0; k < HS_HOOK_KIND_COUNT; k++)
        if (every_layer & (1u << k))
            opt->hook_layers[k].n = 0;
    if (rc == HS_OK && !opt->hooks)
        rc = hs_fail(err, HS_ERR_ARG, "--record: no hooks given");
    return rc;
}

hs_status hs_index_ranges_parse(const char *spec, int allow_negative, const char *what, hs_index_ranges *out,
                                hs_error *err)
{
    memset(out, 0, sizeof *out);
    if (!strcmp(spec, "all")) {
        out->all = 1;
        return HS_OK;
    }
    const char *p = spec;
    while (*p) {
        if (out->n == HS_RECORD_MAX_RANGES)
            return hs_fail(err, HS_ERR_ARG, "%s: more than %d ranges in '%s'", what, HS_RECORD_MAX_RANGES, spec);
        char *end;
        long lo = strtol(p, &end, 10), hi;
        if (end == p)
            return hs_fail(err, HS_ERR_ARG, "%s: '%s' is not a list of indices or ranges like 0-5,7", what, spec);
        p = end;
        hi = lo;
        if (*p == '-' || *p == ':') {
            p++;
            hi = strtol(p, &end, 10);
            if (end == p)
                return hs_fail(err, HS_ERR_ARG, "%s: range in '%s' has no end", what, spec);
            p = end;
        }
        if (!allow_negative && (lo < 0 || hi < 0))
            return hs_fail(err, HS_ERR_ARG, "%s: negative index in '%s'", what, spec);
        if (lo > 1000000 || hi > 1000000 || lo < -1000000 || hi < -1000000)
            return hs_fail(err, HS_ERR_ARG, "%s: index out of range in '%s'", what, spec);
        if ((lo >= 0) == (hi >= 0) && lo > hi)
            return hs_fail(err, HS_ERR_ARG, "%s: range %ld-%ld in '%s' is empty", what, lo, hi, spec);
        out->lo[out->n] = (int)lo;
        out->hi[out->n] = (int)hi;
        out->n++;
        if (*p == ',')
            p++;
        else if (*p)
            return hs_fail(err, HS_ERR_ARG, "%s: unexpected '%c' in '%s'", what, *p, spec);
    }
    if (out->n == 0)
        return hs_fail(err, HS_ERR_ARG, "%s: empty selection", what);
    return HS_OK;
}

int hs_index_ranges_has(const hs_index_ranges *r, int i, int len)
{
    if (r->all)
        return 1;
    for (int k = 0; k < r->n; k++) {
        int lo = r->lo[k] < 0 ? len + r->lo[k] : r->lo[k];
        int hi = r->hi[k] < 0 ? len + r->hi[k] : r->hi[k];
        if (i >= lo && i <= hi)
            return 1;
    }
    return 0;
}

void hs_index_ranges_text(const hs_index_ranges *r, char *buf, size_t cap)
{
    if (r->all) {
        snprintf(buf, cap, "all");
        return;
    }
    size_t n = 0;
    buf[0] = '\0';
    for (int k = 0; k < r->n && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, r->lo[k] == r->hi[k] ? "%s%d" : "%s%d-%d", k ? "," : "", r->lo[k],
                              r->hi[k]);
}

static void ranges_json(const hs_index_ranges *r, char *buf, size_t cap)
{
    char text[1000];
    hs_index_ranges_text(r, text, sizeof text);
    snprintf(buf, cap, "\"%s\"", text);
}

/* The largest index a selection names (-1 for "all"). */
static int ranges_max(const hs_index_ranges *r)
{
    int mx = -1;
    for (int k = 0; !r->all && k < r->n; k++) {
        if (r->lo[k] > mx)
            mx = r->lo[k];
        if (r->hi[k] > mx)
            mx = r->hi[k];
    }
    return mx;
}

/* "--layers 7: the model has 5 layers (0-4)" when r names an index >= n. */
static hs_status check_range(const hs_index_ranges *r, int n, const char *option, const char *noun, hs_error *err)
{
    if (ranges_max(r) < n)
        return HS_OK;
    char text[1000];
    hs_index_ranges_text(r, text, sizeof text);
    if (n == 1)
        return hs_fail(err, HS_ERR_RANGE, "%s %s: the model has 1 %s (0)", option, text, noun);
    return hs_fail(err, HS_ERR_RANGE, "%s %s: the model has %d %ss (0-%d)", option, text, n, noun, n - 1);
}

hs_status hs_record_options_check(const hs_record_options *opt, const hs_model *m, hs_error *err)
{
    int n_layers = m->cfg.n_layers;
    HS_TRY(check_range(&opt->layers, n_layers, "--layers", "layer", err));
    HS_TRY(check_range(&opt->heads, m->cfg.n_heads, "--heads", "head", err));
    /* a layer named in --record (blocks.L.NAME) must be one the model has and --layers keeps */
    char layers[1000];
    hs_index_ranges_text(&opt->layers, layers, sizeof layers);
    for (int k = 0; k < HS_HOOK_KIND_COUNT; k++) {
        const hs_index_ranges *r = &opt->hook_layers[k];
        for (int i = 0; i < r->n; i++)
            for (int l = r->lo[i]; l <= r->hi[i]; l++) {
                const char *kind = hs_hook_kind_name((hs_hook_kind)k);
                if (l >= n_layers && n_layers == 1)
                    return hs_fail(err, HS_ERR_RANGE, "--record blocks.%d.%s: the model has 1 layer (0)", l, kind);
                if (l >= n_layers)
                    return hs_fail(err, HS_ERR_RANGE, "--record blocks.%d.%s: the model has %d layers (0-%d)", l,
                                   kind, n_layers, n_layers - 1);
                if (!hs_index_ranges_has(&opt->layers, l, n_layers))
                    return hs_fail(err, HS_ERR_ARG, "--record blocks.%d.%s: layer %d is not among --layers %s; "
                                   "name the layer in one place", l, kind, l, layers);
            }
    }
    return HS_OK;
}

int hs_record_stores(const hs_record_options *opt, const hs_hook_point *hp, int n_layers)
{
    if (!(opt->hooks & (1u << hp->kind)))
        return 0;
    if (hp->layer < 0)
        return 1;
    const hs_index_ranges *named = &opt->hook_layers[hp->kind];
    return hs_index_ranges_has(&opt->layers, hp->layer, n_layers) &&
           (named->n == 0 || hs_index_ranges_has(named, hp->layer, n_layers));
}

int hs_record_select_positions(const hs_index_ranges *positions, int T, int *sel)
{
    int n = 0;
    for (int p = 0; p < T; p++)
        if (hs_index_ranges_has(positions, p, T))
            sel[n++] = p;
    return n;
}

char *hs_record_options_json(const hs_record_options *opt)
{
    char hooks[1024] = "", layers[1024], heads[1024], positions[1024], hook_layers[2048] = "";
    size_t n = 0, nl = 0;
    for (int k = 0; k < HS_HOOK_KIND_COUNT; k++)
        if (opt->hooks & (1u << k))
            n += (size_t)snprintf(hooks + n, sizeof hooks - n, "%s\"%s\"", n ? "," : "",
                                  hs_hook_kind_name((hs_hook_kind)k));
    /* the layers named in --record, only when some were: runs recorded without them keep the
     * identity (the JSON) they had */
    for (int k = 0; k < HS_HOOK_KIND_COUNT && nl < sizeof hook_layers; k++)
        if ((opt->hooks & (1u << k)) && opt->hook_layers[k].n > 0) {
            char text[1000];
            hs_index_ranges_text(&opt->hook_layers[k], text, sizeof text);
            nl += (size_t)snprintf(hook_layers + nl, sizeof hook_layers - nl, "%s\"%s\":\"%s\"",
                                   nl ? "," : "\"hook_layers\":{", hs_hook_kind_name((hs_hook_kind)k), text);
        }
    if (nl && nl < sizeof hook_layers)
        snprintf(hook_layers + nl, sizeof hook_layers - nl, "},");
    ranges_json(&opt->layers, layers, sizeof layers);
    ranges_json(&opt->heads, heads, sizeof heads);
    ranges_json(&opt->positions, positions, sizeof positions);
    const char *dt = opt->dtype == HS_DTYPE_F32 ? "f32" : opt->dtype == HS_DTYPE_BF16 ? "bf16" : "f16";
    size_t cap = 5000;
    char *json = malloc(cap);
    if (json)
        snprintf(json, cap,
                 "{\"dtype\":\"%s\",\"heads\":%s,%s\"hooks\":[%s],\"layers\":%s,\"positions\":%s,\"summaries\":%s}",
                 dt, heads, hook_layers, hooks, layers, positions, opt->summaries ? "true" : "false");
    return json;
}

/* ---------------------------------------------------------------- the observers */

typedef struct recorder {
    const hs_model *m;
    const hs_record_options *opt;
    hs_store *store;
    int64_t run_id, prompt_id;
    int T;                /* positions of the current prompt */
    int *pos_sel, n_sel;  /* selected positions of the current prompt */
    char *positions_json; /* NULL when every position is selected */
    float *buf;           /* gather buffer */
    size_t cap;
    hs_error *err;        /* where store failures are described */
} recorder;

static hs_status reserve(recorder *r, size_t n)
{
    if (n <= r->cap)
        return HS_OK;
    float *b = realloc(r->buf, n * sizeof *b);
    if (!b)
        return HS_ERR_NOMEM;
    r->buf = b;
    r->cap = n;
    return HS_OK;
}

/* Per-head summaries of one prompt's pattern [1, H, T, T]: mean over queries of the attention on
 * position 0, of the row entropy (nats) and of the row maximum. */
static hs_status summarise_pattern(recorder *r, int layer, const hs_tensor *t)
{
    int64_t H = t->shape[1], T = t->shape[2];
    for (int64_t h = 0; h < H; h++) {
        double first = 0, ent = 0, mx = 0;
        for (int64_t i = 0; i < T; i++) {
            const float *row = t->data + (h * T + i) * T;
            float m = 0;
            first += row[0];
            for (int64_t j = 0; j <= i; j++) {
                if (row[j] > 0)
                    ent -= row[j] * log(row[j]);
                if (row[j] > m)
                    m = row[j];
            }
            mx += m;
        }
        static const char *const metric[3] = {"attn_first", "attn_entropy", "attn_max"};
        double v[3] = {first / (double)T, ent / (double)T, mx / (double)T};
        for (int k = 0; k < 3; k++) {
            hs_status rc = hs_store_put_head_score(r->store, r->run_id, "run", metric[k], layer, (int)h, r->prompt_id,
                                                   v[k], r->err);
            if (rc != HS_OK)
                return rc;
        }
    }
    return HS_OK;
}

/* Stores the selected slices of one hook tensor (batch 1). Layouts: pattern and scores are
 * [1, head, query, key] (positions select queries); every other hook is [1, pos, (head,) rest...]. */
static hs_status store_hook(recorder *r, const hs_hook_point *hp, const hs_tensor *t)
{
    const hs_record_options *o = r->opt;
    int head_dim = hs_hook_kind_head_dim(hp->kind);
    int head_first = head_dim == 1;
    int64_t H = head_dim >= 0 ? t->shape[head_dim] : 1;
    /* row: the contiguous run below the position (and head) dimension */
    int64_t row = 1;
    for (int d = head_first ? 3 : (head_dim >= 0 ? 3 : 2); d < t->ndim; d++)
        row *= t->shape[d];
    int64_t shape[HS_MAX_DIMS];
    int ndim = 0;
    shape[ndim++] = r->n_sel;
    for (int d = head_first ? 3 : (head_dim >= 0 ? 3 : 2); d < t->ndim; d++)
        shape[ndim++] = t->shape[d];
    if (reserve(r, (size_t)(r->n_sel * row)) != HS_OK)
        return hs_fail(r->err, HS_ERR_NOMEM, "recording: out of memory");
    const char *hook = hs_hook_kind_name(hp->kind);
    for (int64_t h = 0; h < H; h++) {
        if (head_dim >= 0 && !hs_index_ranges_has(&o->heads, (int)h, (int)H))
            continue;
        for (int s = 0; s < r->n_sel; s++) {
            int64_t p = r->pos_sel[s];
            int64_t src = head_first ? (h * r->T + p) * row : (p * H + h) * row;
            memcpy(r->buf + (size_t)s * (size_t)row, t->data + src, (size_t)row * sizeof(float));
        }
        hs_status rc = hs_store_put_activation(r->store, r->run_id, r->prompt_id, hook, hp->layer,
                                               head_dim >= 0 ? (int)h : -1, r->positions_json, o->dtype, ndim, shape,
                                               r->buf, r->err);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static hs_status observe(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    recorder *r = user;
    if (hp->layer >= 0 && !hs_index_ranges_has(&r->opt->layers, hp->layer, r->m->cfg.n_layers))
        return HS_OK;
    hs_status rc = HS_OK;
    /* a prompt shorter than every selected position stores no slice of it (an empty tensor says
     * nothing that the missing row does not) */
    if (r->n_sel > 0 && hs_record_stores(r->opt, hp, r->m->cfg.n_layers))
        rc = store_hook(r, hp, t);
    if (rc == HS_OK && hp->kind == HS_HOOK_PATTERN && r->opt->summaries)
        rc = summarise_pattern(r, hp->layer, t);
    return rc;
}

/* Selects the positions of a prompt of T tokens; positions_json stays NULL when all are kept. */
static hs_status select_positions(recorder *r, int T)
{
    free(r->pos_sel);
    free(r->positions_json);
    r->pos_sel = malloc((size_t)T * sizeof *r->pos_sel);
    r->positions_json = NULL;
    r->n_sel = 0;
    r->T = T;
    if (!r->pos_sel)
        return hs_fail(r->err, HS_ERR_NOMEM, "recording: out of memory");
    r->n_sel = hs_record_select_positions(&r->opt->positions, T, r->pos_sel);
    if (r->n_sel == T)
        return HS_OK;
    size_t cap = 16 + (size_t)r->n_sel * 12, n = 0;
    if (!(r->positions_json = malloc(cap)))
        return hs_fail(r->err, HS_ERR_NOMEM, "recording: out of memory");
    n += (size_t)snprintf(r->positions_json, cap, "[");
    for (int s = 0; s < r->n_sel; s++)
        n += (size_t)snprintf(r->positions_json + n, cap - n, "%s%d", s ? "," : "", r->pos_sel[s]);
    snprintf(r->positions_json + n, cap - n, "]");
    return HS_OK;
}

/* Tokens needed to hold position p of a selection: p + 1 from the start, -p from the end. */
static int tokens_needed(int p)
{
    return p >= 0 ? p + 1 : -p;
}

void hs_record_positions_shortfall(const hs_record_options *opt, const hs_prompt_set *set,
                                   const hs_tokenized_set *ts, hs_positions_shortfall *out)
{
    memset(out, 0, sizeof *out);
    const hs_index_ranges *r = &opt->positions;
    for (int k = 0; !r->all && k < r->n; k++) {
        int need = tokens_needed(r->lo[k]) > tokens_needed(r->hi[k]) ? tokens_needed(r->lo[k])
                                                                       : tokens_needed(r->hi[k]);
        if (need > out->needed)
            out->needed = need;
    }
    for (int i = 0; i < ts->n; i++) {
        int T = (int)ts->n_ids[i];
        if (T >= out->needed)
            continue;
        if (out->n_short++ == 0) {
            out->first_line = set->prompts[i].line;
            out->first_len = T;
        }
        int any = 0;
        for (int p = 0; p < T && !any; p++)
            any = hs_index_ranges_has(r, p, T);
        out->n_empty += !any;
    }
}

/* ---------------------------------------------------------------- the loop */

void hs_tokenized_set_free(hs_tokenized_set *ts)
{
    if (!ts)
        return;
    for (int i = 0; i < ts->n; i++) {
        free(ts->ids[i]);
        if (ts->text)
            free(ts->text[i]);
    }
    free(ts->text);
    free(ts->ids);
    free(ts->n_ids);
    free(ts);
}

/* The stored text of a token-id prompt without text: decoded, or the ids in decimal when there is
 * no tokenizer or an id lies beyond its vocabulary (models may have more ids than their tokenizer). */
static hs_status token_prompt_text(const hs_tokenizer *tok, const hs_prompt *p, char **out, hs_error *err)
{
    int decodable = tok != NULL;
    for (int i = 0; i < p->n_tokens && decodable; i++)
        decodable = p->tokens[i] < hs_tokenizer_vocab_size(tok);
    if (decodable)
        return hs_tokenizer_decode(tok, p->tokens, (size_t)p->n_tokens, out, err);
    size_t cap = (size_t)p->n_tokens * 12 + 1, n = 0;
    if (!(*out = malloc(cap)))
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    (*out)[0] = '\0';
    for (int i = 0; i < p->n_tokens; i++)
        n += (size_t)snprintf(*out + n, cap - n, "%s%d", i ? " " : "", p->tokens[i]);
    return HS_OK;
}

/* Fills ts->ids[i] and ts->text[i] for prompt i. */
static hs_status tokenize_one(const hs_model *m, const hs_prompt_set *set, int i, hs_tokenized_set *ts, hs_error *err)
{
    const hs_tokenizer *tok = hs_model_tokenizer(m);
    const hs_prompt *p = &set->prompts[i];
    if (p->tokens) {
        if (!(ts->ids[i] = malloc((size_t)p->n_tokens * sizeof *ts->ids[i])))
            return hs_fail(err, HS_ERR_NOMEM, "tokenizing: out of memory");
        memcpy(ts->ids[i], p->tokens, (size_t)p->n_tokens * sizeof *ts->ids[i]);
        ts->n_ids[i] = (size_t)p->n_tokens;
        for (int k = 0; k < p->n_tokens; k++)
            if (p->tokens[k] >= m->cfg.d_vocab)
                return hs_fail(err, HS_ERR_RANGE, "%s:%d: tokens[%d] = %d is outside the model's vocabulary (%d ids)",
                               set->path, p->line, k, p->tokens[k], m->cfg.d_vocab);
        hs_status rc = p->text ? ((ts->text[i] = strdup(p->text)) ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "out of memory"))
                               : token_prompt_text(tok, p, &ts->text[i], err);
        if (rc != HS_OK) {
            hs_error_prefix(err, "%s:%d", set->path, p->line);
            return rc;
        }
    } else {
        if (!tok)
            return hs_fail(err, HS_ERR_MISSING, "%s:%d: the model %s has no tokenizer to encode the text; pass "
                           "--tokenizer, or give the prompt's \"tokens\"", set->path, p->line, m->path);
        hs_status rc = hs_tokenizer_encode(tok, p->text, strlen(p->text), 1, &ts->ids[i], &ts->n_ids[i], err);
        if (rc != HS_OK) {
            hs_error_prefix(err, "%s:%d", set->path, p->line);
            return rc;
        }
        if (!(ts->text[i] = strdup(p->text)))
            return hs_fail(err, HS_ERR_NOMEM, "tokenizing: out of memory");
    }
    if (ts->n_ids[i] == 0)
        return hs_fail(err, HS_ERR_FORMAT, "%s:%d: the prompt encodes to no tokens", set->path, p->line);
    if ((int)ts->n_ids[i] > m->cfg.n_ctx)
        return hs_fail(err, HS_ERR_RANGE, "%s:%d: the prompt has %zu tokens, more than the model's context (%d)",
                       set->path, p->line, ts->n_ids[i], m->cfg.n_ctx);
    return HS_OK;
}

hs_status hs_record_tokenize(const hs_model *m, const hs_prompt_set *set, hs_tokenized_set **out, hs_error *err)
{
    *out = NULL;
    hs_tokenized_set *ts = calloc(1, sizeof *ts);
    hs_status rc = HS_OK;
    if (!ts || !(ts->ids = calloc((size_t)set->n, sizeof *ts->ids)) ||
        !(ts->n_ids = calloc((size_t)set->n, sizeof *ts->n_ids)) ||
        !(ts->text = calloc((size_t)set->n, sizeof *ts->text))) {
        hs_tokenized_set_free(ts);
        return hs_fail(err, HS_ERR_NOMEM, "tokenizing: out of memory");
    }
    ts->n = set->n;
    for (int i = 0; i < set->n && rc == HS_OK; i++)
        rc = tokenize_one(m, set, i, ts, err);
    if (rc != HS_OK) {
        hs_tokenized_set_free(ts);
        return rc;
    }
    *out = ts;
    return HS_OK;
}

/* tk: the prompt's token ids [n] */
static hs_status record_one(recorder *r, const hs_prompt *p, const char *text_stored, const int32_t *ids, size_t n,
                            hs_hooks *hooks)
{
    const hs_tokenizer *tok = hs_model_tokenizer(r->m);
    hs_status rc = hs_store_begin(r->store, r->err);
    if (rc != HS_OK)
        return rc;
    hs_prompt_row row = {.idx = p->idx, .ext_id = p->id, .text = text_stored, .meta_json = p->meta_json,
                         .clean = p->clean, .corrupted = p->corrupted, .answer = p->answer, .wrong = p->wrong,
                         .image = p->image, .n_tokens = (int)n};
    if ((rc = hs_store_put_prompt(r->store, r->run_id, &row, &r->prompt_id, r->err)) != HS_OK)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        char text[1024];
        int has_text = tok && hs_tokenizer_token_text(tok, ids[i], text, sizeof text) >= 0; /* else NULL */
        if ((rc = hs_store_put_token(r->store, r->run_id, r->prompt_id, (int)i, ids[i], has_text ? text : NULL, 0,
                                     r->err)) != HS_OK)
            goto fail;
    }
    if ((rc = select_positions(r, (int)n)) != HS_OK)
        goto fail;
    hs_batch batch = {.ids = ids, .n_batch = 1, .n_pos = (int)n};
    if ((rc = hs_forward(r->m, &batch, hooks, HS_BACKEND_CPU, NULL, r->err)) != HS_OK)
        goto fail;
    if ((rc = hs_store_commit(r->store, r->err)) != HS_OK)
        goto fail;
    return HS_OK;
fail:
    hs_store_rollback(r->store);
    return rc;
}

hs_status hs_record_prompts(const hs_model *m, const hs_prompt_set *set, const hs_tokenized_set *ts, hs_store *store,
                            int64_t run_id, const hs_record_options *opt, hs_record_progress_fn progress, void *user,
                            hs_error *err)
{
    if (ts->n != set->n)
        return hs_fail(err, HS_ERR_ARG, "recording: %d tokenised prompts for a set of %d", ts->n, set->n);
    hs_status rc = HS_OK;
    recorder r = {.m = m, .opt = opt, .store = store, .run_id = run_id, .err = err};
    hs_hooks *hooks = NULL;
    if ((rc = hs_hooks_new(&hooks, err)) != HS_OK)
        return rc;
    uint32_t observed = opt->hooks | (opt->summaries ? 1u << HS_HOOK_PATTERN : 0);
    for (int k = 0; k < HS_HOOK_KIND_COUNT; k++) {
        if (!(observed & (1u << k)))
            continue;
        char pattern[128];
        const hs_index_ranges *named = &opt->hook_layers[k];
        /* ask only for the layers named in --record (hook_result is not even computed elsewhere),
         * unless the summaries need every pattern */
        if (named->n > 0 && !(k == HS_HOOK_PATTERN && opt->summaries)) {
            for (int i = 0; i < named->n; i++)
                for (int l = named->lo[i]; l <= named->hi[i]; l++) {
                    snprintf(pattern, sizeof pattern, "blocks.%d.%s", l, hs_hook_kind_name((hs_hook_kind)k));
                    if ((rc = hs_hooks_observe(hooks, pattern, observe, &r, err)) != HS_OK)
                        goto done;
                }
            continue;
        }
        if (hs_hook_kind_in_block((hs_hook_kind)k))
            snprintf(pattern, sizeof pattern, "blocks.*.%s", hs_hook_kind_name((hs_hook_kind)k));
        else
            snprintf(pattern, sizeof pattern, "%s", hs_hook_kind_name((hs_hook_kind)k));
        if ((rc = hs_hooks_observe(hooks, pattern, observe, &r, err)) != HS_OK)
            goto done;
    }
    hs_record_progress prog = {.total = set->n};
    for (int i = 0; i < set->n; i++) {
        int done = 0;
        if ((rc = hs_store_prompt_recorded(store, run_id, set->prompts[i].idx, &done, err)) != HS_OK)
            goto done;
        if (done) {
            prog.skipped++;
        } else {
            if ((rc = record_one(&r, &set->prompts[i], ts->text[i], ts->ids[i], ts->n_ids[i], hooks)) != HS_OK) {
                hs_error_prefix(err, "%s:%d", set->path, set->prompts[i].line);
                goto done;
            }
            prog.tokens += (int64_t)ts->n_ids[i];
        }
        prog.done++;
        if (progress && progress(user, &prog) && i + 1 < set->n) {
            rc = hs_fail(err, HS_ERR_CALLBACK, "stopped after %d of %d prompts", prog.done, set->n);
            goto done;
        }
    }
done:
    hs_hooks_free(hooks);
    free(r.buf);
    free(r.pos_sel);
    free(r.positions_json);
    return rc;
}
