/* cmd_generate.c — `headscope generate --model PATH [--tokenizer PATH] --prompt TEXT
 * --max-new-tokens N [--ids]`: greedy decoding. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"

int cmd_generate(int argc, char **argv)
{
    const char *model = NULL, *tokenizer = NULL, *prompt = NULL;
    long max_new = 32;
    int print_ids = 0;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"tokenizer", required_argument, 0, 't'},
                                         {"prompt", required_argument, 0, 'p'},
                                         {"max-new-tokens", required_argument, 0, 'n'},
                                         {"ids", no_argument, 0, 'i'},
                                         {"help", no_argument, 0, 'h'},
                                         {0}};
    int c;
    char *end;
    while ((c = cli_getopt_long(argc, argv, "m:t:p:n:ih", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 't': tokenizer = optarg; break;
        case 'p': prompt = optarg; break;
        case 'n':
            max_new = strtol(optarg, &end, 10);
            if (*end || max_new < 0 || max_new > 1000000) {
                fprintf(stderr, "headscope generate: --max-new-tokens '%s' is not a count\n", optarg);
                return 2;
            }
            break;
        case 'i': print_ids = 1; break;
        case 'h':
            printf("usage: headscope generate --model PATH [--tokenizer PATH] --prompt TEXT --max-new-tokens N [--ids]\n"
                   "Greedy decoding (argmax at every step). The prompt is encoded with the model's BOS rule;\n"
                   "an empty prompt starts from BOS alone. Prints the prompt and its continuation (without\n"
                   "that BOS); --ids prints the ids of the prompt (with it) and the generated tokens instead.\n");
            return 0;
        default: return 2;
        }
    }
    if (!model || !prompt) {
        fprintf(stderr, "headscope generate: --model PATH and --prompt TEXT are required\n");
        return 2;
    }
    hs_model *m = cli_open_model("generate", model, tokenizer);
    if (!m)
        return 1;
    hs_error err = {0};
    int status = 0;
    int32_t *prompt_ids = NULL, *out = NULL;
    char *text = NULL;
    size_t n_prompt = 0;
    int n_out = 0;
    const hs_tokenizer *tok = hs_model_tokenizer(m);
    if (!tok) {
        fprintf(stderr, "headscope generate: %s has no tokenizer; pass --tokenizer PATH\n", model);
        status = 1;
        goto done;
    }
    if (hs_tokenizer_encode(tok, prompt, strlen(prompt), 1, &prompt_ids, &n_prompt, &err) != HS_OK) {
        status = cli_fail("generate", &err);
        goto done;
    }
    if (n_prompt == 0) {
        fprintf(stderr, "headscope generate: the prompt encodes to no tokens and the model has no BOS token\n");
        status = 1;
        goto done;
    }
    /* the BOS the model's rule added is not part of the prompt the user typed: the text leaves it out */
    int32_t *plain = NULL;
    size_t n_plain = 0;
    if (hs_tokenizer_encode(tok, prompt, strlen(prompt), 0, &plain, &n_plain, &err) != HS_OK) {
        status = cli_fail("generate", &err);
        goto done;
    }
    free(plain);
    size_t n_rule = n_prompt - n_plain; /* 1 when a BOS was prepended, else 0 */
    if (hs_generate_greedy(m, prompt_ids, (int)n_prompt, (int)max_new, 1, &out, &n_out, &err) != HS_OK) {
        status = cli_fail("generate", &err);
        goto done;
    }
    if (print_ids) {
        for (int i = 0; i < n_out; i++)
            printf("%s%d", i ? " " : "", out[i]);
        printf("\n");
    } else {
        if (hs_tokenizer_decode(tok, out + n_rule, (size_t)n_out - n_rule, &text, &err) != HS_OK) {
            status = cli_fail("generate", &err);
            goto done;
        }
        printf("%s\n", text);
    }
done:
    free(text);
    free(out);
    free(prompt_ids);
    hs_model_close(m);
    return status;
}
