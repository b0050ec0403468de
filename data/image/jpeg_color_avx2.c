/* AVX2 versions of the row kernels of data/jpeg_color.c, identical output: the fancy
 * upsampling sums are small integers (16-bit lanes are exact), and the YCbCr->RGB table
 * entries are recomputed in 32-bit lanes from the same formulas build_ycc_tables uses. */
#include <immintrin.h>
#include <string.h>

#include "data/image/jpeg_internal.h"

static inline __m128i load8(const uint8_t *p) { return _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)p)); }

/* Interleaves even (bytes of 8 words) and odd samples into 16 output bytes. */
static inline void store_pairs(uint8_t *out, __m128i even, __m128i odd) {
  _mm_storeu_si128((__m128i *)out, _mm_or_si128(even, _mm_slli_epi16(odd, 8)));
}

/* h2v1_fancy in jpeg_color.c: interior samples 8 at a time, edges in C. */
void cd_jpeg_h2v1_fancy_avx2(const uint8_t *in, int cw, uint8_t *out) {
  int v = in[0];
  out[0] = (uint8_t)v;
  out[1] = (uint8_t)((v * 3 + in[1] + 2) >> 2);
  int i = 1;
  const __m128i one = _mm_set1_epi16(1), two = _mm_set1_epi16(2);
  for (; i + 9 <= cw; i += 8) {
    __m128i c = load8(in + i), c3 = _mm_add_epi16(c, _mm_add_epi16(c, c));
    __m128i even = _mm_srli_epi16(_mm_add_epi16(_mm_add_epi16(c3, load8(in + i - 1)), one), 2);
    __m128i odd = _mm_srli_epi16(_mm_add_epi16(_mm_add_epi16(c3, load8(in + i + 1)), two), 2);
    store_pairs(out + 2 * i, even, odd);
  }
  for (; i < cw - 1; i++) {
    v = in[i] * 3;
    out[2 * i] = (uint8_t)((v + in[i - 1] + 1) >> 2);
    out[2 * i + 1] = (uint8_t)((v + in[i + 1] + 2) >> 2);
  }
  v = in[cw - 1];
  out[2 * cw - 2] = (uint8_t)((v * 3 + in[cw - 2] + 1) >> 2);
  out[2 * cw - 1] = (uint8_t)v;
}

/* h2v2_fancy in jpeg_color.c: column sums 3 * in0 + in1, then the horizontal triangle. */
void cd_jpeg_h2v2_fancy_avx2(const uint8_t *in0, const uint8_t *in1, int cw, uint8_t *out) {
  int this_sum = in0[0] * 3 + in1[0];
  int next_sum = in0[1] * 3 + in1[1];
  out[0] = (uint8_t)((this_sum * 4 + 8) >> 4);
  out[1] = (uint8_t)((this_sum * 3 + next_sum + 7) >> 4);
  int i = 1;
  const __m128i eight = _mm_set1_epi16(8), seven = _mm_set1_epi16(7);
#define COLSUM(k) _mm_add_epi16(_mm_mullo_epi16(load8(in0 + (k)), _mm_set1_epi16(3)), load8(in1 + (k)))
  for (; i + 9 <= cw; i += 8) {
    __m128i s = COLSUM(i), s3 = _mm_add_epi16(s, _mm_add_epi16(s, s));
    __m128i even = _mm_srli_epi16(_mm_add_epi16(_mm_add_epi16(s3, COLSUM(i - 1)), eight), 4);
    __m128i odd = _mm_srli_epi16(_mm_add_epi16(_mm_add_epi16(s3, COLSUM(i + 1)), seven), 4);
    store_pairs(out + 2 * i, even, odd);
  }
#undef COLSUM
  for (; i < cw - 1; i++) {
    int s = in0[i] * 3 + in1[i];
    out[2 * i] = (uint8_t)((s * 3 + in0[i - 1] * 3 + in1[i - 1] + 8) >> 4);
    out[2 * i + 1] = (uint8_t)((s * 3 + in0[i + 1] * 3 + in1[i + 1] + 7) >> 4);
  }
  this_sum = in0[cw - 1] * 3 + in1[cw - 1];
  int last_sum = in0[cw - 2] * 3 + in1[cw - 2];
  out[2 * cw - 2] = (uint8_t)((this_sum * 3 + last_sum + 8) >> 4);
  out[2 * cw - 1] = (uint8_t)((this_sum * 4 + 7) >> 4);
}

