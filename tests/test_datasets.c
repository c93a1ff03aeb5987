/* test_datasets.c — the task prompt sets and the training corpus: every set loads through
 * hs_prompt_set_load, every answer is right for its prompt (and every wrong answer for its corrupted
 * prompt), sets are balanced where they say so, the same seed gives the same bytes, the held-out split
 * differs from train as each generator documents, the corpus holds the tasks' train prompts and none
 * of the held-out ones, and with a tokenizer trained on the corpus every answer is one token. */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/mapped_file.h"
#include "datasets/corpus.h"
#include "datasets/prompts.h"
#include "datasets/task_set.h"
#include "datasets/task_words.h"
#include "tests/test.h"

/* Generates a set into a temporary file and loads it back; NULL on failure. */
static hs_prompt_set *make_set(const char *task, int n, uint64_t seed, hs_task_split split, char *path, size_t cap)
{
    const hs_task_info *info = hs_task_find(task);
    hs_task_spec spec = {.n = n, .seed = seed, .split = split};
    hs_task_set set = {0};
    hs_error err = {0};
    hs_prompt_set *ps = NULL;
    snprintf(path, cap, "%s/%s-%d.jsonl", test_tmpdir(), task, (int)split);
    if (!info || info->generate(&spec, &set, &err) != HS_OK || hs_task_set_write(&set, path, &err) != HS_OK ||
        hs_prompt_set_load(path, &ps, &err) != HS_OK)
        fprintf(stderr, "%s: %s\n", task, err.msg);
    hs_task_set_clear(&set);
    return ps;
}

static json_t *meta_of(const hs_prompt *p)
{
    return p->meta_json ? json_loads(p->meta_json, 0, NULL) : NULL;
}

static const char *meta_str(json_t *m, const char *key)
{
    return json_string_value(json_object_get(m, key));
}

static int meta_int(json_t *m, const char *key)
{
    return (int)json_integer_value(json_object_get(m, key));
}

/* Occurrences of word w in s as a whole word. */
static int count_word(const char *s, const char *w)
{
    int n = 0;
    size_t len = strlen(w);
    for (const char *p = strstr(s, w); p; p = strstr(p + 1, w)) {
        char before = p == s ? ' ' : p[-1], after = p[len];
        n += !(before >= 'A' && before <= 'z') && !(after >= 'A' && after <= 'z');
    }
    return n;
}

static int in_list(const char *w, const char *const *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], w))
            return 1;
    return 0;
}

/* The common checks: n prompts, clean/corrupted/answer/wrong present, meta names the set and split. */
static int check_common(const hs_prompt_set *ps, int n, const char *task, hs_task_split split)
{
    CHECK(ps && ps->n == n);
    for (int i = 0; i < ps->n; i++) {
        const hs_prompt *p = &ps->prompts[i];
        CHECK(p->clean && p->corrupted && p->answer && p->wrong && p->text && !strcmp(p->text, p->clean));
        CHECK(strcmp(p->answer, p->wrong) != 0 && strcmp(p->clean, p->corrupted) != 0);
        json_t *m = meta_of(p);
        CHECK(m && !strcmp(meta_str(m, "set"), task));
        CHECK(!strcmp(meta_str(m, "split"), split == HS_TASK_TRAIN ? "train" : "heldout"));
        CHECK(json_is_integer(json_object_get(m, "template")) && json_is_integer(json_object_get(m, "seed")));
        json_decref(m);
    }
    return TEST_PASS;
}

