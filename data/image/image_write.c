/* cd_image_save: the encoder chosen by the file's extension, written atomically. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/file.h"
#include "data/image/image_write.h"

static int has_ext(const char *path, const char *ext) {
  size_t n = strlen(path), k = strlen(ext);
  return n > k && strcasecmp(path + n - k, ext) == 0;
}

int cd_image_save(const char *path, const uint8_t *pixels, int width, int height, int channels,
                  const cd_jpeg_options *opt, cd_error *e) {
  uint8_t *buf = NULL;
  size_t n = 0;
  int rc;
  if (has_ext(path, ".png")) rc = cd_png_encode(pixels, width, height, channels, 6, &buf, &n, e);
  else if (has_ext(path, ".jpg") || has_ext(path, ".jpeg")) rc = cd_jpeg_encode(pixels, width, height, channels, opt, &buf, &n, e);
  else return cd_fail(e, "%s: unknown image extension (use .png, .jpg or .jpeg)", path);
  if (rc) return cd_fail_prefix(e, "%s", path);
  rc = cd_write_file_atomic(path, buf, n, e);
  free(buf);
  return rc;
}
