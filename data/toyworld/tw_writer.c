/* Writing toy-world datasets: every image rendered and encoded in parallel (each from its
 * own seed, so the thread count changes nothing), written atomically; then the index file;
 * then toyworld.json, whose presence marks the folder complete. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json_write.h"
#include "core/pool.h"
#include "core/progress.h"
#include "data/image/image_write.h"
#include "data/toyworld/toyworld.h"

#define RECIPE_VERSION 2 /* bump whenever the same options would draw different pictures */

void cd_toyworld_recipe(const cd_toyworld_options *o, const char *kind, int n_captions, char *out, int cap) {
  snprintf(out, (size_t)cap, "toyworld v%d %s seed=%llu scale=%g corr=%g shape_gap=%g format=%s quality=%d captions=%d",
           RECIPE_VERSION, kind, (unsigned long long)o->seed, o->scale, o->corr, (double)o->shape_gap,
           o->png ? "png" : "jpg", o->quality, n_captions);
}

static int make_folders(const char *dir, const cd_toyworld_plan *p, cd_error *e) {
  char path[4096], last[96] = "";
  if (cd_mkdir_p(dir, e)) return -1;
  for (int i = 0; i < p->n; i++) {
    const char *slash = strrchr(p->items[i].filename, '/');
    if (!slash) continue;
    int len = (int)(slash - p->items[i].filename);
    if ((int)strlen(last) == len && !strncmp(last, p->items[i].filename, (size_t)len)) continue;
    snprintf(last, sizeof last, "%.*s", len, p->items[i].filename);
    snprintf(path, sizeof path, "%s/%s", dir, last);
    if (cd_mkdir_p(path, e)) return -1;
  }
  return 0;
}

static int write_item(const char *dir, const cd_toyworld_options *o, const cd_toyworld_item *it, cd_error *e) {
  char path[4096];
  uint8_t *rgb;
  if (snprintf(path, sizeof path, "%s/%s", dir, it->filename) >= (int)sizeof path)
    return cd_fail(e, "%s: path too long", dir);
  if (cd_toyworld_render(o, it, &rgb, e)) return -1;
  cd_jpeg_options jo = {o->quality, CD_JPEG_420};
  uint8_t *file;
  size_t n;
  int rc = cd_image_encode_as(path, rgb, it->w, it->h, 3, &jo, &file, &n, e);
  free(rgb);
  if (rc) return -1;
  rc = cd_write_file_atomic_nosync(path, file, n, e); /* thousands of files: no fsync each */
  free(file);
  return rc;
}

typedef struct {
  const char *dir;
  const cd_toyworld_options *o;
  const cd_toyworld_plan *p;
  cd_progress *prog;
  cd_error *e;
  _Atomic int failed;
  _Atomic size_t done;
} render_job;

/* Image i; after a failure the remaining items are skipped. Only the calling thread (worker
 * 0) draws the progress line, so the terminal needs no lock. */
static void render_item(void *ctx, int i, int worker) {
  render_job *j = ctx;
  if (atomic_load(&j->failed)) return;
  cd_error mine;
  if (write_item(j->dir, j->o, &j->p->items[i], &mine) && !atomic_exchange(&j->failed, 1) && j->e) *j->e = mine;
  size_t done = atomic_fetch_add(&j->done, 1) + 1;
  if (worker == 0) cd_progress_update(j->prog, done);
}

static int render_all(const char *dir, const cd_toyworld_options *o, const cd_toyworld_plan *p, const char *label,
                      cd_error *e) {
  if (make_folders(dir, p, e)) return -1;
  cd_progress prog;
  cd_progress_start(&prog, label, "img", (size_t)p->n);
  render_job j = {dir, o, p, &prog, e, 0, 0};
  cd_pool_run(p->n, o->threads, render_item, &j);
  cd_progress_update(&prog, atomic_load(&j.done));
  cd_progress_finish(&prog);
  return atomic_load(&j.failed) ? -1 : 0;
}

static int write_metadata(const char *dir, const cd_toyworld_plan *p, cd_error *e) {
  char path[4096];
  cd_atomic_file af;
  snprintf(path, sizeof path, "%s/metadata.csv", dir);
  if (cd_atomic_open(&af, path, e)) return -1;
  fprintf(af.fp, "img_id,img_filename,y,split,place,place_filename\n");
  for (int i = 0; i < p->n; i++) {
    const cd_toyworld_item *it = &p->items[i];
    fprintf(af.fp, "%d,%s,%d,%d,%d,%s\n", it->id, it->filename, it->y, it->split, it->place, it->place_filename);
  }
  return cd_atomic_commit(&af, e);
}

