/* The public API (clipdebias.h) over the engine's internals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipdebias.h"
#include "data/image/image.h"
#include "data/image/image_batch.h"
#include "models/clip/clip.h"

struct clipdebias_model {
  cd_clip clip;
};

static int report(const cd_error *e, char *err, size_t cap) {
  if (err && cap) snprintf(err, cap, "%s", e->msg);
  return -1;
}

clipdebias_model *clipdebias_load(const char *path, const char *vocab, char *err, size_t errcap) {
  cd_error e;
  clipdebias_model *m = cd_calloc(1, sizeof *m, &e);
  cd_clip_load_opts o = {vocab, 0, CD_TOWER_BOTH, 1, CD_PREC_FP32}; /* inference only: pack both towers */
  if (!m || cd_clip_load(&m->clip, path, &o, &e)) {
    free(m);
    report(&e, err, errcap);
    return NULL;
  }
  return m;
}

void clipdebias_free(clipdebias_model *m) {
  if (!m) return;
  cd_clip_free(&m->clip);
  free(m);
}

int clipdebias_embed_dim(const clipdebias_model *m) { return m->clip.embed_dim; }
int clipdebias_image_size(const clipdebias_model *m) { return m->clip.vision.image_size; }
int clipdebias_context_length(const clipdebias_model *m) { return m->clip.text.context; }

int clipdebias_tokenize(const clipdebias_model *m, const char *text, int truncate, int32_t *out,
                        char *err, size_t errcap) {
  cd_error e;
  if (!m->clip.tokenizer) return report(&(cd_error){"no tokenizer loaded with this model"}, err, errcap);
  if (cd_tokenize(m->clip.tokenizer, text, m->clip.text.context, truncate, out, &e)) return report(&e, err, errcap);
  return 0;
}

int clipdebias_encode_tokens(const clipdebias_model *m, const int32_t *tokens, int n, int normalize,
                             float *features, char *err, size_t errcap) {
  cd_error e;
  if (cd_clip_encode_text(&m->clip, tokens, n, features, &e)) return report(&e, err, errcap);
  if (normalize) cd_l2_normalize_rows(features, n, m->clip.embed_dim);
  return 0;
}

int clipdebias_encode_texts(const clipdebias_model *m, const char *const *texts, int n, int normalize,
                            float *features, char *err, size_t errcap) {
  int L = m->clip.text.context;
  cd_error e;
  int32_t *tokens = cd_calloc((size_t)n * (size_t)L, sizeof(int32_t), &e);
  if (!tokens) return report(&e, err, errcap);
  int rc = 0;
  for (int i = 0; i < n && rc == 0; i++) rc = clipdebias_tokenize(m, texts[i], 0, tokens + (size_t)i * L, err, errcap);
  if (rc == 0) rc = clipdebias_encode_tokens(m, tokens, n, normalize, features, err, errcap);
  free(tokens);
  return rc;
}

int clipdebias_encode_pixels(const clipdebias_model *m, const float *pixels, int n, int normalize,
                             float *features, char *err, size_t errcap) {
  cd_error e;
  if (cd_clip_encode_image(&m->clip, pixels, n, features, &e)) return report(&e, err, errcap);
  if (normalize) cd_l2_normalize_rows(features, n, m->clip.embed_dim);
  return 0;
}

int clipdebias_encode_image_files(const clipdebias_model *m, const char *const *paths, int n,
                                  int normalize, float *features, char *err, size_t errcap) {
  enum { CHUNK = 16 }; /* files decoded in parallel, then encoded together */
  int S = m->clip.vision.image_size;
  cd_error e;
  float *px = cd_malloc(sizeof(float) * CHUNK * 3 * (size_t)S * S, &e);
  cd_image_status *st = cd_malloc(sizeof(cd_image_status) * CHUNK, &e);
  int rc = (px && st) ? 0 : report(&e, err, errcap);
  for (int start = 0; start < n && rc == 0; start += CHUNK) {
    int k = n - start < CHUNK ? n - start : CHUNK;
    int failed = cd_image_batch_preprocess(paths + start, k, S, 0, px, st, &e);
    if (failed < 0) rc = report(&e, err, errcap);
    else if (failed > 0) {
      snprintf(e.msg, sizeof e.msg, "%s", st[cd_image_batch_first_failure(st, k)].msg);
      rc = report(&e, err, errcap);
    } else {
      rc = clipdebias_encode_pixels(m, px, k, normalize, features + (size_t)start * m->clip.embed_dim, err, errcap);
    }
  }
  free(px);
  free(st);
  return rc;
}
