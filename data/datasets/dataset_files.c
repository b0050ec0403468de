/* Finding a data set's files among the layouts users have: candidate paths, archives that
 * were never extracted, and the folder the images are in. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/md5.h"
#include "data/datasets/dataset_internal.h"

int cd_ds_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cd_ds_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int cd_ds_join(char *out, size_t cap, const char *dir, const char *rel) {
  int n;
  if (!rel[0] || !strcmp(rel, ".")) n = snprintf(out, cap, "%s", dir);
  else if (!dir[0]) n = snprintf(out, cap, "%s", rel);
  else n = snprintf(out, cap, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", rel);
  return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

int cd_ds_absolute(char *out, size_t cap, const char *path, cd_error *e) {
  char buf[PATH_MAX];
  if (!realpath(path, buf)) return cd_fail(e, "%s: cannot resolve the path", path);
  if (strlen(buf) >= cap) return cd_fail(e, "%s: path too long", path);
  memcpy(out, buf, strlen(buf) + 1);
  return 0;
}

int cd_ds_find(char *out, size_t cap, const char *root, const char *const *cand, int want_dir) {
  for (int i = 0; cand[i]; i++) {
    if (cd_ds_join(out, cap, root, cand[i])) continue;
    if (want_dir ? cd_ds_is_dir(out) : cd_ds_is_file(out)) return i;
  }
  out[0] = 0;
  return -1;
}

void cd_ds_list_candidates(char *out, size_t cap, const char *root, const char *const *cand) {
  size_t at = 0;
  out[0] = 0;
  for (int i = 0; cand[i] && at + 1 < cap; i++) {
    char p[4096];
    cd_ds_join(p, sizeof p, root, cand[i]);
    int k = snprintf(out + at, cap - at, "%s%s", i ? ", " : "", p);
    if (k < 0) break;
    at += (size_t)k;
  }
}

static const char *extract_hint(const char *archive) {
  size_t n = strlen(archive);
  if (n > 4 && !strcmp(archive + n - 4, ".zip")) return "unzip it first";
  if (n > 3 && !strcmp(archive + n - 3, ".7z")) return "extract it first (7z x)";
  return "extract it first (tar xzf)";
}

int cd_ds_check_archives(const char *root, const char *const *dirs, const char *const *archives, const char *folder,
                         cd_error *e) {
  char dir[4096], path[8192];
  for (int i = 0; dirs[i]; i++)
    for (int k = 0; archives[k]; k++) {
      if (cd_ds_join(dir, sizeof dir, root, dirs[i]) || cd_ds_join(path, sizeof path, dir, archives[k])) continue;
      if (cd_ds_is_file(path))
        return cd_fail(e, "found %s but no %s/ folder next to it; %s", path, folder, extract_hint(archives[k]));
    }
  return 0;
}

int cd_ds_holds_records(const cd_dataset *d, const char *dir) {
  int k = d->n < 3 ? d->n : 3, found = 0;
  char path[8192];
  for (int i = 0; i < k; i++)
    if (!cd_ds_join(path, sizeof path, d->filenames[i][0] == '/' ? "" : dir, d->filenames[i])) found += cd_ds_is_file(path);
  return k > 0 && found > 0;
}

int cd_ds_probe_image_root(cd_dataset *d, const char *const *folders, int n_folders, cd_error *e) {
  int pick = -1;
  for (int i = 0; i < n_folders && pick < 0; i++)
    if (folders[i] && cd_ds_is_dir(folders[i]) && cd_ds_holds_records(d, folders[i])) pick = i;
  if (pick < 0)
    for (int i = 0; i < n_folders && pick < 0; i++)
      if (folders[i] && cd_ds_is_dir(folders[i])) pick = i;
  if (pick < 0) return cd_fail(e, "%s: none of the image folders exists: %s", d->name, folders[0]);
  return cd_ds_absolute(d->root, sizeof d->root, folders[pick], e);
}

void cd_ds_check_md5(cd_dataset *d, const char *path, const void *data, size_t size, const char *expected) {
  char found[33];
  cd_md5_hex(data, size, found);
  if (strcmp(found, expected))
    cd_ds_warn(d, "%s: MD5 %s, expected %s (the official file's); a re-saved copy (CRLF line ends, other spacing) is fine "
                  "if the counts match the official ones", path, found, expected);
}
