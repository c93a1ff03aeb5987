/* task_words.c — the generators' word lists (see task_words.h). Names, places and objects follow
 * the kinds Wang et al. use for IOI; events follow Hanna et al.'s greater-than nouns. */
#include "datasets/task_words.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#define LIST(tr, ho) {tr, (int)(sizeof tr / sizeof tr[0]), ho, (int)(sizeof ho / sizeof ho[0])}

static const char *const names_train[] = {
    "Mary", "John", "Tom", "James", "Dan", "Sid", "Martin", "Amy", "Paul", "Kate", "Anne", "Lisa",
    "Mark", "Sarah", "David", "Michael", "Laura", "Peter", "Emma", "George", "Alice", "Jack", "Rose", "Frank",
    "Grace", "Henry", "Ben", "Jane", "Adam", "Claire", "Eric", "Helen", "Sam", "Lucy", "Kevin", "Julia"};
static const char *const names_heldout[] = {"Oliver", "Nora", "Victor", "Ruth", "Simon", "Diana",
                                            "Carl", "Fiona", "Hugo", "Ivan", "Leo", "Vera"};
const hs_word_list hs_words_names = LIST(names_train, names_heldout);

static const char *const places_train[] = {"store", "garden", "restaurant", "school", "hospital", "office",
                                           "house", "station"};
static const char *const places_heldout[] = {"library", "park", "museum", "beach"};
const hs_word_list hs_words_places = LIST(places_train, places_heldout);

static const char *const objects_train[] = {"ring", "kiss", "bone", "basketball", "computer", "necklace",
                                            "drink", "snack"};
static const char *const objects_heldout[] = {"letter", "book", "flower", "gift"};
const hs_word_list hs_words_objects = LIST(objects_train, objects_heldout);

static const char *const items_train[] = {"ball", "pen", "cup", "hat", "key", "box", "shoe", "bag",
                                          "lamp", "mug", "chair", "toy"};
static const char *const items_heldout[] = {"plate", "sock", "bowl", "card", "coin", "jar"};
const hs_word_list hs_words_items = LIST(items_train, items_heldout);

static const char *const events_train[] = {"war", "expedition", "drought", "dynasty", "project", "strike",
                                           "contract", "reign", "siege", "voyage", "trial", "rivalry",
                                           "campaign", "journey", "famine", "crisis"};
static const char *const events_heldout[] = {"plague", "treaty", "occupation", "pilgrimage",
                                             "boycott", "rebellion", "festival", "conflict"};
const hs_word_list hs_words_events = LIST(events_train, events_heldout);

static const char *const animals_train[] = {"dog", "cat", "horse", "cow", "lion", "sheep", "bird"};
static const char *const animals_heldout[] = {"tiger", "goat", "fish"};
const hs_word_list hs_words_animals = LIST(animals_train, animals_heldout);

static const char *const foods_train[] = {"bread", "cheese", "rice", "soup", "cake", "pizza"};
static const char *const foods_heldout[] = {"salad", "pasta", "honey"};
const hs_word_list hs_words_foods = LIST(foods_train, foods_heldout);

const char *const hs_words_colors[] = {"red", "blue", "green", "yellow", "purple", "orange", "black",
                                       "white", "brown", "pink", "gray", "silver", "gold"};
const int hs_n_colors = (int)(sizeof hs_words_colors / sizeof hs_words_colors[0]);

const hs_nation hs_nations[] = {
    {"France", "Paris"},       {"Germany", "Berlin"},    {"Italy", "Rome"},         {"Spain", "Madrid"},
    {"Japan", "Tokyo"},        {"China", "Beijing"},     {"Russia", "Moscow"},      {"Egypt", "Cairo"},
    {"Greece", "Athens"},      {"Portugal", "Lisbon"},   {"Austria", "Vienna"},     {"Ireland", "Dublin"},
    {"Norway", "Oslo"},        {"Sweden", "Stockholm"},  {"Finland", "Helsinki"},   {"Denmark", "Copenhagen"},
    {"Poland", "Warsaw"},      {"Hungary", "Budapest"},  {"Pakistan", "Islamabad"},     {"Peru", "Lima"},
    {"Chile", "Santiago"},     {"Cuba", "Havana"},       {"Iran", "Tehran"},        {"Iraq", "Baghdad"},
    {"Thailand", "Bangkok"},   {"Afghanistan", "Kabul"},    {"Turkey", "Ankara"},      {"Canada", "Ottawa"},
    {"Australia", "Canberra"}, {"Belgium", "Brussels"},  {"Lebanon", "Beirut"},       {"Syria", "Damascus"}};