int test_datasets_ioi(void)
{
    char path[512];
    for (int split = 0; split < 2; split++) {
        hs_prompt_set *ps = make_set("ioi", 200, 1, (hs_task_split)split, path, sizeof path);
        CHECK(check_common(ps, 200, "ioi", (hs_task_split)split) == TEST_PASS);
        const hs_word_list *l = &hs_words_names;
        int baba = 0, templates[15] = {0};
        for (int i = 0; i < ps->n; i++) {
            const hs_prompt *p = &ps->prompts[i];
            json_t *m = meta_of(p);
            const char *io = meta_str(m, "io"), *s = meta_str(m, "s");
            CHECK(p->answer[0] == ' ' && !strcmp(p->answer + 1, io) && !strcmp(p->wrong + 1, s));
            /* IO once, S twice in clean; neither in the ABC corruption, which repeats no name */
            CHECK_MSG(count_word(p->clean, io) == 1 && count_word(p->clean, s) == 2, "%s", p->clean);
            CHECK(count_word(p->corrupted, io) == 0 && count_word(p->corrupted, s) == 0);
            const char *const *names = split ? l->heldout : l->train;
            int n_names = split ? l->n_heldout : l->n_train, in_corrupt = 0;
            for (int k = 0; k < n_names; k++) {
                CHECK(count_word(p->corrupted, names[k]) <= 1);
                in_corrupt += count_word(p->corrupted, names[k]);
            }
            CHECK(in_corrupt == 3);
            CHECK(in_list(io, names, n_names) && in_list(s, names, n_names)); /* the split's own names */
            int is_baba = !strcmp(meta_str(m, "order"), "BABA");
            CHECK(is_baba == (strstr(p->clean, s) < strstr(p->clean, io)));
            baba += is_baba;
            templates[meta_int(m, "template")]++;
            json_decref(m);
        }
        CHECK(baba == 100); /* balanced */
        for (int t = 0; t < 15; t++)
            CHECK(templates[t] > 0);
        hs_prompt_set_free(ps);
    }
    /* the swap corruption: the same clean prompts; corrupted = clean with IO and S exchanged */
    hs_task_spec spec = {.n = 50, .seed = 1, .split = HS_TASK_TRAIN};
    hs_task_set abc = {0}, swap = {0};
    hs_error err = {0};
    CHECK_OK(hs_task_ioi(&spec, &abc, &err), &err);
    spec.ioi_swap = 1;
    CHECK_OK(hs_task_ioi(&spec, &swap, &err), &err);
    CHECK(abc.n == 50 && swap.n == 50);
    for (int i = 0; i < swap.n; i++) {
        const hs_task_prompt *a = &abc.v[i], *w = &swap.v[i];
        CHECK(!strcmp(a->clean, w->clean) && !strcmp(a->answer, w->answer) && !strcmp(a->wrong, w->wrong));
        json_t *m = json_loads(w->meta_json, 0, NULL);
        const char *io = meta_str(m, "io"), *s = meta_str(m, "s");
        CHECK(!strcmp(meta_str(m, "corruption"), "swap"));
        /* exchanging the names of the corrupted prompt gives back the clean one */
        char back[1024] = "";
        size_t n = 0;
        for (const char *c = w->corrupted; *c && n + 64 < sizeof back;) {
            if (!strncmp(c, io, strlen(io)) && !isalpha((unsigned char)c[strlen(io)])) {
                n += (size_t)snprintf(back + n, sizeof back - n, "%s", s), c += strlen(io);
            } else if (!strncmp(c, s, strlen(s)) && !isalpha((unsigned char)c[strlen(s)])) {
                n += (size_t)snprintf(back + n, sizeof back - n, "%s", io), c += strlen(s);
            } else {
                back[n++] = *c++;
                back[n] = '\0';
            }
        }
        CHECK_MSG(!strcmp(back, w->clean), "%s -> %s vs %s", w->corrupted, back, w->clean);
        CHECK(count_word(w->corrupted, io) == 2 && count_word(w->corrupted, s) == 1); /* the answer is now S */
        json_decref(m);
    }
    hs_task_set_clear(&abc), hs_task_set_clear(&swap);
    return TEST_PASS;
}

int test_datasets_greater_than(void)
{
    char path[512];
    for (int split = 0; split < 2; split++) {
        hs_prompt_set *ps = make_set("greater-than", 300, 2, (hs_task_split)split, path, sizeof path);
        CHECK(check_common(ps, 300, "greater-than", (hs_task_split)split) == TEST_PASS);
        for (int i = 0; i < ps->n; i++) {
            const hs_prompt *p = &ps->prompts[i];
            json_t *m = meta_of(p);
            int xx = meta_int(m, "century"), yy = meta_int(m, "start_yy");
            const char *noun = meta_str(m, "noun");
            char want[160];
            snprintf(want, sizeof want, "The %s lasted from the year %d%02d to the year %d", noun, xx, yy, xx);
            CHECK_MSG(!strcmp(p->clean, want), "%s", p->clean);
            snprintf(want, sizeof want, "The %s lasted from the year %d01 to the year %d", noun, xx, xx);
            CHECK(!strcmp(p->corrupted, want));
            CHECK(xx >= 11 && xx <= 17 && yy >= 2 && yy <= 98);
            CHECK(strlen(p->answer) == 2 && strlen(p->wrong) == 2); /* two digits, no space */
            CHECK(atoi(p->answer) > yy && atoi(p->wrong) < yy);
            const hs_word_list *l = &hs_words_events;
            CHECK(split ? in_list(noun, l->heldout, l->n_heldout) : in_list(noun, l->train, l->n_train));
            json_decref(m);
        }
        hs_prompt_set_free(ps);
    }
    return TEST_PASS;
}

