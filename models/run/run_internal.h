/* Shared state of one `run` between run_execute.c (orchestration), run_pair.c (one method and seed)
 * and run_output.c (JSON and the table). Not a public interface. */
#ifndef CD_RUN_INTERNAL_H
#define CD_RUN_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "data/groups/group_metrics.h"
#include "models/debias/eval.h"
#include "models/run/run.h"
#include "models/debias/reweight.h"
#include "models/debias/selection.h"
#include "models/tuning/optim.h"
#include "models/tuning/projection.h"
#include "models/debias/train_job.h"
#include "models/tuning/tune_head.h"

enum { CD_SPLIT_TRAIN = 0, CD_SPLIT_VAL = 1, CD_SPLIT_TEST = 2, CD_SPLITS = 3 };

typedef struct {
  const cd_run_config *cfg;
  const cd_feature_cache *cache;
  const cd_clip *m;
  const cd_run_text *text;
  FILE *log;
  char *const *classnames; /* [C] the names the prompts were built with */
  int N, E, C;             /* E: the width the cosine sees (dims, or the model's D) */
  int D;                   /* the model's embedding width */
  float *P;                /* [D,E] projection (--dims), NULL for the full embedding */
  cd_projection proj;
  const float *class_feat; /* [C,E] zero-shot class features after the projection */
  const float *attr_feat;  /* [K,E] normalised attribute prompt features after it */
  const float *cali_feat;  /* [text->n_cali, E] orth-cali's candidates after it (or NULL) */
  float *owned_text;       /* storage of the two above when projected */
  int n_attr;              /* true attribute values (0: unknown everywhere) */
  int K;                   /* attribute prompts = pseudo attribute values */
  int G, G_pseudo;         /* true groups (classes when n_attr = 0), pseudo groups C*K */
  float *x;                /* [N, E] normalised features of every row */
  int32_t *a_pseudo;       /* [N] */
  int *rows[CD_SPLITS];    /* row indices of each split */
  int n_rows[CD_SPLITS];
  float *xs[CD_SPLITS];    /* [n_rows, E] gathered features */
  int32_t *ys[CD_SPLITS];  /* [n_rows] gathered labels */
  int32_t *g_true_train;   /* [n_train] true group (-1 unknown) */
  int32_t *g_pseudo_train; /* [n_train] */
  int64_t *train_counts;   /* [G] true-group counts of the training split */
  int64_t *pseudo_counts;  /* [G_pseudo] pseudo-group counts of the training split */
  double wall_before;      /* seconds spent in RUN_DIR by earlier invocations (elapsed.json) */
  double t0;               /* when this invocation started */
  int invocation;          /* 1 for the first */
  const char *model_checksum; /* recorded in the context sidecars (NULL: unknown) */
  int jtt_epochs;          /* JTT's T and λ_up, resolved (flags or the data set's defaults) */
  double jtt_up;
} cd_run_state;

/* RUN_DIR/elapsed.json = {"wall_seconds": earlier invocations + this one so far,
 * "invocations": n}: saved after every epoch of every pair, so that a killed run's time is
 * counted too, and results.json's wall_seconds is the total over every invocation. */
/* Reads RUN_DIR/elapsed.json into st (wall_before, invocation; none: 0 and 1). */
int cd_run_load_elapsed(cd_run_state *st, cd_error *e);
double cd_run_wall_seconds(const cd_run_state *st);
/* Writes elapsed.json with seconds as the total so far. */
int cd_run_write_elapsed(const cd_run_state *st, double seconds, cd_error *e);
int cd_run_save_elapsed(const cd_run_state *st, cd_error *e);

/* Metrics of one evaluation (val and test over true groups, val over pseudo groups). */
typedef struct {
  cd_group_metrics val, val_pseudo, test;
  int32_t *pred;           /* [N]: predictions on val and test rows (other rows untouched) */
} cd_run_eval;

int cd_run_eval_init(cd_run_eval *ev, const cd_run_state *st, cd_error *e);
void cd_run_eval_free(cd_run_eval *ev);
/* Predictions of head on val and test, and their metrics. */
int cd_run_evaluate(const cd_run_state *st, cd_head *h, cd_run_eval *ev, cd_error *e);
/* The metrics of the predictions already in ev->pred (val and test rows). */
void cd_run_evaluate_pred(const cd_run_state *st, cd_run_eval *ev);
/* Predictions of head on every row into pred [N]. */
int cd_run_predict_all(const cd_run_state *st, cd_head *h, int32_t *pred, cd_error *e);
/* Metrics of the predictions pred [N] on one split over true groups. */
void cd_run_split_metrics(const cd_run_state *st, const int32_t *pred, int split, cd_group_metrics *m);

/* "<out>/<method>/seed<k>/<name>" (seed < 0: "<out>/<method>/<name>"); -1 if too long. */
int cd_run_path(char *buf, size_t cap, const cd_run_state *st, const char *method, int seed,
                const char *name);

