/* The engine-side model loader of the commands that need a cd_clip itself (the towers'
 * layout, prompt tuning, the tokenizer alone): the same options and messages as cd_cli_load. */
#ifndef CD_CLI_MODEL_H
#define CD_CLI_MODEL_H

#include "models/clip/clip.h"
#include "tools/cli/cli_common.h"

/* Loads the model named by --model (prints the error and returns -1 on failure). */
int cd_cli_load_model(const cd_cli_opts *o, int need_tokenizer, cd_clip *m);
/* Tokenizes every text into a malloc'd int32 [n, context] array. */
int cd_cli_tokenize_all(const cd_clip *m, const cd_cli_opts *o, int truncate, int32_t **tokens);

#endif
