/* PNG decoder giving exactly what Pillow 9.4's PngImagePlugin gives:
 *   gray 1-bit -> "1" (0/255); gray 2/4-bit -> "L" scaled (x85, x17); gray 8 -> "L";
 *   gray 16 -> "I" (CD_MODE_I16); RGB 8/16 -> "RGB" (16-bit keeps the high byte);
 *   palette 1/2/4/8 -> "P" (tRNS becomes palette alpha); gray+alpha 8 -> "LA",
 *   gray+alpha 16 -> "RGBA" (high bytes); RGBA 8/16 -> "RGBA".
 * A gray/RGB tRNS only sets Pillow's info["transparency"]; pixels and mode are unchanged, so
 * it is validated and otherwise ignored here. Every chunk's CRC is checked; the zlib output
 * is bounded by the exact size the header implies, so a decompression bomb fails early. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/inflate.h"
#include "data/image/image.h"

typedef struct {
  uint32_t width, height;
  int depth, ctype, interlace;
  int channels;      /* samples per pixel in the file */
  int bits_per_pixel;
  uint8_t palette[256 * 4];
  int palette_size;
  int has_trns;
} png_header;

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Chunk type as printable text for messages (hostile files carry arbitrary bytes). */
static void chunk_name(const uint8_t *t, char out[5]) {
  for (int i = 0; i < 4; i++) out[i] = (t[i] >= 0x20 && t[i] < 0x7F) ? (char)t[i] : '?';
  out[4] = 0;
}

static int parse_ihdr(const uint8_t *d, uint32_t len, png_header *h, const char *what,
                      cd_error *e) {
  if (len != 13) return cd_fail(e, "%s: PNG IHDR has length %u, expected 13", what, len);
  h->width = be32(d);
  h->height = be32(d + 4);
  h->depth = d[8];
  h->ctype = d[9];
  h->interlace = d[12];
  if (h->width == 0 || h->height == 0)
    return cd_fail(e, "%s: PNG size %ux%u is empty", what, h->width, h->height);
  if (h->width > CD_IMAGE_MAX_DIM || h->height > CD_IMAGE_MAX_DIM)
    return cd_fail(e, "%s: PNG size %ux%u exceeds the limit of %d pixels per side", what,
                   h->width, h->height, CD_IMAGE_MAX_DIM);
  if ((size_t)h->width * h->height > CD_IMAGE_MAX_PIXELS)
    return cd_fail(e, "%s: PNG has %zu pixels, more than the limit %zu", what,
                   (size_t)h->width * h->height, CD_IMAGE_MAX_PIXELS);
  if (d[10] != 0) return cd_fail(e, "%s: PNG compression method %d is unknown", what, d[10]);
  if (d[11] != 0) return cd_fail(e, "%s: PNG filter method %d is unknown", what, d[11]);
  if (h->interlace > 1) return cd_fail(e, "%s: PNG interlace method %d is unknown", what, h->interlace);
  int dp = h->depth, ok;
  switch (h->ctype) {
    case 0: h->channels = 1; ok = dp == 1 || dp == 2 || dp == 4 || dp == 8 || dp == 16; break;
    case 2: h->channels = 3; ok = dp == 8 || dp == 16; break;
    case 3: h->channels = 1; ok = dp == 1 || dp == 2 || dp == 4 || dp == 8; break;
    case 4: h->channels = 2; ok = dp == 8 || dp == 16; break;
    case 6: h->channels = 4; ok = dp == 8 || dp == 16; break;
    default: return cd_fail(e, "%s: PNG colour type %d is invalid", what, h->ctype);
  }
  if (!ok) return cd_fail(e, "%s: PNG bit depth %d is invalid for colour type %d", what, dp, h->ctype);
  h->bits_per_pixel = h->channels * h->depth;
  return 0;
}

static size_t row_bytes(const png_header *h, uint32_t w) {
  return ((size_t)w * (size_t)h->bits_per_pixel + 7) / 8;
}

/* Adam7 pass geometry: start x/y and step. Pass 7 of index 0 is the non-interlaced case. */
static const int adam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

static void pass_size(const png_header *h, int pass, uint32_t *pw, uint32_t *ph) {
  if (!h->interlace) {
    *pw = h->width, *ph = h->height;
    return;
  }
  const int *a = adam7[pass];
  *pw = h->width > (uint32_t)a[0] ? (h->width - a[0] + a[2] - 1) / a[2] : 0;
  *ph = h->height > (uint32_t)a[1] ? (h->height - a[1] + a[3] - 1) / a[3] : 0;
}

