/* Options of the stage commands (zeroshot, pseudolabel, eval) parsed into a run configuration:
 * --cache --model --vocab --threads --out always; the others when the command accepts them. */
#ifndef CD_STAGE_ARGS_H
#define CD_STAGE_ARGS_H

#include "clipdebias.h"
#include "core/outdir_lock.h"
#include "models/run/run_config.h"

enum { CD_STAGE_CLASSNAMES = 1, CD_STAGE_TEMPLATES = 2, CD_STAGE_ATTR_PROMPTS = 4, CD_STAGE_CTX = 8 };

/* Fills c (defaults first) and *ctx (--ctx) from argv; prints one message and returns -1 on
 * an unknown option or a missing --cache/--model/--out. */
int cd_stage_parse(int argc, char **argv, const char *command, int accepts, cd_run_config *c, const char **ctx);

/* Locks the output folder of a stage command for writing (out_is_file: the folder holding
 * the file out). Prints the message and returns -1 when another process writes it. */
int cd_stage_lock_out(cd_outdir_lock *l, const char *out, int out_is_file, const char *command);

/* What the stage commands work on, opened through the public API as run opens them: the cache,
 * the class names (--classnames or the cache's), the model (trainable, with its tokenizer:
 * the numbers are then the run's), checked against each other. */
typedef struct {
  clipdebias_cache *cache;
  clipdebias_model *model;
  char **classnames;
  int n_cls;
  const char *const *attr_prompts; /* with need_attr_prompts: --attr-prompt or the defaults */
  int n_attr_prompts;
} cd_stage_inputs;

/* The settings first (cd_run_config_check), then the inputs. Prints the message and returns
 * -1 (everything released) when one cannot be opened. */
int cd_stage_open(cd_stage_inputs *in, const cd_run_config *c, int need_attr_prompts);
void cd_stage_close(cd_stage_inputs *in);

/* 1 when out does not exist yet, or is a file pseudolabel wrote (its .json sidecar lists
 * attr_prompts): what pseudolabel may overwrite. */
int cd_stage_made_by_pseudolabel(const char *out);

/* buf (4200 bytes) = "dir/name" after making dir (and its parents); prints the message and
 * returns -1 when it cannot. */
int cd_stage_out_file(char *buf, const char *dir, const char *name);

/* buf (4200 bytes) = "dir/name"; fails with a message in e when too long. */
int cd_stage_path(char *buf, const char *dir, const char *name, cd_error *e);

#endif
