/* CoOp prompt learner: token rows, context storage and initialisation. */
#include "models/tuning/prompt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cd_class_position_parse(const char *s) {
  if (!strcmp(s, "end")) return CD_CLASS_END;
  if (!strcmp(s, "middle")) return CD_CLASS_MIDDLE;
  if (!strcmp(s, "front")) return CD_CLASS_FRONT;
  return -1;
}

const char *cd_class_position_name(cd_class_position p) {
  return p == CD_CLASS_MIDDLE ? "middle" : p == CD_CLASS_FRONT ? "front" : "end";
}

void cd_free_classnames(char **names, int n) {
  if (!names) return;
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

int cd_parse_classnames(const char *list, char ***names, int *n, cd_error *e) {
  *names = NULL;
  *n = 0;
  size_t len = strlen(list);
  int cap = 1;
  for (size_t i = 0; i < len; i++) cap += list[i] == ',';
  char **out = cd_calloc((size_t)cap, sizeof *out, e);
  if (!out) return -1;
  int k = 0;
  const char *s = list;
  for (;;) {
    const char *end = strchr(s, ',');
    if (!end) end = s + strlen(s);
    while (s < end && (*s == ' ' || *s == '\t')) s++;
    const char *t = end;
    while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
    if (t == s) {
      cd_free_classnames(out, k);
      return cd_fail(e, "class names: empty name at position %d in '%s'", k + 1, list);
    }
    char *name = cd_malloc((size_t)(t - s) + 1, e);
    if (!name) {
      cd_free_classnames(out, k);
      return -1;
    }
    for (size_t i = 0; i < (size_t)(t - s); i++) name[i] = s[i] == '_' ? ' ' : s[i];
    name[t - s] = 0;
    out[k++] = name;
    if (!*end) break;
    s = end + 1;
  }
  *names = out;
  *n = k;
  return 0;
}

int cd_copy_classnames(char *const *src, int n, char ***names, cd_error *e) {
  if (!(*names = cd_calloc((size_t)(n ? n : 1), sizeof(char *), e))) return -1;
  for (int k = 0; k < n; k++) {
    if (!((*names)[k] = strdup(src[k]))) {
      cd_free_classnames(*names, k);
      *names = NULL;
      return cd_fail(e, "out of memory");
    }
    for (char *s = (*names)[k]; *s; s++)
      if (*s == '_') *s = ' ';
  }
  return 0;
}

int cd_prompt_build_tokens(int n_cls, int n_ctx, const int32_t *prefix_ids,
                           const int32_t *const *name_ids, const int *name_lens,
                           int32_t period_id, int32_t sot, int32_t eot, int context,
                           int32_t *out, cd_error *e) {
  for (int c = 0; c < n_cls; c++) {
    int32_t *row = out + (size_t)c * context;
    int need = 1 + n_ctx + name_lens[c] + 2;
    if (name_lens[c] < 1 || need > context)
      return cd_fail(e, "prompt for class %d needs %d tokens, context is %d", c, need, context);
    memset(row, 0, sizeof *row * (size_t)context);
    int t = 0;
    row[t++] = sot;
    for (int i = 0; i < n_ctx; i++) row[t++] = prefix_ids[i];
    for (int i = 0; i < name_lens[c]; i++) row[t++] = name_ids[c][i];
    row[t++] = period_id;
    row[t++] = eot;
  }
  return 0;
}

static int first_argmax(const int32_t *row, int n) {
  int best = 0;
  for (int t = 1; t < n; t++)
    if (row[t] > row[best]) best = t;
  return best;
}

int cd_prompt_init(cd_prompt *p, int n_cls, int n_ctx, int width, int csc,
                   cd_class_position position, const int32_t *tokens, int context,
                   const int *name_lens, cd_error *e) {
  memset(p, 0, sizeof *p);
  if (n_cls < 1 || n_ctx < 1 || width < 1 || context < 3)
    return cd_fail(e, "prompt: need >= 1 class and >= 1 context vector (got %d classes, "
                      "n_ctx %d)", n_cls, n_ctx);
  if (position != CD_CLASS_END && position != CD_CLASS_MIDDLE && position != CD_CLASS_FRONT)
    return cd_fail(e, "prompt: unknown class position %d", (int)position);
  p->n_cls = n_cls;
  p->n_ctx = n_ctx;
  p->width = width;
  p->csc = csc ? 1 : 0;
  p->position = position;
  p->context = context;
  size_t per = (size_t)n_ctx * width;
  p->ctx_numel = per * (csc ? (size_t)n_cls : 1);
  p->tokens = cd_malloc(sizeof *p->tokens * (size_t)n_cls * context, e);
  p->name_lens = cd_malloc(sizeof *p->name_lens * (size_t)n_cls, e);
  p->eot = cd_malloc(sizeof *p->eot * (size_t)n_cls, e);
  p->ctx = cd_calloc(p->ctx_numel, sizeof *p->ctx, e);
  if (!p->tokens || !p->name_lens || !p->eot || !p->ctx) {
    cd_prompt_free(p);
    return -1;
  }
  memcpy(p->tokens, tokens, sizeof *p->tokens * (size_t)n_cls * context);
  for (int c = 0; c < n_cls; c++) {
    const int32_t *row = tokens + (size_t)c * context;
    int eot = first_argmax(row, context);
    p->eot[c] = eot;
    p->name_lens[c] = name_lens[c];
    /* The suffix after the context must hold the name and then at least EOT. */
    if (name_lens[c] < 0 || eot < 1 + n_ctx + name_lens[c]) {
      cd_prompt_free(p);
      return cd_fail(e, "prompt for class %d: EOT at %d leaves no room for %d context "
                        "tokens and a %d-token name", c, eot, n_ctx, name_lens[c]);
    }
  }
  return 0;
}

void cd_prompt_free(cd_prompt *p) {
  free(p->tokens);
  free(p->name_lens);
  free(p->eot);
  free(p->ctx);
  memset(p, 0, sizeof *p);
}

/* xorshift64* and Box-Muller: deterministic normal numbers independent of libc. */
static uint64_t rng_next(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1Dull;
}

static double rng_uniform01(uint64_t *s) { /* (0, 1] so log() is finite */
  return ((rng_next(s) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

void cd_prompt_init_random(cd_prompt *p, uint64_t seed, float std) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull ^ 0xD1B54A32D192ED03ull;
  if (!s) s = 1;
  for (size_t i = 0; i < p->ctx_numel; i += 2) {
    double u1 = rng_uniform01(&s), u2 = rng_uniform01(&s);
    double r = sqrt(-2.0 * log(u1));
    p->ctx[i] = (float)(std * r * cos(2 * M_PI * u2));
    if (i + 1 < p->ctx_numel) p->ctx[i + 1] = (float)(std * r * sin(2 * M_PI * u2));
  }
}

int cd_prompt_init_from_embeddings(cd_prompt *p, const float *tok_emb, int vocab, cd_error *e) {
  size_t per = (size_t)p->n_ctx * p->width;
  for (int i = 0; i < p->n_ctx; i++) {
    int32_t id = p->tokens[1 + i];
    if (id < 0 || id >= vocab)
      return cd_fail(e, "prompt: context token id %d outside the vocabulary (%d)", id, vocab);
    memcpy(p->ctx + (size_t)i * p->width, tok_emb + (size_t)id * p->width,
           sizeof(float) * (size_t)p->width);
  }
  if (p->csc)
    for (int c = 1; c < p->n_cls; c++) memcpy(p->ctx + c * per, p->ctx, sizeof(float) * per);
  return 0;
}
