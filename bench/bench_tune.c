/* Prompt-tuning throughput: CoOp steps/s on a ViT-B/32-sized text tower (width 512, 12 layers,
 * 8 heads, MLP 2048, vocab 49408, embed 512; random weights built in memory), 2 classes,
 * 16 context vectors, batch 32 of cached image features. One step = text forward, loss,
 * backward to the context, SGD update (what `clipdebias tune` does per minibatch).
 * Then the roofline of that step (bench/roofline.h): the bytes of frozen weights it streams
 * (every Linear's float32 weight once forward and once backward, for the input gradient),
 * its FLOPs (the GEMMs over the rows each one really runs, plus attention), the machine's
 * triad bandwidth and FMA peak measured here, the roof = the larger of weights / bandwidth
 * and FLOPs / peak, and the step time as a share of it.
 * With pairs > 1: that many runs (context vectors) stepped in lockstep (text_train copies: one
 * tower pass per step for all) against the same runs stepped one after the other, in
 * alternating rounds (a shared machine disturbs both alike); pair-steps/s of each and the
 * paired ratios (min, median, max over rounds).
 * Then the text tower with its weights as bfloat16 rows (run --precision bf16: half the bytes
 * streamed, float32 arithmetic) against float32, alternating rounds in the same run, for one
 * run and, with pairs, for the runs in lockstep; with the bf16 step's own roofline.
 * usage: bench_tune [steps] [threads] [pairs]   prints "steps/s <value>", "roofline ...",
 * with pairs "lockstep ...", and "bf16 ...". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/roofline.h"
#include "core/cpu.h"
#include "core/dtype.h"
#include "ops/dispatch.h"
#include "core/progress.h"
#include "models/clip/clip.h"
#include "models/tuning/coop_loss.h"
#include "models/tuning/optim.h"
#include "models/tuning/prompt.h"
#include "models/tuning/text_train.h"
#include "tools/cli/args.h"

enum { W = 512, LAYERS = 12, HEADS = 8, MLP = 2048, VOCAB = 49408, CTX = 77, EMB = 512 };
enum { NCLS = 2, NCTX = 16, BATCH = 32 };

static uint64_t rs = 88172645463325252ull;
static float *rnd(size_t n, float scale, float offset) {
  float *p = malloc(sizeof(float) * n);
  if (!p) {
    fprintf(stderr, "bench_tune: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < n; i++) {
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    p[i] = offset + scale * (float)((rs >> 40) * (1.0 / 16777216.0) * 2 - 1);
  }
  return p;
}

/* A plain float32 Linear weight [rows, cols], as prompt tuning loads the text tower. */
static cd_weight wrnd(int rows, int cols, float scale) {
  return (cd_weight){rows, cols, CD_F32, rnd((size_t)rows * cols, scale, 0), NULL, NULL, 0, NULL, NULL};
}

/* Keys a row of the packed prompt attends to (ops/attention/attention_segments.h). */
static double attended_keys(const cd_text_train *t) {
  double keys = 0;
  for (int r = 0; r < t->P; r++) keys += r + 1;
  for (int s = 0; s < t->n_seg; s++)
    for (int r = t->seg[s]; r < t->seg[s + 1]; r++) keys += t->P + (r - t->seg[s]) + 1;
  return keys;
}

/* FLOPs of one tuning step (forward + backward down to the context) and the bytes of frozen
 * float32 weights it streams. Forward: every block's GEMMs over the rows from g0 (the rows
 * before it are kept from the first forward), but the last block's qkv over all R rows and
 * its out-proj and MLP over the EOT rows only; ln_final and the projection over the EOT rows.
 * Backward: the input gradient of each of those GEMMs over the rows it runs (rows before g0
 * skipped), attention twice its forward. Norms and activations are left out (< 1%). */
