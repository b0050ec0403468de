/* The JPEG decoder's fast paths against its plain C reference (which test_jpeg checks
 * against Pillow): the AVX2 IDCT and the DC-only IDCT must give the same bytes as
 * cd_jpeg_idct_islow for every kind of block, including the out-of-range coefficients of
 * corrupt files, where only exact emulation of the 16-bit lanes keeps the outputs equal;
 * upsampling + colour conversion must give the same bytes with CLIPDEBIAS_ISA=ref and
 * with this machine's best ISA, for every sampling layout and many widths. */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "data/image/jpeg_internal.h"
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

/* Random planes for 3 components in the given layout (chroma factors hx, vx), converted
 * with the reference and the best ISA; returns the number of differing bytes. */
static long convert_case(int width, int height, int hx, int vx, cd_jpeg_colorxf xf) {
  cd_jpeg_upcomp up[3];
  uint8_t *planes[3];
  for (int c = 0; c < 3; c++) {
    int h = c ? hx : 1, v = c ? vx : 1;
    int cw = (width + h - 1) / h, ch = (height + v - 1) / v;
    int stride = (cw + 7) / 8 * 8 + 8;
    planes[c] = malloc((size_t)stride * ch);
    for (size_t i = 0; i < (size_t)stride * ch; i++) {
      uint32_t r = rnd();
      planes[c][i] = (r & 15) == 0 ? (uint8_t)((r >> 4 & 1) * 255) : (uint8_t)(r >> 8);
    }
    up[c].plane = planes[c];
    up[c].stride = stride;
    up[c].cw = cw;
    up[c].ch = ch;
    up[c].hexp = h;
    up[c].vexp = v;
    if (h == 1 && v == 1) up[c].method = CD_UP_FULL;
    else if (h == 2 && v == 1) up[c].method = cw > 2 ? CD_UP_H2V1_FANCY : CD_UP_H2V1_BOX;
    else if (h == 1 && v == 2) up[c].method = CD_UP_H1V2_FANCY;
    else up[c].method = cw > 2 ? CD_UP_H2V2_FANCY : CD_UP_H2V2_BOX;
  }
  size_t n = (size_t)width * height * 3;
  uint8_t *want = malloc(n), *got = malloc(n);
  setenv("CLIPDEBIAS_ISA", "ref", 1);
  int rc1 = cd_jpeg_upsample_convert(up, 3, xf, width, height, want);
  unsetenv("CLIPDEBIAS_ISA");
  int rc2 = cd_jpeg_upsample_convert(up, 3, xf, width, height, got);
  long diff = rc1 || rc2 ? -1 : 0;
  for (size_t i = 0; diff >= 0 && i < n; i++) diff += want[i] != got[i];
  for (int c = 0; c < 3; c++) free(planes[c]);
  free(want);
  free(got);
  return diff;
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

  static const int layouts[4][2] = {{1, 1}, {2, 1}, {1, 2}, {2, 2}};
  int conv_cases = 0, conv_bad = 0;
  for (int width = 1; width <= 70; width++) {
    for (int l = 0; l < 4; l++) {
      for (int xf = 0; xf < 2; xf++) {
        int height = 1 + (int)(rnd() % 9);
        long d = convert_case(width, height, layouts[l][0], layouts[l][1], xf ? CD_CC_RGB : CD_CC_YCC);
        conv_cases++;
        if (d != 0 && conv_bad++ < 5)
          CHECK(0, "upsample+convert %dx%d, chroma %dx%d, %s: %ld bytes differ", width, height,
                layouts[l][0], layouts[l][1], xf ? "RGB" : "YCbCr", d);
      }
    }
  }
  long d = convert_case(500, 375, 2, 2, CD_CC_YCC);
  conv_cases++;
  if (d != 0) conv_bad++;
  printf("upsample+convert %s vs ref: %d cases, %d differ (tolerance 0)\n",
         cd_isa_name(cd_cpu_best_isa()), conv_cases, conv_bad);
  CHECK(conv_bad == 0, "fast upsampling and colour conversion must equal the reference");
  return cd_test_finish("test_jpeg_simd");
}
