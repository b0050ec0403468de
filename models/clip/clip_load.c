/* Loading CLIP weights from the three supported layouts into the canonical cd_clip layout.
 *
 *   HF      folder: config.json + model.safetensors (+ vocab.json, merges.txt)
 *           separate q/k/v projections (packed here into [3C, C]), projections [out, in].
 *   OPENCLIP folder: open_clip_config.json + open_clip_model.safetensors, OpenAI naming.
 *   OPENAI  one .safetensors in OpenAI naming: packed in_proj, visual.proj / text_projection
 *           stored [width, embed] (transposed here). Dimensions are inferred from tensor
 *           shapes exactly as upstream build_model does (heads = width / 64).
 *
 * Linear weights are collected while the tensors are looked up, then finished in one pass:
 * packed for the GEMM kernel of the requested precision straight from their stored dtype
 * (their mapped pages released right after, so the process holds one copy of each), or, for
 * a text tower kept plain, used in place (aligned float32) or widened to float32. Other
 * float32 tensors that are 4-byte aligned are used in place; everything else (F16, BF16,
 * unaligned F32) becomes an owned float32 copy. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/json.h"
#include "models/clip/clip.h"
#include "ops/gemm/gemm.h"

const char *cd_layout_name(cd_layout l) {
  switch (l) {
    case CD_LAYOUT_HF: return "huggingface (CLIPModel folder)";
    case CD_LAYOUT_OPENCLIP_DIR: return "openclip (folder)";
    case CD_LAYOUT_OPENAI_FILE: return "openai (single .safetensors)";
  }
  return "?";
}

/* ---- tensor access ---------------------------------------------------------------------- */

/* Makes p (malloc'd) owned by the model; frees it and fails when the list cannot grow. */
static int own_adopt(cd_clip *m, void *p, cd_error *e) {
  if (m->n_owned == m->cap_owned) {
    int cap = m->cap_owned ? m->cap_owned * 2 : 256;
    void **grown = realloc(m->owned, sizeof(void *) * (size_t)cap);
    if (!grown) return free(p), cd_fail(e, "out of memory");
    m->owned = grown;
    m->cap_owned = cap;
  }
  m->owned[m->n_owned++] = p;
  return 0;
}

static float *own(cd_clip *m, size_t n_floats, cd_error *e) {
  float *p = cd_malloc(sizeof(float) * n_floats, e);
  return p && own_adopt(m, p, e) == 0 ? p : NULL;
}

static void note_dtype(cd_clip *m, cd_dtype t) {
  const char *name = cd_dtype_name(t);
  if (!m->stored_dtype[0]) snprintf(m->stored_dtype, sizeof m->stored_dtype, "%s", name);
  else if (strcmp(m->stored_dtype, name) != 0) snprintf(m->stored_dtype, sizeof m->stored_dtype, "mixed");
}

static const cd_st_tensor *find(cd_clip *m, const char *name, cd_error *e) {
  const cd_st_tensor *t = cd_st_find(&m->st, name);
  if (!t) cd_fail(e, "%s: missing tensor '%s'", m->weights_path, name);
  else if (t->dtype != CD_F32 && t->dtype != CD_F16 && t->dtype != CD_BF16)
    return cd_fail(e, "%s: tensor '%s' has dtype %s; weights must be F32, F16 or BF16", m->weights_path,
                   name, cd_dtype_name(t->dtype)), NULL;
  return t;
}

static void shape_str(const cd_st_tensor *t, char *buf, size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < t->ndim && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
  if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* Checks the shape; -1 in want means "any size". A scalar may be stored as [] or [1]. */
static int check_shape(cd_clip *m, const cd_st_tensor *t, const char *name, int ndim, const int64_t *want, cd_error *e) {
  int ok = t->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++) ok = want[i] < 0 || t->shape[i] == want[i];
  if (ndim == 0 && t->ndim == 1 && t->shape[0] == 1) ok = 1;
  if (ok) return 0;
  char got[128], exp[128] = "[";
  shape_str(t, got, sizeof got);
  for (int i = 0; i < ndim; i++)
    snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%s%lld", i ? ", " : "", (long long)want[i]);
  strcat(exp, "]");
  return cd_fail(e, "%s: tensor '%s' has shape %s, expected %s", m->weights_path, name, got, exp);
}

static void count(cd_clip *m, const cd_st_tensor *t) {
  note_dtype(m, t->dtype);
  m->n_params += t->numel;
}

/* Owned float32 buffer of n floats that the model will hold (counted as converted bytes). */
static float *own_converted(cd_clip *m, size_t n, cd_error *e) {
  float *p = own(m, n, e);
  if (p) m->bytes_converted += n * sizeof(float);
  return p;
}

/* The tensor as float32 (in place when possible). */
static const float *as_f32(cd_clip *m, const cd_st_tensor *t, cd_error *e) {
  count(m, t);
  if (t->dtype == CD_F32 && ((uintptr_t)t->data % sizeof(float)) == 0) {
    m->bytes_mapped += t->nbytes;
    return t->data;
  }
  float *p = own_converted(m, t->numel, e);
  if (p) cd_convert_to_f32(p, t->data, t->dtype, t->numel);
  return p;
}

