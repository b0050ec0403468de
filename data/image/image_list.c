/* Image lists worked through in batches: slicing, decoding with skip/stop, sidecars and
 * progress checkpoints (see image_list.h). */
#include "data/image/image_list.h"

#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/json_write.h"
#include "core/progress.h"
#include "data/image/image_batch.h"

int cd_image_list_slice(cd_image_list *l, cd_error *e) {
  if (l->total <= 0) return cd_fail(e, "%s: no images to work on", l->name && l->name[0] ? l->name : "the list");
  if (l->shard_count < 1) l->shard_count = 1;
  if (l->shard_index < 0 || l->shard_index >= l->shard_count)
    return cd_fail(e, "shard %d/%d: expected i/n with 0 <= i < n", l->shard_index, l->shard_count);
  /* Contiguous slices: shard k covers [k*N/n, (k+1)*N/n), so merging is concatenation. */
  l->begin = (int)((long long)l->total * l->shard_index / l->shard_count);
  l->end = (int)((long long)l->total * (l->shard_index + 1) / l->shard_count);
  l->resume_at = 0;
  return 0;
}

/* Moves the good images of a batch to the front of px, in order. Returns their count. */
static int compact_ok(float *px, size_t img_floats, const cd_image_status *st, int n) {
  int k = 0;
  for (int j = 0; j < n; j++) {
    if (!st[j].ok) continue;
    if (k != j) memcpy(px + (size_t)k * img_floats, px + (size_t)j * img_floats, img_floats * sizeof(float));
    k++;
  }
  return k;
}

/* Records the batch's results; -1 at the first failure unless skipping. */
static int note_batch(const cd_image_list *l, const cd_image_run_opts *o, const cd_progress *prog, const cd_image_status *st,
                      int start, int n, unsigned char *ok, char **reasons, int *skipped, cd_error *e) {
  for (int j = 0; j < n; j++) {
    ok[start + j] = (unsigned char)st[j].ok;
    if (st[j].ok) continue;
    if (!o->skip_bad) return cd_fail(e, "%s (use --skip-bad to skip unreadable images)", st[j].msg);
    if (reasons) reasons[start + j] = strdup(st[j].msg);
    if (o->log) fprintf(o->log, "%sskipped: %s\n", prog->enabled ? "\r\033[K" : "", st[j].msg);
    (*skipped)++;
  }
  (void)l;
  return 0;
}

int cd_image_list_run(const cd_image_list *l, const cd_image_run_opts *o, unsigned char *ok, char **reasons,
                      cd_image_batch_fn fn, void *ctx, cd_error *e) {
  int n_all = l->end - l->begin, batch = o->batch > 0 ? o->batch : 32;
  size_t img_floats = (size_t)3 * (size_t)o->S * (size_t)o->S;
  float *px = cd_malloc(sizeof(float) * img_floats * (size_t)batch, e);
  cd_image_status *st = px ? cd_malloc(sizeof(cd_image_status) * (size_t)batch, e) : NULL;
  if (!px || !st) return free(px), -1;
  cd_progress prog;
  cd_progress_start(&prog, o->label ? o->label : "images", "img", (size_t)(n_all - l->resume_at));
  int rc = 0, skipped = 0;
  for (int start = l->resume_at; start < n_all && rc == 0; start += batch) {
    int n = n_all - start < batch ? n_all - start : batch;
    if (cd_image_batch_preprocess(l->paths + l->begin + start, n, o->S, 0, px, st, e) < 0) rc = -1;
    if (rc == 0) rc = note_batch(l, o, &prog, st, start, n, ok, reasons, &skipped, e);
    if (rc == 0) rc = fn(ctx, px, compact_ok(px, img_floats, st, n), start + n, e);
    cd_progress_update(&prog, (size_t)(start + n - l->resume_at));
  }
  cd_progress_finish(&prog);
  if (rc == 0 && skipped && o->log) fprintf(o->log, "clipdebias: skipped %d unreadable image(s) of %d\n", skipped, n_all);
  free(px);
  free(st);
  return rc;
}

/* ---- sidecar ----------------------------------------------------------------------------- */

static void write_path_array(cd_jw *w, const char *key, const cd_image_list *l, const unsigned char *ok, int want_ok) {
  cd_jw_key(w, key);
  cd_jw_arr_block(w);
  for (int k = l->begin; k < l->end; k++)
    if ((ok[k - l->begin] != 0) == want_ok) cd_jw_str(w, l->paths[k]);
  cd_jw_end(w);
}

