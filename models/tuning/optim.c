/* SGD with momentum, Adam, and the constant-warm-up cosine schedule (see optim.h). */
#include "models/tuning/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cd_optim_config_default(cd_optim_config *c) {
  memset(c, 0, sizeof *c);
  c->kind = CD_OPTIM_SGD;
  c->lr = 0.002;
  c->momentum = 0.9;
  c->weight_decay = 5e-4;
  c->beta1 = 0.9;
  c->beta2 = 0.999;
  c->eps = 1e-8;
  c->max_epoch = 50;
  c->warmup_epochs = 1;
  c->warmup_lr = 1e-5;
}

int cd_optim_parse_kind(const char *s) {
  if (!strcmp(s, "sgd")) return CD_OPTIM_SGD;
  if (!strcmp(s, "adam")) return CD_OPTIM_ADAM;
  return -1;
}

const char *cd_optim_kind_name(cd_optim_kind k) { return k == CD_OPTIM_ADAM ? "adam" : "sgd"; }

int cd_optim_init(cd_optim *o, const cd_optim_config *c, size_t n, cd_error *e) {
  memset(o, 0, sizeof *o);
  o->cfg = *c;
  o->n = n;
  o->m = cd_calloc(n ? n : 1, sizeof(float), e);
  o->v = cd_calloc(n ? n : 1, sizeof(float), e);
  if (!o->m || !o->v) {
    cd_optim_free(o);
    return -1;
  }
  return 0;
}

void cd_optim_free(cd_optim *o) {
  free(o->m);
  free(o->v);
  memset(o, 0, sizeof *o);
}

double cd_optim_lr_at(const cd_optim_config *c, int epoch) {
  if (epoch < c->warmup_epochs) return c->warmup_lr;
  int t = epoch - c->warmup_epochs;
  if (c->max_epoch <= 0) return c->lr;
  return c->lr * 0.5 * (1.0 + cos(M_PI * (double)t / (double)c->max_epoch));
}

void cd_optim_divergence_hint(const cd_optim_config *c, char *buf, size_t cap) {
  double decay = c->lr * c->weight_decay;
  if (c->kind == CD_OPTIM_SGD && decay > 2 * (1 + c->momentum))
    snprintf(buf, cap, "--weight-decay %g with --lr %g (lr x weight decay = %g > 2 (1 + momentum): the decay step "
             "alone makes the parameters grow; lower either)", c->weight_decay, c->lr, decay);
  else
    snprintf(buf, cap, "--lr %g (steps too large for this loss; try a learning rate 10 times smaller)", c->lr);
}

void cd_optim_step(cd_optim *o, float *p, const float *g, double lr) {
  const cd_optim_config *c = &o->cfg;
  float wd = (float)c->weight_decay;
  if (c->kind == CD_OPTIM_SGD) {
    float mu = (float)c->momentum, flr = (float)lr;
    for (size_t i = 0; i < o->n; i++) {
      float d = g[i] + wd * p[i];
      if (mu != 0) {
        o->m[i] = o->step == 0 ? d : mu * o->m[i] + d;
        d = o->m[i];
      }
      p[i] -= flr * d;
    }
  } else {
    long t = o->step + 1;
    float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps;
    double bc1 = 1.0 - pow(c->beta1, (double)t), bc2 = 1.0 - pow(c->beta2, (double)t);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    for (size_t i = 0; i < o->n; i++) {
      float d = g[i] + wd * p[i];
      o->m[i] = b1 * o->m[i] + (1 - b1) * d;
      o->v[i] = b2 * o->v[i] + (1 - b2) * d * d;
      p[i] -= step_size * o->m[i] / (sqrtf(o->v[i]) / bc2_sqrt + eps);
    }
  }
  o->step++;
}