/* Looks up name and checks its shape. */
static const cd_st_tensor *lookup(cd_clip *m, const char *name, int ndim, const int64_t *shape, cd_error *e) {
  const cd_st_tensor *t = find(m, name, e);
  return (t && check_shape(m, t, name, ndim, shape, e) == 0) ? t : NULL;
}

static const cd_st_tensor *vlookup(cd_clip *m, cd_error *e, int ndim, const int64_t *shape, const char *fmt, va_list ap) {
  char name[512];
  vsnprintf(name, sizeof name, fmt, ap);
  return lookup(m, name, ndim, shape, e);
}

static const cd_st_tensor *lookupf(cd_clip *m, cd_error *e, int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static const cd_st_tensor *lookupf(cd_clip *m, cd_error *e, int ndim, const int64_t *shape, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const cd_st_tensor *t = vlookup(m, e, ndim, shape, fmt, ap);
  va_end(ap);
  return t;
}

/* Looks up name, checks its shape, returns float32 data. */
static const float *get(cd_clip *m, const char *name, int ndim, const int64_t *shape, cd_error *e) {
  const cd_st_tensor *t = lookup(m, name, ndim, shape, e);
  return t ? as_f32(m, t, e) : NULL;
}

static const float *getf(cd_clip *m, cd_error *e, int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static const float *getf(cd_clip *m, cd_error *e, int ndim, const int64_t *shape, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const cd_st_tensor *t = vlookup(m, e, ndim, shape, fmt, ap);
  va_end(ap);
  return t ? as_f32(m, t, e) : NULL;
}

/* ---- Linear weights ----------------------------------------------------------------------
 * Looked up first (shapes checked, sources noted), finished together by finish_weights. */

struct cd_pending_weight {
  cd_weight *w;
  const cd_st_tensor *src; /* the mapped tensor behind w->data, or NULL */
  float *tmp;              /* an owned float32 source assembled here (q|k|v, transposes), or NULL */
  int pack;                /* 1: pack for the kernel; 0: keep plain float32 rows */
};

static int add_pending(cd_clip *m, cd_weight *w, const cd_st_tensor *src, float *tmp, int pack, cd_error *e) {
  if (m->n_pending == m->cap_pending) {
    int cap = m->cap_pending ? 2 * m->cap_pending : 128;
    struct cd_pending_weight *g = realloc(m->pending, sizeof *g * (size_t)cap);
    if (!g) return free(tmp), cd_fail(e, "out of memory");
    m->pending = g;
    m->cap_pending = cap;
  }
  m->pending[m->n_pending++] = (struct cd_pending_weight){w, src, tmp, pack};
  return 0;
}

/* The owned float32 copy of a plain weight (unaligned or half precision source). */
static int widen_plain(cd_clip *m, struct cd_pending_weight *p, cd_error *e) {
  cd_weight *w = p->w;
  size_t n = (size_t)w->rows * w->cols;
  if (p->tmp) { /* assembled in float32 already: it becomes the weight */
    if (own_adopt(m, p->tmp, e)) return -1;
    m->bytes_converted += n * sizeof(float);
    p->tmp = NULL;
    return 0;
  }
  if (w->dtype == CD_F32 && ((uintptr_t)w->data % sizeof(float)) == 0) {
    m->bytes_mapped += n * sizeof(float);
    return 0;
  }
  float *f = own_converted(m, n, e);
  if (!f) return -1;
  cd_convert_to_f32(f, w->data, w->dtype, n);
  w->data = f;
  w->dtype = CD_F32;
  return 0;
}

/* The bfloat16 rows of a plain (prompt-tuning) weight, rounded to nearest even once at load:
 * one array the forward and the transposed backward both stream (half the bytes). */
static int narrow_plain_bf16(cd_clip *m, cd_weight *w, cd_error *e) {
  size_t n = (size_t)w->rows * w->cols;
  uint16_t *h = cd_malloc(sizeof(uint16_t) * n, e);
  if (!h || own_adopt(m, h, e)) return -1;
  const float *f = w->data;
  for (size_t i = 0; i < n; i++) h[i] = cd_f32_to_bf16(f[i]);
  m->bytes_converted += n * sizeof(uint16_t);
  w->data = h;
  w->dtype = CD_BF16;
  /* and their AMX tiles where the products run on AMX (packed once: the weights are frozen) */
  if (cd_weight_tile_bf16(w, cd_kernels_get(), e) || (w->tiles && own_adopt(m, w->tiles, e))) return -1;
  return 0;
}

/* Packs every collected weight for kernel k (or widens the plain ones, and rounds them to
 * bfloat16 rows when the tuning tower is asked in bf16), releasing each mapped source right
 * after its copy is made. */
static int finish_weights(cd_clip *m, const cd_gemm_kernel *k, cd_error *e) {
  int rc = 0;
  for (int i = 0; i < m->n_pending && rc == 0; i++) {
    struct cd_pending_weight *p = &m->pending[i];
    if (!p->pack) {
      rc = widen_plain(m, p, e);
      if (!rc && m->text_rows == CD_PREC_BF16) rc = narrow_plain_bf16(m, p->w, e);
      continue;
    }
    if (p->src) cd_file_prefetch(&m->st.file, p->src->data, p->src->nbytes);
    if (cd_weight_pack(p->w, k, e) || own_adopt(m, p->w->packed, e)) {
      rc = cd_fail_prefix(e, "%s", m->weights_path);
      break;
    }
    m->bytes_packed += p->w->packed_bytes;
    if (p->src) cd_file_release(&m->st.file, p->src->data, p->src->nbytes);
    cd_weight_forget_source(p->w);
  }
  for (int i = 0; i < m->n_pending; i++) free(m->pending[i].tmp);
  free(m->pending);
  m->pending = NULL;
  m->n_pending = m->cap_pending = 0;
  return rc;
}

/* Tensor t (already shape-checked) as a Linear weight [rows, cols]. */
static int weight_from(cd_clip *m, cd_weight *w, int pack, int64_t rows, int64_t cols,
                       const cd_st_tensor *t, cd_error *e) {
  count(m, t);
  *w = (cd_weight){(int)rows, (int)cols, t->dtype, t->data, NULL, NULL, 0, NULL, NULL};
  return add_pending(m, w, t, NULL, pack, e);
}

/* A Linear weight [rows, cols] stored as tensor `name`. */
static int get_weight(cd_clip *m, cd_weight *w, int pack, int64_t rows, int64_t cols, const char *name,
                      cd_error *e) {
  int64_t shape[2] = {rows, cols};
  const cd_st_tensor *t = lookup(m, name, 2, shape, e);
  return t ? weight_from(m, w, pack, rows, cols, t, e) : -1;
}

static int get_weightf(cd_clip *m, cd_weight *w, int pack, int64_t rows, int64_t cols, cd_error *e,
                       const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static int get_weightf(cd_clip *m, cd_weight *w, int pack, int64_t rows, int64_t cols, cd_error *e,
                       const char *fmt, ...) {
  char name[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name, sizeof name, fmt, ap);
  va_end(ap);
  return get_weight(m, w, pack, rows, cols, name, e);
}

/* A weight assembled in float32 by the loader (tmp becomes the weight's source). */
static int tmp_weight(cd_clip *m, cd_weight *w, int pack, int rows, int cols, float *tmp, cd_error *e) {
  *w = (cd_weight){rows, cols, CD_F32, tmp, NULL, NULL, 0, NULL, NULL};
  return add_pending(m, w, NULL, tmp, pack, e);
}

/* Stored [rows, cols] -> the weight [cols, rows] (OpenAI projections are [width, embed]). */
static int get_weight_transposed(cd_clip *m, cd_weight *w, int pack, int64_t rows, int64_t cols,
                                 const char *name, cd_error *e) {
  int64_t shape[2] = {rows, cols};
  size_t n = (size_t)(rows * cols);
  const cd_st_tensor *t = lookup(m, name, 2, shape, e);
  float *src = t ? cd_malloc(sizeof(float) * n, e) : NULL, *dst = src ? cd_malloc(sizeof(float) * n, e) : NULL;
  if (!dst) return free(src), -1;
  count(m, t);
  cd_convert_to_f32(src, t->data, t->dtype, n);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
  free(src);
  return tmp_weight(m, w, pack, (int)cols, (int)rows, dst, e);
}

/* Hugging Face q/k/v [C,C] (+[C] biases) -> one [3C, C] weight and a [3C] bias. */
static int get_qkv(cd_clip *m, const char *prefix, int C, int pack, cd_block *b, cd_error *e) {
  static const char *parts[3] = {"q_proj", "k_proj", "v_proj"};
  float *w = cd_malloc(sizeof(float) * (size_t)3 * C * C, e), *bias = w ? own_converted(m, (size_t)3 * C, e) : NULL;
  if (!bias) return free(w), -1;
  int64_t wshape[2] = {C, C}, bshape[1] = {C};
  for (int i = 0; i < 3; i++) {
    const cd_st_tensor *tw = lookupf(m, e, 2, wshape, "%sself_attn.%s.weight", prefix, parts[i]);
    const cd_st_tensor *tb = tw ? lookupf(m, e, 1, bshape, "%sself_attn.%s.bias", prefix, parts[i]) : NULL;
    if (!tb) return free(w), -1;
    count(m, tw);
    count(m, tb);
    cd_convert_to_f32(w + (size_t)i * C * C, tw->data, tw->dtype, (size_t)C * C);
    cd_convert_to_f32(bias + (size_t)i * C, tb->data, tb->dtype, (size_t)C);
    /* these pages are copied now: let them go */
    cd_file_release(&m->st.file, tw->data, tw->nbytes);
  }
  b->qkv_b = bias;
  return tmp_weight(m, &b->qkv_w, pack, 3 * C, C, w, e);
}

/* ---- transformer blocks ----------------------------------------------------------------- */

/* Counts consecutive blocks 0,1,2,... whose probe tensor exists. */
static int count_layers(cd_clip *m, const char *fmt_probe) {
  char name[512];
  int n = 0;
  for (;; n++) {
    snprintf(name, sizeof name, fmt_probe, n);
    if (!cd_st_find(&m->st, name)) return n;
  }
}

static int load_blocks(cd_clip *m, cd_transformer *tf, const char *prefix_fmt, int hf, int pack, cd_error *e) {
  int C = tf->width, L = tf->layers;
  tf->blocks = calloc((size_t)L, sizeof(cd_block));
  if (!tf->blocks) return cd_fail(e, "out of memory");
  char p[256];
  /* The MLP width is read off the first block's fc weight. */
  snprintf(p, sizeof p, prefix_fmt, 0);
  char fcname[512];
  snprintf(fcname, sizeof fcname, "%s%s", p, hf ? "mlp.fc1.weight" : "mlp.c_fc.weight");
  const cd_st_tensor *fc = find(m, fcname, e);
  if (!fc) return -1;
  if (fc->ndim != 2 || fc->shape[1] != C)
    return cd_fail(e, "%s: tensor '%s' should be [mlp, %d]", m->weights_path, fcname, C);
  tf->mlp_dim = (int)fc->shape[0];
  int64_t F = tf->mlp_dim, vC[1] = {C}, vF[1] = {F}, v3C[1] = {3 * (int64_t)C};
  for (int l = 0; l < L; l++) {
    cd_block *b = &tf->blocks[l];
    snprintf(p, sizeof p, prefix_fmt, l);
    if (hf) {
      if (!(b->ln_1_w = getf(m, e, 1, vC, "%slayer_norm1.weight", p))) return -1;
      if (!(b->ln_1_b = getf(m, e, 1, vC, "%slayer_norm1.bias", p))) return -1;
      if (get_qkv(m, p, C, pack, b, e)) return -1;
      if (get_weightf(m, &b->out_w, pack, C, C, e, "%sself_attn.out_proj.weight", p)) return -1;
      if (!(b->out_b = getf(m, e, 1, vC, "%sself_attn.out_proj.bias", p))) return -1;
      if (!(b->ln_2_w = getf(m, e, 1, vC, "%slayer_norm2.weight", p))) return -1;
      if (!(b->ln_2_b = getf(m, e, 1, vC, "%slayer_norm2.bias", p))) return -1;
      if (get_weightf(m, &b->fc_w, pack, F, C, e, "%smlp.fc1.weight", p)) return -1;
      if (!(b->fc_b = getf(m, e, 1, vF, "%smlp.fc1.bias", p))) return -1;
      if (get_weightf(m, &b->proj_w, pack, C, F, e, "%smlp.fc2.weight", p)) return -1;
      if (!(b->proj_b = getf(m, e, 1, vC, "%smlp.fc2.bias", p))) return -1;
    } else {
      if (!(b->ln_1_w = getf(m, e, 1, vC, "%sln_1.weight", p))) return -1;
      if (!(b->ln_1_b = getf(m, e, 1, vC, "%sln_1.bias", p))) return -1;
      if (get_weightf(m, &b->qkv_w, pack, 3 * (int64_t)C, C, e, "%sattn.in_proj_weight", p)) return -1;
      if (!(b->qkv_b = getf(m, e, 1, v3C, "%sattn.in_proj_bias", p))) return -1;
      if (get_weightf(m, &b->out_w, pack, C, C, e, "%sattn.out_proj.weight", p)) return -1;
      if (!(b->out_b = getf(m, e, 1, vC, "%sattn.out_proj.bias", p))) return -1;
      if (!(b->ln_2_w = getf(m, e, 1, vC, "%sln_2.weight", p))) return -1;
      if (!(b->ln_2_b = getf(m, e, 1, vC, "%sln_2.bias", p))) return -1;
      if (get_weightf(m, &b->fc_w, pack, F, C, e, "%smlp.c_fc.weight", p)) return -1;
      if (!(b->fc_b = getf(m, e, 1, vF, "%smlp.c_fc.bias", p))) return -1;
      if (get_weightf(m, &b->proj_w, pack, C, F, e, "%smlp.c_proj.weight", p)) return -1;
      if (!(b->proj_b = getf(m, e, 1, vC, "%smlp.c_proj.bias", p))) return -1;
    }
  }
  return 0;
}

static int check_heads(cd_clip *m, const char *tower, int width, int heads, cd_error *e) {
  if (heads <= 0 || width % heads != 0)
    return cd_fail(e, "%s: %s width %d is not divisible into %d attention heads", m->path, tower, width, heads);
  return 0;
}

/* ---- the towers, per naming scheme -------------------------------------------------------- */

/* Per-layout names of the non-block tensors. */
typedef struct {
  int hf;
  const char *v_patch, *v_class, *v_pos, *v_ln_pre, *v_ln_post, *v_proj, *v_blocks, *v_probe;
  const char *t_tok, *t_pos, *t_ln_final, *t_proj, *t_blocks, *t_probe;
} cd_names;

static const cd_names OPENAI_NAMES = {
    0, "visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding",
    "visual.ln_pre", "visual.ln_post", "visual.proj", "visual.transformer.resblocks.%d.",
    "visual.transformer.resblocks.%d.attn.in_proj_weight",
    "token_embedding.weight", "positional_embedding", "ln_final", "text_projection",
    "transformer.resblocks.%d.", "transformer.resblocks.%d.attn.in_proj_weight"};

static const cd_names HF_NAMES = {
    1, "vision_model.embeddings.patch_embedding.weight", "vision_model.embeddings.class_embedding",
    "vision_model.embeddings.position_embedding.weight", "vision_model.pre_layrnorm",
    "vision_model.post_layernorm", "visual_projection.weight", "vision_model.encoder.layers.%d.",
    "vision_model.encoder.layers.%d.self_attn.q_proj.weight",
    "text_model.embeddings.token_embedding.weight", "text_model.embeddings.position_embedding.weight",
    "text_model.final_layer_norm", "text_projection.weight", "text_model.encoder.layers.%d.",
    "text_model.encoder.layers.%d.self_attn.q_proj.weight"};

static int get_ln(cd_clip *m, const char *prefix, int C, const float **w, const float **b, cd_error *e) {
  int64_t shape[1] = {C};
  if (!(*w = getf(m, e, 1, shape, "%s.weight", prefix))) return -1;
  if (!(*b = getf(m, e, 1, shape, "%s.bias", prefix))) return -1;
  return 0;
}

/* Head counts and activations come from the layout's config (or the upstream rule). */
typedef struct {
  int vision_heads, text_heads; /* 0 = width / 64 */
  cd_activation vision_act, text_act;
  float vision_eps, text_eps;
} cd_arch;

static int load_vision(cd_clip *m, const cd_names *nm, const cd_arch *arch, cd_error *e) {
  cd_vision *v = &m->vision;
  const cd_st_tensor *patch = find(m, nm->v_patch, e);
  if (!patch) return -1;
  if (patch->ndim != 4 || patch->shape[1] != 3 || patch->shape[2] != patch->shape[3] || patch->shape[2] < 1)
    return cd_fail(e, "%s: tensor '%s' should be [width, 3, P, P]", m->weights_path, nm->v_patch);
  int C = (int)patch->shape[0], P = (int)patch->shape[2];
  const cd_st_tensor *pos = find(m, nm->v_pos, e);
  if (!pos) return -1;
  if (pos->ndim != 2 || pos->shape[1] != C || pos->shape[0] < 2)
    return cd_fail(e, "%s: tensor '%s' should be [tokens, %d]", m->weights_path, nm->v_pos, C);
  int T = (int)pos->shape[0], grid = (int)lround(sqrt((double)(T - 1)));
  if (grid * grid != T - 1)
    return cd_fail(e, "%s: '%s' has %d rows, not 1 + a square number of patches", m->weights_path, nm->v_pos, T);
  v->patch_size = P;
  v->grid = grid;
  v->n_tokens = T;
  v->image_size = P * grid;
  v->tf.width = C;
  v->tf.layers = count_layers(m, nm->v_probe);
  v->tf.heads = arch->vision_heads ? arch->vision_heads : C / 64;
  v->tf.act = arch->vision_act;
  v->tf.eps = arch->vision_eps;
  if (v->tf.layers == 0) return cd_fail(e, "%s: no vision transformer blocks found", m->weights_path);
  if (check_heads(m, "vision", C, v->tf.heads, e)) return -1;

  int64_t vC[1] = {C};
  /* conv1 with stride = kernel is a Linear layer over flattened patches */
  if (weight_from(m, &v->patch_w, 1, C, 3 * (int64_t)P * P, patch, e)) return -1;
  if (!(v->class_emb = get(m, nm->v_class, 1, vC, e))) return -1;
  if (!(v->pos_emb = as_f32(m, pos, e))) return -1;
  if (get_ln(m, nm->v_ln_pre, C, &v->ln_pre_w, &v->ln_pre_b, e)) return -1;
  if (get_ln(m, nm->v_ln_post, C, &v->ln_post_w, &v->ln_post_b, e)) return -1;
  return load_blocks(m, &v->tf, nm->v_blocks, nm->hf, 1, e);
}

static int load_text(cd_clip *m, const cd_names *nm, const cd_arch *arch, int pack, cd_error *e) {
  cd_text *t = &m->text;
  const cd_st_tensor *tok = find(m, nm->t_tok, e);
  if (!tok) return -1;
  if (tok->ndim != 2) return cd_fail(e, "%s: tensor '%s' should be [vocab, width]", m->weights_path, nm->t_tok);
  int V = (int)tok->shape[0], C = (int)tok->shape[1];
  const cd_st_tensor *pos = find(m, nm->t_pos, e);
  if (!pos) return -1;
  if (pos->ndim != 2 || pos->shape[1] != C || pos->shape[0] < 2)
    return cd_fail(e, "%s: tensor '%s' should be [context, %d]", m->weights_path, nm->t_pos, C);
  t->vocab_size = V;
  t->context = (int)pos->shape[0];
  t->tf.width = C;
  t->tf.layers = count_layers(m, nm->t_probe);
  t->tf.heads = arch->text_heads ? arch->text_heads : C / 64;
  t->tf.act = arch->text_act;
  t->tf.eps = arch->text_eps;
  if (t->tf.layers == 0) return cd_fail(e, "%s: no text transformer blocks found", m->weights_path);
  if (check_heads(m, "text", C, t->tf.heads, e)) return -1;
  if (!(t->tok_emb = as_f32(m, tok, e))) return -1;
  if (!(t->pos_emb = as_f32(m, pos, e))) return -1;
  if (get_ln(m, nm->t_ln_final, C, &t->ln_final_w, &t->ln_final_b, e)) return -1;
  return load_blocks(m, &t->tf, nm->t_blocks, nm->hf, pack, e);
}

/* A projection [embed, width]: OpenAI stores it as [width, embed], HF as [embed, width]. */
static int load_proj(cd_clip *m, int hf, cd_weight *w, const char *name, int C, int pack, cd_error *e) {
  int E = m->embed_dim;
  return hf ? get_weight(m, w, pack, E, C, name, e) : get_weight_transposed(m, w, pack, C, E, name, e);
}

/* Projections of the loaded towers and the logit scale. */
static int load_heads(cd_clip *m, const cd_names *nm, int pack_text, cd_error *e) {
  const char *probe = (m->towers & CD_TOWER_VISION) ? nm->v_proj : nm->t_proj;
  const cd_st_tensor *t = find(m, probe, e);
  if (!t) return -1;
  if (t->ndim != 2) return cd_fail(e, "%s: tensor '%s' should be 2-D", m->weights_path, probe);
  m->embed_dim = (int)(nm->hf ? t->shape[0] : t->shape[1]);
  if ((m->towers & CD_TOWER_VISION) && load_proj(m, nm->hf, &m->vision.proj, nm->v_proj, m->vision.tf.width, 1, e))
    return -1;
  if ((m->towers & CD_TOWER_TEXT) && load_proj(m, nm->hf, &m->text.proj, nm->t_proj, m->text.tf.width, pack_text, e))
    return -1;
  int64_t none[1] = {0};
  const float *ls = get(m, "logit_scale", 0, none, e);
  if (!ls) return -1;
  m->logit_scale_log = ls[0];
  return 0;
}

/* ---- configs ------------------------------------------------------------------------------ */

static cd_activation parse_act(const char *s) {
  return (s && strcmp(s, "quick_gelu") != 0) ? CD_ACT_GELU : CD_ACT_QUICKGELU;
}

static int read_hf_config(const char *path, cd_arch *a, cd_error *e) {
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 24, e);
  if (!doc) return -1;
  const cd_json *root = cd_json_root(doc);
  const cd_json *tc = cd_json_get(root, "text_config"), *vc = cd_json_get(root, "vision_config");
  if (!tc || !vc || tc->type != CD_JSON_OBJECT || vc->type != CD_JSON_OBJECT) {
    cd_json_free(doc);
    return cd_fail(e, "%s: not a CLIPModel config (no text_config / vision_config objects)", path);
  }
  /* transformers' CLIP defaults where a key is absent. */
  a->text_heads = (int)cd_json_get_int(tc, "num_attention_heads", 8);
  a->vision_heads = (int)cd_json_get_int(vc, "num_attention_heads", 12);
  a->text_act = parse_act(cd_json_get_str(tc, "hidden_act", "quick_gelu"));
  a->vision_act = parse_act(cd_json_get_str(vc, "hidden_act", "quick_gelu"));
  a->text_eps = (float)cd_json_get_num(tc, "layer_norm_eps", 1e-5);
  a->vision_eps = (float)cd_json_get_num(vc, "layer_norm_eps", 1e-5);
  cd_json_free(doc);
  return 0;
}

static int read_openclip_config(const char *path, cd_arch *a, cd_error *e) {
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 24, e);
  if (!doc) return -1;
  const cd_json *root = cd_json_root(doc), *cfg = cd_json_get(root, "model_cfg");
  if (!cfg) cfg = root; /* a bare model config, as in open_clip's model_configs folder */
  const cd_json *tc = cd_json_get(cfg, "text_cfg"), *vc = cd_json_get(cfg, "vision_cfg");
  if (!tc || !vc) {
    cd_json_free(doc);
    return cd_fail(e, "%s: no model_cfg.text_cfg / vision_cfg", path);
  }
  const cd_json *qg = cd_json_get(cfg, "quick_gelu");
  cd_activation act = (qg && qg->type == CD_JSON_BOOL && qg->boolean) ? CD_ACT_QUICKGELU : CD_ACT_GELU;
  a->text_act = a->vision_act = act;
  a->text_heads = (int)cd_json_get_int(tc, "heads", 8);
  int head_width = (int)cd_json_get_int(vc, "head_width", 64);
  int vwidth = (int)cd_json_get_int(vc, "width", 768);
  a->vision_heads = head_width > 0 ? vwidth / head_width : 0;
  a->text_eps = a->vision_eps = 1e-5f;
  const char *unsupported[] = {"attentional_pool", "attn_pooler_heads", "timm_model_name", "hf_model_name"};
  for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++) {
    const cd_json *u = cd_json_get(vc, unsupported[i]);
    if (!u) u = cd_json_get(tc, unsupported[i]);
    if (u && u->type != CD_JSON_NULL && !(u->type == CD_JSON_BOOL && !u->boolean)) {
      cd_json_free(doc);
      return cd_fail(e, "%s: '%s' towers are not supported (plain ViT + text transformer only)", path, unsupported[i]);
    }
  }
  cd_json_free(doc);
  return 0;
}