/* The colour of `object` in the last question of a colored-objects prompt. */
static int color_of(const char *prompt, const char *object, char *out, size_t cap)
{
    const char *q = strrchr(prompt, 'Q');
    for (int c = 0; c < hs_n_colors; c++) {
        char pat[64];
        snprintf(pat, sizeof pat, " %s %s,", hs_words_colors[c], object);
        if (!strstr(q, pat))
            snprintf(pat, sizeof pat, " %s %s.", hs_words_colors[c], object);
        if (strstr(q, pat)) {
            snprintf(out, cap, " %s", hs_words_colors[c]);
            return 1;
        }
    }
    return 0;
}

/* The object asked about in the last question. */
static void asked(const char *prompt, char *out, size_t cap)
{
    const char *p = strstr(strrchr(prompt, 'Q'), "What color is the ") + 18;
    size_t n = strcspn(p, "?");
    snprintf(out, cap, "%.*s", (int)n, p);
}

int test_datasets_colored_objects(void)
{
    char path[512];
    for (int split = 0; split < 2; split++) {
        hs_prompt_set *ps = make_set("colored-objects", 200, 3, (hs_task_split)split, path, sizeof path);
        CHECK(check_common(ps, 200, "colored-objects", (hs_task_split)split) == TEST_PASS);
        const hs_word_list *l = &hs_words_items;
        for (int i = 0; i < ps->n; i++) {
            const hs_prompt *p = &ps->prompts[i];
            char obj[64], col[64];
            asked(p->clean, obj, sizeof obj);
            CHECK(split ? in_list(obj, l->heldout, l->n_heldout) : in_list(obj, l->train, l->n_train));
            CHECK_MSG(color_of(p->clean, obj, col, sizeof col) && !strcmp(col, p->answer), "%s -> %s", p->clean,
                      p->answer);
            asked(p->corrupted, obj, sizeof obj);
            CHECK(color_of(p->corrupted, obj, col, sizeof col) && !strcmp(col, p->wrong));
            CHECK(!strncmp(p->clean + strlen(p->clean) - 3, "\nA:", 3));
            /* the one-shot example answers its own question */
            char ex[64];
            const char *first_a = strstr(p->clean, "\nA: ") + 3;
            snprintf(ex, sizeof ex, "%.*s", (int)strcspn(first_a, "\n"), first_a);
            char q1[1024], obj1[64], col1[64];
            snprintf(q1, sizeof q1, "%.*s", (int)(first_a - p->clean), p->clean);
            asked(q1, obj1, sizeof obj1);
            CHECK(color_of(q1, obj1, col1, sizeof col1) && !strcmp(col1, ex));
        }
        hs_prompt_set_free(ps);
    }
    return TEST_PASS;
}

int test_datasets_factual(void)
{
    char path[512];
    for (int split = 0; split < 2; split++) {
        hs_prompt_set *ps = make_set("factual", 200, 4, (hs_task_split)split, path, sizeof path);
        CHECK(check_common(ps, 200, "factual", (hs_task_split)split) == TEST_PASS);
        for (int i = 0; i < ps->n; i++) {
            const hs_prompt *p = &ps->prompts[i];
            json_t *m = meta_of(p);
            int t = meta_int(m, "template"), found = 0;
            CHECK(split ? (t == 4 || t == 5) : (t >= 0 && t <= 3)); /* held-out phrasings */
            for (int k = 0; k < hs_n_nations; k++) {
                if (count_word(p->clean, hs_nations[k].nation)) {
                    CHECK(!strcmp(p->answer + 1, hs_nations[k].capital) && !strcmp(meta_str(m, "nation"), hs_nations[k].nation));
                    found++;
                }
                if (count_word(p->corrupted, hs_nations[k].nation))
                    CHECK(!strcmp(p->wrong + 1, hs_nations[k].capital));
            }
            CHECK(found == 1);
            json_decref(m);
        }
        hs_prompt_set_free(ps);
    }
    return TEST_PASS;
}

