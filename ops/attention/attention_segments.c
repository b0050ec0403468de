/* Segment-causal attention (see ops/attention_segments.h). Rows are few (tens) in prompt tuning,
 * so the loops are plain C; the work is split over (head, row) in the forward and over heads
 * in the backward, where each head owns its column slice of dqkv (no write races). */
#include "ops/attention/attention_segments.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

void cd_attention_forward_segments(float *out, float *att, const float *qkv, int R, int P,
                                   int n_seg, const int *seg, int C, int NH) {
  int hs = C / NH, Tk = cd_segments_max_keys(P, n_seg, seg);
  size_t C3 = (size_t)3 * C;
  float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for collapse(2) schedule(static)
  for (int h = 0; h < NH; h++)
    for (int i = 0; i < R; i++) {
      int np, sb, ns;
      row_keys(i, P, n_seg, seg, &np, &sb, &ns);
      int nk = i < P ? np : P + ns;
      const float *q = qkv + i * C3 + (size_t)h * hs;
      float *a = att + ((size_t)h * R + i) * Tk;
      float mx = -INFINITY;
      for (int j = 0; j < nk; j++) {
        const float *k = qkv + key_row(j, P, sb) * C3 + C + (size_t)h * hs;
        float d = 0;
        for (int x = 0; x < hs; x++) d += q[x] * k[x];
        a[j] = d * scale;
        if (a[j] > mx) mx = a[j];
      }
      float sum = 0;
      for (int j = 0; j < nk; j++) {
        a[j] = expf(a[j] - mx);
        sum += a[j];
      }
      float inv = 1.0f / sum;
      for (int j = 0; j < nk; j++) a[j] *= inv;
      for (int j = nk; j < Tk; j++) a[j] = 0;
      float *o = out + (size_t)i * C + (size_t)h * hs;
      for (int x = 0; x < hs; x++) o[x] = 0;
      for (int j = 0; j < nk; j++) {
        const float *v = qkv + key_row(j, P, sb) * C3 + 2 * (size_t)C + (size_t)h * hs;
        for (int x = 0; x < hs; x++) o[x] += a[j] * v[x];
      }
    }
}

void cd_attention_backward_segments(float *dqkv, const float *dout, const float *qkv,
                                    const float *att, int R, int P, int n_seg, const int *seg,
                                    int C, int NH) {
  int hs = C / NH, Tk = cd_segments_max_keys(P, n_seg, seg);
  size_t C3 = (size_t)3 * C;
  float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel
  {
    float *da = malloc(sizeof(float) * (size_t)Tk);
#pragma omp for schedule(static)
    for (int h = 0; h < NH; h++) {
      if (!da) continue; /* allocation of a few hundred bytes failed: nothing sane to do */
      for (int i = 0; i < R; i++) {
        int np, sb, ns;
        row_keys(i, P, n_seg, seg, &np, &sb, &ns);
        int nk = i < P ? np : P + ns;
        const float *a = att + ((size_t)h * R + i) * Tk;
        const float *go = dout + (size_t)i * C + (size_t)h * hs;
        const float *q = qkv + i * C3 + (size_t)h * hs;
        float *dq = dqkv + i * C3 + (size_t)h * hs;
        float dot = 0;
        for (int j = 0; j < nk; j++) {
          size_t r = (size_t)key_row(j, P, sb);
          const float *v = qkv + r * C3 + 2 * (size_t)C + (size_t)h * hs;
          float *dv = dqkv + r * C3 + 2 * (size_t)C + (size_t)h * hs;
          float d = 0;
          for (int x = 0; x < hs; x++) {
            d += go[x] * v[x];
            dv[x] += a[j] * go[x];
          }
          da[j] = d;
          dot += a[j] * d;
        }
        for (int j = 0; j < nk; j++) {
          size_t r = (size_t)key_row(j, P, sb);
          float ds = a[j] * (da[j] - dot) * scale;
          const float *k = qkv + r * C3 + C + (size_t)h * hs;
          float *dk = dqkv + r * C3 + C + (size_t)h * hs;
          for (int x = 0; x < hs; x++) {
            dq[x] += ds * k[x];
            dk[x] += ds * q[x];
          }
        }
      }
    }
    free(da);
  }
}
