/* CoOp gradient check: the float text-tower backward (packed rows, EOT cut, shared prefix,
 * segment attention) against central finite differences of an independent double-precision
 * forward that runs every prompt over the full context like upstream CLIP + CoOp.
 * Also: packed segment attention == plain causal attention on the unpacked sequences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/clip/clip.h"
#include "models/tuning/coop_loss.h"
#include "models/tuning/prompt.h"
#include "ops/attention/attention_segments.h"
#include "models/tuning/text_train.h"
#include "ops/ops.h"
#include "tests/testutil.h"
#include "tests/tiny_clip.h"

enum { W = 16, LAYERS = 2, HEADS = 2, MLP = 64, VOCAB = 50, CTXLEN = 24, EMB = 8, NS = 7 };
enum { SOT = 48, EOT = 49, XTOK = 5, PERIOD = 7 };

typedef cd_tiny_clip tiny_model;

static void tiny_build(tiny_model *t, cd_activation act, uint64_t seed) {
  cd_tiny_dims d = {W, LAYERS, HEADS, MLP, VOCAB, CTXLEN, EMB, act};
  CHECK(cd_tiny_clip_build(t, &d, seed) == 0, "cannot build the tiny model");
  t->m.logit_scale_log = logf(20.0f);
}

/* ---- independent double-precision forward over full-length prompts (CoOp + upstream) ---- */

static void ln_d(double *o, const double *x, const float *w, const float *b, int C) {
  double mu = 0, var = 0;
  for (int i = 0; i < C; i++) mu += x[i];
  mu /= C;
  for (int i = 0; i < C; i++) var += (x[i] - mu) * (x[i] - mu);
  var /= C;
  double rs = 1.0 / sqrt(var + 1e-5);
  for (int i = 0; i < C; i++) o[i] = (x[i] - mu) * rs * w[i] + b[i];
}

static void lin_d(double *o, const double *x, const float *w, const float *b, int K, int N) {
  for (int n = 0; n < N; n++) {
    double s = b ? b[n] : 0;
    for (int k = 0; k < K; k++) s += x[k] * w[(size_t)n * K + k];
    o[n] = s;
  }
}

static double act_d(cd_activation a, double x) {
  return a == CD_ACT_GELU ? 0.5 * x * (1 + erf(x / sqrt(2.0))) : x / (1 + exp(-1.702 * x));
}

/* Builds the [CTXLEN, W] input of class c exactly as CoOp's PromptLearner concatenates. */
static void coop_prompt_d(double *xin, const cd_prompt *p, const cd_text *tx, int c,
                          const double *ctx) {
  const int32_t *tok = p->tokens + (size_t)c * CTXLEN;
  int n = p->n_ctx, nl = p->name_lens[c], h = n / 2;
  const double *cx = ctx + (p->csc ? (size_t)c * n * W : 0);
  /* pieces: prefix (SOT emb), ctx, class (name tokens), suffix (after name) */
  int order[CTXLEN][2], k = 0; /* (kind, index): 0 token position, 1 ctx row */
  order[k][0] = 0, order[k][1] = 0, k++;
  if (p->position == CD_CLASS_END) {
    for (int i = 0; i < n; i++) order[k][0] = 1, order[k][1] = i, k++;
    for (int i = 1 + n; i < CTXLEN; i++) order[k][0] = 0, order[k][1] = i, k++;
  } else if (p->position == CD_CLASS_MIDDLE) {
    for (int i = 0; i < h; i++) order[k][0] = 1, order[k][1] = i, k++;
    for (int i = 0; i < nl; i++) order[k][0] = 0, order[k][1] = 1 + n + i, k++;
    for (int i = h; i < n; i++) order[k][0] = 1, order[k][1] = i, k++;
    for (int i = 1 + n + nl; i < CTXLEN; i++) order[k][0] = 0, order[k][1] = i, k++;
  } else {
    for (int i = 0; i < nl; i++) order[k][0] = 0, order[k][1] = 1 + n + i, k++;
    for (int i = 0; i < n; i++) order[k][0] = 1, order[k][1] = i, k++;
    for (int i = 1 + n + nl; i < CTXLEN; i++) order[k][0] = 0, order[k][1] = i, k++;
  }
  for (int t = 0; t < CTXLEN; t++)
    for (int i = 0; i < W; i++) {
      double v = order[t][0] ? cx[order[t][1] * W + i]
                             : tx->tok_emb[(size_t)tok[order[t][1]] * W + i];
      xin[t * W + i] = v + tx->pos_emb[t * W + i];
    }
}

