/* model_hash.c — sha256 fingerprints of model files and prompt sets (nettle's sha256). */
#include "model/model_hash.h"

#include <dirent.h>
#include <errno.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"

static hs_status hash_file_into(struct sha256_ctx *ctx, const char *path, hs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hs_fail(err, HS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    static __thread unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sha256_update(ctx, n, buf);
    int bad = ferror(f);
    fclose(f);
    return bad ? hs_fail(err, HS_ERR_IO, "%s: read error", path) : HS_OK;
}

static void to_hex(struct sha256_ctx *ctx, char hex[65])
{
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(ctx, sizeof digest, digest);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

hs_status hs_file_sha256(const char *path, char hex[65], hs_error *err)
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    hs_status rc = hash_file_into(&ctx, path, err);
    if (rc == HS_OK)
        to_hex(&ctx, hex);
    return rc;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

hs_status hs_model_sha256(const char *model_path, char hex[65], hs_error *err)
{
    struct stat st;
    if (stat(model_path, &st) != 0)
        return hs_fail(err, HS_ERR_IO, "%s: %s", model_path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return hs_file_sha256(model_path, hex, err);
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", model_path);
    hs_status rc = hash_file_into(&ctx, path, err);
    if (rc != HS_OK)
        return rc;
    DIR *d = opendir(model_path);
    if (!d)
        return hs_fail(err, HS_ERR_IO, "%s: cannot list: %s", model_path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!has_suffix(e->d_name, ".safetensors"))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **p = realloc(names, cap * sizeof *p);
            if (!p) {
                rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", model_path);
                goto done;
            }
            names = p;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", model_path);
            goto done;
        }
        n++;
    }
    qsort(names, n, sizeof *names, compare_names);
    for (size_t i = 0; i < n && rc == HS_OK; i++) {
        snprintf(path, sizeof path, "%s/%s", model_path, names[i]);
        rc = hash_file_into(&ctx, path, err);
    }
    if (rc == HS_OK)
        to_hex(&ctx, hex);
done:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}
