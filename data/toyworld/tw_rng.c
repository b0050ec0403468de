/* splitmix64: one 64-bit state, one multiply-xorshift mix per number. Plenty for drawing
 * pictures, and trivially seekable by seeding a fresh generator per image. */
#include "data/toyworld/tw_rng.h"


static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t cd_tw_hash(uint64_t a, uint64_t b) { return mix(mix(a + 0x9e3779b97f4a7c15ull) ^ (b * 0xd6e8feb86659fd93ull + 1)); }

void cd_tw_rng_init(cd_tw_rng *r, uint64_t seed, uint64_t stream) { r->state = cd_tw_hash(seed, stream); }

uint64_t cd_tw_next(cd_tw_rng *r) {
  r->state += 0x9e3779b97f4a7c15ull;
  return mix(r->state);
}

double cd_tw_uniform(cd_tw_rng *r) { return (double)(cd_tw_next(r) >> 11) * (1.0 / 9007199254740992.0); }

double cd_tw_range(cd_tw_rng *r, double lo, double hi) { return lo + (hi - lo) * cd_tw_uniform(r); }

int cd_tw_below(cd_tw_rng *r, int n) { return n > 0 ? (int)(cd_tw_uniform(r) * n) : 0; }

int cd_tw_chance(cd_tw_rng *r, double p) { return cd_tw_uniform(r) < p; }

/* Sum of four 16-bit uniforms, standardised: close enough to normal for sensor noise and
 * shape jitter, and an order of magnitude cheaper than Box-Muller's log and cos. */
double cd_tw_normal(cd_tw_rng *r) {
  uint64_t x = cd_tw_next(r);
  double s = (double)(x & 0xffff) + (double)(x >> 16 & 0xffff) + (double)(x >> 32 & 0xffff) + (double)(x >> 48);
  return (s / 65536.0 - 2.0) * 1.7320508075688772; /* variance of the sum is 4/12 */
}

void cd_tw_shuffle(cd_tw_rng *r, int *v, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = cd_tw_below(r, i + 1), t = v[i];
    v[i] = v[j];
    v[j] = t;
  }
}
