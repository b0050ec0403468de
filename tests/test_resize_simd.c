/* The SIMD resample passes against the plain C ones (which test_resize checks against
 * Pillow): random 8-bit images of 1..4 channels, up- and downscaled to many sizes, must give
 * the same bytes with CLIPDEBIAS_ISA=ref and with the best ISA of this machine. Each source
 * image sits in a buffer of exactly its size, so a sanitizer build also catches reads past
 * the end (the AVX2 pass loads 4 bytes per pixel). */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "data/image/resize.h"
#include "tests/testutil.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

int main(void) {
  int cases = 0, bad = 0;
  size_t samples = 0;
  cd_error e;
  const char *best = cd_isa_name(cd_cpu_best_isa());
  for (int it = 0; it < 300; it++) {
    int c = 1 + it % 4;
    int w = 1 + (int)(rnd() % 120), h = 1 + (int)(rnd() % 90);
    int ow = 1 + (int)(rnd() % 100), oh = 1 + (int)(rnd() % 100);
    if (it % 5 == 0) { /* CLIP-like: shrink the short side to a fixed size */
      w = 150 + (int)(rnd() % 200);
      h = 100 + (int)(rnd() % 150);
      cd_clip_resize_size(w, h, 64, &ow, &oh);
    }
    size_t n = (size_t)w * h * c, m = (size_t)ow * oh * c;
    uint8_t *src = malloc(n), *want = malloc(m), *got = malloc(m);
    /* Smooth ramps plus noise and saturated spots, so clipping at 0 and 255 happens. */
    for (size_t i = 0; i < n; i++) {
      uint32_t r = rnd();
      src[i] = (r & 7) == 0 ? (uint8_t)((r >> 3 & 1) * 255) : (uint8_t)(i * 7 / (size_t)c + (r >> 8) % 40);
    }
    setenv("CLIPDEBIAS_ISA", "ref", 1);
    int rc1 = cd_resize_bicubic_u8(src, w, h, c, want, ow, oh, &e);
    unsetenv("CLIPDEBIAS_ISA");
    int rc2 = cd_resize_bicubic_u8(src, w, h, c, got, ow, oh, &e);
    CHECK(rc1 == 0 && rc2 == 0, "resize %dx%dx%d -> %dx%d failed: %s", w, h, c, ow, oh, e.msg);
    if (rc1 == 0 && rc2 == 0) {
      size_t diff = 0;
      for (size_t i = 0; i < m; i++) diff += want[i] != got[i];
      if (diff && bad++ < 5)
        CHECK(0, "%dx%d c=%d -> %dx%d: %zu of %zu samples differ (%s vs ref)", w, h, c, ow, oh,
              diff, m, best);
      samples += m;
      cases++;
    }
    free(src);
    free(want);
    free(got);
  }
  printf("resize %s vs ref: %d cases, %zu samples, %d cases differ (tolerance 0)\n", best, cases,
         samples, bad);
  CHECK(bad == 0, "SIMD resize must equal the C reference");
  return cd_test_finish("test_resize_simd");
}
