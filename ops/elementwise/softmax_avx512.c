/* Row softmax compiled for AVX-512 (see softmax_kernels.h). */
#include "ops/elementwise/softmax.h"
#if defined(__x86_64__) || defined(_M_X64)
#include "ops/kernels/softmax_impl.h"

void cd_softmax_rows_avx512(float *x, int M, int N, ptrdiff_t ld, int causal, int diag) {
  softmax_rows_impl(x, M, N, ld, causal, diag);
}
#else
typedef int cd_softmax_avx512_unused; /* ISO C: no empty translation unit */
#endif
