/* error.c — status names and error-message formatting for hs_error records. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *hs_status_name(hs_status status)
{
    switch (status) {
    case HS_OK: return "ok";
    case HS_ERR_NOMEM: return "out of memory";
    case HS_ERR_IO: return "i/o error";
    case HS_ERR_FORMAT: return "format error";
    case HS_ERR_UNSUPPORTED: return "unsupported";
    case HS_ERR_MISSING: return "missing";
    case HS_ERR_SHAPE: return "shape mismatch";
    case HS_ERR_RANGE: return "out of range";
    case HS_ERR_ARG: return "invalid argument";
    case HS_ERR_CALLBACK: return "stopped by callback";
    case HS_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

hs_status hs_fail(hs_error *err, hs_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

void hs_error_prefix(hs_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[HS_ERROR_MSG_MAX], old[HS_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%.200s: %.300s", prefix, old); /* bounded: never truncates mid-format */
}
