/* Prompt learner set up from class names with the BPE tokenizer (kept apart from prompt.c so
 * that code working from pre-tokenized ids does not pull in the tokenizer). */
#include "models/tuning/prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cd_prompt_init_text(cd_prompt *p, const cd_tokenizer *tok, char *const *classnames,
                        int n_cls, int n_ctx, const char *ctx_init, int width, int csc,
                        cd_class_position position, cd_error *e) {
  memset(p, 0, sizeof *p);
  if (n_cls < 1) return cd_fail(e, "prompt: no class names");
  char *prefix = NULL;
  if (ctx_init && *ctx_init) {
    /* CoOp: '_' -> ' ' and n_ctx = the phrase's length; we count BPE tokens so that a
     * multi-token word still lines up with the context slots. */
    size_t L = strlen(ctx_init);
    prefix = cd_malloc(L + 1, e);
    if (!prefix) return -1;
    for (size_t i = 0; i <= L; i++) prefix[i] = ctx_init[i] == '_' ? ' ' : ctx_init[i];
    int32_t *ids = NULL;
    int n = 0;
    if (cd_tokenizer_encode(tok, prefix, &ids, &n, e)) {
      free(prefix);
      return -1;
    }
    free(ids);
    if (n < 1) {
      free(prefix);
      return cd_fail(e, "--ctx-init '%s' has no tokens", ctx_init);
    }
    n_ctx = n;
  } else {
    if (n_ctx < 1 || n_ctx > CD_CONTEXT) return cd_fail(e, "--n-ctx %d out of range", n_ctx);
    prefix = cd_malloc((size_t)n_ctx * 2, e);
    if (!prefix) return -1;
    for (int i = 0; i < n_ctx; i++) {
      prefix[2 * i] = 'X';
      prefix[2 * i + 1] = i + 1 < n_ctx ? ' ' : 0;
    }
  }
  int32_t *tokens = cd_malloc(sizeof *tokens * (size_t)n_cls * CD_CONTEXT, e);
  int *lens = cd_malloc(sizeof *lens * (size_t)n_cls, e);
  int rc = -1;
  if (!tokens || !lens) goto done;
  for (int c = 0; c < n_cls; c++) {
    int32_t *ids = NULL;
    int n = 0;
    if (cd_tokenizer_encode(tok, classnames[c], &ids, &n, e)) goto done;
    free(ids);
    lens[c] = n;
    size_t tl = strlen(prefix) + strlen(classnames[c]) + 3;
    char *text = cd_malloc(tl, e);
    if (!text) goto done;
    snprintf(text, tl, "%s %s.", prefix, classnames[c]);
    int r = cd_tokenize(tok, text, CD_CONTEXT, 0, tokens + (size_t)c * CD_CONTEXT, e);
    free(text);
    if (r) goto done;
  }
  rc = cd_prompt_init(p, n_cls, n_ctx, width, csc, position, tokens, CD_CONTEXT, lens, e);
done:
  free(prefix);
  free(tokens);
  free(lens);
  return rc;
}
