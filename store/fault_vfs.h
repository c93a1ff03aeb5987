/* fault_vfs.h — an SQLite VFS that makes the disk "fill up" on the Nth write, for tests that
 * sweep every failure point of the store (the way SQLite's own test suite injects I/O faults).
 *
 * The shim, registered under HS_FAULT_VFS_NAME, wraps the default VFS and forwards everything to
 * it. It counts three kinds of call on every file it opens (main database, WAL, rollback journal):
 * xWrite, xTruncate and xSync; the shared-memory index (-shm) is mapped memory, not counted.
 * Once armed with n, the n-th counted call after arming and every later one fail with SQLITE_FULL
 * without touching the file — a disk that is full and stays full. Nothing else changes: reads,
 * locks and shared memory keep working, so SQLite's own recovery paths are what is exercised.
 *
 * The counter and the trigger are process-wide, because an SQLite VFS is a process-wide
 * registration; the functions are not thread-safe and are meant for single-threaded tests.
 * A sweep reads: for n = 1, 2, ...: arm(n); do the work; hit = count() >= n; disarm(); check;
 * stop at the first n whose work completed without hitting the fault. */
#ifndef HS_STORE_FAULT_VFS_H
#define HS_STORE_FAULT_VFS_H

#define HS_FAULT_VFS_NAME "hs-fault"

/* Registers the shim (not as the default VFS); calling it again does nothing. Returns an SQLite
 * result code. */
int hs_fault_vfs_register(void);
/* Resets the counter to 0 and makes the n-th counted call from now on (n >= 1), and every later
 * one, fail with SQLITE_FULL. n <= 0 disarms. */
void hs_fault_vfs_arm(long n);
/* Stops injecting faults; the counter keeps counting. */
void hs_fault_vfs_disarm(void);
/* Counted calls (xWrite, xTruncate, xSync) since the last arm, or since registration; a call that
 * was made to fail counts too. */
long hs_fault_vfs_count(void);

#endif
