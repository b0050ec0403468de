/* Segment-causal attention (see ops/attention_segments.h). Rows are few (tens) in prompt tuning,
 * so the loops are plain C; the pool's items are (copy, head, block of rows) in the forward and
 * (copy, head) in the backward, where each owns its copy's column slice of dqkv (no write
 * races). All copies go to the pool at once: one copy is too little work to split, a dozen in
 * lockstep is not. An item's arithmetic does not depend on the split, so any thread count and
 * any number of copies give the same bits. */
#include "ops/attention/attention_segments.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/pool.h"

int cd_segments_max_keys(int P, int n_seg, const int *seg) {
  int m = P;
  for (int s = 0; s < n_seg; s++)
    if (P + seg[s + 1] - seg[s] > m) m = P + seg[s + 1] - seg[s];
  return m > 0 ? m : 1;
}

/* Keys of row i: prefix rows [0, np) then segment rows [sb, sb + ns). */
static void row_keys(int i, int P, int n_seg, const int *seg, int *np, int *sb, int *ns) {
  if (i < P) {
    *np = i + 1;
    *sb = 0;
    *ns = 0;
    return;
  }
  int lo = 0, hi = n_seg - 1; /* last s with seg[s] <= i */
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (seg[mid] <= i) lo = mid;
    else hi = mid - 1;
  }
  *np = P;
  *sb = seg[lo];
  *ns = i - seg[lo] + 1;
}

static inline int key_row(int j, int P, int sb) { return j < P ? j : sb + (j - P); }

typedef struct {
  float *out, *att_out, *dqkv, *da; /* att_out: the forward's probabilities */
  const float *qkv, *dout, *att;      /* att: the backward's */
  const int *seg;
  int R, P, n_seg, C, NH, hs, Tk;
  float scale;
} seg_job;

/* The job of copy k: every pointer moved to that copy's rows (R rows of each buffer, NH * R * Tk
 * probabilities). */
static seg_job copy_job(const seg_job *j, int k) {
  seg_job c = *j;
  size_t rows = (size_t)k * j->R, C = (size_t)j->C, probs = (size_t)k * j->NH * j->R * j->Tk;
  c.qkv += rows * 3 * C;
  if (c.out) c.out += rows * C, c.att_out += probs;
  if (c.dout) c.dout += rows * C, c.dqkv += rows * 3 * C, c.att += probs;
  return c;
}

enum { SEG_ROWS = 16 };

/* Rows [blk * SEG_ROWS, ...) of head h of copy k, where item = (k * NH + h) * row blocks + blk. */
static void forward_item(void *ctx, int item, int worker) {
  (void)worker;
  const seg_job *job = ctx;
  int per_copy = job->NH * ((job->R + SEG_ROWS - 1) / SEG_ROWS);
  const seg_job copy = copy_job(job, item / per_copy), *j = &copy;
  item %= per_copy;
  int nblk = (j->R + SEG_ROWS - 1) / SEG_ROWS, h = item / nblk, i0 = item % nblk * SEG_ROWS;
  int i1 = i0 + SEG_ROWS < j->R ? i0 + SEG_ROWS : j->R, P = j->P, hs = j->hs, Tk = j->Tk;
  size_t C = (size_t)j->C, C3 = 3 * C;
  const float *qkv = j->qkv;
  for (int i = i0; i < i1; i++) {
    int np, sb, ns;
    row_keys(i, P, j->n_seg, j->seg, &np, &sb, &ns);
    int nk = i < P ? np : P + ns;
    const float *q = qkv + i * C3 + (size_t)h * hs;
    float *a = j->att_out + ((size_t)h * j->R + i) * Tk;
    float mx = -INFINITY;
    for (int k = 0; k < nk; k++) {
      const float *kr = qkv + key_row(k, P, sb) * C3 + C + (size_t)h * hs;
      float d = 0;
      for (int x = 0; x < hs; x++) d += q[x] * kr[x];
      a[k] = d * j->scale;
      if (a[k] > mx) mx = a[k];
    }
    float sum = 0;
    for (int k = 0; k < nk; k++) {
      a[k] = expf(a[k] - mx);
      sum += a[k];
    }
    float inv = 1.0f / sum;
    for (int k = 0; k < nk; k++) a[k] *= inv;
    for (int k = nk; k < Tk; k++) a[k] = 0;
    float *o = j->out + (size_t)i * C + (size_t)h * hs;
    for (int x = 0; x < hs; x++) o[x] = 0;
    for (int k = 0; k < nk; k++) {
      const float *v = qkv + key_row(k, P, sb) * C3 + 2 * C + (size_t)h * hs;
      for (int x = 0; x < hs; x++) o[x] += a[k] * v[x];
    }
  }
}

