/* Image files -> CLIP image features streamed to a rows file, with resumable progress
 * checkpoints (see embed_images.h). */
#include "models/embed/embed_images.h"

#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/progress.h"

typedef struct {
  const cd_clip *m;
  cd_arena *ws; /* scratch of every batch, one arena for the whole list (NULL: per batch) */
  const cd_image_list *l;
  const cd_embed_opts *o;
  cd_embed_result *r;
  float *out;          /* [batch, D]: one batch's features */
  char model[4200];    /* what the rows come from, as checkpoints record it */
  int done;            /* files of the slice whose rows are in the rows file */
  int saved;           /* files the last checkpoint vouches for */
  double last_save;
} embed_ctx;

static cd_dtype stored_dtype(const cd_embed_opts *o) { return o->dtype == CD_F16 ? CD_F16 : CD_F32; }

static int checkpointing(const cd_embed_opts *o) { return o->checkpoint_every > 0; }

/* The rows first (made durable), then the .json that vouches for them: if the run dies in
 * between, the older .json still describes a prefix of the rows file. */
static int save_checkpoint(embed_ctx *c, cd_error *e) {
  cd_embed_result *r = c->r;
  if (cd_npy_rows_sync(&r->file, e) || cd_image_list_write_partial(c->l, r->prefix, c->model, r->ok, r->reasons, c->done, r->rows, e))
    return -1;
  c->saved = c->done;
  r->checkpoints++;
  r->scratch = 0;
  c->last_save = cd_time_now();
  return 0;
}

static int encode_batch(void *ctx, const float *pixels, int n, int done, cd_error *e) {
  embed_ctx *c = ctx;
  cd_embed_result *r = c->r;
  if (n && cd_clip_encode_image_ws(c->m, pixels, n, c->out, c->ws, e)) return -1;
  if (n && c->o->normalize) cd_l2_normalize_rows(c->out, n, r->D);
  if (cd_npy_rows_append(&r->file, c->out, n, e)) return -1;
  r->rows += n;
  c->done = done;
  int due = checkpointing(c->o) && cd_time_now() - c->last_save >= c->o->checkpoint_every;
  return due && done < r->n ? save_checkpoint(c, e) : 0;
}

static void forget_resumed(cd_embed_result *r) {
  memset(r->ok, 0, (size_t)r->n);
  for (int k = 0; k < r->n; k++) free(r->reasons[k]), r->reasons[k] = NULL;
}

/* Takes over the rows of an interrupted run of the same model, list and slice: the files
 * done, or 0 when there is nothing to take over. */
static int resume(embed_ctx *c, cd_image_list *l, const char *npy, cd_error *e) {
  cd_embed_result *r = c->r;
  int rows, done = cd_image_list_read_partial(l, r->prefix, c->model, r->ok, r->reasons, &rows, c->o->log, e);
  if (done <= 0) return done;
  if (!cd_file_exists(npy)) {
    if (c->o->log) fprintf(c->o->log, "clipdebias: %s.partial.json: its rows file %s is missing; starting over\n", r->prefix, npy);
    forget_resumed(r);
    return 0;
  }
  if (cd_npy_rows_reopen(&r->file, npy, r->D, stored_dtype(c->o), rows, e))
    return cd_fail_prefix(e, "cannot resume (delete %s.partial.json to start over)", r->prefix);
  r->rows = rows;
  c->done = c->saved = r->resumed_from = l->resume_at = done;
  if (c->o->log) fprintf(c->o->log, "clipdebias: resuming %s after %d of %d files\n", r->prefix, done, r->n);
  return done;
}

/* Resumes when a checkpoint allows, else starts an empty rows file. */
static int open_rows(embed_ctx *c, cd_image_list *l, cd_error *e) {
  cd_embed_result *r = c->r;
  char npy[4200];
  cd_image_list_partial_npy(r->prefix, npy, sizeof npy);
  l->resume_at = 0;
  int done = checkpointing(c->o) ? resume(c, l, npy, e) : 0;
  if (done != 0) return done < 0 ? -1 : 0;
  cd_image_list_drop_partial_json(r->prefix); /* it would vouch for rows about to be overwritten */
  if (cd_npy_rows_create(&r->file, npy, r->D, stored_dtype(c->o), e)) return -1;
  r->scratch = 1;
  return 0;
}

void cd_embed_result_free(cd_embed_result *r) {
  cd_npy_rows_close(&r->file);
  if (r->scratch) remove(r->file.path);
  free(r->ok);
  for (int k = 0; r->reasons && k < r->n; k++) free(r->reasons[k]);
  free(r->reasons);
  memset(r, 0, sizeof *r);
}

