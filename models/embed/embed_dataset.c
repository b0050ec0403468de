/* Data set -> feature cache (see embed_dataset.h). */
#include "models/embed/embed_dataset.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/json_write.h"
#include "core/npy.h"
#include "core/outdir_lock.h"
#include "data/datasets/cache_meta.h"
#include "data/datasets/feature_cache.h"

/* The CLIP normalisation data/image/preprocess.c applies (recorded, not used, here). */
static void write_preprocess(cd_jw *w, int size) {
  static const double mean[3] = {0.48145466, 0.4578275, 0.40821073}, std[3] = {0.26862954, 0.26130258, 0.27577711};
  cd_jw_obj(w);
  cd_jw_kstr(w, "resize", "bicubic (Pillow)");
  cd_jw_kstr(w, "crop", "center");
  cd_jw_kint(w, "size", size);
  cd_jw_kstr(w, "mode", "RGB");
  cd_jw_key(w, "mean");
  cd_jw_nums(w, mean, 3);
  cd_jw_key(w, "std");
  cd_jw_nums(w, std, 3);
  cd_jw_end(w);
}

void cd_model_checksum(const cd_clip *m, char out[80]) {
  snprintf(out, 80, "xxh64-16M:%016llx", (unsigned long long)cd_xxh64_chunked(m->st.file.data, m->st.file.size));
}

/* The selected records of d: their indices (= ids), absolute paths, and the checksum. */
typedef struct {
  int n;
  int32_t *ids, *y, *a, *split;
  char **files; /* relative, borrowed from d */
  char **paths; /* absolute, owned */
  char checksum[40];
} selection;

static void selection_free(selection *s) {
  for (int i = 0; s->paths && i < s->n; i++) free(s->paths[i]);
  free(s->paths);
  free(s->ids);
  free(s->y);
  free(s->a);
  free(s->split);
  free(s->files);
  memset(s, 0, sizeof *s);
}

static int select_records(const cd_dataset *d, const int want[3], selection *s, cd_error *e) {
  memset(s, 0, sizeof *s);
  size_t n = (size_t)d->n + 1;
  s->ids = cd_malloc(n * sizeof(int32_t), e), s->y = cd_malloc(n * sizeof(int32_t), e);
  s->a = cd_malloc(n * sizeof(int32_t), e), s->split = cd_malloc(n * sizeof(int32_t), e);
  s->files = cd_calloc(n, sizeof(char *), e), s->paths = cd_calloc(n, sizeof(char *), e);
  if (!s->ids || !s->y || !s->a || !s->split || !s->files || !s->paths) return selection_free(s), -1;
  for (int i = 0; i < d->n; i++) {
    if (!want[d->split[i]]) continue;
    const char *f = d->filenames[i];
    size_t len = strlen(d->root) + strlen(f) + 2;
    if (!(s->paths[s->n] = malloc(len))) return selection_free(s), cd_fail(e, "out of memory");
    if (f[0] == '/') snprintf(s->paths[s->n], len, "%s", f);
    else snprintf(s->paths[s->n], len, "%s/%s", d->root, f);
    s->ids[s->n] = i, s->y[s->n] = d->y[i], s->a[s->n] = d->a[i], s->split[s->n] = d->split[i];
    s->files[s->n++] = d->filenames[i];
  }
  if (!s->n) return selection_free(s), cd_fail(e, "%s: no images in the splits asked for", d->name);
  cd_records_checksum(s->n, s->ids, s->files, s->y, s->a, s->split, s->checksum);
  return 0;
}

/* ---- cache.json -------------------------------------------------------------------------- */

static void write_model(cd_jw *w, const cd_clip *m, const char *checksum) {
  cd_jw_obj(w);
  cd_jw_kstr(w, "path", m->path);
  cd_jw_kstr(w, "layout", cd_layout_name(m->layout));
  cd_jw_kint(w, "embed_dim", m->embed_dim);
  cd_jw_kint(w, "image_size", m->vision.image_size);
  cd_jw_kint(w, "patch_size", m->vision.patch_size);
  cd_jw_kint(w, "width", m->vision.tf.width);
  cd_jw_kint(w, "layers", m->vision.tf.layers);
  cd_jw_kint(w, "heads", m->vision.tf.heads);
  cd_jw_kstr(w, "activation", m->vision.tf.act == CD_ACT_GELU ? "gelu" : "quick_gelu");
  cd_jw_kstr(w, "dtype", m->stored_dtype);
  cd_jw_kstr(w, "checksum", checksum);
  cd_jw_end(w);
}

