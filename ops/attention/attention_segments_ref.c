/* Segment-causal attention, the reference: the plain loops of the math in float, one copy,
 * single-threaded. Every level's kernel (ops/kernels/attention_segments_impl.h) computes each
 * sum in this order, so tests/test_kernels.c holds them to these bits exactly; the math itself
 * is checked against double precision and finite differences (tests/test_coop_grad.c,
 * tests/test_ops_backward.c). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "ops/attention/attention_segments.h"

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

void cd_attention_forward_segments_ref(float *out, float *att, const float *qkv, int R, int P, int n_seg,
                                       const int *seg, int C, int NH) {
  int hs = C / NH, Tk = cd_segments_max_keys(P, n_seg, seg);
  size_t C3 = 3 * (size_t)C;
  float scale = 1.0f / sqrtf((float)hs);
  for (int h = 0; h < NH; h++)
    for (int i = 0; i < R; i++) {
      int np, sb, ns;
      row_keys(i, P, n_seg, seg, &np, &sb, &ns);
      int nk = i < P ? np : P + ns;
      const float *q = qkv + i * C3 + (size_t)h * hs;
      float *a = att + ((size_t)h * R + i) * Tk;
      float mx = -INFINITY;
      for (int k = 0; k < nk; k++) {
        const float *kr = qkv + key_row(k, P, sb) * C3 + C + (size_t)h * hs;
        float d = 0;
        for (int x = 0; x < hs; x++) d += q[x] * kr[x];
        a[k] = d * scale;
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
      float *o = out + (size_t)i * C + (size_t)h * hs;
      for (int x = 0; x < hs; x++) o[x] = 0;
      for (int k = 0; k < nk; k++) {
        const float *v = qkv + key_row(k, P, sb) * C3 + 2 * C + (size_t)h * hs;
        for (int x = 0; x < hs; x++) o[x] += a[k] * v[x];
      }
    }
}

void cd_attention_backward_segments_ref(float *dqkv, const float *dout, const float *qkv, const float *att,
                                        int R, int P, int n_seg, const int *seg, int C, int NH) {
  int hs = C / NH, Tk = cd_segments_max_keys(P, n_seg, seg);
  size_t C3 = 3 * (size_t)C;
  float scale = 1.0f / sqrtf((float)hs), *da = malloc(sizeof(float) * (size_t)Tk);
  if (!da) abort();
  for (int h = 0; h < NH; h++)
    for (int i = 0; i < R; i++) {
      int np, sb, ns;
      row_keys(i, P, n_seg, seg, &np, &sb, &ns);
      int nk = i < P ? np : P + ns;
      const float *a = att + ((size_t)h * R + i) * Tk;
      const float *go = dout + (size_t)i * C + (size_t)h * hs;
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
        float ds = a[k] * (da[k] - dot) * scale;
        const float *kr = qkv + r * C3 + C + (size_t)h * hs;
        float *dk = dqkv + r * C3 + C + (size_t)h * hs;
        for (int x = 0; x < hs; x++) {
          dq[x] += ds * kr[x];
          dk[x] += ds * q[x];
        }
      }
    }
  free(da);
}
