/* CPU features from CPUID, gated by XGETBV: a CPU may support AVX-512 while the kernel
 * does not save ZMM state, and then using it faults. AMX additionally needs the process to
 * ask Linux for the tile data state (arch_prctl), or the first tile instruction faults. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "core/cpu.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static unsigned long long read_xcr0(void) {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((unsigned long long)edx << 32) | eax;
}

/* Linux keeps AMX tile data off until a process asks (ARCH_REQ_XCOMP_PERM for
 * XFEATURE_XTILEDATA); the grant is per process and idempotent. */
static int request_amx(void) {
#if defined(__linux__) && defined(__x86_64__) && defined(SYS_arch_prctl)
  enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
  return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
  return 0;
#endif
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
    f->avx512_vnni = (c >> 11) & 1;
    f->amx_bf16 = (d >> 22) & 1;
    f->avx512_fp16 = (d >> 23) & 1;
    f->amx_tile = (d >> 24) & 1;
    f->amx_int8 = (d >> 25) & 1;
    unsigned max_sub = a;
    if (max_sub >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) f->avx512_bf16 = (a >> 5) & 1;
  }
  /* XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA): the kernel manages tile state. */
  if (f->amx_tile && f->os_avx512 && (xcr0 & 0x60000) == 0x60000) f->os_amx = request_amx();
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

int cd_cpu_supports(cd_isa isa) {
  cd_cpu_features f;
  cd_cpu_detect(&f);
  int avx2 = f.avx2 && f.fma && f.f16c && f.os_avx;
  int avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.os_avx512;
  switch (isa) {
  case CD_ISA_REF: return 1;
  case CD_ISA_AVX2: return avx2;
  case CD_ISA_AVX512: return avx512;
  case CD_ISA_AVX512BF16: return avx512 && f.avx512_bf16;
  case CD_ISA_AMX: return avx512 && f.avx512_bf16 && f.amx_tile && f.amx_bf16 && f.os_amx;
  case CD_ISA_NEON: return f.neon;
  default: return 0;
  }
}

cd_isa cd_isa_parent(cd_isa isa) {
  switch (isa) {
  case CD_ISA_AVX512: return CD_ISA_AVX2;
  case CD_ISA_AVX512BF16: return CD_ISA_AVX512;
  case CD_ISA_AMX: return CD_ISA_AVX512BF16;
  default: return CD_ISA_REF;
  }
}

/* CPUID is slow under virtualisation and kernels ask per call: computed once (see above). */
static _Atomic int g_native = -1;

cd_isa cd_cpu_native_isa(void) {
  int n = atomic_load_explicit(&g_native, memory_order_relaxed);
  if (n >= 0) return (cd_isa)n;
  static const cd_isa order[] = {CD_ISA_AMX, CD_ISA_AVX512BF16, CD_ISA_AVX512, CD_ISA_AVX2, CD_ISA_NEON};
  cd_isa best = CD_ISA_REF;
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    if (cd_cpu_supports(order[i])) {
      best = order[i];
      break;
    }
  atomic_store_explicit(&g_native, (int)best, memory_order_relaxed);
  return best;
}

/* 1 when level a is in the chain below (or equal to) level b. */
static int in_chain(cd_isa a, cd_isa b) {
  for (;;) {
    if (a == b) return 1;
    if (b == CD_ISA_REF) return 0;
    b = cd_isa_parent(b);
  }
}

cd_isa cd_cpu_best_isa(void) {
  cd_isa best = cd_cpu_native_isa();
  const char *env = getenv("CLIPDEBIAS_ISA");
  if (!env || !*env) return best;
  int want = cd_isa_from_name(env);
  /* The override only lowers: an unknown or unsupported level keeps the best one. */
  if (want < 0 || !in_chain((cd_isa)want, best)) return best;
  return (cd_isa)want;
}

int cd_cpu_level_has(cd_isa isa) { return in_chain(isa, cd_cpu_best_isa()); }

static const char *const isa_names[CD_ISA_COUNT] = {"ref", "avx2", "avx512", "avx512bf16", "amx", "neon"};

const char *cd_isa_name(cd_isa isa) {
  return (unsigned)isa < CD_ISA_COUNT ? isa_names[isa] : "unknown";
}

int cd_isa_from_name(const char *name) {
  for (int i = 0; i < CD_ISA_COUNT; i++)
    if (!strcmp(name, isa_names[i])) return i;
  return -1;
}

/* The processors this process may run on (its affinity mask, e.g. under taskset or a
 * container's cpuset), not every processor of the machine. */
static int cpus_available(void) {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* OMP_NUM_THREADS keeps working for users who set it by habit: the first number of its list. */
static int threads_from_env(void) {
  const char *s = getenv("OMP_NUM_THREADS");
  if (!s) return 0;
  char *end;
  long n = strtol(s, &end, 10);
  return end != s && n > 0 && n <= 1024 ? (int)n : 0;
}

static _Atomic int g_threads; /* 0 = not chosen yet */

int cd_threads_get(void) {
  int n = atomic_load(&g_threads);
  if (n > 0) return n;
  n = threads_from_env();
  if (n <= 0) n = cpus_available();
  int unset = 0;
  atomic_compare_exchange_strong(&g_threads, &unset, n);
  return atomic_load(&g_threads);
}

void cd_threads_set(int n) {
  if (n > 0) atomic_store(&g_threads, n);
}
