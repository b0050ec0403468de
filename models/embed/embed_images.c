/* Image files -> CLIP image features, with resumable progress checkpoints. */
#include "models/embed/embed_images.h"

#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "core/progress.h"

typedef struct {
  const cd_clip *m;
  const cd_image_list *l;
  const cd_embed_opts *o;
  cd_embed_result *r;
  double last_save;
} embed_ctx;

/* <checkpoint>.partial.npy first, then the .json that vouches for its first `rows` rows: if
 * the run dies between the two, the older .json still describes a prefix of the new .npy. */
static int save_checkpoint(embed_ctx *c, int done, cd_error *e) {
  char npy[4200];
  cd_image_list_partial_npy(c->o->checkpoint, npy, sizeof npy);
  int64_t shape[2] = {c->r->rows, c->r->D};
  if (cd_npy_save_f32(npy, 2, shape, c->r->features, e)) return -1;
  return cd_image_list_write_partial(c->l, c->o->checkpoint, c->m->path, c->r->ok, c->r->reasons, done, c->r->rows, e);
}

static int encode_batch(void *ctx, const float *pixels, int n, int done, cd_error *e) {
  embed_ctx *c = ctx;
  cd_embed_result *r = c->r;
  if (n && cd_clip_encode_image(c->m, pixels, n, r->features + (size_t)r->rows * (size_t)r->D, e)) return -1;
  r->rows += n;
  int due = c->o->checkpoint && c->o->checkpoint_every > 0 && cd_time_now() - c->last_save >= c->o->checkpoint_every;
  if (due && done < r->n) {
    if (save_checkpoint(c, done, e)) return -1;
    c->last_save = cd_time_now();
  }
  return 0;
}

/* Takes over <checkpoint>.partial.* from an interrupted run of the same model, list, slice. */
static int resume(embed_ctx *c, cd_image_list *l, cd_error *e) {
  cd_embed_result *r = c->r;
  int rows, done = cd_image_list_read_partial(l, c->o->checkpoint, c->m->path, r->ok, r->reasons, &rows, c->o->log, e);
  if (done <= 0) return done;
  char npy[4200];
  cd_image_list_partial_npy(c->o->checkpoint, npy, sizeof npy);
  cd_array a = {0};
  int rc = 0;
  if (cd_npy_load_f32(npy, 2, &a, e)) rc = cd_fail_prefix(e, "checkpoint (delete %s.partial.json to start over)", c->o->checkpoint);
  else if (a.shape[1] != r->D || a.shape[0] < rows)
    rc = cd_fail(e, "%s: holds %lld rows of %lld, expected at least %d of %d; delete it to start over", npy,
                 (long long)a.shape[0], (long long)a.shape[1], rows, r->D);
  else {
    memcpy(r->features, a.data, sizeof(float) * (size_t)rows * (size_t)r->D);
    r->rows = rows;
    r->resumed_from = l->resume_at = done;
    if (c->o->log) fprintf(c->o->log, "clipdebias: resuming %s after %d of %d files\n", c->o->checkpoint, done, r->n);
  }
  cd_array_free(&a);
  return rc;
}

void cd_embed_result_free(cd_embed_result *r) {
  free(r->features);
  free(r->ok);
  for (int k = 0; r->reasons && k < r->n; k++) free(r->reasons[k]);
  free(r->reasons);
  memset(r, 0, sizeof *r);
}

int cd_embed_image_list(const cd_clip *m, cd_image_list *l, const cd_embed_opts *o, cd_embed_result *r, cd_error *e) {
  memset(r, 0, sizeof *r);
  r->n = l->end - l->begin;
  r->D = m->embed_dim;
  r->features = cd_malloc(sizeof(float) * ((size_t)r->n + 1) * (size_t)r->D, e);
  r->ok = r->features ? cd_calloc((size_t)r->n + 1, 1, e) : NULL;
  r->reasons = r->ok ? cd_calloc((size_t)r->n + 1, sizeof(char *), e) : NULL;
  if (!r->reasons) return cd_embed_result_free(r), -1;
  embed_ctx c = {m, l, o, r, cd_time_now()};
  l->resume_at = 0;
  if (o->checkpoint && resume(&c, l, e) < 0) return cd_embed_result_free(r), -1;
  cd_image_run_opts ro = {m->vision.image_size, o->batch > 0 ? o->batch : 32, o->skip_bad, o->label ? o->label : "embed", o->log};
  if (cd_image_list_run(l, &ro, r->ok, r->reasons, encode_batch, &c, e)) return cd_embed_result_free(r), -1;
  return 0;
}

int cd_embed_pixels(const cd_clip *m, const float *pixels, int N, int batch, const char *label, float *features,
                    cd_error *e) {
  int S = m->vision.image_size;
  size_t img = (size_t)3 * (size_t)S * (size_t)S;
  if (batch < 1) batch = 32;
  cd_progress prog;
  cd_progress_start(&prog, label ? label : "embed", "img", (size_t)N);
  for (int start = 0; start < N; start += batch) {
    int n = N - start < batch ? N - start : batch;
    if (cd_clip_encode_image(m, pixels + (size_t)start * img, n, features + (size_t)start * (size_t)m->embed_dim, e)) {
      cd_progress_finish(&prog);
      return -1;
    }
    cd_progress_update(&prog, (size_t)(start + n));
  }
  cd_progress_finish(&prog);
  return 0;
}
