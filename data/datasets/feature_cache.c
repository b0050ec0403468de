/* Feature cache load / write with strict validation (see feature_cache.h for the format). */
#include "data/datasets/feature_cache.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/json.h"
#include "core/json_write.h"
#include "core/hash.h"
#include "core/npy.h"
#include "core/outdir_lock.h"
#include "data/datasets/cache_meta.h"
#include "data/datasets/csv.h"

static const char *const SPLIT_NAMES[3] = {"train", "val", "test"};
static const char INDEX_HEADER[5][9] = {"id", "filename", "y", "a", "split"};

static void free_strings(char **s, int n) {
  for (int i = 0; s && i < n; i++) free(s[i]);
  free(s);
}

void cd_feature_cache_free(cd_feature_cache *c) {
  if (!c) return;
  if (c->map.file.data) cd_npy_map_close(&c->map); /* features pointed into it */
  else free(c->features);
  free(c->y);
  free(c->a);
  free(c->split);
  free(c->ids);
  free_strings(c->filenames, c->N);
  free_strings(c->classnames, c->n_cls);
  free_strings(c->attr_names, c->n_attr);
  memset(c, 0, sizeof *c);
}

int cd_make_dirs(const char *dir, cd_error *e) {
  char p[4096];
  if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return cd_fail(e, "%s: path too long", dir);
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s) continue;
    char c = *s;
    *s = 0;
    struct stat st;
    if (stat(p, &st) != 0) {
      if (mkdir(p, 0777) != 0 && errno != EEXIST) return cd_fail(e, "%s: cannot create directory: %s", p, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
      return cd_fail(e, "%s: exists and is not a directory", p);
    }
    *s = c;
    if (!c) return 0;
  }
}

/* ---- cache.json --------------------------------------------------------------------- */

static int copy_str(char *dst, size_t cap, const char *src, const char *path, const char *what, cd_error *e) {
  if (strlen(src) >= cap) return cd_fail(e, "%s: %s is longer than %zu bytes", path, what, cap - 1);
  memcpy(dst, src, strlen(src) + 1);
  return 0;
}

/* Refuses caches that are not whole: interrupted runs and single shards. */
static int check_whole(const cd_json *r, const char *path, int allow_shard, cd_error *e) {
  const cd_json *complete = cd_json_get(r, "complete");
  if (!complete || complete->type != CD_JSON_BOOL)
    return cd_fail(e, "%s: no \"complete\": true|false entry", path);
  if (!complete->boolean)
    return cd_fail(e, "%s: the cache is incomplete (an embed run was interrupted); run the same "
                      "`clipdebias embed` command again to finish it", path);
  const cd_json *sh = cd_json_get(r, "shard");
  if (!allow_shard && sh && sh->type == CD_JSON_OBJECT && cd_json_get_int(sh, "count", 1) > 1)
    return cd_fail(e, "%s: this cache is shard %d of %d only; join all shards with `clipdebias merge --out DIR "
                      "SHARD_DIR...` first", path, (int)cd_json_get_int(sh, "index", 0) + 1,
                   (int)cd_json_get_int(sh, "count", 1));
  return 0;
}

/* Split codes allowed by "splits" (all three when absent). */
static int allowed_splits(const cd_json *r, const char *path, int allowed[3], cd_error *e) {
  const cd_json *sp = cd_json_get(r, "splits");
  if (!sp) return allowed[0] = allowed[1] = allowed[2] = 1, 0;
  allowed[0] = allowed[1] = allowed[2] = 0;
  if (sp->type != CD_JSON_ARRAY) return cd_fail(e, "%s: \"splits\" must be a list like [\"train\", \"val\", \"test\"]", path);
  for (size_t i = 0; i < sp->n; i++) {
    int k = 0;
    while (k < 3 && (sp->items[i].type != CD_JSON_STRING || strcmp(sp->items[i].str, SPLIT_NAMES[k]))) k++;
    if (k == 3) return cd_fail(e, "%s: \"splits\"[%zu] is not one of train, val, test", path, i);
    allowed[k] = 1;
  }
  return 0;
}

