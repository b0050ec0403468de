/* The engine-side model loader of the commands that need a cd_clip itself (the towers'
 * layout, prompt tuning, the tokenizer alone): the same options and messages as cd_cli_load. */
#include "tools/cli/cli_model.h"

#include <stdio.h>
#include <stdlib.h>

#include "tools/cli/args.h"

int cd_cli_load_model(const cd_cli_opts *o, int need_tokenizer, cd_clip *m) {
  if (cd_cli_need_model(o)) return -1;
  cd_clip_load_opts lo = {o->vocab, need_tokenizer, o->towers, o->pack_text, (cd_precision)o->precision, CD_PREC_FP32};
  /* A text tower kept for tuning (prompt-grad, tune): the precision is its weight rows' */
  int tuning = o->towers == CD_TOWER_TEXT && !o->pack_text;
  if (tuning) lo.precision = CD_PREC_FP32, lo.text_rows = (cd_precision)o->precision;
  cd_error e;
  if (cd_clip_load(m, o->model, &lo, &e)) return cd_cli_fail("%s", e.msg), -1;
  if (tuning && o->precision != CD_PREC_FP32)
    fprintf(stderr, "clipdebias: --precision %s: the text tower's weights rounded once to bfloat16, float32 "
                    "activations, gradients and sums\n", cd_precision_name((cd_precision)o->precision));
  else
    cd_cli_say_precision(o->precision);
  return 0;
}

int cd_cli_tokenize_all(const cd_clip *m, const cd_cli_opts *o, int truncate, int32_t **tokens) {
  int L = m->text.context;
  if (!m->tokenizer) return cd_cli_fail("%s: no tokenizer loaded", m->path), -1;
  int32_t *t = calloc((size_t)o->n_texts * (size_t)L, sizeof(int32_t));
  if (!t) return cd_cli_fail("out of memory"), -1;
  cd_error e;
  for (int i = 0; i < o->n_texts; i++)
    if (cd_tokenize(m->tokenizer, o->texts[i], L, truncate, t + (size_t)i * L, &e)) {
      free(t);
      return cd_cli_fail("text %d: %s", i + 1, e.msg), -1;
    }
  *tokens = t;
  return 0;
}
