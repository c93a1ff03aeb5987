/* positions.c — reading the activations.positions column (a JSON array) with jansson. */
#include "store/positions.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int hs_positions_parse(const char *json, int T, int *list)
{
    if (!json || T < 1)
        return -1;
    json_t *a = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    int n = -1;
    unsigned char *seen = calloc((size_t)T, 1);
    if (a && seen && json_is_array(a) && json_array_size(a) <= (size_t)T) {
        n = 0;
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) {
            json_int_t p = json_is_integer(v) ? json_integer_value(v) : -1;
            if (p < 0 || p >= T || seen[p]) {
                n = -1;
                break;
            }
            seen[p] = 1;
            list[n++] = (int)p;
        }
    }
    free(seen);
    json_decref(a);
    return n;
}
