/* Joining the caches of `embed --shard i/n` runs (see feature_cache.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/json_write.h"
#include "core/outdir_lock.h"
#include "data/datasets/cache_meta.h"
#include "data/datasets/feature_cache.h"

typedef struct {
  const char *dir;
  char json_path[4200];
  cd_json_doc *doc;
  cd_cache_shard sh;
  cd_feature_cache c;
} part;

static int load_part(part *p, cd_error *e) {
  snprintf(p->json_path, sizeof p->json_path, "%s/cache.json", p->dir);
  if (cd_feature_cache_load_shard(p->dir, &p->c, e)) return -1;
  if (!(p->doc = cd_json_parse_file(p->json_path, (size_t)64 << 20, e))) return -1;
  return cd_cache_meta_shard(cd_json_root(p->doc), p->json_path, &p->sh, e);
}

static int by_index(const void *a, const void *b) { return ((const part *)a)->sh.index - ((const part *)b)->sh.index; }

/* Same embedding, complete set, each shard once, slices that tile [0, total). */
static int check_parts(part *p, int n, cd_error *e) {
  char what[1400];
  for (int k = 0; k < n; k++) {
    if (p[k].sh.count != n)
      return cd_fail(e, "%s: is shard %d of %d, but %d caches were given", p[k].dir, p[k].sh.index + 1, p[k].sh.count, n);
    if (k && cd_cache_meta_differs(cd_json_root(p[0].doc), cd_json_root(p[k].doc), what, sizeof what))
      return cd_fail(e, "%s and %s do not belong together: %s", p[0].dir, p[k].dir, what);
    if (p[k].sh.total != p[0].sh.total)
      return cd_fail(e, "%s: comes from a listing of %d images, %s from %d", p[k].dir, p[k].sh.total, p[0].dir, p[0].sh.total);
    for (int j = 0; j < k; j++)
      if (p[j].sh.index == p[k].sh.index) return cd_fail(e, "%s and %s are both shard %d of %d", p[j].dir, p[k].dir, p[k].sh.index + 1, n);
  }
  qsort(p, (size_t)n, sizeof *p, by_index);
  for (int k = 0; k < n; k++) {
    int want_begin = k ? p[k - 1].sh.end : 0;
    if (p[k].sh.begin != want_begin || (k == n - 1 && p[k].sh.end != p[k].sh.total))
      return cd_fail(e, "%s: covers images [%d, %d) of %d, expected to start at %d", p[k].dir, p[k].sh.begin, p[k].sh.end,
                     p[k].sh.total, want_begin);
  }
  return 0;
}

/* "files": the shards' image size and time sums added up (models/embed/embed_dataset.c);
 * null when a shard lacks them. */
static void write_files(cd_jw *w, const part *p, int n) {
  unsigned long long sum[2] = {0, 0};
  static const char *const keys[2] = {"sizes", "mtimes"};
  for (int k = 0; k < n; k++)
    for (int q = 0; q < 2; q++) {
      const char *v = cd_json_get_str(cd_json_get(cd_json_root(p[k].doc), "files"), keys[q], "");
      unsigned long long x;
      if (sscanf(v, "xxh64sum:%16llx", &x) != 1) {
        cd_jw_null(w);
        return;
      }
      sum[q] += x;
    }
  cd_jw_obj(w);
  for (int q = 0; q < 2; q++) {
    char text[40];
    snprintf(text, sizeof text, "xxh64sum:%016llx", sum[q]);
    cd_jw_kstr(w, keys[q], text);
  }
  cd_jw_end(w);
}

/* The first shard's cache.json without its shard entry, with the joined rows and skipped. */
static char *merged_meta(const part *p, int n, int rows, cd_error *e) {
  char *text = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&text, &len);
  if (!fp) return cd_fail(e, "out of memory"), NULL;
  const cd_json *r = cd_json_root(p[0].doc);
  cd_jw w;
  cd_jw_init(&w, fp);
  w.indent = 1; /* a member per line after the first, as embed writes it */
  cd_jw_obj(&w);
  for (size_t i = 0; i < r->n; i++) {
    const char *key = r->keys[i];
    if (!strcmp(key, "shard")) continue;
    cd_jw_key(&w, key);
    if (!strcmp(key, "files")) write_files(&w, p, n);
    else if (!strcmp(key, "rows")) cd_jw_int(&w, rows);
    else if (!strcmp(key, "complete")) cd_jw_bool(&w, 1);
    else if (strcmp(key, "skipped")) cd_jw_value(&w, &r->items[i]);
    else {
      cd_jw_arr(&w);
      for (int k = 0; k < n; k++) {
        const cd_json *sk = cd_json_get(cd_json_root(p[k].doc), "skipped");
        for (size_t j = 0; sk && sk->type == CD_JSON_ARRAY && j < sk->n; j++) cd_jw_value(&w, &sk->items[j]);
      }
      cd_jw_end(&w);
    }
    cd_jw_br(&w);
  }
  cd_jw_end(&w);
  fputc('\n', fp);
  fclose(fp);
  return text;
}