static int write_captions_csv(const char *dir, const cd_toyworld_plan *p, cd_error *e) {
  char path[4096], caption[160];
  cd_atomic_file af;
  snprintf(path, sizeof path, "%s/captions.csv", dir);
  if (cd_atomic_open(&af, path, e)) return -1;
  fprintf(af.fp, "filename,caption,y,place,kind,species\n");
  for (int i = 0; i < p->n; i++) {
    const cd_toyworld_item *it = &p->items[i];
    cd_toyworld_caption(it, caption, sizeof caption);
    fprintf(af.fp, "%s,%s,%d,%d,%d,%d\n", it->filename, caption, it->y, it->place, it->kind, it->species);
  }
  return cd_atomic_commit(&af, e);
}

static int write_recipe(const char *dir, const cd_toyworld_options *o, const cd_toyworld_plan *p, const char *kind,
                        int n_captions, cd_error *e) {
  char path[4096], recipe[512];
  cd_atomic_file af;
  cd_jw w;
  snprintf(path, sizeof path, "%s/toyworld.json", dir);
  cd_toyworld_recipe(o, kind, n_captions, recipe, sizeof recipe);
  if (cd_jw_open(&w, &af, path, e)) return -1;
  static const char *const CLASSES[2] = {"landbird", "waterbird"}, *const ATTRS[2] = {"land", "water"};
  static const char *const SPLIT[3] = {"train", "val", "test"};
  w.indent = 1;
  cd_jw_obj(&w);
  cd_jw_kint(&w, "version", 1);
  cd_jw_kstr(&w, "recipe", recipe);
  cd_jw_br(&w);
  cd_jw_kstr(&w, "dataset", kind);
  cd_jw_kint(&w, "images", p->n);
  cd_jw_br(&w);
  cd_jw_key(&w, "classnames");
  cd_jw_strs(&w, CLASSES, 2);
  cd_jw_key(&w, "attr_names");
  cd_jw_strs(&w, ATTRS, 2);
  cd_jw_br(&w);
  cd_jw_key(&w, "group_counts");
  cd_jw_obj(&w);
  for (int s = 0; s < 3; s++) {
    const int64_t c[4] = {p->counts[s][0], p->counts[s][1], p->counts[s][2], p->counts[s][3]};
    cd_jw_key(&w, SPLIT[s]);
    cd_jw_ints(&w, c, 4);
  }
  cd_jw_end(&w);
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

/* A stale marker must not vouch for a folder being rewritten. */
static void drop_marker(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/toyworld.json", dir);
  remove(path);
}

int cd_toyworld_write_waterbirds(const char *dir, const cd_toyworld_options *o, cd_error *e) {
  cd_toyworld_plan p;
  if (cd_toyworld_plan_waterbirds(o, &p, e)) return -1;
  drop_marker(dir);
  int rc = render_all(dir, o, &p, "toyworld", e);
  if (rc == 0) rc = write_metadata(dir, &p, e);
  if (rc == 0) rc = write_recipe(dir, o, &p, "waterbirds", 0, e);
  cd_toyworld_plan_free(&p);
  return rc;
}

int cd_toyworld_write_captions(const char *dir, const cd_toyworld_options *o, int n, cd_error *e) {
  cd_toyworld_plan p;
  if (cd_toyworld_plan_captions(o, n, &p, e)) return -1;
  drop_marker(dir);
  int rc = render_all(dir, o, &p, "toyworld captions", e);
  if (rc == 0) rc = write_captions_csv(dir, &p, e);
  if (rc == 0) rc = write_recipe(dir, o, &p, "captions", n, e);
  cd_toyworld_plan_free(&p);
  return rc;
}

int cd_toyworld_is_cached(const char *dir, const cd_toyworld_options *o, const char *kind, int n_captions) {
  char path[4096], want[512];
  snprintf(path, sizeof path, "%s/toyworld.json", dir);
  if (!cd_file_exists(path)) return 0;
  cd_error e;
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 20, &e);
  if (!doc) return 0;
  cd_toyworld_recipe(o, kind, n_captions, want, sizeof want);
  const char *have = cd_json_get_str(cd_json_root(doc), "recipe", "");
  int same = strcmp(have, want) == 0;
  cd_json_free(doc);
  return same;
}
