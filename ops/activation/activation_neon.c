/* Activations and the GEMM epilogue compiled for NEON (see activation_kernels.h). */
#include "ops/activation/activation.h"
#if defined(__aarch64__)
#include "ops/kernels/activation_impl.h"

void cd_bias_act_tile_neon(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias, cd_activation act) {
  bias_act_tile_impl(c, ldc, mr, nr, bias, act);
}

void cd_act_forward_neon(float *out, const float *in, size_t n, cd_activation act) {
  act_forward_impl(out, in, n, act);
}

void cd_act_backward_neon(float *din, const float *dout, const float *in, size_t n, cd_activation act) {
  act_backward_impl(din, dout, in, n, act);
}
#else
typedef int cd_activation_neon_unused; /* ISO C: no empty translation unit */
#endif
