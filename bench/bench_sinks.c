/* bench_sinks.c — attention-sink figures of a model on natural text, straight from forward passes
 * (no store): the sink rate (eps 0.3, T 64, the model's BOS rule) overall, per layer and per head,
 * the mean first-token sink score per head, hidden sinks (tau 0.1) per head, the largest |x/rms| at
 * position 0 per layer, Sun et al.'s massive activations, and the time the analysis took.
 *
 *   bench-sinks MODEL [PROMPTS.txt] [--t T]
 *
 * PROMPTS.txt holds one prompt per line; without it a built-in set of short stories in the
 * TinyStories register is used (written for this program). Figures only; nothing is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyses/massive.h"
#include "analyses/sinks.h"
#include "headscope.h"

static const char *builtin[] = {
    "Once upon a time, there was a little boy named Tom. Tom had a red kite. Every day he ran to the hill "
    "near his house to fly it. One windy morning the string broke and the kite flew away over the trees. "
    "Tom was sad, but his sister helped him make a new one.",
    "Lily liked to help her mom in the kitchen. One day they made a big cake with pink frosting. Lily put "
    "the candles on top and counted them one by one. When dad came home, everyone sang a song and they ate "
    "the cake together.",
    "There was a small dog called Max who lived on a farm. Max loved to chase the ducks by the pond. The "
    "ducks did not like it and they quacked very loudly. The farmer told Max to be kind, so Max sat down and "
    "watched the ducks swim.",
    "Sara found a shiny stone in the garden. She showed it to her friend Ben. Ben said it looked like a star. "
    "They put the stone in a box and hid it under the big tree. The next day they came back and the stone "
    "was still there.",
    "A little bird sat on a branch and sang every morning. One day it was very cold and the bird could not "
    "find any food. A kind girl saw the bird and put some bread on the window. The bird ate the bread and "
    "sang a happy song for her.",
    "Tim and his dad went to the park to play ball. Tim kicked the ball very hard and it went into the pond. "
    "Dad laughed and took off his shoes. He walked into the water and got the ball. Tim said thank you and "
    "gave his dad a big hug.",
    "Anna had a teddy bear named Bob. She took Bob everywhere she went. One night she could not find Bob and "
    "she started to cry. Her mom looked under the bed and found him. Anna hugged Bob and fell asleep with a "
    "smile.",
    "The sun was hot and the children wanted to swim. They ran to the lake with their towels. The water was "
    "cool and nice. They splashed and played until the sky turned orange. Then they walked home, tired and "
    "happy.",
    "Ben wanted to build a tall tower with his blocks. He put one block on top of another. The tower grew "
    "and grew. Then his cat jumped on the table and the tower fell down. Ben was not angry. He laughed and "
    "started again.",
    "Mia saw a big box in the street. She opened it and found a small kitten inside. The kitten was wet and "
    "hungry. Mia took it home and gave it some milk. Her mom said they could keep the kitten, and Mia named "
    "it Snow.",
    "One day a little fish swam far away from home. The sea was big and dark. The fish was scared and wanted "
    "to go back. A friendly turtle said, \"Follow me.\" The turtle showed the fish the way, and soon it was "
    "home again.",
    "Jack had a new bike. It was blue and it had a bell. He rode it up and down the street. His friend Sam "
    "wanted to try it too. Jack was a good friend, so he let Sam ride the bike, and they took turns all day.",
};

typedef struct obs {
    hs_sink_rate *sr;
    hs_hidden_sinks *hs;
    int T;
    const int32_t *ids;
    float *bos_h;       /* [n_layers] max over prompts of max_d |x/rms| at position 0 (resid_post) */
    int64_t *n_massive; /* [n_layers] Sun et al. massive activations, summed over prompts */
    double *max_abs;    /* [n_layers] */
    float *h;           /* [T, d] scratch */
    hs_error *err;
} obs;

