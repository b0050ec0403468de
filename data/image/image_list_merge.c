/* Joining the outputs of `embed-image --shard i/n` / `preprocess --shard i/n` back into one
 * array in list order: same list length, same shard count, every index exactly once, same
 * model and trailing shape. */
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/json_write.h"
#include "core/npy.h"
#include "data/image/image_list.h"

typedef struct {
  const char *npy;
  cd_json_doc *doc;
  const cd_json *root;
  int index, count, total, rows;
  cd_array a;
} shard;

static int load_shard(shard *s, cd_error *e) {
  char path[4200];
  snprintf(path, sizeof path, "%s.json", s->npy);
  if (!(s->doc = cd_json_parse_file(path, (size_t)1 << 30, e))) return -1;
  s->root = cd_json_root(s->doc);
  const cd_json *sh = cd_json_get(s->root, "shard");
  if (!sh || sh->type != CD_JSON_ARRAY || sh->n != 2) return cd_fail(e, "%s: no \"shard\": [i, n] entry", path);
  s->index = (int)sh->items[0].integer;
  s->count = (int)sh->items[1].integer;
  s->total = (int)cd_json_get_int(s->root, "total", -1);
  s->rows = (int)cd_json_get_int(s->root, "rows", -1);
  if (cd_npy_load(s->npy, &s->a, e)) return -1;
  if (s->a.dtype != CD_F32 || s->a.ndim < 1 || s->a.shape[0] != s->rows)
    return cd_fail(e, "%s: expected float32 with %d rows as its .json says", s->npy, s->rows);
  return 0;
}

static int check_set(shard *s, int n, cd_error *e) {
  for (int k = 0; k < n; k++) {
    if (s[k].count != n) return cd_fail(e, "%s: is shard %d/%d, but %d shards were given", s[k].npy, s[k].index, s[k].count, n);
    if (s[k].total != s[0].total) return cd_fail(e, "%s: comes from a list of %d files, %s from %d", s[k].npy, s[k].total, s[0].npy, s[0].total);
    if (strcmp(cd_json_get_str(s[k].root, "model", ""), cd_json_get_str(s[0].root, "model", "")) != 0)
      return cd_fail(e, "%s: was made with a different model than %s", s[k].npy, s[0].npy);
    if (s[k].a.ndim != s[0].a.ndim || memcmp(s[k].a.shape + 1, s[0].a.shape + 1, sizeof(int64_t) * (size_t)(s[0].a.ndim - 1)))
      return cd_fail(e, "%s: row shape differs from %s", s[k].npy, s[0].npy);
    for (int j = 0; j < k; j++)
      if (s[j].index == s[k].index) return cd_fail(e, "%s and %s are both shard %d", s[j].npy, s[k].npy, s[k].index);
  }
  return 0;
}

static int by_index(const void *a, const void *b) { return ((const shard *)a)->index - ((const shard *)b)->index; }

static void write_paths(cd_jw *w, const shard *s, int n, const char *key) {
  cd_jw_key(w, key);
  cd_jw_arr_block(w);
  for (int k = 0; k < n; k++) {
    const cd_json *arr = cd_json_get(s[k].root, key);
    for (size_t i = 0; arr && arr->type == CD_JSON_ARRAY && i < arr->n; i++)
      cd_jw_str(w, arr->items[i].str ? arr->items[i].str : "");
  }
  cd_jw_end(w);
}

static int write_merged(const char *out, shard *s, int n, cd_error *e) {
  size_t row_floats = 1, rows = 0;
  for (int d = 1; d < s[0].a.ndim; d++) row_floats *= (size_t)s[0].a.shape[d];
  for (int k = 0; k < n; k++) rows += (size_t)s[k].rows;
  float *all = cd_malloc(sizeof(float) * (rows * row_floats + 1), e);
  if (!all) return -1;
  size_t at = 0;
  for (int k = 0; k < n; k++) {
    memcpy(all + at, s[k].a.data, sizeof(float) * (size_t)s[k].rows * row_floats);
    at += (size_t)s[k].rows * row_floats;
  }
  int64_t shape[8];
  memcpy(shape, s[0].a.shape, sizeof shape);
  shape[0] = (int64_t)rows;
  int rc = cd_npy_save(out, CD_F32, s[0].a.ndim, shape, all, e);
  free(all);
  if (rc) return -1;
  char path[4200];
  snprintf(path, sizeof path, "%s.json", out);
  cd_atomic_file af;
  cd_jw w;
  if (cd_jw_open(&w, &af, path, e)) return -1;
  cd_jw_obj_block(&w);
  cd_jw_kstr(&w, "output", out);
  cd_jw_kstr(&w, "model", cd_json_get_str(s[0].root, "model", ""));
  cd_jw_kint(&w, "image_size", (int)cd_json_get_int(s[0].root, "image_size", 0));
  cd_jw_kstr(&w, "list", cd_json_get_str(s[0].root, "list", ""));
  cd_jw_kint(&w, "total", s[0].total);
  cd_jw_key(&w, "shard");
  cd_jw_ints(&w, (const int64_t[]){0, 1}, 2);
  cd_jw_kint(&w, "begin", 0);
  cd_jw_kint(&w, "end", s[0].total);
  cd_jw_kint(&w, "rows", (int64_t)rows);
  write_paths(&w, s, n, "paths");
  write_paths(&w, s, n, "skipped");
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

int cd_image_list_merge(const char *out, const char *const *shards, int n, cd_error *e) {
  shard *s = cd_calloc((size_t)n, sizeof(shard), e);
  if (!s) return -1;
  int rc = 0;
  for (int k = 0; k < n; k++) s[k].npy = shards[k];
  for (int k = 0; k < n && rc == 0; k++) rc = load_shard(&s[k], e);
  if (rc == 0) rc = check_set(s, n, e);
  if (rc == 0) {
    qsort(s, (size_t)n, sizeof *s, by_index);
    rc = write_merged(out, s, n, e);
  }
  for (int k = 0; k < n; k++) {
    cd_json_free(s[k].doc);
    cd_array_free(&s[k].a);
  }
  free(s);
  return rc;
}
