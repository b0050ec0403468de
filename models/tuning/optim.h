/* Optimisers and learning-rate schedule for prompt tuning, matching PyTorch / Dassl:
 *  SGD  (torch.optim.SGD, dampening 0, no Nesterov):
 *         g += wd * p;  buf = g (first step) or momentum * buf + g;  p -= lr * buf
 *  Adam (torch.optim.Adam, L2 weight decay added to the gradient, bias correction):
 *         g += wd * p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *         p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *  Schedule (Dassl ConstantWarmupScheduler over CosineAnnealingLR(T_max = max_epoch),
 *  warmup_recount): epoch e < warmup_epochs uses warmup_lr; afterwards
 *         lr = base_lr * (1 + cos(pi * (e - warmup_epochs) / max_epoch)) / 2.
 *  The rate changes once per epoch. */
#ifndef CD_OPTIM_H
#define CD_OPTIM_H

#include <stddef.h>

#include "core/error.h"

typedef enum { CD_OPTIM_SGD = 0, CD_OPTIM_ADAM = 1 } cd_optim_kind;

typedef struct {
  cd_optim_kind kind;
  double lr;            /* base learning rate (the schedule scales it) */
  double momentum;      /* SGD */
  double weight_decay;
  double beta1, beta2, eps; /* Adam */
  int max_epoch, warmup_epochs;
  double warmup_lr;
} cd_optim_config;

typedef struct {
  cd_optim_config cfg;
  size_t n;
  long step;            /* updates done */
  float *m;             /* SGD momentum buffer / Adam first moment [n] */
  float *v;             /* Adam second moment [n] */
} cd_optim;

/* CoOp defaults: SGD lr 0.002 momentum 0.9 wd 5e-4, 50 epochs, 1 warm-up epoch at 1e-5;
 * Adam betas (0.9, 0.999), eps 1e-8. */
void cd_optim_config_default(cd_optim_config *c);
int cd_optim_parse_kind(const char *s); /* "sgd" / "adam", -1 otherwise */
const char *cd_optim_kind_name(cd_optim_kind k);

int cd_optim_init(cd_optim *o, const cd_optim_config *c, size_t n, cd_error *e);
void cd_optim_free(cd_optim *o);
/* Learning rate of epoch e (0-based). */
double cd_optim_lr_at(const cd_optim_config *c, int epoch);
/* The flag most likely behind a diverged training, as one phrase for a message: for SGD whose
 * weight decay step alone is unstable (lr x weight_decay > 2 (1 + momentum): p <- p (1 - lr wd)
 * grows in magnitude), "--weight-decay W with --lr L (...)"; otherwise "--lr L (...)". */
void cd_optim_divergence_hint(const cd_optim_config *c, char *buf, size_t cap);
/* One update of p[n] with gradient g[n] at learning rate lr. g is not modified. */
void cd_optim_step(cd_optim *o, float *p, const float *g, double lr);

#endif