/* "features_dtype": absent (caches before float16 existed) or "float32", or "float16". */
static int features_dtype(const cd_json *r, const char *path, cd_dtype *t, cd_error *e) {
  const char *s = cd_json_get_str(r, "features_dtype", "float32");
  if (!strcmp(s, "float32")) return *t = CD_F32, 0;
  if (!strcmp(s, "float16")) return *t = CD_F16, 0;
  return cd_fail(e, "%s: \"features_dtype\" is \"%s\" (float32 or float16 expected)", path, s);
}

/* What cache.json vouches for: the checksums to verify after reading the files. */
typedef struct {
  char index[40], features[40];
  char records[40]; /* dataset.records_checksum when it covers exactly the rows, else "" */
} vouched;

static void copy_sum(char out[40], const char *s) { snprintf(out, 40, "%s", s ? s : ""); }

static void read_vouched(const cd_json *r, int rows, vouched *v) {
  const cd_json *ds = cd_json_get(r, "dataset"), *sk = cd_json_get(r, "skipped");
  copy_sum(v->index, cd_json_get_str(r, "index_checksum", ""));
  copy_sum(v->features, cd_json_get_str(r, "features_checksum", ""));
  int whole = !cd_json_get(r, "shard") && (!sk || (sk->type == CD_JSON_ARRAY && sk->n == 0)) &&
              cd_json_get_int(ds, "records", -1) == rows;
  copy_sum(v->records, whole ? cd_json_get_str(ds, "records_checksum", "") : "");
}

static int read_meta(const char *path, cd_feature_cache *c, int allow_shard, int *rows, int *embed_dim, int allowed[3],
                     vouched *v, cd_error *e) {
  if (!cd_file_exists(path))
    return cd_fail(e, "%s: not found; this is not a finished feature cache (make one with `clipdebias embed`)", path);
  cd_json_doc *doc = cd_json_parse_file(path, (size_t)64 << 20, e);
  if (!doc) return -1;
  const cd_json *r = cd_json_root(doc), *ds = NULL, *model = NULL;
  int rc = -1;
  if (r->type != CD_JSON_OBJECT) cd_fail(e, "%s: expected a JSON object", path);
  else if (cd_json_get_int(r, "version", -1) != 1)
    cd_fail(e, "%s: unsupported cache version %lld (this build reads version 1)", path,
            (long long)cd_json_get_int(r, "version", -1));
  else if (check_whole(r, path, allow_shard, e) || cd_json_field_int(r, "rows", 1, INT32_MAX, rows, path, e) ||
           cd_json_field(r, "dataset", CD_JSON_OBJECT, &ds, path, e) ||
           cd_json_field(r, "model", CD_JSON_OBJECT, &model, path, e) ||
           copy_str(c->dataset, sizeof c->dataset, cd_json_get_str(ds, "name", ""), path, "dataset.name", e) ||
           copy_str(c->model_path, sizeof c->model_path, cd_json_get_str(model, "path", ""), path, "model.path", e) ||
           copy_str(c->model_checksum, sizeof c->model_checksum, cd_json_get_str(model, "checksum", ""), path,
                    "model.checksum", e)) {
  } else if (!c->dataset[0]) cd_fail(e, "%s: dataset.name is missing", path);
  else if (cd_json_field_strs(ds, "classnames", 1, &c->classnames, &c->n_cls, path, e) ||
           (cd_json_has(ds, "attr_names") && cd_json_field_strs(ds, "attr_names", 0, &c->attr_names, &c->n_attr, path, e)) ||
           allowed_splits(r, path, allowed, e) || features_dtype(r, path, &c->dtype, e)) {
  } else {
    *embed_dim = (int)cd_json_get_int(model, "embed_dim", 0);
    read_vouched(r, *rows, v);
    rc = 0;
  }
  cd_json_free(doc);
  return rc;
}

/* ---- features.npy --------------------------------------------------------------------- */

