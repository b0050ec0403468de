/* Helpers shared by the data set loaders (not part of the public API). */
#ifndef CD_DATASET_INTERNAL_H
#define CD_DATASET_INTERNAL_H

#include <stddef.h>

#include "data/datasets/dataset.h"

#if defined(__GNUC__)
#define CD_DS_PRINTF(i, j) __attribute__((format(printf, i, j)))
#else
#define CD_DS_PRINTF(i, j)
#endif

/* Per-loader entry points (dataset.c dispatches on opts->name). */
int cd_waterbirds_load(const cd_dataset_opts *o, cd_dataset *d, cd_error *e);
int cd_celeba_load(const cd_dataset_opts *o, cd_dataset *d, cd_error *e);
int cd_metashift_load(const cd_dataset_opts *o, cd_dataset *d, cd_error *e);
int cd_csv_dataset_load(const cd_dataset_opts *o, cd_dataset *d, cd_error *e);

/* ---- records, names, notes (dataset_build.c) ---- */
int cd_ds_add(cd_dataset *d, const char *filename, int y, int a, int split, cd_error *e);
/* Sets class and attribute names from NULL-terminated lists (attr may be NULL). */
int cd_ds_set_names(cd_dataset *d, const char *const *classnames, const char *const *attr_names, cd_error *e);
/* Splits "a,b,c" into owned names; -1 with a message naming opt when empty. */
int cd_ds_split_names(const char *list, const char *opt, char ***out, int *n, cd_error *e);
void cd_ds_note(cd_dataset *d, const char *fmt, ...) CD_DS_PRINTF(2, 3);
void cd_ds_warn(cd_dataset *d, const char *fmt, ...) CD_DS_PRINTF(2, 3);
int cd_ds_set_options(cd_dataset *d, const char *json, cd_error *e);
/* Options as a JSON object of strings from {"key", "value", ..., NULL}. */
int cd_ds_set_options_kv(cd_dataset *d, const char *const *kv, cd_error *e);
/* Frees n owned strings and the array. */
void cd_ds_free_strings(char **s, int n);

/* ---- files and folders (dataset_files.c) ---- */
int cd_ds_is_dir(const char *path);
/* A regular file, directly or through a symbolic link that resolves. */
int cd_ds_is_file(const char *path);
/* "dir/rel" into out (rel "" or "." gives dir); -1 when too long. */
int cd_ds_join(char *out, size_t cap, const char *dir, const char *rel);
/* Absolute, normalised form of path (the path must exist). */
int cd_ds_absolute(char *out, size_t cap, const char *path, cd_error *e);
/* First root/<cand[i]> that is a file (dirs_ok: a folder); its index, or -1. */
int cd_ds_find(char *out, size_t cap, const char *root, const char *const *cand, int want_dir);
/* "looked for X in: a, b, c" listing root/<cand[i]>, for "not found" messages. */
void cd_ds_list_candidates(char *out, size_t cap, const char *root, const char *const *cand);
/* Fails when any archive named in archives[] sits in root/<dirs[i]>, saying to extract it
 * (called when the folder the archive should have become is missing). 0 when none. */
int cd_ds_check_archives(const char *root, const char *const *dirs, const char *const *archives, const char *folder,
                         cd_error *e);
/* The first (up to 3) records' files exist under dir. */
int cd_ds_holds_records(const cd_dataset *d, const char *dir);
/* Sets d->root to the first candidate folder in which the first records' files exist (the
 * first candidate when none does, so the missing-image report names it). */
int cd_ds_probe_image_root(cd_dataset *d, const char *const *folders, int n_folders, cd_error *e);

/* Warns (one line naming the file, the expected and the found MD5) when data, the bytes of
 * path, do not have the published MD5 `expected` (32 lowercase hex digits). A warning only:
 * users often have re-saved copies that load the same records. */
void cd_ds_check_md5(cd_dataset *d, const char *path, const void *data, size_t size, const char *expected);

/* ---- metadata tables (label_csv.c) ---- */
/* Column aliases (header names differ between copies of the same data set). */
extern const char *const CD_ALIAS_FILE[], *const CD_ALIAS_Y[], *const CD_ALIAS_A[], *const CD_ALIAS_SPLIT[];
/* Split value: 0/1/2 or train/val/valid/validation/test (any case); -1 otherwise. */
int cd_ds_split_value(const char *s);

/* Rewrites a record's file name as read from the metadata (e.g. re-rooting an absolute
 * path); returns 0, or -1 with a message. out has room for 4096 bytes. */
typedef int (*cd_ds_path_fn)(void *ctx, const char *in, char *out, int row, cd_error *e);

typedef struct {
  int need_a;              /* the attribute column is required */
  int y_max, a_max;        /* inclusive ranges, -1 = any non-negative */
  cd_ds_path_fn path_fn;   /* may be NULL */
  void *path_ctx;
} cd_label_csv_opts;

/* Reads a CSV with a file-name, y, split and (optional) a column found by the aliases above;
 * appends its records to d. Wrong columns fail with the header that was found. */
int cd_ds_read_label_csv(cd_dataset *d, const char *path, const cd_label_csv_opts *lo, cd_error *e);
/* 1 when the CSV's header has file-name, y and split columns (used to tell formats apart). */
int cd_ds_is_label_csv(const char *path);

#endif
