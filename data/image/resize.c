/* Pillow-exact resampling (see resize.h). The arithmetic below follows Pillow's order of
 * operations on purpose: the coefficients are normalised in double before being rounded to
 * fixed point, and a different order shifts some outputs by one level. */
#include "data/image/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "data/image/resize_internal.h"

#define PRECISION_BITS CD_RESIZE_PRECISION_BITS

static double bicubic(double x) {
  const double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

typedef struct {
  int ksize;
  int *bounds; /* per output pixel: first input index, count */
  double *k;   /* per output pixel: ksize normalised weights */
} coeffs;

static void coeffs_free(coeffs *c) {
  free(c->bounds);
  free(c->k);
}

/* Pillow's precompute_coeffs for the box [0, in_size). */
static int coeffs_make(int in_size, int out_size, coeffs *c, cd_error *e) {
  float in0 = 0.0f, in1 = (float)in_size; /* Pillow passes the box as floats */
  double scale = (double)(in1 - in0) / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
  double support = 2.0 * filterscale;
  c->ksize = (int)ceil(support) * 2 + 1;
  c->bounds = cd_malloc((size_t)out_size * 2 * sizeof(int), e);
  c->k = cd_malloc((size_t)out_size * c->ksize * sizeof(double), e);
  if (!c->bounds || !c->k) {
    coeffs_free(c);
    return -1;
  }
  for (int xx = 0; xx < out_size; xx++) {
    double center = in0 + (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
    int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
    if (xmin < 0) xmin = 0;
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double *k = c->k + (size_t)xx * c->ksize;
    int x;
    for (x = 0; x < xmax; x++) {
      double w = bicubic((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (x = 0; x < xmax; x++)
      if (ww != 0.0) k[x] /= ww;
    for (; x < c->ksize; x++) k[x] = 0;
    c->bounds[xx * 2] = xmin;
    c->bounds[xx * 2 + 1] = xmax;
  }
  return 0;
}

/* normalize_coeffs_8bpc: round half away from zero to 22-bit fixed point. */
static int32_t *coeffs_fixed(const coeffs *c, int out_size, cd_error *e) {
  size_t n = (size_t)out_size * c->ksize;
  int32_t *kk = cd_malloc(n * sizeof(int32_t), e);
  if (!kk) return NULL;
  for (size_t i = 0; i < n; i++) {
    double v = c->k[i] * (1 << PRECISION_BITS);
    kk[i] = c->k[i] < 0 ? (int32_t)(-0.5 + v) : (int32_t)(0.5 + v);
  }
  return kk;
}

static uint8_t clip8(int32_t v) {
  if (v < 0) return 0;
  v >>= PRECISION_BITS;
  return (uint8_t)(v > 255 ? 255 : v);
}

/* Horizontal 8-bit pass over rows [y0, y0 + rows) of src (width w) into dst (width ow).
 * Inlined with a constant channel count so each case gets its own unrolled loop. */
static inline __attribute__((always_inline)) void horiz_u8_c(
    const uint8_t *src, int w, const int c, int y0, int rows, uint8_t *dst, int ow,
    const coeffs *cf, const int32_t *kk) {
  for (int yy = 0; yy < rows; yy++) {
    const uint8_t *in = src + ((size_t)(yy + y0) * w) * c;
    uint8_t *out = dst + (size_t)yy * ow * c;
    for (int xx = 0; xx < ow; xx++) {
      int xmin = cf->bounds[xx * 2], xmax = cf->bounds[xx * 2 + 1];
      const int32_t *k = kk + (size_t)xx * cf->ksize;
      const uint8_t *p = in + (size_t)xmin * c;
      int32_t ss[4];
      for (int ch = 0; ch < c; ch++) ss[ch] = 1 << (PRECISION_BITS - 1);
      for (int x = 0; x < xmax; x++)
        for (int ch = 0; ch < c; ch++) ss[ch] += p[x * c + ch] * k[x];
      for (int ch = 0; ch < c; ch++) out[xx * c + ch] = clip8(ss[ch]);
    }
  }
}

static void horiz_u8(const uint8_t *src, int w, int c, int y0, int rows, uint8_t *dst, int ow,
                     const coeffs *cf, const int32_t *kk) {
  switch (c) {
    case 1: horiz_u8_c(src, w, 1, y0, rows, dst, ow, cf, kk); break;
    case 2: horiz_u8_c(src, w, 2, y0, rows, dst, ow, cf, kk); break;
    case 3: horiz_u8_c(src, w, 3, y0, rows, dst, ow, cf, kk); break;
    default: horiz_u8_c(src, w, 4, y0, rows, dst, ow, cf, kk); break;
  }
}

/* Vertical 8-bit pass: src rows are already shifted so bounds index them directly. */
static void vert_u8(const uint8_t *src, int w, int c, uint8_t *dst, int oh, const coeffs *cf,
                    const int32_t *kk) {
  size_t stride = (size_t)w * c;
  int32_t *acc = malloc(stride * sizeof(int32_t));
  for (int yy = 0; yy < oh; yy++) {
    int ymin = cf->bounds[yy * 2], ymax = cf->bounds[yy * 2 + 1];
    const int32_t *k = kk + (size_t)yy * cf->ksize;
    uint8_t *out = dst + (size_t)yy * stride;
    if (acc) {
      /* Same sums as Pillow (integer adds commute exactly), accumulated row by row so the
       * inner loop streams through memory. */
      for (size_t i = 0; i < stride; i++) acc[i] = 1 << (PRECISION_BITS - 1);
      for (int y = 0; y < ymax; y++) {
        const uint8_t *in = src + (size_t)(y + ymin) * stride;
        int32_t ky = k[y];
        for (size_t i = 0; i < stride; i++) acc[i] += in[i] * ky;
      }
      for (size_t i = 0; i < stride; i++) out[i] = clip8(acc[i]);
    } else {
      for (size_t i = 0; i < stride; i++) {
        int32_t ss = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < ymax; y++) ss += src[(size_t)(y + ymin) * stride + i] * k[y];
        out[i] = clip8(ss);
      }
    }
  }
  free(acc);
}

/* The ImagingResampleInner driver, shared by the 8-bit and 32-bit kernels. */
typedef struct {
  coeffs ch, cv;
  int need_h, need_v, ybox_first, ybox_last;
} plan;

static int plan_make(int w, int h, int ow, int oh, plan *p, cd_error *e) {
  memset(p, 0, sizeof *p);
  if (w < 1 || h < 1 || ow < 1 || oh < 1)
    return cd_fail(e, "resize: sizes must be positive (%dx%d -> %dx%d)", w, h, ow, oh);
  p->need_h = ow != w;
  p->need_v = oh != h;
  if (coeffs_make(h, oh, &p->cv, e)) return -1;
  p->ybox_first = p->cv.bounds[0];
  p->ybox_last = p->cv.bounds[oh * 2 - 2] + p->cv.bounds[oh * 2 - 1];
  if (p->need_h) {
    if (coeffs_make(w, ow, &p->ch, e)) {
      coeffs_free(&p->cv);
      return -1;
    }
    for (int i = 0; i < oh; i++) p->cv.bounds[i * 2] -= p->ybox_first;
  }
  return 0;
}

static void plan_free(plan *p) {
  coeffs_free(&p->ch);
  coeffs_free(&p->cv);
}

int cd_resize_bicubic_u8(const uint8_t *src, int w, int h, int c, uint8_t *dst, int ow, int oh,
                         cd_error *e) {
  plan p;
  if (plan_make(w, h, ow, oh, &p, e)) return -1;
  int rc = -1;
  uint8_t *tmp = NULL;
  int32_t *kh = NULL, *kv = NULL;
  const uint8_t *cur = src;
#if defined(__x86_64__) || defined(_M_X64)
  int avx2 = cd_cpu_level_has(CD_ISA_AVX2);
#endif
  if (p.need_h) {
    int rows = p.ybox_last - p.ybox_first;
    kh = coeffs_fixed(&p.ch, ow, e);
    uint8_t *hout = p.need_v ? (tmp = cd_malloc((size_t)ow * rows * c, e)) : dst;
    if (!kh || !hout) goto done;
    int done_h = 0; /* the AVX2 pass falls back to C if its scratch allocation fails */
#if defined(__x86_64__) || defined(_M_X64)
    if (avx2 && c >= 3)
      done_h = cd_resize_horiz_u8_avx2(src, (size_t)w * h * c, w, c, p.ybox_first, rows, hout, ow,
                                       p.ch.bounds, p.ch.ksize, kh) == 0;
#endif
    if (!done_h) horiz_u8(src, w, c, p.ybox_first, rows, hout, ow, &p.ch, kh);
    cur = hout;
  }
  if (p.need_v) {
    kv = coeffs_fixed(&p.cv, oh, e);
    if (!kv) goto done;
#if defined(__x86_64__) || defined(_M_X64)
    if (avx2)
      cd_resize_vert_u8_avx2(cur, (size_t)ow * c, dst, oh, p.cv.bounds, p.cv.ksize, kv);
    else
#endif
      vert_u8(cur, ow, c, dst, oh, &p.cv, kv);
  } else if (!p.need_h) {
    memcpy(dst, src, (size_t)w * h * c);
  }
  rc = 0;
done:
  free(tmp);
  free(kh);
  free(kv);
  plan_free(&p);
  return rc;
}

/* ROUND_UP in Pillow: half away from zero. */
static int32_t round_up(double f) { return (int32_t)(f >= 0.0 ? f + 0.5F : f - 0.5F); }

int cd_resize_bicubic_i32(const int32_t *src, int w, int h, int32_t *dst, int ow, int oh,
                          cd_error *e) {
  plan p;
  if (plan_make(w, h, ow, oh, &p, e)) return -1;
  int rc = -1;
  int32_t *tmp = NULL;
  const int32_t *cur = src;
  if (p.need_h) {
    int rows = p.ybox_last - p.ybox_first;
    int32_t *hout = p.need_v ? (tmp = cd_malloc((size_t)ow * rows * sizeof(int32_t), e)) : dst;
    if (!hout) goto done;
    for (int yy = 0; yy < rows; yy++) {
      const int32_t *in = src + (size_t)(yy + p.ybox_first) * w;
      for (int xx = 0; xx < ow; xx++) {
        int xmin = p.ch.bounds[xx * 2], xmax = p.ch.bounds[xx * 2 + 1];
        const double *k = p.ch.k + (size_t)xx * p.ch.ksize;
        double ss = 0.0;
        for (int x = 0; x < xmax; x++) ss += in[x + xmin] * k[x];
        hout[(size_t)yy * ow + xx] = round_up(ss);
      }
    }
    cur = hout;
  }
  if (p.need_v) {
    for (int yy = 0; yy < oh; yy++) {
      int ymin = p.cv.bounds[yy * 2], ymax = p.cv.bounds[yy * 2 + 1];
      const double *k = p.cv.k + (size_t)yy * p.cv.ksize;
      for (int xx = 0; xx < ow; xx++) {
        double ss = 0.0;
        for (int y = 0; y < ymax; y++) ss += cur[(size_t)(y + ymin) * ow + xx] * k[y];
        dst[(size_t)yy * ow + xx] = round_up(ss);
      }
    }
  } else if (!p.need_h) {
    memcpy(dst, src, (size_t)w * h * sizeof(int32_t));
  }
  rc = 0;
done:
  free(tmp);
  plan_free(&p);
  return rc;
}

/* ImagingScaleAffine as reached from Image.resize(NEAREST): source positions accumulate
 * in double from half a step, truncated. */
int cd_resize_nearest_u8(const uint8_t *src, int w, int h, int c, uint8_t *dst, int ow, int oh,
                         cd_error *e) {
  if (w < 1 || h < 1 || ow < 1 || oh < 1)
    return cd_fail(e, "resize: sizes must be positive (%dx%d -> %dx%d)", w, h, ow, oh);
  int *xin = cd_malloc((size_t)ow * sizeof(int), e);
  if (!xin) return -1;
  double ax = (double)(float)w / ow, ay = (double)(float)h / oh;
  double xo = ax * 0.5, yo = ay * 0.5;
  for (int x = 0; x < ow; x++, xo += ax) xin[x] = xo < 0.0 ? -1 : (int)xo;
  for (int y = 0; y < oh; y++, yo += ay) {
    int yi = yo < 0.0 ? -1 : (int)yo;
    uint8_t *out = dst + (size_t)y * ow * c;
    memset(out, 0, (size_t)ow * c);
    if (yi < 0 || yi >= h) continue;
    const uint8_t *in = src + (size_t)yi * w * c;
    for (int x = 0; x < ow; x++)
      if (xin[x] >= 0 && xin[x] < w) memcpy(out + (size_t)x * c, in + (size_t)xin[x] * c, c);
  }
  free(xin);
  return 0;
}

/* Pillow's MULDIV255: a * b / 255 rounded, without a division. */
static uint8_t muldiv255(unsigned a, unsigned b) {
  unsigned t = a * b + 128;
  return (uint8_t)(((t >> 8) + t) >> 8);
}

/* Premultiplies colour by alpha in place (Pillow's RGBA -> RGBa, LA -> La). */
static void premultiply(uint8_t *px, size_t n, int c) {
  for (size_t i = 0; i < n; i++, px += c)
    for (int ch = 0; ch < c - 1; ch++) px[ch] = muldiv255(px[ch], px[c - 1]);
}

/* Pillow's RGBa -> RGBA and La -> LA: integer division, clamped. */
static void unpremultiply(uint8_t *px, size_t n, int c) {
  for (size_t i = 0; i < n; i++, px += c) {
    unsigned a = px[c - 1];
    if (a == 0 || a == 255) continue;
    for (int ch = 0; ch < c - 1; ch++) {
      unsigned v = 255u * px[ch] / a;
      px[ch] = (uint8_t)(v > 255 ? 255 : v);
    }
  }
}

static int resize_u8_image(const cd_image *src, int ow, int oh, cd_image *dst, cd_error *e) {
  size_t n = (size_t)src->width * src->height;
  int c = src->channels;
  dst->pixels = cd_malloc((size_t)ow * oh * c, e);
  if (!dst->pixels) return -1;
  if (src->mode == CD_MODE_P || src->mode == CD_MODE_1)
    return cd_resize_nearest_u8(src->pixels, src->width, src->height, c, dst->pixels, ow, oh, e);
  if (src->mode != CD_MODE_RGBA && src->mode != CD_MODE_LA)
    return cd_resize_bicubic_u8(src->pixels, src->width, src->height, c, dst->pixels, ow, oh, e);
  uint8_t *pre = cd_malloc(n * c, e);
  if (!pre) return -1;
  memcpy(pre, src->pixels, n * c);
  premultiply(pre, n, c);
  int rc = cd_resize_bicubic_u8(pre, src->width, src->height, c, dst->pixels, ow, oh, e);
  free(pre);
  if (rc == 0) unpremultiply(dst->pixels, (size_t)ow * oh, c);
  return rc;
}

static int resize_i16_image(const cd_image *src, int ow, int oh, cd_image *dst, cd_error *e) {
  size_t n = (size_t)src->width * src->height, m = (size_t)ow * oh;
  int32_t *in = cd_malloc(n * sizeof(int32_t), e), *out = in ? cd_malloc(m * sizeof(int32_t), e) : NULL;
  dst->pixels16 = out ? cd_malloc(m * sizeof(uint16_t), e) : NULL;
  int rc = -1;
  if (dst->pixels16) {
    for (size_t i = 0; i < n; i++) in[i] = src->pixels16[i];
    rc = cd_resize_bicubic_i32(in, src->width, src->height, out, ow, oh, e);
    for (size_t i = 0; rc == 0 && i < m; i++)
      dst->pixels16[i] = (uint16_t)(out[i] < 0 ? 0 : out[i] > 65535 ? 65535 : out[i]);
  }
  free(in);
  free(out);
  return rc;
}

int cd_image_resize(const cd_image *src, int ow, int oh, cd_image *dst, cd_error *e) {
  memset(dst, 0, sizeof *dst);
  if (ow < 1 || oh < 1 || ow > CD_IMAGE_MAX_DIM || oh > CD_IMAGE_MAX_DIM)
    return cd_fail(e, "resize: target size %dx%d is out of range", ow, oh);
  *dst = *src;
  dst->pixels = NULL;
  dst->pixels16 = NULL;
  dst->width = ow;
  dst->height = oh;
  int rc;
  if (src->mode == CD_MODE_I16)
    rc = resize_i16_image(src, ow, oh, dst, e);
  else if (src->mode == CD_MODE_RGB16)
    rc = cd_fail(e, "resize: 16-bit RGB images must be reduced to 8 bits first");
  else
    rc = resize_u8_image(src, ow, oh, dst, e);
  if (rc != 0) cd_image_free(dst);
  return rc;
}

void cd_clip_resize_size(int w, int h, int S, int *ow, int *oh) {
  int sshort = w <= h ? w : h, slong = w <= h ? h : w;
  int nlong = (int)((double)((long long)S * slong) / (double)sshort);
  *ow = w <= h ? S : nlong;
  *oh = w <= h ? nlong : S;
}
