/* Branch-free expf for the ops' inner loops: plain C that the compiler vectorises under
 * `#pragma omp simd` (libm's expf is a call per element and stays scalar). Cephes-style: round
 * x/ln2 to n with the 1.5*2^23 trick, reduce with a two-part ln2, degree-6 polynomial, scale
 * by 2^n through the exponent bits. Max error ~2 ulp over the normal range; results below
 * e^-87.3 (where 2^n would be subnormal) are flushed to 0, above e^88.37 clamped. */
#ifndef CD_OPS_VECMATH_H
#define CD_OPS_VECMATH_H

#include <stdint.h>
#include <string.h>

/* GCC will not if-convert the clamps while it assumes FP comparisons may trap, which blocks
 * vectorisation; the loops calling cd_expf_fast are marked with this too. No result changes:
 * it only drops the assumption that FP exceptions are observed. (Clang's default already.) */
#if defined(__GNUC__) && !defined(__clang__)
#define CD_VEC_FN __attribute__((optimize("no-trapping-math")))
#else
#define CD_VEC_FN
#endif

#pragma omp declare simd notinbranch
CD_VEC_FN static inline float cd_expf_fast(float x) {
  const float hi = 88.37f, lo = -87.3f; /* 2^n stays a normal float */
  float xc = x > hi ? hi : (x < lo ? lo : x);
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return x < lo ? 0.0f : p * scale;
}

#endif
