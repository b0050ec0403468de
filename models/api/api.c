/* The public API (clipdebias.h) over the engine's internals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/npy.h"
#include "core/pool.h"
#include "core/progress.h"
#include "data/image/image.h"
#include "data/image/image_batch.h"
#include "models/api/api_internal.h"
#include "ops/dispatch.h"

int cd_api_report(const cd_error *e, char *err, size_t cap) {
  if (err && cap) snprintf(err, cap, "%s", e->msg);
  return -1;
}

clipdebias_model *clipdebias_load_with(const char *path, const clipdebias_load_options *o, char *err,
                                       size_t errcap) {
  static const clipdebias_load_options dflt = {0};
  if (!o) o = &dflt;
  cd_error e;
  int prec = o->precision ? cd_precision_from_name(o->precision) : CD_PREC_FP32;
  if (prec < 0) {
    cd_fail(&e, "precision %s: unknown (fp32, bf16, bf16x3, fp16)", o->precision);
    cd_api_report(&e, err, errcap);
    return NULL;
  }
  clipdebias_model *m = cd_calloc(1, sizeof *m, &e);
  /* towers: the public bits are the engine's (CLIPDEBIAS_IMAGE = CD_TOWER_VISION, ...) */
  cd_clip_load_opts lo = {o->vocab, o->need_tokenizer, o->towers, !o->trainable, (cd_precision)prec, CD_PREC_FP32};
  if (!m || cd_clip_load(&m->clip, path, &lo, &e)) {
    free(m);
    cd_api_report(&e, err, errcap);
    return NULL;
  }
  return m;
}

clipdebias_model *clipdebias_load(const char *path, const char *vocab, char *err, size_t errcap) {
  clipdebias_load_options o = {.vocab = vocab}; /* inference only: both towers packed */
  return clipdebias_load_with(path, &o, err, errcap);
}

const char *clipdebias_model_path(const clipdebias_model *m) { return m->clip.path; }

int clipdebias_set_threads(int n, char *err, size_t errcap) {
  cd_error e;
  if (n != 0 && cd_threads_check(n, &e)) return cd_api_report(&e, err, errcap);
  cd_threads_set(n);
  return 0;
}

int clipdebias_threads(void) { return cd_threads_get(); }
double clipdebias_seconds(void) { return cd_time_now(); }
double clipdebias_cpu_seconds(void) { return cd_cpu_time_now(); }
const char *clipdebias_isa(void) { return cd_isa_name(cd_cpu_best_isa()); }

int clipdebias_read_npy(const char *path, int ndim, int64_t *shape, float **data, char *err, size_t errcap) {
  cd_array a = {0};
  cd_error e;
  if (cd_npy_load_f32(path, ndim, &a, &e)) return cd_api_report(&e, err, errcap);
  for (int i = 0; i < ndim; i++) shape[i] = a.shape[i];
  *data = a.data; /* malloc'd (aligned), the caller's now */
  return 0;
}

int clipdebias_write_npy(const char *path, const float *data, int rows, int cols, char *err, size_t errcap) {
  cd_error e;
  int64_t shape[2] = {rows, cols};
  return cd_npy_save_f32(path, 2, shape, data, &e) ? cd_api_report(&e, err, errcap) : 0;
}

int clipdebias_write_npy_i32(const char *path, const int32_t *data, int rows, char *err, size_t errcap) {
  cd_error e;
  int64_t shape[1] = {rows};
  return cd_npy_save(path, CD_I32, 1, shape, data, &e) ? cd_api_report(&e, err, errcap) : 0;
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
  if (!m->clip.tokenizer) return cd_api_report(&(cd_error){"no tokenizer loaded with this model"}, err, errcap);
  if (cd_tokenize(m->clip.tokenizer, text, m->clip.text.context, truncate, out, &e)) return cd_api_report(&e, err, errcap);
  return 0;
}

int clipdebias_encode_tokens(const clipdebias_model *m, const int32_t *tokens, int n, int normalize,
                             float *features, char *err, size_t errcap) {
  cd_error e;
  if (cd_clip_encode_text(&m->clip, tokens, n, features, &e)) return cd_api_report(&e, err, errcap);
  if (normalize) cd_l2_normalize_rows(features, n, m->clip.embed_dim);
  return 0;
}

int clipdebias_encode_texts(const clipdebias_model *m, const char *const *texts, int n, int normalize,
                            float *features, char *err, size_t errcap) {
  int L = m->clip.text.context;
  cd_error e;
  int32_t *tokens = cd_calloc((size_t)n * (size_t)L, sizeof(int32_t), &e);
  if (!tokens) return cd_api_report(&e, err, errcap);
  int rc = 0;
  for (int i = 0; i < n && rc == 0; i++) rc = clipdebias_tokenize(m, texts[i], 0, tokens + (size_t)i * L, err, errcap);
  if (rc == 0) rc = clipdebias_encode_tokens(m, tokens, n, normalize, features, err, errcap);
  free(tokens);
  return rc;
}

int clipdebias_encode_pixels(const clipdebias_model *m, const float *pixels, int n, int normalize,
                             float *features, char *err, size_t errcap) {
  cd_error e;
  if (cd_clip_encode_image(&m->clip, pixels, n, features, &e)) return cd_api_report(&e, err, errcap);
  if (normalize) cd_l2_normalize_rows(features, n, m->clip.embed_dim);
  return 0;
}

int clipdebias_preprocess_image_files(const char *const *paths, int n, int size, float *pixels, char *err,
                                      size_t errcap) {
  enum { CHUNK = 64 }; /* status records per call, decoded in parallel */
  cd_error e;
  cd_image_status *st = cd_malloc(sizeof(cd_image_status) * CHUNK, &e);
  int rc = st ? 0 : cd_api_report(&e, err, errcap);
  for (int start = 0; start < n && rc == 0; start += CHUNK) {
    int k = n - start < CHUNK ? n - start : CHUNK;
    int failed = cd_image_batch_preprocess(paths + start, k, size, 0, pixels + (size_t)start * 3 * size * size, st, &e);
    if (failed < 0) rc = cd_api_report(&e, err, errcap);
    else if (failed > 0) {
      snprintf(e.msg, sizeof e.msg, "%s", st[cd_image_batch_first_failure(st, k)].msg);
      rc = cd_api_report(&e, err, errcap);
    }
  }
  free(st);
  return rc;
}

int clipdebias_encode_image_files(const clipdebias_model *m, const char *const *paths, int n,
                                  int normalize, float *features, char *err, size_t errcap) {
  enum { CHUNK = 16 }; /* files decoded in parallel, then encoded together */
  int S = m->clip.vision.image_size;
  cd_error e;
  float *px = cd_malloc(sizeof(float) * CHUNK * 3 * (size_t)S * S, &e);
  int rc = px ? 0 : cd_api_report(&e, err, errcap);
  for (int start = 0; start < n && rc == 0; start += CHUNK) {
    int k = n - start < CHUNK ? n - start : CHUNK;
    rc = clipdebias_preprocess_image_files(paths + start, k, S, px, err, errcap) ||
         clipdebias_encode_pixels(m, px, k, normalize, features + (size_t)start * m->clip.embed_dim, err, errcap);
  }
  free(px);
  return rc ? -1 : 0;
}
