/* Prompt and linear heads (see tune_head.h). */
#include "models/tuning/tune_head.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/tuning/coop_loss.h"

const char *cd_head_kind_name(cd_head_kind k) { return k == CD_HEAD_LINEAR ? "linear" : "prompt"; }

int cd_head_kind_parse(const char *s) {
  if (!strcmp(s, "prompt")) return CD_HEAD_PROMPT;
  if (!strcmp(s, "linear")) return CD_HEAD_LINEAR;
  return -1;
}

static int alloc_common(cd_head *h, cd_error *e) {
  h->Z = cd_calloc((size_t)h->C * h->E + 2 * (size_t)h->C, sizeof(double), e);
  if (!h->Z) return -1;
  h->bias = h->Z + (size_t)h->C * h->E;
  h->norm = h->bias + h->C;
  return 0;
}

int cd_head_init_prompt(cd_head *h, const cd_clip *m, cd_prompt *p, cd_error *e) {
  return cd_head_init_prompt_projected(h, m, p, NULL, e);
}

int cd_head_init_prompt_projected(cd_head *h, const cd_clip *m, cd_prompt *p,
                                  const cd_projection *proj, cd_error *e) {
  memset(h, 0, sizeof *h);
  if (proj && (proj->D != m->embed_dim || proj->K < 1 || proj->K > proj->D))
    return cd_fail(e, "prompt head: a %dx%d projection for a %d-wide embedding", proj ? proj->D : 0,
                   proj ? proj->K : 0, m->embed_dim);
  h->kind = CD_HEAD_PROMPT;
  h->C = p->n_cls;
  h->E = proj ? proj->K : m->embed_dim;
  if (proj) h->proj = *proj;
  h->logit_scale_log = m->logit_scale_log;
  h->m = m;
  h->prompt = p;
  h->params = p->ctx;
  h->n_params = p->ctx_numel;
  if (cd_text_train_plan(&h->tt, m, p, 1, e)) return -1; /* buffers at the first own pass */
  h->dtxt = cd_malloc(sizeof(float) * (size_t)h->C * m->embed_dim, e);
  h->z_params = cd_malloc(sizeof(float) * h->n_params, e);
  if (h->dtxt && proj) {
    h->tproj = cd_malloc(sizeof(float) * (size_t)h->C * h->E * 2, e);
    h->dproj = h->tproj ? h->tproj + (size_t)h->C * h->E : NULL;
  }
  if (!h->dtxt || !h->z_params || (proj && !h->tproj) || alloc_common(h, e)) {
    cd_head_free(h);
    return -1;
  }
  return 0;
}

int cd_head_init_linear(cd_head *h, const float *txt, int C, int E, float logit_scale_log,
                        cd_error *e) {
  memset(h, 0, sizeof *h);
  h->kind = CD_HEAD_LINEAR;
  h->C = C;
  h->E = E;
  h->logit_scale_log = logit_scale_log;
  h->n_params = (size_t)C * E + (size_t)C;
  h->params = cd_calloc(h->n_params, sizeof(float), e);
  if (!h->params || alloc_common(h, e)) {
    cd_head_free(h);
    return -1;
  }
  /* W = scale · t̂ (the zero-shot classifier), b = 0 */
  cd_class_matrix_forward(txt, C, E, logit_scale_log, h->Z, h->norm);
  for (size_t k = 0; k < (size_t)C * E; k++) h->params[k] = (float)h->Z[k];
  return 0;
}

void cd_head_free(cd_head *h) {
  if (h->kind == CD_HEAD_PROMPT) cd_text_train_free(&h->tt);
  else free(h->params);
  free(h->Z);
  free(h->dtxt);
  free(h->tproj);
  free(h->z_params);
  memset(h, 0, sizeof *h);
}

int cd_head_forward(cd_head *h, cd_error *e) {
  size_t CE = (size_t)h->C * h->E;
  if (h->kind == CD_HEAD_LINEAR) {
    for (size_t k = 0; k < CE; k++) h->Z[k] = h->params[k];
    for (int c = 0; c < h->C; c++) h->bias[c] = h->params[CE + c];
    return 0;
  }
  if (cd_text_train_alloc(&h->tt, h->m, e)) return -1;
  cd_text_train_forward(&h->tt, h->m, h->params);
  cd_head_forward_from_text(h, h->tt.features);
  return 0;
}

int cd_head_current(const cd_head *h) {
  return h->kind == CD_HEAD_PROMPT && h->z_valid && !memcmp(h->z_params, h->params, sizeof(float) * h->n_params);
}

int cd_head_refresh(cd_head *h, cd_error *e) {
  return cd_head_current(h) ? 0 : cd_head_forward(h, e);
}

void cd_head_forward_from_text(cd_head *h, const float *t) {
  if (h->proj.P) cd_projection_forward(&h->proj, t, h->C, h->tproj), t = h->tproj;
  cd_class_matrix_forward(t, h->C, h->E, h->logit_scale_log, h->Z, h->norm);
  memcpy(h->z_params, h->params, sizeof(float) * h->n_params);
  h->z_valid = 1;
}

void cd_head_backward_to_text(cd_head *h, const double *dZ) {
  if (h->proj.P) {
    cd_class_matrix_backward(h->Z, h->norm, h->C, h->E, h->logit_scale_log, dZ, h->dproj);
    cd_projection_backward(&h->proj, h->dproj, h->C, h->dtxt);
  } else {
    cd_class_matrix_backward(h->Z, h->norm, h->C, h->E, h->logit_scale_log, dZ, h->dtxt);
  }
}

void cd_head_backward(cd_head *h, const double *dZ, const double *dbias, float *grad) {
  size_t CE = (size_t)h->C * h->E;
  if (h->kind == CD_HEAD_LINEAR) {
    for (size_t k = 0; k < CE; k++) grad[k] += (float)dZ[k];
    for (int c = 0; c < h->C && dbias; c++) grad[CE + c] += (float)dbias[c];
    return;
  }
  cd_head_backward_to_text(h, dZ);
  cd_text_train_backward(&h->tt, h->m, h->dtxt, grad);
}

int cd_head_predict(cd_head *h, const float *x, int N, const int32_t *labels, int32_t *pred,
                    double *p_true, double *ce, cd_error *e) {
  enum { CHUNK = 4096 };
  double *l = cd_malloc(sizeof(double) * (size_t)CHUNK * h->C, e);
  if (!l || cd_head_refresh(h, e)) return free(l), -1;
  const double *bias = h->kind == CD_HEAD_LINEAR ? h->bias : NULL;
  for (int s = 0; s < N; s += CHUNK) {
    int n = N - s < CHUNK ? N - s : CHUNK;
    cd_logits_forward(x + (size_t)s * h->E, n, h->Z, bias, h->C, h->E, l);
    cd_softmax_xent_forward(l, labels ? labels + s : NULL, n, h->C, ce ? ce + s : NULL,
                            p_true ? p_true + s : NULL, pred ? pred + s : NULL);
  }
  free(l);
  return 0;
}
