/* Activations and the GEMM epilogue compiled for AVX-512 (see activation_kernels.h). */
#include "ops/activation/activation.h"
#if defined(__x86_64__) || defined(_M_X64)
#include "ops/kernels/activation_impl.h"

void cd_bias_act_tile_avx512(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias, cd_activation act) {
  bias_act_tile_impl(c, ldc, mr, nr, bias, act);
}

void cd_act_forward_avx512(float *out, const float *in, size_t n, cd_activation act) {
  act_forward_impl(out, in, n, act);
}

void cd_act_backward_avx512(float *din, const float *dout, const float *in, size_t n, cd_activation act) {
  act_backward_impl(din, dout, in, n, act);
}
#else
typedef int cd_activation_avx512_unused; /* ISO C: no empty translation unit */
#endif
