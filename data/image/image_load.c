/* Format sniffing by magic bytes (never by extension: scraped data sets are full of PNGs
 * named .jpg and HTML error pages saved as images) and whole-file loading. */
#include "data/image/image.h"

#include <string.h>

#include "core/file.h"

static int starts_with_ci(const uint8_t *p, size_t n, const char *s) {
  size_t k = strlen(s);
  if (n < k) return 0;
  for (size_t i = 0; i < k; i++) {
    uint8_t c = p[i];
    if (c >= 'A' && c <= 'Z') c = (uint8_t)(c - 'A' + 'a');
    if (c != (uint8_t)s[i]) return 0;
  }
  return 1;
}

int cd_looks_like_html(const uint8_t *p, size_t n) {
  if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) p += 3, n -= 3;
  while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++, n--;
  static const char *openers[] = {"<!doctype html", "<html", "<head", "<body", "<script",
                                  "<meta", "<title", "<!--", "<?xml", "<svg", "<div", "<p>"};
  for (size_t i = 0; i < sizeof openers / sizeof *openers; i++)
    if (starts_with_ci(p, n, openers[i])) return 1;
  return 0;
}

/* Printable ASCII/UTF-8 with no control bytes in the first KiB: a text file, not pixels. */
static int looks_like_text(const uint8_t *p, size_t n) {
  size_t k = n < 1024 ? n : 1024;
  if (k == 0) return 0;
  for (size_t i = 0; i < k; i++) {
    uint8_t c = p[i];
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return 0;
    if (c == 0x7F) return 0;
  }
  return 1;
}

static int is_pnm_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int cd_image_decode(const uint8_t *data, size_t size, const char *what, cd_image *out,
                    cd_error *e) {
  memset(out, 0, sizeof *out);
  if (size == 0 || !data) return cd_fail(e, "%s: empty file, not an image", what);
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
    return cd_jpeg_decode(data, size, what, out, e);
  static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (size >= 8 && memcmp(data, png_sig, 8) == 0) return cd_png_decode(data, size, what, out, e);
  if (size >= 3 && data[0] == 'P' && (data[1] == '5' || data[1] == '6') && is_pnm_space(data[2]))
    return cd_ppm_decode(data, size, what, out, e);
  if (size >= 3 && data[0] == 'P' && data[1] >= '1' && data[1] <= '4' && is_pnm_space(data[2]))
    return cd_fail(e, "%s: Netpbm format P%c is not supported (only binary P5/P6)", what,
                   data[1]);
  if (cd_looks_like_html(data, size))
    return cd_fail(e, "%s: this is an HTML page, not an image (a failed download saved as .jpg?)",
                   what);
  if (size >= 6 && (memcmp(data, "GIF87a", 6) == 0 || memcmp(data, "GIF89a", 6) == 0))
    return cd_fail(e, "%s: GIF images are not supported (convert to PNG or JPEG)", what);
  if (size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
    return cd_fail(e, "%s: WebP images are not supported (convert to PNG or JPEG)", what);
  if (size >= 2 && data[0] == 'B' && data[1] == 'M')
    return cd_fail(e, "%s: BMP images are not supported (convert to PNG or JPEG)", what);
  if (looks_like_text(data, size))
    return cd_fail(e, "%s: this is a text file, not an image", what);
  return cd_fail(e,
                 "%s: unknown image format (first bytes %02X %02X %02X %02X; supported: "
                 "JPEG, PNG, PPM/PGM)",
                 what, data[0], size > 1 ? data[1] : 0, size > 2 ? data[2] : 0,
                 size > 3 ? data[3] : 0);
}

int cd_image_load(const char *path, cd_image *out, cd_error *e) {
  cd_file f;
  memset(out, 0, sizeof *out);
  if (cd_file_map(&f, path, e) != 0) return -1;
  int rc = cd_image_decode(f.data, f.size, path, out, e);
  cd_file_close(&f);
  return rc;
}
