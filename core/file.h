/* Whole-file access: memory mapping (weights are mapped, never copied, so peak memory stays
 * near the checkpoint size), bounded reads, and atomic writes (temp file + rename, so an
 * interrupted run never leaves a half-written output behind). */
#ifndef CD_FILE_H
#define CD_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

typedef struct {
  const uint8_t *data; /* read-only view of the whole file (NULL for an empty file) */
  size_t size;
  int mapped;          /* 1: munmap on close; 0: heap copy, free on close */
} cd_file;

int cd_file_map(cd_file *f, const char *path, cd_error *e);
void cd_file_close(cd_file *f);
/* Maps the pages of [p, p + n) into this process in one call before they are read through
 * (page faults one page at a time are slow, under virtualisation especially). Advisory. */
void cd_file_prefetch(const cd_file *f, const void *p, size_t n);
/* Drops the mapped pages inside [p, p + n) from this process's memory (the whole pages only;
 * a later read faults them back in from the file). For data copied into another form, so
 * the process does not hold both. No-op for heap copies. */
void cd_file_release(const cd_file *f, const void *p, size_t n);

/* Reads a whole file into a malloc'd, NUL-terminated buffer; fails if larger than max_size. */
int cd_file_read(const char *path, size_t max_size, uint8_t **data, size_t *size, cd_error *e);

int cd_file_exists(const char *path);

/* The running program's own path (from /proc/self/exe) into buf; -1 when it cannot be read. */
int cd_program_path(char *buf, size_t cap);

/* Finds something shipped with clipdebias: the environment variable env when set (it must pass
 * ok), else each rel[i] beside the running program's folder (e.g. "../X" from a build folder,
 * "../share/clipdebias/X" from an install prefix, "X"), else source_path (the source tree the
 * program was built from). 0 with out set to the first that passes ok, -1 when none does. */
int cd_find_shipped(char *out, size_t cap, const char *env, const char *const *rel, int n_rel, const char *source_path,
                    int (*ok)(const char *path));
/* Creates a directory and its missing parents (mkdir -p); an existing directory is fine. */
int cd_mkdir_p(const char *path, cd_error *e);
/* Joins dir and name into out ("dir/name"); returns -1 if it does not fit. */
int cd_path_join(char *out, size_t cap, const char *dir, const char *name);

/* Atomic output: write to "<path>.tmp.<pid>", then cd_atomic_commit renames it over path.
 * cd_atomic_abort removes the temp file. */
typedef struct {
  FILE *fp;
  char tmp_path[4096];
  char path[4096];
} cd_atomic_file;

int cd_atomic_open(cd_atomic_file *af, const char *path, cd_error *e);
int cd_atomic_commit(cd_atomic_file *af, cd_error *e);
void cd_atomic_abort(cd_atomic_file *af);
/* One-shot: writes n bytes atomically. */
int cd_write_file_atomic(const char *path, const void *data, size_t n, cd_error *e);
/* The same without fsync, for bulk outputs (thousands of generated images, where an fsync
 * each costs milliseconds): an interrupted run still never leaves a truncated file, but
 * files written just before a power loss may be lost. */
int cd_write_file_atomic_nosync(const char *path, const void *data, size_t n, cd_error *e);

#endif