/* jdcolor.c's tables as formulas (SCALEBITS 16): cr_r = (91881 x + 2^15) >> 16,
 * cb_b = (116130 x + 2^15) >> 16, green = (-46802 xr - 22554 xb + 2^15) >> 16. */
static inline void ycc8(const uint8_t *y, const uint8_t *cb, const uint8_t *cr, __m128i *rg, __m128i *bb) {
  const __m256i half = _mm256_set1_epi32(1 << 15), c128 = _mm256_set1_epi32(128);
  __m256i yy = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)y));
  __m256i xb = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)cb)), c128);
  __m256i xr = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)cr)), c128);
  __m256i r = _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(xr, _mm256_set1_epi32(91881)), half), 16);
  __m256i b = _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(xb, _mm256_set1_epi32(116130)), half), 16);
  __m256i g = _mm256_add_epi32(_mm256_mullo_epi32(xr, _mm256_set1_epi32(-46802)),
                               _mm256_mullo_epi32(xb, _mm256_set1_epi32(-22554)));
  g = _mm256_srai_epi32(_mm256_add_epi32(g, half), 16);
  r = _mm256_add_epi32(yy, r);
  g = _mm256_add_epi32(yy, g);
  b = _mm256_add_epi32(yy, b);
  /* packs keeps within int16, packus clamps to 0..255 as clamp255 does. */
  __m256i rg16 = _mm256_packs_epi32(r, g); /* r0-3 g0-3 | r4-7 g4-7 */
  __m256i bb16 = _mm256_packs_epi32(b, b);
  __m128i rgw = _mm_packus_epi16(_mm256_castsi256_si128(rg16), _mm256_extracti128_si256(rg16, 1));
  __m128i bw = _mm_packus_epi16(_mm256_castsi256_si128(bb16), _mm256_extracti128_si256(bb16, 1));
  /* rgw bytes: r0-3 g0-3 r4-7 g4-7; bw bytes: b0-3 b0-3 b4-7 b4-7. */
  *rg = rgw;
  *bb = bw;
}

void cd_jpeg_ycc_rgb_avx2(const uint8_t *y, const uint8_t *cb, const uint8_t *cr, int width, uint8_t *out) {
  /* Byte positions of pixel k's r, g in rgw: r at (k < 4 ? k : k + 4), g 4 later;
   * of b in bw: (k < 4 ? k : k + 4). 24 output bytes from two shuffles each. */
  const __m128i s_rg0 = _mm_setr_epi8(0, 4, -1, 1, 5, -1, 2, 6, -1, 3, 7, -1, 8, 12, -1, 9);
  const __m128i s_b0 = _mm_setr_epi8(-1, -1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 8, -1);
  const __m128i s_rg1 = _mm_setr_epi8(13, -1, 10, 14, -1, 11, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m128i s_b1 = _mm_setr_epi8(-1, 9, -1, -1, 10, -1, -1, 11, -1, -1, -1, -1, -1, -1, -1, -1);
  int x = 0;
  for (; x + 8 <= width; x += 8) {
    __m128i rg, bb;
    ycc8(y + x, cb + x, cr + x, &rg, &bb);
    __m128i lo = _mm_or_si128(_mm_shuffle_epi8(rg, s_rg0), _mm_shuffle_epi8(bb, s_b0));
    __m128i hi = _mm_or_si128(_mm_shuffle_epi8(rg, s_rg1), _mm_shuffle_epi8(bb, s_b1));
    uint8_t *o = out + 3 * (size_t)x;
    _mm_storeu_si128((__m128i *)o, lo);
    _mm_storel_epi64((__m128i *)(o + 16), hi);
  }
  if (x < width) { /* the last few pixels through a padded copy */
    uint8_t ty[8] = {0}, tb[8] = {0}, tr[8] = {0}, to[24];
    int n = width - x;
    memcpy(ty, y + x, (size_t)n);
    memcpy(tb, cb + x, (size_t)n);
    memcpy(tr, cr + x, (size_t)n);
    __m128i rg, bb;
    ycc8(ty, tb, tr, &rg, &bb);
    _mm_storeu_si128((__m128i *)to, _mm_or_si128(_mm_shuffle_epi8(rg, s_rg0), _mm_shuffle_epi8(bb, s_b0)));
    _mm_storel_epi64((__m128i *)(to + 16), _mm_or_si128(_mm_shuffle_epi8(rg, s_rg1), _mm_shuffle_epi8(bb, s_b1)));
    memcpy(out + 3 * (size_t)x, to, 3 * (size_t)n);
  }
}