/* Index of the first non-finite value among n stored values, or n. */
static size_t first_nonfinite(const void *v, cd_dtype t, size_t n) {
  if (t == CD_F16) {
    const uint16_t *h = v;
    for (size_t i = 0; i < n; i++)
      if ((h[i] & 0x7C00) == 0x7C00) return i; /* all-ones exponent: inf or NaN */
    return n;
  }
  const float *f = v;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(f[i])) return i;
  return n;
}

/* Every value finite, checked through the map a slice at a time (released once read), and the
 * checksum of the stored values (cache_meta.h) taken on the way. */
static int check_finite(const char *path, const cd_npy_map *m, char sum[40], cd_error *e) {
  enum { SLICE = 1 << 20 };
  size_t esize = cd_dtype_size(m->a.dtype), D = (size_t)m->a.shape[1];
  cd_xxh64_state st;
  cd_xxh64_init(&st, 0);
  for (size_t at = 0; at < m->a.numel; at += SLICE) {
    size_t n = m->a.numel - at < SLICE ? m->a.numel - at : SLICE;
    size_t bad = first_nonfinite((const uint8_t *)m->a.data + at * esize, m->a.dtype, n);
    cd_xxh64_update(&st, (const uint8_t *)m->a.data + at * esize, n * esize);
    cd_npy_map_release(m, at * esize, n * esize);
    if (bad < n) {
      float v;
      cd_convert_to_f32(&v, (const uint8_t *)m->a.data + (at + bad) * esize, m->a.dtype, 1);
      return cd_fail(e, "%s: row %zu holds a non-finite value (%g)", path, (at + bad) / D, (double)v);
    }
  }
  cd_features_checksum_text(cd_xxh64_final(&st), sum);
  return 0;
}

static const char *dtype_word(cd_dtype t) { return t == CD_F16 ? "float16" : t == CD_F32 ? "float32" : cd_dtype_name(t); }

static int read_features(const char *path, int rows, int embed_dim, cd_feature_cache *c, cd_error *e) {
  cd_npy_map m;
  if (cd_npy_map_open(path, &m, e)) return -1;
  const cd_array *a = &m.a;
  int rc = -1;
  if ((a->dtype != CD_F32 && a->dtype != CD_F16) || a->ndim != 2)
    cd_fail(e, "%s: expected float32 or float16 [N, D] features, found %s with %d dimension(s)", path, dtype_word(a->dtype),
            a->ndim);
  else if (a->dtype != c->dtype)
    cd_fail(e, "%s: holds %s features, but cache.json says %s (files of two different caches?)", path, dtype_word(a->dtype),
            dtype_word(c->dtype));
  else if (a->shape[0] != rows)
    cd_fail(e, "%s: has %lld rows, but cache.json says %d", path, (long long)a->shape[0], rows);
  else if (a->shape[1] < 1 || a->shape[1] > (1 << 20) || (embed_dim > 0 && a->shape[1] != embed_dim))
    cd_fail(e, "%s: rows have %lld values, but cache.json says the model's embed_dim is %d", path,
            (long long)a->shape[1], embed_dim);
  else rc = check_finite(path, &m, c->features_checksum, e);
  if (rc) {
    cd_npy_map_close(&m);
    return -1;
  }
  c->N = rows;
  c->D = (int)a->shape[1];
  c->map = m;
  c->features = a->dtype == CD_F32 ? a->data : NULL; /* used in place */
  return 0;
}

void cd_feature_cache_rows(const cd_feature_cache *c, int first, int n, float *out) {
  enum { SLICE = 1 << 20 }; /* values converted (and released) at a time */
  size_t D = (size_t)c->D, total = (size_t)n * D, start = (size_t)first * D;
  if (!c->map.file.data) {
    memcpy(out, c->features + start, total * sizeof(float));
    return;
  }
  size_t esize = cd_dtype_size(c->map.a.dtype);
  for (size_t at = 0; at < total; at += SLICE) {
    size_t k = total - at < SLICE ? total - at : SLICE;
    const uint8_t *src = (const uint8_t *)c->map.a.data + (start + at) * esize;
    if (c->map.a.dtype == CD_F16) cd_convert_to_f32(out + at, src, CD_F16, k);
    else memcpy(out + at, src, k * sizeof(float));
    cd_npy_map_release(&c->map, (start + at) * esize, k * esize);
  }
}

