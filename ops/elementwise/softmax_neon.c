/* Row softmax compiled for NEON (see softmax_kernels.h). */
#include "ops/elementwise/softmax.h"
#if defined(__aarch64__)
#include "ops/kernels/softmax_impl.h"

void cd_softmax_rows_neon(float *x, int M, int N, ptrdiff_t ld, int causal, int diag) {
  softmax_rows_impl(x, M, N, ld, causal, diag);
}
#else
typedef int cd_softmax_neon_unused; /* ISO C: no empty translation unit */
#endif
