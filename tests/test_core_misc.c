/* dtype tables and half-precision conversion (exhaustive for f16/bf16 -> f32; f32 -> half
 * checked against an independent nearest-value search and, where the CPU has F16C, against
 * the hardware), unaligned conversion, CPU detection and the ISA override, threads, atomic
 * writes, and the progress line. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cpu.h"
#include "core/dtype.h"
#include "core/file.h"
#include "core/progress.h"
#include "tests/testutil.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86 1
__attribute__((target("f16c"))) static uint16_t hw_f32_to_f16(float f) {
  return (uint16_t)_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0);
}
__attribute__((target("f16c"))) static float hw_f16_to_f32(uint16_t h) {
  return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}
#else
#define HAVE_X86 0
#endif

static uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static float from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* Independent f16 value by formula, in double. */
static double f16_value(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
  return s ? -v : v;
}

/* Nearest half by binary search over the monotone positive codes, ties to even mantissa. */
static uint16_t ref_f32_to_f16(float f) {
  if (isnan(f)) return 0x7E00;
  uint16_t sign = signbit(f) ? 0x8000 : 0;
  double x = fabs((double)f);
  /* Values at or beyond 65504 + half an ulp (65520) round to infinity. */
  if (x >= 65520.0) return sign | 0x7C00;
  int lo = 0, hi = 0x7BFF;
  while (lo < hi) { /* largest code with value <= x */
    int mid = (lo + hi + 1) / 2;
    if (f16_value((uint16_t)mid) <= x) lo = mid;
    else hi = mid - 1;
  }
  if (lo == 0x7BFF) return sign | 0x7BFF;
  double a = f16_value((uint16_t)lo), b = f16_value((uint16_t)(lo + 1));
  uint16_t r;
  if (x - a < b - x) r = (uint16_t)lo;
  else if (x - a > b - x) r = (uint16_t)(lo + 1);
  else r = (lo & 1) ? (uint16_t)(lo + 1) : (uint16_t)lo;
  return sign | r;
}

static uint16_t ref_f32_to_bf16(float f) {
  if (isnan(f)) return 0x7FC0;
  uint32_t u = bits(f);
  uint32_t lo = u & 0xFFFF0000u, hi = lo + 0x10000u;
  double x = fabs((double)f), a = fabs((double)from_bits(lo)), b;
  if ((hi & 0x7F800000u) == 0x7F800000u && (lo & 0x7F800000u) != 0x7F800000u) b = ldexp(1.0, 128); /* to inf */
  else b = fabs((double)from_bits(hi));
  if (x - a < b - x) return (uint16_t)(lo >> 16);
  if (x - a > b - x) return (uint16_t)(hi >> 16);
  return ((lo >> 16) & 1) ? (uint16_t)(hi >> 16) : (uint16_t)(lo >> 16);
}

static void test_dtype_tables(void) {
  static const struct {
    cd_dtype t;
    const char *n;
    size_t s;
  } T[] = {{CD_F32, "F32", 4}, {CD_F16, "F16", 2}, {CD_BF16, "BF16", 2}, {CD_F64, "F64", 8}, {CD_I8, "I8", 1},
           {CD_U8, "U8", 1},   {CD_I16, "I16", 2}, {CD_I32, "I32", 4},   {CD_I64, "I64", 8}, {CD_BOOL, "BOOL", 1}};
  for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
    CHECK(cd_dtype_size(T[i].t) == T[i].s, "%s size", T[i].n);
    CHECK(!strcmp(cd_dtype_name(T[i].t), T[i].n), "%s name", T[i].n);
    CHECK(cd_dtype_from_name(T[i].n) == T[i].t, "%s from name", T[i].n);
  }
  CHECK(cd_dtype_size(CD_DTYPE_INVALID) == 0, "invalid size 0");
  CHECK(cd_dtype_from_name("f32") == CD_DTYPE_INVALID && cd_dtype_from_name("F8_E4M3") == CD_DTYPE_INVALID &&
            cd_dtype_from_name(NULL) == CD_DTYPE_INVALID,
        "unknown names");
}

