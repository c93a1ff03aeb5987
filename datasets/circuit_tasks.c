/* circuit_tasks.c — writing the induction (A) and marker-lookup (B) prompt sets of the planted
 * circuits model: random distinct letters, the answer placed where each circuit reads it. */
#include "datasets/circuit_tasks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "datasets/rng.h"

enum { N_LETTERS = 26, K_MIN = 6, K_MAX = 14 };

/* s[0..k-1] = k distinct letters; the other 26 - k letters follow in s[k..25]. */
static void draw_letters(hs_rng *r, char s[N_LETTERS], int k)
{
    for (int i = 0; i < N_LETTERS; i++)
        s[i] = (char)('a' + i);
    for (int i = 0; i < k; i++) {
        int j = i + hs_rng_below(r, N_LETTERS - i);
        char t = s[i];
        s[i] = s[j];
        s[j] = t;
    }
}

/* One prompt of set A or B into clean/corrupted (NUL-terminated, equal length). */
static void make_prompt(hs_rng *r, int is_a, char *clean, char *corrupted, char *answer, char *wrong, int *k_out,
                        int *source)
{
    char s[N_LETTERS];
    int k = hs_rng_range(r, K_MIN, K_MAX);
    draw_letters(r, s, k);
    memcpy(clean, s, (size_t)k);
    if (is_a) {
        int j = hs_rng_range(r, 0, k - 2); /* X = s[j] is followed by s[j+1] and is not the last letter */
        clean[k] = s[j];
        clean[k + 1] = '\0';
        *answer = s[j + 1];
        int w; /* any other letter of the prompt but X and the answer */
        do
            w = hs_rng_below(r, k);
        while (w == j || w == j + 1);
        *wrong = s[w];
        memcpy(corrupted, clean, (size_t)k + 2);
        corrupted[j] = s[k + hs_rng_below(r, N_LETTERS - k)]; /* absent from the prompt */
        *source = j + 2;
    } else {
        int m = hs_rng_range(r, 0, k - 1); /* the marker goes before s[m], the answer */
        memcpy(clean, s, (size_t)m);
        clean[m] = '0';
        memcpy(clean + m + 1, s + m, (size_t)(k - m));
        clean[k + 1] = '0';
        clean[k + 2] = '\0';
        *answer = s[m];
        int w;
        do
            w = hs_rng_below(r, k);
        while (w == m);
        *wrong = s[w];
        memcpy(corrupted, clean, (size_t)k + 3);
        corrupted[m] = s[k + hs_rng_below(r, N_LETTERS - k)]; /* absent from the prompt */
        *source = m + 2;
    }
    *k_out = k;
}

hs_status hs_circuit_tasks_write(const char *path, const char *set, int n, uint64_t seed, hs_error *err)
{
    if (!set || (strcmp(set, "A") && strcmp(set, "B")))
        return hs_fail(err, HS_ERR_ARG, "circuit tasks: set '%s': expected A or B", set ? set : "(null)");
    if (n < 1)
        return hs_fail(err, HS_ERR_ARG, "circuit tasks: %d prompts (at least 1)", n);
    int is_a = set[0] == 'A';
    FILE *f = fopen(path, "w");
    if (!f)
        return hs_fail(err, HS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    hs_rng r = hs_rng_seed(seed, is_a ? 0xa : 0xb);
    for (int p = 0; p < n; p++) {
        char clean[K_MAX + 3], corrupted[K_MAX + 3], answer, wrong;
        int k, source;
        make_prompt(&r, is_a, clean, corrupted, &answer, &wrong, &k, &source);
        fprintf(f,
                "{\"id\": \"%s-%04d\", \"clean\": \"%s\", \"corrupted\": \"%s\", \"answer\": \"%c\", "
                "\"wrong\": \"%c\", "
                "\"meta\": {\"set\": \"%s\", \"task\": \"%s\", \"seed\": %llu, \"k\": %d, \"source\": %d}}\n",
                set, p, clean, corrupted, answer, wrong, set, is_a ? "induction" : "marker-lookup",
                (unsigned long long)seed, k, source);
    }
    hs_status rc = ferror(f) ? hs_fail(err, HS_ERR_IO, "%s: write error", path) : HS_OK;
    if (fclose(f) != 0 && rc == HS_OK)
        rc = hs_fail(err, HS_ERR_IO, "%s: write error: %s", path, strerror(errno));
    return rc;
}
