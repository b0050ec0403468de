/* Plain C reference of the activations: the simplest loops that follow the
 * math, single-threaded, accumulating in double. The ground truth every fast kernel is
 * tested against (tests/test_kernels.c, tests/test_ops_*.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

/* CLIP computes x * sigmoid(1.702 * x) on float tensors, so 1.702 * x is rounded to float
 * first; the reference does the same and is exact from there on. */
void cd_quickgelu_forward_ref(float *out, const float *inp, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double y = (float)(1.702f * inp[i]);
    out[i] = (float)(inp[i] / (1.0 + exp(-y)));
  }
}

void cd_quickgelu_backward_ref(float *dinp, const float *dout, const float *inp, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double x = inp[i], s = 1.0 / (1.0 + exp(-1.702 * x));
    dinp[i] += (float)(dout[i] * (s + 1.702 * x * s * (1.0 - s)));
  }
}

void cd_gelu_forward_ref(float *out, const float *inp, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = (float)(0.5 * inp[i] * (1.0 + erf(inp[i] / sqrt(2.0))));
}

void cd_gelu_backward_ref(float *dinp, const float *dout, const float *inp, size_t n) {
  const double inv_sqrt_2pi = 0.39894228040143267794;
  for (size_t i = 0; i < n; i++) {
    double x = inp[i];
    double d = 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * inv_sqrt_2pi * exp(-0.5 * x * x);
    dinp[i] += (float)(dout[i] * d);
  }
}

