/* Prompt-tuning session (see tune_session.h). */
#include "models/tuning/tune_session.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One optimiser step on the samples perm[0..B): returns the batch loss via *loss. */
static int train_step(cd_tune_session *s, const int *idx, int B, double lr,
                      const cd_tune_hooks *hk, double *loss, cd_error *e) {
  cd_head *h = s->head;
  int C = h->C, E = h->E;
  for (int i = 0; i < B; i++) {
    memcpy(s->bx + (size_t)i * E, s->data.x + (size_t)idx[i] * E, sizeof(float) * E);
    s->by[i] = s->data.y[idx[i]];
  }
  cd_head_forward(h);
  cd_logits_forward(s->bx, B, h->Z, h->kind == CD_HEAD_LINEAR ? h->bias : NULL, C, E, s->l);
  cd_softmax_xent_forward(s->l, s->by, B, C, s->ce, s->p_true, NULL);
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
  while (s->epoch < stop) {
    double lr = cd_optim_lr_at(&s->opt->cfg, s->epoch), sum = 0;
    cd_tune_epoch_order(s->perm, N, s->data.seed, s->epoch);
    for (int b = 0; b < per_epoch; b++) {
      double loss = 0;
      if (train_step(s, s->perm + (size_t)b * B, B, lr, hk, &loss, e)) return -1;
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
    s->epoch++;
    if (end_epoch(s, hk, sum / per_epoch, e)) {
      if (show) cd_progress_finish(&pr);
      return -1;
    }
  }
  if (show) cd_progress_finish(&pr);
  return 0;
}
