/* cache.json identity checks (see cache_meta.h). */
#include "data/datasets/cache_meta.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json_write.h"

/* Compact text of a JSON value (for messages), truncated to fit. */
static void json_text(const cd_json *v, char *out, size_t cap) {
  char *text = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&text, &len);
  if (!fp) {
    snprintf(out, cap, "?");
    return;
  }
  cd_jw w;
  cd_jw_init(&w, fp);
  if (v) cd_jw_value(&w, v);
  else fputs("(none)", fp);
  fclose(fp);
  snprintf(out, cap, "%s", text ? text : "?");
  if (text && strlen(text) >= cap && cap > 4) memcpy(out + cap - 4, "...", 4);
  free(text);
}

static const cd_json *at(const cd_json *root, const char *obj, const char *key) {
  const cd_json *o = obj ? cd_json_get(root, obj) : root;
  return o ? cd_json_get(o, key) : NULL;
}

/* Fields compared, in the order a message should report them. */
static const struct {
  const char *obj, *key, *what;
} FIELDS[] = {
    {"model", "checksum", "another model"},
    {"model", "layout", "another model layout"},
    {"model", "embed_dim", "another embedding width"},
    {"model", "image_size", "another image size"},
    {"model", "activation", "another activation"},
    {NULL, "preprocess", "other preprocessing"},
    {"dataset", "name", "another data set"},
    {"dataset", "options", "other data set options"},
    {NULL, "splits", "other splits"},
    {"dataset", "records_checksum", "another list of images (labels, splits or files differ)"},
    {"dataset", "classnames", "other class names"},
    {"dataset", "attr_names", "other attribute names"},
    {NULL, "features_dtype", "another feature dtype (--dtype)"},
};

int cd_cache_meta_differs(const cd_json *a, const cd_json *b, char *what, size_t cap) {
  for (size_t i = 0; i < sizeof FIELDS / sizeof *FIELDS; i++) {
    const cd_json *va = at(a, FIELDS[i].obj, FIELDS[i].key), *vb = at(b, FIELDS[i].obj, FIELDS[i].key);
    if (cd_json_equal(va, vb)) continue;
    char ta[600], tb[600];
    json_text(va, ta, sizeof ta);
    json_text(vb, tb, sizeof tb);
    if (!strcmp(FIELDS[i].key, "checksum"))
      snprintf(what, cap, "%s: %s (%s) vs %s (%s)", FIELDS[i].what, cd_json_get_str(cd_json_get(a, "model"), "path", "?"), ta,
               cd_json_get_str(cd_json_get(b, "model"), "path", "?"), tb);
    else snprintf(what, cap, "%s: %s vs %s", FIELDS[i].what, ta, tb);
    return -1;
  }
  return 0;
}

int cd_cache_meta_shard(const cd_json *root, const char *path, cd_cache_shard *s, cd_error *e) {
  const cd_json *sh = cd_json_get(root, "shard");
  int rows = (int)cd_json_get_int(root, "rows", -1);
  if (!sh) {
    int total = (int)cd_json_get_int(cd_json_get(root, "dataset"), "records", rows);
    *s = (cd_cache_shard){0, 1, total, 0, total};
    return 0;
  }
  if (cd_json_field_int(sh, "count", 1, INT32_MAX, &s->count, path, e) ||
      cd_json_field_int(sh, "index", 0, s->count - 1, &s->index, path, e) ||
      cd_json_field_int(sh, "total", 0, INT32_MAX, &s->total, path, e) ||
      cd_json_field_int(sh, "begin", 0, s->total, &s->begin, path, e) ||
      cd_json_field_int(sh, "end", s->begin, s->total, &s->end, path, e))
    return -1;
  return 0;
}

void cd_records_checksum(int n, const int32_t *ids, char *const *filenames, const int32_t *y, const int32_t *a,
                         const int32_t *split, char out[40]) {
  cd_xxh64_state st;
  cd_xxh64_init(&st, 0);
  for (int i = 0; i < n; i++) {
    char line[64];
    int k = snprintf(line, sizeof line, "%d\t", ids ? ids[i] : i);
    cd_xxh64_update(&st, line, (size_t)k);
    cd_xxh64_update(&st, filenames[i], strlen(filenames[i]));
    k = snprintf(line, sizeof line, "\t%d\t%d\t%d\n", y[i], a[i], split[i]);
    cd_xxh64_update(&st, line, (size_t)k);
  }
  snprintf(out, 40, "xxh64:%016llx", (unsigned long long)cd_xxh64_final(&st));
}

void cd_features_checksum_text(uint64_t h, char out[40]) { snprintf(out, 40, "xxh64:%016llx", (unsigned long long)h); }

void cd_features_checksum(const void *bytes, size_t nbytes, char out[40]) {
  cd_features_checksum_text(cd_xxh64(bytes, nbytes, 0), out);
}

void cd_cache_meta_begin(cd_jw *w, FILE *fp, int complete) {
  cd_jw_init(w, fp);
  w->indent = 1;
  cd_jw_obj(w);
  cd_jw_kint(w, "version", 1);
  cd_jw_kbool(w, "complete", complete);
}

char *cd_cache_meta_with_checksums(const char *meta, const char *index_sum, const char *features_sum, cd_error *e) {
  cd_json_doc *doc = cd_json_parse(meta, strlen(meta), "cache.json text", e);
  if (!doc) return NULL;
  const cd_json *r = cd_json_root(doc);
  if (r->type != CD_JSON_OBJECT) return cd_json_free(doc), cd_fail(e, "cache.json text: expected an object"), NULL;
  char *text = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&text, &len);
  if (!fp) return cd_json_free(doc), cd_fail(e, "out of memory"), NULL;
  /* one member per line after the first, indented by one space */
  cd_jw w;
  cd_jw_init(&w, fp);
  w.indent = 1;
  cd_jw_obj(&w);
  for (size_t i = 0; i < r->n; i++) {
    if (!strcmp(r->keys[i], "index_checksum") || !strcmp(r->keys[i], "features_checksum")) continue;
    cd_jw_key(&w, r->keys[i]);
    cd_jw_value(&w, &r->items[i]);
    cd_jw_br(&w);
  }
  cd_jw_kstr(&w, "index_checksum", index_sum);
  cd_jw_br(&w);
  cd_jw_kstr(&w, "features_checksum", features_sum);
  cd_jw_end(&w);
  fputc('\n', fp);
  fclose(fp);
  cd_json_free(doc);
  return text;
}
