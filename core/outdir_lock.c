/* Output folder locks (see outdir_lock.h). */
#include "core/outdir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"

const double CD_OUTDIR_WAIT_READERS_S = 60.0;

/* The folders this process holds. flock belongs to an open file description, so a second
 * open + flock of the same lock file by this process would conflict with the first (and on
 * NFS, where flock becomes a POSIX lock, closing the second descriptor would release the
 * first). The table lets a nested lock of a held folder succeed without touching the file.
 * It is process state by nature, as the kernel's locks are. */
enum { MAX_HELD = 64 };
static struct {
  dev_t dev;
  ino_t ino;
  int fd, count, exclusive;
} held[MAX_HELD];
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;

static int lock_path(char *out, size_t cap, const char *dir, cd_error *e) {
  if (cd_path_join(out, cap, dir, CD_OUTDIR_LOCK_NAME)) return cd_fail(e, "%s: path too long", dir);
  return 0;
}

/* Index of the held entry for the lock file at path, or -1. Caller holds held_mu. */
static int find_held(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  for (int k = 0; k < MAX_HELD; k++)
    if (held[k].count > 0 && held[k].dev == st.st_dev && held[k].ino == st.st_ino) return k;
  return -1;
}

static int add_held(int fd, int exclusive) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -1;
  for (int k = 0; k < MAX_HELD; k++)
    if (held[k].count == 0) {
      held[k].dev = st.st_dev, held[k].ino = st.st_ino, held[k].fd = fd, held[k].count = 1, held[k].exclusive = exclusive;
      return k;
    }
  return -1;
}

/* ---- the holder's line: "pid 123 host h command embed since 2026-12-06T20:40:00Z" ------ */

typedef struct {
  long pid;
  char host[256], command[64], since[32];
} holder;

static void read_holder(int fd, holder *h) {
  char buf[512];
  memset(h, 0, sizeof *h);
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return;
  buf[n] = 0;
  if (sscanf(buf, "pid %ld host %255s command %63s since %31s", &h->pid, h->host, h->command, h->since) < 2) h->pid = 0;
}

static void write_holder(int fd, const char *what) {
  char host[256] = "?", since[32] = "?", line[512];
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = 0;
  for (char *s = host; *s; s++)
    if (*s == ' ' || *s == '\n') *s = '_';
  time_t now = time(NULL);
  struct tm tm;
  if (gmtime_r(&now, &tm)) strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
  int n = snprintf(line, sizeof line, "pid %ld host %s command %s since %s\n", (long)getpid(), host, what, since);
  if (ftruncate(fd, 0) == 0 && pwrite(fd, line, (size_t)n, 0) == n) return;
  /* The lock holds without the line; only the message of a second writer is less helpful. */
}

/* 1 when the holder line names a process that is (or may be, on another host) alive. */
static int holder_alive(const holder *h) {
  if (h->pid <= 0) return 0;
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  for (char *s = host; *s; s++)
    if (*s == ' ' || *s == '\n') *s = '_';
  if (strcmp(host, h->host)) return 1; /* cannot look at another machine's processes */
  return kill((pid_t)h->pid, 0) == 0 || errno == EPERM;
}

static void describe(char *out, size_t cap, const holder *h) {
  if (h->pid > 0)
    snprintf(out, cap, "clipdebias %s (pid %ld on host %s, since %s)", h->command[0] ? h->command : "?", h->pid, h->host,
             h->since[0] ? h->since : "?");
  else snprintf(out, cap, "another process");
}

static int flock_error(const char *path, int err, cd_error *e) {
  return cd_fail(e, "%s: cannot lock: %s (the folder's file system must support flock; see README, \"Output folders\")",
                 path, strerror(err));
}

/* ---- writing -------------------------------------------------------------------------- */

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* flock(LOCK_EX) without blocking on a writer: fails naming a live holder at once; waits
 * (polling) while only readers hold the file. */
static int take_exclusive(int fd, const char *dir, const char *path, cd_error *e) {
  double waited = 0;
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno != EWOULDBLOCK && errno != EINTR) return flock_error(path, errno, e);
    holder h;
    read_holder(fd, &h);
    if (holder_alive(&h)) {
      char who[512];
      describe(who, sizeof who, &h);
      return cd_fail(e, "%s: %s is writing this folder; wait for it to end or use another folder", dir, who);
    }
    if (waited >= CD_OUTDIR_WAIT_READERS_S)
      return cd_fail(e, "%s: other processes have been reading this folder for %.0f s; try again when they are done", dir,
                     waited);
    sleep_ms(50);
    waited += 0.05;
  }
}

/* ---- temporary files of a killed writer ----------------------------------------------- */