/* ---- index.csv ---------------------------------------------------------------------- */

static int check_index_header(const cd_csv *r, cd_error *e) {
  int ok = r->n_fields == 5;
  for (int k = 0; ok && k < 5; k++) ok = !strcmp(r->fields[k], INDEX_HEADER[k]);
  if (ok) return 0;
  char found[512];
  cd_csv_header_text(r->fields, r->n_fields, found, sizeof found);
  return cd_fail(e, "%s: line 1: header must be exactly id,filename,y,a,split, found %s", r->path, found);
}

static int parse_label(const cd_csv *r, int field, int row, long long lo, long long hi, int empty_ok, int32_t *out,
                       cd_error *e) {
  const char *s = r->fields[field];
  long long v;
  if (empty_ok && !*s) return *out = -1, 0;
  if (cd_csv_int(s, &v)) return cd_fail(e, "%s: row %d (line %d): %s '%s' is not an integer", r->path, row, r->line, INDEX_HEADER[field], s);
  if (v < lo || v > hi) return cd_fail(e, "%s: row %d (line %d): %s = %lld is out of range [%lld, %lld]", r->path, row, r->line, INDEX_HEADER[field], v, lo, hi);
  *out = (int32_t)v;
  return 0;
}

static int index_row(const cd_csv *r, int i, cd_feature_cache *c, cd_error *e) {
  if (r->n_fields != 5) return cd_fail(e, "%s: row %d (line %d): has %d fields, expected 5 (id,filename,y,a,split)", r->path, i, r->line, r->n_fields);
  if (parse_label(r, 0, i, 0, INT32_MAX, 0, &c->ids[i], e)) return -1;
  if (i > 0 && c->ids[i] <= c->ids[i - 1])
    return cd_fail(e, "%s: row %d (line %d): id %d does not increase (previous row has %d): duplicated or reordered rows", r->path, i, r->line, c->ids[i], c->ids[i - 1]);
  if (!r->fields[1][0]) return cd_fail(e, "%s: row %d (line %d): empty filename", r->path, i, r->line);
  if (!(c->filenames[i] = strdup(r->fields[1]))) return cd_fail(e, "%s: out of memory", r->path);
  /* Ranges are checked against the class and attribute names afterwards, with their names. */
  if (parse_label(r, 2, i, 0, INT32_MAX, 0, &c->y[i], e) || parse_label(r, 3, i, 0, INT32_MAX, 1, &c->a[i], e) ||
      parse_label(r, 4, i, 0, 2, 0, &c->split[i], e))
    return -1;
  return 0;
}

static int alloc_rows(cd_feature_cache *c, int n, cd_error *e) {
  c->y = cd_calloc((size_t)n, sizeof(int32_t), e);
  c->a = cd_calloc((size_t)n, sizeof(int32_t), e);
  c->split = cd_calloc((size_t)n, sizeof(int32_t), e);
  c->ids = cd_calloc((size_t)n, sizeof(int32_t), e);
  c->filenames = cd_calloc((size_t)n, sizeof(char *), e);
  return c->y && c->a && c->split && c->ids && c->filenames ? 0 : -1;
}

static int read_index(const char *path, int rows, cd_feature_cache *c, cd_error *e) {
  cd_csv r;
  if (cd_csv_open(&r, path, CD_CSV_COMMA, e)) return -1;
  int rc = cd_csv_next(&r, e);
  if (rc == 0) rc = cd_fail(e, "%s: the file is empty (expected the header id,filename,y,a,split)", path);
  if (rc > 0) rc = check_index_header(&r, e);
  if (rc == 0) rc = alloc_rows(c, rows, e);
  int i = 0;
  while (rc == 0 && (rc = cd_csv_next(&r, e)) == 1) {
    if (i >= rows) {
      rc = cd_fail(e, "%s: has more than the %d rows cache.json and features.npy hold (line %d)", path, rows, r.line);
      break;
    }
    rc = index_row(&r, i, c, e);
    i++;
  }
  if (rc == 0 && i != rows) rc = cd_fail(e, "%s: has %d rows, but features.npy and cache.json have %d", path, i, rows);
  cd_csv_close(&r);
  return rc ? -1 : 0;
}

