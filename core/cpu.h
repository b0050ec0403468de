/* Run-time CPU feature detection (CPUID + XGETBV for OS support of AVX/AVX-512 state on
 * x86; NEON is architectural on aarch64). Kernels are chosen from this, never from
 * compile-time -march flags. CLIPDEBIAS_ISA=ref|avx2|avx512|neon forces a lower level. */
#ifndef CD_CPU_H
#define CD_CPU_H

typedef enum { CD_ISA_REF = 0, CD_ISA_AVX2 = 1, CD_ISA_AVX512 = 2, CD_ISA_NEON = 3 } cd_isa;

typedef struct {
  int sse42, avx, avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512dq, neon;
  int os_avx, os_avx512;    /* OS saves the wide registers (XCR0) */
  char brand[64];
} cd_cpu_features;

void cd_cpu_detect(cd_cpu_features *f);
/* The best ISA usable on this machine, after the CLIPDEBIAS_ISA override. */
cd_isa cd_cpu_best_isa(void);
const char *cd_isa_name(cd_isa isa);

/* Threads: wraps OpenMP (1 when built without it). */
int cd_threads_get(void);
void cd_threads_set(int n);

#endif
