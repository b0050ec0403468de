/* The configuration of `clipdebias run`: every choice of the method is a field with a default,
 * and the resolved configuration (defaults filled in from the cache) is written to
 * RUN_DIR/args.json. Its "training" object holds everything that changes the result of a
 * (method, seed) pair; a rerun into the same RUN_DIR must agree on it, or it would mix pairs
 * trained differently (methods and seeds may differ: finished pairs are reused). */
#ifndef CD_RUN_CONFIG_H
#define CD_RUN_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "data/datasets/dataset.h"
#include "models/debias/methods.h"
#include "models/debias/reduce.h"
#include "models/debias/selection.h"
#include "models/tuning/optim.h"
#include "models/tuning/prompt.h"
#include "models/tuning/tune_head.h"

enum { CD_RUN_MAX_LIST = 64 };

struct cd_run_inputs;

typedef struct {
  /* inputs and output */
  const char *cache_dir;        /* --cache: a feature cache directory */
  const cd_dataset_opts *dataset; /* --dataset --root ...: embed into out_dir/cache first
                                 * (or reuse a matching cache there); NULL with --cache */
  int embed_batch;              /* images per forward pass when embedding (default 32) */
  int skip_bad;                 /* embedding: leave unreadable images out instead of stopping */
  const char *model, *vocab;
  const char *out_dir;
  /* zero-shot and pseudo labels */
  const char *classnames;       /* comma-separated, or NULL: the cache's */
  const char *templates[CD_RUN_MAX_LIST];
  int n_templates;              /* 0: "a photo of a {}." */
  const char *attr_prompts[CD_RUN_MAX_LIST];
  int n_attr_prompts;           /* 0: the dataset's defaults (required for other data sets) */
  const char *cali_prompts[CD_RUN_MAX_LIST];
  int n_cali_prompts;           /* orth-cali's candidates (class-major); 0: composed */
  /* what to run */
  cd_method methods[CD_METHOD_COUNT];
  int n_methods;
  int seeds[CD_RUN_MAX_LIST];
  int n_seeds;
  cd_select_kind select;
  cd_head_kind head;
  /* prompt learner and optimiser (tune's flags) */
  int n_ctx;                    /* used when ctx_init is empty (random init from the seed) */
  const char *ctx_init;         /* default "a photo of a": the zero-shot prompt as start */
  int csc;
  cd_class_position position;
  cd_optim_config optim;
  int batch;
  cd_debias_params debias;
  /* embedding size (models/debias/reduce.h): 0 = full, no projection */
  int dims;
  cd_reduce_kind reduce;
  uint64_t reduce_seed;         /* random projections */
  int threads;                  /* recorded only: results do not depend on it */
  int lockstep;                 /* 1 (default): the prompt-tuned pairs step together, one
                                   text-tower pass per step for all (same results) */
  cd_precision precision;       /* of the text tower tuned: fp32 (default) or bf16 (weights
                                   rounded once to bfloat16, float32 activations and sums);
                                   in args.json's "training" (only when not fp32) */
  /* Library use: called after every trained epoch of every pair (after its resume state is
   * saved); a non-zero return stops the run there, like an interruption (rerunning resumes).
   * NULL: never stops. */
  int (*on_epoch)(void *user, cd_method method, int seed, int epoch);
  void *on_epoch_user;
  /* Library use: when set, the attribute prompts come from this hook instead of --attr-prompt
   * or the dataset's defaults (`run --attr auto` discovers them, `--attr-from` reads them): it
   * gets the loaded inputs and sets in->attr_prompts / n_attr_prompts (memory it owns and keeps
   * alive until cd_run returns). */
  int (*resolve_attr)(void *user, struct cd_run_inputs *in, const char *cache_dir, FILE *log, cd_error *e);
  void *resolve_attr_user;
} cd_run_config;

/* Defaults: methods zeroshot,erm,dpt,oracle; seeds 0,1,2; select val-pseudo; prompt head;
 * ctx-init "a photo of a"; CoOp's optimiser (SGD lr 0.002, momentum 0.9, wd 5e-4, 50 epochs,
 * cosine after 1 warm-up epoch at 1e-5), batch 32; η 2, EMA 0.9, per-epoch updates. */
void cd_run_config_default(cd_run_config *c);
/* "zeroshot,erm,dpt" (in the given order; duplicates refused). */
int cd_run_config_set_methods(cd_run_config *c, const char *list, cd_error *e);
/* "0,1,2" */
int cd_run_config_set_seeds(cd_run_config *c, const char *list, cd_error *e);

/* Refuses, with one message naming the flag, a training setting that has no sensible meaning
 * (the flags of `tune` and `run`): --lr <= 0, --momentum outside [0, 1), --weight-decay < 0,
 * --epochs < 1, --warmup-epochs outside [0, --epochs), --warmup-lr < 0, --batch < 1, --eta < 0,
 * --ema outside [0, 1), --gdro-eta < 0, --gdro-adj < 0, and non-finite values. */
int cd_run_train_check(const cd_optim_config *o, const cd_debias_params *d, int batch, cd_error *e);
/* Every setting of a configuration (run and the stage commands: zeroshot, pseudolabel,
 * eval): cd_run_train_check, then an empty --methods or --seeds, --threads (core/pool.h),
 * empty or identical --attr-prompt values, --n-ctx < 1, --embed-batch < 1. Whether --n-ctx fits the text context with the class names is checked when
 * the prompts are tokenized (cd_prompt_init_text). */
int cd_run_config_check(const cd_run_config *c, cd_error *e);

/* What the cache and defaults resolved to, recorded next to the flags. */
typedef struct {
  const char *cache_dir;        /* the cache actually used */
  const char *dataset;
  char *const *classnames;
  int n_cls;
  char *const *attr_names;
  int n_attr;
  const char *const *templates;
  int n_templates;
  const char *const *attr_prompts;
  int n_attr_prompts;
  int n_rows;
  const char *model_checksum;   /* of the model's weights */
  const char *index_checksum;   /* of the cache's rows and feature values, as loaded (NULL: */
  const char *features_checksum; /* unknown, e.g. a cache built in memory) */
  const char *attr_source;      /* where the attribute prompts came from: "given" (flags or
                                 * the data set's defaults) or "discovered"; NULL: "given" */
} cd_run_resolved;

/* args.json: {"version", "command": "run", "cache", "model", "out", "methods", "seeds",
 * "threads", "training": {...}} */
void cd_run_config_write_json(FILE *fp, const cd_run_config *c, const cd_run_resolved *r);
/* Fails with a message naming the first setting that differs when path (an existing
 * args.json) was written with another "training" configuration; 0 when compatible. */
int cd_run_config_check_resume(const char *path, const char *new_json, cd_error *e);

#endif
