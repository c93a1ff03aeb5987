/* cmd_dataset.c — `headscope dataset NAME ...`: the prompt-set generators of datasets/, one line
 * each in the table below, writing JSONL that `headscope run --prompts` reads. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/corpus.h"
#include "datasets/repeated_blocks.h"
#include "datasets/task_set.h"
#include "datasets/task_words.h"
#include "model/model.h"
#include "cli/commands.h"

static int dataset_repeated_blocks(int argc, char **argv);
static int dataset_task(int argc, char **argv);
static int dataset_corpus(int argc, char **argv);

static const cli_subcommand datasets[] = {
    {"repeated-blocks", dataset_repeated_blocks, "BOS + copies of a random token block (induction, retrieval heads)"},
    {"ioi", dataset_task, NULL},
    {"greater-than", dataset_task, NULL},
    {"colored-objects", dataset_task, NULL},
    {"factual", dataset_task, NULL},
    {"mcq", dataset_task, NULL},
    {"arithmetic", dataset_task, NULL},
    {"mqar", dataset_task, NULL},
    {"corpus", dataset_corpus, "training text: the tasks' train prompts completed, stories, repeated blocks"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: headscope dataset NAME --out FILE.jsonl [options]\n\nprompt sets:\n");
    for (size_t i = 0; i < sizeof datasets / sizeof datasets[0]; i++) {
        const hs_task_info *task = hs_task_find(datasets[i].name);
        fprintf(f, "  %-16s %s\n", datasets[i].name, task ? task->summary : datasets[i].summary);
    }
    fprintf(f, "\n`headscope dataset NAME --help` describes its options.\n");
}

int cmd_dataset(int argc, char **argv)
{
    return cli_dispatch("dataset", "prompt set", datasets, sizeof datasets / sizeof datasets[0], usage, argc, argv);
}

static const char repeated_help[] =
    "usage: headscope dataset repeated-blocks --out FILE.jsonl (--model PATH | --vocab N) [options]\n"
    "Writes N prompts, each [BOS] followed by COPIES copies of one block of L random token ids\n"
    "(distinct within a block), as JSONL with \"tokens\" (the exact ids; nothing is added when recorded)\n"
    "and \"meta\": {\"set\": \"repeated_blocks\", \"offset\", \"block_len\", \"copies\", \"seed\"}, which\n"
    "`analyze heads` reads for the retrieval scores. The same options give the same file.\n"
    "\n"
    "  --out FILE      where to write (required)\n"
    "  --model PATH    take the vocabulary (the ids the tokenizer and the model both have) and the BOS/EOS\n"
    "                  ids from this model; BOS and EOS are never drawn\n"
    "  --vocab N       draw from ids 0..N-1 instead\n"
    "  --task-words    draw only the ids of the task words (names, objects, animals, ...) that the\n"
    "                  model's tokenizer keeps whole: the vocabulary headscope's toy models were trained on\n"
    "  --min-id N      draw only ids >= N (e.g. 256 for a byte-level BPE's merged tokens: a small model\n"
    "                  trained on a narrow corpus never saw most single bytes)\n"
    "  --bos ID        prepend this id (default: the model's BOS; none with --vocab)\n"
    "  --no-bos        prepend nothing\n"
    "  --n N           prompts (default 100)\n"
    "  --block-len L   tokens per block (default 16)\n"
    "  --copies C      copies of the block (default 4, RazorAttention's retrieval probe; 2 gives\n"
    "                  TransformerLens's induction probe [BOS, seq, seq])\n"
    "  --seed S        random seed (default 0)\n";

static int parse_int(const char *what, const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "headscope dataset: %s '%s' is not an integer in %lld..%lld\n", what, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int dataset_repeated_blocks(int argc, char **argv)
{
    const char *out = NULL, *model_path = NULL;
    long long vocab = -1, bos = -2, n = 100, block_len = 16, copies = 4, seed = 0, min_id = 0;
    int no_bos = 0, task_words = 0;
    int32_t *word_ids = NULL;
    enum { O_VOCAB = 256, O_BOS, O_NOBOS, O_N, O_LEN, O_COPIES, O_SEED, O_MINID, O_WORDS };
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},       {"model", required_argument, 0, 'm'},
        {"vocab", required_argument, 0, O_VOCAB}, {"bos", required_argument, 0, O_BOS},
        {"no-bos", no_argument, 0, O_NOBOS},      {"n", required_argument, 0, O_N},
        {"block-len", required_argument, 0, O_LEN}, {"copies", required_argument, 0, O_COPIES},
        {"seed", required_argument, 0, O_SEED},   {"min-id", required_argument, 0, O_MINID},
        {"task-words", no_argument, 0, O_WORDS},  {"help", no_argument, 0, 'h'},
        {0}};
    int c, bad = 0;
    while ((c = cli_getopt_long(argc, argv, "o:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'm': model_path = optarg; break;
        case O_VOCAB: bad |= parse_int("--vocab", optarg, 1, INT32_MAX, &vocab); break;
        case O_BOS: bad |= parse_int("--bos", optarg, 0, INT32_MAX, &bos); break;
        case O_NOBOS: no_bos = 1; break;
        case O_N: bad |= parse_int("--n", optarg, 1, 10000000, &n); break;
        case O_LEN: bad |= parse_int("--block-len", optarg, 1, 1000000, &block_len); break;
        case O_COPIES: bad |= parse_int("--copies", optarg, 1, 1000, &copies); break;
        case O_SEED: bad |= parse_int("--seed", optarg, 0, INT64_MAX, &seed); break;
        case O_MINID: bad |= parse_int("--min-id", optarg, 0, INT32_MAX, &min_id); break;
        case O_WORDS: task_words = 1; break;
        case 'h': fputs(repeated_help, stdout); return 0;
        default: return 2;
        }
    }
    if (bad)
        return 2;
    if (!out || (!model_path) == (vocab < 0)) {
        fprintf(stderr, "headscope dataset repeated-blocks: --out FILE and one of --model PATH or --vocab N are required\n");
        return 2;
    }
    int32_t exclude[2];
    hs_repeated_blocks_spec spec = {.n_prompts = (int)n, .block_len = (int)block_len, .copies = (int)copies,
                                    .bos_id = -1, .lo = 0, .hi = (int32_t)vocab, .exclude = exclude,
                                    .seed = (uint64_t)seed};
    if (model_path) {
        hs_model *m = cli_open_model("dataset repeated-blocks", model_path, NULL);
        if (!m)
            return 1;
        const hs_tokenizer *tok = hs_model_tokenizer(m);
        spec.hi = m->cfg.d_vocab;
        if (tok && hs_tokenizer_vocab_size(tok) < spec.hi)
            spec.hi = hs_tokenizer_vocab_size(tok);
        spec.bos_id = m->cfg.bos_id;
        if (m->cfg.bos_id >= 0)
            exclude[spec.n_exclude++] = m->cfg.bos_id;
        if (m->cfg.eos_id >= 0)
            exclude[spec.n_exclude++] = m->cfg.eos_id;
        hs_error werr = {0};
        if (task_words && (!tok || hs_task_word_ids(tok, &word_ids, &spec.n_pool, &werr) != HS_OK)) {
            hs_model_close(m);
            return tok ? cli_fail("dataset repeated-blocks", &werr)
                       : (fprintf(stderr, "headscope dataset repeated-blocks: --task-words needs the model's tokenizer\n"), 1);
        }
        spec.pool = word_ids;
        hs_model_close(m);
    }
    spec.lo = (int32_t)min_id;
    if (bos >= 0)
        spec.bos_id = (int32_t)bos;
    if (no_bos)
        spec.bos_id = -1;
    hs_error err = {0};
    hs_status rc = hs_repeated_blocks_write(out, &spec, &err);
    free(word_ids);
    if (rc != HS_OK)
        return cli_fail("dataset repeated-blocks", &err);
    printf("headscope dataset repeated-blocks: %s: %lld prompts of %s%lld x %lld tokens (", out, n,
           spec.bos_id >= 0 ? "BOS + " : "", copies, block_len);
    if (spec.n_pool > 0)
        printf("from %d task words", spec.n_pool);
    else
        printf("ids %d..%d", spec.lo, spec.hi - 1);
    printf(", seed %lld)\n", seed);
    return 0;
}

/* ---------------------------------------------------------------- the task prompt sets */