static hs_status on_pattern(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    obs *o = user;
    int H = (int)t->shape[1], T = o->T;
    for (int h = 0; h < H; h++) {
        const float *p = t->data + (size_t)h * T * T;
        hs_status rc = hs_sink_rate_add(o->sr, hp->layer, h, p, T, NULL, o->err);
        if (rc == HS_OK)
            rc = hs_hidden_sinks_add(o->hs, hp->layer, h, p, T, o->ids, NULL, NULL, o->err);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static hs_status on_resid(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    obs *o = user;
    int T = o->T, d = (int)t->shape[2], l = hp->layer;
    hs_massive_rms_magnitudes(t->data, 1, d, o->h);
    for (int j = 0; j < d; j++)
        if (o->h[j] > o->bos_h[l])
            o->bos_h[l] = o->h[j];
    int64_t n = 0;
    hs_status rc = hs_massive_sun(t->data, T, d, HS_MASSIVE_MIN_ABS, HS_MASSIVE_MIN_RATIO, NULL, NULL, &n, o->err);
    o->n_massive[l] += n;
    for (int64_t i = 0; i < (int64_t)T * d; i++) {
        double a = t->data[i] < 0 ? -t->data[i] : t->data[i];
        if (a > o->max_abs[l])
            o->max_abs[l] = a;
    }
    return rc;
}

static char **read_lines(const char *path, int *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char **lines = NULL, buf[65536];
    *n = 0;
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = 0;
        if (!*buf)
            continue;
        char **p = realloc(lines, (size_t)(*n + 1) * sizeof *p);
        if (!p)
            break;
        lines = p;
        lines[(*n)++] = strdup(buf);
    }
    fclose(f);
    return lines;
}

int main(int argc, char **argv)
{
    int t_cut = HS_SINK_RATE_T;
    if (argc >= 4 && strcmp(argv[argc - 2], "--t") == 0) {
        t_cut = atoi(argv[argc - 1]);
        argc -= 2;
    }
    if (argc < 2 || t_cut < 1) {
        fprintf(stderr, "usage: bench-sinks MODEL [PROMPTS.txt] [--t T]\n");
        return 2;
    }
    int n_prompts = (int)(sizeof builtin / sizeof builtin[0]);
    const char **prompts = builtin;
    char **lines = NULL;
    if (argc > 2) {
        if (!(lines = read_lines(argv[2], &n_prompts)) || n_prompts == 0) {
            fprintf(stderr, "bench-sinks: cannot read prompts from %s\n", argv[2]);
            return 1;
        }
        prompts = (const char **)lines;
    }
    hs_error err = {0};
    hs_model *m;
    if (hs_model_open(argv[1], NULL, &m, &err) != HS_OK) {
        fprintf(stderr, "bench-sinks: %s\n", err.msg);
        return 1;
    }
    hs_model_info info;
    hs_model_get_info(m, &info);
    const hs_tokenizer *tok = hs_model_tokenizer(m);
    if (!tok) {
        fprintf(stderr, "bench-sinks: the model has no tokenizer\n");
        return 1;
    }
    int L = info.n_layers, H = info.n_heads;
    obs o = {.err = &err};
    o.bos_h = calloc((size_t)L, sizeof *o.bos_h);
    o.n_massive = calloc((size_t)L, sizeof *o.n_massive);
    o.max_abs = calloc((size_t)L, sizeof *o.max_abs);
    o.h = malloc((size_t)info.d_model * sizeof *o.h);
    if (!o.bos_h || !o.n_massive || !o.max_abs || !o.h ||
        hs_sink_rate_new(L, H, HS_SINK_RATE_EPS, t_cut, &o.sr, &err) != HS_OK ||
        hs_hidden_sinks_new(L, H, t_cut, info.d_vocab, HS_HIDDEN_SINK_TAU, &o.hs, &err) != HS_OK) {
        fprintf(stderr, "bench-sinks: out of memory\n");
        return 1;
    }
    hs_hooks *hooks;
    if (hs_hooks_new(&hooks, &err) != HS_OK ||
        hs_hooks_observe(hooks, "blocks.*.attn.hook_pattern", on_pattern, &o, &err) != HS_OK ||
        hs_hooks_observe(hooks, "blocks.*.hook_resid_post", on_resid, &o, &err) != HS_OK) {
        fprintf(stderr, "bench-sinks: %s\n", err.msg);
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t n_tokens = 0;
    for (int p = 0; p < n_prompts; p++) {
        int32_t *ids;
        size_t n;
        if (hs_tokenizer_encode(tok, prompts[p], strlen(prompts[p]), 1, &ids, &n, &err) != HS_OK) {
            fprintf(stderr, "bench-sinks: prompt %d: %s\n", p, err.msg);
            return 1;
        }
        /* the T = 64 cut: run the first 64 tokens (causality makes this the same as cutting later) */
        o.T = n < (size_t)t_cut ? (int)n : t_cut;
        o.ids = ids;
        n_tokens += o.T;
        hs_batch b = {.ids = ids, .n_batch = 1, .n_pos = o.T};
        if (hs_forward(m, &b, hooks, HS_BACKEND_CPU, NULL, &err) != HS_OK) {
            fprintf(stderr, "bench-sinks: prompt %d: %s\n", p, err.msg);
            return 1;
        }
        free(ids);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);

    printf("model %s: %d layers x %d heads, %d prompts, %lld tokens (%lld shorter than %d), %.3f s\n", argv[1], L, H,
           n_prompts, (long long)n_tokens, (long long)hs_sink_rate_n_short(o.sr), t_cut, secs);
    printf("sink rate (eps %.1f, T %d): %.2f %%\n", (double)HS_SINK_RATE_EPS, t_cut,
           100.0 * hs_sink_rate_overall(o.sr));
    for (int l = 0; l < L; l++) {
        printf("layer %d: rate %6.2f %%  |x/rms| max at pos 0 %.2f  max |x| %.2f  Sun massive %lld\n", l,
               100.0 * hs_sink_rate_layer(o.sr, l), (double)o.bos_h[l], o.max_abs[l], (long long)o.n_massive[l]);
        printf("  rate  ");
        for (int h = 0; h < H; h++)
            printf(" %5.2f", hs_sink_rate_head(o.sr, l, h));
        printf("\n  alpha0");
        for (int h = 0; h < H; h++)
            printf(" %5.2f", hs_sink_rate_mean_alpha0(o.sr, l, h));
        printf("\n  |S|   ");
        for (int h = 0; h < H; h++)
            printf(" %5.2f", hs_hidden_sinks_mean_count(o.hs, l, h));
        printf("\n");
    }
    /* the tokens most often hidden sinks, among those seen at least 20 times at positions > 0 */
    printf("tokens most often hidden sinks (of their occurrences in every head):");
    unsigned char *used = calloc((size_t)info.d_vocab, 1);
    for (int r = 0; used && r < 8; r++) {
        int best = -1;
        double bv = -1.0;
        for (int v = 0; v < info.d_vocab; v++) {
            double f = hs_hidden_sinks_token_freq(o.hs, v);
            if (!used[v] && hs_hidden_sinks_token_seen(o.hs, v) >= 20 && f > bv) {
                bv = f;
                best = v;
            }
        }
        if (best < 0)
            break;
        used[best] = 1;
        char text[64];
        int len = hs_tokenizer_token_text(tok, best, text, sizeof text);
        printf(" '%.*s' %.2f", len > 0 ? len : 0, text, bv);
    }
    free(used);
    printf("\n");
    hs_hooks_free(hooks);
    hs_sink_rate_free(o.sr);
    hs_hidden_sinks_free(o.hs);
    free(o.bos_h);
    free(o.n_massive);
    free(o.max_abs);
    free(o.h);
    hs_model_close(m);
    if (lines) {
        for (int i = 0; i < n_prompts; i++)
            free(lines[i]);
        free(lines);
    }
    return 0;
}