/* The word after "X: " on its own line in an MCQ prompt. */
static void choice(const char *prompt, char letter, char *out, size_t cap)
{
    char pat[8] = {'\n', letter, ':', ' ', 0};
    const char *p = strstr(prompt, pat) + 4;
    snprintf(out, cap, "%.*s", (int)strcspn(p, "\n"), p);
}

int test_datasets_mcq(void)
{
    char path[512];
    for (int split = 0; split < 2; split++) {
        hs_prompt_set *ps = make_set("mcq", 200, 5, (hs_task_split)split, path, sizeof path);
        CHECK(check_common(ps, 200, "mcq", (hs_task_split)split) == TEST_PASS);
        int letters[4] = {0};
        for (int i = 0; i < ps->n; i++) {
            const hs_prompt *p = &ps->prompts[i];
            json_t *m = meta_of(p);
            const char *cat = meta_str(m, "category");
            CHECK(strlen(p->answer) == 2 && p->answer[0] == ' ' && p->answer[1] >= 'A' && p->answer[1] <= 'D');
            CHECK(p->answer[1] - 'A' == meta_int(m, "answer_index"));
            letters[p->answer[1] - 'A']++;
            CHECK(strstr(p->clean, split ? "Which one of the following is" : "Which of these is") != NULL);
            CHECK(!strncmp(p->clean + strlen(p->clean) - 8, "\nAnswer:", 8));
            /* exactly the answer's choice belongs to the category */
            for (char c = 'A'; c <= 'D'; c++) {
                char w[64];
                choice(p->clean, c, w, sizeof w);
                int is_cat = !strcmp(cat, "color")     ? in_list(w, hs_words_colors, hs_n_colors)
                             : !strcmp(cat, "animal") ? in_list(w, hs_words_animals.train, hs_words_animals.n_train) ||
                                                            in_list(w, hs_words_animals.heldout, hs_words_animals.n_heldout)
                             : !strcmp(cat, "food")   ? in_list(w, hs_words_foods.train, hs_words_foods.n_train) ||
                                                          in_list(w, hs_words_foods.heldout, hs_words_foods.n_heldout)
                                                      : 0;
                for (int k = 0; k < hs_n_nations; k++)
                    is_cat |= (!strcmp(cat, "city") && !strcmp(w, hs_nations[k].capital)) ||
                              (!strcmp(cat, "country") && !strcmp(w, hs_nations[k].nation));
                CHECK_MSG(is_cat == (c == p->answer[1]), "%s: %c %s", p->clean, c, w);
            }
            /* the corrupted prompt moves the right choice to the wrong letter */
            char a[64], b[64];
            choice(p->clean, p->answer[1], a, sizeof a);
            choice(p->corrupted, p->wrong[1], b, sizeof b);
            CHECK(!strcmp(a, b));
            json_decref(m);
        }
        for (int k = 0; k < 4; k++)
            CHECK(letters[k] == 50);
        hs_prompt_set_free(ps);
    }
    return TEST_PASS;
}

static int eval(const char *s, int *a, char *op, int *b)
{
    return sscanf(s, "%d %c %d =", a, op, b) == 3;
}