static size_t expected_size(const png_header *h) {
  size_t total = 0;
  for (int p = 0; p < (h->interlace ? 7 : 1); p++) {
    uint32_t pw, ph;
    pass_size(h, p, &pw, &ph);
    if (pw && ph) total += (size_t)ph * (1 + row_bytes(h, pw));
  }
  return total;
}

static uint8_t paeth(int a, int b, int c) {
  int p = a + b - c;
  int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  if (pa <= pb && pa <= pc) return (uint8_t)a;
  return (uint8_t)(pb <= pc ? b : c);
}

/* Undoes the row filter in place; prev is the previous unfiltered row (zeros for the first). */
static int unfilter(uint8_t *row, const uint8_t *prev, size_t n, int bpp, int type) {
  size_t i;
  switch (type) {
    case 0: break;
    case 1: for (i = bpp; i < n; i++) row[i] = (uint8_t)(row[i] + row[i - bpp]); break;
    case 2: for (i = 0; i < n; i++) row[i] = (uint8_t)(row[i] + prev[i]); break;
    case 3:
      for (i = 0; i < (size_t)bpp && i < n; i++) row[i] = (uint8_t)(row[i] + (prev[i] >> 1));
      for (; i < n; i++) row[i] = (uint8_t)(row[i] + ((row[i - bpp] + prev[i]) >> 1));
      break;
    case 4:
      for (i = 0; i < (size_t)bpp && i < n; i++) row[i] = (uint8_t)(row[i] + prev[i]);
      for (; i < n; i++) row[i] = (uint8_t)(row[i] + paeth(row[i - bpp], prev[i], prev[i - bpp]));
      break;
    default: return -1;
  }
  return 0;
}

/* Sample c of pixel x of an unfiltered row, as an integer of the file's bit depth. */
static unsigned sample(const png_header *h, const uint8_t *row, uint32_t x, int c) {
  size_t s = (size_t)x * h->channels + c;
  switch (h->depth) {
    case 16: return (unsigned)row[2 * s] << 8 | row[2 * s + 1];
    case 8: return row[s];
    default: {
      size_t bit = s * h->depth;
      int shift = 8 - h->depth - (int)(bit & 7);
      return (row[bit >> 3] >> shift) & ((1u << h->depth) - 1);
    }
  }
}

/* Writes pixel x of a pass row to output position (ox, oy) in Pillow's representation. */
static int put_pixel(const png_header *h, const uint8_t *row, uint32_t x, cd_image *out,
                     size_t ox, size_t oy) {
  size_t at = oy * (size_t)out->width + ox;
  uint8_t *px = out->pixels ? out->pixels + at * out->channels : NULL;
  switch (h->ctype) {
    case 0:
      if (h->depth == 16) {
        out->pixels16[at] = (uint16_t)sample(h, row, x, 0);
      } else {
        static const uint8_t scale[17] = {0, 255, 85, 0, 17, 0, 0, 0, 1};
        px[0] = (uint8_t)(sample(h, row, x, 0) * scale[h->depth]);
      }
      break;
    case 3: {
      unsigned v = sample(h, row, x, 0);
      if ((int)v >= h->palette_size) return -1;
      px[0] = (uint8_t)v;
      break;
    }
    case 4:
      if (h->depth == 16) {
        uint8_t g = (uint8_t)(sample(h, row, x, 0) >> 8);
        px[0] = px[1] = px[2] = g;
        px[3] = (uint8_t)(sample(h, row, x, 1) >> 8);
      } else {
        px[0] = (uint8_t)sample(h, row, x, 0);
        px[1] = (uint8_t)sample(h, row, x, 1);
      }
      break;
    default: /* RGB and RGBA: 16-bit samples keep their high byte */
      for (int c = 0; c < h->channels; c++) {
        unsigned v = sample(h, row, x, c);
        px[c] = (uint8_t)(h->depth == 16 ? v >> 8 : v);
      }
  }
  return 0;
}