static void text_feature_d(double *feat, const cd_prompt *p, const cd_text *tx, int c,
                           const double *ctx) {
  static double x[CTXLEN * W], ln[CTXLEN * W], qkv[CTXLEN * 3 * W], ao[CTXLEN * W];
  static double hid[CTXLEN * MLP], tmp[CTXLEN * W];
  const int T = CTXLEN, C = W, hs = W / HEADS;
  coop_prompt_d(x, p, tx, c, ctx);
  for (int l = 0; l < LAYERS; l++) {
    const cd_block *b = &tx->tf.blocks[l];
    for (int t = 0; t < T; t++) ln_d(ln + t * C, x + t * C, b->ln_1_w, b->ln_1_b, C);
    for (int t = 0; t < T; t++) lin_d(qkv + t * 3 * C, ln + t * C, cd_weight_f32(&b->qkv_w), b->qkv_b, C, 3 * C);
    for (int h = 0; h < HEADS; h++)
      for (int t = 0; t < T; t++) {
        double s[CTXLEN], mx = -1e300, z = 0;
        for (int j = 0; j <= t; j++) {
          double d = 0;
          for (int i = 0; i < hs; i++) d += qkv[t * 3 * C + h * hs + i] * qkv[j * 3 * C + C + h * hs + i];
          s[j] = d / sqrt((double)hs);
          if (s[j] > mx) mx = s[j];
        }
        for (int j = 0; j <= t; j++) z += (s[j] = exp(s[j] - mx));
        for (int i = 0; i < hs; i++) {
          double o = 0;
          for (int j = 0; j <= t; j++) o += s[j] / z * qkv[j * 3 * C + 2 * C + h * hs + i];
          ao[t * C + h * hs + i] = o;
        }
      }
    for (int t = 0; t < T; t++) {
      lin_d(tmp + t * C, ao + t * C, cd_weight_f32(&b->out_w), b->out_b, C, C);
      for (int i = 0; i < C; i++) x[t * C + i] += tmp[t * C + i];
    }
    for (int t = 0; t < T; t++) {
      ln_d(ln + t * C, x + t * C, b->ln_2_w, b->ln_2_b, C);
      lin_d(hid + t * MLP, ln + t * C, cd_weight_f32(&b->fc_w), b->fc_b, C, MLP);
      for (int i = 0; i < MLP; i++) hid[t * MLP + i] = act_d(tx->tf.act, hid[t * MLP + i]);
      lin_d(tmp + t * C, hid + t * MLP, cd_weight_f32(&b->proj_w), b->proj_b, MLP, C);
      for (int i = 0; i < C; i++) x[t * C + i] += tmp[t * C + i];
    }
  }
  int eot = cd_text_eot_index(p->tokens + (size_t)c * CTXLEN, CTXLEN);
  ln_d(ln, x + eot * C, tx->ln_final_w, tx->ln_final_b, C);
  lin_d(feat, ln, cd_weight_f32(&tx->proj), NULL, C, EMB);
}

