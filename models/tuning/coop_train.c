/* CoOp training loop (see coop_train.h). */
#include "models/tuning/coop_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/progress.h"
#include "models/tuning/coop_loss.h"
#include "models/tuning/text_train.h"

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void cd_coop_epoch_order(int *perm, int N, uint64_t seed, int epoch) {
  uint64_t s = seed * 0x2545F4914F6CDD1Dull + (uint64_t)epoch * 0x9E3779B97F4A7C15ull + 1;
  for (int i = 0; i < N; i++) perm[i] = i;
  for (int i = N - 1; i > 0; i--) { /* Fisher-Yates; modulo bias is negligible for N << 2^64 */
    int j = (int)(splitmix(&s) % (uint64_t)(i + 1));
    int t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

int cd_coop_evaluate(const cd_clip *m, const cd_prompt *p, const float *img_n,
                     const int32_t *labels, const float *weights, int N, double *loss,
                     double *acc, cd_error *e) {
  cd_text_train t;
  if (cd_text_train_init(&t, m, p, e)) return -1;
  cd_text_train_forward(&t, m, p->ctx);
  int correct = 0;
  int r = cd_coop_loss(img_n, N, t.features, p->n_cls, m->embed_dim, m->logit_scale_log, labels,
                       weights, NULL, loss, NULL, &correct, e);
  *acc = (double)correct / N;
  cd_text_train_free(&t);
  return r;
}

int cd_coop_train(const cd_clip *m, cd_prompt *p, cd_optim *o, const cd_coop_train_opts *opts,
                  cd_coop_train_result *res, cd_error *e) {
  memset(res, 0, sizeof *res);
  int N = opts->N, E = m->embed_dim;
  if (N < 1 || opts->batch < 1) return cd_fail(e, "train: no samples or batch < 1");
  if (opts->out_path && !opts->meta) return cd_fail(e, "train: checkpoint needs metadata");
  int B = opts->batch <= N ? opts->batch : N;
  int per_epoch = N / B; /* drop_last when at least one full batch exists */
  int stop = opts->stop_epoch > 0 ? opts->stop_epoch : o->cfg.max_epoch;
  cd_text_train t;
  if (cd_text_train_init(&t, m, p, e)) return -1;
  int *perm = malloc(sizeof(int) * (size_t)N);
  float *bx = malloc(sizeof(float) * (size_t)B * E), *bw = malloc(sizeof(float) * (size_t)B);
  int32_t *by = malloc(sizeof(int32_t) * (size_t)B);
  float *dtxt = malloc(sizeof(float) * (size_t)p->n_cls * E);
  float *grad = malloc(sizeof(float) * p->ctx_numel);
  int rc = -1;
  if (!perm || !bx || !bw || !by || !dtxt || !grad) {
    cd_fail(e, "train: out of memory");
    goto done;
  }
  cd_progress pr;
  char label[128] = "tune";
  long total = (long)(stop > opts->start_epoch ? stop - opts->start_epoch : 0) * per_epoch;
  if (opts->progress) cd_progress_start(&pr, "tune", "step", (size_t)total);
  for (int ep = opts->start_epoch; ep < stop; ep++) {
    double lr = cd_optim_lr_at(&o->cfg, ep);
    cd_coop_epoch_order(perm, N, opts->seed, ep);
    for (int b = 0; b < per_epoch; b++) {
      for (int i = 0; i < B; i++) {
        int s = perm[b * B + i];
        memcpy(bx + (size_t)i * E, opts->img_n + (size_t)s * E, sizeof(float) * E);
        by[i] = opts->labels[s];
        bw[i] = opts->weights ? opts->weights[s] : 1.0f;
      }
      cd_text_train_forward(&t, m, p->ctx);
      double loss;
      if (cd_coop_loss(bx, B, t.features, p->n_cls, E, m->logit_scale_log, by, bw, NULL, &loss,
                       dtxt, NULL, e))
        goto done;
      memset(grad, 0, sizeof(float) * p->ctx_numel);
      cd_text_train_backward(&t, m, dtxt, grad);
      cd_optim_step(o, p->ctx, grad, lr);
      if (opts->loss_log && res->steps < opts->loss_log_cap)
        opts->loss_log[res->steps] = (float)loss;
      res->steps++;
      res->last_loss = loss;
      if (opts->progress) {
        snprintf(label, sizeof label, "tune  epoch %d/%d  loss %.4f  lr %.2e ", ep + 1, stop,
                 loss, lr);
        pr.label = label;
        cd_progress_update(&pr, (size_t)res->steps);
      }
    }
    if (opts->out_path) {
      opts->meta->epoch = ep + 1;
      opts->meta->step = o->step;
      if (cd_prompt_ckpt_save(opts->out_path, opts->meta, p, o, e)) goto done;
    }
  }
  if (opts->progress) cd_progress_finish(&pr);
  if (cd_coop_evaluate(m, p, opts->img_n, opts->labels, opts->weights, N, &res->final_loss,
                       &res->train_acc, e))
    goto done;
  rc = 0;
done:
  free(perm), free(bx), free(bw), free(by), free(dtxt), free(grad);
  cd_text_train_free(&t);
  return rc;
}