/* ---- validation ---------------------------------------------------------------------- */

int cd_feature_cache_check(const cd_feature_cache *c, const char *what, cd_error *e) {
  if (c->N < 1) return cd_fail(e, "%s: no rows", what);
  if (c->n_cls < 1) return cd_fail(e, "%s: no class names", what);
  for (int i = 0; i < c->N; i++) {
    if (c->y[i] < 0 || c->y[i] >= c->n_cls)
      return cd_fail(e, "%s: row %d (%s): y = %d is out of range for %d classes", what, i, c->filenames[i], c->y[i], c->n_cls);
    if (c->a[i] < -1 || (c->a[i] >= 0 && c->a[i] >= c->n_attr))
      return cd_fail(e, "%s: row %d (%s): a = %d is out of range for %d attribute values%s", what, i, c->filenames[i],
                     c->a[i], c->n_attr, c->n_attr ? "" : " (no attr_names given)");
    if (c->split[i] < 0 || c->split[i] > 2)
      return cd_fail(e, "%s: row %d (%s): split = %d is not 0 (train), 1 (val) or 2 (test)", what, i, c->filenames[i], c->split[i]);
    if (!c->filenames[i] || !c->filenames[i][0]) return cd_fail(e, "%s: row %d: empty filename", what, i);
  }
  return 0;
}

/* After loading: splits listed in cache.json, and n_attr = 0 when no row knows a. */
static int finish_load(cd_feature_cache *c, const char *index_path, const int allowed[3], cd_error *e) {
  if (cd_feature_cache_check(c, index_path, e)) return -1;
  int any_a = 0;
  for (int i = 0; i < c->N; i++) {
    if (!allowed[c->split[i]])
      return cd_fail(e, "%s: row %d (%s): split %s is not among the \"splits\" of cache.json", index_path, i,
                     c->filenames[i], SPLIT_NAMES[c->split[i]]);
    any_a |= c->a[i] >= 0;
  }
  if (!any_a) {
    free_strings(c->attr_names, c->n_attr);
    c->attr_names = NULL;
    c->n_attr = 0;
  }
  return 0;
}

/* The rows and values read against what cache.json vouches for. */
static int verify(const char *json, const char *index, const char *npy, const vouched *v, cd_feature_cache *c, cd_error *e) {
  cd_records_checksum(c->N, c->ids, c->filenames, c->y, c->a, c->split, c->index_checksum);
  const char *want = v->index[0] ? v->index : v->records, *key = v->index[0] ? "index_checksum" : "dataset.records_checksum";
  if (want[0] && strcmp(want, c->index_checksum))
    return cd_fail(e, "%s: its rows are not the ones %s vouches for (%s %s, the file gives %s): labels, file names or "
                      "their order were changed after embedding; restore the file, or run the same `clipdebias embed` again to rebuild the cache",
                   index, json, key, want, c->index_checksum);
  if (v->features[0] && strcmp(v->features, c->features_checksum))
    return cd_fail(e, "%s: its values are not the ones %s vouches for (features_checksum %s, the file gives %s): the file "
                      "was changed or damaged after embedding; run the same `clipdebias embed` again to repair the cache",
                   npy, json, v->features, c->features_checksum);
  c->unverified = !want[0] || !v->features[0];
  return 0;
}