/* ---- tokenizer discovery ---------------------------------------------------------------- */

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Tries dir/vocab.json + dir/merges.txt, then dir/bpe_simple_vocab_16e6.txt.gz.
 * Returns the tokenizer, or NULL with found = 0 (nothing there) or -1 (an error in e). */
static cd_tokenizer *tokenizer_in_dir(const char *dir, char *desc, size_t cap, int *found, cd_error *e) {
  char vocab[4200], merges[4200], gz[4200];
  snprintf(vocab, sizeof vocab, "%s/vocab.json", dir);
  snprintf(merges, sizeof merges, "%s/merges.txt", dir);
  snprintf(gz, sizeof gz, "%s/bpe_simple_vocab_16e6.txt.gz", dir);
  cd_tokenizer *t = NULL;
  *found = 0;
  if (cd_file_exists(vocab) && cd_file_exists(merges)) {
    t = cd_tokenizer_load_hf(vocab, merges, e);
    snprintf(desc, cap, "%s + merges.txt", vocab);
  } else if (cd_file_exists(gz)) {
    t = cd_tokenizer_load_bpe_gz(gz, e);
    snprintf(desc, cap, "%s", gz);
  } else {
    return NULL;
  }
  *found = t ? 1 : -1;
  return t;
}

cd_tokenizer *cd_tokenizer_open(const char *path, char *desc, size_t cap, cd_error *e) {
  int found;
  if (is_dir(path)) {
    cd_tokenizer *t = tokenizer_in_dir(path, desc, cap, &found, e);
    if (found == 0) cd_fail(e, "%s: no vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz in this folder", path);
    return t;
  }
  if (!cd_file_exists(path)) return cd_fail(e, "%s: tokenizer file does not exist", path), NULL;
  if (!ends_with(path, ".gz"))
    return cd_fail(e, "%s: expected bpe_simple_vocab_16e6.txt.gz or a folder with vocab.json + merges.txt", path), NULL;
  snprintf(desc, cap, "%s", path);
  return cd_tokenizer_load_bpe_gz(path, e);
}

