#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int cd_file_map(cd_file *f, const char *path, cd_error *e) {
  memset(f, 0, sizeof *f);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return cd_fail(e, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return cd_fail(e, "%s: cannot stat: %s", path, strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return cd_fail(e, "%s: is a directory, expected a file", path);
  }
  f->size = (size_t)st.st_size;
  if (f->size == 0) {
    close(fd);
    return 0;
  }
  void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return cd_fail(e, "%s: cannot map %zu bytes: %s", path, f->size, strerror(errno));
  f->data = p;
  f->mapped = 1;
  return 0;
}

void cd_file_close(cd_file *f) {
  if (f->data) {
    if (f->mapped) munmap((void *)f->data, f->size);
    else free((void *)f->data);
  }
  memset(f, 0, sizeof *f);
}

void cd_file_prefetch(const cd_file *f, const void *p, size_t n) {
  if (!f->mapped || !p || n == 0) return;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)p / page * page;
  size_t len = (uintptr_t)p + n - a;
#ifdef MADV_POPULATE_READ
  if (madvise((void *)a, len, MADV_POPULATE_READ) == 0) return;
#endif
  madvise((void *)a, len, MADV_WILLNEED); /* kernels before 5.14: at least read ahead */
}

void cd_file_release(const cd_file *f, const void *p, size_t n) {
  if (!f->mapped || !p || n == 0) return;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)p, b = a + n;
  uintptr_t lo = (a + page - 1) / page * page, hi = b / page * page;
  if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int cd_file_read(const char *path, size_t max_size, uint8_t **data, size_t *size, cd_error *e) {
  *data = NULL;
  *size = 0;
  FILE *fp = fopen(path, "rb");
  if (!fp) return cd_fail(e, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(fp), &st) != 0 || S_ISDIR(st.st_mode)) {
    fclose(fp);
    return cd_fail(e, "%s: not a regular file", path);
  }
  size_t n = (size_t)st.st_size;
  if (n > max_size) {
    fclose(fp);
    return cd_fail(e, "%s: file is %zu bytes, more than the %zu allowed here", path, n, max_size);
  }
  uint8_t *buf = malloc(n + 1);
  if (!buf) {
    fclose(fp);
    return cd_fail(e, "%s: out of memory reading %zu bytes", path, n);
  }
  size_t got = fread(buf, 1, n, fp);
  fclose(fp);
  if (got != n) {
    free(buf);
    return cd_fail(e, "%s: short read (%zu of %zu bytes)", path, got, n);
  }
  buf[n] = 0;
  *data = buf;
  *size = n;
  return 0;
}

int cd_file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int cd_mkdir_p(const char *path, cd_error *e) {
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) return cd_fail(e, "%s: bad directory path", path);
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if ((buf[i] != '/' && buf[i] != 0) || buf[i - 1] == '/') continue; /* "a//b", "a/" */
    char c = buf[i];
    buf[i] = 0;
    struct stat st;
    if (mkdir(buf, 0777) != 0 && !(errno == EEXIST && stat(buf, &st) == 0 && S_ISDIR(st.st_mode)))
      return cd_fail(e, "%s: cannot create directory: %s", buf, errno == EEXIST ? "a file is in the way" : strerror(errno));
    buf[i] = c;
  }
  return 0;
}

int cd_path_join(char *out, size_t cap, const char *dir, const char *name) {
  int n = snprintf(out, cap, "%s/%s", dir, name);
  return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

int cd_atomic_open(cd_atomic_file *af, const char *path, cd_error *e) {
  memset(af, 0, sizeof *af);
  if (strlen(path) + 32 >= sizeof af->tmp_path) return cd_fail(e, "%s: path too long", path);
  snprintf(af->path, sizeof af->path, "%s", path);
  snprintf(af->tmp_path, sizeof af->tmp_path, "%s.tmp.%ld", path, (long)getpid());
  af->fp = fopen(af->tmp_path, "wb");
  if (!af->fp) return cd_fail(e, "%s: cannot create output file: %s", path, strerror(errno));
  return 0;
}

/* The reason is the errno of the first call that failed: a write that failed earlier (ferror)
 * is retried by the flush, which then says why (e.g. "No space left on device"). */
static int commit(cd_atomic_file *af, int durable, cd_error *e) {
  int err = 0, earlier = ferror(af->fp), before = errno;
  errno = 0;
  if (fflush(af->fp) != 0) err = errno ? errno : EIO;
  else if (earlier) err = before ? before : EIO;
  if (!err && durable && fsync(fileno(af->fp)) != 0 && errno != EINVAL) err = errno;
  if (fclose(af->fp) != 0 && !err) err = errno;
  af->fp = NULL;
  if (err) {
    remove(af->tmp_path);
    return cd_fail(e, "%s: write failed: %s", af->path, strerror(err));
  }
  if (rename(af->tmp_path, af->path) != 0) {
    int err = errno;
    remove(af->tmp_path);
    return cd_fail(e, "%s: cannot rename temp file into place: %s", af->path, strerror(err));
  }
  return 0;
}

int cd_atomic_commit(cd_atomic_file *af, cd_error *e) { return commit(af, 1, e); }

void cd_atomic_abort(cd_atomic_file *af) {
  if (af->fp) fclose(af->fp);
  af->fp = NULL;
  if (af->tmp_path[0]) remove(af->tmp_path);
}

static int write_whole(const char *path, const void *data, size_t n, int durable, cd_error *e) {
  cd_atomic_file af;
  if (cd_atomic_open(&af, path, e)) return -1;
  if (n && fwrite(data, 1, n, af.fp) != n) {
    int err = errno;
    cd_atomic_abort(&af);
    return cd_fail(e, "%s: write failed: %s", path, strerror(err));
  }
  return commit(&af, durable, e);
}

int cd_write_file_atomic(const char *path, const void *data, size_t n, cd_error *e) {
  return write_whole(path, data, n, 1, e);
}

int cd_write_file_atomic_nosync(const char *path, const void *data, size_t n, cd_error *e) {
  return write_whole(path, data, n, 0, e);
}

int cd_program_path(char *buf, size_t cap) {
  ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
  if (n <= 0) return -1;
  buf[n] = 0;
  return 0;
}

int cd_find_shipped(char *out, size_t cap, const char *env, const char *const *rel, int n_rel, const char *source_path,
                    int (*ok)(const char *path)) {
  const char *v = getenv(env);
  if (v && *v) return snprintf(out, cap, "%s", v) < (int)cap && ok(out) ? 0 : -1;
  char dir[PATH_MAX - 64];
  if (!cd_program_path(dir, sizeof dir)) {
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    for (int i = 0; i < n_rel; i++)
      if (snprintf(out, cap, "%s/%s", dir, rel[i]) < (int)cap && ok(out)) return 0;
  }
  return snprintf(out, cap, "%s", source_path) < (int)cap && ok(out) ? 0 : -1;
}
