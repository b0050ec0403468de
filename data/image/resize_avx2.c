/* AVX2 passes of the 8-bit bicubic resample (see data/resize_internal.h). Integer sums are
 * exact, so summing in a different order and in 32-bit lanes gives Pillow's bytes: each
 * output sample is (1 << 21) + sum(sample * coefficient), then >> 22 and clipped to 0..255. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "data/image/resize_internal.h"

#define PB CD_RESIZE_PRECISION_BITS

/* Clip 8 int32 sums to bytes in the low 8 bytes of the result (packs then packus clamp
 * exactly as Pillow's clip8 does: negative -> 0, above 255 -> 255). */
static inline __m128i clip8x8(__m256i acc) {
  acc = _mm256_srai_epi32(acc, PB);
  __m128i s16 = _mm_packs_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  return _mm_packus_epi16(s16, s16);
}

static inline uint32_t load4(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* One output pixel in scalar code, for the pixels whose 4-byte loads would leave src. */
static void horiz_pixel(const uint8_t *p, int c, int taps, const int32_t *k, uint8_t *out) {
  for (int ch = 0; ch < c; ch++) {
    int32_t ss = 1 << (PB - 1);
    for (int x = 0; x < taps; x++) ss += p[x * c + ch] * k[x];
    ss >>= PB;
    out[ch] = (uint8_t)(ss < 0 ? 0 : ss > 255 ? 255 : ss);
  }
}

/* Stores the c (3 or 4) bytes of a pixel from the low bytes of v. */
static inline void store_px(uint8_t *out, uint32_t v, int c) {
  if (c == 4) {
    memcpy(out, &v, 4);
  } else {
    uint16_t lo = (uint16_t)v;
    memcpy(out, &lo, 2);
    out[2] = (uint8_t)(v >> 16);
  }
}

static inline __attribute__((always_inline)) void horiz_rows(
    const uint8_t *src, size_t src_bytes, int w, const int c, int y0, int rows, uint8_t *dst,
    int ow, const int *bounds, int ksize, const int32_t *kk, const __m256i *kv) {
  const __m256i bias = _mm256_set1_epi32(1 << (PB - 1));
  for (int yy = 0; yy < rows; yy++) {
    const uint8_t *in = src + (size_t)(yy + y0) * w * c;
    size_t avail = src_bytes - (size_t)(in - src); /* bytes readable from in */
    uint8_t *out = dst + (size_t)yy * ow * c;
    int xx = 0;
    /* Two output pixels per register: lanes 0-3 pixel xx, lanes 4-7 pixel xx + 1, one
     * channel per lane (the fourth lane of RGB is a neighbour's byte times a coefficient
     * and is dropped). */
    for (; xx + 1 < ow; xx += 2) {
      int xa = bounds[2 * xx], na = bounds[2 * xx + 1];
      int xb = bounds[2 * xx + 2], nb = bounds[2 * xx + 3];
      int n = na > nb ? na : nb;
      const uint8_t *pa = in + (size_t)xa * c, *pb = in + (size_t)xb * c;
      if ((size_t)(xb + n - 1) * c + 4 > avail || (size_t)(xa + n - 1) * c + 4 > avail) {
        horiz_pixel(pa, c, na, kk + (size_t)xx * ksize, out + (size_t)xx * c);
        horiz_pixel(pb, c, nb, kk + (size_t)(xx + 1) * ksize, out + (size_t)(xx + 1) * c);
        continue;
      }
      /* Past its own taps a pixel's coefficients are zero (kk is padded to ksize, and n is
       * at most ksize), so the longer window of the two is harmless to the shorter one. */
      const __m256i *k = kv + (size_t)(xx / 2) * ksize;
      __m256i acc0 = bias, acc1 = _mm256_setzero_si256();
      int t = 0;
      for (; t + 1 < n; t += 2) {
        __m128i p0 = _mm_insert_epi32(_mm_cvtsi32_si128((int)load4(pa + t * c)), (int)load4(pb + t * c), 1);
        __m128i p1 = _mm_insert_epi32(_mm_cvtsi32_si128((int)load4(pa + t * c + c)),
                                      (int)load4(pb + t * c + c), 1);
        acc0 = _mm256_add_epi32(acc0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(p0), k[t]));
        acc1 = _mm256_add_epi32(acc1, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(p1), k[t + 1]));
      }
      if (t < n) {
        __m128i p0 = _mm_insert_epi32(_mm_cvtsi32_si128((int)load4(pa + t * c)), (int)load4(pb + t * c), 1);
        acc0 = _mm256_add_epi32(acc0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(p0), k[t]));
      }
      __m128i r = clip8x8(_mm256_add_epi32(acc0, acc1));
      store_px(out + (size_t)xx * c, (uint32_t)_mm_cvtsi128_si32(r), c);
      store_px(out + (size_t)(xx + 1) * c, (uint32_t)_mm_extract_epi32(r, 1), c);
    }
    for (; xx < ow; xx++)
      horiz_pixel(in + (size_t)bounds[2 * xx] * c, c, bounds[2 * xx + 1], kk + (size_t)xx * ksize,
                  out + (size_t)xx * c);
  }
}