static void step_cost(const cd_text_train *t, double *flops, double *bytes) {
  double C = t->C, F = t->F, E = t->E, R = t->R, N = t->n_cls, Rb = t->R - t->g0;
  double per_row = 2 * (3 * C * C + C * C + C * F + F * C); /* qkv, out, fc, proj */
  double att = 4 * C * attended_keys(t);                     /* QK^T and PV, all heads */
  double fwd = 0, bwd = 0;
  for (int l = 0; l < t->L; l++) {
    int last = l == t->L - 1;
    fwd += 2 * (last ? R : Rb) * 3 * C * C + (last ? N : Rb) * (per_row - 2 * 3 * C * C) + att;
    bwd += 2 * Rb * 3 * C * C + (last ? N : Rb) * (per_row - 2 * 3 * C * C) + 2 * att;
  }
  fwd += 2 * N * C * E, bwd += 2 * N * C * E;
  *flops = fwd + bwd;
  *bytes = 2.0 * sizeof(float) * (t->L * (3 * C * C + C * C + 2 * C * F) + C * E);
}

/* The step beside its roofline: measured after the step, on the same threads. */
static void print_roofline(const cd_text_train *t, double step_s) {
  int nt = cd_threads_get(), lanes = 1;
  double flops, bytes;
  step_cost(t, &flops, &bytes);
  double bw = roofline_bandwidth_gbs(nt, (size_t)1 << 24, 8);
  double peak = roofline_fma_peak_gflops(nt, 20, &lanes);
  double t_mem = bw > 0 ? bytes / (bw * 1e9) : 0, t_fma = flops / (peak * 1e9);
  double roof = t_mem > t_fma ? t_mem : t_fma;
  printf("step: %.1f MB of weights streamed, %.2f GFLOP (%.1f GFLOP/s achieved)\n", bytes / 1e6,
         flops / 1e9, flops / step_s * 1e-9);
  printf("machine: triad %.1f GB/s, FMA peak %.1f GFLOP/s (%d-lane fp32, %d threads)\n", bw, peak,
         lanes, nt);
  printf("roofline: %.2f ms (weights %.2f ms at the triad, FLOPs %.2f ms at the peak; %s-bound)\n",
         1e3 * roof, 1e3 * t_mem, 1e3 * t_fma, t_mem > t_fma ? "memory" : "compute");
  printf("roofline share %.1f%% (step %.2f ms = %.2fx the roofline)\n", 100 * roof / step_s,
         1e3 * step_s, step_s / roof);
}

