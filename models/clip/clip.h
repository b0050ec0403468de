/* CLIP: configuration, weights and the two towers.
 * Weights are held in one canonical layout whatever the checkpoint's naming: every Linear
 * weight [out, in] (PyTorch layout), attention q,k,v as one [3C, C], projections
 * [embed, width]. Linear weights are typed (ops/gemm/weight.h): packed once at load for the
 * GEMM kernel of the chosen precision (the image tower always; the text tower for inference
 * commands), or kept as plain float32 rows (the text tower of prompt tuning, whose backward
 * reads them). Other float32 tensors are used in place from the memory-mapped file when
 * aligned; F16/BF16 (or unaligned) ones are widened into owned buffers. A tower a command
 * does not ask for is not loaded at all. */
#ifndef CD_CLIP_H
#define CD_CLIP_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/safetensors.h"
#include "data/text/tokenizer.h"
#include "ops/dispatch.h"
#include "ops/gemm/weight.h"
#include "ops/ops.h"

typedef struct {
  const float *ln_1_w, *ln_1_b;     /* [C] */
  cd_weight qkv_w;                  /* [3C, C] */
  const float *qkv_b;               /* [3C] */
  cd_weight out_w;                  /* [C, C] */
  const float *out_b;               /* [C] */
  const float *ln_2_w, *ln_2_b;     /* [C] */
  cd_weight fc_w;                   /* [F, C] */
  const float *fc_b;                /* [F] */
  cd_weight proj_w;                 /* [C, F] */
  const float *proj_b;              /* [C] */
} cd_block;

typedef struct {
  int width, layers, heads, mlp_dim; /* C, L, NH, F */
  cd_activation act;
  float eps;
  cd_block *blocks;                  /* [layers] */
} cd_transformer;

typedef struct {
  int image_size, patch_size, grid, n_tokens; /* n_tokens = grid*grid + 1 */
  cd_weight patch_w;                 /* conv1 [C, 3, P, P] as [C, 3·P·P] (no bias) */
  const float *class_emb;            /* [C] */
  const float *pos_emb;              /* [n_tokens, C] */
  const float *ln_pre_w, *ln_pre_b;
  const float *ln_post_w, *ln_post_b;
  cd_weight proj;                    /* [embed, C] */
  cd_transformer tf;
} cd_vision;

typedef struct {
  int vocab_size, context;           /* 49408, 77 */
  const float *tok_emb;              /* [vocab, C] */
  const float *pos_emb;              /* [context, C] */
  const float *ln_final_w, *ln_final_b;
  cd_weight proj;                    /* [embed, C] */
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
  size_t bytes_packed;      /* weights packed for the GEMM kernels */
  int towers;               /* CD_TOWER_* bits that were loaded */
  cd_precision precision;   /* of the packed weights */
  cd_precision text_rows;   /* of the plain text-tower rows (fp32 or bf16, see the options) */
  struct cd_pending_weight *pending; /* loader state: weights found, not yet finished */
  int n_pending, cap_pending;
} cd_clip;

enum { CD_TOWER_VISION = 1, CD_TOWER_TEXT = 2, CD_TOWER_BOTH = 3 };

/* Options for loading. vocab_path may name bpe_simple_vocab_16e6.txt.gz or a folder with
 * vocab.json + merges.txt; NULL means: look beside the weights. */
typedef struct {
  const char *vocab_path;
  int require_tokenizer;    /* fail if no tokenizer can be found */
  int towers;               /* CD_TOWER_* bits to load; 0 = both. Without the text tower
                             * no tokenizer is loaded either. */
  int pack_text;            /* 1: pack the text tower for inference (embed-text); 0: keep
                             * its weights as plain float32 rows, as prompt tuning needs */
  cd_precision precision;   /* arithmetic of the packed weights (default fp32) */
  cd_precision text_rows;   /* with pack_text = 0: fp32 (default), or bf16: the text tower's
                             * plain rows rounded once to bfloat16 (the tuning tower's weights
                             * in bf16, its activations, gradients and sums in float32) */
} cd_clip_load_opts;

/* Loads any supported layout: a Hugging Face CLIPModel folder, an OpenCLIP folder
 * (open_clip_config.json + open_clip_model.safetensors) or a single .safetensors in
 * OpenAI/OpenCLIP naming. */
int cd_clip_load(cd_clip *m, const char *path, const cd_clip_load_opts *opts, cd_error *e);
void cd_clip_free(cd_clip *m);

/* The text tower's Linear weights, every block's four then the projection: ws receives
 * 4 · layers + 1 pointers (their count is returned). */
int cd_clip_text_weights(cd_clip *m, cd_weight **ws);
/* Bytes of those weights as the tuning tower holds them (float32, or bfloat16 rows). */
size_t cd_clip_text_weight_bytes(const cd_clip *m);
/* Up to this size a text tower's weights stay in a core's caches (the demo's toy CLIP: under 1 MB);
 * past it (ViT-B/32: 151 MB) every product streams its weight from memory. */
enum { CD_TEXT_CACHED_BYTES = 4 << 20 };
/* A prompt-tuning tower (plain rows) past CD_TEXT_CACHED_BYTES: each text weight's rows also
 * transposed (cd_weight_transpose_rows: the input gradient then streams W^T's rows through the
 * forward's kernels; one ViT-B/32 step at 24 rows ran 1.12-1.29x faster on a Zen 4 core, for
 * the weights' bytes again in memory); a tower that stays in cache keeps one copy.
 * cd_clip_load does this for a text tower loaded with pack_text = 0; cd_clip_free frees them. */
int cd_clip_transpose_text_rows(cd_clip *m, cd_error *e);
/* Frees the text weights' transposed rows (they are the weights' own, not the model's owned
 * list: a tower built by hand frees them with this). */