static void write_dataset(cd_jw *w, const cd_dataset *d, const selection *s) {
  cd_jw_obj(w);
  cd_jw_kstr(w, "name", d->name);
  cd_jw_kstr(w, "root", d->root);
  cd_jw_kstr(w, "metadata", d->metadata);
  cd_jw_key(w, "options");
  cd_jw_raw(w, d->options_json ? d->options_json : "{}");
  cd_jw_key(w, "classnames");
  cd_jw_strs(w, (const char *const *)d->classnames, d->n_cls);
  cd_jw_key(w, "attr_names");
  cd_jw_strs(w, (const char *const *)d->attr_names, d->n_attr);
  cd_jw_kbool(w, "official_split", d->official_split);
  cd_jw_kint(w, "records", s->n);
  cd_jw_kstr(w, "records_checksum", s->checksum);
  cd_jw_end(w);
}

typedef struct {
  const cd_clip *m;
  const cd_dataset *d;
  const selection *s;
  const cd_image_list *l;
  const int *want;
  cd_dtype dtype;
  char checksum[80];
  char sizes[40], mtimes[40]; /* checksums of the slice's image file sizes and modification times */
} job;

/* Checksums of the size and of the modification time (ns) of every image of the slice, so a
 * rerun notices images replaced since the cache was made (a missing file counts as -1). Each
 * is a sum of per-image hashes of (position, value), so the shards' sums add up to the whole's
 * (cd_feature_cache_merge adds them). */
static void file_stats(const job *j, char sizes[40], char mtimes[40]) {
  uint64_t s = 0, t = 0;
  for (int i = j->l->begin; i < j->l->end; i++) {
    struct stat st;
    long long size = -1, mtime = -1;
    if (stat(j->s->paths[i], &st) == 0) size = (long long)st.st_size, mtime = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    char line[64];
    int k = snprintf(line, sizeof line, "%d\t%lld", i, size);
    s += cd_xxh64(line, (size_t)k, 0);
    k = snprintf(line, sizeof line, "%d\t%lld", i, mtime);
    t += cd_xxh64(line, (size_t)k, 0);
  }
  snprintf(sizes, 40, "xxh64sum:%016llx", (unsigned long long)s);
  snprintf(mtimes, 40, "xxh64sum:%016llx", (unsigned long long)t);
}

/* cache.json text; res NULL = the placeholder of a run in progress. */
static char *meta_text(const job *j, const cd_embed_result *res, cd_error *e) {
  char *text = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&text, &len);
  if (!fp) return cd_fail(e, "out of memory"), NULL;
  cd_jw w;
  cd_cache_meta_begin(&w, fp, res != NULL);
  cd_jw_br(&w);
  cd_jw_key(&w, "model");
  write_model(&w, j->m, j->checksum);
  cd_jw_br(&w);
  cd_jw_key(&w, "preprocess");
  write_preprocess(&w, j->m->vision.image_size);
  cd_jw_br(&w);
  cd_jw_key(&w, "dataset");
  write_dataset(&w, j->d, j->s);
  cd_jw_br(&w);
  cd_jw_key(&w, "splits");
  cd_jw_arr(&w);
  for (int k = 0; k < 3; k++)
    if (j->want[k]) cd_jw_str(&w, cd_split_name(k));
  cd_jw_end(&w);
  if (j->l->shard_count > 1) {
    cd_jw_br(&w);
    cd_jw_key(&w, "shard");
    cd_jw_obj(&w);
    cd_jw_kint(&w, "index", j->l->shard_index);
    cd_jw_kint(&w, "count", j->l->shard_count);
    cd_jw_kint(&w, "total", j->l->total);
    cd_jw_kint(&w, "begin", j->l->begin);
    cd_jw_kint(&w, "end", j->l->end);
    cd_jw_end(&w);
  }
  if (j->dtype == CD_F16) cd_jw_br(&w), cd_jw_kstr(&w, "features_dtype", "float16");
  if (res) {
    cd_jw_br(&w);
    cd_jw_key(&w, "files");
    cd_jw_obj(&w);
    cd_jw_kstr(&w, "sizes", j->sizes);
    cd_jw_kstr(&w, "mtimes", j->mtimes);
    cd_jw_end(&w);
  }
  cd_jw_br(&w);
  cd_jw_kint(&w, "rows", res ? res->rows : 0);
  cd_jw_br(&w);
  cd_jw_key(&w, "skipped");
  cd_jw_arr(&w);
  for (int k = 0; res && k < res->n; k++) {
    if (res->ok[k]) continue;
    const char *why = res->reasons[k] ? res->reasons[k] : "unreadable", *path = j->s->paths[j->l->begin + k];
    size_t pl = strlen(path);
    if (!strncmp(why, path, pl) && !strncmp(why + pl, ": ", 2)) why += pl + 2; /* the file is named already */
    cd_jw_br(&w);
    cd_jw_obj(&w);
    cd_jw_kstr(&w, "filename", j->s->files[j->l->begin + k]);
    cd_jw_kstr(&w, "reason", why);
    cd_jw_end(&w);
  }
  cd_jw_end(&w);
  cd_jw_end(&w);
  fputc('\n', fp);
  fclose(fp);
  return text;
}

