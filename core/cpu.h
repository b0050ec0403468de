/* Run-time CPU feature detection (CPUID + XGETBV for OS support of AVX/AVX-512/AMX state on
 * x86, plus the Linux permission request AMX tiles need; NEON is architectural on aarch64).
 * Kernels are chosen from this, never from compile-time -march flags.
 *
 * ISA levels form chains, each level containing the one before:
 *   x86:     ref -> avx2 -> avx512 -> avx512bf16 -> amx
 *   aarch64: ref -> neon
 * CLIPDEBIAS_ISA=<level> (or --isa) forces a level; asking for a level the CPU cannot run
 * keeps the best one (the override only ever lowers). */
#ifndef CD_CPU_H
#define CD_CPU_H

typedef enum {
  CD_ISA_REF = 0,      /* portable C, no intrinsics */
  CD_ISA_AVX2,         /* AVX2 + FMA + F16C */
  CD_ISA_AVX512,       /* AVX-512 F/BW/VL/DQ */
  CD_ISA_AVX512BF16,   /* + AVX512_BF16 (vdpbf16ps) */
  CD_ISA_AMX,          /* + AMX-TILE/AMX-BF16, tile state granted by the OS */
  CD_ISA_NEON,         /* aarch64 Advanced SIMD */
  CD_ISA_COUNT
} cd_isa;

typedef struct {
  int sse42, avx, avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512dq, neon;
  int avx512_vnni, avx512_bf16, avx512_fp16, amx_tile, amx_bf16, amx_int8;
  int os_avx, os_avx512;    /* OS saves the wide registers (XCR0) */
  int os_amx;               /* XCR0 has the tile state and Linux granted this process its use */
  char brand[64];
} cd_cpu_features;

void cd_cpu_detect(cd_cpu_features *f);
/* 1 when this CPU (and OS) can run every instruction of level isa. */
int cd_cpu_supports(cd_isa isa);
/* The level below isa in its chain (ref for ref). */
cd_isa cd_isa_parent(cd_isa isa);
/* The best level usable on this machine, after the CLIPDEBIAS_ISA override. */
cd_isa cd_cpu_best_isa(void);
/* 1 when the active level (cd_cpu_best_isa, after the override) includes level isa: what
 * kernels outside the op table (image decoding) ask instead of comparing levels. */
int cd_cpu_level_has(cd_isa isa);
/* The best level without the override. */
cd_isa cd_cpu_native_isa(void);
const char *cd_isa_name(cd_isa isa);
/* Level by name ("ref", "avx2", ...); -1 when unknown. */
int cd_isa_from_name(const char *name);

/* The thread count of the library's parallel loops (core/pool.h): cd_threads_set's value
 * (--threads), else OMP_NUM_THREADS, else the processors this process may run on. */
int cd_threads_get(void);
void cd_threads_set(int n);

#endif