static double loss_d(const cd_prompt *p, const cd_clip *m, const double *ctx, const float *img,
                     const int32_t *y, const float *w, double *feats) {
  int K = p->n_cls;
  double tf[8 * EMB], loss = 0, ws = 0, sc = exp((double)m->logit_scale_log);
  for (int c = 0; c < K; c++) {
    text_feature_d(tf + c * EMB, p, &m->text, c, ctx);
    if (feats) memcpy(feats + c * EMB, tf + c * EMB, sizeof(double) * EMB);
    double nn = 0;
    for (int d = 0; d < EMB; d++) nn += tf[c * EMB + d] * tf[c * EMB + d];
    for (int d = 0; d < EMB; d++) tf[c * EMB + d] /= sqrt(nn);
  }
  for (int i = 0; i < NS; i++) {
    double in = 0, lg[8], mx = -1e300, z = 0;
    for (int d = 0; d < EMB; d++) in += (double)img[i * EMB + d] * img[i * EMB + d];
    for (int c = 0; c < K; c++) {
      double s = 0;
      for (int d = 0; d < EMB; d++) s += img[i * EMB + d] / sqrt(in) * tf[c * EMB + d];
      lg[c] = sc * s;
      if (lg[c] > mx) mx = lg[c];
    }
    for (int c = 0; c < K; c++) z += exp(lg[c] - mx);
    loss += w[i] * (mx + log(z) - lg[y[i]]);
    ws += w[i];
  }
  return loss / ws;
}

/* ---- the checks ---- */

/* transposed: every text weight's rows also transposed, as a tower past CD_TEXT_CACHED_BYTES
 * loads (the input gradients then run the forward's kernels over W^T). */