static int load_tokenizer(cd_clip *m, const char *model_dir, const cd_clip_load_opts *o, cd_error *e) {
  const size_t cap = sizeof m->tokenizer_desc;
  int found = 1;
  if (o && o->vocab_path) m->tokenizer = cd_tokenizer_open(o->vocab_path, m->tokenizer_desc, cap, e);
  else m->tokenizer = tokenizer_in_dir(model_dir, m->tokenizer_desc, cap, &found, e);
  if (m->tokenizer) return 0;
  if (found < 0 || (o && o->vocab_path)) return -1;
  snprintf(m->tokenizer_desc, cap, "none");
  if (o && o->require_tokenizer)
    return cd_fail(e, "%s: no tokenizer found (looked for vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz; pass --vocab)", model_dir);
  return 0;
}

/* ---- entry point -------------------------------------------------------------------------- */

static int detect_layout(cd_clip *m, const char *path, char *dir, size_t dircap, char *cfg, size_t cfgcap, cd_error *e) {
  if (is_dir(path)) {
    snprintf(dir, dircap, "%s", path);
    if (cd_path_join(cfg, cfgcap, path, "open_clip_config.json") == 0 && cd_file_exists(cfg)) {
      m->layout = CD_LAYOUT_OPENCLIP_DIR;
      return cd_path_join(m->weights_path, sizeof m->weights_path, path, "open_clip_model.safetensors");
    }
    if (cd_path_join(cfg, cfgcap, path, "config.json") == 0 && cd_file_exists(cfg)) {
      m->layout = CD_LAYOUT_HF;
      return cd_path_join(m->weights_path, sizeof m->weights_path, path, "model.safetensors");
    }
    return cd_fail(e, "%s: folder has neither config.json (Hugging Face) nor open_clip_config.json (OpenCLIP)", path);
  }
  if (!cd_file_exists(path)) return cd_fail(e, "%s: no such file or folder", path);
  if (!ends_with(path, ".safetensors"))
    return cd_fail(e, "%s: expected a .safetensors file or a model folder (PyTorch .pt/.bin pickles are not read; convert them to safetensors)", path);
  m->layout = CD_LAYOUT_OPENAI_FILE;
  snprintf(m->weights_path, sizeof m->weights_path, "%s", path);
  const char *slash = strrchr(path, '/');
  if (slash) snprintf(dir, dircap, "%.*s", (int)(slash - path), path);
  else snprintf(dir, dircap, ".");
  cfg[0] = 0;
  return 0;
}

