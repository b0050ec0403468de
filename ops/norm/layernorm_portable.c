/* LayerNorm rows compiled for the portable level (baseline flags) (see layernorm_kernels.h). */
#include "ops/norm/layernorm.h"
#include "ops/kernels/layernorm_impl.h"

void cd_layernorm_rows_portable(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int M, int C, float eps) {
  layernorm_rows_impl(out, mean, rstd, inp, w, b, M, C, eps);
}