static int alloc_output(const png_header *h, cd_image *out, cd_error *e) {
  out->width = (int)h->width;
  out->height = (int)h->height;
  size_t npx = (size_t)h->width * h->height;
  switch (h->ctype) {
    case 0:
      out->channels = 1;
      out->mode = h->depth == 1 ? CD_MODE_1 : h->depth == 16 ? CD_MODE_I16 : CD_MODE_L;
      break;
    case 2: out->channels = 3; out->mode = CD_MODE_RGB; break;
    case 3: out->channels = 1; out->mode = CD_MODE_P; break;
    case 4:
      out->channels = h->depth == 16 ? 4 : 2;
      out->mode = h->depth == 16 ? CD_MODE_RGBA : CD_MODE_LA;
      break;
    default: out->channels = 4; out->mode = CD_MODE_RGBA; break;
  }
  if (out->mode == CD_MODE_I16) {
    out->pixels16 = cd_malloc(npx * sizeof(uint16_t), e);
    return out->pixels16 ? 0 : -1;
  }
  out->pixels = cd_malloc(npx * out->channels, e);
  return out->pixels ? 0 : -1;
}

/* Unfilters every pass of the decompressed stream and scatters pixels into out. */
static int decode_passes(const png_header *h, uint8_t *raw, cd_image *out, const char *what,
                         cd_error *e) {
  int bpp = h->bits_per_pixel >= 8 ? h->bits_per_pixel / 8 : 1;
  uint8_t *zero = calloc(row_bytes(h, h->width) + 1, 1);
  if (!zero) return cd_fail(e, "%s: out of memory", what);
  size_t pos = 0;
  int rc = 0;
  for (int p = 0; p < (h->interlace ? 7 : 1) && rc == 0; p++) {
    uint32_t pw, ph;
    pass_size(h, p, &pw, &ph);
    if (!pw || !ph) continue;
    int x0 = h->interlace ? adam7[p][0] : 0, y0 = h->interlace ? adam7[p][1] : 0;
    int dx = h->interlace ? adam7[p][2] : 1, dy = h->interlace ? adam7[p][3] : 1;
    size_t n = row_bytes(h, pw);
    const uint8_t *prev = zero;
    for (uint32_t y = 0; y < ph; y++) {
      uint8_t *row = raw + pos + 1;
      int ft = raw[pos];
      if (unfilter(row, prev, n, bpp, ft) != 0) {
        rc = cd_fail(e, "%s: PNG row %u uses unknown filter type %d", what, y, ft);
        break;
      }
      for (uint32_t x = 0; x < pw; x++) {
        if (put_pixel(h, row, x, out, (size_t)x0 + (size_t)x * dx, (size_t)y0 + (size_t)y * dy)) {
          rc = cd_fail(e, "%s: PNG palette index %u is out of range (palette has %d entries)",
                       what, sample(h, row, x, 0), h->palette_size);
          break;
        }
      }
      if (rc) break;
      prev = row;
      pos += 1 + n;
    }
  }
  free(zero);
  return rc;
}

static int parse_trns(const uint8_t *d, uint32_t len, png_header *h, const char *what,
                      cd_error *e) {
  if (h->ctype == 3) {
    if (h->palette_size == 0) return cd_fail(e, "%s: PNG tRNS comes before PLTE", what);
    uint32_t k = len < (uint32_t)h->palette_size ? len : (uint32_t)h->palette_size;
    for (uint32_t i = 0; i < k; i++) h->palette[i * 4 + 3] = d[i];
    h->has_trns = 1;
  } else if (h->ctype == 0 && len < 2) {
    return cd_fail(e, "%s: PNG tRNS for gray needs 2 bytes, has %u", what, len);
  } else if (h->ctype == 2 && len < 6) {
    return cd_fail(e, "%s: PNG tRNS for RGB needs 6 bytes, has %u", what, len);
  }
  return 0;
}

