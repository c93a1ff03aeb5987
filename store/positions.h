/* positions.h — the activations.positions column: NULL when a row holds every position, else a JSON
 * array of the positions it holds, ascending ("[0,3,5]"), one per row of the stored tensor. */
#ifndef HS_STORE_POSITIONS_H
#define HS_STORE_POSITIONS_H

/* Parses json into list [T]: returns how many positions it names, or -1 when it is not an array of
 * distinct integers in 0..T-1 (at most T of them). */
int hs_positions_parse(const char *json, int T, int *list);

#endif
