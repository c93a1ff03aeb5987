/* schema.h — the store's schema (internal to store/): recognising a headscope database, and the
 * table of migrations that brings one from any older version to HS_STORE_SCHEMA_VERSION.
 *
 * A headscope store carries two marks in its header: PRAGMA user_version (the schema version) and
 * PRAGMA application_id = HS_STORE_APPLICATION_ID, both written in the transaction that creates
 * the schema, so a database either has the whole schema and both marks or none of them. A file
 * with a user_version but another application_id belongs to someone else. */
#ifndef HS_STORE_SCHEMA_H
#define HS_STORE_SCHEMA_H

#include <sqlite3.h>

#include "headscope.h"

/* "HSCP" read as a big-endian 32-bit integer. */
#define HS_STORE_APPLICATION_ID 0x48534350

/* What the header and catalogue of a database say about it. */
typedef struct hs_schema_info {
    int version;          /* PRAGMA user_version */
    int application_id;   /* PRAGMA application_id */
    int n_objects;        /* rows of sqlite_master: tables, indexes, views, triggers */
} hs_schema_info;

/* Reads the header marks and counts the catalogue. Only reads. Returns an SQLite result code
 * (SQLITE_NOTADB for a file that is not an SQLite database). */
int hs_schema_inspect(sqlite3 *db, hs_schema_info *info);

/* Judges an inspected database: HS_OK when it is a headscope store of a version this build reads
 * (or, when `creating`, an empty database to create one in); otherwise the refusal, with a message
 * naming `path`. *needs_migration is set when its version is older than HS_STORE_SCHEMA_VERSION. */
hs_status hs_schema_judge(const hs_schema_info *info, const char *path, int creating, int *needs_migration,
                          hs_error *err);

/* Runs the migrations from `from` (< HS_STORE_SCHEMA_VERSION) up to HS_STORE_SCHEMA_VERSION and
 * sets user_version and application_id. Must be called inside a write transaction, which the
 * caller commits or rolls back: a failure leaves the schema as it was once rolled back. Returns an
 * SQLite result code; on failure *what names the step that failed (a static string). */
int hs_schema_migrate(sqlite3 *db, int from, const char **what);

#endif
