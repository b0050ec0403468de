/* Upsampling and colour conversion after the IDCT, reproducing libjpeg-turbo's default
 * output path (jdsample.c with do_fancy_upsampling, jdcolor.c). The decoded component
 * planes are complete, so libjpeg's "context rows" are simply the neighbouring plane rows,
 * clamped to the first and last real row as jdmainct.c's edge pointers do. */
#include "core/cpu.h"
#include "data/image/jpeg_internal.h"

#include <stdlib.h>
#include <string.h>

/* jdcolor.c build_ycc_rgb_table: SCALEBITS 16, ONE_HALF rounding. */
#define SCALEBITS 16
#define ONE_HALF ((int32_t)1 << (SCALEBITS - 1))
#define FIX(x) ((int32_t)((x) * (1L << SCALEBITS) + 0.5))

typedef struct {
  int cr_r[256], cb_b[256];
  int32_t cr_g[256], cb_g[256];
} ycc_tables;

static void build_ycc_tables(ycc_tables *t) {
  for (int i = 0; i < 256; i++) {
    int32_t x = i - 128;
    t->cr_r[i] = (int)((FIX(1.40200) * x + ONE_HALF) >> SCALEBITS);
    t->cb_b[i] = (int)((FIX(1.77200) * x + ONE_HALF) >> SCALEBITS);
    t->cr_g[i] = -FIX(0.71414) * x;
    t->cb_g[i] = -FIX(0.34414) * x + ONE_HALF;
  }
}