static const char task_help[] =
    "usage: headscope dataset %s --out FILE.jsonl [--n N] [--seed S] [--split train|heldout]%s\n"
    "%s.\n"
    "Writes JSONL prompts with \"clean\", \"corrupted\", \"answer\", \"wrong\" and \"meta\" (set, split, seed,\n"
    "template, ...), read by `headscope run --prompts`. The same options give the same file. The held-out\n"
    "split uses words, templates or values that training prompts do not (see datasets/%s.c).\n"
    "\n"
    "  --out FILE          where to write (required)\n"
    "  --n N               prompts (default 100)\n"
    "  --seed S            random seed (default 0)\n"
    "  --split SPLIT       train (default) or heldout\n"
    "%s";

static const char *task_file(const char *name)
{
    return !strcmp(name, "greater-than") ? "greater_than" : !strcmp(name, "colored-objects") ? "colored_objects" : name;
}

static int parse_split(const char *cmd, const char *s, hs_task_split *out)
{
    if (!strcmp(s, "train"))
        *out = HS_TASK_TRAIN;
    else if (!strcmp(s, "heldout") || !strcmp(s, "held-out"))
        *out = HS_TASK_HELDOUT;
    else {
        fprintf(stderr, "headscope dataset %s: --split '%s' is not train or heldout\n", cmd, s);
        return -1;
    }
    return 0;
}