/* A single OpenAI-naming file cannot say its head counts (upstream assumes width / 64, true
 * of every OpenAI release). A config beside it, OpenCLIP's or Hugging Face's, says them
 * exactly, so it wins when present. */
static void sidecar_config(const char *dir, char *cfg, size_t cap) {
  if (cd_path_join(cfg, cap, dir, "open_clip_config.json") == 0 && cd_file_exists(cfg)) return;
  if (cd_path_join(cfg, cap, dir, "config.json") == 0 && cd_file_exists(cfg)) return;
  cfg[0] = 0;
}

/* The GEMM kernel of the requested precision. A precision this CPU has no vector kernel for
 * is refused rather than run by the portable C kernel (slower than float32 by far), unless
 * the portable level was asked for. */
static int pick_kernel(cd_clip *m, const cd_gemm_kernel **k, cd_error *e) {
  const cd_kernels *kt = cd_kernels_get();
  cd_precision p = m->precision;
  if ((unsigned)p >= CD_PREC_COUNT) return cd_fail(e, "precision %d: unknown", (int)p);
  if (kt->from[CD_OP_GEMM_FP32 + p] == CD_ISA_REF && kt->isa != CD_ISA_REF)
    return cd_fail(e, "precision %s: this CPU (%s) has no kernel for it (%s needs AVX512_BF16 or AMX); use fp32%s",
                   cd_precision_name(p), cd_isa_name(kt->isa), cd_precision_name(p),
                   kt->from[CD_OP_GEMM_FP16] != CD_ISA_REF ? " or fp16" : "");
  *k = kt->gemm[p];
  return 0;
}

