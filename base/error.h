/* error.h — filling hs_error records: every library failure goes through hs_fail. */
#ifndef HS_CORE_ERROR_H
#define HS_CORE_ERROR_H

#include "headscope.h"

/* Records `status` and a printf-style message in err (if not NULL) and returns status, so
 * that failures read `return hs_fail(err, HS_ERR_FORMAT, "%s: header length %llu ...", path, n);` */
hs_status hs_fail(hs_error *err, hs_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an error message already recorded (used to add a file name). */
void hs_error_prefix(hs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Evaluates `call` (an hs_status expression) once and returns its status from the enclosing
 * function when it is not HS_OK. Only for functions with nothing to clean up: the error is
 * already recorded by the callee, so the caller just passes the status on. */
#define HS_TRY(call)                     \
    do {                                 \
        hs_status hs_try_rc_ = (call);   \
        if (hs_try_rc_ != HS_OK)         \
            return hs_try_rc_;           \
    } while (0)

#endif