static void test_half(void) {
  /* f16 -> f32, all 65536 codes, against the formula (and hardware when present). */
  int bad = 0, hw_bad = 0;
  cd_cpu_features cf;
  cd_cpu_detect(&cf);
  int hw = HAVE_X86 && cf.f16c && cf.os_avx; /* clang 14 lacks __builtin_cpu_supports("f16c") */
  for (uint32_t h = 0; h < 65536; h++) {
    float f = cd_f16_to_f32((uint16_t)h);
    double want = f16_value((uint16_t)h);
    if (isnan(want) ? !isnan(f) : ((double)f != want || !!signbit(f) != !!signbit(want))) bad++;
#if HAVE_X86
    /* The hardware quiets signalling NaNs; NaN payloads are not compared. */
    if (hw && (isnan(want) ? !isnan(hw_f16_to_f32((uint16_t)h)) : bits(hw_f16_to_f32((uint16_t)h)) != bits(f)))
      hw_bad++;
#endif
    /* Round trip: every non-NaN half survives f16 -> f32 -> f16 exactly. */
    if (!isnan(want) && cd_f32_to_f16(f) != h) bad++;
  }
  printf("  f16 -> f32: 65536 codes, %d mismatches vs formula, %d vs F16C (%s)\n", bad, hw_bad,
         hw ? "checked" : "no F16C");
  CHECK(bad == 0 && hw_bad == 0, "f16 decode mismatches %d / %d", bad, hw_bad);

  /* f32 -> f16: special values, ties, subnormals, overflow edges, then random floats. */
  static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 65504.0f, 65519.99f, 65520.0f, 1e10f, -1e10f,
                                  INFINITY, -INFINITY, 5.9604645e-8f /* 2^-24 */, 2.9802322e-8f /* 2^-25: tie */,
                                  2.9802326e-8f, 8.940697e-8f /* 1.5*2^-24: tie to even 2 */, 6.097555e-5f,
                                  6.1035156e-5f /* min normal */, 1.00048828125f /* 1 + 2^-11: tie */,
                                  1.00146484375f /* 1 + 3*2^-11: tie up */, 1e-45f, -1e-30f, 0.1f, 3.14159265f};
  int sbad = 0;
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
    uint16_t got = cd_f32_to_f16(special[i]), want = ref_f32_to_f16(special[i]);
    if (got != want) {
      sbad++;
      fprintf(stderr, "  f32->f16(%g): got %04x want %04x\n", special[i], got, want);
    }
  }
  CHECK(sbad == 0, "special f32 -> f16 mismatches: %d", sbad);
  uint16_t qn = cd_f32_to_f16(NAN);
  CHECK((qn & 0x7C00) == 0x7C00 && (qn & 0x3FF), "NaN stays NaN (%04x)", qn);
  uint64_t s = 12345;
  int rbad = 0, rhw = 0, n = 2000000;
  for (int i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    /* Exponents concentrated in and around the half range, plus exact tie patterns. */
    uint32_t u = (uint32_t)s;
    uint32_t e = 100 + (uint32_t)((s >> 32) % 50);
    u = (u & 0x807FFFFFu) | (e << 23);
    if (i & 1) u &= ~0xFFFu, u |= 0x1000u; /* mantissa tail exactly half an f16 ulp */
    float f = from_bits(u);
    uint16_t got = cd_f32_to_f16(f);
    if (got != ref_f32_to_f16(f)) rbad++;
#if HAVE_X86
    if (hw && got != hw_f32_to_f16(f)) rhw++;
#endif
  }
  printf("  f32 -> f16: %d random values (half of them exact ties), %d mismatches vs search, %d vs F16C\n", n, rbad,
         rhw);
  CHECK(rbad == 0 && rhw == 0, "f32 -> f16 mismatches %d / %d", rbad, rhw);

  /* bf16: decode all codes; encode random values (incl. ties) against the reference. */
  int bbad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = cd_bf16_to_f32((uint16_t)h);
    if (bits(f) != h << 16) bbad++;
    if (!isnan(f) && cd_f32_to_bf16(f) != h) bbad++;
  }
  for (int i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    uint32_t u = (uint32_t)s;
    if (i & 1) u = (u & 0xFFFF0000u) | 0x8000u; /* exact tie */
    float f = from_bits(u);
    if (!isnan(f) && cd_f32_to_bf16(f) != ref_f32_to_bf16(f)) bbad++;
  }
  uint16_t bn = cd_f32_to_bf16(from_bits(0x7F800001u));
  CHECK((bn & 0x7F80) == 0x7F80 && (bn & 0x7F), "signalling NaN stays NaN in bf16 (%04x)", bn);
  CHECK(cd_f32_to_bf16(from_bits(0x7F7FFFFFu)) == 0x7F80, "FLT_MAX rounds to bf16 inf");
  printf("  bf16: 65536 codes + %d random values, %d mismatches\n", n, bbad);
  CHECK(bbad == 0, "bf16 mismatches %d", bbad);
}

