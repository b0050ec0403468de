/* CPU features from CPUID, gated by XGETBV: a CPU may support AVX-512 while the kernel
 * does not save ZMM state, and then using it faults. */
#include "core/cpu.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((unsigned long long)edx << 32) | eax;
}

static void detect_x86(cd_cpu_features *f) {
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return;
  unsigned max_leaf = a;
  if (!__get_cpuid_count(1, 0, &a, &b, &c, &d)) return;
  f->sse42 = (c >> 20) & 1;
  f->fma = (c >> 12) & 1;
  f->f16c = (c >> 29) & 1;
  f->avx = (c >> 28) & 1;
  int osxsave = (c >> 27) & 1;
  unsigned long long xcr0 = osxsave ? read_xcr0() : 0;
  f->os_avx = osxsave && (xcr0 & 0x6) == 0x6;                 /* XMM + YMM state */
  f->os_avx512 = f->os_avx && (xcr0 & 0xE0) == 0xE0;          /* opmask, ZMM_Hi256, Hi16_ZMM */
  if (max_leaf >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f->avx2 = (b >> 5) & 1;
    f->avx512f = (b >> 16) & 1;
    f->avx512dq = (b >> 17) & 1;
    f->avx512bw = (b >> 30) & 1;
    f->avx512vl = (b >> 31) & 1;
  }
  unsigned regs[12];
  if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
    for (unsigned i = 0; i < 3; i++)
      __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
    memcpy(f->brand, regs, 48);
    f->brand[48] = 0;
    /* The brand string is right-padded (and sometimes left-padded) with spaces. */
    char *s = f->brand;
    while (*s == ' ') s++;
    memmove(f->brand, s, strlen(s) + 1);
    for (size_t n = strlen(f->brand); n > 0 && f->brand[n - 1] == ' '; n--) f->brand[n - 1] = 0;
  }
}
#endif

static void detect_uncached(cd_cpu_features *f) {
  memset(f, 0, sizeof *f);
#if defined(__x86_64__) || defined(__i386__)
  detect_x86(f);
#elif defined(__aarch64__)
  f->neon = 1;
  strcpy(f->brand, "aarch64");
#endif
  if (!f->brand[0]) strcpy(f->brand, "unknown CPU");
}

/* CPUID traps to the hypervisor on virtual machines (microseconds per leaf) and kernels ask
 * for the ISA on every call, so the immutable answer is computed once. State 0: empty,
 * 1: being filled by one thread (others compute their own copy), 2: ready. */
static _Atomic int g_cpu_state;
static cd_cpu_features g_cpu;

void cd_cpu_detect(cd_cpu_features *f) {
  if (atomic_load_explicit(&g_cpu_state, memory_order_acquire) == 2) {
    *f = g_cpu;
    return;
  }
  detect_uncached(f);
  int expect = 0;
  if (atomic_compare_exchange_strong(&g_cpu_state, &expect, 1)) {
    g_cpu = *f;
    atomic_store_explicit(&g_cpu_state, 2, memory_order_release);
  }
}

cd_isa cd_cpu_best_isa(void) {
  cd_cpu_features f;
  cd_cpu_detect(&f);
  cd_isa best = CD_ISA_REF;
  if (f.neon) best = CD_ISA_NEON;
  int has_avx2 = f.avx2 && f.fma && f.os_avx;
  if (has_avx2) best = CD_ISA_AVX2;
  if (has_avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.os_avx512) best = CD_ISA_AVX512;
  const char *env = getenv("CLIPDEBIAS_ISA");
  if (!env || !*env) return best;
  /* The override only lowers the level: asking for an unsupported ISA keeps the best one. */
  if (!strcmp(env, "ref")) return CD_ISA_REF;
  if (!strcmp(env, "avx2") && best == CD_ISA_AVX512) return CD_ISA_AVX2;
  return best;
}

const char *cd_isa_name(cd_isa isa) {
  switch (isa) {
    case CD_ISA_REF: return "ref";
    case CD_ISA_AVX2: return "avx2";
    case CD_ISA_AVX512: return "avx512";
    case CD_ISA_NEON: return "neon";
  }
  return "unknown";
}

int cd_threads_get(void) {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void cd_threads_set(int n) {
#ifdef _OPENMP
  if (n > 0) omp_set_num_threads(n);
#else
  (void)n;
#endif
}
