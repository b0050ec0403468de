/* MetaShift cat vs dog, indoor vs outdoor, as SubpopBench uses it.
 *  - SubpopBench's metadata_metashift.csv (filename,y,a,split) stores absolute paths from the
 *    machine that made it: each is re-rooted at its MetaShift-Cat-Dog-indoor-outdoor/
 *    component, under the folder found here. Relative flavours (metadata.csv with
 *    img_filename,y,place,split inside the folder) are read the same way.
 *  - Without a metadata file, the folder layout {train,test}/{cat,dog}/<class>(<context>)/ is
 *    pooled and split here, 65/10/25 with a seeded shuffle of the sorted file list. That split
 *    cannot be SubpopBench's (theirs depends on directory order), so it is written to a CSV,
 *    reused on later runs, and labelled as this tool's own everywhere it is shown.
 * y: cat 1, dog 0; a: indoor 1, outdoor 0. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/file.h"
#include "data/datasets/csv.h"
#include "data/datasets/dataset_internal.h"

#define MS_FOLDER "MetaShift-Cat-Dog-indoor-outdoor"
#define MS_DEFAULT_SEED 42

static const struct {
  const char *dir;
  int y, a;
} MS_POOLS[4] = {{"train/cat/cat(indoor)", 1, 1}, {"train/dog/dog(outdoor)", 0, 0}, {"test/cat/cat(outdoor)", 1, 0}, {"test/dog/dog(indoor)", 0, 1}};

/* ---- where things are -------------------------------------------------------------------- */

static int looks_like_ms_folder(const char *dir) {
  char p[4200];
  return !cd_ds_join(p, sizeof p, dir, "train/cat") && cd_ds_is_dir(p) && !cd_ds_join(p, sizeof p, dir, "test/dog") && cd_ds_is_dir(p);
}

static int find_folder(const char *root, char *out, size_t cap, cd_error *e) {
  static const char *const cand[] = {MS_FOLDER, "metashift/" MS_FOLDER, "data/metashift/" MS_FOLDER, NULL};
  char found[4200];
  if (cd_ds_find(found, sizeof found, root, cand, 1) >= 0) return cd_ds_absolute(out, cap, found, e);
  if (looks_like_ms_folder(root)) return cd_ds_absolute(out, cap, root, e);
  static const char *const dirs[] = {".", "metashift", NULL}, *const tars[] = {"metashift.tar.gz", "metashift.tar", NULL};
  if (cd_ds_check_archives(root, dirs, tars, MS_FOLDER, e)) return -1;
  char tried[2000];
  cd_ds_list_candidates(tried, sizeof tried, root, cand);
  return cd_fail(e, "metashift: no %s/ folder found: looked for %s, and for train/cat/ and test/dog/ in %s", MS_FOLDER, tried, root);
}

static void parent_of(const char *path, char *out, size_t cap) {
  snprintf(out, cap, "%s", path);
  char *s = strrchr(out, '/');
  if (s && s != out) *s = 0;
}

/* SubpopBench's metadata file (beside the folder, as its script writes it), or a metadata.csv
 * flavour inside it. */
static int find_metadata(const cd_dataset_opts *o, const char *ms, char *out, size_t cap) {
  if (o->csv) return snprintf(out, cap, "%s", o->csv), 0;
  char up[4096];
  parent_of(ms, up, sizeof up);
  const char *const where[] = {up, o->root, ms, NULL};
  static const char *const names[] = {"metadata_metashift.csv", NULL}, *const inside[] = {"metadata.csv", NULL};
  for (int i = 0; where[i]; i++)
    if (cd_ds_find(out, cap, where[i], names, 0) >= 0) return 0;
  if (cd_ds_find(out, cap, ms, inside, 0) >= 0 && cd_ds_is_label_csv(out)) return 0;
  out[0] = 0;
  return -1;
}

/* ---- SubpopBench's metadata, re-rooted ------------------------------------------------------ */

typedef struct {
  const char *path;
  int rerooted;
  char first_prefix[4096];
} reroot_ctx;

static int reroot(void *ctx, const char *in, char *out, int row, cd_error *e) {
  reroot_ctx *c = ctx;
  const char *at = strstr(in, MS_FOLDER "/");
  if (at) {
    if (!c->rerooted++) snprintf(c->first_prefix, sizeof c->first_prefix, "%.*s", (int)(at - in + strlen(MS_FOLDER)), in);
    snprintf(out, 4096, "%s", at + strlen(MS_FOLDER "/"));
    return 0;
  }
  if (in[0] == '/')
    return cd_fail(e, "%s: row %d: %s has no %s/ component to re-root under the local folder", c->path, row, in, MS_FOLDER);
  snprintf(out, 4096, "%s", in);
  return 0;
}

static int load_metadata(cd_dataset *d, const char *path, cd_error *e) {
  reroot_ctx c = {path, 0, ""};
  cd_label_csv_opts lo = {1, 1, 1, reroot, &c};
  if (cd_ds_absolute(d->metadata, sizeof d->metadata, path, e) || cd_ds_read_label_csv(d, path, &lo, e)) return -1;
  cd_ds_note(d, "metadata: %s (SubpopBench split, RandomState(42) 65/10/25)", d->metadata);
  if (c.rerooted) cd_ds_note(d, "paths:    %d paths re-rooted from %s/ to the local folder", c.rerooted, c.first_prefix);
  return 0;
}

/* ---- the folder layout and the tool's own split ---------------------------------------------- */