static void check_config(const char *name, int csc, cd_class_position pos, int n_ctx,
                         cd_activation act, int transposed) {
  tiny_model tm;
  tiny_build(&tm, act, 7 + (uint64_t)pos * 3 + (uint64_t)csc);
  cd_clip *m = &tm.m;
  cd_weight *tw[4 * LAYERS + 1];
  int ntw = cd_clip_text_weights(m, tw);
  for (int i = 0; i < ntw && transposed; i++) {
    cd_error te;
    CHECK(cd_weight_transpose_rows(tw[i], &te) == 0 && tw[i]->rows_t, "%s: transposing a weight", name);
  }
  enum { NCLS = 3 };
  const int32_t n0[] = {10, 11}, n1[] = {12}, n2[] = {13, 14, 15};
  const int32_t *names[NCLS] = {n0, n1, n2};
  int lens[NCLS] = {2, 1, 3};
  int32_t prefix[8], tokens[NCLS * CTXLEN];
  for (int i = 0; i < 8; i++) prefix[i] = XTOK;
  cd_error e;
  CHECK(!cd_prompt_build_tokens(NCLS, n_ctx, prefix, names, lens, PERIOD, SOT, EOT, CTXLEN,
                                tokens, &e), "%s", e.msg);
  cd_prompt p;
  if (cd_prompt_init(&p, NCLS, n_ctx, W, csc, pos, tokens, CTXLEN, lens, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  cd_prompt_init_random(&p, 3, 0.5f);
  float img[NS * EMB], wts[NS];
  int32_t y[NS];
  cd_test_fill(img, NS * EMB, 11, 1.0f);
  cd_test_fill(wts, NS, 12, 1.0f);
  for (int i = 0; i < NS; i++) {
    wts[i] = 1.5f + wts[i];
    y[i] = i % NCLS;
  }
  /* ours */
  cd_text_train t;
  if (cd_text_train_init(&t, m, &p, &e)) {
    CHECK(0, "%s", e.msg);
    cd_prompt_free(&p);
    return;
  }
  float img_n[NS * EMB], dtxt[NCLS * EMB];
  memcpy(img_n, img, sizeof img);
  cd_l2_normalize_rows(img_n, NS, EMB);
  cd_text_train_forward(&t, m, p.ctx);
  double loss;
  CHECK(!cd_coop_loss(img_n, NS, t.features, NCLS, EMB, m->logit_scale_log, y, wts, NULL,
                      &loss, dtxt, NULL, &e), "%s", e.msg);
  float *grad = calloc(p.ctx_numel, sizeof(float));
  cd_text_train_backward(&t, m, dtxt, grad);
  /* reference */
  double *cd = malloc(sizeof(double) * p.ctx_numel);
  float *fd = malloc(sizeof(float) * p.ctx_numel);
  for (size_t i = 0; i < p.ctx_numel; i++) cd[i] = p.ctx[i];
  double feats[NCLS * EMB];
  double ref_loss = loss_d(&p, m, cd, img, y, wts, feats);
  float featf[NCLS * EMB];
  for (int i = 0; i < NCLS * EMB; i++) featf[i] = (float)feats[i];
  const double h = 1e-5;
  for (size_t i = 0; i < p.ctx_numel; i++) {
    double keep = cd[i];
    cd[i] = keep + h;
    double lp = loss_d(&p, m, cd, img, y, wts, NULL);
    cd[i] = keep - h;
    double lm = loss_d(&p, m, cd, img, y, wts, NULL);
    cd[i] = keep;
    fd[i] = (float)((lp - lm) / (2 * h));
  }
  printf("%s (P=%d, R=%d rows instead of %d):\n", name, t.P, t.R, NCLS * CTXLEN);
  cd_test_close("text features vs double full-context", t.features, featf, NCLS * EMB, 5e-6);
  float lf = (float)loss, lr = (float)ref_loss;
  cd_test_close("loss vs double", &lf, &lr, 1, 1e-5);
  cd_test_close("d loss / d ctx vs double central FD", grad, fd, p.ctx_numel, 2e-5);
  /* A later forward of other context vectors keeps the rows before g0 from the first one:
   * the same bits, features and gradient, as a fresh tower's full forward of them. */
  float *ctx2 = malloc(sizeof(float) * p.ctx_numel), *g1 = calloc(p.ctx_numel, sizeof(float));
  float *g2 = calloc(p.ctx_numel, sizeof(float));
  for (size_t i = 0; i < p.ctx_numel; i++) ctx2[i] = p.ctx[i] * 0.5f + 0.01f * (float)(i % 7);
  cd_text_train fresh;
  CHECK(!cd_text_train_init(&fresh, m, &p, &e), "%s", e.msg);
  cd_text_train_forward(&t, m, ctx2);
  cd_text_train_forward(&fresh, m, ctx2);
  CHECK(memcmp(t.features, fresh.features, sizeof(float) * NCLS * EMB) == 0,
        "%s: a second forward (%d rows kept from the first) differs from a fresh tower's", name, t.g0);
  cd_text_train_backward(&t, m, dtxt, g1);
  cd_text_train_backward(&fresh, m, dtxt, g2);
  CHECK(memcmp(g1, g2, sizeof(float) * p.ctx_numel) == 0, "%s: the second forward's gradient differs from a fresh tower's", name);
  cd_text_train_free(&fresh);
  free(ctx2), free(g1), free(g2);
  free(cd);
  free(fd);
  free(grad);
  cd_text_train_free(&t);
  cd_prompt_free(&p);
  cd_clip_free_text_rows_t(m);
  free(tm.buf);
}

static void check_segment_attention(void) {
  enum { C = 12, NH = 3, P = 4, NSEG = 3 };
  const int lens[NSEG] = {3, 1, 5};
  int seg[NSEG + 1] = {P};
  for (int s = 0; s < NSEG; s++) seg[s + 1] = seg[s] + lens[s];
  int R = seg[NSEG], Tk = cd_segments_max_keys(P, NSEG, seg);
  float *qkv = malloc(sizeof(float) * R * 3 * C), *out = calloc((size_t)R * C, sizeof(float));
  float *att = malloc(sizeof(float) * NH * R * Tk), *dout = malloc(sizeof(float) * R * C);
  float *dqkv = calloc((size_t)R * 3 * C, sizeof(float));
  float *ref_out = calloc((size_t)R * C, sizeof(float));
  float *ref_dqkv = calloc((size_t)R * 3 * C, sizeof(float));
  cd_test_fill(qkv, (size_t)R * 3 * C, 21, 1.5f);
  cd_test_fill(dout, (size_t)R * C, 22, 1.0f);
  cd_attention_forward_segments(out, att, qkv, R, P, NSEG, seg, C, NH, 1);
  cd_attention_backward_segments(dqkv, dout, qkv, att, R, P, NSEG, seg, C, NH, 1);
  /* unpacked: each (prefix + segment) as its own causal sequence; the prefix outputs are
   * taken from the first sequence, prefix gradients summed over all sequences */
  for (int s = 0; s < NSEG; s++) {
    int T = P + lens[s];
    float *q = malloc(sizeof(float) * T * 3 * C), *o = malloc(sizeof(float) * T * C);
    float *a = malloc(sizeof(float) * NH * T * T), *go = calloc((size_t)T * C, sizeof(float));
    float *dq = calloc((size_t)T * 3 * C, sizeof(float));
    for (int t = 0; t < T; t++) {
      int r = t < P ? t : seg[s] + t - P;
      memcpy(q + t * 3 * C, qkv + r * 3 * C, sizeof(float) * 3 * C);
      /* the prefix rows' output gradient belongs to the packed prefix once: give it to
       * sequence 0 only */
      if (t >= P || s == 0) memcpy(go + t * C, dout + r * C, sizeof(float) * C);
    }
    cd_attention_forward_ref(o, a, q, 1, T, C, NH, 1);
    cd_attention_backward_ref(dq, go, q, a, 1, T, C, NH, 1);
    for (int t = 0; t < T; t++) {
      int r = t < P ? t : seg[s] + t - P;
      if (t >= P || s == 0) memcpy(ref_out + r * C, o + t * C, sizeof(float) * C);
      for (int i = 0; i < 3 * C; i++) ref_dqkv[r * 3 * C + i] += dq[t * 3 * C + i];
    }
    free(q), free(o), free(a), free(go), free(dq);
  }
  printf("segment attention (prefix %d, segments 3/1/5):\n", P);
  cd_test_close("packed forward vs per-sequence causal", out, ref_out, (size_t)R * C, 1e-6);
  cd_test_close("packed backward vs per-sequence causal", dqkv, ref_dqkv, (size_t)R * 3 * C, 1e-5);
  /* P = 0: block-diagonal causal */
  int seg0[NSEG + 1] = {0};
  for (int s = 0; s < NSEG; s++) seg0[s + 1] = seg0[s] + lens[s] + 2;
  int R0 = seg0[NSEG];
  float *out0 = calloc((size_t)R0 * C, sizeof(float)), *ref0 = calloc((size_t)R0 * C, sizeof(float));
  float *att0 = malloc(sizeof(float) * NH * R0 * cd_segments_max_keys(0, NSEG, seg0));
  float *qkv0 = malloc(sizeof(float) * R0 * 3 * C);
  cd_test_fill(qkv0, (size_t)R0 * 3 * C, 23, 1.5f);
  cd_attention_forward_segments(out0, att0, qkv0, R0, 0, NSEG, seg0, C, NH, 1);
  for (int s = 0; s < NSEG; s++) {
    int T = seg0[s + 1] - seg0[s];
    float *a = malloc(sizeof(float) * NH * T * T);
    cd_attention_forward_ref(ref0 + seg0[s] * C, a, qkv0 + seg0[s] * 3 * C, 1, T, C, NH, 1);
    free(a);
  }
  cd_test_close("block-diagonal forward vs per-sequence", out0, ref0, (size_t)R0 * C, 1e-6);
  free(out0), free(ref0), free(att0), free(qkv0);
  free(qkv), free(out), free(att), free(dout), free(dqkv), free(ref_out), free(ref_dqkv);
}

int main(void) {
  check_segment_attention();
  check_config("unified, end (shared prefix)", 0, CD_CLASS_END, 4, CD_ACT_QUICKGELU, 0);
  check_config("unified, middle", 0, CD_CLASS_MIDDLE, 3, CD_ACT_QUICKGELU, 0);
  check_config("unified, front, GELU", 0, CD_CLASS_FRONT, 4, CD_ACT_GELU, 0);
  check_config("class-specific, end", 1, CD_CLASS_END, 4, CD_ACT_QUICKGELU, 0);
  check_config("class-specific, middle, GELU", 1, CD_CLASS_MIDDLE, 4, CD_ACT_GELU, 0);
  check_config("class-specific, front", 1, CD_CLASS_FRONT, 3, CD_ACT_QUICKGELU, 0);
  check_config("unified, end, transposed rows", 0, CD_CLASS_END, 4, CD_ACT_QUICKGELU, 1);
  check_config("class-specific, middle, GELU, transposed rows", 1, CD_CLASS_MIDDLE, 4, CD_ACT_GELU, 1);
  return cd_test_finish("test_coop_grad");
}
