/* CoOp / Debiased Prompt Tuning objective on cached image features:
 *   logits[i,c] = exp(logit_scale) * <img_i / |img_i|, txt_c / |txt_c|>
 *   loss        = Σ_i w_i * CE(logits_i, y_i) / Σ_i w_i       (w_i = 1 when weights is NULL)
 * and its gradient with respect to the unnormalised text features (through the L2
 * normalisation). Image features are normalised once by the caller (cd_l2_normalize_rows). */
#ifndef CD_COOP_LOSS_H
#define CD_COOP_LOSS_H

#include <stdint.h>

#include "core/error.h"

/* img_n [N,E] normalised image features; txt [n_cls,E] text features; labels [N] in
 * [0,n_cls); weights [N] >= 0 with a positive sum (or NULL). Outputs: logits [N,n_cls]
 * (may be NULL), *loss, dtxt [n_cls,E] = d loss / d txt (overwritten; may be NULL), and
 * *n_correct (argmax == label count; may be NULL). Sums are formed in double. */
int cd_coop_loss(const float *img_n, int N, const float *txt, int n_cls, int E,
                 float logit_scale_log, const int32_t *labels, const float *weights,
                 float *logits, double *loss, float *dtxt, int *n_correct, cd_error *e);

#endif
