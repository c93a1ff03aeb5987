/* cmd_info.c — `headscope info --model PATH [--tokenizer PATH]`: what a model is. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli/commands.h"

int cmd_info(int argc, char **argv)
{
    const char *model = NULL, *tokenizer = NULL;
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"tokenizer", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt_long(argc, argv, "m:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 't': tokenizer = optarg; break;
        case 'h':
            printf("usage: headscope info --model PATH [--tokenizer PATH]\n"
                   "PATH is a Hugging Face model directory or a llama2.c .bin file.\n");
            return 0;
        default: return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "headscope info: --model PATH is required\n");
        return 2;
    }
    hs_model *m = cli_open_model("info", model, tokenizer);
    if (!m)
        return 1;
    hs_model_info in;
    hs_model_get_info(m, &in);
    const hs_tokenizer *tok = hs_model_tokenizer(m);
    printf("model:        %s\n", in.path);
    printf("architecture: %s\n", in.architecture);
    printf("layers:       %d\n", in.n_layers);
    printf("heads:        %d\n", in.n_heads);
    printf("kv heads:     %d\n", in.n_kv_heads);
    printf("d_model:      %d\n", in.d_model);
    printf("d_head:       %d\n", in.d_head);
    printf("d_mlp:        %d\n", in.d_mlp);
    printf("vocab:        %d\n", in.d_vocab);
    printf("context:      %d\n", in.n_ctx);
    printf("dtype:        %s\n", in.dtype);
    printf("parameters:   %" PRId64 "\n", in.n_params);
    if (tok)
        printf("tokenizer:    %d tokens, bos %d, eos %d\n", hs_tokenizer_vocab_size(tok), hs_tokenizer_bos_id(tok),
               hs_tokenizer_eos_id(tok));
    else
        printf("tokenizer:    none (pass --tokenizer PATH)\n");
    hs_model_close(m);
    return 0;
}