void cd_clip_free_text_rows_t(cd_clip *m);
/* Opens a tokenizer from bpe_simple_vocab_16e6.txt.gz or a folder holding vocab.json +
 * merges.txt (or the .gz); desc receives a description of the source. */
cd_tokenizer *cd_tokenizer_open(const char *path, char *desc, size_t cap, cd_error *e);
const char *cd_layout_name(cd_layout l);

/* Image tower: pixels [N,3,S,S] (preprocessed) -> features [N,embed] (not normalised). */
int cd_clip_encode_image(const cd_clip *m, const float *pixels, int N, float *features, cd_error *e);
/* The same with the scratch from ws when it has cd_clip_image_scratch_bytes(m, N) free (a
 * session that encodes batch after batch then allocates nothing per batch). */
int cd_clip_encode_image_ws(const cd_clip *m, const float *pixels, int N, float *features, cd_arena *ws,
                            cd_error *e);
size_t cd_clip_image_scratch_bytes(const cd_clip *m, int N);
/* Text tower: tokens [N,context] (SOT..EOT, zero-padded) -> features [N,embed]. */
int cd_clip_encode_text(const cd_clip *m, const int32_t *tokens, int N, float *features, cd_error *e);

/* ---- the transformer block (models/clip/clip_block.c), one for inference and training ----
 *
 * Rows a block attends over: B sequences of T rows each (dense attention, causal or not), or,
 * when seg is given, R = seg[n_seg] rows packed as a shared causal prefix of P rows and
 * n_seg segments (ops/attention/attention_segments.h; then M = R, B and T are unused).
 * keep (optional): the rows that continue after attention, in order; the out-projection and
 * the MLP then run on those n_keep rows only and x_out has n_keep rows.
 * copies (segments only; 0 means 1): that many independent packed sequences of the same
 * layout stacked (M = copies · seg[n_seg]; copy k holds rows [k·R, (k+1)·R) and its own
 * attention probabilities, [copies][NH,R,Tk]): prompt tuning's runs stepped in lockstep share
 * every GEMM, while attention stays within each copy. keep then indexes all M rows.
 * A training forward (sv given) streams plain float32 weights through the row-wise kernels
 * whatever M (cd_linear_forward_rowwise), so each copy's bits do not depend on how many are
 * stacked.
 * r0 (training forward without keep): rows [0, r0) are constants an earlier forward saved
 * (prompt tuning's SOT row, which no context vector reaches): their saved activations and
 * x_out rows are kept, and only rows [r0, M) are computed (attention still reads their keys
 * and values). */
typedef struct {
  int B, T, causal;
  int P, n_seg;
  const int *seg;
  const int *keep;
  int n_keep;
  int copies;
  int r0;
} cd_block_rows;

/* Activations a backward reads, written by a training forward (M rows, Mk = kept rows). */
typedef struct {
  float *ln1, *mean1, *rstd1;  /* [M,C] [M] [M] */
  float *qkv;                  /* [M,3C] */
  float *att;                  /* probabilities: dense [B,NH,T,T]; segments [NH,M,Tk] */
  float *atty;                 /* [M,C] attention output before the out-projection */
  float *xmid;                 /* [Mk,C] after the attention residual */
  float *ln2, *mean2, *rstd2;  /* [Mk,C] [Mk] [Mk] */
  float *fcd, *fcg;            /* [Mk,F] the activation's derivative at its input, its output */
} cd_block_saved;

/* Arena bytes one block needs for B sequences of T rows (or M = B*T packed rows). */
size_t cd_block_scratch_bytes(int B, int T, const cd_transformer *tf);
/* x_out = block(x_in). At inference sv is NULL and x_out may equal x_in (in place); a
 * training forward passes sv to keep the activations. Scratch from ws (NULL: heap). */
void cd_block_forward_rows(const cd_transformer *tf, const cd_block *blk, const float *x_in,
                           float *x_out, const cd_block_rows *rows, cd_block_saved *sv, cd_arena *ws);
/* The input gradient of a block whose forward saved sv: dx_in = d loss / d x_in from
 * dx_out = d loss / d x_out ([Mk, C]; may equal dx_in when nothing is kept aside). Only rows
 * [g0, M) of dx_in are formed (rows before g0 cannot reach what is trained and are left as
 * they are). The weights are frozen: no weight gradients. */
void cd_block_backward(const cd_transformer *tf, const cd_block *blk, const cd_block_rows *rows,
                       const cd_block_saved *sv, const float *x_in, const float *dx_out,
                       float *dx_in, int g0, cd_arena *ws);
/* Inference over B dense sequences of T tokens, x [B*T, C] in place. */
void cd_block_forward(const cd_transformer *tf, const cd_block *blk, float *x, int B, int T,
                      int causal, cd_arena *ws);
/* ---- reduced precision, measured (models/clip/clip_probe.c) ---- */
typedef struct {
  int images, texts;                    /* probe rows compared (texts 0 without a tokenizer) */
  double image_cos_min, image_cos_mean; /* cosine of features at p vs float32 */
  double text_cos_min, text_cos_mean;
} cd_precision_report;
/* Loads the model at float32 and at precision p (both towers, one after the other) and
 * compares their features on synthetic probe images and a few prompts. */
int cd_clip_precision_probe(const char *path, const cd_clip_load_opts *opts, cd_precision p,
                            cd_precision_report *r, cd_error *e);

/* Index of the EOT token: first position holding the largest id (upstream argmax). */
int cd_text_eot_index(const int32_t *tokens, int context);
void cd_l2_normalize_rows(float *x, int N, int D);

#endif