/* NAME.tmp.PID, the atomic writer's temporary name (core/file.c): the pid, or 0. */
static long temp_owner(const char *name) {
  const char *t = strstr(name, ".tmp.");
  if (!t) return 0;
  char *end;
  long pid = strtol(t + 5, &end, 10);
  return (*end == '\0' && end != t + 5 && pid > 0) ? pid : 0;
}

/* Removes the temporary files a writer killed mid-write left in dir and its subfolders (a
 * rename never happened, so nothing refers to them). Called by a new exclusive holder: no
 * other writer of this folder is alive. Folders with a lock file of their own (a sweep's
 * cells) have their own writers and are not entered; a file whose pid still runs here is
 * kept. */
static void remove_stale_temps(const char *dir, int depth) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  char path[4200];
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path) continue;
    struct stat st;
    if (lstat(path, &st)) continue;
    if (S_ISDIR(st.st_mode) && depth < 6) {
      char lock[4300];
      snprintf(lock, sizeof lock, "%s/%s", path, CD_OUTDIR_LOCK_NAME);
      if (access(lock, F_OK) != 0) remove_stale_temps(path, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
      long pid = temp_owner(de->d_name);
      if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) unlink(path);
    }
  }
  closedir(d);
}

int cd_outdir_lock_write(cd_outdir_lock *l, const char *dir, const char *what, cd_error *e) {
  memset(l, 0, sizeof *l);
  char path[4200];
  if (lock_path(path, sizeof path, dir, e) || cd_mkdir_p(dir, e)) return -1;
  pthread_mutex_lock(&held_mu);
  int k = find_held(path), rc = 0;
  if (k >= 0 && !held[k].exclusive)
    rc = cd_fail(e, "%s: this process is reading the folder; it cannot write it at the same time", dir);
  else if (k >= 0) held[k].count++;
  else {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) rc = cd_fail(e, "%s: cannot create the lock file: %s", path, strerror(errno));
    else if (take_exclusive(fd, dir, path, e)) rc = -1, close(fd);
    else if ((k = add_held(fd, 1)) < 0) rc = cd_fail(e, "%s: more than %d folders locked at once", dir, MAX_HELD), close(fd);
    else write_holder(fd, what), remove_stale_temps(dir, 0);
  }
  pthread_mutex_unlock(&held_mu);
  if (rc) return -1;
  l->held = 1, l->slot = k;
  return 0;
}

/* ---- reading -------------------------------------------------------------------------- */

int cd_outdir_lock_read(cd_outdir_lock *l, const char *dir, cd_error *e) {
  memset(l, 0, sizeof *l);
  char path[4200];
  if (lock_path(path, sizeof path, dir, e)) return -1;
  pthread_mutex_lock(&held_mu);
  int k = find_held(path), rc = 0, fd = -1;
  if (k >= 0) held[k].count++;
  else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) k = -1; /* never written under a lock */
  else if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
    int err = errno;
    if (err != EWOULDBLOCK) rc = flock_error(path, err, e);
    else {
      holder h;
      char who[512];
      read_holder(fd, &h);
      describe(who, sizeof who, &h);
      rc = cd_fail(e, "%s: is being written by %s right now; wait for it to end", dir, who);
    }
    close(fd);
  } else if ((k = add_held(fd, 0)) < 0) rc = cd_fail(e, "%s: more than %d folders locked at once", dir, MAX_HELD), close(fd);
  pthread_mutex_unlock(&held_mu);
  if (rc) return -1;
  l->held = k >= 0, l->slot = k;
  return 0;
}

void cd_outdir_unlock(cd_outdir_lock *l) {
  if (!l || !l->held) return;
  pthread_mutex_lock(&held_mu);
  int k = l->slot;
  if (k >= 0 && k < MAX_HELD && held[k].count > 0 && --held[k].count == 0) {
    if (held[k].exclusive && ftruncate(held[k].fd, 0) != 0) {
      /* a stale line names a dead process, which the next writer recognises */
    }
    flock(held[k].fd, LOCK_UN);
    close(held[k].fd);
  }
  pthread_mutex_unlock(&held_mu);
  l->held = 0;
}

const char *cd_outdir_kind(const char *dir, char *marker) {
  static const struct {
    const char *file, *kind;
  } MARKERS[] = {{"cache.json", "a feature cache"}, {"features.npy", "a feature cache"}, {"args.json", "a run folder"},
                 {"sweep.csv", "a sweep folder"},    {"sweep.json", "a sweep folder"},     {"metrics.json", "the output of eval or zeroshot"}};
  char path[4200];
  for (size_t k = 0; k < sizeof MARKERS / sizeof *MARKERS; k++)
    if (!cd_path_join(path, sizeof path, dir, MARKERS[k].file) && cd_file_exists(path)) {
      if (marker) snprintf(marker, 64, "%s", MARKERS[k].file);
      return MARKERS[k].kind;
    }
  return NULL;
}
