/* CelebA with a chosen target and spurious attribute (default Blond_Hair x Male):
 *  - the official list_attr_celeba.txt (count line, names line, space-padded -1/1 values) or
 *    Kaggle's list_attr_celeba.csv (image_id,<40 names>), either format detected from the
 *    content, plus list_eval_partition.txt or .csv, joined by file name (the benchmark code
 *    bases zip the two files by row, which silently mislabels a mismatched copy);
 *  - JTT's merged metadata.csv (the attribute CSV plus a split/partition column);
 *  - SubpopBench / BalancingGroups' derived metadata_celeba.csv (id,filename,split,y,a),
 *    valid for the default attributes only;
 * in the official Drive layout (Anno/, Eval/, Img/), torchvision's celeba/, group_DRO's
 * celebA/data/, WILDS' celebA_v1.0/, with Kaggle's nested img_align_celeba/img_align_celeba/
 * or the PNG release (img_align_celeba_png/). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/datasets/csv.h"
#include "data/datasets/dataset_internal.h"

/* The MD5s torchvision checks for the official annotation text files (Kaggle's CSVs have none). */
#define MD5_ATTR_TXT "75e246fa4810816ffd6ee81facbd244c"
#define MD5_PARTITION_TXT "d32c9cbf5e040fd4025c592c306e6668"

/* group_DRO's own log for Blond_Hair x Male: [split][g]. */
static const long CELEBA_OFFICIAL[12] = {71629, 66874, 22880, 1387, 8535, 8276, 2874, 182, 9767, 7535, 2480, 180};

static const char *const ANNO_DIRS[] = {".", "Anno", "Eval", "celeba", "celeba/Anno", "celeba/Eval", "celebA", "celebA/data",
                                        "celebA_v1.0", "data", "celeba-dataset", NULL};
#define N_ANNO_DIRS 11

typedef struct {
  const char *target, *spurious;
  int is_default;
  char attr[4096], partition[4096], derived[4096], merged[4096];
} celeba_files;

/* ---- finding the files --------------------------------------------------------------------- */

/* First ANNO_DIRS[k]/name[j] that is a file, into out. */
static int find_in_anno_dirs(const char *root, const char *const *names, char *out, size_t cap) {
  char rel[256];
  for (int k = 0; ANNO_DIRS[k]; k++)
    for (int j = 0; names[j]; j++) {
      if (strcmp(ANNO_DIRS[k], ".")) snprintf(rel, sizeof rel, "%s/%s", ANNO_DIRS[k], names[j]);
      else snprintf(rel, sizeof rel, "%s", names[j]);
      const char *cand[] = {rel, NULL};
      if (cd_ds_find(out, cap, root, cand, 0) == 0) return 0;
    }
  out[0] = 0;
  return -1;
}

static int merged_has_attrs(const char *path, const celeba_files *f);

