/* A prompt-tuning session: the training loop shared by `tune` and `run`, over a head
 * (tune_head.h: CoOp context or linear probe) on cached, normalised image features.
 *  - minibatches shuffled per epoch; the order of epoch e depends only on (seed, e), so a
 *    resumed run sees the same batches as an uninterrupted one;
 *  - Dassl's drop_last (an incomplete last batch is dropped when a full one exists);
 *  - the learning rate of cd_optim_lr_at, once per epoch;
 *  - per batch: head forward, logits, per-sample cross-entropy and true-class probability,
 *    then the weights hook chooses w_i and the denominator (ERM: 1 and B), loss
 *    Σ w_i CE_i / denom, backward, optimiser step;
 *  - after every epoch: the epoch hook (evaluation, DPT's weight update, model selection,
 *    logging), then an optional prompt checkpoint (prompt_ckpt.h).
 * Divergence stops the session (it fails with s->diverged set, and no hook or checkpoint runs
 * for that epoch): a sample's cross-entropy that is not finite (checked every step, before the
 * weights hook sees it), a parameter that is not finite at the end of an epoch, or an epoch's
 * mean loss above CD_TUNE_DIVERGED_LOSS x ln C. A uniform guess scores ln C; the prompt head's
 * logits are bounded by the logit scale (100), so only runaway parameters (a linear head) get
 * that far, and no training that still learns does.
 * Results do not depend on the thread count: every kernel underneath is deterministic. */
#ifndef CD_TUNE_SESSION_H
#define CD_TUNE_SESSION_H

#include <stdint.h>

#include "core/error.h"
#include "models/clip/clip.h"
#include "models/tuning/optim.h"
#include "models/tuning/prompt.h"
#include "models/tuning/prompt_ckpt.h"
#include "models/tuning/tune_head.h"

/* How a CoOp prompt is built: class names, n_ctx "X" placeholders initialised N(0, 0.02^2)
 * from seed, or the token embeddings of ctx_init (n_ctx = its token count). */
typedef struct {
  char *const *classnames;
  int n_cls;
  int n_ctx;
  const char *ctx_init;    /* NULL or "" for random initialisation */
  int csc;
  cd_class_position position;
  uint64_t seed;
} cd_prompt_spec;

int cd_prompt_setup(cd_prompt *p, const cd_clip *m, const cd_prompt_spec *s, cd_error *e);

typedef struct {
  const float *x;          /* [N, E] L2-normalised image features */
  const int32_t *y;        /* [N] labels in [0, C) */
  const float *weights;    /* [N] fixed per-sample weights (denominator Σ w) or NULL */
  int N, batch;
  uint64_t seed;
} cd_tune_data;

typedef struct {
  /* Per batch: weights w [B] and the loss denominator for samples idx [B], from their
   * cross-entropies and true-class probabilities under the current parameters. NULL: the
   * data's fixed weights (or 1) with denominator Σ w. */
  void (*batch_weights)(void *user, const int *idx, int B, const double *ce,
                        const double *p_true, float *w, double *denom);
  /* After each optimiser step (step counts this session's steps from 1). */
  void (*step_end)(void *user, long step, double loss);
  /* After each epoch (epoch = epochs completed, mean_loss = mean batch loss of the epoch).
   * Non-zero stops the session with e filled. */
  int (*epoch_end)(void *user, int epoch, double mean_loss, cd_error *e);
  void *user;
  const char *progress_label; /* progress line on a terminal; NULL: none */
  const char *ckpt_path;      /* prompt checkpoint after every epoch (prompt head); NULL: none */
  cd_prompt_ckpt_meta *meta;  /* sidecar of the checkpoint (epoch and step are filled in) */
  /* 1: epoch_end and the checkpoint touch only this session's state and files (what they
   * share with other sessions they lock), so that a lockstep group may end several sessions'
   * epochs at once (their evaluations and fsyncs on different threads). */
  int epoch_end_concurrent;
} cd_tune_hooks;

enum { CD_TUNE_DIVERGED_LOSS = 1000 };

typedef struct {
  cd_head *head;
  cd_optim *opt;
  cd_tune_data data;
  int epoch;               /* epochs completed */
  long steps;              /* steps done by this session */
  double last_loss;
  int diverged;            /* set when the session failed because training diverged: */
  int diverged_epoch;      /*   in this epoch (1-based) */
  double diverged_loss;    /*   with this loss (a batch's, or the epoch's mean) */
  /* scratch */
  int *perm;
  float *bx, *w, *grad;
  int32_t *by;
  double *l, *dl, *ce, *p_true, *dZ, *dbias;
} cd_tune_session;

int cd_tune_session_init(cd_tune_session *s, cd_head *h, cd_optim *o, const cd_tune_data *d,
                         int start_epoch, cd_error *e);
void cd_tune_session_free(cd_tune_session *s);
/* Trains epochs [s->epoch, stop_epoch) (stop_epoch <= 0: the optimiser's max_epoch). On
 * divergence e says when, the loss and the likely flag (cd_optim_divergence_hint). */
int cd_tune_session_run(cd_tune_session *s, int stop_epoch, const cd_tune_hooks *hk, cd_error *e);
/* One step in pieces, for a runner that interleaves sessions (tune_lockstep.h):
 *   gather  the batch idx[0..B) into the session's scratch;
 *   (the head's Z made current for the parameters)
 *   loss    logits, per-sample CE, the weights hook, *loss = Σ w CE / denom, and its gradient
 *           s->dZ (and s->dbias) for the head's backward into s->grad, then cd_optim_step.
 *           CD_TUNE_STEP_DIVERGED (*loss = the sample's) when a sample's loss is not finite. */
enum { CD_TUNE_STEP_DIVERGED = 1 };
void cd_tune_step_gather(cd_tune_session *s, const int *idx, int B);
int cd_tune_step_loss(cd_tune_session *s, const int *idx, int B, const cd_tune_hooks *hk,
                      double *loss, cd_error *e);
/* At the end of an epoch whose batches had this mean loss: the divergence checks, then
 * s->epoch++, the epoch hook and the checkpoint. */
int cd_tune_session_end_epoch(cd_tune_session *s, const cd_tune_hooks *hk, double mean_loss, cd_error *e);
/* Records that training diverged in epoch s->epoch + 1 with this loss (NAN: the parameters are
 * no longer finite) and fails with when, the loss and the likely flag. */
int cd_tune_session_diverged(cd_tune_session *s, double loss, cd_error *e);
/* A prompt checkpoint whose training diverged (tune): <ckpt without .npy>.diverged.json records
 * the epoch, the loss and the message, next to the checkpoint of the last finished epoch.
 * Resuming from it or evaluating it is refused (cd_tune_diverged_refuse); a fresh tune into the
 * same path removes it (cd_tune_diverged_clear). */
int cd_tune_diverged_save(const char *ckpt, const cd_tune_session *s, const char *message, cd_error *e);
int cd_tune_diverged_refuse(const char *ckpt, cd_error *e);
void cd_tune_diverged_clear(const char *ckpt);

/* Steps per epoch for N samples at batch B (drop_last). */
int cd_tune_steps_per_epoch(int N, int B);
/* Permutation of [0, N) used for epoch e. */
void cd_tune_epoch_order(int *perm, int N, uint64_t seed, int epoch);
/* Mean cross-entropy (weights NULL: plain mean) and accuracy of the head over all rows. */
int cd_tune_evaluate(cd_head *h, const float *x, const int32_t *y, const float *weights, int N,
                     double *loss, double *acc, cd_error *e);

#endif