const int hs_n_nations = (int)(sizeof hs_nations / sizeof hs_nations[0]);

static hs_status add(char ***v, int *n, int *cap, const char *w, hs_error *err)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*v)[i] + 1, w) == 0)
            return HS_OK;
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 256;
        char **q = realloc(*v, (size_t)c * sizeof *q);
        if (!q)
            return hs_fail(err, HS_ERR_NOMEM, "task words: out of memory");
        *v = q;
        *cap = c;
    }
    size_t len = strlen(w);
    char *s = malloc(len + 2);
    if (!s)
        return hs_fail(err, HS_ERR_NOMEM, "task words: out of memory");
    s[0] = ' ';
    memcpy(s + 1, w, len + 1);
    (*v)[(*n)++] = s;
    return HS_OK;
}

static hs_status add_list(char ***v, int *n, int *cap, const hs_word_list *l, hs_error *err)
{
    for (int i = 0; i < l->n_train; i++)
        HS_TRY(add(v, n, cap, l->train[i], err));
    for (int i = 0; i < l->n_heldout; i++)
        HS_TRY(add(v, n, cap, l->heldout[i], err));
    return HS_OK;
}

hs_status hs_task_words(char ***words_out, int *n_out, hs_error *err)
{
    static const hs_word_list *const lists[] = {&hs_words_names, &hs_words_places, &hs_words_objects,
                                                &hs_words_items, &hs_words_events, &hs_words_animals,
                                                &hs_words_foods};
    static const char *const letters[] = {"A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M",
                                          "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z"};
    char **v = NULL;
    int n = 0, cap = 0;
    hs_status st = HS_OK;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0] && st == HS_OK; i++)
        st = add_list(&v, &n, &cap, lists[i], err);
    for (int i = 0; i < hs_n_colors && st == HS_OK; i++)
        st = add(&v, &n, &cap, hs_words_colors[i], err);
    for (int i = 0; i < hs_n_nations && st == HS_OK; i++)
        if ((st = add(&v, &n, &cap, hs_nations[i].nation, err)) == HS_OK)
            st = add(&v, &n, &cap, hs_nations[i].capital, err);
    for (int i = 0; i < 26 && st == HS_OK; i++)
        st = add(&v, &n, &cap, letters[i], err);
    if (st != HS_OK) {
        hs_task_words_free(v, n);
        return st;
    }
    *words_out = v;
    *n_out = n;
    return HS_OK;
}

void hs_task_words_free(char **words, int n)
{
    for (int i = 0; i < n; i++)
        free(words[i]);
    free(words);
}

hs_status hs_task_word_ids(const hs_tokenizer *tok, int32_t **ids_out, int *n_out, hs_error *err)
{
    *ids_out = NULL;
    *n_out = 0;
    char **words = NULL;
    int n_words = 0;
    HS_TRY(hs_task_words(&words, &n_words, err));
    int32_t *ids = malloc((size_t)(n_words > 0 ? n_words : 1) * sizeof *ids);
    hs_status rc = ids ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    int n = 0;
    for (int i = 0; i < n_words && rc == HS_OK; i++) {
        int32_t *t = NULL;
        size_t nt = 0;
        if ((rc = hs_tokenizer_encode(tok, words[i], strlen(words[i]), 0, &t, &nt, err)) == HS_OK && nt == 1)
            ids[n++] = t[0];
        free(t);
    }
    hs_task_words_free(words, n_words);
    if (rc != HS_OK) {
        free(ids);
        return rc;
    }
    *ids_out = ids;
    *n_out = n;
    return HS_OK;
}
