/* fuzz_config.c — libFuzzer target for model/hf_config.c and the architectures' config readers:
 * the input is a config.json in a model directory, read by hs_hf_config_load. Whatever loads must
 * be a config the forward pass can size; whatever fails must name config.json.
 * Build and run with tools/fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/arch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], path[300];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/hs-fuzz-config-XXXXXX", base);
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/config.json", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();

    hs_config cfg;
    const hs_arch *arch = NULL;
    hs_error err;
    memset(&err, 0, sizeof err);
    hs_status rc = hs_hf_config_load(dir, &cfg, &arch, &err);
    if (rc != HS_OK) {
        if (arch != NULL || strstr(err.msg, "config.json") == NULL)
            abort();
        return 0;
    }
    if (!arch || cfg.d_model <= 0 || cfg.n_heads <= 0 || cfg.d_head <= 0 || cfg.n_kv_heads <= 0 ||
        cfg.n_heads % cfg.n_kv_heads != 0 || cfg.rotary_dim < 0 || cfg.rotary_dim > cfg.d_head ||
        strcmp(cfg.arch, arch->name) != 0 || hs_config_param_count(&cfg) <= 0)
        abort();
    return 0;
}
