/* One writer per output folder. A command that writes a folder (a feature cache, a run, an
 * eval output) first takes an exclusive lock on DIR/.clipdebias.lock with flock(2); a second
 * writer fails at once with one line naming the folder and the holder (pid and host, which
 * the holder writes into the lock file). Readers of a folder take a shared lock for as long
 * as they read, so they never see a cache half written, and a writer never starts while a
 * reader is mid-way (it waits for readers, up to a bound, instead of failing).
 *
 * What the lock relies on: the kernel drops a flock when the process holding it dies, kill -9
 * included, so no stale lock is ever left (the lock file stays, empty or naming a dead pid,
 * and means nothing by itself). Local disks: exact. NFS (v3 with lockd, v4): Linux emulates
 * flock with byte-range locks the server enforces across clients; a client that dies holds
 * its lock until the server's lease runs out (NFSv4: 90 s by default). Lustre: coherent only
 * when mounted with -o flock (with -o localflock a lock covers one node only). GPFS/Spectrum
 * Scale: coherent across nodes. On a file system without working flock the lock fails with
 * its reason instead of being silently skipped.
 *
 * Within one process, locks are counted per folder: taking a folder this process holds
 * already succeeds without a second flock (flock on a second descriptor would conflict with
 * the first, and on NFS closing it would drop the first). */
#ifndef CD_OUTDIR_LOCK_H
#define CD_OUTDIR_LOCK_H

#include "core/error.h"

#define CD_OUTDIR_LOCK_NAME ".clipdebias.lock"

typedef struct {
  int held;    /* 1 between a successful lock call and cd_outdir_unlock */
  int slot;    /* the process's entry for this folder (see outdir_lock.c) */
} cd_outdir_lock;

/* Creates dir (and its parents) when missing, then locks it for writing. what names the
 * writer in the lock file ("embed", "run", ...). Fails at once when another process writes
 * the folder: "DIR: another clipdebias run (pid 123 on host h, since ...) is writing this
 * folder; wait for it to end or use another folder". Waits up to wait_readers_s seconds
 * for readers to finish (CD_OUTDIR_WAIT_READERS_S). A new holder removes the temporary files
 * (NAME.tmp.PID) that a writer killed mid-write left in the folder. */
int cd_outdir_lock_write(cd_outdir_lock *l, const char *dir, const char *what, cd_error *e);
/* Shared lock for reading dir (a folder without a lock file, or that cannot hold one because
 * it is read-only, was never written under a lock: nothing to wait for). Fails when a writer
 * holds the folder: "DIR: is being written by clipdebias embed (pid 123 on host h) right now;
 * wait for it to end". */
int cd_outdir_lock_read(cd_outdir_lock *l, const char *dir, cd_error *e);
/* Releases the lock (clearing the holder's line first for a write lock). Safe on a zeroed or
 * already released handle. */
void cd_outdir_unlock(cd_outdir_lock *l);

/* What a folder holds, from the marker file each command writes there: "a feature cache"
 * (cache.json or features.npy), "a run folder" (args.json), "a sweep folder" (sweep.csv or
 * sweep.json), "the output of eval or zeroshot" (metrics.json), or NULL (no such folder, an
 * empty one, or other files only). The marker found is copied to marker (64 bytes) when
 * non-NULL. Commands refuse to write into a folder another command made. */
const char *cd_outdir_kind(const char *dir, char *marker);

/* Seconds a writer waits for readers to finish before giving up (default 60). */
extern const double CD_OUTDIR_WAIT_READERS_S;

#endif
