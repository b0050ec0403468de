/* PNG encoder: signature, IHDR, one IDAT per 1 MiB of zlib data, IEND, each chunk with its
 * CRC-32. 8-bit samples, no interlacing. Rows are filtered (RFC 2083 6) with whichever of
 * the five filters gives the smallest sum of |residual| as signed bytes, the heuristic
 * libpng uses, then the whole filtered image is zlib-compressed. */
#include <stdlib.h>
#include <string.h>

#include "core/deflate.h"
#include "core/inflate.h"
#include "data/image/image_write.h"

#define IDAT_MAX (1u << 20)

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static int paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Filters row `cur` (previous row `up`, NULL for the first) with filter type f into out. */
static void filter_row(int f, const uint8_t *cur, const uint8_t *up, size_t n, int bpp, uint8_t *out) {
  for (size_t i = 0; i < n; i++) {
    int a = i >= (size_t)bpp ? cur[i - (size_t)bpp] : 0;
    int b = up ? up[i] : 0;
    int c = up && i >= (size_t)bpp ? up[i - (size_t)bpp] : 0;
    int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, c);
    out[i] = (uint8_t)(cur[i] - pred);
  }
}

static uint64_t residual_cost(const uint8_t *r, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; i++) s += (uint64_t)abs((int)(int8_t)r[i]);
  return s;
}

/* The filtered image: each row is its filter byte followed by the residuals. */
static void filter_image(const uint8_t *px, int w, int h, int ch, uint8_t *out, uint8_t *trial) {
  size_t stride = (size_t)w * (size_t)ch;
  for (int y = 0; y < h; y++) {
    const uint8_t *cur = px + (size_t)y * stride, *up = y ? cur - stride : NULL;
    uint8_t *dst = out + (size_t)y * (stride + 1);
    uint64_t best = UINT64_MAX;
    for (int f = 0; f < 5; f++) {
      filter_row(f, cur, up, stride, ch, trial);
      uint64_t cost = residual_cost(trial, stride);
      if (cost < best) {
        best = cost;
        dst[0] = (uint8_t)f;
        memcpy(dst + 1, trial, stride);
      }
    }
  }
}

/* Appends one chunk (length, type, data, CRC over type + data) at *at. */
static void put_chunk(uint8_t *buf, size_t *at, const char *type, const uint8_t *data, uint32_t n) {
  uint8_t *p = buf + *at;
  put_be32(p, n);
  memcpy(p + 4, type, 4);
  if (n) memcpy(p + 8, data, n);
  put_be32(p + 8 + n, cd_crc32(0, p + 4, (size_t)n + 4));
  *at += (size_t)n + 12;
}

int cd_png_encode(const uint8_t *pixels, int width, int height, int channels, int level,
                  uint8_t **out, size_t *out_n, cd_error *e) {
  *out = NULL;
  *out_n = 0;
  if (width < 1 || height < 1 || channels < 1 || channels > 4)
    return cd_fail(e, "PNG encoder: bad image %dx%d with %d channels", width, height, channels);
  size_t stride = (size_t)width * (size_t)channels, fsize;
  if (!cd_mul_ok(stride + 1, (size_t)height, &fsize)) return cd_fail(e, "PNG encoder: image too large");
  uint8_t *filtered = cd_malloc(fsize, e), *trial = cd_malloc(stride, e);
  uint8_t *z = NULL;
  size_t zn = 0;
  int rc = -1;
  if (!filtered || !trial) goto done;
  filter_image(pixels, width, height, channels, filtered, trial);
  if (cd_zlib_compress(filtered, fsize, level, &z, &zn, "PNG encoder", e)) goto done;
  size_t n_idat = zn / IDAT_MAX + 1, total = 8 + 25 + zn + 12 * n_idat + 12;
  uint8_t *png = cd_malloc(total, e);
  if (!png) goto done;
  static const uint8_t SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  static const uint8_t COLOR_TYPE[5] = {0, 0, 4, 2, 6}; /* by channel count */
  memcpy(png, SIG, 8);
  uint8_t ihdr[13] = {0};
  put_be32(ihdr, (uint32_t)width);
  put_be32(ihdr + 4, (uint32_t)height);
  ihdr[8] = 8;
  ihdr[9] = COLOR_TYPE[channels];
  size_t at = 8;
  put_chunk(png, &at, "IHDR", ihdr, 13);
  for (size_t off = 0; off < zn || off == 0; off += IDAT_MAX) {
    size_t k = zn - off < IDAT_MAX ? zn - off : IDAT_MAX;
    put_chunk(png, &at, "IDAT", z + off, (uint32_t)k);
    if (k < IDAT_MAX) break;
  }
  put_chunk(png, &at, "IEND", NULL, 0);
  *out = png;
  *out_n = at;
  rc = 0;
done:
  free(filtered);
  free(trial);
  free(z);
  return rc;
}
