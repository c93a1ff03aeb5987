/* mapped_file.c — mmap-based read-only file access and whole-file reads for small text files. */
#include "base/mapped_file.h"
#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

hs_status hs_mapped_file_open(const char *path, hs_mapped_file *out, hs_error *err)
{
    out->data = NULL;
    out->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hs_fail(err, HS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return hs_fail(err, HS_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return hs_fail(err, HS_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return hs_fail(err, HS_ERR_IO, "%s: cannot map: %s", path, strerror(e));
        }
        out->data = p;
        out->size = (size_t)st.st_size;
    }
    close(fd);
    return HS_OK;
}

void hs_mapped_file_close(hs_mapped_file *mf)
{
    if (mf && mf->data)
        munmap((void *)mf->data, mf->size);
    if (mf) {
        mf->data = NULL;
        mf->size = 0;
    }
}

hs_status hs_read_file(const char *path, char **data_out, size_t *len_out, hs_error *err)
{
    *data_out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return hs_fail(err, HS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len < cap) {
            if (ferror(f)) {
                free(buf);
                fclose(f);
                return hs_fail(err, HS_ERR_IO, "%s: read error", path);
            }
            break;
        }
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            fclose(f);
            return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    buf[len] = '\0';
    *data_out = buf;
    if (len_out)
        *len_out = len;
    return HS_OK;
}
