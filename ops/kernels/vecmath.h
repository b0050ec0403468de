/* Branch-free expf and normal CDF for the ops' inner loops: plain C that the compiler
 * vectorises under `#pragma omp simd` for whatever ISA the including file is compiled for
 * (libm's calls stay scalar). expf, Cephes-style: round
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
  xc = xc == xc ? xc : 0.0f; /* NaN (a diverged training): no float -> int of NaN below; NaN is returned */
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
  return x < lo ? 0.0f : (x == x ? p * scale : x);
}

/* The standard normal CDF Φ(x) = (1 + erf(x/√2)) / 2 that GELU needs, from Abramowitz &
 * Stegun 7.1.26: 1 - erf(z) = t·P(t)·e^{-z²}, t = 1/(1 + 0.3275911 z), z = |x|/√2 (absolute
 * error <= 1.5e-7). Φ for x < 0 is the small term itself, so there is no cancellation in
 * 1 + erf for negative x (gelu(x) = x·Φ(x) keeps its relative accuracy where it is tiny). */
#pragma omp declare simd notinbranch
CD_VEC_FN static inline float cd_normcdf_fast(float x) {
  float z = (x < 0.0f ? -x : x) * 0.70710678118654752f, t = 1.0f / (1.0f + 0.3275911f * z);
  float p = 1.061405429f;
  p = p * t + -1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t + -0.284496736f;
  p = p * t + 0.254829592f;
  float e = 0.5f * p * t * cd_expf_fast(-z * z); /* (1 - erf(z)) / 2 */
  return x < 0.0f ? e : 1.0f - e;
}

#endif
