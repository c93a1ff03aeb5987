/* cmd_tokenizer.c — `headscope tokenizer train`: trains a byte-level BPE tokenizer on a text corpus
 * (tokenizer/bpe_train.h) and writes it as tokenizer.json. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/mapped_file.h"
#include "datasets/task_words.h"
#include "tokenizer/bpe_train.h"
#include "cli/commands.h"

static int tokenizer_train(int argc, char **argv);

static const cli_subcommand subcommands[] = {
    {"train", tokenizer_train, "train a byte-level BPE tokenizer on a corpus, write tokenizer.json"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: headscope tokenizer SUBCOMMAND [options]\n\nsubcommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
}

int cmd_tokenizer(int argc, char **argv)
{
    return cli_dispatch("tokenizer", "subcommand", subcommands, sizeof subcommands / sizeof subcommands[0], usage, argc, argv);
}

static const char train_help[] =
    "usage: headscope tokenizer train --corpus FILE --vocab-size N --out tokenizer.json [options]\n"
    "Trains a byte-level BPE tokenizer (GPT-2 pre-tokenizer regex and byte map) on FILE (UTF-8 text;\n"
    "\"<|endoftext|>\" separates documents and becomes the last id) and writes a Hugging Face\n"
    "tokenizer.json. Ties between equally frequent pairs go to the lexicographically smaller pair, so\n"
    "the same corpus and options give the same file. Numbers split into two-digit tokens\n"
    "(\" 1745\" -> \" 17\" \"45\").\n"
    "\n"
    "  --corpus FILE       training text (required)\n"
    "  --vocab-size N      total ids, <|endoftext|> included (required; at least 467)\n"
    "  --out FILE          where to write tokenizer.json (required)\n"
    "  --task-tokens       force the prompt sets' words (names, colours, objects, nations, capitals, ...;\n"
    "                      `headscope dataset` writes them) to be single tokens, with a leading space\n"
    "  --force TEXT        force TEXT (one GPT-2 pre-token, e.g. \" Mary\") to be one token; repeatable\n"
    "  --min-count C       stop merging when the best pair occurs fewer than C times (default 2)\n"
    "  --no-digit-pairs    learn number tokens by frequency like any other (no fixed two-digit pieces)\n";

static int tokenizer_train(int argc, char **argv)
{
    const char *corpus = NULL, *out = NULL;
    long long vocab = -1, min_count = 2;
    int task_tokens = 0, digit_pairs = 1;
    const char **forced = NULL;
    int n_forced = 0, status = 1, n_task = 0;
    char **task = NULL;
    enum { O_VOCAB = 256, O_TASK, O_FORCE, O_MIN, O_NODIGIT };
    static const struct option opts[] = {
        {"corpus", required_argument, 0, 'c'},      {"out", required_argument, 0, 'o'},
        {"vocab-size", required_argument, 0, O_VOCAB}, {"task-tokens", no_argument, 0, O_TASK},
        {"force", required_argument, 0, O_FORCE},   {"min-count", required_argument, 0, O_MIN},
        {"no-digit-pairs", no_argument, 0, O_NODIGIT}, {"help", no_argument, 0, 'h'},
        {0}};
    int c;
    char *end;
    while ((c = cli_getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': corpus = optarg; break;
        case 'o': out = optarg; break;
        case O_VOCAB:
            vocab = strtoll(optarg, &end, 10);
            if (end == optarg || *end || vocab < 1 || vocab > 1000000) {
                fprintf(stderr, "headscope tokenizer train: --vocab-size '%s' is not an integer in 1..1000000\n", optarg);
                goto done;
            }
            break;
        case O_MIN:
            min_count = strtoll(optarg, &end, 10);
            if (end == optarg || *end || min_count < 1) {
                fprintf(stderr, "headscope tokenizer train: --min-count '%s' is not a positive integer\n", optarg);
                goto done;
            }
            break;
        case O_TASK: task_tokens = 1; break;
        case O_NODIGIT: digit_pairs = 0; break;
        case O_FORCE: {
            const char **f = realloc(forced, (size_t)(n_forced + 1) * sizeof *f);
            if (!f) {
                fprintf(stderr, "headscope tokenizer train: out of memory\n");
                goto done;
            }
            forced = f;
            forced[n_forced++] = optarg;
            break;
        }
        case 'h': fputs(train_help, stdout); status = 0; goto done;
        default: status = 2; goto done;
        }
    }
    if (!corpus || !out || vocab < 0 || optind != argc) {
        fprintf(stderr, "headscope tokenizer train: --corpus FILE, --vocab-size N and --out FILE are required\n");
        status = 2;
        goto done;
    }
    hs_error err = {0};
    if (task_tokens) {
        if (hs_task_words(&task, &n_task, &err) != HS_OK) {
            status = cli_fail("tokenizer train", &err);
            goto done;
        }
        const char **f = realloc(forced, (size_t)(n_forced + n_task) * sizeof *f);
        if (!f) {
            fprintf(stderr, "headscope tokenizer train: out of memory\n");
            goto done;
        }
        forced = f;
        for (int i = 0; i < n_task; i++)
            forced[n_forced++] = task[i];
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    hs_mapped_file mf = {0};
    hs_bpe_trainer *t = NULL;
    hs_bpe_train_spec spec = {.vocab_size = (int)vocab, .digit_pairs = digit_pairs, .min_count = min_count,
                              .forced = forced, .n_forced = n_forced};
    if (hs_mapped_file_open(corpus, &mf, &err) != HS_OK || hs_bpe_trainer_new(&spec, &t, &err) != HS_OK)
        goto fail;
    if (hs_bpe_trainer_feed(t, (const char *)mf.data, mf.size, &err) != HS_OK) {
        hs_error_prefix(&err, "%s", corpus);
        goto fail;
    }
    if (hs_bpe_trainer_train(t, &err) != HS_OK || hs_bpe_trainer_write_json(t, out, &err) != HS_OK)
        goto fail;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    hs_bpe_train_stats s;
    hs_bpe_trainer_stats(t, &s);
    printf("headscope tokenizer train: %s: %d tokens (256 bytes, %d merges%s, <|endoftext|> = %d), %d forced; "
           "from %.2f MB, %lld pre-tokens (%lld distinct), in %.2f s\n",
           out, s.vocab_size, s.n_merges, digit_pairs ? " incl. 210 number pieces" : "", s.vocab_size - 1, n_forced,
           (double)s.n_bytes / 1e6, (long long)s.n_pretokens, (long long)s.n_distinct,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
    if (s.vocab_size < vocab)
        printf("headscope tokenizer train: no pair occurs %lld times or more beyond these: the vocabulary is smaller "
               "than asked (%lld)\n",
               min_count, vocab);
    status = 0;
    goto cleanup;
fail:
    status = cli_fail("tokenizer train", &err);
cleanup:
    hs_bpe_trainer_free(t);
    hs_mapped_file_close(&mf);
done:
    hs_task_words_free(task, n_task);
    free(forced);
    return status;
}