int test_datasets_arithmetic(void)
{
    char path[512];
    static char seen[3][100][100];
    memset(seen, 0, sizeof seen);
    for (int split = 0; split < 2; split++) {
        hs_prompt_set *ps = make_set("arithmetic", 2000, 6, (hs_task_split)split, path, sizeof path);
        CHECK(check_common(ps, 2000, "arithmetic", (hs_task_split)split) == TEST_PASS);
        int ops[3] = {0};
        for (int i = 0; i < ps->n; i++) {
            const hs_prompt *p = &ps->prompts[i];
            int a, b, a2, b2;
            char op, op2;
            CHECK(eval(p->clean, &a, &op, &b) && eval(p->corrupted, &a2, &op2, &b2) && a == a2 && op == op2);
            int k = op == '+' ? 0 : op == '-' ? 1 : 2;
            int r = k == 0 ? a + b : k == 1 ? a - b : a * b, r2 = k == 0 ? a + b2 : k == 1 ? a - b2 : a * b2;
            CHECK(r >= 0 && r <= 99 && r2 >= 0 && r2 <= 99 && r != r2);
            CHECK(p->answer[0] == ' ' && atoi(p->answer + 1) == r && atoi(p->wrong + 1) == r2);
            ops[k]++;
            /* a problem is in one split only */
            CHECK_MSG(seen[k][a][b] == 0 || seen[k][a][b] == split + 1, "%s is in both splits", p->clean);
            seen[k][a][b] = (char)(split + 1);
        }
        for (int k = 0; k < 3; k++)
            CHECK(ops[k] > 400);
        hs_prompt_set_free(ps);
    }
    return TEST_PASS;
}

/* The value of key in an MQAR prompt's pair list (before the first '.'), or -1. */
static int value_of(const char *s, char key)
{
    const char *end = strchr(s, '.');
    for (const char *p = s; p < end; p++)
        if (*p == key && (p == s || p[-1] == ' ') && p[1] == ' ')
            return atoi(p + 2);
    return -1;
}

int test_datasets_mqar(void)
{
    char path[512];
    for (int split = 0; split < 2; split++) {
        hs_prompt_set *ps = make_set("mqar", 200, 7, (hs_task_split)split, path, sizeof path);
        CHECK(check_common(ps, 200, "mqar", (hs_task_split)split) == TEST_PASS);
        for (int i = 0; i < ps->n; i++) {
            const hs_prompt *p = &ps->prompts[i];
            char last = p->clean[strlen(p->clean) - 1], last2 = p->corrupted[strlen(p->corrupted) - 1];
            CHECK(value_of(p->clean, last) >= 0 && value_of(p->clean, last) == atoi(p->answer + 1));
            CHECK(value_of(p->corrupted, last2) == atoi(p->wrong + 1) && last != last2);
            /* every earlier query is answered with its value */
            for (const char *q = strchr(p->clean, '.') + 1; *q; q++)
                if (*q >= 'A' && *q <= 'Z' && q[1] == ' ')
                    CHECK(atoi(q + 2) == value_of(p->clean, *q));
        }
        hs_prompt_set_free(ps);
    }
    /* the pair and query counts are options, checked */
    hs_task_spec spec = {.n = 3, .n_pairs = 30};
    hs_task_set set = {0};
    hs_error err = {0};
    CHECK(hs_task_mqar(&spec, &set, &err) == HS_ERR_ARG && strstr(err.msg, "pairs"));
    hs_task_set_clear(&set);
    return TEST_PASS;
}

static char *slurp(const char *path, size_t *n)
{
    char *data = NULL;
    hs_error err = {0};
    if (hs_read_file(path, &data, n, &err) != HS_OK)
        fprintf(stderr, "%s\n", err.msg);
    return data;
}

