/* out_folder.c — whether an output folder is new, empty, a command's own or someone else's (see out_folder.h). */
#include "base/out_folder.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

/* 1 when dir/name exists */
static int has(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* 1 when dir/name begins with head (NULL: exists) */
static int begins_with(const char *dir, const char *name, const char *head)
{
    if (!head)
        return has(dir, name);
    char path[4096], buf[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t want = strlen(head) < sizeof buf ? strlen(head) : sizeof buf;
    size_t n = fread(buf, 1, want, f);
    fclose(f);
    return n == want && memcmp(buf, head, want) == 0;
}

hs_status hs_out_folder_inspect(const char *dir, const hs_out_folder_sign *sign, hs_out_folder_kind *kind,
                                hs_error *err)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return hs_fail(err, HS_ERR_IO, "%s: %s", dir, strerror(errno));
        *kind = HS_OUT_FOLDER_ABSENT;
        return HS_OK;
    }
    if (!S_ISDIR(st.st_mode))
        return hs_fail(err, HS_ERR_ARG, "%s: exists and is not a folder", dir);
    DIR *d = opendir(dir);
    if (!d)
        return hs_fail(err, HS_ERR_IO, "%s: cannot read folder: %s", dir, strerror(errno));
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    if (empty)
        *kind = HS_OUT_FOLDER_EMPTY;
    else if (sign && sign->marker && has(dir, sign->marker))
        *kind = HS_OUT_FOLDER_OWN;
    else if (sign && sign->legacy_file && begins_with(dir, sign->legacy_file, sign->legacy_head) &&
             (!sign->legacy_also || has(dir, sign->legacy_also)))
        *kind = HS_OUT_FOLDER_OWN;
    else
        *kind = HS_OUT_FOLDER_OTHER;
    return HS_OK;
}

hs_status hs_out_folder_claim(const char *dir, const hs_out_folder_sign *sign, const char *text, hs_error *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return hs_fail(err, HS_ERR_IO, "%s: cannot create folder: %s", dir, strerror(errno));
    if (!sign || !sign->marker)
        return HS_OK;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sign->marker);
    FILE *f = fopen(path, "w");
    if (!f)
        return hs_fail(err, HS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    int bad = fprintf(f, "%s\n", text) < 0;
    if (fclose(f) != 0 || bad)
        return hs_fail(err, HS_ERR_IO, "%s: cannot write", path);
    return HS_OK;
}

int hs_out_folder_same(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && S_ISDIR(sa.st_mode) && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}
