/* test_safetensors.c — safetensors archives: files written by hs_st_write read back exactly in
 * every float dtype, sharded directories join their shards, and every kind of corrupt header is
 * refused with a status and a message that names the file and the field. */
#include "tests/test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h"
#include "model/safetensors.h"

static const char *join(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
    return buf;
}

/* Writes a safetensors file by hand: the 8-byte header length `hlen` (the JSON's own length when
 * hlen < 0), the header text, then data_len bytes of data (0x11 filler). */
static int write_raw(const char *path, int64_t hlen, const char *header, size_t data_len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    uint64_t n = hlen < 0 ? (uint64_t)strlen(header) : (uint64_t)hlen;
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(n >> (8 * i));
    fwrite(len, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    for (size_t i = 0; i < data_len; i++)
        fputc(0x11, f);
    return fclose(f);
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

int test_safetensors_roundtrip(void)
{
    const char *dir = test_tmpdir();
    char path[512];
    join(path, sizeof path, dir, "t.safetensors");

    float a[6] = {1.5f, -2.0f, 0.25f, 3.0f, -0.125f, 1e-3f};
    uint16_t h[4], b[4];
    float hv[4] = {1.0f, -0.5f, 65504.0f, 0.0f}, bv[4] = {1.0f, -3.0f, 1e30f, -1e-30f};
    for (int i = 0; i < 4; i++) {
        h[i] = hs_f32_to_f16(hv[i]);
        b[i] = hs_f32_to_bf16(bv[i]);
    }
    int32_t ids[3] = {7, -1, 123456};
    float scalar = 42.0f;
    hs_st_write_entry entries[] = {
        {"w.f32", HS_DTYPE_F32, 2, {2, 3}, a},
        {"w.f16", HS_DTYPE_F16, 1, {4}, h},
        {"a.bf16", HS_DTYPE_BF16, 2, {2, 2}, b},
        {"ids", HS_DTYPE_I32, 1, {3}, ids},
        {"empty", HS_DTYPE_F32, 2, {0, 4}, NULL},
        {"scalar", HS_DTYPE_F32, 0, {0}, &scalar},
    };
    hs_error err = {0};
    CHECK_OK(hs_st_write(path, entries, 6, &err), &err);

    /* the data section starts 8-byte aligned, the header padded with spaces */
    FILE *f = fopen(path, "rb");
    CHECK(f);
    unsigned char lenb[8];
    CHECK(fread(lenb, 1, 8, f) == 8);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | lenb[i];
    CHECK(hlen % 8 == 0);
    char *hdr = calloc(1, hlen + 1);
    CHECK(fread(hdr, 1, hlen, f) == hlen);
    fclose(f);
    CHECK(hdr[0] == '{');
    size_t hl = strlen(hdr);
    while (hl > 0 && hdr[hl - 1] == ' ')
        hl--;
    CHECK(hdr[hl - 1] == '}');
    CHECK(hlen - hl < 8);
    free(hdr);

    hs_st_archive *st = NULL;
    CHECK_OK(hs_st_open(path, &st, &err), &err);
    CHECK(hs_st_count(st) == 6);
    for (int i = 1; i < hs_st_count(st); i++) /* listed in name order */
        CHECK(strcmp(hs_st_at(st, i - 1)->name, hs_st_at(st, i)->name) < 0);
    CHECK(hs_st_at(st, 6) == NULL && hs_st_at(st, -1) == NULL);
    for (int i = 0; i < 6; i++) {
        const hs_st_tensor *t = hs_st_find(st, entries[i].name);
        CHECK_MSG(t, "%s not found", entries[i].name);
        CHECK(t->dtype == entries[i].dtype && t->ndim == entries[i].ndim);
        CHECK(strcmp(t->file, path) == 0);
        for (int d = 0; d < t->ndim; d++)
            CHECK(t->shape[d] == entries[i].shape[d]);
    }
    CHECK(hs_st_find(st, "nope") == NULL && hs_st_find(st, "") == NULL);
    const hs_st_tensor *ti = hs_st_find(st, "ids");
    CHECK(ti->nbytes == 12 && memcmp(ti->data, ids, 12) == 0);

    float out[6];
    CHECK_OK(hs_st_read_f32(st, "w.f32", 2, (int64_t[]){2, 3}, out, &err), &err);
    CHECK(memcmp(out, a, sizeof a) == 0);
    CHECK_OK(hs_st_read_f32(st, "w.f16", 1, (int64_t[]){4}, out, &err), &err);
    for (int i = 0; i < 4; i++)
        CHECK(out[i] == hv[i]); /* all exactly representable in float16 */
    CHECK_OK(hs_st_read_f32(st, "a.bf16", 2, (int64_t[]){2, 2}, out, &err), &err);
    for (int i = 0; i < 4; i++)
        CHECK(out[i] == hs_bf16_to_f32(b[i]));
    CHECK(out[0] == 1.0f && out[1] == -3.0f);
    CHECK_OK(hs_st_read_f32(st, "empty", 2, (int64_t[]){0, 4}, NULL, &err), &err);
    CHECK_OK(hs_st_read_f32(st, "scalar", 0, NULL, out, &err), &err);
    CHECK(out[0] == 42.0f);

    /* the read errors: absent, not a float, wrong shape (showing both shapes) */
    CHECK(hs_st_read_f32(st, "nope", 1, (int64_t[]){1}, out, &err) == HS_ERR_MISSING);
    CHECK(strstr(err.msg, path) && strstr(err.msg, "'nope'"));
    CHECK(hs_st_read_f32(st, "ids", 1, (int64_t[]){3}, out, &err) == HS_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "'ids'") && strstr(err.msg, "I32"));
    CHECK(hs_st_read_f32(st, "w.f32", 2, (int64_t[]){3, 2}, out, &err) == HS_ERR_SHAPE);
    CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, "tensor 'w.f32': shape [2, 3] but the config implies [3, 2]"),
              "%s", err.msg);
    CHECK(hs_st_read_f32(st, "w.f32", 1, (int64_t[]){6}, out, &err) == HS_ERR_SHAPE);
    CHECK(strstr(err.msg, "shape [2, 3] but the config implies [6]"));
    hs_st_close(st);
    hs_st_close(NULL);

    /* hs_st_write refuses bad entries and names them */
    hs_st_write_entry dup[] = {{"x", HS_DTYPE_F32, 1, {1}, a}, {"x", HS_DTYPE_F32, 1, {1}, a}};
    CHECK(hs_st_write(path, dup, 2, &err) == HS_ERR_ARG && strstr(err.msg, "'x'"));
    hs_st_write_entry neg[] = {{"y", HS_DTYPE_F32, 1, {-1}, a}};
    CHECK(hs_st_write(path, neg, 1, &err) == HS_ERR_ARG && strstr(err.msg, "'y'"));
    CHECK(hs_st_write("/nonexistent-dir/x.safetensors", entries, 1, &err) == HS_ERR_IO);
    CHECK(strstr(err.msg, "/nonexistent-dir/x.safetensors"));

    /* an empty archive (only metadata) is valid */
    CHECK_OK(hs_st_write(path, NULL, 0, &err), &err);
    CHECK_OK(hs_st_open(path, &st, &err), &err);
    CHECK(hs_st_count(st) == 0 && hs_st_find(st, "x") == NULL);
    hs_st_close(st);
    return TEST_PASS;
}

