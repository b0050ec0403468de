/* Activations and the GEMM epilogue compiled for the portable level (baseline flags) (see activation_kernels.h). */
#include "ops/activation/activation.h"
#include "ops/kernels/activation_impl.h"

void cd_bias_act_tile_portable(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias, cd_activation act) {
  bias_act_tile_impl(c, ldc, mr, nr, bias, act);
}

void cd_act_forward_portable(float *out, const float *in, size_t n, cd_activation act) {
  act_forward_impl(out, in, n, act);
}

void cd_act_backward_portable(float *din, const float *dout, const float *in, size_t n, cd_activation act) {
  act_backward_impl(din, dout, in, n, act);
}
