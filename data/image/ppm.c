/* Binary PGM (P5) and PPM (P6), read as Pillow's PpmImagePlugin reads them: maxval 255 is
 * raw; any other maxval is rescaled with round(v / maxval * out_max) (Python's round, i.e.
 * half to even); a P5 with maxval > 255 becomes 16-bit gray (Pillow mode "I"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/image/image.h"

typedef struct {
  const uint8_t *p;
  size_t n, pos;
} ppm_reader;

static int is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* One header token: skips whitespace and '#' comments (to end of line), then reads digits.
 * Consumes exactly one whitespace byte after the token, as the raster starts right after. */
static int read_token(ppm_reader *r, long *value, const char *name, const char *what,
                      cd_error *e) {
  for (;;) {
    if (r->pos >= r->n) return cd_fail(e, "%s: PPM header ends before the %s", what, name);
    uint8_t c = r->p[r->pos];
    if (is_space(c)) {
      r->pos++;
    } else if (c == '#') {
      while (r->pos < r->n && r->p[r->pos] != '\n' && r->p[r->pos] != '\r') r->pos++;
    } else {
      break;
    }
  }
  long v = 0;
  int digits = 0;
  while (r->pos < r->n && r->p[r->pos] >= '0' && r->p[r->pos] <= '9') {
    if (++digits > 10) return cd_fail(e, "%s: PPM %s has too many digits", what, name);
    v = v * 10 + (r->p[r->pos] - '0');
    r->pos++;
  }
  if (digits == 0) return cd_fail(e, "%s: PPM %s is not a number", what, name);
  if (r->pos < r->n) {
    if (!is_space(r->p[r->pos]))
      return cd_fail(e, "%s: PPM %s is followed by 0x%02X, not whitespace", what, name,
                     r->p[r->pos]);
    r->pos++;
  }
  *value = v;
  return 0;
}

/* Python's round(v / maxval * out_max), computed in double like the reference. */
static long rescale(long v, long maxval, long out_max) {
  double x = (double)v / (double)maxval * (double)out_max;
  long r = (long)nearbyint(x); /* default rounding mode: half to even, as Python */
  return r > out_max ? out_max : r;
}

int cd_ppm_decode(const uint8_t *data, size_t size, const char *what, cd_image *out,
                  cd_error *e) {
  memset(out, 0, sizeof *out);
  if (size < 3 || data[0] != 'P' || (data[1] != '5' && data[1] != '6'))
    return cd_fail(e, "%s: not a binary PGM/PPM file (expected P5 or P6)", what);
  int bands = data[1] == '6' ? 3 : 1;
  ppm_reader r = {data, size, 2};
  long w, h, maxval;
  if (read_token(&r, &w, "width", what, e) || read_token(&r, &h, "height", what, e) ||
      read_token(&r, &maxval, "maxval", what, e))
    return -1;
  if (w < 1 || h < 1 || w > CD_IMAGE_MAX_DIM || h > CD_IMAGE_MAX_DIM)
    return cd_fail(e, "%s: PPM size %ldx%ld is out of range (1..%d)", what, w, h,
                   CD_IMAGE_MAX_DIM);
  if ((size_t)w * (size_t)h > CD_IMAGE_MAX_PIXELS)
    return cd_fail(e, "%s: PPM has %zu pixels, more than the limit %zu", what,
                   (size_t)w * (size_t)h, CD_IMAGE_MAX_PIXELS);
  if (maxval < 1 || maxval > 65535)
    return cd_fail(e, "%s: PPM maxval %ld must be in 1..65535", what, maxval);
  size_t in_bytes = maxval > 255 ? 2 : 1;
  size_t count = (size_t)w * (size_t)h * (size_t)bands;
  if (size - r.pos < count * in_bytes)
    return cd_fail(e, "%s: PPM raster is truncated (%zu of %zu bytes)", what, size - r.pos,
                   count * in_bytes);
  const uint8_t *src = data + r.pos;
  out->width = (int)w;
  out->height = (int)h;
  out->channels = bands;
  if (bands == 1 && maxval > 255) {
    out->mode = CD_MODE_I16;
    out->pixels16 = cd_malloc(count * sizeof(uint16_t), e);
    if (!out->pixels16) return -1;
    for (size_t i = 0; i < count; i++) {
      long v = (long)src[2 * i] << 8 | src[2 * i + 1];
      out->pixels16[i] = (uint16_t)(maxval == 65535 ? v : rescale(v, maxval, 65535));
    }
    return 0;
  }
  out->mode = bands == 3 ? CD_MODE_RGB : CD_MODE_L;
  out->pixels = cd_malloc(count, e);
  if (!out->pixels) return -1;
  if (maxval == 255) {
    memcpy(out->pixels, src, count);
  } else if (in_bytes == 1) {
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) lut[v] = (uint8_t)rescale(v, maxval, 255);
    for (size_t i = 0; i < count; i++) out->pixels[i] = lut[src[i]];
  } else {
    for (size_t i = 0; i < count; i++)
      out->pixels[i] = (uint8_t)rescale((long)src[2 * i] << 8 | src[2 * i + 1], maxval, 255);
  }
  return 0;
}