static void test_convert_unaligned(void) {
  uint8_t buf[64 + 1];
  float want[8], got[8];
  for (int i = 0; i < 8; i++) want[i] = (float)(i * 3 - 7) * 0.5f;
  /* Each source sits at an odd address: the converter must not assume alignment. */
  uint8_t *src = buf + 1;
  for (int i = 0; i < 8; i++) {
    uint16_t h = cd_f32_to_f16(want[i]);
    memcpy(src + 2 * i, &h, 2);
  }
  cd_convert_to_f32(got, src, CD_F16, 8);
  cd_test_close("unaligned F16 -> F32", got, want, 8, 0);
  for (int i = 0; i < 8; i++) {
    uint16_t h = cd_f32_to_bf16(want[i]);
    memcpy(src + 2 * i, &h, 2);
  }
  cd_convert_to_f32(got, src, CD_BF16, 8);
  cd_test_close("unaligned BF16 -> F32", got, want, 8, 0);
  memcpy(src, want, sizeof want);
  cd_convert_to_f32(got, src, CD_F32, 8);
  cd_test_close("unaligned F32 -> F32", got, want, 8, 0);
  for (int i = 0; i < 8; i++) {
    double d = want[i];
    memcpy(src + 8 * i, &d, 8);
  }
  cd_convert_to_f32(got, src, CD_F64, 8);
  cd_test_close("unaligned F64 -> F32", got, want, 8, 0);
  int32_t iv[4] = {-3, 0, 5, 1 << 20};
  float iw[4] = {-3, 0, 5, 1 << 20};
  memcpy(src, iv, sizeof iv);
  cd_convert_to_f32(got, src, CD_I32, 4);
  cd_test_close("unaligned I32 -> F32", got, iw, 4, 0);
}

static void test_cpu(void) {
  cd_cpu_features f;
  cd_cpu_detect(&f);
  printf("  cpu: %s | avx2 %d fma %d f16c %d avx512 f/bw/vl/dq %d%d%d%d os_avx %d os_avx512 %d neon %d\n", f.brand,
         f.avx2, f.fma, f.f16c, f.avx512f, f.avx512bw, f.avx512vl, f.avx512dq, f.os_avx, f.os_avx512, f.neon);
  CHECK(f.brand[0] != 0 && strlen(f.brand) < sizeof f.brand, "brand string");
#if defined(__x86_64__)
  CHECK(f.avx2 == !!__builtin_cpu_supports("avx2") && f.fma == !!__builtin_cpu_supports("fma") &&
            f.avx512f == !!__builtin_cpu_supports("avx512f"),
        "CPUID agrees with the compiler's runtime checks");
  CHECK(f.sse42 == !!__builtin_cpu_supports("sse4.2"), "sse4.2");
  CHECK(!f.os_avx512 || f.os_avx, "ZMM state implies YMM state");
#endif
  cd_cpu_features f2;
  cd_cpu_detect(&f2);
  CHECK(!memcmp(&f, &f2, sizeof f), "repeated detection gives the same answer");
  unsetenv("CLIPDEBIAS_ISA");
  cd_isa best = cd_cpu_best_isa();
  int stable = 1; /* the detection is cached after the first call: every later call agrees */
  for (int i = 0; i < 1000; i++) stable &= cd_cpu_best_isa() == best && cd_cpu_native_isa() == best;
  CHECK(stable, "cd_cpu_best_isa / cd_cpu_native_isa give the same level on every call");
  printf("  best ISA: %s\n", cd_isa_name(best));
#if defined(__x86_64__)
  CHECK(f.avx512_bf16 == !!__builtin_cpu_supports("avx512bf16"), "avx512_bf16 agrees with the compiler");
  int avx2 = f.avx2 && f.fma && f.f16c && f.os_avx;
  int avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.os_avx512;
  int amx = avx512 && f.avx512_bf16 && f.amx_tile && f.amx_bf16 && f.os_amx;
  cd_isa want = amx ? CD_ISA_AMX : avx512 && f.avx512_bf16 ? CD_ISA_AVX512BF16 : avx512 ? CD_ISA_AVX512
                : avx2 ? CD_ISA_AVX2 : CD_ISA_REF;
  CHECK(best == want, "best level %s, expected %s from the feature bits", cd_isa_name(best), cd_isa_name(want));
  CHECK(!f.os_amx || f.amx_tile, "AMX permission only where AMX exists");
#endif
  /* every level of the best one's chain can be forced; nothing above it can */
  for (int l = 0; l < CD_ISA_COUNT; l++) {
    setenv("CLIPDEBIAS_ISA", cd_isa_name((cd_isa)l), 1);
    int below = 0;
    for (cd_isa c = best;; c = cd_isa_parent(c)) {
      if (c == (cd_isa)l) below = 1;
      if (c == CD_ISA_REF) break;
    }
    CHECK(cd_cpu_best_isa() == (below ? (cd_isa)l : best), "override to %s gives %s", cd_isa_name((cd_isa)l),
          cd_isa_name(cd_cpu_best_isa()));
    CHECK(cd_cpu_supports((cd_isa)l) == below, "%s supported iff in the best level's chain", cd_isa_name((cd_isa)l));
  }
  setenv("CLIPDEBIAS_ISA", "bogus", 1);
  CHECK(cd_cpu_best_isa() == best, "an unknown override is ignored");
  unsetenv("CLIPDEBIAS_ISA");
  for (int l = 0; l < CD_ISA_COUNT; l++)
    CHECK(cd_isa_from_name(cd_isa_name((cd_isa)l)) == l, "ISA name round trip %d", l);
  CHECK(!strcmp(cd_isa_name(CD_ISA_REF), "ref") && !strcmp(cd_isa_name(CD_ISA_AVX2), "avx2") &&
            !strcmp(cd_isa_name(CD_ISA_AVX512), "avx512") && !strcmp(cd_isa_name(CD_ISA_NEON), "neon"),
        "ISA names");
  int t0 = cd_threads_get();
  CHECK(t0 >= 1, "threads >= 1 (%d)", t0);
  cd_threads_set(1);
  CHECK(cd_threads_get() == 1, "threads set to 1");
  cd_threads_set(0);
  CHECK(cd_threads_get() == 1, "0 leaves the count as it was");
  cd_threads_set(t0);
  CHECK(cd_threads_get() == t0, "threads restored");
}

