/* A tiny random CLIP text tower built in memory for gradient and training tests: every
 * weight non-trivial (LayerNorm gains around 1, biases non-zero, attention sharpened), so a
 * wrong transpose, bias or mask shows up as a large error. */
#ifndef CD_TINY_CLIP_H
#define CD_TINY_CLIP_H

#include <stdint.h>

#include "models/clip/clip.h"

enum { CD_TINY_MAX_LAYERS = 8 };

typedef struct {
  cd_clip m;               /* only m.text is filled */
  cd_block blocks[CD_TINY_MAX_LAYERS];
  float *buf;              /* every weight, one allocation */
} cd_tiny_clip;

typedef struct {
  int width, layers, heads, mlp, vocab, context, embed;
  cd_activation act;
} cd_tiny_dims;

/* Returns 0, or -1 if layers > CD_TINY_MAX_LAYERS or memory runs out. */
int cd_tiny_clip_build(cd_tiny_clip *t, const cd_tiny_dims *d, uint64_t seed);
void cd_tiny_clip_free(cd_tiny_clip *t);

#endif