static int load(const char *dir, cd_feature_cache *c, int allow_shard, cd_error *e) {
  memset(c, 0, sizeof *c);
  char json[4200], npy[4200], index[4200];
  if (cd_path_join(json, sizeof json, dir, "cache.json") || cd_path_join(npy, sizeof npy, dir, "features.npy") ||
      cd_path_join(index, sizeof index, dir, "index.csv"))
    return cd_fail(e, "%s: path too long", dir);
  int rows = 0, embed_dim = 0, allowed[3];
  vouched v;
  cd_outdir_lock lock; /* a cache being written is not read half-way */
  if (cd_outdir_lock_read(&lock, dir, e)) return -1;
  int rc = read_meta(json, c, allow_shard, &rows, &embed_dim, allowed, &v, e);
  if (rc == 0) rc = read_features(npy, rows, embed_dim, c, e);
  if (rc == 0) rc = read_index(index, rows, c, e);
  if (rc == 0) rc = finish_load(c, index, allowed, e);
  if (rc == 0) rc = verify(json, index, npy, &v, c, e);
  cd_outdir_unlock(&lock);
  if (rc) {
    c->N = c->N ? c->N : rows; /* free the rows allocated so far */
    cd_feature_cache_free(c);
  }
  return rc;
}

int cd_feature_cache_load(const char *dir, cd_feature_cache *c, cd_error *e) { return load(dir, c, 0, e); }

int cd_feature_cache_load_shard(const char *dir, cd_feature_cache *c, cd_error *e) { return load(dir, c, 1, e); }

/* ---- writing -------------------------------------------------------------------------- */

int cd_feature_cache_write_index(const char *path, const cd_feature_cache *c, cd_error *e) {
  cd_atomic_file af;
  if (cd_atomic_open(&af, path, e)) return -1;
  fputs("id,filename,y,a,split\n", af.fp);
  for (int i = 0; i < c->N; i++) {
    fprintf(af.fp, "%d,", c->ids ? c->ids[i] : i);
    cd_csv_write_field(af.fp, c->filenames[i]);
    if (c->a[i] >= 0) fprintf(af.fp, ",%d,%d,%d\n", c->y[i], c->a[i], c->split[i]);
    else fprintf(af.fp, ",%d,,%d\n", c->y[i], c->split[i]);
  }
  return cd_atomic_commit(&af, e);
}

/* The minimal cache.json for caches made outside `embed` (tests, converted features). */
static char *default_meta(const cd_feature_cache *c, cd_error *e) {
  char *text = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&text, &len);
  if (!fp) return cd_fail(e, "out of memory"), NULL;
  cd_jw w;
  cd_cache_meta_begin(&w, fp, 1);
  cd_jw_br(&w);
  cd_jw_key(&w, "model");
  cd_jw_obj(&w);
  cd_jw_kstr(&w, "path", c->model_path);
  cd_jw_kstr(&w, "checksum", c->model_checksum);
  cd_jw_kint(&w, "embed_dim", c->D);
  cd_jw_end(&w);
  cd_jw_br(&w);
  cd_jw_key(&w, "dataset");
  cd_jw_obj(&w);
  cd_jw_kstr(&w, "name", c->dataset[0] ? c->dataset : "custom");
  cd_jw_key(&w, "classnames");
  cd_jw_strs(&w, (const char *const *)c->classnames, c->n_cls);
  cd_jw_key(&w, "attr_names");
  cd_jw_strs(&w, (const char *const *)c->attr_names, c->n_attr);
  cd_jw_end(&w);
  cd_jw_br(&w);
  cd_jw_kint(&w, "rows", c->N);
  cd_jw_key(&w, "skipped");
  cd_jw_arr(&w);
  cd_jw_end(&w);
  if (c->dtype == CD_F16) cd_jw_kstr(&w, "features_dtype", "float16");
  cd_jw_end(&w);
  fputc('\n', fp);
  fclose(fp);
  return text;
}

