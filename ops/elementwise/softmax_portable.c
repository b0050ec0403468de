/* Row softmax compiled for the portable level (baseline flags) (see softmax_kernels.h). */
#include "ops/elementwise/softmax.h"
#include "ops/kernels/softmax_impl.h"

void cd_softmax_rows_portable(float *x, int M, int N, ptrdiff_t ld, int causal, int diag) {
  softmax_rows_impl(x, M, N, ld, causal, diag);
}
