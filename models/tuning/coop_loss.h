/* CoOp / Debiased Prompt Tuning objective on cached image features, split into ops that each
 * have a forward and a backward so that logits exist without labels (zero-shot, evaluation)
 * and per-sample losses exist before the weights are chosen (GroupDRO, DPT):
 *
 *   class matrix   Z[c,:] = exp(logit_scale) · t_c / |t_c|          t = text features [C,E]
 *   logits         l[i,c] = <x_i, Z[c,:]> + b_c                       x = normalised images
 *   softmax + CE   p[i,:] = softmax(l[i,:]),  ce_i = -log p[i,y_i]
 *   weighted loss  L = Σ_i w_i ce_i / denom    (denom = Σ_i w_i for DPT/ERM, 1 for GroupDRO)
 *
 * Shapes: N samples, C classes, E embedding width. Everything past the image features is kept
 * in double: C and E are small (classes x embed), and double keeps the gradient free of
 * cancellation error. A linear probe uses logits with its own Z = W and bias b. */
#ifndef CD_COOP_LOSS_H
#define CD_COOP_LOSS_H

#include <stdint.h>

#include "core/error.h"

/* Z [C,E] and norm [C] = |t_c| from text features txt [C,E]. */
void cd_class_matrix_forward(const float *txt, int C, int E, float logit_scale_log, double *Z,
                             double *norm);
/* dtxt [C,E] = d L / d txt given dZ = d L / d Z (through t/|t|: s (I - t̂ t̂ᵀ) dZ / |t|). */
void cd_class_matrix_backward(const double *Z, const double *norm, int C, int E,
                              float logit_scale_log, const double *dZ, float *dtxt);

/* logits [N,C] = x [N,E] · Zᵀ + bias (bias [C] may be NULL). Rows are independent and
 * computed in parallel (each row by one thread: identical results for any thread count). */
void cd_logits_forward(const float *x, int N, const double *Z, const double *bias, int C, int E,
                       double *logits);
/* dZ [C,E] = dlogitsᵀ · x (overwritten); dbias [C] = column sums of dlogits (may be NULL). */
void cd_logits_backward(const float *x, int N, const double *dlogits, int C, int E, double *dZ,
                        double *dbias);

/* In place: each row of l [N,C] becomes its softmax. Per sample, when the pointer is non-NULL:
 * pred[i] = argmax (first maximum), and with labels: ce[i] = -log p[i,y_i], p_true[i] = p[i,y_i]. */
void cd_softmax_xent_forward(double *l, const int32_t *labels, int N, int C, double *ce,
                             double *p_true, int32_t *pred);
/* dl [N,C] = w_i / denom · (p[i,:] - onehot(y_i)) (w NULL: all 1). */
void cd_softmax_xent_backward(const double *p, const int32_t *labels, const float *w,
                              double denom, int N, int C, double *dl);

/* All of the above for one batch with the DPT normalisation (denom = Σ w):
 * img_n [N,E] normalised image features; txt [C,E] text features; labels [N] in [0,C);
 * weights [N] >= 0 with a positive sum (or NULL). Outputs: logits [N,C] (may be NULL), *loss,
 * dtxt [C,E] = d loss / d txt (overwritten; may be NULL), *n_correct (may be NULL). */
int cd_coop_loss(const float *img_n, int N, const float *txt, int n_cls, int E,
                 float logit_scale_log, const int32_t *labels, const float *weights,
                 float *logits, double *loss, float *dtxt, int *n_correct, cd_error *e);

#endif