int cd_embed_result_commit(cd_embed_result *r, const char *dest, cd_error *e) {
  if (cd_npy_rows_commit(&r->file, dest, e)) return -1;
  r->scratch = 0;
  cd_image_list_drop_partial_json(r->prefix);
  return 0;
}

int cd_embed_opts_check(const cd_embed_opts *o, cd_error *e) {
  if (!(o->checkpoint_every >= 0))
    return cd_fail(e, "--checkpoint-every %g: seconds between progress checkpoints must be >= 0 (0: no checkpoints)",
                   o->checkpoint_every);
  return 0;
}

int cd_embed_image_list(const cd_clip *m, cd_image_list *l, const cd_embed_opts *o, cd_embed_result *r, cd_error *e) {
  memset(r, 0, sizeof *r);
  if (cd_embed_opts_check(o, e)) return -1;
  if (!o->partial_prefix || strlen(o->partial_prefix) + 16 >= sizeof r->prefix)
    return cd_fail(e, "embed: %s", o->partial_prefix ? "output path too long" : "no output path for the work files");
  snprintf(r->prefix, sizeof r->prefix, "%s", o->partial_prefix);
  r->n = l->end - l->begin;
  r->D = m->embed_dim;
  int batch = o->batch > 0 ? o->batch : 32;
  embed_ctx c = {m, NULL, l, o, r, NULL, "", 0, 0, cd_time_now()};
  snprintf(c.model, sizeof c.model, "%s%s", m->path, o->normalize ? " (rows L2-normalised)" : "");
  r->ok = cd_calloc((size_t)r->n + 1, 1, e);
  r->reasons = r->ok ? cd_calloc((size_t)r->n + 1, sizeof(char *), e) : NULL;
  cd_arena ws; /* scratch of every batch, one arena for the whole list */
  int have_ws = cd_arena_init(&ws, cd_clip_image_scratch_bytes(m, batch), NULL) == 0;
  c.ws = have_ws ? &ws : NULL;
  c.out = r->reasons ? cd_malloc(sizeof(float) * (size_t)batch * (size_t)r->D, e) : NULL;
  int rc = c.out ? open_rows(&c, l, e) : -1;
  cd_image_run_opts ro = {m->vision.image_size, batch, o->skip_bad, o->label ? o->label : "embed", o->log};
  if (rc == 0) rc = cd_image_list_run(l, &ro, r->ok, r->reasons, encode_batch, &c, e);
  /* The whole slice vouched for: a failure while the caller writes its other files (a full
   * disk at index.csv) leaves a checkpoint a rerun resumes from, instead of embedding again. */
  if (rc == 0 && checkpointing(o) && c.done > c.saved && !(rc = save_checkpoint(&c, e)))
    r->checkpoints--; /* counts the periodic ones only */
  if (rc && r->file.is_open && checkpointing(o) && c.done > c.saved) {
    cd_error ignored; /* keep the first error; this only saves the finished work for a rerun */
    save_checkpoint(&c, &ignored);
  }
  free(c.out);
  if (have_ws) cd_arena_free(&ws);
  if (rc) cd_embed_result_free(r);
  return rc;
}

int cd_embed_pixels(const cd_clip *m, const float *pixels, int N, int batch, const char *label, float *features,
                    cd_error *e) {
  int S = m->vision.image_size;
  size_t img = (size_t)3 * (size_t)S * (size_t)S;
  if (batch < 1) batch = 32;
  cd_arena ws; /* one arena for every batch (without memory for it, each batch makes its own) */
  int have_ws = cd_arena_init(&ws, cd_clip_image_scratch_bytes(m, batch), NULL) == 0;
  cd_progress prog;
  cd_progress_start(&prog, label ? label : "embed", "img", (size_t)N);
  for (int start = 0; start < N; start += batch) {
    int n = N - start < batch ? N - start : batch;
    if (cd_clip_encode_image_ws(m, pixels + (size_t)start * img, n, features + (size_t)start * (size_t)m->embed_dim,
                                have_ws ? &ws : NULL, e)) {
      cd_progress_finish(&prog);
      if (have_ws) cd_arena_free(&ws);
      return -1;
    }
    cd_progress_update(&prog, (size_t)(start + n));
  }
  cd_progress_finish(&prog);
  if (have_ws) cd_arena_free(&ws);
  return 0;
}
