/* mapped_file.h — read-only memory maps of whole files (weights are mapped, never read into RAM twice). */
#ifndef HS_CORE_MAPPED_FILE_H
#define HS_CORE_MAPPED_FILE_H

#include "headscope.h"

typedef struct hs_mapped_file {
    const unsigned char *data; /* NULL for an empty file */
    size_t size;
} hs_mapped_file;

/* Maps `path` read-only. On failure nothing is left mapped and err names the path. */
hs_status hs_mapped_file_open(const char *path, hs_mapped_file *out, hs_error *err);
/* Unmaps; safe on a zeroed record. */
void hs_mapped_file_close(hs_mapped_file *mf);

/* Reads a whole (small) file into a malloc'd NUL-terminated buffer; *len_out may be NULL. */
hs_status hs_read_file(const char *path, char **data_out, size_t *len_out, hs_error *err);

#endif
