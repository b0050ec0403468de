/* QuickGELU (CLIP's OpenAI checkpoints) and exact erf GELU, forward and backward. */
#include <math.h>

#include "ops/ops.h"
#include "ops/vecmath.h"

#define PAR_MIN 16384

CD_VEC_FN void cd_quickgelu_forward(float *out, const float *inp, size_t n) {
  ptrdiff_t nn = (ptrdiff_t)n;
/* PyTorch's order: x * sigmoid(1.702 x), sigmoid(y) = 1 / (1 + e^-y). */
#pragma omp parallel for simd schedule(static) if (nn > PAR_MIN)
  for (ptrdiff_t i = 0; i < nn; i++) out[i] = inp[i] * (1.0f / (1.0f + cd_expf_fast(-(1.702f * inp[i]))));
}

CD_VEC_FN void cd_quickgelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
  ptrdiff_t nn = (ptrdiff_t)n;
#pragma omp parallel for simd schedule(static) if (nn > PAR_MIN)
  for (ptrdiff_t i = 0; i < nn; i++) {
    float x = inp[i], s = 1.0f / (1.0f + cd_expf_fast(-1.702f * x));
    dinp[i] += dout[i] * (s + 1.702f * x * s * (1.0f - s));
  }
}

void cd_gelu_forward(float *out, const float *inp, size_t n) {
  ptrdiff_t nn = (ptrdiff_t)n;
#pragma omp parallel for schedule(static) if (nn > PAR_MIN)
  for (ptrdiff_t i = 0; i < nn; i++) out[i] = 0.5f * inp[i] * (1.0f + erff(inp[i] * (float)M_SQRT1_2));
}

CD_VEC_FN void cd_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
  const float inv_sqrt_2pi = 0.3989422804014327f;
  ptrdiff_t nn = (ptrdiff_t)n;
#pragma omp parallel for schedule(static) if (nn > PAR_MIN)
  for (ptrdiff_t i = 0; i < nn; i++) {
    float x = inp[i];
    float d = 0.5f * (1.0f + erff(x * (float)M_SQRT1_2)) + x * inv_sqrt_2pi * cd_expf_fast(-0.5f * x * x);
    dinp[i] += dout[i] * d;
  }
}
