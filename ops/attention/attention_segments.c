/* Segment-causal attention (see ops/attention/attention_segments.h): the driver. The kernels
 * (one copy, one head; ops/kernels/attention_segments_impl.h) are the table's; the pool's items
 * are (copy, head, block of rows) in the forward and (copy, head) in the backward, where each
 * owns its copy's column slice of dqkv (no write races). All copies go to the pool at once:
 * one copy is little work to split, a dozen in lockstep is not. A kernel's arithmetic does not
 * depend on the split, so any thread count and any number of copies give the same bits. */
#include "ops/attention/attention_segments.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/cpu.h"
#include "core/pool.h"
#include "ops/dispatch.h"

int cd_segments_max_keys(int P, int n_seg, const int *seg) {
  int m = P;
  for (int s = 0; s < n_seg; s++)
    if (P + seg[s + 1] - seg[s] > m) m = P + seg[s + 1] - seg[s];
  return m > 0 ? m : 1;
}

typedef struct {
  const cd_kernels *kt;
  cd_segatt a; /* copy 0 */
  float *out, *att, *dqkv, *scratch; /* scratch: CD_SEGATT_SCRATCH floats per worker */
  const float *dout, *att_in;
  int NH, nblk;
  size_t per_worker;
} seg_job;

/* Copy k of the job's rows: R rows of qkv, out, dout and dqkv, NH * R * Tk probabilities. */
static size_t copy_rows(const seg_job *j, int k) { return (size_t)k * j->a.R; }
static size_t copy_probs(const seg_job *j, int k) { return (size_t)k * j->NH * j->a.R * j->a.Tk; }

/* Item (k * NH + h) * nblk + b: rows [16 b, 16 b + 16) of head h of copy k. */
static void forward_item(void *ctx, int item, int worker) {
  const seg_job *j = ctx;
  int b = item % j->nblk, h = item / j->nblk % j->NH, k = item / j->nblk / j->NH;
  size_t rows = copy_rows(j, k), C = (size_t)j->a.C;
  cd_segatt a = j->a;
  a.qkv += rows * 3 * C;
  int i0 = b * CD_SEGATT_ROWS, i1 = i0 + CD_SEGATT_ROWS < a.R ? i0 + CD_SEGATT_ROWS : a.R;
  j->kt->segatt_forward(&a, h, i0, i1, j->out + rows * C, j->att + copy_probs(j, k) + (size_t)h * a.R * a.Tk,
                        j->scratch + (size_t)worker * j->per_worker);
}

/* Item k * NH + h: head h of copy k, every row. */
static void backward_item(void *ctx, int item, int worker) {
  const seg_job *j = ctx;
  int h = item % j->NH, k = item / j->NH;
  size_t rows = copy_rows(j, k), C = (size_t)j->a.C;
  cd_segatt a = j->a;
  a.qkv += rows * 3 * C;
  j->kt->segatt_backward(&a, h, j->dout + rows * C, j->att_in + copy_probs(j, k) + (size_t)h * a.R * a.Tk,
                         j->dqkv + rows * 3 * C, j->scratch + (size_t)worker * j->per_worker);
}

/* Under 2^16 multiply-adds (R * Tk * C for the scores and as many for the values: the toy
 * CLIP's prompts) the work is a few microseconds and a join would cost more, on a busy machine
 * a time slice when a worker is descheduled; a B/32 prompt (25 rows, width 512) or a dozen
 * stacked in lockstep is split. */
static int small(int R, int Tk, int C) { return (double)R * Tk * C <= (double)(1 << 16); }

/* The job's kernels, geometry and per-worker scratch for `threads` participants; 0 when the
 * scratch (a few tens of KB a thread) could not be had. */
static int job_init(seg_job *j, const float *qkv, int R, int P, int n_seg, const int *seg, int C, int NH,
                    int threads) {
  int hs = C / NH, Tk = cd_segments_max_keys(P, n_seg, seg);
  j->kt = cd_kernels_get();
  j->a = (cd_segatt){qkv, seg, R, P, n_seg, C, hs, Tk, 1.0f / sqrtf((float)hs)};
  j->NH = NH, j->nblk = (R + CD_SEGATT_ROWS - 1) / CD_SEGATT_ROWS;
  j->per_worker = (CD_SEGATT_SCRATCH(hs, Tk, R) + 15) & ~(size_t)15;
  j->scratch = malloc(sizeof(float) * j->per_worker * (size_t)threads);
  if (!j->scratch) fprintf(stderr, "clipdebias: out of memory (attention scratch, %d threads)\n", threads);
  return j->scratch != NULL;
}

static int participants(int items, int R, int Tk, int C) {
  int nt = cd_pool_in_item() || small(R, Tk, C) ? 1 : cd_threads_get();
  return nt < items ? nt : items;
}

void cd_attention_forward_segments(float *out, float *att, const float *qkv, int R, int P,
                                   int n_seg, const int *seg, int C, int NH, int copies) {
  seg_job j = {0};
  int items = copies * NH * ((R + CD_SEGATT_ROWS - 1) / CD_SEGATT_ROWS);
  int nt = participants(items, copies * R, cd_segments_max_keys(P, n_seg, seg), C);
  if (!job_init(&j, qkv, R, P, n_seg, seg, C, NH, nt)) abort();
  j.out = out, j.att = att;
  cd_pool_run(items, nt, forward_item, &j);
  free(j.scratch);
}

void cd_attention_backward_segments(float *dqkv, const float *dout, const float *qkv,
                                    const float *att, int R, int P, int n_seg, const int *seg,
                                    int C, int NH, int copies) {
  seg_job j = {0};
  int nt = participants(copies * NH, copies * R, cd_segments_max_keys(P, n_seg, seg), C);
  if (!job_init(&j, qkv, R, P, n_seg, seg, C, NH, nt)) abort();
  j.dqkv = dqkv, j.dout = dout, j.att_in = att;
  cd_pool_run(copies * NH, nt, backward_item, &j);
  free(j.scratch);
}