static int has_image_ext(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every image of the four pools, in sorted order (directory order differs between machines). */
static int scan_pools(cd_dataset *d, const char *ms, cd_error *e) {
  for (int p = 0; p < 4; p++) {
    char dir[4200], rel[4400];
    cd_ds_join(dir, sizeof dir, ms, MS_POOLS[p].dir);
    DIR *dh = opendir(dir);
    if (!dh) return cd_fail(e, "metashift: %s: missing (expected the four folders %s, %s, %s, %s)", dir, MS_POOLS[0].dir,
                            MS_POOLS[1].dir, MS_POOLS[2].dir, MS_POOLS[3].dir);
    int start = d->n, rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(dh)))
      if (de->d_name[0] != '.' && has_image_ext(de->d_name)) {
        snprintf(rel, sizeof rel, "%s/%s", MS_POOLS[p].dir, de->d_name);
        rc = cd_ds_add(d, rel, MS_POOLS[p].y, MS_POOLS[p].a, 0, e);
      }
    closedir(dh);
    if (rc) return -1;
    qsort(d->filenames + start, (size_t)(d->n - start), sizeof(char *), by_name);
  }
  return 0;
}

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* 25% test, 10% val (of the total, rounded down as SubpopBench does), the rest train. */
static int assign_split(cd_dataset *d, uint64_t seed, cd_error *e) {
  int n = d->n, *perm = cd_malloc(sizeof(int) * (size_t)n, e);
  if (!perm) return -1;
  for (int i = 0; i < n; i++) perm[i] = i;
  uint64_t s = seed;
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(splitmix64(&s) % (uint64_t)(i + 1));
    int t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  int n_test = (int)((long long)n * 25 / 100), n_val = (int)((long long)n * 10 / 100);
  for (int k = 0; k < n; k++) d->split[perm[k]] = k < n_test ? 2 : k < n_test + n_val ? 1 : 0;
  free(perm);
  return 0;
}

static int write_split(const cd_dataset *d, const char *path, cd_error *e) {
  cd_atomic_file af;
  if (cd_atomic_open(&af, path, e)) return -1;
  fputs("filename,y,a,split\n", af.fp);
  for (int i = 0; i < d->n; i++) {
    cd_csv_write_field(af.fp, d->filenames[i]);
    fprintf(af.fp, ",%d,%d,%d\n", d->y[i], d->a[i], d->split[i]);
  }
  return cd_atomic_commit(&af, e);
}

static int own_split(cd_dataset *d, const char *ms, const char *split_csv, uint64_t seed, cd_error *e) {
  cd_dataset scan = {0};
  if (scan_pools(&scan, ms, e)) return cd_dataset_free(&scan), -1;
  int rc = 0;
  if (cd_ds_is_file(split_csv)) {
    cd_label_csv_opts lo = {1, 1, 1, NULL, NULL};
    rc = cd_ds_read_label_csv(d, split_csv, &lo, e);
    if (rc == 0 && d->n != scan.n)
      cd_ds_warn(d, "metashift: the folder now holds %d images but the saved split %s lists %d; delete it to split again",
                 scan.n, split_csv, d->n);
    cd_ds_note(d, "split:    %s (this tool's own seeded 65/10/25 split, saved by an earlier run; NOT SubpopBench's split)", split_csv);
  } else {
    rc = assign_split(&scan, seed, e);
    for (int i = 0; rc == 0 && i < scan.n; i++) rc = cd_ds_add(d, scan.filenames[i], scan.y[i], scan.a[i], scan.split[i], e);
    cd_error we;
    if (rc == 0 && write_split(d, split_csv, &we))
      cd_ds_warn(d, "metashift: could not save the split (%s); it is reproducible from the sorted file list and the seed, or "
                    "pass --split-csv to keep it elsewhere", we.msg);
    else if (rc == 0)
      cd_ds_note(d, "split:    made here (seed %llu, 65/10/25 of the sorted file list), written to %s and reused on later "
                    "runs; NOT SubpopBench's split (no metadata_metashift.csv found)", (unsigned long long)seed, split_csv);
  }
  snprintf(d->metadata, sizeof d->metadata, "%s", split_csv);
  cd_dataset_free(&scan);
  return rc;
}

int cd_metashift_load(const cd_dataset_opts *o, cd_dataset *d, cd_error *e) {
  static const char *const classes[] = {"dog", "cat", NULL}, *const ctx[] = {"outdoor", "indoor", NULL};
  char ms[4096], meta[4200], split_csv[4096];
  const char *root = o->root ? o->root : ".";
  if (find_folder(root, ms, sizeof ms, e) || cd_ds_set_names(d, classes, ctx, e)) return -1;
  snprintf(d->root, sizeof d->root, "%s", ms);
  uint64_t seed = o->seed ? o->seed : MS_DEFAULT_SEED;
  char seed_text[32];
  snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
  int rc;
  if (find_metadata(o, ms, meta, sizeof meta) == 0) {
    d->official_split = 1;
    const char *kv[] = {"split", "subpopbench", NULL};
    rc = load_metadata(d, meta, e) || cd_ds_set_options_kv(d, kv, e) ? -1 : 0;
  } else {
    if (o->split_csv) snprintf(split_csv, sizeof split_csv, "%s", o->split_csv);
    else snprintf(split_csv, sizeof split_csv, "%.4000s/clipdebias_split_seed%s.csv", ms, seed_text);
    const char *kv[] = {"split", "clipdebias-seeded-65-10-25", "seed", seed_text, NULL};
    rc = own_split(d, ms, split_csv, seed, e) || cd_ds_set_options_kv(d, kv, e) ? -1 : 0;
  }
  if (rc) return -1;
  cd_ds_note(d, "images:   %s/", d->root);
  d->official_total = 3499;
  return 0;
}