/* ---- an existing cache ------------------------------------------------------------------- */

static int shards_equal(const cd_json *a, const cd_json *b) { return cd_json_equal(cd_json_get(a, "shard"), cd_json_get(b, "shard")); }

/* 1: a matching complete cache is there; 0: nothing there, or a matching unfinished one;
 * -1: something else is there. */
static int check_existing(const char *dir, const char *mine, cd_error *e) {
  char json[4200], npy[4200], what[1400];
  snprintf(json, sizeof json, "%s/cache.json", dir);
  snprintf(npy, sizeof npy, "%s/features.npy", dir);
  if (!cd_file_exists(json)) {
    if (cd_file_exists(npy))
      return cd_fail(e, "%s: holds features.npy but no cache.json, so what made it is unknown; use another --out or delete it", dir);
    return 0;
  }
  cd_json_doc *old = cd_json_parse_file(json, (size_t)64 << 20, e);
  if (!old) return cd_fail_prefix(e, "an existing cache; use another --out or delete it");
  cd_json_doc *now = cd_json_parse(mine, strlen(mine), "cache.json", e);
  int rc = now ? 0 : -1;
  const cd_json *a = cd_json_root(old), *b = cd_json_root(now);
  if (rc == 0 && cd_cache_meta_differs(a, b, what, sizeof what))
    rc = cd_fail(e, "%s: was made with %s; use another --out, or delete it to embed again", json, what);
  else if (rc == 0 && !shards_equal(a, b))
    rc = cd_fail(e, "%s: holds another shard of the data set (%s); use one --out per shard", json,
                 cd_json_get(a, "shard") ? "its shard entry differs" : "it is the whole set");
  else if (rc == 0) {
    const cd_json *c = cd_json_get(a, "complete");
    rc = c && c->type == CD_JSON_BOOL && c->boolean ? 1 : 0;
  }
  cd_json_free(old);
  cd_json_free(now);
  return rc;
}

/* ---- writing the cache ------------------------------------------------------------------- */

/* meta with the checksums of the rows (c) and of the values now in dir/features.npy. */
static char *vouch(const char *dir, const cd_feature_cache *c, const char *meta, cd_error *e) {
  char path[4200], index_sum[40], features_sum[40];
  cd_npy_map m;
  snprintf(path, sizeof path, "%s/features.npy", dir);
  if (cd_npy_map_open(path, &m, e)) return NULL;
  cd_features_checksum(m.a.data, m.a.numel * cd_dtype_size(m.a.dtype), features_sum);
  cd_npy_map_close(&m);
  cd_records_checksum(c->N, c->ids, c->filenames, c->y, c->a, c->split, index_sum);
  return cd_cache_meta_with_checksums(meta, index_sum, features_sum, e);
}

/* index.csv, features.npy (the rows file renamed into place, which drops the checkpoint), then
 * cache.json saying "complete": true -- last, so that a cache.json never vouches for files not
 * yet there. index.csv comes first so that a failure there (a full disk) keeps the checkpoint. */
