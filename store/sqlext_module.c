/* sqlext_module.c — the entry points of the loadable SQLite extension headscope_sql, which carries
 * the functions of store/sqlext.h into a plain `sqlite3` shell or any program that loads extensions:
 *
 *   sqlite> .load ./headscope_sql
 *   sqlite> SELECT tensor_shape(data), tensor_norm(data) FROM activations LIMIT 3;
 *
 * Built only into the module (Makefile.am: headscope_sql.la) with store/sqlext.c, base/tensor_blob.c
 * and base/dtype.c; -DHS_SQLEXT_LOADABLE makes store/sqlext.c call SQLite through the routine table
 * handed to the entry point (sqlite3_api, defined here). Only the entry points are exported. */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "store/sqlext.h"

/* SQLite derives the default entry point from the file name: "sqlite3_" + the lower-cased letters
 * of the name after the last '/' up to the first '.', less a leading "lib" — so headscope_sql.so
 * gives sqlite3_headscopesql_init. sqlite3_headscope_init is the same for callers that name it. */
int sqlite3_headscopesql_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);
int sqlite3_headscope_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

int sqlite3_headscopesql_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi)
{
    SQLITE_EXTENSION_INIT2(pApi);
    int rc = hs_sqlext_register(db);
    if (rc != SQLITE_OK && pzErrMsg)
        *pzErrMsg = sqlite3_mprintf("headscope_sql: registering the tensor functions failed: %s", sqlite3_errstr(rc));
    return rc;
}

int sqlite3_headscope_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi)
{
    return sqlite3_headscopesql_init(db, pzErrMsg, pApi);
}