/* One metrics.jsonl line. seed < 0 and lr NaN print null; weights/p_bar NULL print null. */
void cd_run_write_metrics_line(FILE *fp, const char *method, int seed, int epoch, double loss,
                               double lr, const char *weight_groups, const double *weights,
                               const double *p_bar, int G, const cd_run_eval *ev);

/* Trains and evaluates one (method, seed) pair into its directory, done.json last. An
 * interrupted pair continues from the state its last finished epoch saved (identical to an
 * uninterrupted run). Returns 0, -1 on an error, or CD_RUN_DIVERGED when training diverged:
 * then diverged.json is written instead of done.json and e holds the message. */
int cd_run_pair(const cd_run_state *st, cd_method method, int seed, cd_error *e);
/* The same for n pairs trained in lockstep (prompt head only), pair i of the run st[i]: the
 * pairs that share a model and a prompt layout (one run's, or several runs' in one process:
 * a sweep's cells) take one text-tower pass per step together, each with the files, resume
 * state and results it gets alone. status[i] = 0, CD_RUN_DIVERGED (a diverged pair leaves
 * its group, the others go on; errs[i] its message) or -1 with errs[i]: an error stops the
 * lockstep group it happens in (its pairs keep their last finished epoch: a rerun resumes
 * them), the other groups go on. Returns -1 when any status[i] is. */
int cd_run_pairs_lockstep(const cd_run_state *const *st, const cd_method *methods, const int *seeds, int n,
                          int *status, cd_error *errs);

/* A pair whose training diverged, as its diverged.json records it. */
typedef struct {
  int epoch;               /* the epoch it diverged in (1-based) */
  double loss;             /* NAN when not finite */
  char likely_flag[256];   /* e.g. "--lr 1000" */
  char message[1024];
} cd_run_divergence;

/* 1 with *d filled when <method>/seed<k>/diverged.json is there, 0 when not, -1 when it is
 * damaged. */
int cd_run_pair_divergence(const cd_run_state *st, cd_method method, int seed, cd_run_divergence *d, cd_error *e);
/* A training-free method (kind CD_KIND_TEXT): predictions of every row into pred [N],
 * <method>/predictions.npy and its metrics line into lines (run_text.c). */
int cd_run_text_method(const cd_run_state *st, cd_method m, int32_t *pred, FILE *lines, cd_error *e);
/* A fitted method (kind CD_KIND_FIT: dfr, dfr-pseudo) for one seed into its pair directory,
 * done.json last (run_dfr.c). */
int cd_run_fit_pair(const cd_run_state *st, cd_method m, int seed, cd_error *e);
/* JTT's per-sample weights [n_train] from its first stage (ERM for T epochs) for this seed;
 * *errors = |E| (run_jtt.c). */
int cd_run_jtt_weights(const cd_run_state *st, int seed, float **w, int *errors, cd_error *e);
/* The same for n seeds, their first stages trained in lockstep: w[i] and errors[i] for
 * seeds[i] (prompt head). */
int cd_run_jtt_weights_lockstep(const cd_run_state *st, const int *seeds, int n, float **w, int *errors,
                                cd_error *e);

/* One pair while it trains (run_pair.c), and its files (run_pair_files.c). */
typedef struct {
  const cd_run_state *st;
  cd_method method;
  int seed;
  cd_train_job job;            /* head, optimiser, group weights and session */
  const char *weight_groups;  /* "pseudo" | "true" | NULL */
  cd_run_eval ev;
  cd_selector sel;
  float *selected;            /* parameters of the selected epoch */
  int selected_epoch;
  FILE *lines;                /* this pair's metrics.jsonl, in memory */
  char *lines_buf;
  size_t lines_len;
  char label[160];            /* progress line label */
  int diverged, diverged_epoch; /* from the tuning session (tune_session.h) */
  double diverged_loss;
  float *sample_w;            /* [n_train] fixed per-sample weights (jtt) or NULL */
  int jtt_errors;
} cd_run_pair_ctx;

/* The training job of the seed on the training split (run_head.c): the CoOp prompt (context
 * from ctx-init or drawn from the seed, behind the run's projection) or the linear probe at the
 * zero-shot classifier, the run's optimiser and batches, no weights (the caller adds them). */
void cd_run_job_config(const cd_run_state *st, int seed, cd_train_job_config *c);

/* buf (4200 bytes) = the pair's directory + name. */
int cd_run_pair_path(char *buf, const cd_run_pair_ctx *p, const char *name, cd_error *e);
/* metrics.jsonl, ctx files, predictions.npy, then done.json; removes the resume state. */
int cd_run_pair_write(cd_run_pair_ctx *p, double seconds, cd_error *e);
/* diverged.json: the epoch, the loss, the likely flag and message (the session's). */
int cd_run_pair_write_diverged(cd_run_pair_ctx *p, const char *message, cd_error *e);
/* Resume state after epoch `epoch` (state/e<k>.* then state/state.json naming k). */
int cd_run_pair_save_state(cd_run_pair_ctx *p, int epoch, cd_error *e);
/* Loads the saved state; *epoch = 0 when there is none. */
int cd_run_pair_load_state(cd_run_pair_ctx *p, int *epoch, cd_error *e);

#endif