int cd_png_decode(const uint8_t *data, size_t size, const char *what, cd_image *out,
                  cd_error *e) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  memset(out, 0, sizeof *out);
  if (size < 8 || memcmp(data, sig, 8) != 0) return cd_fail(e, "%s: not a PNG file (bad signature)", what);
  png_header h;
  memset(&h, 0, sizeof h);
  int seen_ihdr = 0, seen_iend = 0;
  size_t idat_total = 0, pos = 8;
  uint8_t *idat = NULL;
  /* Pass 1 validates chunks and sums IDAT lengths; IDAT data is gathered in pass 2 so the
   * concatenation buffer is allocated once, bounded by the file size. */
  for (int pass = 0; pass < 2; pass++) {
    pos = 8;
    seen_iend = 0;
    size_t filled = 0;
    while (pos < size && !seen_iend) {
      char name[5];
      if (size - pos < 12) {
        if (seen_ihdr && idat_total) break; /* trailing junk after the data: be lenient */
        free(idat);
        return cd_fail(e, "%s: PNG is truncated (%zu stray bytes at offset %zu)", what, size - pos, pos);
      }
      uint32_t len = be32(data + pos);
      const uint8_t *type = data + pos + 4, *d = data + pos + 8;
      chunk_name(type, name);
      if (len > 0x7FFFFFFFu || len > size - pos - 12) {
        free(idat);
        return cd_fail(e, "%s: PNG chunk '%s' at offset %zu is truncated (length %u, %zu bytes left)",
                       what, name, pos, len, size - pos - 12);
      }
      if (pass == 0) {
        uint32_t want = be32(d + len), got = cd_crc32(0, type, (size_t)len + 4);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* lets a fuzzer reach past the CRC */
        if (want != got)
          return cd_fail(e, "%s: PNG chunk '%s' at offset %zu has a bad CRC (stored %08x, computed %08x)",
                         what, name, pos, want, got);
#else
        (void)want, (void)got;
#endif
        if (!seen_ihdr) {
          if (memcmp(type, "IHDR", 4) != 0)
            return cd_fail(e, "%s: PNG starts with chunk '%s', expected IHDR", what, name);
          if (parse_ihdr(d, len, &h, what, e)) return -1;
          seen_ihdr = 1;
        } else if (memcmp(type, "PLTE", 4) == 0) {
          if (len % 3 || len == 0 || len > 768)
            return cd_fail(e, "%s: PNG PLTE has length %u (must be 3..768, a multiple of 3)", what, len);
          if (h.ctype == 3 && (idat_total || h.palette_size))
            return cd_fail(e, "%s: PNG PLTE is repeated or comes after IDAT", what);
          if (h.ctype == 3) {
            h.palette_size = (int)(len / 3);
            for (int i = 0; i < h.palette_size; i++) {
              memcpy(h.palette + i * 4, d + i * 3, 3);
              h.palette[i * 4 + 3] = 255;
            }
          }
        } else if (memcmp(type, "tRNS", 4) == 0) {
          if (parse_trns(d, len, &h, what, e)) return -1;
        } else if (memcmp(type, "IDAT", 4) == 0) {
          idat_total += len;
        } else if (memcmp(type, "IEND", 4) == 0) {
          seen_iend = 1;
        } else if (memcmp(type, "IHDR", 4) == 0) {
          return cd_fail(e, "%s: PNG has a second IHDR", what);
        }
        /* Other chunks (text, gamma, ICC, private) do not change Pillow's pixels. */
      } else if (memcmp(type, "IDAT", 4) == 0) {
        memcpy(idat + filled, d, len);
        filled += len;
      } else if (memcmp(type, "IEND", 4) == 0) {
        seen_iend = 1;
      }
      pos += 12 + (size_t)len;
    }
    if (pass == 0) {
      if (!seen_ihdr) return cd_fail(e, "%s: PNG has no IHDR", what);
      if (!idat_total) return cd_fail(e, "%s: PNG has no image data (no IDAT chunk)", what);
      if (h.ctype == 3 && !h.palette_size)
        return cd_fail(e, "%s: PNG palette image has no PLTE chunk", what);
      idat = cd_malloc(idat_total, e);
      if (!idat) return -1;
    }
  }
  size_t want = expected_size(&h), got = 0;
  uint8_t *raw = NULL;
  /* +1: one stray byte past the rows is tolerated; anything bigger is a bomb or garbage. */
  char ctx[512];
  snprintf(ctx, sizeof ctx, "%s: PNG image data", what);
  int rc = cd_zlib_decompress(idat, idat_total, want + 1, &raw, &got, ctx, e);
  free(idat);
  if (rc != 0) return -1;
  if (got < want) {
    free(raw);
    return cd_fail(e, "%s: PNG image data is truncated (%zu of %zu bytes)", what, got, want);
  }
  if (alloc_output(&h, out, e) != 0) {
    free(raw);
    return -1;
  }
  if (h.ctype == 3) {
    memcpy(out->palette, h.palette, sizeof out->palette);
    out->palette_size = h.palette_size;
    out->has_palette_alpha = h.has_trns;
  }
  rc = decode_passes(&h, raw, out, what, e);
  free(raw);
  if (rc != 0) cd_image_free(out);
  return rc;
}
