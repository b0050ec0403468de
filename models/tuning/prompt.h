/* CoOp prompt learner (Zhou et al., "Learning to Prompt for Vision-Language Models"), laid out
 * exactly like CoOp's PromptLearner:
 *   text of class c  = prompt_prefix + " " + name_c + "."  tokenized as SOT ... EOT, where
 *   prompt_prefix    = "X X ... X" (n_ctx words) or the --ctx-init phrase;
 *   the token embeddings at positions 1..n_ctx are replaced by the learnable context.
 * Class token position (CoOp's CLASS_TOKEN_POSITION), with h = n_ctx/2 (floor):
 *   end    SOT ctx[0..n)            name . EOT
 *   middle SOT ctx[0..h) name ctx[h..n) . EOT
 *   front  SOT name ctx[0..n)            . EOT
 * Context is unified ([n_ctx, C]) or class-specific (csc: [n_cls, n_ctx, C]). */
#ifndef CD_PROMPT_H
#define CD_PROMPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/text/tokenizer.h"

typedef enum { CD_CLASS_END = 0, CD_CLASS_MIDDLE = 1, CD_CLASS_FRONT = 2 } cd_class_position;

typedef struct {
  int n_cls, n_ctx, width, csc, context; /* context: token row length (77) */
  cd_class_position position;
  int32_t *tokens;  /* [n_cls, context] tokenized prompts (placeholders at 1..n_ctx) */
  int *name_lens;   /* [n_cls] tokens of each class name */
  int *eot;         /* [n_cls] EOT index (first position of the largest id) */
  float *ctx;       /* [n_ctx, width] or [n_cls, n_ctx, width] */
  size_t ctx_numel;
} cd_prompt;

/* Parses "--position" text; -1 if unknown. */
int cd_class_position_parse(const char *s);
const char *cd_class_position_name(cd_class_position p);

/* Splits a comma-separated class list, trimming spaces and turning '_' into ' ' (CoOp).
 * *names is an array of malloc'd strings; free with cd_free_classnames. */
int cd_parse_classnames(const char *list, char ***names, int *n, cd_error *e);
void cd_free_classnames(char **names, int n);
/* The same for names already split (a cache's): copies with '_' turned into ' '. */
int cd_copy_classnames(char *const *src, int n, char ***names, cd_error *e);

/* Builds token rows from pre-tokenized pieces (no BPE needed):
 *   out[c] = sot, prefix_ids[0..n_ctx), name_ids[c][0..name_lens[c]), period_id, eot, 0...
 * Fails if a row does not fit in `context`. out has n_cls*context entries. */
int cd_prompt_build_tokens(int n_cls, int n_ctx, const int32_t *prefix_ids,
                           const int32_t *const *name_ids, const int *name_lens,
                           int32_t period_id, int32_t sot, int32_t eot, int context,
                           int32_t *out, cd_error *e);

/* Sets up a prompt learner from token rows [n_cls, context] and name lengths; ctx is allocated
 * and zeroed. Checks that every row has room for SOT, the context, the name and EOT. */
int cd_prompt_init(cd_prompt *p, int n_cls, int n_ctx, int width, int csc,
                   cd_class_position position, const int32_t *tokens, int context,
                   const int *name_lens, cd_error *e);
/* The CoOp way with the BPE tokenizer: prompt_prefix is ctx_init (n_ctx becomes its token
 * count) or n_ctx "X" words; class names are used as given (already '_' -> ' '). */
int cd_prompt_init_text(cd_prompt *p, const cd_tokenizer *tok, char *const *classnames,
                        int n_cls, int n_ctx, const char *ctx_init, int width, int csc,
                        cd_class_position position, cd_error *e);
void cd_prompt_free(cd_prompt *p);

/* ctx ~ N(0, std^2) from seed (own xorshift RNG + Box-Muller: identical on every machine). */
void cd_prompt_init_random(cd_prompt *p, uint64_t seed, float std);
/* ctx = token embeddings of positions 1..n_ctx of the first prompt (the --ctx-init words),
 * repeated per class when csc. tok_emb is [vocab, width]. */
int cd_prompt_init_from_embeddings(cd_prompt *p, const float *tok_emb, int vocab, cd_error *e);

#endif