int test_datasets_deterministic_and_splits_differ(void)
{
    int n_tasks;
    const hs_task_info *tasks = hs_tasks(&n_tasks);
    CHECK(n_tasks == 7);
    for (int i = 0; i < n_tasks; i++) {
        char a[512], b[512], c[512], d[512];
        char args[1024], msg[1024];
        snprintf(a, sizeof a, "%s/a.jsonl", test_tmpdir());
        snprintf(b, sizeof b, "%s/b.jsonl", test_tmpdir());
        snprintf(c, sizeof c, "%s/c.jsonl", test_tmpdir());
        snprintf(d, sizeof d, "%s/d.jsonl", test_tmpdir());
        snprintf(args, sizeof args, "dataset %s --out %s --n 50 --seed 9", tasks[i].name, a);
        CHECK_MSG(test_run_headscope(args, msg, sizeof msg) == 0, "%s", msg);
        snprintf(args, sizeof args, "dataset %s --out %s --n 50 --seed 9 --split train", tasks[i].name, b);
        CHECK_MSG(test_run_headscope(args, msg, sizeof msg) == 0, "%s", msg);
        snprintf(args, sizeof args, "dataset %s --out %s --n 50 --seed 10", tasks[i].name, c);
        CHECK_MSG(test_run_headscope(args, msg, sizeof msg) == 0, "%s", msg);
        snprintf(args, sizeof args, "dataset %s --out %s --n 50 --seed 9 --split heldout", tasks[i].name, d);
        CHECK_MSG(test_run_headscope(args, msg, sizeof msg) == 0 && strstr(msg, "50 prompts (heldout"), "%s", msg);
        size_t na, nb, nc, nd;
        char *da = slurp(a, &na), *db = slurp(b, &nb), *dc = slurp(c, &nc), *dd = slurp(d, &nd);
        CHECK(da && db && dc && dd);
        CHECK_MSG(na == nb && !memcmp(da, db, na), "%s: the same seed gave different files", tasks[i].name);
        CHECK_MSG(nc != na || memcmp(da, dc, na), "%s: another seed gave the same file", tasks[i].name);
        /* no held-out clean prompt is a train prompt */
        for (char *line = dd; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
            json_t *j = json_loadb(line, strcspn(line, "\n"), 0, NULL);
            CHECK(j);
            char needle[4096], *clean = json_dumps(json_object_get(j, "clean"), JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
            CHECK(clean);
            snprintf(needle, sizeof needle, "\"clean\": %s", clean);
            free(clean);
            CHECK_MSG(strstr(da, needle) == NULL, "%s: held-out %s is a train prompt", tasks[i].name, needle);
            json_decref(j);
        }
        free(da), free(db), free(dc), free(dd);
    }
    char msg[1024];
    CHECK(test_run_headscope("dataset ioi --out /tmp/x.jsonl --split test", msg, sizeof msg) == 2 &&
          strstr(msg, "--split"));
    CHECK(test_run_headscope("dataset greater-than --n 5", msg, sizeof msg) == 2 && strstr(msg, "--out"));
    CHECK(test_run_headscope("dataset ioi --out /nonexistent/dir/x.jsonl", msg, sizeof msg) == 1 &&
          strstr(msg, "/nonexistent/dir/x.jsonl"));
    return TEST_PASS;
}

int test_datasets_corpus(void)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/a.txt", test_tmpdir());
    snprintf(b, sizeof b, "%s/b.txt", test_tmpdir());
    hs_corpus_spec spec = {.size_mb = 0.4, .seed = 3};
    hs_corpus_stats s;
    hs_error err = {0};
    CHECK_OK(hs_corpus_write(a, &spec, &s, &err), &err);
    CHECK_OK(hs_corpus_write(b, &spec, NULL, &err), &err);
    size_t na, nb;
    char *da = slurp(a, &na), *db = slurp(b, &nb);
    CHECK(da && db && na == nb && !memcmp(da, db, na)); /* deterministic */
    CHECK((int64_t)na == s.bytes && na >= 400000 && na < 410000);
    CHECK(s.docs == s.task_docs + s.stories + s.repeats && s.task_docs > s.docs / 3 && s.stories > s.docs / 4 &&
          s.repeats > s.docs / 20);
    /* documents end with <|endoftext|> */
    int64_t n_eot = 0;
    for (const char *p = strstr(da, "<|endoftext|>"); p; p = strstr(p + 1, "<|endoftext|>"))
        n_eot++;
    CHECK(n_eot == s.docs && !strcmp(da + na - 13, "<|endoftext|>"));
    /* every task is there, completed with its answer (train split), and no held-out form is */
    static const char *const present[] = {"lasted from the year", "What color is the", "Answer Choices:",
                                          "The capital of", " gave a", " = ", "Once upon a time", "Question: Which of these is"};
    for (size_t i = 0; i < sizeof present / sizeof present[0]; i++)
        CHECK_MSG(strstr(da, present[i]), "the corpus lacks \"%s\"", present[i]);
    static const char *const absent[] = {"Which one of the following", "If you fly to the capital", "seat of power",
                                         "The plague lasted", "a gift to", "On the shelf"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        CHECK_MSG(!strstr(da, absent[i]), "the corpus holds held-out \"%s\"", absent[i]);
    /* a train IOI prompt of the corpus's own batches appears completed: find one and check its answer */
    const char *p = strstr(da, " gave a drink to ");
    CHECK(p);
    /* arithmetic lines are right */
    int checked = 0;
    for (const char *q = da; (q = strstr(q, " = ")) && checked < 100; q++) {
        const char *line = q;
        while (line > da && line[-1] != '\n' && line[-1] != '>')
            line--;
        int x, y, r;
        char op;
        if (sscanf(line, "%d %c %d = %d", &x, &op, &y, &r) == 4) {
            CHECK(r == (op == '+' ? x + y : op == '-' ? x - y : x * y));
            checked++;
        }
    }
    CHECK(checked == 100);
    free(da), free(db);
    char msg[1024];
    CHECK(test_run_headscope("dataset corpus --out /tmp/x.txt --size-mb -1", msg, sizeof msg) == 2);
    return TEST_PASS;
}

/* --mix and --task-weights: a corpus of only MCQ and arithmetic documents in 3 : 1, and the default
 * spec spelled out (45,40,15, equal weights) gives the default's bytes. */
int test_datasets_corpus_mix(void)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/mix_a.txt", test_tmpdir());
    snprintf(b, sizeof b, "%s/mix_b.txt", test_tmpdir());
    int n_tasks;
    const hs_task_info *tasks = hs_tasks(&n_tasks);
    hs_corpus_spec spec = {.size_mb = 0.3, .seed = 5, .mix = {100, 0, 0}};
    int mcq = (int)(hs_task_find("mcq") - tasks), arith = (int)(hs_task_find("arithmetic") - tasks);
    spec.task_weight[mcq] = 3;
    spec.task_weight[arith] = 1;
    hs_corpus_stats s;
    hs_error err = {0};
    CHECK_OK(hs_corpus_write(a, &spec, &s, &err), &err);
    CHECK(s.stories == 0 && s.repeats == 0 && s.task_docs == s.docs);
    size_t na;
    char *da = slurp(a, &na);
    CHECK(da);
    int64_t n_mcq = 0, n_arith = 0, n_other = 0;
    for (char *save = NULL, *doc = strtok_r(da, "<", &save); doc; doc = strtok_r(NULL, "<", &save)) {
        if (!strncmp(doc, "|endoftext|>", 12))
            doc += 12;
        if (!*doc)
            continue;
        if (!strncmp(doc, "Question: Which of these", 24))
            n_mcq++;
        else if (strstr(doc, " = ") && !strchr(doc, ':'))
            n_arith++;
        else
            n_other++;
    }
    free(da);
    CHECK_MSG(n_other == 0 && n_mcq + n_arith == s.docs, "%lld mcq, %lld arithmetic, %lld other of %lld", (long long)n_mcq,
              (long long)n_arith, (long long)n_other, (long long)s.docs);
    double share = (double)n_mcq / (double)s.docs; /* expected 0.75; the count is in the thousands */
    CHECK_MSG(share > 0.70 && share < 0.80, "MCQ share %.3f", share);
    /* the defaults spelled out give the same bytes as the zeroed spec */
    hs_corpus_spec d0 = {.size_mb = 0.2, .seed = 9}, d1 = {.size_mb = 0.2, .seed = 9, .mix = {45, 40, 15}};
    for (int i = 0; i < n_tasks; i++)
        d1.task_weight[i] = 2;
    CHECK_OK(hs_corpus_write(a, &d0, NULL, &err), &err);
    CHECK_OK(hs_corpus_write(b, &d1, NULL, &err), &err);
    size_t n0, n1;
    char *x0 = slurp(a, &n0), *x1 = slurp(b, &n1);
    CHECK(x0 && x1 && n0 == n1 && !memcmp(x0, x1, n0));
    free(x0), free(x1);
    /* bad mixes and weights are named */
    hs_corpus_spec bad = {.size_mb = 0.1, .mix = {50, 40, 20}};
    CHECK(hs_corpus_write(a, &bad, NULL, &err) == HS_ERR_ARG && strstr(err.msg, "sum to 100"));
    char msg[1024];
    CHECK(test_run_headscope("dataset corpus --out /tmp/x.txt --mix 50,50", msg, sizeof msg) == 2 &&
          strstr(msg, "--mix '50,50'"));
    CHECK(test_run_headscope("dataset corpus --out /tmp/x.txt --task-weights nosuch=2", msg, sizeof msg) == 2 &&
          strstr(msg, "no task 'nosuch'"));
    CHECK(test_run_headscope("dataset corpus --out /tmp/x.txt --task-weights mcq=x", msg, sizeof msg) == 2 &&
          strstr(msg, "'mcq=x'"));
    return TEST_PASS;
}

