/* CoOp training loop on cached image features: minibatches shuffled per epoch (the order of
 * epoch e depends only on (seed, e), so a resumed run sees the same batches as an
 * uninterrupted one), Dassl's drop_last (an incomplete last batch is dropped when there is at
 * least one full batch), the rate of cd_optim_lr_at per epoch, and a checkpoint after every
 * epoch. */
#ifndef CD_COOP_TRAIN_H
#define CD_COOP_TRAIN_H

#include <stdint.h>

#include "core/error.h"
#include "models/clip/clip.h"
#include "models/tuning/optim.h"
#include "models/tuning/prompt.h"
#include "models/tuning/prompt_ckpt.h"

typedef struct {
  const float *img_n;      /* [N, embed] L2-normalised image features */
  const int32_t *labels;   /* [N] */
  const float *weights;    /* [N] or NULL */
  int N, batch;
  uint64_t seed;
  int start_epoch;         /* epochs already done (resume) */
  int stop_epoch;          /* train epochs [start_epoch, stop_epoch); <= 0: optim max_epoch */
  const char *out_path;    /* checkpoint after each epoch (NULL: none) */
  cd_prompt_ckpt_meta *meta; /* sidecar fields (step/epoch are filled in); needed with out_path */
  int progress;            /* progress line on a terminal */
  float *loss_log;         /* per-step losses (optional) */
  long loss_log_cap;
} cd_coop_train_opts;

typedef struct {
  long steps;              /* updates done in this call */
  double last_loss;
  double train_acc;        /* accuracy over all N samples after training */
  double final_loss;       /* weighted loss over all N after training */
} cd_coop_train_result;

int cd_coop_train(const cd_clip *m, cd_prompt *p, cd_optim *o, const cd_coop_train_opts *opts,
                  cd_coop_train_result *res, cd_error *e);
/* Loss and accuracy of the current context over all samples. */
int cd_coop_evaluate(const cd_clip *m, const cd_prompt *p, const float *img_n,
                     const int32_t *labels, const float *weights, int N, double *loss,
                     double *acc, cd_error *e);
/* Permutation of [0, N) used for epoch e. */
void cd_coop_epoch_order(int *perm, int N, uint64_t seed, int epoch);

#endif