static int find_files(const cd_dataset_opts *o, celeba_files *f, cd_error *e) {
  static const char *const attr[] = {"list_attr_celeba.txt", "list_attr_celeba.csv", NULL};
  static const char *const part[] = {"list_eval_partition.txt", "list_eval_partition.csv", NULL};
  static const char *const derived[] = {"metadata_celeba.csv", NULL}, *const merged[] = {"metadata.csv", NULL};
  if (o->csv) {
    if (!cd_ds_is_file(o->csv)) return cd_fail(e, "celeba: --csv %s: no such file", o->csv);
    char *slot = merged_has_attrs(o->csv, f) ? f->merged : cd_ds_is_label_csv(o->csv) ? f->derived : f->attr;
    snprintf(slot, sizeof f->attr, "%s", o->csv);
    if (slot == f->attr && o->root) find_in_anno_dirs(o->root, part, f->partition, sizeof f->partition);
    return 0;
  }
  if (f->is_default) find_in_anno_dirs(o->root, derived, f->derived, sizeof f->derived);
  if (f->derived[0]) return 0;
  find_in_anno_dirs(o->root, attr, f->attr, sizeof f->attr);
  find_in_anno_dirs(o->root, part, f->partition, sizeof f->partition);
  if (f->attr[0]) return 0;
  find_in_anno_dirs(o->root, merged, f->merged, sizeof f->merged);
  if (f->merged[0] && !merged_has_attrs(f->merged, f)) {
    if (f->is_default && cd_ds_is_label_csv(f->merged)) {
      snprintf(f->derived, sizeof f->derived, "%s", f->merged); /* DFR's metadata.csv: img_filename,y,split,place */
      f->merged[0] = 0;
      return 0;
    }
    return cd_fail(e, "celeba: %s has neither the attribute columns (%s, %s) nor y/split columns", f->merged, f->target, f->spurious);
  }
  if (f->merged[0]) return 0;
  char dirs[2000];
  cd_ds_list_candidates(dirs, sizeof dirs, o->root, ANNO_DIRS);
  return cd_fail(e, "celeba: no annotation files found: looked for list_attr_celeba.txt or list_attr_celeba.csv (either format "
                    "works) with list_eval_partition.txt or .csv, a merged metadata.csv%s, in: %s",
                 f->is_default ? " or metadata_celeba.csv" : "", dirs);
}

/* ---- the attribute table ----------------------------------------------------------------- */

/* The header of a merged CSV names the target, the spurious attribute and a split column. */
static int merged_has_attrs(const char *path, const celeba_files *f) {
  cd_csv r;
  cd_error e;
  if (cd_csv_open(&r, path, CD_CSV_COMMA, &e)) return 0;
  const char *t[] = {f->target, NULL}, *s[] = {f->spurious, NULL};
  int ok = cd_csv_next(&r, &e) == 1 && cd_csv_column(r.fields, r.n_fields, t) >= 0 && cd_csv_column(r.fields, r.n_fields, s) >= 0 &&
           cd_csv_column(r.fields, r.n_fields, CD_ALIAS_SPLIT) >= 0;
  cd_csv_close(&r);
  return ok;
}

/* Official txt starts with the image count; Kaggle's CSV with image_id,... */
static void pick_format(cd_csv *r) {
  const char *p = r->text + r->pos, *nl = memchr(p, '\n', r->size - r->pos);
  size_t n = nl ? (size_t)(nl - p) : r->size - r->pos;
  r->format = memchr(p, ',', n) ? CD_CSV_COMMA : CD_CSV_WHITESPACE;
}

typedef struct {
  int file, y, a, split; /* columns in a data row */
  int n_fields;          /* fields per data row */
  long long count;       /* the txt count line, -1 if none */
} attr_layout;

static int attr_header(cd_csv *r, const celeba_files *f, attr_layout *L, cd_error *e) {
  L->count = -1;
  int rc = cd_csv_next(r, e);
  if (rc == 0) return cd_fail(e, "%s: the file is empty", r->path);
  if (rc < 0) return -1;
  if (r->format == CD_CSV_WHITESPACE && r->n_fields == 1 && cd_csv_int(r->fields[0], &L->count) == 0 &&
      (rc = cd_csv_next(r, e)) != 1)
    return rc ? -1 : cd_fail(e, "%s: only the count line, no attribute names", r->path);
  const char *t[] = {f->target, NULL}, *s[] = {f->spurious, NULL};
  int shift = r->format == CD_CSV_WHITESPACE && cd_csv_column(r->fields, r->n_fields, CD_ALIAS_FILE) < 0; /* txt: no file column */
  L->y = cd_csv_column(r->fields, r->n_fields, t);
  L->a = cd_csv_column(r->fields, r->n_fields, s);
  L->split = cd_csv_column(r->fields, r->n_fields, CD_ALIAS_SPLIT);
  L->file = shift ? 0 : cd_csv_column(r->fields, r->n_fields, CD_ALIAS_FILE);
  char found[2048];
  cd_csv_header_text(r->fields, r->n_fields, found, sizeof found);
  if (L->y < 0 || L->a < 0)
    return cd_fail(e, "%s: no attribute named '%s'; the attributes found are: %s", r->path, L->y < 0 ? f->target : f->spurious, found);
  if (L->file < 0) return cd_fail(e, "%s: no image_id column; header found: %s", r->path, found);
  L->y += shift, L->a += shift, L->split += shift && L->split >= 0;
  L->n_fields = r->n_fields + shift;
  return 0;
}

