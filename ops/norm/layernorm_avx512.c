/* LayerNorm rows compiled for AVX-512 (see layernorm_kernels.h). */
#include "ops/norm/layernorm.h"
#if defined(__x86_64__) || defined(_M_X64)
#include "ops/kernels/layernorm_impl.h"

void cd_layernorm_rows_avx512(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int M, int C, float eps) {
  layernorm_rows_impl(out, mean, rstd, inp, w, b, M, C, eps);
}
#else
typedef int cd_layernorm_avx512_unused; /* ISO C: no empty translation unit */
#endif