int test_safetensors_sharded(void)
{
    const char *dir = test_tmpdir();
    char p1[512], p2[512], ip[512];
    join(p1, sizeof p1, dir, "model-00001-of-00002.safetensors");
    join(p2, sizeof p2, dir, "model-00002-of-00002.safetensors");
    join(ip, sizeof ip, dir, "model.safetensors.index.json");
    float x[4] = {1, 2, 3, 4}, y[2] = {5, 6}, z[3] = {7, 8, 9};
    hs_st_write_entry s1[] = {{"x", HS_DTYPE_F32, 2, {2, 2}, x}, {"y", HS_DTYPE_F32, 1, {2}, y}};
    hs_st_write_entry s2[] = {{"z", HS_DTYPE_F32, 1, {3}, z}};
    hs_error err = {0};
    CHECK_OK(hs_st_write(p1, s1, 2, &err), &err);
    CHECK_OK(hs_st_write(p2, s2, 1, &err), &err);
    CHECK(write_text(ip, "{\"metadata\": {\"total_size\": 36}, \"weight_map\": {"
                         "\"x\": \"model-00001-of-00002.safetensors\", \"z\": \"model-00002-of-00002.safetensors\","
                         "\"y\": \"model-00001-of-00002.safetensors\"}}") == 0);

    /* the directory, and the index file itself, open the same archive */
    for (int k = 0; k < 2; k++) {
        hs_st_archive *st = NULL;
        CHECK_OK(hs_st_open(k ? ip : dir, &st, &err), &err);
        CHECK(hs_st_count(st) == 3);
        CHECK(strcmp(hs_st_find(st, "x")->file, p1) == 0);
        CHECK(strcmp(hs_st_find(st, "y")->file, p1) == 0);
        CHECK(strcmp(hs_st_find(st, "z")->file, p2) == 0);
        float out[4];
        CHECK_OK(hs_st_read_f32(st, "z", 1, (int64_t[]){3}, out, &err), &err);
        CHECK(out[0] == 7 && out[2] == 9);
        CHECK_OK(hs_st_read_f32(st, "x", 2, (int64_t[]){2, 2}, out, &err), &err);
        CHECK(out[3] == 4);
        CHECK(hs_st_read_f32(st, "z", 1, (int64_t[]){4}, out, &err) == HS_ERR_SHAPE);
        CHECK(strstr(err.msg, p2) && strstr(err.msg, "'z'")); /* names the shard */
        hs_st_close(st);
    }

    struct { const char *index; hs_status status; const char *want1, *want2; } bad[] = {
        {"{\"weight_map\": {\"x\": \"model-00001-of-00002.safetensors\", \"q\": \"model-00003.safetensors\"}}",
         HS_ERR_MISSING, "weight_map", "model-00003.safetensors"},
        /* the map puts a tensor in a shard that lacks it */
        {"{\"weight_map\": {\"x\": \"model-00001-of-00002.safetensors\", \"z\": \"model-00002-of-00002.safetensors\","
         "\"w\": \"model-00001-of-00002.safetensors\"}}", HS_ERR_MISSING, "weight_map", "'w'"},
        {"{\"weight_map\": {\"x\": \"model-00002-of-00002.safetensors\", \"z\": \"model-00001-of-00002.safetensors\"}}",
         HS_ERR_FORMAT, "weight_map", "'x'"},
        {"{\"weight_map\": {\"x\": \"../model-00001-of-00002.safetensors\"}}", HS_ERR_FORMAT, "weight_map", "'x'"},
        {"{\"weight_map\": {\"x\": 3}}", HS_ERR_FORMAT, "weight_map", "'x'"},
        {"{\"weight_map\": {}}", HS_ERR_FORMAT, "weight_map", "empty"},
        {"{\"metadata\": {}}", HS_ERR_MISSING, "weight_map", "missing"},
        {"{\"weight_map\": [1]}", HS_ERR_FORMAT, "weight_map", "object"},
        {"[\"weight_map\"]", HS_ERR_FORMAT, "JSON object", ""},
        {"{\"weight_map\": {\"x\": ", HS_ERR_FORMAT, "not valid JSON", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(write_text(ip, bad[i].index) == 0);
        hs_st_archive *st = (hs_st_archive *)&err; /* must come back NULL */
        err.msg[0] = '\0';
        hs_status rc = hs_st_open(dir, &st, &err);
        CHECK_MSG(rc == bad[i].status, "case %zu: got %s: %s", i, hs_status_name(rc), err.msg);
        CHECK(st == NULL);
        CHECK_MSG(strstr(err.msg, ip) && strstr(err.msg, bad[i].want1) && strstr(err.msg, bad[i].want2),
                  "case %zu: message '%s'", i, err.msg);
    }

    /* a tensor in two shards */
    hs_st_write_entry s2dup[] = {{"z", HS_DTYPE_F32, 1, {3}, z}, {"y", HS_DTYPE_F32, 1, {2}, y}};
    CHECK_OK(hs_st_write(p2, s2dup, 2, &err), &err);
    CHECK(write_text(ip, "{\"weight_map\": {\"x\": \"model-00001-of-00002.safetensors\","
                         "\"z\": \"model-00002-of-00002.safetensors\"}}") == 0);
    hs_st_archive *st = NULL;
    CHECK(hs_st_open(dir, &st, &err) == HS_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "tensor 'y' appears in both") && strstr(err.msg, p1) && strstr(err.msg, p2), "%s",
              err.msg);

    /* a corrupt shard is reported under its own name */
    CHECK(write_raw(p2, -1, "{\"z\": 1}", 0) == 0);
    CHECK(hs_st_open(dir, &st, &err) == HS_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, p2) && strstr(err.msg, "'z'"), "%s", err.msg);

    /* a directory with neither file */
    const char *empty = test_tmpdir();
    CHECK(hs_st_open(empty, &st, &err) == HS_ERR_MISSING);
    CHECK(strstr(err.msg, empty) && strstr(err.msg, "model.safetensors"));
    join(p1, sizeof p1, empty, "absent.safetensors");
    CHECK(hs_st_open(p1, &st, &err) == HS_ERR_MISSING && strstr(err.msg, p1));
    return TEST_PASS;
}