/* One step of n runs: stacked (lockstep) when tt has copies, else one after the other on t1. */
static int pairs_step(cd_text_train *tt, cd_text_train *t1, const cd_clip *m, float **ctx, float **grad,
                      int n, size_t numel, const float *img, const int32_t *y, const float *w, float *dtxt,
                      cd_error *e) {
  double loss;
  size_t CE = (size_t)NCLS * EMB;
  if (tt) {
    cd_text_train_forward_copies(tt, m, (const float *const *)ctx, n);
    for (int k = 0; k < n; k++) {
      if (cd_coop_loss(img, BATCH, tt->features + k * CE, NCLS, EMB, m->logit_scale_log, y, w, NULL, &loss,
                       dtxt + k * CE, NULL, e))
        return -1;
      memset(grad[k], 0, sizeof(float) * numel);
    }
    cd_text_train_backward_copies(tt, m, dtxt, grad, n);
  }
  for (int k = 0; !tt && k < n; k++) {
    cd_text_train_forward(t1, m, ctx[k]);
    if (cd_coop_loss(img, BATCH, t1->features, NCLS, EMB, m->logit_scale_log, y, w, NULL, &loss, dtxt, NULL, e))
      return -1;
    memset(grad[k], 0, sizeof(float) * numel);
    cd_text_train_backward(t1, m, dtxt, grad[k]);
  }
  for (int k = 0; k < n; k++)
    for (size_t i = 0; i < numel; i++) ctx[k][i] -= 0.002f * grad[k][i];
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Contexts and gradients of n runs (slightly different starts) in one buffer, returned for
 * free; *dtxt: their text-feature gradients. */
static float *pair_buffers(const cd_prompt *p, int n, float **ctx, float **grad, float **dtxt) {
  size_t numel = p->ctx_numel;
  float *buf = malloc(sizeof(float) * numel * 2 * n);
  *dtxt = malloc(sizeof(float) * NCLS * EMB * n);
  if (!buf || !*dtxt) fprintf(stderr, "bench_tune: out of memory\n"), exit(1);
  for (int k = 0; k < n; k++) {
    ctx[k] = buf + 2 * k * numel, grad[k] = ctx[k] + numel;
    for (size_t i = 0; i < numel; i++) ctx[k][i] = p->ctx[i] * (1.0f + 0.01f * k);
  }
  return buf;
}

/* pairs runs in lockstep vs one after the other, alternating rounds of `steps` steps. */
static int bench_lockstep(const cd_clip *m, const cd_prompt *p, cd_text_train *t1, int pairs, int steps,
                          const float *img, const int32_t *y, const float *w) {
  enum { ROUNDS = 5 };
  cd_error e;
  cd_text_train tt;
  if (cd_text_train_init_copies(&tt, m, p, pairs, &e)) return fprintf(stderr, "bench_tune: %s\n", e.msg), -1;
  size_t numel = p->ctx_numel;
  float *ctx[256], *grad[256], *dtxt, *buf = pair_buffers(p, pairs, ctx, grad, &dtxt);
  double ratio[ROUNDS], cpu_ratio[ROUNDS], best_on = 1e30, best_off = 1e30;
  for (int r = -1; r < ROUNDS; r++) { /* round -1 warms both up */
    double t_off = 0, t_on = 0, c_off = 0, c_on = 0;
    for (int mode = 0; mode < 2; mode++) {
      double t0 = cd_time_now(), c0 = cd_cpu_time_now();
      for (int s = 0; s < (r < 0 ? 1 : steps); s++)
        if (pairs_step(mode ? &tt : NULL, t1, m, ctx, grad, pairs, numel, img, y, w, dtxt, &e))
          return fprintf(stderr, "bench_tune: %s\n", e.msg), -1;
      *(mode ? &t_on : &t_off) = (cd_time_now() - t0) / (r < 0 ? 1 : steps);
      *(mode ? &c_on : &c_off) = (cd_cpu_time_now() - c0) / (r < 0 ? 1 : steps);
    }
    if (r < 0) continue;
    ratio[r] = t_off / t_on;
    cpu_ratio[r] = c_off / c_on;
    if (t_on < best_on) best_on = t_on;
    if (t_off < best_off) best_off = t_off;
    printf("round %d: off %.1f ms/step (%d pairs; cpu %.1f ms), lockstep %.1f ms/step (cpu %.1f ms): %.2fx wall, "
           "%.2fx cpu\n", r + 1, 1e3 * t_off, pairs, 1e3 * c_off, 1e3 * t_on, 1e3 * c_on, ratio[r], cpu_ratio[r]);
  }
  qsort(ratio, ROUNDS, sizeof ratio[0], cmp_double);
  qsort(cpu_ratio, ROUNDS, sizeof cpu_ratio[0], cmp_double);
  printf("cpu time, one by one / lockstep: median %.2fx (min %.2fx, max %.2fx over %d rounds)\n", cpu_ratio[ROUNDS / 2],
         cpu_ratio[0], cpu_ratio[ROUNDS - 1], ROUNDS);
  printf("lockstep %d pairs (%d stacked rows): %.2f pair-steps/s vs %.2f one by one (best rounds); "
         "paired ratio median %.2fx (min %.2fx, max %.2fx over %d rounds)\n",
         pairs, pairs * tt.R, pairs / best_on, pairs / best_off, ratio[ROUNDS / 2], ratio[0], ratio[ROUNDS - 1],
         ROUNDS);
  free(buf), free(dtxt);
  cd_text_train_free(&tt);
  return 0;
}

/* The tower of m with every Linear weight rounded to bfloat16 rows, with the AMX tiles packed
 * once where the kernels have them (as text_rows = bf16 loads it); blocks16 receives the
 * blocks. */
static cd_clip bf16_tower(const cd_clip *m, cd_block *blocks16) {
  cd_clip m16 = *m;
  cd_weight *ws[4 * LAYERS + 1];
  int n = 0;
  memcpy(blocks16, m->text.tf.blocks, sizeof(cd_block) * LAYERS);
  m16.text.tf.blocks = blocks16;
  for (int l = 0; l < LAYERS; l++) {
    cd_block *b = &blocks16[l];
    ws[n++] = &b->qkv_w, ws[n++] = &b->out_w, ws[n++] = &b->fc_w, ws[n++] = &b->proj_w;
  }
  ws[n++] = &m16.text.proj;
  for (int i = 0; i < n; i++) {
    size_t k = (size_t)ws[i]->rows * ws[i]->cols;
    uint16_t *h = malloc(sizeof(uint16_t) * k);
    const float *f = ws[i]->data;
    if (!h) fprintf(stderr, "bench_tune: out of memory\n"), exit(1);
    for (size_t j = 0; j < k; j++) h[j] = cd_f32_to_bf16(f[j]);
    ws[i]->data = h, ws[i]->dtype = CD_BF16, ws[i]->tiles = NULL, ws[i]->rows_t = NULL;
    cd_error e;
    if (cd_weight_tile_bf16(ws[i], cd_kernels_get(), &e)) fprintf(stderr, "bench_tune: %s\n", e.msg), exit(1);
  }
  cd_error e; /* the bf16 rows transposed too where no AMX tiles serve the backward */
  if (cd_clip_transpose_text_rows(&m16, &e)) fprintf(stderr, "bench_tune: %s\n", e.msg), exit(1);
  return m16;
}

static void bf16_tower_free(cd_clip *m16) {
  for (int l = 0; l < LAYERS; l++) {
    cd_block *b = &m16->text.tf.blocks[l];
    cd_weight *ws[] = {&b->qkv_w, &b->out_w, &b->fc_w, &b->proj_w};
    for (int i = 0; i < 4; i++) free((void *)ws[i]->data), free(ws[i]->tiles);
  }
  free((void *)m16->text.proj.data), free(m16->text.proj.tiles);
  cd_clip_free_text_rows_t(m16);
}

/* fp32 vs bf16 weight rows, alternating rounds of `steps` steps of n runs (stacked when tt). */
static int bench_bf16(const cd_clip *m, const cd_clip *m16, const cd_prompt *p, cd_text_train *tt,
                      cd_text_train *t1, int n, int steps, const float *img, const int32_t *y, const float *w) {
  enum { ROUNDS = 5 };
  cd_error e;
  size_t numel = p->ctx_numel;
  float *ctx[256], *grad[256], *dtxt, *buf = pair_buffers(p, n, ctx, grad, &dtxt);
  double ratio[ROUNDS], cpu_ratio[ROUNDS], best[2] = {1e30, 1e30};
  for (int r = -1; r < ROUNDS; r++) { /* round -1 warms both up */
    double t[2], c[2];
    for (int mode = 0; mode < 2; mode++) {
      double t0 = cd_time_now(), c0 = cd_cpu_time_now();
      for (int s = 0; s < (r < 0 ? 1 : steps); s++)
        if (pairs_step(tt, t1, mode ? m16 : m, ctx, grad, n, numel, img, y, w, dtxt, &e))
          return fprintf(stderr, "bench_tune: %s\n", e.msg), -1;
      t[mode] = (cd_time_now() - t0) / (r < 0 ? 1 : steps);
      c[mode] = (cd_cpu_time_now() - c0) / (r < 0 ? 1 : steps);
      if (r >= 0 && t[mode] < best[mode]) best[mode] = t[mode];
    }
    if (r < 0) continue;
    ratio[r] = t[0] / t[1], cpu_ratio[r] = c[0] / c[1];
    printf("round %d: %d run%s%s: fp32 %.1f ms/step (cpu %.1f ms), bf16 %.1f ms/step (cpu %.1f ms): %.2fx wall, %.2fx cpu\n",
           r + 1, n, n > 1 ? "s" : "", tt ? " in lockstep" : "", 1e3 * t[0], 1e3 * c[0], 1e3 * t[1], 1e3 * c[1], ratio[r],
           cpu_ratio[r]);
  }
  qsort(ratio, ROUNDS, sizeof ratio[0], cmp_double);
  qsort(cpu_ratio, ROUNDS, sizeof cpu_ratio[0], cmp_double);
  printf("bf16 cpu time vs fp32: median %.2fx (min %.2fx, max %.2fx over %d rounds)\n", cpu_ratio[ROUNDS / 2],
         cpu_ratio[0], cpu_ratio[ROUNDS - 1], ROUNDS);
  printf("bf16 %d run%s%s: %.2f pair-steps/s vs fp32 %.2f (best rounds); paired ratio median %.2fx (min %.2fx, "
         "max %.2fx over %d rounds)\n", n, n > 1 ? "s" : "", tt ? " in lockstep" : "", n / best[1], n / best[0],
         ratio[ROUNDS / 2], ratio[0], ratio[ROUNDS - 1], ROUNDS);
  if (!tt) {
    double flops, bytes;
    step_cost(t1, &flops, &bytes);
    printf("bf16 step: %.1f MB of weights streamed (fp32: %.1f MB)\n", bytes / 2e6, bytes / 1e6);
  }
  free(buf), free(dtxt);
  return 0;
}

int main(int argc, char **argv) {
  int steps = 20, threads, pairs = 1; /* usage: bench_tune [steps] [threads] [pairs] */
  if ((argc > 1 && cd_arg_int("steps", argv[1], 1, 1 << 20, &steps)) || (argc > 2 && cd_arg_threads(argv[2], &threads)) ||
      (argc > 3 && cd_arg_int("pairs", argv[3], 1, 256, &pairs)))
    return 1;
  cd_clip m;
  memset(&m, 0, sizeof m);
  cd_block blocks[LAYERS];
  cd_text *tx = &m.text;
  tx->vocab_size = VOCAB;
  tx->context = CTX;
  tx->tok_emb = rnd((size_t)VOCAB * W, 0.02f, 0);
  tx->pos_emb = rnd((size_t)CTX * W, 0.01f, 0);
  tx->ln_final_w = rnd(W, 0.1f, 1);
  tx->ln_final_b = rnd(W, 0.1f, 0);
  tx->proj = wrnd(EMB, W, 0.044f);
  tx->tf = (cd_transformer){W, LAYERS, HEADS, MLP, CD_ACT_QUICKGELU, 1e-5f, blocks};
  for (int l = 0; l < LAYERS; l++) {
    cd_block *b = &blocks[l];
    b->ln_1_w = rnd(W, 0.1f, 1), b->ln_1_b = rnd(W, 0.1f, 0);
    b->qkv_w = wrnd(3 * W, W, 0.044f), b->qkv_b = rnd(3 * W, 0.01f, 0);
    b->out_w = wrnd(W, W, 0.044f), b->out_b = rnd(W, 0.01f, 0);
    b->ln_2_w = rnd(W, 0.1f, 1), b->ln_2_b = rnd(W, 0.1f, 0);
    b->fc_w = wrnd(MLP, W, 0.044f), b->fc_b = rnd(MLP, 0.01f, 0);
    b->proj_w = wrnd(W, MLP, 0.022f), b->proj_b = rnd(W, 0.01f, 0);
  }
  m.embed_dim = EMB;
  m.towers = CD_TOWER_TEXT;
  m.logit_scale_log = logf(100.0f);
  cd_error e;
  /* the input gradient's transposed rows, as cd_clip_load gives a tuning tower this size */
  if (cd_clip_transpose_text_rows(&m, &e)) return fprintf(stderr, "bench_tune: %s\n", e.msg), 1;

  /* "X X ... X landbird." / "X X ... X waterbird." with the real BPE ids */
  const int32_t n0[] = {1567, 3329}, n1[] = {2505, 3329};
  const int32_t *names[NCLS] = {n0, n1};
  int lens[NCLS] = {2, 2};
  int32_t prefix[NCTX], tokens[NCLS * CTX];
  for (int i = 0; i < NCTX; i++) prefix[i] = 343;
  cd_prompt p;
  cd_text_train t;
  cd_optim opt;
  cd_optim_config oc;
  cd_optim_config_default(&oc);
  if (cd_prompt_build_tokens(NCLS, NCTX, prefix, names, lens, 269, CD_SOT, CD_EOT, CTX, tokens,
                             &e) ||
      cd_prompt_init(&p, NCLS, NCTX, W, 0, CD_CLASS_END, tokens, CTX, lens, &e) ||
      cd_text_train_init(&t, &m, &p, &e) || cd_optim_init(&opt, &oc, p.ctx_numel, &e)) {
    fprintf(stderr, "bench_tune: %s\n", e.msg);
    return 1;
  }
  cd_prompt_init_random(&p, 1, 0.02f);
  float *img = rnd((size_t)BATCH * EMB, 1, 0), *w = rnd(BATCH, 0.5f, 1);
  cd_l2_normalize_rows(img, BATCH, EMB);
  int32_t y[BATCH];
  for (int i = 0; i < BATCH; i++) y[i] = i % NCLS;
  float dtxt[NCLS * EMB];
  float *grad = malloc(sizeof(float) * p.ctx_numel);
  double loss = 0, t0 = 0, c0 = 0, tf = 0;
  for (int s = -2; s < steps; s++) { /* two warm-up steps */
    if (s == 0) t0 = cd_time_now(), c0 = cd_cpu_time_now();
    double ts = cd_time_now();
    cd_text_train_forward(&t, &m, p.ctx);
    if (s >= 0) tf += cd_time_now() - ts;
    if (cd_coop_loss(img, BATCH, t.features, NCLS, EMB, m.logit_scale_log, y, w, NULL, &loss,
                     dtxt, NULL, &e)) {
      fprintf(stderr, "bench_tune: %s\n", e.msg);
      return 1;
    }
    memset(grad, 0, sizeof(float) * p.ctx_numel);
    cd_text_train_backward(&t, &m, dtxt, grad);
    cd_optim_step(&opt, p.ctx, grad, 0.002);
  }
  double dt = cd_time_now() - t0, dc = cd_cpu_time_now() - c0;
  printf("rows %d (instead of %d; %d after the first forward), threads %d, loss %.6f\n", t.R, NCLS * CTX,
         t.R - t.g0, cd_threads_get(), loss);
  printf("forward %.1f ms/step, total %.1f ms/step, cpu %.1f ms/step (all threads)\n",
         1e3 * tf / steps, 1e3 * dt / steps, 1e3 * dc / steps);
  printf("steps/s %.3f\n", steps / dt);
  print_roofline(&t, dt / steps);
  if (pairs > 1 && bench_lockstep(&m, &p, &t, pairs, steps, img, y, w)) return 1;
  cd_block blocks16[LAYERS];
  cd_clip m16 = bf16_tower(&m, blocks16);
  printf("%s: skinny linear %s, bf16 rows %s\n", cd_isa_name(cd_kernels_get()->isa),
         cd_kernels_describe(cd_kernels_get(), CD_OP_SKINNY), cd_kernels_describe(cd_kernels_get(), CD_OP_SKINNY_BF16));
  if (bench_bf16(&m, &m16, &p, NULL, &t, 1, steps, img, y, w)) return 1;
  if (pairs > 1) {
    cd_text_train tt;
    if (cd_text_train_init_copies(&tt, &m, &p, pairs, &e)) return fprintf(stderr, "bench_tune: %s\n", e.msg), 1;
    if (bench_bf16(&m, &m16, &p, &tt, &t, pairs, steps, img, y, w)) return 1;
    cd_text_train_free(&tt);
  }
  bf16_tower_free(&m16);
  free(grad), free(img), free(w);
  cd_optim_free(&opt);
  cd_text_train_free(&t);
  cd_prompt_free(&p);
  for (int l = 0; l < LAYERS; l++) {
    cd_block *b = &blocks[l];
    const void *ps[] = {b->ln_1_w, b->ln_1_b, b->qkv_w.data, b->qkv_b, b->out_w.data, b->out_b,
                        b->ln_2_w, b->ln_2_b, b->fc_w.data, b->fc_b, b->proj_w.data, b->proj_b};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) free((void *)ps[i]);
  }
  free((void *)tx->tok_emb), free((void *)tx->pos_emb), free((void *)tx->ln_final_w);
  free((void *)tx->ln_final_b), free((void *)tx->proj.data);
  cd_clip_free_text_rows_t(&m);
  return 0;
}