/* Concatenation of the parts' rows (arrays owned by m, strings borrowed from the parts). */
static int concat(const part *p, int n, cd_feature_cache *m, cd_error *e) {
  *m = p[0].c;
  m->features = NULL, m->y = m->a = m->split = m->ids = NULL, m->filenames = NULL; /* owned below */
  memset(&m->map, 0, sizeof m->map); /* the parts' maps stay theirs; m->dtype is theirs too */
  long long N = 0;
  for (int k = 0; k < n; k++) {
    if (p[k].c.D != p[0].c.D) return cd_fail(e, "%s: features have %d values per row, %s %d", p[k].dir, p[k].c.D, p[0].dir, p[0].c.D);
    N += p[k].c.N;
  }
  if (N > INT_MAX) return cd_fail(e, "merged cache would have %lld rows", N);
  m->N = (int)N;
  size_t rows = (size_t)N + 1, D = (size_t)m->D;
  m->features = cd_malloc(rows * D * sizeof(float), e);
  m->y = cd_malloc(rows * sizeof(int32_t), e), m->a = cd_malloc(rows * sizeof(int32_t), e);
  m->split = cd_malloc(rows * sizeof(int32_t), e), m->ids = cd_malloc(rows * sizeof(int32_t), e);
  m->filenames = cd_malloc(rows * sizeof(char *), e);
  if (!m->features || !m->y || !m->a || !m->split || !m->ids || !m->filenames) return -1;
  size_t at = 0;
  for (int k = 0; k < n; k++) {
    const cd_feature_cache *c = &p[k].c;
    cd_feature_cache_rows(c, 0, c->N, m->features + at * D);
    memcpy(m->y + at, c->y, (size_t)c->N * sizeof(int32_t));
    memcpy(m->a + at, c->a, (size_t)c->N * sizeof(int32_t));
    memcpy(m->split + at, c->split, (size_t)c->N * sizeof(int32_t));
    memcpy(m->ids + at, c->ids, (size_t)c->N * sizeof(int32_t));
    memcpy(m->filenames + at, c->filenames, (size_t)c->N * sizeof(char *));
    at += (size_t)c->N;
  }
  /* Attribute names: a shard whose rows all lack a has n_attr 0; take them from any part. */
  for (int k = 0; k < n && !m->n_attr; k++) m->n_attr = p[k].c.n_attr, m->attr_names = p[k].c.attr_names;
  return 0;
}

/* The joined cache goes into a new (or empty) folder: never over an existing cache, least of
 * all over one of its own shards. */
static int check_out(const char *out_dir, const char *const *dirs, int n, cd_error *e) {
  char out[PATH_MAX], in[PATH_MAX], marker[64];
  if (!realpath(out_dir, out)) return cd_fail(e, "%s: cannot resolve the path", out_dir);
  for (int k = 0; k < n; k++)
    if (realpath(dirs[k], in) && !strcmp(in, out))
      return cd_fail(e, "merge: --out %s is one of the shards being joined; give the joined cache a new folder", out_dir);
  const char *kind = cd_outdir_kind(out_dir, marker);
  if (kind)
    return cd_fail(e, "%s: is %s already (%s is there); merge writes a new cache: give it a new folder, or delete that one first",
                   out_dir, kind, marker);
  return 0;
}

int cd_feature_cache_merge(const char *out_dir, const char *const *dirs, int n, cd_error *e) {
  part *p = cd_calloc((size_t)n, sizeof(part), e);
  if (!p) return -1;
  int rc = 0;
  for (int k = 0; k < n && rc == 0; k++) {
    p[k].dir = dirs[k];
    rc = load_part(&p[k], e);
  }
  if (rc == 0) rc = check_parts(p, n, e);
  cd_feature_cache m = {0};
  char *meta = NULL;
  if (rc == 0) rc = concat(p, n, &m, e);
  if (rc == 0 && !(meta = merged_meta(p, n, m.N, e))) rc = -1;
  cd_outdir_lock lock = {0};
  if (rc == 0) rc = cd_outdir_lock_write(&lock, out_dir, "merge", e);
  if (rc == 0) rc = check_out(out_dir, dirs, n, e);
  if (rc == 0) rc = cd_feature_cache_write(out_dir, &m, meta, e);
  cd_outdir_unlock(&lock);
  free(meta);
  free(m.features), free(m.y), free(m.a), free(m.split), free(m.ids), free(m.filenames);
  for (int k = 0; k < n; k++) {
    cd_feature_cache_free(&p[k].c);
    cd_json_free(p[k].doc);
  }
  free(p);
  return rc;
}
