/* Prompt learner set up from class names with the BPE tokenizer (kept apart from prompt.c so
 * that code working from pre-tokenized ids does not pull in the tokenizer). */
#include "models/tuning/prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The prompt "SOT prefix name . EOT" of every class must fit the text context: the longest
 * one is named with its token counts, and the largest --n-ctx that would fit. */
static int check_fit(const cd_tokenizer *tok, char *const *classnames, int n_cls, int n_ctx, const char *ctx_init,
                     cd_error *e) {
  int worst = -1, worst_len = 0;
  for (int c = 0; c < n_cls; c++) {
    int32_t *ids = NULL;
    int n = 0;
    if (cd_tokenizer_encode(tok, classnames[c], &ids, &n, e)) return -1;
    free(ids);
    if (worst < 0 || n > worst_len) worst = c, worst_len = n;
  }
  int total = 1 + n_ctx + worst_len + 1 + 1; /* SOT, context, name, ".", EOT */
  if (total <= CD_CONTEXT) return 0;
  int room = CD_CONTEXT - 3 - worst_len;
  char how[160], fix[80];
  if (room >= 1 && ctx_init && *ctx_init) snprintf(fix, sizeof fix, "use a phrase of at most %d tokens", room);
  else if (room >= 1) snprintf(fix, sizeof fix, "use at most --n-ctx %d with these class names", room);
  else snprintf(fix, sizeof fix, "this class name alone is too long");
  if (ctx_init && *ctx_init) snprintf(how, sizeof how, "--ctx-init '%.60s%s' (%d tokens)", ctx_init, strlen(ctx_init) > 60 ? "..." : "", n_ctx);
  else snprintf(how, sizeof how, "--n-ctx %d", n_ctx);
  return cd_fail(e, "%s does not fit the %d-token text context with class '%s': start 1 + context %d + name %d + "
                 "'.' 1 + end 1 = %d tokens; %s", how, CD_CONTEXT, classnames[worst], n_ctx, worst_len, total, fix);
}

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
  if (check_fit(tok, classnames, n_cls, n_ctx, ctx_init, e)) {
    free(prefix);
    return -1;
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
