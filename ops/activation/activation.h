/* Activation kernels per ISA level. One portable source (activation_kernels.h) is compiled
 * once per level with that level's flags, so every level gets the compiler's vector code for
 * its registers; ops/dispatch.c puts them in the kernel table. */
#ifndef CD_ACTIVATION_H
#define CD_ACTIVATION_H

#include <stddef.h>

#include "ops/ops.h"

void cd_bias_act_tile_portable(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias, cd_activation act);
void cd_act_forward_portable(float *out, const float *in, size_t n, cd_activation act);
void cd_act_backward_portable(float *din, const float *dout, const float *in, size_t n, cd_activation act);
void cd_bias_act_tile_avx2(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias, cd_activation act);
void cd_act_forward_avx2(float *out, const float *in, size_t n, cd_activation act);
void cd_act_backward_avx2(float *din, const float *dout, const float *in, size_t n, cd_activation act);
void cd_bias_act_tile_avx512(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias, cd_activation act);
void cd_act_forward_avx512(float *out, const float *in, size_t n, cd_activation act);
void cd_act_backward_avx512(float *din, const float *dout, const float *in, size_t n, cd_activation act);
void cd_bias_act_tile_neon(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias, cd_activation act);
void cd_act_forward_neon(float *out, const float *in, size_t n, cd_activation act);
void cd_act_backward_neon(float *din, const float *dout, const float *in, size_t n, cd_activation act);

#endif
