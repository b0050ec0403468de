/* LayerNorm row kernels per ISA level (one portable source, layernorm_kernels.h, compiled
 * per level); ops/dispatch.c puts them in the kernel table, ops/norm/layernorm.c drives them. */
#ifndef CD_LAYERNORM_H
#define CD_LAYERNORM_H

void cd_layernorm_rows_portable(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int M, int C, float eps);
void cd_layernorm_rows_avx2(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int M, int C, float eps);
void cd_layernorm_rows_avx512(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int M, int C, float eps);
void cd_layernorm_rows_neon(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int M, int C, float eps);

#endif
