/* The JPEG decoder's fast paths against its plain C reference (which test_jpeg checks
 * against Pillow): the AVX2 IDCT and the DC-only IDCT must give the same bytes as
 * cd_jpeg_idct_islow for every kind of block, including the out-of-range coefficients of
 * corrupt files, where only exact emulation of the 16-bit lanes keeps the outputs equal. */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "data/jpeg_internal.h"
#include "tests/testutil.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}

/* Coefficient of a random block of the given kind. */
static int16_t coef_value(int kind) {
  switch (kind) {
    case 0: return (int16_t)((int)(rnd() % 61) - 30);            /* typical photo */
    case 1: return (int16_t)((int)(rnd() % 2047) - 1023);        /* full 8-bit range */
    case 2: return (int16_t)rnd();                              /* anything (corrupt) */
    default: {
      static const int16_t ext[] = {-32768, 32767, -1, 1, 0, 16384, -16384, 255};
      return ext[rnd() % 8];
    }
  }
}

static void make_block(int kind, int shape, int16_t *coef, int16_t *quant) {
  for (int i = 0; i < 64; i++) {
    coef[i] = 0;
    quant[i] = kind >= 2 && rnd() % 4 == 0 ? (int16_t)rnd() : (int16_t)(1 + rnd() % 255);
  }
  int n = shape == 0 ? 1 : shape == 1 ? 8 : 64; /* DC only, row 0 only, everything */
  int density = 1 + (int)(rnd() % 4);
  for (int i = 0; i < n; i++)
    if (i == 0 || rnd() % density == 0) coef[i] = coef_value(kind);
}

int main(void) {
  int16_t coef[64], quant[64];
  uint8_t ref[8 * 12], got[8 * 12];
  const int stride = 12;
  int avx2 = 0;
#if defined(__x86_64__) || defined(_M_X64)
  cd_cpu_features f;
  cd_cpu_detect(&f);
  avx2 = f.avx2 && f.os_avx;
#endif
  long blocks = 0, bad_avx2 = 0, bad_dc = 0;
  for (int it = 0; it < 200000; it++) {
    int kind = it % 4, shape = (it / 4) % 3;
    make_block(kind, shape, coef, quant);
    memset(ref, 0xAA, sizeof ref);
    cd_jpeg_idct_islow(coef, quant, ref, stride);
    if (avx2) {
      memset(got, 0xAA, sizeof got);
      cd_jpeg_idct_islow_avx2(coef, quant, got, stride);
      if (memcmp(ref, got, sizeof ref) && bad_avx2++ < 3)
        CHECK(0, "AVX2 IDCT differs on block %d (kind %d, shape %d)", it, kind, shape);
    }
    if (shape == 0) {
      memset(got, 0xAA, sizeof got);
      cd_jpeg_idct_dc(coef[0], quant[0], got, stride);
      if (memcmp(ref, got, sizeof ref) && bad_dc++ < 3)
        CHECK(0, "DC-only IDCT differs: coef %d quant %d", coef[0], quant[0]);
    }
    blocks++;
  }
  /* Every DC value with a few multipliers, including the wrapping ones. */
  static const int16_t qs[] = {1, 2, 3, 16, 99, 255, 1000, 32767, -32768, -1};
  for (int q = 0; q < 10; q++) {
    for (int v = -32768; v <= 32767; v += 7) {
      memset(coef, 0, sizeof coef);
      memset(quant, 0, sizeof quant);
      coef[0] = (int16_t)v;
      quant[0] = qs[q];
      cd_jpeg_idct_islow(coef, quant, ref, stride);
      cd_jpeg_idct_dc(coef[0], quant[0], got, stride);
      if (memcmp(ref, got, sizeof ref) && bad_dc++ < 3)
        CHECK(0, "DC-only IDCT differs: coef %d quant %d", v, qs[q]);
    }
  }
  printf("IDCT: %ld random blocks, AVX2 %s: %ld differ (tolerance 0); DC-only: %ld differ "
         "(tolerance 0)\n", blocks, avx2 ? "checked" : "not available", bad_avx2, bad_dc);
  CHECK(bad_avx2 == 0 && bad_dc == 0, "fast IDCT paths must equal the reference");
  return cd_test_finish("test_jpeg_simd");
}
