/* QuickGELU (CLIP's OpenAI checkpoints) and exact erf GELU, forward and backward: the
 * dispatched entry points split the elements into chunks over the threads and run the
 * table's kernel on each (elementwise, so the result does not depend on the split). */
#include "ops/dispatch.h"
#include "ops/ops.h"

#define PAR_MIN 16384
#define CHUNK 4096

static void forward(float *out, const float *inp, size_t n, cd_activation act) {
  const cd_kernels *kt = cd_kernels_get();
  ptrdiff_t nc = (ptrdiff_t)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (ptrdiff_t c = 0; c < nc; c++) {
    size_t i0 = (size_t)c * CHUNK, len = n - i0 < CHUNK ? n - i0 : CHUNK;
    kt->act_forward(out + i0, inp + i0, len, act);
  }
}

static void backward(float *dinp, const float *dout, const float *inp, size_t n, cd_activation act) {
  const cd_kernels *kt = cd_kernels_get();
  ptrdiff_t nc = (ptrdiff_t)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (ptrdiff_t c = 0; c < nc; c++) {
    size_t i0 = (size_t)c * CHUNK, len = n - i0 < CHUNK ? n - i0 : CHUNK;
    kt->act_backward(dinp + i0, dout + i0, inp + i0, len, act);
  }
}

void cd_activation_forward(float *out, const float *inp, size_t n, cd_activation act) {
  forward(out, inp, n, act);
}
void cd_activation_backward(float *dinp, const float *dout, const float *inp, size_t n,
                            cd_activation act) {
  backward(dinp, dout, inp, n, act);
}
void cd_quickgelu_forward(float *out, const float *inp, size_t n) { forward(out, inp, n, CD_ACT_QUICKGELU); }
void cd_quickgelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
  backward(dinp, dout, inp, n, CD_ACT_QUICKGELU);
}
void cd_gelu_forward(float *out, const float *inp, size_t n) { forward(out, inp, n, CD_ACT_GELU); }
void cd_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
  backward(dinp, dout, inp, n, CD_ACT_GELU);
}