static int pm1(const cd_csv *r, int col, int row, int *out, cd_error *e) {
  const char *s = r->fields[col];
  if (!strcmp(s, "1")) return *out = 1, 0;
  if (!strcmp(s, "-1") || !strcmp(s, "0")) return *out = 0, 0;
  return cd_fail(e, "%s: row %d (line %d): value '%s' is not -1 or 1", r->path, row, r->line, s);
}

static int read_attributes(cd_dataset *d, const char *path, const celeba_files *f, int *has_split, cd_error *e) {
  cd_csv r;
  if (cd_csv_open(&r, path, CD_CSV_COMMA, e)) return -1;
  pick_format(&r);
  if (r.format == CD_CSV_WHITESPACE) cd_ds_check_md5(d, path, r.text, r.size, MD5_ATTR_TXT); /* before parsing edits the text */
  attr_layout L;
  int rc = attr_header(&r, f, &L, e), first = r.record;
  while (rc == 0 && (rc = cd_csv_next(&r, e)) == 1) {
    int y = 0, a = 0, split = -1;
    if (r.n_fields != L.n_fields)
      rc = cd_fail(e, "%s: row %d (line %d): has %d fields, expected %d", path, r.record - first, r.line, r.n_fields, L.n_fields);
    else if (pm1(&r, L.y, r.record - first, &y, e) || pm1(&r, L.a, r.record - first, &a, e)) rc = -1;
    else if (L.split >= 0 && (split = cd_ds_split_value(r.fields[L.split])) < 0)
      rc = cd_fail(e, "%s: row %d (line %d): split '%s' is not 0, 1 or 2", path, r.record - first, r.line, r.fields[L.split]);
    else rc = cd_ds_add(d, r.fields[L.file], y, a, split, e);
  }
  if (rc == 0 && L.count >= 0 && L.count != d->n)
    rc = cd_fail(e, "%s: line 1 says %lld images but the file has %d rows (a truncated or edited copy?)", path, L.count, d->n);
  cd_csv_close(&r);
  *has_split = L.split >= 0;
  return rc ? -1 : 0;
}

/* ---- the partition file, joined by file name ----------------------------------------------- */

typedef struct {
  char **name;
  int *split;
  int n, cap;
} partition;

static void partition_free(partition *p) {
  for (int i = 0; i < p->n; i++) free(p->name[i]);
  free(p->name);
  free(p->split);
}

static int partition_add(partition *p, const char *name, int split, cd_error *e) {
  if (p->n == p->cap) {
    int cap = p->cap ? p->cap * 2 : 1024;
    char **nm = realloc(p->name, sizeof(char *) * (size_t)cap);
    if (nm) p->name = nm;
    int *sp = realloc(p->split, sizeof(int) * (size_t)cap);
    if (sp) p->split = sp;
    if (!nm || !sp) return cd_fail(e, "out of memory");
    p->cap = cap;
  }
  p->split[p->n] = split;
  return (p->name[p->n++] = strdup(name)) ? 0 : cd_fail(e, "out of memory");
}

