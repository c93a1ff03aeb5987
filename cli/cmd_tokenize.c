/* cmd_tokenize.c — `headscope tokenize (--model PATH | --tokenizer PATH) [--json] [--bos] TEXT`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *tokenizer = NULL;
    int json = 0, bos = 0;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"tokenizer", required_argument, 0, 't'},
                                         {"json", no_argument, 0, 'j'},        {"bos", no_argument, 0, 'b'},
                                         {"help", no_argument, 0, 'h'},        {0}};
    int c;
    while ((c = cli_getopt_long(argc, argv, "m:t:jbh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 't': tokenizer = optarg; break;
        case 'j': json = 1; break;
        case 'b': bos = 1; break;
        case 'h':
            printf("usage: headscope tokenize (--model PATH | --tokenizer PATH) [--json] [--bos] TEXT\n"
                   "Prints the token ids, space-separated; --json prints ids and token strings;\n"
                   "--bos applies the model's BOS rule (off by default, so the ids are the text's own).\n");
            return 0;
        default: return 2;
        }
    }
    if ((!model && !tokenizer) || optind != argc - 1) {
        fprintf(stderr, "headscope tokenize: give --model PATH or --tokenizer PATH, and one TEXT\n");
        return 2;
    }
    const char *text = argv[optind];
    hs_error err = {0};
    hs_model *m = NULL;
    hs_tokenizer *own = NULL;
    const hs_tokenizer *tok;
    if (model) {
        if (!(m = cli_open_model("tokenize", model, tokenizer)))
            return 1;
        tok = hs_model_tokenizer(m);
        if (!tok) {
            fprintf(stderr, "headscope tokenize: %s has no tokenizer; pass --tokenizer PATH\n", model);
            hs_model_close(m);
            return 1;
        }
    } else {
        if (hs_tokenizer_open(tokenizer, 0, &own, &err) != HS_OK)
            return cli_fail("tokenize", &err);
        tok = own;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    int status = 0;
    if (hs_tokenizer_encode(tok, text, strlen(text), bos, &ids, &n, &err) != HS_OK) {
        status = cli_fail("tokenize", &err);
        goto done;
    }
    if (json) {
        printf("{\"ids\": [");
        for (size_t i = 0; i < n; i++)
            printf("%s%d", i ? ", " : "", ids[i]);
        printf("], \"tokens\": [");
        for (size_t i = 0; i < n; i++) {
            char buf[1024];
            if (hs_tokenizer_token_text(tok, ids[i], buf, sizeof buf) < 0)
                buf[0] = '\0';
            printf("%s", i ? ", " : "");
            cli_print_json_string(stdout, buf);
        }
        printf("]}\n");
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%s%d", i ? " " : "", ids[i]);
        printf("\n");
    }
done:
    free(ids);
    hs_tokenizer_close(own);
    hs_model_close(m);
    return status;
}
