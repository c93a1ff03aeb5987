/* cmd_demo.c — `headscope demo [--out DIR]`: the main job on the embedded default. Until headscope
 * ships a trained toy model, the default is a small random-initialised GPT-2 that the program
 * writes itself (deterministic seed); the demo runs it on built-in prompts with observers on every
 * attention pattern and writes a per-head summary. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hooks/random_model.h"
#include "tools/commands.h"

static const char *const demo_prompts[] = {
    "When Mary and John went to the store, John gave a drink to Mary.",
    "The war lasted from the year 1732 to the year 17",
    "a7 kq zz 91 a7 kq zz 91 a7 kq zz 91",
};

/* Per-head sums over prompts and query positions, filled by the pattern observer. */
typedef struct head_stats {
    int n_layers, n_heads;
    double *first;   /* [layer, head] mean attention to position 0 */
    double *entropy; /* [layer, head] mean entropy of a query row (nats) */
    double *prev;    /* [layer, head] mean attention to the previous token */
    int n_prompts;
} head_stats;

static hs_status observe_pattern(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    head_stats *s = user;
    /* t: [batch, head, query_pos, key_pos] */
    int64_t B = t->shape[0], H = t->shape[1], T = t->shape[2];
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++) {
            double first = 0, ent = 0, prev = 0;
            for (int64_t i = 0; i < T; i++) {
                const float *row = t->data + ((b * H + h) * T + i) * T;
                first += row[0];
                if (i > 0)
                    prev += row[i - 1];
                for (int64_t j = 0; j <= i; j++)
                    if (row[j] > 0)
                        ent -= row[j] * log(row[j]);
            }
            size_t at = (size_t)hp->layer * (size_t)s->n_heads + (size_t)h;
            s->first[at] += first / (double)T;
            s->entropy[at] += ent / (double)T;
            s->prev[at] += T > 1 ? prev / (double)(T - 1) : 0;
        }
    return HS_OK;
}

static void print_grid(FILE *f, const char *title, const head_stats *s, const double *v)
{
    fprintf(f, "\n%s (rows: layers, columns: heads; mean over %d prompts)\n      ", title, s->n_prompts);
    for (int h = 0; h < s->n_heads; h++)
        fprintf(f, "   H%-3d", h);
    fprintf(f, "\n");
    for (int l = 0; l < s->n_layers; l++) {
        fprintf(f, "  L%-3d", l);
        for (int h = 0; h < s->n_heads; h++)
            fprintf(f, " %6.3f", v[l * s->n_heads + h] / s->n_prompts);
        fprintf(f, "\n");
    }
}

int cmd_demo(int argc, char **argv)
{
    const char *out = "demo-out";
    static const struct option opts[] = {{"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: headscope demo [--out DIR]\n"
                   "Writes the embedded default model (for now a random-initialised 4-layer GPT-2 with a\n"
                   "byte-level tokenizer, seed 1234: no trained model ships yet) to DIR/model, runs it on\n"
                   "built-in prompts with observers on every attention pattern, and writes DIR/summary.txt.\n");
            return 0;
        default: return 2;
        }
    }
    hs_error err = {0};
    char model_dir[4096], summary_path[4096];
    mkdir(out, 0777);
    snprintf(model_dir, sizeof model_dir, "%s/model", out);
    snprintf(summary_path, sizeof summary_path, "%s/summary.txt", out);
    hs_random_model_spec spec = {.n_layers = 4, .d_model = 128, .n_heads = 4, .n_ctx = 256, .d_vocab = 257,
                                 .init_std = 0.08f, .seed = 1234};
    if (hs_random_model_write(model_dir, &spec, &err) != HS_OK)
        return cli_fail("demo", &err);
    hs_model *m = cli_open_model("demo", model_dir, NULL);
    if (!m)
        return 1;
    hs_model_info info;
    hs_model_get_info(m, &info);
    head_stats s = {.n_layers = info.n_layers, .n_heads = info.n_heads};
    size_t cells = (size_t)info.n_layers * (size_t)info.n_heads;
    s.first = calloc(cells, sizeof(double));
    s.entropy = calloc(cells, sizeof(double));
    s.prev = calloc(cells, sizeof(double));
    hs_hooks *hooks = NULL;
    FILE *f = NULL;
    int status = 1;
    if (!s.first || !s.entropy || !s.prev || hs_hooks_new(&hooks, &err) != HS_OK ||
        hs_hooks_observe(hooks, "blocks.*.attn.hook_pattern", observe_pattern, &s, &err) != HS_OK) {
        cli_fail("demo", &err);
        goto done;
    }
    if (!(f = fopen(summary_path, "w"))) {
        fprintf(stderr, "headscope demo: cannot write %s\n", summary_path);
        goto done;
    }
    fprintf(f, "headscope demo\n\nmodel: %s (%s, %d layers, %d heads, d_model %d, %lld parameters)\n", model_dir,
            info.architecture, info.n_layers, info.n_heads, info.d_model, (long long)info.n_params);
    fprintf(f, "note:  random-initialised weights (seed %llu); no trained model ships yet.\n",
            (unsigned long long)spec.seed);
    const hs_tokenizer *tok = hs_model_tokenizer(m);
    for (size_t p = 0; p < sizeof demo_prompts / sizeof demo_prompts[0]; p++) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (hs_tokenizer_encode(tok, demo_prompts[p], strlen(demo_prompts[p]), 1, &ids, &n, &err) != HS_OK) {
            cli_fail("demo", &err);
            goto done;
        }
        hs_batch batch = {.ids = ids, .n_batch = 1, .n_pos = (int)n};
        hs_status rc = hs_forward(m, &batch, hooks, HS_BACKEND_CPU, NULL, &err);
        free(ids);
        if (rc != HS_OK) {
            cli_fail("demo", &err);
            goto done;
        }
        s.n_prompts++;
        fprintf(f, "\nprompt %zu (%zu tokens): %s\n", p, n, demo_prompts[p]);
    }
    print_grid(f, "attention to the first token", &s, s.first);
    print_grid(f, "attention to the previous token", &s, s.prev);
    print_grid(f, "attention entropy (nats)", &s, s.entropy);
    if (fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, "headscope demo: cannot write %s\n", summary_path);
        goto done;
    }
    f = NULL;
    printf("headscope demo: ran %d prompts through %s (%s, %d layers x %d heads)\n", s.n_prompts, model_dir,
           info.architecture, info.n_layers, info.n_heads);
    printf("result: %s\n", summary_path);
    status = 0;
done:
    if (f)
        fclose(f);
    hs_hooks_free(hooks);
    free(s.first);
    free(s.entropy);
    free(s.prev);
    hs_model_close(m);
    return status;
}