static int write_cache(const char *dir, const job *j, cd_embed_result *res, cd_embed_dataset_result *r, cd_error *e) {
  const selection *s = j->s;
  cd_feature_cache c = {0};
  c.N = res->rows, c.D = res->D;
  c.n_cls = j->d->n_cls, c.n_attr = j->d->n_attr, c.classnames = j->d->classnames, c.attr_names = j->d->attr_names;
  size_t n = (size_t)res->rows + 1;
  c.y = cd_malloc(n * sizeof(int32_t), e), c.a = cd_malloc(n * sizeof(int32_t), e);
  c.split = cd_malloc(n * sizeof(int32_t), e), c.ids = cd_malloc(n * sizeof(int32_t), e);
  c.filenames = cd_malloc(n * sizeof(char *), e);
  int rc = c.y && c.a && c.split && c.ids && c.filenames ? 0 : -1, row = 0;
  for (int k = 0; rc == 0 && k < res->n; k++) {
    if (!res->ok[k]) continue;
    int i = j->l->begin + k;
    c.y[row] = s->y[i], c.a[row] = s->a[i], c.split[row] = s->split[i], c.ids[row] = s->ids[i];
    c.filenames[row++] = s->files[i];
  }
  file_stats(j, ((job *)j)->sizes, ((job *)j)->mtimes);
  char *meta = rc == 0 ? meta_text(j, res, e) : NULL, path[4200];
  if (rc == 0 && !meta) rc = -1;
  if (rc == 0 && res->rows == 0) rc = cd_fail(e, "%s: every image of this shard was unreadable; nothing to write", dir);
  if (rc == 0) rc = cd_feature_cache_check(&c, dir, e);
  if (rc == 0) snprintf(path, sizeof path, "%s/index.csv", dir), rc = cd_feature_cache_write_index(path, &c, e);
  if (rc == 0) snprintf(path, sizeof path, "%s/features.npy", dir), rc = cd_embed_result_commit(res, path, e);
  char *vouching = rc == 0 ? vouch(dir, &c, meta, e) : NULL;
  if (rc == 0 && !vouching) rc = -1;
  if (rc == 0) snprintf(path, sizeof path, "%s/cache.json", dir), rc = cd_write_file_atomic(path, vouching, strlen(vouching), e);
  free(vouching);
  r->rows = res->rows;
  r->skipped = res->n - res->rows;
  free(meta);
  free(c.y), free(c.a), free(c.split), free(c.ids), free(c.filenames);
  return rc;
}

/* A matching complete cache: 1 when it loads (every checksum verified) and its images are the
 * ones embedded (same sizes; same modification times when the data set is where it was);
 * else 0 with the reason. A cache from before the checksums gets them (r->upgraded). */
static int intact(const char *dir, job *j, cd_embed_dataset_result *r, cd_error *e) {
  cd_feature_cache c;
  cd_error why;
  char json[4200];
  if (cd_feature_cache_load_shard(dir, &c, &why)) {
    snprintf(r->repair_reason, sizeof r->repair_reason, "the cache is damaged (%s)", why.msg);
    return 0;
  }
  snprintf(json, sizeof json, "%s/cache.json", dir);
  cd_json_doc *doc = cd_json_parse_file(json, (size_t)64 << 20, e);
  int ok = doc ? 1 : -1;
  const cd_json *root = doc ? cd_json_root(doc) : NULL, *files = doc ? cd_json_get(root, "files") : NULL;
  if (ok == 1 && files && files->type == CD_JSON_OBJECT) {
    file_stats(j, j->sizes, j->mtimes);
    const char *root_then = cd_json_get_str(cd_json_get(root, "dataset"), "root", "");
    if (strcmp(cd_json_get_str(files, "sizes", ""), j->sizes))
      ok = 0, snprintf(r->repair_reason, sizeof r->repair_reason, "image files under %.900s changed since it was made (their sizes differ)", j->d->root);
    else if (!strcmp(root_then, j->d->root) && strcmp(cd_json_get_str(files, "mtimes", ""), j->mtimes))
      ok = 0, snprintf(r->repair_reason, sizeof r->repair_reason,
                       "image files under %.900s were replaced since it was made (their modification times differ)", j->d->root);
  }
  if (ok == 1 && c.unverified) { /* a cache from before the checksums: record them now */
    char *text = NULL;
    uint8_t *old = NULL;
    size_t n;
    if (cd_file_read(json, (size_t)64 << 20, &old, &n, e) ||
        !(text = cd_cache_meta_with_checksums((const char *)old, c.index_checksum, c.features_checksum, e)) ||
        cd_write_file_atomic(json, text, strlen(text), e))
      ok = -1;
    else r->upgraded = 1;
    free(old), free(text);
  }
  cd_json_free(doc);
  cd_feature_cache_free(&c);
  return ok;
}