static int read_partition(cd_dataset *d, const char *path, partition *p, cd_error *e) {
  cd_csv r;
  if (cd_csv_open(&r, path, CD_CSV_COMMA, e)) return -1;
  pick_format(&r);
  if (r.format == CD_CSV_WHITESPACE) cd_ds_check_md5(d, path, r.text, r.size, MD5_PARTITION_TXT);
  int rc, file = 0, col = 1, header = r.format == CD_CSV_COMMA;
  while ((rc = cd_csv_next(&r, e)) == 1) {
    if (r.record == 0 && (header || (r.n_fields == 2 && cd_ds_split_value(r.fields[1]) < 0))) {
      file = cd_csv_column(r.fields, r.n_fields, CD_ALIAS_FILE);
      col = cd_csv_column(r.fields, r.n_fields, CD_ALIAS_SPLIT);
      char found[512];
      cd_csv_header_text(r.fields, r.n_fields, found, sizeof found);
      if (file < 0 || col < 0) {
        rc = cd_fail(e, "%s: expected columns image_id,partition; header found: %s", path, found);
        break;
      }
      header = 1;
      continue;
    }
    int split = r.n_fields > col && r.n_fields > file ? cd_ds_split_value(r.fields[col]) : -1;
    if (split < 0) {
      rc = cd_fail(e, "%s: line %d: expected '<file> <0|1|2>', found %d field(s)%s%s", path, r.line, r.n_fields,
                   r.n_fields ? " starting with " : "", r.n_fields ? r.fields[0] : "");
      break;
    }
    if ((rc = partition_add(p, r.fields[file], split, e))) break;
  }
  cd_csv_close(&r);
  return rc < 0 ? -1 : 0;
}

static uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* Open-addressing map from partition file name to its row. */
static int *build_index(const partition *p, size_t *mask_out, cd_error *e) {
  size_t cap = 1;
  while (cap < (size_t)p->n * 2 + 2) cap <<= 1;
  int *slot = cd_malloc(sizeof(int) * cap, e);
  if (!slot) return NULL;
  for (size_t i = 0; i < cap; i++) slot[i] = -1;
  for (int i = 0; i < p->n; i++) {
    size_t h = (size_t)name_hash(p->name[i]) & (cap - 1);
    while (slot[h] >= 0 && strcmp(p->name[slot[h]], p->name[i])) h = (h + 1) & (cap - 1);
    slot[h] = i; /* a duplicate name keeps its last row */
  }
  *mask_out = cap - 1;
  return slot;
}

static int lookup(const partition *p, const int *slot, size_t mask, const char *name) {
  size_t h = (size_t)name_hash(name) & mask;
  while (slot[h] >= 0 && strcmp(p->name[slot[h]], name)) h = (h + 1) & mask;
  return slot[h];
}

/* The first row where the two files disagree, as the one message. */
static int mismatch(const cd_dataset *d, const partition *p, const char *attr_path, const char *part_path, cd_error *e) {
  int i = 0;
  while (i < d->n && i < p->n && !strcmp(d->filenames[i], p->name[i])) i++;
  if (i < d->n && i < p->n)
    return cd_fail(e, "celeba: row %d: %s has %s, %s has %s (the files do not list the same images)", i + 1, attr_path,
                   d->filenames[i], part_path, p->name[i]);
  return cd_fail(e, "celeba: row %d: %s has %s, %s has %s (%d rows vs %d)", i + 1, attr_path, i < d->n ? d->filenames[i] : "no more rows",
                 part_path, i < p->n ? p->name[i] : "no more rows", d->n, p->n);
}

static int join_partition(cd_dataset *d, const char *attr_path, const char *part_path, cd_error *e) {
  partition p = {0};
  if (read_partition(d, part_path, &p, e)) return partition_free(&p), -1;
  int same_order = p.n == d->n, rc = 0;
  for (int i = 0; same_order && i < d->n; i++) same_order = !strcmp(d->filenames[i], p.name[i]);
  if (same_order) {
    for (int i = 0; i < d->n; i++) d->split[i] = p.split[i];
  } else {
    size_t mask;
    int *slot = build_index(&p, &mask, e);
    if (!slot) rc = -1;
    for (int i = 0; rc == 0 && i < d->n; i++) {
      int k = lookup(&p, slot, mask, d->filenames[i]);
      if (k < 0 || p.n != d->n) rc = mismatch(d, &p, attr_path, part_path, e);
      else d->split[i] = p.split[k];
    }
    free(slot);
    if (rc == 0) cd_ds_note(d, "note:       the two files list the images in different orders; joined by file name");
  }
  partition_free(&p);
  return rc;
}

