/* CLIP: configuration, weights and the two towers.
 * Weights are held in one canonical layout whatever the checkpoint's naming:
 *   every Linear weight [out, in] (PyTorch layout), attention q,k,v packed as [3C, C],
 *   projections [embed, width]. Float32 tensors are used in place from the memory-mapped
 *   file when aligned; F16/BF16 (or unaligned) tensors are widened into owned buffers. */
#ifndef CD_CLIP_H
#define CD_CLIP_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/safetensors.h"
#include "data/text/tokenizer.h"
#include "ops/ops.h"


typedef struct {
  const float *ln_1_w, *ln_1_b;     /* [C] */
  const float *qkv_w, *qkv_b;       /* [3C, C], [3C] */
  const float *out_w, *out_b;       /* [C, C], [C] */
  const float *ln_2_w, *ln_2_b;     /* [C] */
  const float *fc_w, *fc_b;         /* [F, C], [F] */
  const float *proj_w, *proj_b;     /* [C, F], [C] */
} cd_block;

typedef struct {
  int width, layers, heads, mlp_dim; /* C, L, NH, F */
  cd_activation act;
  float eps;
  cd_block *blocks;                  /* [layers] */
} cd_transformer;

typedef struct {
  int image_size, patch_size, grid, n_tokens; /* n_tokens = grid*grid + 1 */
  const float *patch_w;              /* conv1 [C, 3, P, P] (no bias) */
  const float *class_emb;            /* [C] */
  const float *pos_emb;              /* [n_tokens, C] */
  const float *ln_pre_w, *ln_pre_b;
  const float *ln_post_w, *ln_post_b;
  const float *proj;                 /* [embed, C] */
  cd_transformer tf;
} cd_vision;

typedef struct {
  int vocab_size, context;           /* 49408, 77 */
  const float *tok_emb;              /* [vocab, C] */
  const float *pos_emb;              /* [context, C] */
  const float *ln_final_w, *ln_final_b;
  const float *proj;                 /* [embed, C] */
  cd_transformer tf;
} cd_text;

typedef enum { CD_LAYOUT_HF = 0, CD_LAYOUT_OPENCLIP_DIR = 1, CD_LAYOUT_OPENAI_FILE = 2 } cd_layout;

typedef struct {
  cd_layout layout;
  char path[4096];          /* what --model named */
  char weights_path[4096];  /* the .safetensors actually mapped */
  char tokenizer_desc[4200];/* where the tokenizer came from */
  char arch_source[4200];   /* where head counts / activation came from (config or rule) */
  int embed_dim;
  float logit_scale_log;    /* as stored; logits use exp() of it */
  cd_vision vision;
  cd_text text;
  cd_tokenizer *tokenizer;  /* NULL if none could be found (image-only use) */
  /* storage */
  cd_safetensors st;
  void **owned;             /* buffers we allocated (converted/transposed/packed tensors) */
  int n_owned, cap_owned;
  size_t n_params;
  char stored_dtype[32];    /* "F32", "F16", "BF16", "mixed" */
  size_t bytes_mapped, bytes_converted; /* F32 used in place vs widened copies */
} cd_clip;

/* Options for loading. vocab_path may name bpe_simple_vocab_16e6.txt.gz or a folder with
 * vocab.json + merges.txt; NULL means: look beside the weights. */
typedef struct {
  const char *vocab_path;
  int require_tokenizer;    /* fail if no tokenizer can be found */
} cd_clip_load_opts;

/* Loads any supported layout: a Hugging Face CLIPModel folder, an OpenCLIP folder
 * (open_clip_config.json + open_clip_model.safetensors) or a single .safetensors in
 * OpenAI/OpenCLIP naming. */
int cd_clip_load(cd_clip *m, const char *path, const cd_clip_load_opts *opts, cd_error *e);
void cd_clip_free(cd_clip *m);
/* Opens a tokenizer from bpe_simple_vocab_16e6.txt.gz or a folder holding vocab.json +
 * merges.txt (or the .gz); desc receives a description of the source. */
cd_tokenizer *cd_tokenizer_open(const char *path, char *desc, size_t cap, cd_error *e);
const char *cd_layout_name(cd_layout l);

/* Image tower: pixels [N,3,S,S] (preprocessed) -> features [N,embed] (not normalised). */
int cd_clip_encode_image(const cd_clip *m, const float *pixels, int N, float *features, cd_error *e);
/* Text tower: tokens [N,context] (SOT..EOT, zero-padded) -> features [N,embed]. */
int cd_clip_encode_text(const cd_clip *m, const int32_t *tokens, int N, float *features, cd_error *e);

/* Shared pieces reused by the prompt learner: one pre-LN residual block over x [T,C] in place,
 * with scratch sized by cd_block_scratch_floats(T, tf). */
size_t cd_block_scratch_floats(int B, int T, const cd_transformer *tf);
void cd_block_forward(const cd_transformer *tf, const cd_block *blk, float *x, int B, int T,
                      int causal, float *scratch);
/* Index of the EOT token: first position holding the largest id (upstream argmax). */
int cd_text_eot_index(const int32_t *tokens, int context);
void cd_l2_normalize_rows(float *x, int N, int D);

#endif
