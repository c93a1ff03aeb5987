/* out_dir.h — writing a report folder so that a reader never sees half of one: everything goes
 * into a staging folder beside the target, which then replaces the target in one rename.
 *
 * A folder is only ever replaced if it is empty or holds the marker file that headscope writes
 * into every report (HS_REPORT_MARKER), so `--out ~/papers` cannot wipe a user's files. */
#ifndef HS_REPORT_OUT_DIR_H
#define HS_REPORT_OUT_DIR_H

#include "headscope.h"

#define HS_REPORT_MARKER ".headscope-report"

/* Checks that out_dir may be (re)placed and creates an empty staging folder in its parent
 * (".<name>.tmp-XXXXXX"); *staging is malloc'd, the caller frees it. Fails, naming out_dir, when
 * it exists and is not a folder, or is a non-empty folder without the marker. */
hs_status hs_out_dir_begin(const char *out_dir, char **staging, hs_error *err);

/* Writes the marker into staging and puts staging in out_dir's place: an atomic exchange where
 * the file system has one (renameat2 RENAME_EXCHANGE), else two renames; then removes the old
 * report. On failure the old report is left in place. */
hs_status hs_out_dir_commit(const char *out_dir, const char *staging, hs_error *err);

/* Removes a staging folder and everything in it (after a failed run); NULL is a no-op. */
void hs_out_dir_abandon(const char *staging);

#endif
