/* AVX2 version of cd_jpeg_idct_islow (data/jpeg_idct.c), identical output for every input.
 * Pass 1 works on the 8 columns at once: 16-bit dequantisation and sums (vpmullw, vpaddw),
 * pair products in 32-bit lanes (vpmaddwd), descale and int16 saturation (vpackssdw), as
 * the scalar emulation of libjpeg-turbo's jidctint-avx2 spells out lane by lane. The block
 * is transposed, pass 2 runs on the 8 rows at once, then the result is transposed back and
 * saturated to bytes. */
#include <immintrin.h>

#include "data/image/jpeg_internal.h"

#define INLINE static inline __attribute__((always_inline))

/* The multiplier pair (fa for a, fb for b) of a vpmaddwd on interleaved (a, b). */
#define PAIR(fa, fb) _mm256_set1_epi32((int)(((uint32_t)(uint16_t)(int16_t)(fb) << 16) | (uint16_t)(int16_t)(fa)))

/* a[c] * fa + b[c] * fb for the 8 lanes c, in 32-bit lanes. */
INLINE __m256i mad(__m128i a, __m128i b, __m256i f) {
  __m256i ab = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(a, b)),
                                       _mm_unpackhi_epi16(a, b), 1);
  return _mm256_madd_epi16(ab, f);
}

INLINE __m128i descale_sat(__m256i x, int n) {
  x = _mm256_srai_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(1 << (n - 1))), n);
  return _mm_packs_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
}

/* One 8-point pass on in[0..7] (each 8 independent lanes), the scalar dodct per lane. */
INLINE void dodct8(const __m128i *in, int n, __m128i *out) {
  __m256i tmp3 = mad(in[2], in[6], PAIR(F_0_541 + F_0_765, F_0_541));
  __m256i tmp2 = mad(in[2], in[6], PAIR(F_0_541, F_0_541 - F_1_847));
  __m256i tmp0 = _mm256_slli_epi32(_mm256_cvtepi16_epi32(_mm_add_epi16(in[0], in[4])), CONST_BITS);
  __m256i tmp1 = _mm256_slli_epi32(_mm256_cvtepi16_epi32(_mm_sub_epi16(in[0], in[4])), CONST_BITS);
  __m256i tmp10 = _mm256_add_epi32(tmp0, tmp3), tmp13 = _mm256_sub_epi32(tmp0, tmp3);
  __m256i tmp11 = _mm256_add_epi32(tmp1, tmp2), tmp12 = _mm256_sub_epi32(tmp1, tmp2);
  __m128i z3 = _mm_add_epi16(in[7], in[3]), z4 = _mm_add_epi16(in[5], in[1]);
  __m256i z3p = mad(z3, z4, PAIR(F_1_175 - F_1_961, F_1_175));
  __m256i z4p = mad(z3, z4, PAIR(F_1_175, F_1_175 - F_0_390));
  __m256i o0 = _mm256_add_epi32(mad(in[7], in[1], PAIR(F_0_298 - F_0_899, -F_0_899)), z3p);
  __m256i o1 = _mm256_add_epi32(mad(in[5], in[3], PAIR(F_2_053 - F_2_562, -F_2_562)), z4p);
  __m256i o3 = _mm256_add_epi32(mad(in[7], in[1], PAIR(-F_0_899, F_1_501 - F_0_899)), z4p);
  __m256i o2 = _mm256_add_epi32(mad(in[5], in[3], PAIR(-F_2_562, F_3_072 - F_2_562)), z3p);
  out[0] = descale_sat(_mm256_add_epi32(tmp10, o3), n);
  out[7] = descale_sat(_mm256_sub_epi32(tmp10, o3), n);
  out[1] = descale_sat(_mm256_add_epi32(tmp11, o2), n);
  out[6] = descale_sat(_mm256_sub_epi32(tmp11, o2), n);
  out[2] = descale_sat(_mm256_add_epi32(tmp12, o1), n);
  out[5] = descale_sat(_mm256_sub_epi32(tmp12, o1), n);
  out[3] = descale_sat(_mm256_add_epi32(tmp13, o0), n);
  out[4] = descale_sat(_mm256_sub_epi32(tmp13, o0), n);
}

INLINE void transpose8x8(const __m128i *a, __m128i *t) {
  __m128i b0 = _mm_unpacklo_epi16(a[0], a[1]), b1 = _mm_unpackhi_epi16(a[0], a[1]);
  __m128i b2 = _mm_unpacklo_epi16(a[2], a[3]), b3 = _mm_unpackhi_epi16(a[2], a[3]);
  __m128i b4 = _mm_unpacklo_epi16(a[4], a[5]), b5 = _mm_unpackhi_epi16(a[4], a[5]);
  __m128i b6 = _mm_unpacklo_epi16(a[6], a[7]), b7 = _mm_unpackhi_epi16(a[6], a[7]);
  __m128i c0 = _mm_unpacklo_epi32(b0, b2), c1 = _mm_unpackhi_epi32(b0, b2);
  __m128i c2 = _mm_unpacklo_epi32(b1, b3), c3 = _mm_unpackhi_epi32(b1, b3);
  __m128i c4 = _mm_unpacklo_epi32(b4, b6), c5 = _mm_unpackhi_epi32(b4, b6);
  __m128i c6 = _mm_unpacklo_epi32(b5, b7), c7 = _mm_unpackhi_epi32(b5, b7);
  t[0] = _mm_unpacklo_epi64(c0, c4);
  t[1] = _mm_unpackhi_epi64(c0, c4);
  t[2] = _mm_unpacklo_epi64(c1, c5);
  t[3] = _mm_unpackhi_epi64(c1, c5);
  t[4] = _mm_unpacklo_epi64(c2, c6);
  t[5] = _mm_unpackhi_epi64(c2, c6);
  t[6] = _mm_unpacklo_epi64(c3, c7);
  t[7] = _mm_unpackhi_epi64(c3, c7);
}

void cd_jpeg_idct_islow_avx2(const int16_t *coef, const int16_t *quant, uint8_t *out, int stride) {
  __m128i row[8], ws[8], col[8], o[8];
  __m128i ac = _mm_setzero_si128();
  for (int r = 0; r < 8; r++) {
    __m128i c = _mm_loadu_si128((const __m128i *)(coef + 8 * r));
    if (r) ac = _mm_or_si128(ac, c);
    row[r] = _mm_mullo_epi16(c, _mm_loadu_si128((const __m128i *)(quant + 8 * r)));
  }
  if (_mm_testz_si128(ac, ac)) {
    /* Only row 0 of coefficients: pass 1 is a 16-bit shift (vpsllw). */
    __m128i v = _mm_slli_epi16(row[0], PASS1_BITS);
    for (int r = 0; r < 8; r++) ws[r] = v;
  } else {
    dodct8(row, CONST_BITS - PASS1_BITS, ws);
  }
  /* ws[r] lane c is the scalar ws[c * 8 + r]; pass 2 wants, per column c, all rows r. */
  transpose8x8(ws, col);
  dodct8(col, CONST_BITS + PASS1_BITS + 3, o);
  /* o[c] lane r is output sample (r, c). */
  transpose8x8(o, row);
  const __m128i bias = _mm_set1_epi8((char)0x80);
  for (int r = 0; r < 8; r += 2) {
    __m128i b = _mm_xor_si128(_mm_packs_epi16(row[r], row[r + 1]), bias);
    _mm_storel_epi64((__m128i *)(out + (size_t)r * stride), b);
    _mm_storel_epi64((__m128i *)(out + (size_t)(r + 1) * stride), _mm_unpackhi_epi64(b, b));
  }
}