/* Under 2^16 multiply-adds (R * Tk * C for the scores and as many for the values: the toy
 * CLIP's prompts) the work is a few microseconds and a join would cost more, on a busy machine
 * a time slice when a worker is descheduled; a B/32 prompt (25 rows, width 512) or a dozen
 * stacked in lockstep is tens to hundreds of microseconds and is split. */
static int small(int R, int Tk, int C) { return (double)R * Tk * C <= (double)(1 << 16); }

void cd_attention_forward_segments(float *out, float *att, const float *qkv, int R, int P,
                                   int n_seg, const int *seg, int C, int NH, int copies) {
  int hs = C / NH;
  seg_job j = {out, att, NULL, NULL, qkv, NULL, NULL, seg, R, P, n_seg, C, NH, hs,
               cd_segments_max_keys(P, n_seg, seg), 1.0f / sqrtf((float)hs)};
  cd_pool_run(copies * NH * ((R + SEG_ROWS - 1) / SEG_ROWS), small(copies * R, j.Tk, C) ? 1 : 0, forward_item, &j);
}

/* Head h of copy k (item = k * NH + h): every row's gradient, with the worker's row of scratch
 * for dP. */
static void backward_item(void *ctx, int item, int worker) {
  const seg_job copy = copy_job(ctx, item / ((const seg_job *)ctx)->NH), *j = &copy;
  int h = item % j->NH;
  int P = j->P, hs = j->hs;
  size_t C = (size_t)j->C, C3 = 3 * C;
  const float *qkv = j->qkv;
  float *dqkv = j->dqkv, *da = j->da + (size_t)worker * j->Tk;
  for (int i = 0; i < j->R; i++) {
    int np, sb, ns;
    row_keys(i, P, j->n_seg, j->seg, &np, &sb, &ns);
    int nk = i < P ? np : P + ns;
    const float *a = j->att + ((size_t)h * j->R + i) * j->Tk;
    const float *go = j->dout + (size_t)i * C + (size_t)h * hs;
    const float *q = qkv + i * C3 + (size_t)h * hs;
    float *dq = dqkv + i * C3 + (size_t)h * hs;
    float dot = 0;
    for (int k = 0; k < nk; k++) {
      size_t r = (size_t)key_row(k, P, sb);
      const float *v = qkv + r * C3 + 2 * C + (size_t)h * hs;
      float *dv = dqkv + r * C3 + 2 * C + (size_t)h * hs;
      float d = 0;
      for (int x = 0; x < hs; x++) {
        d += go[x] * v[x];
        dv[x] += a[k] * go[x];
      }
      da[k] = d;
      dot += a[k] * d;
    }
    for (int k = 0; k < nk; k++) {
      size_t r = (size_t)key_row(k, P, sb);
      float ds = a[k] * (da[k] - dot) * j->scale;
      const float *kr = qkv + r * C3 + C + (size_t)h * hs;
      float *dk = dqkv + r * C3 + C + (size_t)h * hs;
      for (int x = 0; x < hs; x++) {
        dq[x] += ds * kr[x];
        dk[x] += ds * q[x];
      }
    }
  }
}

void cd_attention_backward_segments(float *dqkv, const float *dout, const float *qkv,
                                    const float *att, int R, int P, int n_seg, const int *seg,
                                    int C, int NH, int copies) {
  int hs = C / NH, Tk = cd_segments_max_keys(P, n_seg, seg);
  int nt = cd_pool_in_item() || small(copies * R, Tk, C) ? 1 : cd_threads_get();
  if (nt > copies * NH) nt = copies * NH;
  float *da = malloc(sizeof(float) * (size_t)Tk * (size_t)(nt > 0 ? nt : 1));
  if (!da) return; /* a few hundred bytes a thread could not be had: nothing sane to do */
  seg_job j = {NULL, NULL, dqkv, da, qkv, dout, att, seg, R, P, n_seg, C, NH, hs, Tk, 1.0f / sqrtf((float)hs)};
  cd_pool_run(copies * NH, nt, backward_item, &j);
  free(da);
}
