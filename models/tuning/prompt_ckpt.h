/* Prompt-tuning checkpoints: the learned context as <base>.npy ([n_ctx, C] or [n_cls, n_ctx, C]
 * float32, loadable by anyone), the optimiser state as <base>.optim.npy ([2, numel] float32:
 * momentum / first moment, second moment) and a JSON sidecar <base>.json
 *   {"format": "clipdebias-coop", "classnames": [...], "n_ctx", "csc", "position", "ctx_init",
 *    "model", "model_checksum", "step", "epoch", "optim": {...}, "seed", "batch", "max_epoch", ...}
 * where <base> is the context path without ".npy". Each file is written atomically, the
 * sidecar last, so a run interrupted between files still resumes from a consistent epoch
 * (the sidecar names the epoch the .npy files belong to only after they are in place). */
#ifndef CD_PROMPT_CKPT_H
#define CD_PROMPT_CKPT_H

#include <stdint.h>

#include "core/error.h"
#include "models/tuning/optim.h"
#include "ops/kernels/kernels.h"
#include "models/tuning/prompt.h"

typedef struct {
  char **classnames;
  int n_cls;
  int n_ctx, csc, width;
  cd_class_position position;
  char ctx_init[512];
  char model[4096];
  long step;          /* optimiser updates done */
  int epoch;          /* epochs completed */
  uint64_t seed;
  int batch;
  cd_optim_config optim;
  int dims;           /* trained behind a projection to this many dimensions (run --dims);
                       * 0: the model's own embedding */
  char model_checksum[80]; /* the weights checksum of model ("" when unknown: older sidecars) */
  cd_precision precision;  /* of the text tower it was trained with: fp32 (written only when
                            * not fp32, so float32 sidecars stay as they were) or bf16 */
} cd_prompt_ckpt_meta;

/* Fails naming path when its context was trained behind a projection (meta->dims), which a
 * command scoring contexts on the full embedding (eval, tune --resume) cannot reproduce. */
int cd_prompt_ckpt_refuse_projected(const char *path, const cd_prompt_ckpt_meta *meta, cd_error *e);

/* "<base>.json" and "<base>.optim.npy" for a context path. Returns -1 if too long. */
int cd_prompt_ckpt_paths(const char *ctx_path, char *json, char *optim, size_t cap);
int cd_prompt_ckpt_save(const char *ctx_path, const cd_prompt_ckpt_meta *meta,
                        const cd_prompt *p, const cd_optim *o, cd_error *e);
/* Loads the sidecar of ctx_path (the .npy or the .json), the context into ctx (numel must
 * match p->ctx_numel) and, when o is non-NULL, the optimiser state (step included). meta's
 * class names are allocated (cd_prompt_ckpt_meta_free). */
int cd_prompt_ckpt_load_meta(const char *path, cd_prompt_ckpt_meta *meta, cd_error *e);
int cd_prompt_ckpt_load_state(const char *path, cd_prompt *p, cd_optim *o, cd_error *e);
void cd_prompt_ckpt_meta_free(cd_prompt_ckpt_meta *meta);

#endif