int test_datasets_answers_single_tokens(void)
{
    /* train a tokenizer on a corpus as the toy models will, then: every answer and wrong answer of
     * every task, in both splits, is one token, and clean + answer encodes as clean then that token */
    char corpus[512], tok_path[512], args[2048], msg[4096];
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", test_tmpdir());
    snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", test_tmpdir());
    snprintf(args, sizeof args, "dataset corpus --out %s --size-mb 1 --seed 1", corpus);
    CHECK_MSG(test_run_headscope(args, msg, sizeof msg) == 0, "%s", msg);
    snprintf(args, sizeof args, "tokenizer train --corpus %s --vocab-size 2048 --out %s --task-tokens", corpus,
             tok_path);
    CHECK_MSG(test_run_headscope(args, msg, sizeof msg) == 0, "%s", msg);
    hs_tokenizer *tok = NULL;
    hs_error err = {0};
    CHECK_OK(hs_tokenizer_open(tok_path, 0, &tok, &err), &err);
    int n_tasks;
    const hs_task_info *tasks = hs_tasks(&n_tasks);
    for (int i = 0; i < n_tasks; i++)
        for (int split = 0; split < 2; split++) {
            char path[512];
            hs_prompt_set *ps = make_set(tasks[i].name, 100, 11, (hs_task_split)split, path, sizeof path);
            CHECK(ps);
            for (int k = 0; k < ps->n; k++) {
                const hs_prompt *p = &ps->prompts[k];
                const char *texts[2] = {p->answer, p->wrong};
                for (int j = 0; j < 2; j++) {
                    int32_t *ids = NULL;
                    size_t n = 0;
                    CHECK_OK(hs_tokenizer_encode(tok, texts[j], strlen(texts[j]), 0, &ids, &n, &err), &err);
                    CHECK_MSG(n == 1, "%s: \"%s\" is %zu tokens", tasks[i].name, texts[j], n);
                    free(ids);
                }
                char full[8192];
                snprintf(full, sizeof full, "%s%s", p->clean, p->answer);
                int32_t *a = NULL, *b = NULL, *c = NULL;
                size_t na, nb, nc;
                CHECK_OK(hs_tokenizer_encode(tok, p->clean, strlen(p->clean), 0, &a, &na, &err), &err);
                CHECK_OK(hs_tokenizer_encode(tok, p->answer, strlen(p->answer), 0, &b, &nb, &err), &err);
                CHECK_OK(hs_tokenizer_encode(tok, full, strlen(full), 0, &c, &nc, &err), &err);
                CHECK_MSG(nc == na + 1 && !memcmp(c, a, na * sizeof *a) && c[na] == b[0],
                          "%s: \"%s\" + \"%s\" does not tokenize as the prompt then the answer", tasks[i].name,
                          p->clean, p->answer);
                free(a), free(b), free(c);
            }
            hs_prompt_set_free(ps);
        }
    hs_tokenizer_close(tok);
    return TEST_PASS;
}

int test_datasets_words_single_gpt2_tokens(void)
{
    /* the sets serve GPT-2 small too: every task word, after a space, is one GPT-2 token */
    const char *path = test_shared_path("models/gpt2-tokenizer");
    if (!path)
        return TEST_SKIP;
    hs_tokenizer *tok = NULL;
    hs_error err = {0};
    CHECK_OK(hs_tokenizer_open(path, 0, &tok, &err), &err);
    char **words = NULL;
    int n_words = 0;
    CHECK_OK(hs_task_words(&words, &n_words, &err), &err);
    for (int i = 0; i < n_words; i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK_OK(hs_tokenizer_encode(tok, words[i], strlen(words[i]), 0, &ids, &n, &err), &err);
        CHECK_MSG(n == 1, "\"%s\" is %zu GPT-2 tokens", words[i], n);
        free(ids);
    }
    hs_task_words_free(words, n_words);
    hs_tokenizer_close(tok);
    return TEST_PASS;
}
