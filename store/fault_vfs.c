/* fault_vfs.c — the fault-injecting SQLite VFS shim of fault_vfs.h: a pass-through over the
 * default VFS whose writes, truncates and syncs fail with SQLITE_FULL from the armed call on. */
#include "store/fault_vfs.h"

#include <sqlite3.h>
#include <stddef.h>

/* The shim's whole state: which VFS it wraps, how many counted calls it has seen since the last
 * arm, and from which call on they fail (0: never). */
typedef struct fault_state {
    sqlite3_vfs *real;
    long n_calls;
    long fail_from;
} fault_state;

static fault_state g_fault;

/* A file opened through the shim: our sqlite3_file header, followed in the same allocation (of
 * szOsFile bytes, made by SQLite) by the real VFS's file object. */
typedef struct fault_file {
    sqlite3_file base;
    sqlite3_file *real;
} fault_file;

#define REAL(f) (((fault_file *)(f))->real)

/* Counts one write-like call; non-zero when it must fail. */
static int fault_tick(void)
{
    g_fault.n_calls++;
    return g_fault.fail_from > 0 && g_fault.n_calls >= g_fault.fail_from;
}

/* ---------------------------------------------------------------- file methods */

static int f_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    if (fault_tick())
        return SQLITE_FULL;
    return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    if (fault_tick())
        return SQLITE_FULL;
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    if (fault_tick())
        return SQLITE_FULL;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int f_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int f_unlock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int f_check_reserved_lock(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int f_file_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int f_sector_size(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int f_device_characteristics(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

/* Version 2: shared memory (the WAL index). Reached only when the real file is version >= 2. */
static int f_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), page, size, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int f_shm_unmap(sqlite3_file *f, int delete_flag)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

/* Version 3: memory-mapped reads. */
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, amt, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

/* One method table per iVersion, so that SQLite never calls through a method the real file lacks:
 * a file gets the table whose iVersion equals its real file's. */
#define FAULT_IO_METHODS(version)                                                                   \
    {                                                                                               \
        version, f_close, f_read, f_write, f_truncate, f_sync, f_file_size, f_lock, f_unlock,       \
            f_check_reserved_lock, f_file_control, f_sector_size, f_device_characteristics,         \
            f_shm_map, f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch, f_unfetch                   \
    }

static const sqlite3_io_methods fault_io_methods[3] = {FAULT_IO_METHODS(1), FAULT_IO_METHODS(2),
                                                       FAULT_IO_METHODS(3)};

/* ---------------------------------------------------------------- VFS methods */

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    fault_file *p = (fault_file *)file;
    p->real = (sqlite3_file *)&p[1];
    p->base.pMethods = NULL;
    int rc = g_fault.real->xOpen(g_fault.real, name, p->real, flags, out_flags);
    /* SQLite calls xClose whenever pMethods is set, even after a failed open: mirror the real
     * file, so that ours is set exactly when the real one's is. */
    if (p->real->pMethods) {
        int version = p->real->pMethods->iVersion;
        if (version < 1)
            version = 1;
        if (version > 3)
            version = 3;
        p->base.pMethods = &fault_io_methods[version - 1];
    }
    return rc;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    return g_fault.real->xDelete(g_fault.real, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    return g_fault.real->xAccess(g_fault.real, name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    return g_fault.real->xFullPathname(g_fault.real, name, n, out);
}

static void *v_dl_open(sqlite3_vfs *vfs, const char *name)
{
    return g_fault.real->xDlOpen(g_fault.real, name);
}

static void v_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
    g_fault.real->xDlError(g_fault.real, n, msg);
}

static void (*v_dl_sym(sqlite3_vfs *vfs, void *handle, const char *sym))(void)
{
    return g_fault.real->xDlSym(g_fault.real, handle, sym);
}

static void v_dl_close(sqlite3_vfs *vfs, void *handle)
{
    g_fault.real->xDlClose(g_fault.real, handle);
}

static int v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    return g_fault.real->xRandomness(g_fault.real, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
    return g_fault.real->xSleep(g_fault.real, us);
}

static int v_current_time(sqlite3_vfs *vfs, double *out)
{
    return g_fault.real->xCurrentTime(g_fault.real, out);
}

static int v_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    return g_fault.real->xGetLastError ? g_fault.real->xGetLastError(g_fault.real, n, out) : 0;
}

static int v_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    return g_fault.real->xCurrentTimeInt64(g_fault.real, out);
}

static int v_set_system_call(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr fn)
{
    return g_fault.real->xSetSystemCall(g_fault.real, name, fn);
}

static sqlite3_syscall_ptr v_get_system_call(sqlite3_vfs *vfs, const char *name)
{
    return g_fault.real->xGetSystemCall(g_fault.real, name);
}

static const char *v_next_system_call(sqlite3_vfs *vfs, const char *name)
{
    return g_fault.real->xNextSystemCall(g_fault.real, name);
}

static sqlite3_vfs fault_vfs;

int hs_fault_vfs_register(void)
{
    if (g_fault.real)
        return SQLITE_OK;
    int rc = sqlite3_initialize();
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real)
        return SQLITE_ERROR;
    /* The shim offers what the real VFS offers, up to the version-3 methods it knows. */
    int version = real->iVersion > 3 ? 3 : real->iVersion;
    fault_vfs = (sqlite3_vfs){
        .iVersion = version,
        .szOsFile = (int)sizeof(fault_file) + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = HS_FAULT_VFS_NAME,
        .pAppData = &g_fault,
        .xOpen = v_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_full_pathname,
        .xDlOpen = v_dl_open,
        .xDlError = v_dl_error,
        .xDlSym = v_dl_sym,
        .xDlClose = v_dl_close,
        .xRandomness = v_randomness,
        .xSleep = v_sleep,
        .xCurrentTime = v_current_time,
        .xGetLastError = v_get_last_error,
        .xCurrentTimeInt64 = version >= 2 ? v_current_time_int64 : NULL,
        .xSetSystemCall = version >= 3 ? v_set_system_call : NULL,
        .xGetSystemCall = version >= 3 ? v_get_system_call : NULL,
        .xNextSystemCall = version >= 3 ? v_next_system_call : NULL,
    };
    g_fault.real = real;
    rc = sqlite3_vfs_register(&fault_vfs, 0);
    if (rc != SQLITE_OK)
        g_fault.real = NULL;
    return rc;
}

void hs_fault_vfs_arm(long n)
{
    g_fault.n_calls = 0;
    g_fault.fail_from = n > 0 ? n : 0;
}

void hs_fault_vfs_disarm(void)
{
    g_fault.fail_from = 0;
}

long hs_fault_vfs_count(void)
{
    return g_fault.n_calls;
}