static void test_atomic_and_progress(void) {
  char dir[] = "/tmp/cd_misc_XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK(0, "mkdtemp");
    return;
  }
  char path[256], tmp[300];
  snprintf(path, sizeof path, "%s/out.bin", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  cd_error e = {{0}};
  CHECK(cd_write_file_atomic(path, "hello", 5, &e) == 0, "atomic write: %s", e.msg);
  CHECK(cd_write_file_atomic(path, "bye", 3, &e) == 0, "atomic overwrite");
  uint8_t *data;
  size_t n;
  CHECK(cd_file_read(path, 100, &data, &n, &e) == 0 && n == 3 && !memcmp(data, "bye", 3), "content replaced");
  free(data);
  CHECK(access(tmp, F_OK) != 0, "no temp file left behind");
  cd_atomic_file af;
  CHECK(cd_atomic_open(&af, path, &e) == 0, "open");
  fputs("partial", af.fp);
  cd_atomic_abort(&af);
  CHECK(access(tmp, F_OK) != 0, "abort removes the temp file");
  CHECK(cd_file_read(path, 100, &data, &n, &e) == 0 && n == 3, "aborted write leaves the old file");
  free(data);
  CHECK(cd_write_file_atomic("/nonexistent-dir/x.bin", "x", 1, &e) == -1 && strstr(e.msg, "cannot create"),
        "write into a missing directory: %s", e.msg);
  remove(path);
  rmdir(dir);

  double a = cd_time_now(), b = cd_time_now();
  CHECK(b >= a && a > 0, "monotonic clock");
  cd_progress p;
  cd_progress_start(&p, "test", "item", 10);
  CHECK(!isatty(2) ? p.enabled == 0 : 1, "progress silent when stderr is not a terminal");
  setenv("CI", "true", 1);
  cd_progress_start(&p, "test", "item", 10);
  CHECK(p.enabled == 0, "progress silent under CI");
  for (size_t i = 1; i <= 10; i++) cd_progress_update(&p, i);
  CHECK(p.done == 10, "done tracked");
  cd_progress_finish(&p);
}

int main(void) {
  test_dtype_tables();
  test_half();
  test_convert_unaligned();
  test_cpu();
  test_atomic_and_progress();
  return cd_test_finish("test_core_misc");
}