/* meta_json must describe c: same row count and class names, and be a complete cache. */
static int check_meta(const char *meta, const cd_feature_cache *c, cd_error *e) {
  cd_json_doc *doc = cd_json_parse(meta, strlen(meta), "cache.json text", e);
  if (!doc) return -1;
  const cd_json *r = cd_json_root(doc), *ds = cd_json_get(r, "dataset");
  const cd_json *names = ds ? cd_json_get(ds, "classnames") : NULL;
  int rc = 0;
  if (cd_json_get_int(r, "rows", -1) != c->N)
    rc = cd_fail(e, "cache.json text: \"rows\" is %lld, the cache has %d rows", (long long)cd_json_get_int(r, "rows", -1), c->N);
  else if (!names || names->type != CD_JSON_ARRAY || (int)names->n != c->n_cls)
    rc = cd_fail(e, "cache.json text: dataset.classnames must list the %d class names", c->n_cls);
  for (int k = 0; rc == 0 && k < c->n_cls; k++)
    if (names->items[k].type != CD_JSON_STRING || strcmp(names->items[k].str, c->classnames[k]))
      rc = cd_fail(e, "cache.json text: dataset.classnames[%d] differs from the cache's '%s'", k, c->classnames[k]);
  cd_dtype t = CD_F32;
  if (rc == 0 && features_dtype(r, "cache.json text", &t, e)) rc = -1;
  else if (rc == 0 && t != (c->dtype == CD_F16 ? CD_F16 : CD_F32))
    rc = cd_fail(e, "cache.json text: \"features_dtype\" says %s, the features are written as %s", dtype_word(t),
                 dtype_word(c->dtype == CD_F16 ? CD_F16 : CD_F32));
  cd_json_free(doc);
  return rc;
}

/* features.npy in the cache's dtype (float16: each value rounded to nearest even). */
/* features.npy, and the checksum of the values as stored into sum. */
static int write_features(const char *path, const cd_feature_cache *c, char sum[40], cd_error *e) {
  int64_t shape[2] = {c->N, c->D};
  size_t n = (size_t)c->N * (size_t)c->D;
  if (c->dtype != CD_F16) {
    cd_features_checksum(c->features, n * sizeof(float), sum);
    return cd_npy_save_f32(path, 2, shape, c->features, e);
  }
  uint16_t *half = cd_malloc(n * sizeof(uint16_t), e);
  if (!half) return -1;
  for (size_t i = 0; i < n; i++) half[i] = cd_f32_to_f16(c->features[i]);
  cd_features_checksum(half, n * sizeof(uint16_t), sum);
  int rc = cd_npy_save(path, CD_F16, 2, shape, half, e);
  free(half);
  return rc;
}

int cd_feature_cache_write(const char *dir, const cd_feature_cache *c, const char *meta_json, cd_error *e) {
  if (cd_feature_cache_check(c, dir, e)) return -1;
  if (c->D < 1 || !c->features) return cd_fail(e, "%s: no features to write", dir);
  char *own = meta_json ? NULL : default_meta(c, e);
  const char *meta = meta_json ? meta_json : own;
  if (!meta) return -1;
  char json[4200], npy[4200], index[4200], index_sum[40], features_sum[40];
  int rc = check_meta(meta, c, e);
  cd_records_checksum(c->N, c->ids, c->filenames, c->y, c->a, c->split, index_sum);
  char *vouching = NULL;
  if (rc == 0 && (cd_path_join(json, sizeof json, dir, "cache.json") || cd_path_join(npy, sizeof npy, dir, "features.npy") ||
                  cd_path_join(index, sizeof index, dir, "index.csv")))
    rc = cd_fail(e, "%s: path too long", dir);
  if (rc == 0) rc = cd_make_dirs(dir, e);
  if (rc == 0 && remove(json) != 0 && errno != ENOENT) rc = cd_fail(e, "%s: cannot remove the old file: %s", json, strerror(errno));
  if (rc == 0) rc = write_features(npy, c, features_sum, e);
  if (rc == 0) rc = cd_feature_cache_write_index(index, c, e);
  if (rc == 0 && !(vouching = cd_cache_meta_with_checksums(meta, index_sum, features_sum, e))) rc = -1;
  if (rc == 0) rc = cd_write_file_atomic(json, vouching, strlen(vouching), e);
  free(vouching);
  free(own);
  return rc;
}
