/* Encoding by file extension, and saving atomically. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/file.h"
#include "data/image/image_write.h"

static int has_ext(const char *path, const char *ext) {
  size_t n = strlen(path), k = strlen(ext);
  return n > k && strcasecmp(path + n - k, ext) == 0;
}

int cd_image_encode_as(const char *path, const uint8_t *pixels, int width, int height, int channels,
                       const cd_jpeg_options *opt, uint8_t **out, size_t *out_n, cd_error *e) {
  int rc;
  if (has_ext(path, ".png")) rc = cd_png_encode(pixels, width, height, channels, 6, out, out_n, e);
  else if (has_ext(path, ".jpg") || has_ext(path, ".jpeg")) rc = cd_jpeg_encode(pixels, width, height, channels, opt, out, out_n, e);
  else return cd_fail(e, "%s: unknown image extension (use .png, .jpg or .jpeg)", path);
  return rc ? cd_fail_prefix(e, "%s", path) : 0;
}

int cd_image_save(const char *path, const uint8_t *pixels, int width, int height, int channels,
                  const cd_jpeg_options *opt, cd_error *e) {
  uint8_t *buf = NULL;
  size_t n = 0;
  if (cd_image_encode_as(path, pixels, width, height, channels, opt, &buf, &n, e)) return -1;
  int rc = cd_write_file_atomic(path, buf, n, e);
  free(buf);
  return rc;
}
