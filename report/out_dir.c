/* out_dir.c — staging folder, marker check and swap for report output (see out_dir.h). */
#define _GNU_SOURCE
#include "report/out_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/out_folder.h"

/* parent folder and base name of path, malloc'd; trailing slashes ignored */
static int split(const char *path, char **parent, char **base)
{
    char *a = strdup(path), *b = strdup(path);
    if (!a || !b) {
        free(a), free(b);
        return -1;
    }
    size_t n = strlen(a);
    while (n > 1 && a[n - 1] == '/')
        a[--n] = '\0', b[n] = '\0';
    *parent = strdup(dirname(a));
    *base = strdup(basename(b));
    free(a), free(b);
    if (!*parent || !*base) {
        free(*parent), free(*base);
        return -1;
    }
    return 0;
}

hs_status hs_out_dir_begin(const char *out_dir, char **staging, hs_error *err)
{
    *staging = NULL;
    static const hs_out_folder_sign report_sign = {.marker = HS_REPORT_MARKER};
    hs_out_folder_kind kind;
    HS_TRY(hs_out_folder_inspect(out_dir, &report_sign, &kind, err));
    if (kind == HS_OUT_FOLDER_OTHER)
        return hs_fail(err, HS_ERR_ARG,
                       "%s: folder is not empty and holds no headscope report (no %s file); "
                       "choose another --out, or empty it",
                       out_dir, HS_REPORT_MARKER);
    char *parent, *base;
    if (split(out_dir, &parent, &base) != 0)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    char *tmp = NULL;
    hs_status rc = HS_OK;
    if (asprintf(&tmp, "%s/.%s.tmp-XXXXXX", parent, base) < 0) {
        tmp = NULL;
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    } else if (!mkdtemp(tmp)) {
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot create a staging folder in %s: %s", out_dir, parent,
                     strerror(errno));
        free(tmp);
        tmp = NULL;
    } else {
        chmod(tmp, 0755); /* mkdtemp makes it 0700; a report is for reading */
    }
    free(parent), free(base);
    *staging = tmp;
    return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void hs_out_dir_abandon(const char *staging)
{
    if (staging)
        nftw(staging, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

hs_status hs_out_dir_commit(const char *out_dir, const char *staging, hs_error *err)
{
    char marker[4096];
    snprintf(marker, sizeof marker, "%s/%s", staging, HS_REPORT_MARKER);
    FILE *f = fopen(marker, "w");
    if (!f || fputs("written by headscope report; this folder is replaced when the report is rewritten\n", f) < 0 ||
        fclose(f) != 0)
        return hs_fail(err, HS_ERR_IO, "%s: cannot write: %s", marker, strerror(errno));

    if (rename(staging, out_dir) == 0) /* no old report (or an empty folder) */
        return HS_OK;
    if (errno != EEXIST && errno != ENOTEMPTY)
        return hs_fail(err, HS_ERR_IO, "%s: cannot move the new report into place: %s", out_dir, strerror(errno));
    if (renameat2(AT_FDCWD, staging, AT_FDCWD, out_dir, RENAME_EXCHANGE) == 0) {
        hs_out_dir_abandon(staging); /* staging now holds the old report */
        return HS_OK;
    }
    /* no atomic exchange here: move the old one aside, then the new one in */
    char *old = NULL;
    if (asprintf(&old, "%s.old-%ld", staging, (long)getpid()) < 0)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hs_status rc = HS_OK;
    if (rename(out_dir, old) != 0) {
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot move the old report aside: %s", out_dir, strerror(errno));
    } else if (rename(staging, out_dir) != 0) {
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot move the new report into place: %s", out_dir, strerror(errno));
        rename(old, out_dir); /* put the old one back */
    } else {
        hs_out_dir_abandon(old);
    }
    free(old);
    return rc;
}