int cd_resize_horiz_u8_avx2(const uint8_t *src, size_t src_bytes, int w, int c, int y0, int rows,
                            uint8_t *dst, int ow, const int *bounds, int ksize, const int32_t *kk) {
  /* Coefficient vectors of each pixel pair: 4 lanes of the first pixel's, 4 of the second's. */
  size_t npair = (size_t)ow / 2;
  __m256i *kv = aligned_alloc(32, (npair * ksize + 1) * sizeof(__m256i));
  if (!kv) return -1;
  for (size_t p = 0; p < npair; p++)
    for (int t = 0; t < ksize; t++)
      kv[p * ksize + t] = _mm256_setr_epi32(kk[2 * p * ksize + t], kk[2 * p * ksize + t],
                                            kk[2 * p * ksize + t], kk[2 * p * ksize + t],
                                            kk[(2 * p + 1) * ksize + t], kk[(2 * p + 1) * ksize + t],
                                            kk[(2 * p + 1) * ksize + t], kk[(2 * p + 1) * ksize + t]);
  if (c == 3)
    horiz_rows(src, src_bytes, w, 3, y0, rows, dst, ow, bounds, ksize, kk, kv);
  else
    horiz_rows(src, src_bytes, w, 4, y0, rows, dst, ow, bounds, ksize, kk, kv);
  free(kv);
  return 0;
}

void cd_resize_vert_u8_avx2(const uint8_t *src, size_t stride, uint8_t *dst, int oh,
                            const int *bounds, int ksize, const int32_t *kk) {
  const __m256i bias = _mm256_set1_epi32(1 << (PB - 1));
  for (int yy = 0; yy < oh; yy++) {
    int ymin = bounds[2 * yy], ymax = bounds[2 * yy + 1];
    const int32_t *k = kk + (size_t)yy * ksize;
    const uint8_t *in = src + (size_t)ymin * stride;
    uint8_t *out = dst + (size_t)yy * stride;
    size_t i = 0;
    for (; i + 16 <= stride; i += 16) {
      __m256i a0 = bias, a1 = bias;
      for (int y = 0; y < ymax; y++) {
        __m128i px = _mm_loadu_si128((const __m128i *)(in + (size_t)y * stride + i));
        __m256i ky = _mm256_set1_epi32(k[y]);
        a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(px), ky));
        a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(px, 8)), ky));
      }
      _mm_storel_epi64((__m128i *)(out + i), clip8x8(a0));
      _mm_storel_epi64((__m128i *)(out + i + 8), clip8x8(a1));
    }
    for (; i < stride; i++) {
      int32_t ss = 1 << (PB - 1);
      for (int y = 0; y < ymax; y++) ss += in[(size_t)y * stride + i] * k[y];
      ss >>= PB;
      out[i] = (uint8_t)(ss < 0 ? 0 : ss > 255 ? 255 : ss);
    }
  }
}