static inline uint8_t clamp255(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* Row y of plane clamped to the component's real rows. */
static inline const uint8_t *prow(const cd_jpeg_upcomp *c, int y) {
  if (y < 0) y = 0;
  if (y >= c->ch) y = c->ch - 1;
  return c->plane + (size_t)y * c->stride;
}

static void h2v1_fancy(const uint8_t *in, int cw, uint8_t *out) {
  int v = in[0];
  out[0] = (uint8_t)v;
  out[1] = (uint8_t)((v * 3 + in[1] + 2) >> 2);
  for (int i = 1; i < cw - 1; i++) {
    v = in[i] * 3;
    out[2 * i] = (uint8_t)((v + in[i - 1] + 1) >> 2);
    out[2 * i + 1] = (uint8_t)((v + in[i + 1] + 2) >> 2);
  }
  v = in[cw - 1];
  out[2 * cw - 2] = (uint8_t)((v * 3 + in[cw - 2] + 1) >> 2);
  out[2 * cw - 1] = (uint8_t)v;
}

/* in0 is the nearest input row, in1 the next nearest (above for even output rows). */
static void h2v2_fancy(const uint8_t *in0, const uint8_t *in1, int cw, uint8_t *out) {
  int this_sum = in0[0] * 3 + in1[0];
  int next_sum = in0[1] * 3 + in1[1];
  out[0] = (uint8_t)((this_sum * 4 + 8) >> 4);
  out[1] = (uint8_t)((this_sum * 3 + next_sum + 7) >> 4);
  int last_sum = this_sum;
  this_sum = next_sum;
  for (int i = 1; i < cw - 1; i++) {
    next_sum = in0[i + 1] * 3 + in1[i + 1];
    out[2 * i] = (uint8_t)((this_sum * 3 + last_sum + 8) >> 4);
    out[2 * i + 1] = (uint8_t)((this_sum * 3 + next_sum + 7) >> 4);
    last_sum = this_sum;
    this_sum = next_sum;
  }
  out[2 * cw - 2] = (uint8_t)((this_sum * 3 + last_sum + 8) >> 4);
  out[2 * cw - 1] = (uint8_t)((this_sum * 4 + 7) >> 4);
}

static void replicate(const uint8_t *in, int hexp, int width, uint8_t *out) {
  if (hexp == 1) {
    memcpy(out, in, (size_t)width);
    return;
  }
  for (int x = 0, i = 0; x < width; i++)
    for (int k = 0; k < hexp && x < width; k++) out[x++] = in[i];
}

/* Returns the upsampled row y of component c (either a plane row or scratch). */
static const uint8_t *upsample_row(const cd_jpeg_upcomp *c, int y, int width, uint8_t *scratch,
                                  int avx2) {
  switch (c->method) {
    case CD_UP_FULL:
      return prow(c, y);
    case CD_UP_H2V1_FANCY:
#if defined(__x86_64__) || defined(_M_X64)
      if (avx2) {
        cd_jpeg_h2v1_fancy_avx2(prow(c, y), c->cw, scratch);
        return scratch;
      }
#endif
      h2v1_fancy(prow(c, y), c->cw, scratch);
      return scratch;
    case CD_UP_H1V2_FANCY: {
      const uint8_t *in0 = prow(c, y >> 1);
      const uint8_t *in1 = prow(c, (y & 1) ? (y >> 1) + 1 : (y >> 1) - 1);
      int bias = (y & 1) ? 2 : 1;
      for (int x = 0; x < c->cw; x++) scratch[x] = (uint8_t)((in0[x] * 3 + in1[x] + bias) >> 2);
      return scratch;
    }
    case CD_UP_H2V2_FANCY: {
      const uint8_t *in0 = prow(c, y >> 1);
      const uint8_t *in1 = prow(c, (y & 1) ? (y >> 1) + 1 : (y >> 1) - 1);
#if defined(__x86_64__) || defined(_M_X64)
      if (avx2) {
        cd_jpeg_h2v2_fancy_avx2(in0, in1, c->cw, scratch);
        return scratch;
      }
#endif
      h2v2_fancy(in0, in1, c->cw, scratch);
      return scratch;
    }
    case CD_UP_H2V1_BOX:
    case CD_UP_H2V2_BOX:
    case CD_UP_INT:
      replicate(prow(c, y / c->vexp), c->hexp, width, scratch);
      return scratch;
  }
  return prow(c, y);
}

int cd_jpeg_upsample_convert(const cd_jpeg_upcomp *comps, int nc, cd_jpeg_colorxf xf,
                             int width, int height, uint8_t *out) {
  /* Fancy horizontal modes write 2*cw samples, which can exceed width by one. */
  size_t row_cap = (size_t)width + 16;
  uint8_t *scratch = malloc(row_cap * 4);
  ycc_tables *t = malloc(sizeof *t);
  if (!scratch || !t) {
    free(scratch);
    free(t);
    return -1;
  }
  build_ycc_tables(t);
  int avx2 = 0;
#if defined(__x86_64__) || defined(_M_X64)
  avx2 = cd_cpu_level_has(CD_ISA_AVX2);
#endif
  for (int y = 0; y < height; y++) {
    const uint8_t *r[4];
    for (int c = 0; c < nc; c++) r[c] = upsample_row(&comps[c], y, width, scratch + row_cap * c, avx2);
    uint8_t *o = out + (size_t)y * width * nc;
    switch (xf) {
      case CD_CC_GRAY:
        memcpy(o, r[0], (size_t)width);
        break;
      case CD_CC_RGB:
        for (int x = 0; x < width; x++) {
          o[3 * x] = r[0][x];
          o[3 * x + 1] = r[1][x];
          o[3 * x + 2] = r[2][x];
        }
        break;
      case CD_CC_YCC:
#if defined(__x86_64__) || defined(_M_X64)
        if (avx2) {
          cd_jpeg_ycc_rgb_avx2(r[0], r[1], r[2], width, o);
          break;
        }
#endif
        for (int x = 0; x < width; x++) {
          int yy = r[0][x], cb = r[1][x], cr = r[2][x];
          o[3 * x] = clamp255(yy + t->cr_r[cr]);
          o[3 * x + 1] = clamp255(yy + (int)((t->cb_g[cb] + t->cr_g[cr]) >> SCALEBITS));
          o[3 * x + 2] = clamp255(yy + t->cb_b[cb]);
        }
        break;
      case CD_CC_CMYK:
        for (int x = 0; x < width; x++)
          for (int c = 0; c < 4; c++) o[4 * x + c] = (uint8_t)(255 - r[c][x]);
        break;
      case CD_CC_YCCK:
        /* libjpeg yields C = 255 - R (etc.) and K unchanged; Pillow then inverts all four. */
        for (int x = 0; x < width; x++) {
          int yy = r[0][x], cb = r[1][x], cr = r[2][x];
          o[4 * x] = clamp255(yy + t->cr_r[cr]);
          o[4 * x + 1] = clamp255(yy + (int)((t->cb_g[cb] + t->cr_g[cr]) >> SCALEBITS));
          o[4 * x + 2] = clamp255(yy + t->cb_b[cb]);
          o[4 * x + 3] = (uint8_t)(255 - r[3][x]);
        }
        break;
    }
  }
  free(scratch);
  free(t);
  return 0;
}