int cd_image_list_write_sidecar(const cd_image_list *l, const char *out, const char *model, int S,
                                const unsigned char *ok, cd_error *e) {
  char path[4200];
  snprintf(path, sizeof path, "%s.json", out);
  cd_atomic_file af;
  cd_jw w;
  if (cd_jw_open(&w, &af, path, e)) return -1;
  int rows = 0;
  for (int k = 0; k < l->end - l->begin; k++) rows += ok[k] != 0;
  cd_jw_obj_block(&w);
  cd_jw_kstr(&w, "output", out);
  cd_jw_kstr(&w, "model", model ? model : "");
  cd_jw_kint(&w, "image_size", S);
  cd_jw_kstr(&w, "list", l->name ? l->name : "");
  cd_jw_kint(&w, "total", l->total);
  cd_jw_key(&w, "shard");
  cd_jw_ints(&w, (const int64_t[]){l->shard_index, l->shard_count}, 2);
  cd_jw_kint(&w, "begin", l->begin);
  cd_jw_kint(&w, "end", l->end);
  cd_jw_kint(&w, "rows", rows);
  write_path_array(&w, "paths", l, ok, 1);
  write_path_array(&w, "skipped", l, ok, 0);
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

/* ---- progress checkpoints ----------------------------------------------------------------- */

/* Version 1 stored one ok flag per file (the whole slice rewritten at every checkpoint);
 * version 2 stores only the skipped files, so the file stays small on big lists. */
#define PARTIAL_VERSION 2

void cd_image_list_partial_npy(const char *prefix, char *out, size_t cap) { snprintf(out, cap, "%s.partial.npy", prefix); }

static void partial_json(const char *prefix, char *out, size_t cap) { snprintf(out, cap, "%s.partial.json", prefix); }

int cd_image_list_write_partial(const cd_image_list *l, const char *prefix, const char *model, const unsigned char *ok,
                                char *const *reasons, int done, int rows, cd_error *e) {
  char json[4200];
  partial_json(prefix, json, sizeof json);
  cd_atomic_file af;
  cd_jw w;
  if (cd_jw_open(&w, &af, json, e)) return -1;
  cd_jw_obj_block(&w);
  cd_jw_kint(&w, "version", PARTIAL_VERSION);
  cd_jw_kstr(&w, "model", model ? model : "");
  cd_jw_kstr(&w, "list", l->name ? l->name : "");
  cd_jw_kint(&w, "total", l->total);
  cd_jw_kint(&w, "begin", l->begin);
  cd_jw_kint(&w, "end", l->end);
  cd_jw_kint(&w, "done", done);
  cd_jw_kint(&w, "rows", rows);
  cd_jw_key(&w, "skipped");
  cd_jw_obj_block(&w);
  for (int k = 0; k < done; k++)
    if (!ok[k]) {
      char key[16];
      snprintf(key, sizeof key, "%d", k);
      cd_jw_kstr(&w, key, reasons && reasons[k] ? reasons[k] : "unreadable");
    }
  cd_jw_end(&w);
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

/* 0 when the checkpoint is one of this run, else 1 with what differs in why. */
static int other_run(const cd_json *r, const cd_image_list *l, const char *model, char *why, size_t cap) {
  const char *its = cd_json_get_str(r, "model", "");
  if (cd_json_get_int(r, "version", 1) != PARTIAL_VERSION) snprintf(why, cap, "an older version of clipdebias");
  else if (strcmp(its, model ? model : "")) snprintf(why, cap, "another model (%s; this run: %s)", its, model ? model : "");
  else if (strcmp(cd_json_get_str(r, "list", ""), l->name ? l->name : "") || cd_json_get_int(r, "total", -1) != l->total)
    snprintf(why, cap, "another list");
  else if (cd_json_get_int(r, "begin", -1) != l->begin || cd_json_get_int(r, "end", -1) != l->end)
    snprintf(why, cap, "another slice of the list (files %d to %d)", (int)cd_json_get_int(r, "begin", -1),
             (int)cd_json_get_int(r, "end", -1));
  else return 0;
  return 1;
}

/* ok[0..done) from the skipped entries (reasons restored when wanted); the number of rows
 * they imply, or -1 for an entry out of range. */
static int restore_skipped(const cd_json *why, int done, unsigned char *ok, char **reasons) {
  memset(ok, 1, (size_t)done);
  int rows = done;
  for (size_t i = 0; why && why->type == CD_JSON_OBJECT && i < why->n; i++) {
    char *end;
    long k = strtol(why->keys[i], &end, 10);
    if (*end || k < 0 || k >= done) return -1;
    if (!ok[k]) continue;
    ok[k] = 0, rows--;
    if (reasons && why->items[i].type == CD_JSON_STRING) reasons[k] = strdup(why->items[i].str);
  }
  return rows;
}

int cd_image_list_read_partial(const cd_image_list *l, const char *prefix, const char *model, unsigned char *ok,
                               char **reasons, int *rows, FILE *log, cd_error *e) {
  char json[4200];
  partial_json(prefix, json, sizeof json);
  *rows = 0;
  if (!cd_file_exists(json)) return 0;
  cd_json_doc *doc = cd_json_parse_file(json, (size_t)1 << 30, e);
  if (!doc) return cd_fail_prefix(e, "unreadable checkpoint (delete it to start over)");
  const cd_json *r = cd_json_root(doc);
  char other[4400];
  int is_other = other_run(r, l, model, other, sizeof other);
  int done = (int)cd_json_get_int(r, "done", -1), n_rows = (int)cd_json_get_int(r, "rows", -1), implied = -1;
  if (!is_other && done >= 0 && done <= l->end - l->begin) implied = restore_skipped(cd_json_get(r, "skipped"), done, ok, reasons);
  cd_json_free(doc);
  if (is_other) {
    if (log) fprintf(log, "clipdebias: %s is a checkpoint of %s; starting over\n", json, other);
    return 0;
  }
  if (implied < 0 || implied != n_rows)
    return cd_fail(e, "%s: inconsistent checkpoint (done %d, rows %d, skipped entries imply %d rows); delete it to start over", json,
                   done, n_rows, implied);
  *rows = n_rows;
  return done;
}

void cd_image_list_drop_partial_json(const char *prefix) {
  char json[4200];
  partial_json(prefix, json, sizeof json);
  remove(json);
}
