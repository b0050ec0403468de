/* Row softmax kernels per ISA level (one portable source, softmax_kernels.h, compiled per
 * level); ops/dispatch.c puts them in the kernel table. */
#ifndef CD_SOFTMAX_H
#define CD_SOFTMAX_H

#include <stddef.h>

void cd_softmax_rows_portable(float *x, int M, int N, ptrdiff_t ld, int causal, int diag);
void cd_softmax_rows_avx2(float *x, int M, int N, ptrdiff_t ld, int causal, int diag);
void cd_softmax_rows_avx512(float *x, int M, int N, ptrdiff_t ld, int causal, int diag);
void cd_softmax_rows_neon(float *x, int M, int N, ptrdiff_t ld, int causal, int diag);

#endif