int cd_clip_load(cd_clip *m, const char *path, const cd_clip_load_opts *opts, cd_error *e) {
  memset(m, 0, sizeof *m);
  snprintf(m->path, sizeof m->path, "%s", path);
  char dir[4096], cfg[4200];
  if (detect_layout(m, path, dir, sizeof dir, cfg, sizeof cfg, e)) return -1;

  cd_arch arch = {0, 0, CD_ACT_QUICKGELU, CD_ACT_QUICKGELU, 1e-5f, 1e-5f};
  if (m->layout == CD_LAYOUT_OPENAI_FILE) sidecar_config(dir, cfg, sizeof cfg);
  snprintf(m->arch_source, sizeof m->arch_source, "%s", cfg[0] ? cfg : "upstream rule: heads = width / 64, QuickGELU");
  if (cfg[0] && strstr(cfg, "open_clip_config.json") && read_openclip_config(cfg, &arch, e)) return -1;
  if (cfg[0] && !strstr(cfg, "open_clip_config.json") && read_hf_config(cfg, &arch, e)) return -1;
  if (!cd_file_exists(m->weights_path)) return cd_fail(e, "%s: weights file not found", m->weights_path);
  if (cd_st_open(&m->st, m->weights_path, e)) return -1;

  const cd_names *nm = m->layout == CD_LAYOUT_HF ? &HF_NAMES : &OPENAI_NAMES;
  int towers = opts && opts->towers ? opts->towers & CD_TOWER_BOTH : CD_TOWER_BOTH;
  int pack_text = opts && opts->pack_text;
  m->towers = towers;
  m->precision = opts ? opts->precision : CD_PREC_FP32;
  cd_precision rows = opts ? opts->text_rows : CD_PREC_FP32;
  m->text_rows = rows;
  if (rows != CD_PREC_FP32 && (rows != CD_PREC_BF16 || pack_text)) {
    cd_clip_free(m);
    return cd_fail(e, "precision %s: the prompt-tuning text tower runs in fp32 or bf16 (bfloat16 weights, float32 "
                      "activations and arithmetic)", cd_precision_name(rows));
  }
  const cd_gemm_kernel *k = NULL;
  if (pick_kernel(m, &k, e) || (towers & CD_TOWER_VISION && load_vision(m, nm, &arch, e)) ||
      (towers & CD_TOWER_TEXT && load_text(m, nm, &arch, pack_text, e)) || load_heads(m, nm, pack_text, e) ||
      finish_weights(m, k, e) || (towers & CD_TOWER_TEXT && !pack_text && cd_clip_transpose_text_rows(m, e)) ||
      (towers & CD_TOWER_TEXT && load_tokenizer(m, dir, opts, e))) {
    cd_clip_free(m);
    return -1;
  }
  if (!(towers & CD_TOWER_TEXT)) snprintf(m->tokenizer_desc, sizeof m->tokenizer_desc, "not loaded (no text tower)");
  return 0;
}

