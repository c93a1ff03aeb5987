/* out_folder.h — may a command write into the output folder it was given? Only into a new or empty
 * folder, or one the same command wrote before, so that `--out ~/papers` or `--out models/tasks-4l`
 * cannot overwrite someone's files; a command that should write anyway is told so by its user
 * (--force), and the caller decides that.
 *
 * A command recognises its own folder by a marker file it writes there (".headscope-demo"), or, for
 * folders written before markers existed, by a file it always writes beginning with a known text. */
#ifndef HS_BASE_OUT_FOLDER_H
#define HS_BASE_OUT_FOLDER_H

#include "headscope.h"

typedef enum hs_out_folder_kind {
    HS_OUT_FOLDER_ABSENT, /* nothing there yet */
    HS_OUT_FOLDER_EMPTY,  /* an empty folder */
    HS_OUT_FOLDER_OWN,    /* the command's own earlier output: its marker or its legacy signature */
    HS_OUT_FOLDER_OTHER,  /* a folder holding something else */
} hs_out_folder_kind;

/* How a command recognises its own output folder; any field may be NULL (no such sign). */
typedef struct hs_out_folder_sign {
    const char *marker;      /* a file whose presence says the command wrote the folder */
    const char *legacy_file; /* or: this file, beginning with legacy_head, ... */
    const char *legacy_head;
    const char *legacy_also; /* ... with this file beside it */
} hs_out_folder_sign;

/* Says in *kind what dir holds. Fails naming dir when it exists and is not a folder (HS_ERR_ARG) or
 * cannot be read (HS_ERR_IO); *kind is then unchanged. Creates and changes nothing. */
hs_status hs_out_folder_inspect(const char *dir, const hs_out_folder_sign *sign, hs_out_folder_kind *kind,
                                hs_error *err);

/* Creates dir if absent (its parent must exist) and writes sign->marker into it, holding the one line
 * `text`; fails naming the folder or the marker. */
hs_status hs_out_folder_claim(const char *dir, const hs_out_folder_sign *sign, const char *text, hs_error *err);

/* 1 when a and b name the same existing folder (the same inode, however spelt), else 0. */
int hs_out_folder_same(const char *a, const char *b);

#endif