/* ---- images ------------------------------------------------------------------------------ */

static void parent_of(const char *path, char *out, size_t cap) {
  snprintf(out, cap, "%s", path);
  char *s = strrchr(out, '/');
  if (s && s != out) *s = 0;
  else snprintf(out, cap, ".");
}

static void rename_ext(cd_dataset *d, const char *from, const char *to) {
  for (int i = 0; i < d->n; i++) {
    size_t n = strlen(d->filenames[i]);
    if (n > 4 && !strcmp(d->filenames[i] + n - 4, from)) memcpy(d->filenames[i] + n - 4, to, 4);
  }
}
static void rename_to_png(cd_dataset *d) { rename_ext(d, ".jpg", ".png"); }
static void rename_to_jpg(cd_dataset *d) { rename_ext(d, ".png", ".jpg"); }

/* Existing folders bases[b]/name into out (as pointers into store). */
static int existing(char (*store)[4200], const char **out, int n, char (*bases)[4096], int nb, const char *name) {
  for (int b = 0; b < nb; b++)
    if (!cd_ds_join(store[n], sizeof store[0], bases[b], name) && cd_ds_is_dir(store[n])) out[n] = store[n], n++;
  return n;
}

static int pick_image_folder(cd_dataset *d, char (*bases)[4096], int nb, cd_error *e) {
  char (*store)[4200] = calloc((size_t)nb * 3, sizeof *store);
  const char **jpg = calloc((size_t)nb * 3, sizeof(char *));
  if (!store || !jpg) return free(store), free(jpg), cd_fail(e, "out of memory");
  int nj = existing(store, jpg, 0, bases, nb, "img_align_celeba/img_align_celeba");
  nj = existing(store, jpg, nj, bases, nb, "img_align_celeba");
  int np = existing(store, jpg, nj, bases, nb, "img_align_celeba_png") - nj, rc = 1, k;
  for (k = 0; k < nj && !cd_ds_holds_records(d, jpg[k]); k++) {
  }
  if (k < nj) rc = cd_ds_probe_image_root(d, jpg + k, 1, e);
  else if (np) {
    rename_to_png(d); /* the authors' PNG release: same basenames, .png */
    for (k = 0; k < np && !cd_ds_holds_records(d, jpg[nj + k]); k++) {
    }
    if (k == np && nj) rename_to_jpg(d);
    rc = cd_ds_probe_image_root(d, k < np ? jpg + nj + k : nj ? jpg : jpg + nj, 1, e);
  } else if (nj) rc = cd_ds_probe_image_root(d, jpg, 1, e); /* the missing-image report names it */
  free(store);
  free(jpg);
  return rc;
}

static int find_images(cd_dataset *d, const cd_dataset_opts *o, cd_error *e) {
  char anno[4096], up[4096], bases[N_ANNO_DIRS + 3][4096];
  parent_of(d->metadata, anno, sizeof anno);
  parent_of(anno, up, sizeof up);
  int nb = 0;
  snprintf(bases[nb++], sizeof bases[0], "%s", anno);
  snprintf(bases[nb++], sizeof bases[0], "%s", up);
  for (int k = 0; o->root && ANNO_DIRS[k]; k++) cd_ds_join(bases[nb++], sizeof bases[0], o->root, ANNO_DIRS[k]);
  if (o->root) cd_ds_join(bases[nb++], sizeof bases[0], o->root, "Img");
  int rc = pick_image_folder(d, bases, nb, e);
  if (rc <= 0) return rc;
  static const char *const zips[] = {"img_align_celeba.zip", "img_align_celeba_png.7z", NULL};
  for (int b = 0; b < nb; b++)
    if (cd_ds_check_archives(bases[b], (const char *const[]){".", NULL}, zips, "img_align_celeba", e)) return -1;
  return cd_fail(e, "celeba: no img_align_celeba/ folder found next to %s or under %s (also looked for Kaggle's nested "
                    "img_align_celeba/img_align_celeba/ and Img/)", d->metadata, o->root ? o->root : anno);
}

