/* One training job: a head trained on the training rows of a feature cache with a method's
 * sample weights. It is the one place that wires the pieces together, for `tune`, for every
 * (method, seed) pair of `run` (and so for sweep cells) and for JTT's first stage:
 *   head       a CoOp prompt built from its spec (context from the seed or --ctx-init),
 *              behind an optional projection, or a linear probe at the zero-shot classifier
 *   optimiser  from its config (optim.h), on the head's parameters
 *   weights    none | fixed per-sample weights | group weights during training (reweight.h:
 *              dpt, the oracle, GroupDRO), started from the initial head's probabilities
 *   resume     from a tune checkpoint (context, optimiser and group weights of its epoch), or
 *              from state the caller restores between init and begin (run's resume files)
 *   files      with a checkpoint path: the checkpoint after every epoch, the group weights
 *              beside it, and a diverged marker when training diverges (tune_session.h)
 *   hooks      the caller's epoch hook after the weights' epoch step, before the checkpoint.
 * The session loop itself is tune_session.h's. A job is one pair's state: a lockstep runner
 * (tune_lockstep.h) steps the sessions of several begun jobs together (cd_train_job.s, .hk).
 * Use: init, (restore state), begin, run or a lockstep runner, free. */
#ifndef CD_TRAIN_JOB_H
#define CD_TRAIN_JOB_H

#include <stdint.h>

#include "core/error.h"
#include "models/clip/clip.h"
#include "models/debias/reweight.h"
#include "models/tuning/optim.h"
#include "models/tuning/projection.h"
#include "models/tuning/prompt.h"
#include "models/tuning/prompt_ckpt.h"
#include "models/tuning/tune_head.h"
#include "models/tuning/tune_session.h"

typedef struct {
  /* training rows: L2-normalised features x [N, E] and labels y [N] in [0, C) (not owned) */
  const float *x;
  const int32_t *y;
  int N;
  /* the head */
  cd_head_kind head;
  const cd_clip *m;            /* the model (prompt head: its text tower and tokenizer) */
  cd_prompt_spec prompt;       /* prompt head; its seed is ignored: the job's seed draws it */
  const cd_prompt *layout;     /* prompt head: a prompt built already (run: once for all its
                                * pairs) whose tokens are copied instead of tokenizing the spec
                                * again; its context too when the spec has a ctx_init */
  const cd_projection *proj;   /* prompt head behind P [D,E] (NULL: the full embedding) */
  const float *class_feat;     /* linear head: [C,E] zero-shot class features, C = prompt.n_cls */
  int E;                       /* linear head: feature width */
  /* optimisation */
  cd_optim_config optim;       /* max_epoch = where run stops */
  int batch;
  uint64_t seed;               /* context draw (random init) and batch order */
  /* weighting: fixed per-sample weights, or group weights of the kind in reweight */
  const float *sample_w;       /* [N] or NULL (1 each) */
  cd_reweight_params reweight; /* kind CD_REWEIGHT_NONE: no group weights */
  const int32_t *group;        /* [N] group of each row (reweight), values in [0, G) */
  int G;
  /* a tune checkpoint (prompt head) */
  const char *ckpt;            /* written after every epoch (NULL: none) */
  const char *resume;          /* continue from this checkpoint at start_epoch (NULL: fresh) */
  int start_epoch;             /* the epoch the caller resumes from (0: fresh) */
  const char *model_path;      /* recorded in the checkpoint sidecar */
  const char *model_checksum;  /* likewise (NULL: unknown) */
  int dims;                    /* likewise: the projection's width (0: none) */
  cd_precision precision;      /* likewise: of the text tower, m->text_rows (fp32 or bf16); a
                                * resume must match it */
  /* after every epoch (epochs completed, the epoch's mean loss); non-zero stops the job */
  int (*epoch_end)(void *user, int epoch, double mean_loss, cd_error *e);
  void *user;
  int epoch_end_concurrent;    /* epoch_end may run beside other jobs' (cd_tune_hooks) */
  const char *progress_label;  /* progress line on a terminal (NULL: none) */
  int want_start_loss;         /* begin of a fresh job computes j->start_loss (run: epoch 0) */
} cd_train_job_config;

typedef struct {
  cd_train_job_config cfg;
  cd_prompt prompt;
  cd_head head;
  cd_optim opt;
  cd_reweight rw;              /* rw.G = 0 without group weights */
  int weighted;                /* group weights on */
  cd_prompt_ckpt_meta meta;    /* the checkpoint sidecar (epoch and step kept current) */
  char state_path[4200];       /* group weights beside the checkpoint ("" when none) */
  cd_tune_session s;           /* after begin */
  cd_tune_hooks hk;
  double start_loss;           /* begin of a fresh job: mean cross-entropy of the initial head */
} cd_train_job;

/* Builds the head, the optimiser and the weights (not started); with c->resume also loads the
 * checkpoint's context and optimiser state. c's pointers must outlive the job. */
int cd_train_job_init(cd_train_job *j, const cd_train_job_config *c, cd_error *e);
/* Starts training at start_epoch: fresh (0), the group weights from the initial head's
 * probabilities (and its mean cross-entropy into j->start_loss when asked); resumed, the group weights of
 * that epoch from the checkpoint's state file (the caller restores them in j->rw otherwise).
 * Then the session and its hooks. */
int cd_train_job_begin(cd_train_job *j, int start_epoch, cd_error *e);
/* Trains up to cfg.optim.max_epoch. On divergence j->s.diverged is set and e says when; with
 * a checkpoint the marker is written beside it and e names it. */
int cd_train_job_run(cd_train_job *j, cd_error *e);
void cd_train_job_free(cd_train_job *j);

/* The checkpoint sidecar of the job at epoch (the context it describes is the caller's). */
void cd_train_job_meta(const cd_train_job *j, int epoch, cd_prompt_ckpt_meta *meta);

/* The settings of a tune checkpoint replace c's (prompt layout, optimiser, seed, batch; the
 * optimiser's max_epoch too unless keep_max_epoch) and c->resume, c->start_epoch are set.
 * Refused: a diverged or projected checkpoint, or one trained on other class names or at
 * another precision than c->precision (set it first). old
 * holds strings c then points into (cd_prompt_ckpt_meta_free after the job). */
int cd_train_job_resume_from(cd_train_job_config *c, const char *ckpt, int keep_max_epoch,
                             cd_prompt_ckpt_meta *old, cd_error *e);

#endif