int test_safetensors_corrupt(void)
{
    /* Each case: the header length (-1: the JSON's length), the JSON, the data bytes that follow,
     * and what hs_st_open must answer: the status and up to two phrases besides the file name. */
    static const struct {
        const char *what;
        int64_t hlen;
        const char *json;
        size_t data;
        hs_status status;
        const char *want1, *want2;
    } cases[] = {
        {"header length 0", 0, "", 16, HS_ERR_FORMAT, "header length is 0", ""},
        {"header length beyond the file", 4096, "{}", 16, HS_ERR_FORMAT, "header length 4096", "truncated"},
        {"huge header length", INT64_MAX, "{}", 0, HS_ERR_FORMAT, "header length 9223372036854775807", "limit"},
        {"header just past the end", 3, "{}", 0, HS_ERR_FORMAT, "header length 3", ""},
        {"not JSON", -1, "{\"w\": {\"dtype\": ", 0, HS_ERR_FORMAT, "not valid JSON", ""},
        {"trailing garbage", -1, "{} xx", 0, HS_ERR_FORMAT, "not valid JSON", ""},
        {"JSON array", -1, "[1, 2]", 0, HS_ERR_FORMAT, "not a JSON object", ""},
        {"JSON string", -1, "\"w\"", 0, HS_ERR_FORMAT, "not a JSON object", ""},
        {"duplicate tensor", -1,
         "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
         " \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, HS_ERR_FORMAT, "duplicate", "w"},
        {"entry not an object", -1, "{\"w\": [1]}", 0, HS_ERR_FORMAT, "'w'", "not a JSON object"},
        {"metadata not an object", -1, "{\"__metadata__\": 3}", 0, HS_ERR_FORMAT, "__metadata__", ""},
        {"metadata value not a string", -1, "{\"__metadata__\": {\"format\": 1}}", 0, HS_ERR_FORMAT, "__metadata__",
         "format"},
        {"dtype missing", -1, "{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, HS_ERR_FORMAT, "'w'",
         "\"dtype\" is missing"},
        {"dtype not a string", -1, "{\"w\": {\"dtype\": 4, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
         HS_ERR_FORMAT, "'w'", "\"dtype\""},
        {"unknown dtype", -1, "{\"w\": {\"dtype\": \"F8_E4M3\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1,
         HS_ERR_UNSUPPORTED, "'w'", "dtype \"F8_E4M3\""},
        {"shape missing", -1, "{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4, HS_ERR_FORMAT, "'w'",
         "\"shape\" is missing"},
        {"shape not an array", -1, "{\"w\": {\"dtype\": \"F32\", \"shape\": 4, \"data_offsets\": [0, 4]}}", 4,
         HS_ERR_FORMAT, "'w'", "\"shape\""},
        {"negative dim", -1, "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, 4]}}", 4,
         HS_ERR_FORMAT, "'w'", "\"shape\" dim 1"},
        {"fractional dim", -1, "{\"w\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4,
         HS_ERR_FORMAT, "'w'", "\"shape\" dim 0"},
        {"huge dim", -1,
         "{\"w\": {\"dtype\": \"F32\", \"shape\": [9223372036854775807], \"data_offsets\": [0, 4]}}", 4,
         HS_ERR_FORMAT, "'w'", "overflows"},
        {"dim beyond int64", -1,
         "{\"w\": {\"dtype\": \"F32\", \"shape\": [99999999999999999999], \"data_offsets\": [0, 4]}}", 4,
         HS_ERR_FORMAT, "not valid JSON", ""},
        {"element count overflow", -1,
         "{\"w\": {\"dtype\": \"U8\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 4]}}", 4,
         HS_ERR_FORMAT, "'w'", "overflows"},
        {"too many dims", -1,
         "{\"w\": {\"dtype\": \"U8\", \"shape\": [1, 1, 1, 1, 1, 1], \"data_offsets\": [0, 1]}}", 1,
         HS_ERR_UNSUPPORTED, "'w'", "\"shape\" has 6 dims"},
        {"offsets missing", -1, "{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, HS_ERR_FORMAT, "'w'",
         "\"data_offsets\" is missing"},
        {"offsets not a pair", -1, "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", 8,
         HS_ERR_FORMAT, "'w'", "\"data_offsets\""},
        {"negative offset", -1, "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", 8,
         HS_ERR_FORMAT, "'w'", "\"data_offsets\""},
        {"offsets past the data", -1, "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 12,
         HS_ERR_FORMAT, "'w'", "\"data_offsets\" [0, 16] is not a range within the 12-byte data section"},
        {"begin after end", -1, "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 4]}}", 12,
         HS_ERR_FORMAT, "'w'", "\"data_offsets\" [8, 4]"},
        {"size mismatch", -1, "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 8,
         HS_ERR_FORMAT, "'w'", "spans 4 bytes but dtype F32 shape [2] needs 8"},
        {"overlapping tensors", -1,
         "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
         " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12, HS_ERR_FORMAT,
         "tensor 'b'", "overlaps tensor 'a'"},
        {"tensor inside another", -1,
         "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
         " \"c\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [12, 16]},"
         " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 16, HS_ERR_FORMAT,
         "tensor 'b'", "overlaps tensor 'a'"},
    };
    const char *dir = test_tmpdir();
    char path[512];
    join(path, sizeof path, dir, "bad.safetensors");
    hs_error err = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(write_raw(path, cases[i].hlen, cases[i].json, cases[i].data) == 0);
        hs_st_archive *st = (hs_st_archive *)&err;
        err.msg[0] = '\0';
        hs_status rc = hs_st_open(path, &st, &err);
        CHECK_MSG(rc == cases[i].status, "%s: got %s: %s", cases[i].what, hs_status_name(rc), err.msg);
        CHECK(st == NULL);
        CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, cases[i].want1) && strstr(err.msg, cases[i].want2),
                  "%s: message '%s'", cases[i].what, err.msg);
    }

    /* truncated files: shorter than the length field, and cut inside the data */
    static const size_t cuts[] = {0, 5};
    for (size_t i = 0; i < 2; i++) {
        FILE *f = fopen(path, "wb");
        CHECK(f);
        fwrite("\x10\0\0\0\0\0\0\0", 1, cuts[i], f);
        fclose(f);
        hs_st_archive *st = NULL;
        CHECK(hs_st_open(path, &st, &err) == HS_ERR_FORMAT);
        CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, "truncated"), "%s", err.msg);
    }
    CHECK(write_raw(path, -1, "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 15) == 0);
    hs_st_archive *st = NULL;
    CHECK(hs_st_open(path, &st, &err) == HS_ERR_FORMAT && strstr(err.msg, "'w'") && strstr(err.msg, "data_offsets"));

    /* the same file with all its data opens, and so do zero-size tensors anywhere and gaps */
    CHECK(write_raw(path, -1,
                    "{\"__metadata__\": {\"format\": \"pt\"},"
                    " \"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
                    " \"e\": {\"dtype\": \"F32\", \"shape\": [0, 3], \"data_offsets\": [8, 8]},"
                    " \"u\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [18, 20]}}   ", 20) == 0);
    CHECK_OK(hs_st_open(path, &st, &err), &err);
    CHECK(hs_st_count(st) == 3 && hs_st_find(st, "e")->nbytes == 0 && hs_st_find(st, "u")->nbytes == 2);
    hs_st_close(st);
    return TEST_PASS;
}