static int dataset_task(int argc, char **argv)
{
    const hs_task_info *task = hs_task_find(argv[0]);
    const char *out = NULL;
    long long n = 100, seed = 0, pairs = 0, queries = 0;
    hs_task_split split = HS_TASK_TRAIN;
    int is_mqar = !strcmp(task->name, "mqar"), is_ioi = !strcmp(task->name, "ioi"), ioi_swap = 0;
    enum { O_N = 256, O_SEED, O_SPLIT, O_PAIRS, O_QUERIES, O_CORRUPTION };
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},   {"n", required_argument, 0, O_N},
        {"seed", required_argument, 0, O_SEED}, {"split", required_argument, 0, O_SPLIT},
        {"pairs", required_argument, 0, O_PAIRS}, {"queries", required_argument, 0, O_QUERIES},
        {"corruption", required_argument, 0, O_CORRUPTION},
        {"help", no_argument, 0, 'h'},         {0}};
    int c, bad = 0;
    while ((c = cli_getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_N: bad |= parse_int("--n", optarg, 1, 10000000, &n); break;
        case O_SEED: bad |= parse_int("--seed", optarg, 0, INT64_MAX, &seed); break;
        case O_SPLIT: bad |= parse_split(task->name, optarg, &split); break;
        case O_PAIRS: bad |= !is_mqar || parse_int("--pairs", optarg, 2, 26, &pairs); break;
        case O_QUERIES: bad |= !is_mqar || parse_int("--queries", optarg, 1, 26, &queries); break;
        case O_CORRUPTION:
            if (!is_ioi || (strcmp(optarg, "abc") && strcmp(optarg, "swap"))) {
                fprintf(stderr, "headscope dataset %s: --corruption %s: %s\n", task->name, optarg,
                        is_ioi ? "not abc or swap" : "only ioi has corruption kinds");
                bad = 1;
            } else {
                ioi_swap = !strcmp(optarg, "swap");
            }
            break;
        case 'h':
            printf(task_help, task->name,
                   is_mqar  ? " [--pairs P] [--queries Q]"
                   : is_ioi ? " [--corruption abc|swap]"
                            : "",
                   task->summary, task_file(task->name),
                   is_mqar  ? "  --pairs P          key-value pairs per prompt, 2..26 (default 8)\n"
                              "  --queries Q        queries per prompt, 1..P, the last one asked (default 4)\n"
                   : is_ioi ? "  --corruption K     abc: three other names (the paper's ABC, default); swap: IO\n"
                              "                     and S exchanged, so the corrupted answer is S\n"
                            : "");
            return 0;
        default: return 2;
        }
    }
    if (bad)
        return 2;
    if (!out || optind != argc) {
        fprintf(stderr, "headscope dataset %s: --out FILE is required\n", task->name);
        return 2;
    }
    hs_task_spec spec = {.n = (int)n, .seed = (uint64_t)seed, .split = split, .n_pairs = (int)pairs,
                         .n_queries = (int)queries, .ioi_swap = ioi_swap};
    hs_task_set set = {0};
    hs_error err = {0};
    char cmd[64];
    snprintf(cmd, sizeof cmd, "dataset %s", task->name);
    if (task->generate(&spec, &set, &err) != HS_OK || hs_task_set_write(&set, out, &err) != HS_OK) {
        hs_task_set_clear(&set);
        return cli_fail(cmd, &err);
    }
    printf("headscope dataset %s: %s: %d prompts (%s split, seed %lld)\n", task->name, out, set.n,
           split == HS_TASK_TRAIN ? "train" : "heldout", seed);
    hs_task_set_clear(&set);
    return 0;
}

/* ---------------------------------------------------------------- the training corpus */