int cd_clip_text_weights(cd_clip *m, cd_weight **ws) {
  int n = 0;
  for (int l = 0; m->text.tf.blocks && l < m->text.tf.layers; l++) {
    cd_block *b = &m->text.tf.blocks[l];
    ws[n++] = &b->qkv_w, ws[n++] = &b->out_w, ws[n++] = &b->fc_w, ws[n++] = &b->proj_w;
  }
  ws[n++] = &m->text.proj;
  return n;
}

size_t cd_clip_text_weight_bytes(const cd_clip *m) {
  const cd_transformer *tf = &m->text.tf;
  size_t C = (size_t)tf->width, F = (size_t)tf->mlp_dim, elem = cd_weight_bf16(&m->text.proj) ? 2 : 4;
  return elem * ((size_t)tf->layers * (4 * C * C + 2 * C * F) + C * (size_t)m->embed_dim);
}

int cd_clip_transpose_text_rows(cd_clip *m, cd_error *e) {
  if (cd_clip_text_weight_bytes(m) <= CD_TEXT_CACHED_BYTES) return 0;
  cd_weight *ws[4 * m->text.tf.layers + 1];
  int n = cd_clip_text_weights(m, ws), rc = 0;
  for (int i = 0; i < n && rc == 0; i++) rc = cd_weight_transpose_rows(ws[i], e);
  return rc;
}

void cd_clip_free_text_rows_t(cd_clip *m) {
  cd_weight *ws[4 * (m->text.tf.blocks ? m->text.tf.layers : 0) + 1];
  int n = cd_clip_text_weights(m, ws);
  for (int i = 0; i < n; i++) free(ws[i]->rows_t), ws[i]->rows_t = NULL;
}

void cd_clip_free(cd_clip *m) {
  cd_clip_free_text_rows_t(m);
  for (int i = 0; i < m->n_pending; i++) free(m->pending[i].tmp);
  free(m->pending);
  for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
  free(m->owned);
  free(m->vision.tf.blocks);
  free(m->text.tf.blocks);
  if (m->tokenizer) cd_tokenizer_free(m->tokenizer);
  cd_st_close(&m->st);
  memset(m, 0, sizeof *m);
}
