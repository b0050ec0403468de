/* Prompt-tuning session (see tune_session.h). */
#include "models/tuning/tune_session.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/json_write.h"
#include "core/progress.h"
#include "models/tuning/coop_loss.h"

int cd_prompt_setup(cd_prompt *p, const cd_clip *m, const cd_prompt_spec *s, cd_error *e) {
  if (!m->tokenizer) return cd_fail(e, "%s: prompt tuning needs the model's tokenizer", m->path);
  if (cd_prompt_init_text(p, m->tokenizer, s->classnames, s->n_cls, s->n_ctx, s->ctx_init,
                          m->text.tf.width, s->csc, s->position, e))
    return -1;
  if (s->ctx_init && *s->ctx_init) {
    if (cd_prompt_init_from_embeddings(p, m->text.tok_emb, m->text.vocab_size, e)) {
      cd_prompt_free(p);
      return -1;
    }
  } else {
    cd_prompt_init_random(p, s->seed, 0.02f);
  }
  return 0;
}

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void cd_tune_epoch_order(int *perm, int N, uint64_t seed, int epoch) {
  uint64_t s = seed * 0x2545F4914F6CDD1Dull + (uint64_t)epoch * 0x9E3779B97F4A7C15ull + 1;
  for (int i = 0; i < N; i++) perm[i] = i;
  for (int i = N - 1; i > 0; i--) { /* Fisher-Yates; modulo bias is negligible for N << 2^64 */
    int j = (int)(splitmix(&s) % (uint64_t)(i + 1));
    int t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

int cd_tune_steps_per_epoch(int N, int B) {
  if (N < 1 || B < 1) return 0;
  return B <= N ? N / B : 1;
}

int cd_tune_evaluate(cd_head *h, const float *x, const int32_t *y, const float *weights, int N,
                     double *loss, double *acc, cd_error *e) {
  double *ce = cd_malloc(sizeof(double) * (size_t)N, e);
  int32_t *pred = cd_malloc(sizeof(int32_t) * (size_t)N, e);
  int rc = -1;
  if (ce && pred && !cd_head_predict(h, x, N, y, pred, NULL, ce, e)) {
    double num = 0, den = 0;
    int correct = 0;
    for (int i = 0; i < N; i++) {
      double w = weights ? weights[i] : 1.0;
      num += w * ce[i];
      den += w;
      correct += pred[i] == y[i];
    }
    *loss = den > 0 ? num / den : NAN;
    *acc = N > 0 ? (double)correct / N : NAN;
    rc = 0;
  }
  free(ce);
  free(pred);
  return rc;
}

int cd_tune_session_init(cd_tune_session *s, cd_head *h, cd_optim *o, const cd_tune_data *d,
                         int start_epoch, cd_error *e) {
  memset(s, 0, sizeof *s);
  if (d->N < 1 || d->batch < 1) return cd_fail(e, "tune: no training samples or batch < 1");
  if (o->n != h->n_params) return cd_fail(e, "tune: optimiser has %zu parameters, head %zu", o->n, h->n_params);
  s->head = h;
  s->opt = o;
  s->data = *d;
  s->epoch = start_epoch;
  int B = d->batch <= d->N ? d->batch : d->N, C = h->C, E = h->E;
  s->perm = cd_malloc(sizeof(int) * (size_t)d->N, e);
  s->bx = cd_malloc(sizeof(float) * ((size_t)B * E + B + h->n_params), e);
  s->by = cd_malloc(sizeof(int32_t) * (size_t)B, e);
  s->l = cd_malloc(sizeof(double) * (2 * (size_t)B * C + 2 * (size_t)B + (size_t)C * E + C), e);
  if (!s->perm || !s->bx || !s->by || !s->l) {
    cd_tune_session_free(s);
    return -1;
  }
  s->w = s->bx + (size_t)B * E;
  s->grad = s->w + B;
  s->dl = s->l + (size_t)B * C;
  s->ce = s->dl + (size_t)B * C;
  s->p_true = s->ce + B;
  s->dZ = s->p_true + B;
  s->dbias = s->dZ + (size_t)C * E;
  return 0;
}

void cd_tune_session_free(cd_tune_session *s) {
  free(s->perm);
  free(s->bx);
  free(s->by);
  free(s->l);
  memset(s, 0, sizeof *s);
}

void cd_tune_step_gather(cd_tune_session *s, const int *idx, int B) {
  int E = s->head->E;
  for (int i = 0; i < B; i++) {
    memcpy(s->bx + (size_t)i * E, s->data.x + (size_t)idx[i] * E, sizeof(float) * E);
    s->by[i] = s->data.y[idx[i]];
  }
}

int cd_tune_step_loss(cd_tune_session *s, const int *idx, int B, const cd_tune_hooks *hk,
                      double *loss, cd_error *e) {
  cd_head *h = s->head;
  int C = h->C, E = h->E;
  cd_logits_forward(s->bx, B, h->Z, h->kind == CD_HEAD_LINEAR ? h->bias : NULL, C, E, s->l);
  cd_softmax_xent_forward(s->l, s->by, B, C, s->ce, s->p_true, NULL);
  for (int i = 0; i < B; i++)
    if (!isfinite(s->ce[i])) return *loss = s->ce[i], CD_TUNE_STEP_DIVERGED;
  double denom = 0;
  if (hk && hk->batch_weights) {
    hk->batch_weights(hk->user, idx, B, s->ce, s->p_true, s->w, &denom);
  } else {
    for (int i = 0; i < B; i++) {
      s->w[i] = s->data.weights ? s->data.weights[idx[i]] : 1.0f;
      denom += s->w[i];
    }
  }
  if (!(denom > 0) || !isfinite(denom)) return cd_fail(e, "tune: batch weights sum to %g", denom);
  double total = 0;
  for (int i = 0; i < B; i++) total += s->w[i] * s->ce[i];
  *loss = total / denom;
  cd_softmax_xent_backward(s->l, s->by, s->w, denom, B, C, s->dl);
  cd_logits_backward(s->bx, B, s->dl, C, E, s->dZ, s->dbias);
  return 0;
}

/* One optimiser step on the samples idx[0..B): returns the batch loss via *loss;
 * CD_TUNE_STEP_DIVERGED (nothing updated) when a sample's loss is not finite. */
static int train_step(cd_tune_session *s, const int *idx, int B, double lr,
                      const cd_tune_hooks *hk, double *loss, cd_error *e) {
  cd_head *h = s->head;
  cd_tune_step_gather(s, idx, B);
  if (cd_head_forward(h, e)) return -1;
  int rc = cd_tune_step_loss(s, idx, B, hk, loss, e);
  if (rc) return rc;
  memset(s->grad, 0, sizeof(float) * h->n_params);
  cd_head_backward(h, s->dZ, s->dbias, s->grad);
  cd_optim_step(s->opt, h->params, s->grad, lr);
  return 0;
}

/* The hook runs before the checkpoint, so state the hook saves (DPT weights) is on disk
 * before the checkpoint's sidecar names the epoch. */
static int end_epoch(cd_tune_session *s, const cd_tune_hooks *hk, double mean_loss, cd_error *e) {
  if (hk && hk->epoch_end && hk->epoch_end(hk->user, s->epoch, mean_loss, e)) return -1;
  if (hk && hk->ckpt_path && s->head->kind == CD_HEAD_PROMPT) {
    hk->meta->epoch = s->epoch;
    hk->meta->step = s->opt->step;
    if (cd_prompt_ckpt_save(hk->ckpt_path, hk->meta, s->head->prompt, s->opt, e)) return -1;
  }
  return 0;
}

static int params_finite(const cd_head *h) {
  for (size_t i = 0; i < h->n_params; i++)
    if (!isfinite(h->params[i])) return 0;
  return 1;
}

/* Training diverged in epoch s->epoch + 1 with this loss (NAN: the parameters are no longer
 * finite): fails with when, the loss and the likely flag. */
int cd_tune_session_diverged(cd_tune_session *s, double loss, cd_error *e) {
  char hint[300];
  s->diverged = 1;
  s->diverged_epoch = s->epoch + 1;
  s->diverged_loss = loss;
  cd_optim_divergence_hint(&s->opt->cfg, hint, sizeof hint);
  if (isfinite(loss))
    return cd_fail(e, "training diverged in epoch %d of %d: mean loss %g is above %d x ln(%d classes); likely %s",
                   s->diverged_epoch, s->opt->cfg.max_epoch, loss, CD_TUNE_DIVERGED_LOSS, s->head->C, hint);
  return cd_fail(e, "training diverged in epoch %d of %d: %s; likely %s", s->diverged_epoch, s->opt->cfg.max_epoch,
                 isnan(loss) && !params_finite(s->head) ? "the parameters are no longer finite (loss nan)"
                 : isnan(loss) ? "loss nan" : "loss inf", hint);
}

int cd_tune_session_end_epoch(cd_tune_session *s, const cd_tune_hooks *hk, double mean_loss, cd_error *e) {
  if (!params_finite(s->head) || mean_loss > CD_TUNE_DIVERGED_LOSS * log(s->head->C > 2 ? s->head->C : 2))
    return cd_tune_session_diverged(s, params_finite(s->head) ? mean_loss : NAN, e);
  s->epoch++;
  return end_epoch(s, hk, mean_loss, e);
}

int cd_tune_session_run(cd_tune_session *s, int stop_epoch, const cd_tune_hooks *hk, cd_error *e) {
  int N = s->data.N, B = s->data.batch <= N ? s->data.batch : N;
  int per_epoch = cd_tune_steps_per_epoch(N, B);
  int stop = stop_epoch > 0 ? stop_epoch : s->opt->cfg.max_epoch;
  cd_progress pr;
  char label[256];
  int show = hk && hk->progress_label;
  if (show)
    cd_progress_start(&pr, hk->progress_label, "step",
                      (size_t)(stop > s->epoch ? stop - s->epoch : 0) * (size_t)per_epoch);
  size_t done = 0;
  int rc = 0;
  while (s->epoch < stop && !rc) {
    double lr = cd_optim_lr_at(&s->opt->cfg, s->epoch), sum = 0;
    cd_tune_epoch_order(s->perm, N, s->data.seed, s->epoch);
    for (int b = 0; b < per_epoch && !rc; b++) {
      double loss = 0;
      rc = train_step(s, s->perm + (size_t)b * B, B, lr, hk, &loss, e);
      if (rc == CD_TUNE_STEP_DIVERGED) rc = cd_tune_session_diverged(s, loss, e);
      if (rc) break;
      sum += loss;
      s->steps++;
      s->last_loss = loss;
      if (hk && hk->step_end) hk->step_end(hk->user, s->steps, loss);
      if (show) {
        snprintf(label, sizeof label, "%s  epoch %d/%d  loss %.4f  lr %.2e ", hk->progress_label,
                 s->epoch + 1, stop, loss, lr);
        pr.label = label;
        cd_progress_update(&pr, ++done);
      }
    }
    if (rc) break;
    rc = cd_tune_session_end_epoch(s, hk, sum / per_epoch, e);
  }
  if (show) cd_progress_finish(&pr);
  return rc ? -1 : 0;
}

/* ---- a diverged tune -------------------------------------------------------------------- */

static int diverged_path(const char *ckpt, char *out, size_t cap) {
  size_t n = strlen(ckpt);
  if (n >= 4 && !strcmp(ckpt + n - 4, ".npy")) n -= 4;
  int k = snprintf(out, cap, "%.*s.diverged.json", (int)n, ckpt);
  return k < 0 || (size_t)k >= cap ? -1 : 0;
}

int cd_tune_diverged_save(const char *ckpt, const cd_tune_session *s, const char *message, cd_error *e) {
  char path[4200];
  cd_atomic_file af;
  if (diverged_path(ckpt, path, sizeof path)) return cd_fail(e, "%s: path too long", ckpt);
  cd_jw w;
  if (cd_jw_open(&w, &af, path, e)) return -1;
  cd_jw_obj_block(&w);
  cd_jw_kstr(&w, "status", "diverged");
  cd_jw_kint(&w, "epoch", s->diverged_epoch);
  cd_jw_kint(&w, "last_finished_epoch", s->epoch);
  cd_jw_key(&w, "loss");
  cd_jw_g17(&w, s->diverged_loss);
  cd_jw_kstr(&w, "message", message);
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

int cd_tune_diverged_refuse(const char *ckpt, cd_error *e) {
  char path[4200];
  if (diverged_path(ckpt, path, sizeof path) || !cd_file_exists(path)) return 0;
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 20, e);
  if (!doc) return -1;
  const cd_json *msg = cd_json_get(cd_json_root(doc), "message");
  cd_fail(e, "%s: its training diverged (%s: %s); it holds the last finished epoch, not a trained context. Train "
          "again with other flags", ckpt, path, msg && msg->type == CD_JSON_STRING ? msg->str : "no message");
  cd_json_free(doc);
  return -1;
}

void cd_tune_diverged_clear(const char *ckpt) {
  char path[4200];
  if (!diverged_path(ckpt, path, sizeof path)) remove(path);
}