/* ---- names and the whole load -------------------------------------------------------------- */

/* "Blond_Hair" -> "blond hair" */
static void readable(const char *attr, char *out, size_t cap) {
  size_t i = 0;
  for (; attr[i] && i + 1 < cap; i++) out[i] = attr[i] == '_' ? ' ' : (char)(attr[i] >= 'A' && attr[i] <= 'Z' ? attr[i] + 32 : attr[i]);
  out[i] = 0;
}

static int set_names(cd_dataset *d, const celeba_files *f, cd_error *e) {
  char t1[128], t0[140], s1[128], s0[140];
  readable(f->target, t1, sizeof t1);
  readable(f->spurious, s1, sizeof s1);
  snprintf(t0, sizeof t0, "not %s", t1);
  snprintf(s0, sizeof s0, "not %s", s1);
  if (!strcasecmp(f->target, "Blond_Hair")) snprintf(t0, sizeof t0, "dark hair");
  if (!strcasecmp(f->spurious, "Male")) snprintf(s0, sizeof s0, "female");
  const char *cls[] = {t0, t1, NULL}, *att[] = {s0, s1, NULL};
  return cd_ds_set_names(d, cls, att, e);
}

static int load_records(cd_dataset *d, celeba_files *f, cd_error *e) {
  if (f->derived[0]) {
    if (!f->is_default)
      return cd_fail(e, "celeba: %s holds y/a for Blond_Hair x Male only; for --target %s --spurious %s give the attribute "
                        "file (list_attr_celeba.txt or .csv)", f->derived, f->target, f->spurious);
    cd_label_csv_opts lo = {1, 1, 1, NULL, NULL};
    if (cd_ds_absolute(d->metadata, sizeof d->metadata, f->derived, e)) return -1;
    cd_ds_note(d, "metadata:   %s (derived y,a,split table; y = Blond_Hair, a = Male)", d->metadata);
    return cd_ds_read_label_csv(d, f->derived, &lo, e);
  }
  const char *attr = f->attr[0] ? f->attr : f->merged;
  int has_split;
  if (cd_ds_absolute(d->metadata, sizeof d->metadata, attr, e) || read_attributes(d, attr, f, &has_split, e)) return -1;
  cd_ds_note(d, "attributes: %s (y = %s, a = %s)", d->metadata, f->target, f->spurious);
  if (has_split) return cd_ds_note(d, "splits:     the split column of the same file"), 0;
  if (!f->partition[0])
    return cd_fail(e, "celeba: found %s but no list_eval_partition.txt or .csv (the train/val/test split) next to it or in "
                      "Anno/, Eval/", attr);
  char abs[4096];
  if (cd_ds_absolute(abs, sizeof abs, f->partition, e)) return -1;
  cd_ds_note(d, "splits:     %s", abs);
  return join_partition(d, attr, f->partition, e);
}

int cd_celeba_load(const cd_dataset_opts *o, cd_dataset *d, cd_error *e) {
  celeba_files f = {0};
  f.target = o->target ? o->target : "Blond_Hair";
  f.spurious = o->spurious ? o->spurious : "Male";
  if (!strcasecmp(f.target, f.spurious)) return cd_fail(e, "celeba: --target and --spurious are both %s", f.target);
  f.is_default = !strcasecmp(f.target, "Blond_Hair") && !strcasecmp(f.spurious, "Male");
  if (find_files(o, &f, e) || set_names(d, &f, e) || load_records(d, &f, e) || find_images(d, o, e)) return -1;
  cd_ds_note(d, "images:     %s/", d->root);
  const char *opts[] = {"target", f.target, "spurious", f.spurious, NULL};
  d->official = f.is_default ? CELEBA_OFFICIAL : NULL;
  d->official_total = 202599;
  d->official_split = 1;
  return cd_ds_set_options_kv(d, opts, e);
}