static int run(const char *dir, job *j, const cd_embed_dataset_opts *o, cd_embed_dataset_result *r, cd_error *e) {
  char *placeholder = meta_text(j, NULL, e), json[4200], prefix[4200];
  if (!placeholder) return -1;
  int rc = check_existing(dir, placeholder, e);
  if (rc == 1 && (rc = intact(dir, j, r, e)) == 1) {
    free(placeholder);
    r->reused = 1;
    return 0;
  }
  if (rc == 0 && r->repair_reason[0]) {
    r->repaired = 1;
    if (o->embed.log) fprintf(o->embed.log, "clipdebias: %s: %s; embedding it again\n", dir, r->repair_reason);
  }
  snprintf(json, sizeof json, "%s/cache.json", dir);
  snprintf(prefix, sizeof prefix, "%s/features", dir);
  if (rc == 0) rc = cd_make_dirs(dir, e);
  if (rc == 0) rc = cd_write_file_atomic(json, placeholder, strlen(placeholder), e);
  free(placeholder);
  if (rc) return -1;
  cd_embed_opts eo = o->embed;
  eo.partial_prefix = prefix;
  cd_embed_result res;
  if (cd_embed_image_list(j->m, (cd_image_list *)j->l, &eo, &res, e)) return -1;
  r->resumed_from = res.resumed_from;
  rc = write_cache(dir, j, &res, r, e);
  cd_embed_result_free(&res);
  return rc;
}

int cd_embed_dataset(const cd_clip *m, const cd_dataset *d, const char *out_dir, const cd_embed_dataset_opts *o,
                     cd_embed_dataset_result *r, cd_error *e) {
  memset(r, 0, sizeof *r);
  int want[3] = {o->splits[0], o->splits[1], o->splits[2]};
  if (!want[0] && !want[1] && !want[2]) want[0] = want[1] = want[2] = 1;
  selection s;
  if (select_records(d, want, &s, e)) return -1;
  char name[200];
  snprintf(name, sizeof name, "dataset %s %s", d->name, s.checksum);
  cd_image_list l = {(const char *const *)s.paths, s.n, name, o->shard_index, o->shard_count, 0, 0, 0};
  job j = {m, d, &s, &l, want, o->embed.dtype == CD_F16 ? CD_F16 : CD_F32, "", "", ""};
  int rc = cd_image_list_slice(&l, e);
  if (rc == 0 && l.end == l.begin)
    rc = cd_fail(e, "shard %d/%d of %s holds no images (%d selected); use fewer shards", l.shard_index, l.shard_count, d->name, s.n);
  if (rc == 0) {
    cd_model_checksum(m, j.checksum);
    r->total = s.n, r->begin = l.begin, r->end = l.end;
    cd_outdir_lock lock;
    rc = cd_outdir_lock_write(&lock, out_dir, "embed", e);
    char marker[64];
    const char *kind = rc == 0 ? cd_outdir_kind(out_dir, marker) : NULL;
    if (kind && strcmp(kind, "a feature cache"))
      rc = cd_fail(e, "%s: is %s (%s is there); embed writes a feature cache: give it a folder of its own", out_dir, kind, marker);
    if (rc == 0) rc = run(out_dir, &j, o, r, e);
    cd_outdir_unlock(&lock);
  }
  selection_free(&s);
  return rc;
}

int cd_cache_model_check(const cd_feature_cache *c, const char *cache_dir, const cd_clip *m, const char *sum,
                         cd_error *e) {
  if (c->model_checksum[0] && strcmp(sum, c->model_checksum))
    return cd_fail(e, "%s was embedded with another model (%s, %s); --model %s is %s: its text tower would not match "
                      "these image features", cache_dir, c->model_path, c->model_checksum, m->path, sum);
  if (m->embed_dim != c->D)
    return cd_fail(e, "%s: features are %d wide, the model %s embeds to %d; the cache was made with another model (%s)",
                   cache_dir, c->D, m->path, m->embed_dim, c->model_path);
  return 0;
}
