/* `clipdebias run`: zero-shot CLIP, pseudo spurious labels, then DPT and its baselines over
 * seeds, each evaluated per epoch on the true groups of val and test, selected per epoch, and
 * summarised as the table a robustness paper prints. RUN_DIR receives
 *   args.json        the resolved configuration
 *   a_pseudo.npy     int32 [N] pseudo attribute of every cache row
 *   zeroshot/predictions.npy
 *   <method>/seed<k>/ ctx_selected.npy, ctx_last.npy (+ .json sidecars), ctx.json,
 *                    predictions.npy (int32 [N], selected epoch), metrics.jsonl, done.json;
 *                    or diverged.json (epoch, loss, likely_flag, message) when training diverged
 *   metrics.jsonl    every pair's lines (one per method, seed and epoch)
 *   elapsed.json     wall seconds over every invocation so far, and how many there were
 *   results.json     means and standard deviations over seeds (wall_seconds: the total)
 * Each file is written atomically; done.json last, so a rerun skips exactly the finished
 * (method, seed) pairs. */
#ifndef CD_RUN_H
#define CD_RUN_H

#include <stdio.h>

#include "core/error.h"
#include "data/datasets/feature_cache.h"
#include "models/clip/clip.h"
#include "models/run/run_config.h"
#include "models/tuning/prompt.h"

/* The text side of a run: zero-shot class features, attribute prompt features and the prompt
 * learner's token layout with its initial context. */
typedef struct {
  int n_cls, n_attr_prompts, E;
  float *class_feat;    /* [n_cls, E] normalised zero-shot class features */
  float *attr_feat;     /* [n_attr_prompts, E] normalised attribute prompt features */
  int n_cali;           /* orth-cali's candidate prompts: n_cls x n_attr_prompts, or 0 */
  float *cali_feat;     /* [n_cali, E] normalised, class-major (NULL without orth-cali) */
  cd_prompt prompt;     /* tokens + initial ctx (prompt head) */
} cd_run_text;

/* With the model's tokenizer: templates x class names, attribute prompts, the CoOp prompt. */
int cd_run_text_prepare(cd_run_text *t, const cd_clip *m, const cd_run_config *c,
                        char *const *classnames, int n_cls, const char *const *templates,
                        int n_templates, const char *const *attr_prompts, int n_attr_prompts,
                        cd_error *e);
void cd_run_text_free(cd_run_text *t);

enum { CD_RUN_DIVERGED = 1 };

/* Pairs per lockstep group at most: more pairs that could share a pass train in several
 * groups one after the other. Each pair holds its rows of the group's stacked activations
 * for the tower's backward (about 5 MB on a ViT-B/32 text tower; its head allocates no
 * buffers of its own), and the stacked GEMMs gain little beyond a few dozen prompts. */
enum { CD_RUN_LOCKSTEP_MAX_PAIRS = 48 };

/* Everything after the inputs are resolved: writes RUN_DIR and prints progress notes and the
 * final table to log (NULL: quiet). res names what the defaults resolved to (args.json).
 * A pair whose training diverges (tune_session.h) stops there, is recorded as
 * <method>/seed<k>/diverged.json (a rerun keeps it diverged instead of training it again) and
 * marked "diverged" in results.json and the table; the other pairs go on. Returns 0, -1 on an
 * error, or 1 (CD_RUN_DIVERGED) when every file is written but some pair diverged: e then
 * names each such pair, its epoch, its loss and the likely flag. */
int cd_run_execute(const cd_run_config *c, const cd_feature_cache *cache, const cd_clip *m,
                   const cd_run_text *text, const cd_run_resolved *res, FILE *log, cd_error *e);

/* cd_run_execute in three phases, so that one process can train the pairs of several runs
 * together (cd_run_group):
 *   cd_run_prepare  RUN_DIR's lock, the state (projection, pseudo labels, splits), args.json,
 *                   a_pseudo.npy, projection.npy and the training-free methods (NULL on an
 *                   error; its arguments are borrowed until cd_run_prepared_free);
 *   cd_run_train    the (method, seed) pairs of n prepared runs: each run's pairs that train
 *                   alone (dfr, --lockstep off, the linear head) in turn, then the prompt-tuned
 *                   pairs of all of them in lockstep, one text-tower pass per step for every
 *                   pair that shares a model and a prompt layout (tune_lockstep.h), each pair
 *                   with the files it gets alone; rc[i] = 0, or -1 with errs[i] (an error in
 *                   a lockstep group stops every run with pairs in that group, each pair at
 *                   its last finished epoch: a rerun resumes them; the other groups go on);
 *                   returns -1 when any rc[i] is;
 *   cd_run_finish   metrics.jsonl, results.json and the table; returns as cd_run_execute. */
typedef struct cd_run_prepared cd_run_prepared;
cd_run_prepared *cd_run_prepare(const cd_run_config *c, const cd_feature_cache *cache, const cd_clip *m,
                                const cd_run_text *text, const cd_run_resolved *res, FILE *log, cd_error *e);
int cd_run_train(cd_run_prepared *const *r, int n, int *rc, cd_error *errs);
int cd_run_finish(cd_run_prepared *r, cd_error *e);
void cd_run_prepared_free(cd_run_prepared *r);

/* The cache and model of a configuration, with the class names (--classnames, else the cache's
 * with '_' -> ' '), templates (default "a photo of a {}.") and attribute prompts (--attr-prompt,
 * else the dataset's defaults; only resolved when need_attr_prompts). */
typedef struct cd_run_inputs {
  cd_feature_cache cache;
  cd_clip model;
  int model_loaded;
  char **classnames;
  int n_cls;
  const char *const *templates;
  int n_templates;
  const char *const *attr_prompts;
  int n_attr_prompts;
  char model_checksum[80];       /* of the loaded weights (models/embed/embed_dataset.h) */
} cd_run_inputs;

int cd_run_inputs_load(cd_run_inputs *in, const cd_run_config *c, int need_attr_prompts, cd_error *e);
void cd_run_inputs_free(cd_run_inputs *in);

/* The whole command under RUN_DIR's lock: cd_run_inputs_load, the text features,
 * cd_run_execute. Returns as cd_run_execute: 0, -1, or CD_RUN_DIVERGED with every file
 * written. The page of the run (report.html) is the caller's to draw from those files
 * (tools/report/report.h), also when some pair diverged. */
int cd_run(const cd_run_config *c, FILE *log, cd_error *e);

/* Several runs in one process (a sweep's cells): each as cd_run (its lock, inputs, files and
 * log: logs[i], NULL for quiet), every run prepared first, then the pairs of all of them in
 * one cd_run_train, then each finished. Runs with the same model, vocabulary and precision
 * share one loaded model (runs that resolve their attribute prompts with a hook load their
 * own), so their prompt-tuned pairs share the text tower's pass when their prompt layouts
 * agree. Every run gets the files it gets alone, bit for bit. rc[i] is what cd_run returns
 * for run i (0, -1 with errs[i], CD_RUN_DIVERGED with errs[i]). */
void cd_run_group(const cd_run_config *const *c, int n, FILE *const *logs, int *rc, cd_error *errs);

#endif
