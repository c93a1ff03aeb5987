/* cmd_dataset.c — `headscope dataset NAME ...`: the prompt-set generators of datasets/, one line
 * each in the table below, writing JSONL that `headscope run --prompts` reads. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/repeated_blocks.h"
#include "hooks/model.h"
#include "tools/commands.h"

static int dataset_repeated_blocks(int argc, char **argv);

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} datasets[] = {
    {"repeated-blocks", dataset_repeated_blocks, "BOS + copies of a random token block (induction, retrieval heads)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: headscope dataset NAME --out FILE.jsonl [options]\n\nprompt sets:\n");
    for (size_t i = 0; i < sizeof datasets / sizeof datasets[0]; i++)
        fprintf(f, "  %-16s %s\n", datasets[i].name, datasets[i].summary);
    fprintf(f, "\n`headscope dataset NAME --help` describes its options.\n");
}

int cmd_dataset(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof datasets / sizeof datasets[0]; i++)
        if (!strcmp(argv[1], datasets[i].name))
            return datasets[i].run(argc - 1, argv + 1);
    fprintf(stderr, "headscope dataset: unknown prompt set '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
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
        fprintf(stderr, "headscope dataset repeated-blocks: %s '%s' is not an integer in %lld..%lld\n", what, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int dataset_repeated_blocks(int argc, char **argv)
{
    const char *out = NULL, *model_path = NULL;
    long long vocab = -1, bos = -2, n = 100, block_len = 16, copies = 4, seed = 0;
    int no_bos = 0;
    enum { O_VOCAB = 256, O_BOS, O_NOBOS, O_N, O_LEN, O_COPIES, O_SEED };
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},       {"model", required_argument, 0, 'm'},
        {"vocab", required_argument, 0, O_VOCAB}, {"bos", required_argument, 0, O_BOS},
        {"no-bos", no_argument, 0, O_NOBOS},      {"n", required_argument, 0, O_N},
        {"block-len", required_argument, 0, O_LEN}, {"copies", required_argument, 0, O_COPIES},
        {"seed", required_argument, 0, O_SEED},   {"help", no_argument, 0, 'h'},
        {0}};
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "o:m:h", opts, NULL)) != -1) {
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
        hs_model_close(m);
    }
    if (bos >= 0)
        spec.bos_id = (int32_t)bos;
    if (no_bos)
        spec.bos_id = -1;
    hs_error err = {0};
    if (hs_repeated_blocks_write(out, &spec, &err) != HS_OK)
        return cli_fail("dataset repeated-blocks", &err);
    printf("headscope dataset repeated-blocks: %s: %lld prompts of %s%lld x %lld tokens (ids %d..%d, seed %lld)\n", out,
           n, spec.bos_id >= 0 ? "BOS + " : "", copies, block_len, spec.lo, spec.hi - 1, seed);
    return 0;
}