static const char corpus_help[] =
    "usage: headscope dataset corpus --out FILE.txt [--size-mb MB] [--seed S] [--mix T,S,R]\n"
    "       [--task-weights TASK=W,...]\n"
    "Writes the training text of the project's toy models: documents separated by <|endoftext|>, drawn\n"
    "45 %% task examples (train-split prompts of the seven tasks, completed with their answers), 40 %%\n"
    "template stories whose characters recur, 15 %% blocks of random words repeated 2-4 times. Held-out\n"
    "prompts never appear. The same options give the same file.\n"
    "\n"
    "  --out FILE          where to write (required)\n"
    "  --size-mb MB        stop after this many MB (default 4)\n"
    "  --seed S            random seed (default 0)\n"
    "  --mix T,S,R         percent of documents that are task examples, stories, repeated blocks\n"
    "                      (sum 100; default 45,40,15)\n"
    "  --task-weights L    relative shares of the tasks among task documents, e.g.\n"
    "                      colored-objects=3,mcq=3 (unlisted tasks weigh 1; default all equal)\n";

/* "45,40,15" into mix; 0 on success, else prints why. */
static int parse_mix(const char *s, int mix[3])
{
    int n = 0;
    if (sscanf(s, "%d,%d,%d%n", &mix[0], &mix[1], &mix[2], &n) != 3 || s[n] || mix[0] < 0 || mix[1] < 0 ||
        mix[2] < 0 || mix[0] + mix[1] + mix[2] != 100) {
        fprintf(stderr, "headscope dataset corpus: --mix '%s' is not three percentages T,S,R >= 0 summing to 100\n", s);
        return 1;
    }
    return 0;
}

/* "colored-objects=3,mcq=2" into weight (in hs_tasks() order; unlisted tasks weigh 1). */
static int parse_task_weights(const char *s, int weight[HS_CORPUS_MAX_TASKS])
{
    int n_tasks;
    const hs_task_info *tasks = hs_tasks(&n_tasks);
    for (int i = 0; i < n_tasks; i++)
        weight[i] = 1;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '='), *end;
        long w = eq ? strtol(eq + 1, &end, 10) : -1;
        if (!eq || end == eq + 1 || *end || w < 0 || w > 1000) {
            fprintf(stderr, "headscope dataset corpus: --task-weights: '%s' is not TASK=W with W in 0..1000\n", item);
            return 1;
        }
        *eq = 0;
        const hs_task_info *t = hs_task_find(item);
        if (!t) {
            fprintf(stderr, "headscope dataset corpus: --task-weights: no task '%s' (see headscope dataset --help)\n",
                    item);
            return 1;
        }
        weight[t - tasks] = (int)w;
    }
    int sum = 0;
    for (int i = 0; i < n_tasks; i++)
        sum += weight[i];
    if (!sum) {
        fprintf(stderr, "headscope dataset corpus: --task-weights '%s' leaves every task at weight 0\n", s);
        return 1;
    }
    return 0;
}

static int dataset_corpus(int argc, char **argv)
{
    const char *out = NULL;
    double size_mb = 4;
    long long seed = 0;
    hs_corpus_spec spec = {0};
    enum { O_SIZE = 256, O_SEED, O_MIX, O_WEIGHTS };
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"size-mb", required_argument, 0, O_SIZE},
                                         {"seed", required_argument, 0, O_SEED},
                                         {"mix", required_argument, 0, O_MIX},
                                         {"task-weights", required_argument, 0, O_WEIGHTS},
                                         {"help", no_argument, 0, 'h'},
                                         {0}};
    int c, bad = 0;
    char *end;
    while ((c = cli_getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_SIZE:
            size_mb = strtod(optarg, &end);
            if (end == optarg || *end || !(size_mb > 0 && size_mb <= 4096)) {
                fprintf(stderr, "headscope dataset corpus: --size-mb '%s' is not a number in (0, 4096]\n", optarg);
                bad = 1;
            }
            break;
        case O_SEED: bad |= parse_int("--seed", optarg, 0, INT64_MAX, &seed); break;
        case O_MIX: bad |= parse_mix(optarg, spec.mix); break;
        case O_WEIGHTS: bad |= parse_task_weights(optarg, spec.task_weight); break;
        case 'h': printf(corpus_help); return 0;
        default: return 2;
        }
    }
    if (bad)
        return 2;
    if (!out || optind != argc) {
        fprintf(stderr, "headscope dataset corpus: --out FILE is required\n");
        return 2;
    }
    spec.size_mb = size_mb;
    spec.seed = (uint64_t)seed;
    hs_corpus_stats s;
    hs_error err = {0};
    if (hs_corpus_write(out, &spec, &s, &err) != HS_OK)
        return cli_fail("dataset corpus", &err);
    printf("headscope dataset corpus: %s: %.2f MB, %lld documents: %lld of task examples (%lld examples), %lld "
           "stories, %lld repeated word blocks (seed %lld)\n",
           out, (double)s.bytes / 1e6, (long long)s.docs, (long long)s.task_docs, (long long)s.task_examples,
           (long long)s.stories, (long long)s.repeats, seed);
    return 0;
}
