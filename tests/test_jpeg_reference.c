/* Real photographs from ../shared/reference/images (encoded by libjpeg through Pillow or
 * shipped by a third party): every .jpg must decode, with the size and mode its frame header
 * declares, and quickly. Pixel equality with Pillow on these files is checked end to end by
 * the preprocessing test against the golden pixels.npy. Skips (77) without the reference. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/progress.h"
#include "data/image/image.h"
#include "tests/testutil.h"

/* Reads width, height and component count from the first SOF marker, independently of
 * the decoder (walks the marker segments). */
static int sof_info(const uint8_t *d, size_t n, int *w, int *h, int *nc) {
  size_t i = 2;
  while (i + 4 <= n) {
    if (d[i] != 0xFF) return -1;
    int m = d[i + 1];
    size_t len = ((size_t)d[i + 2] << 8) | d[i + 3];
    if ((m >= 0xC0 && m <= 0xC2) && i + 10 <= n) {
      *h = (d[i + 5] << 8) | d[i + 6];
      *w = (d[i + 7] << 8) | d[i + 8];
      *nc = d[i + 9];
      return 0;
    }
    i += 2 + len;
  }
  return -1;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
  const char *ref = cd_test_require_reference();
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/images", ref);
  DIR *dd = opendir(dir);
  if (!dd) {
    printf("SKIP: %s not found\n", dir);
    return 77;
  }
  char *names[256];
  int count = 0;
  struct dirent *de;
  while ((de = readdir(dd)) != NULL && count < 256) {
    size_t l = strlen(de->d_name);
    if (l > 4 && (strcmp(de->d_name + l - 4, ".jpg") == 0 || strcmp(de->d_name + l - 5, ".jpeg") == 0))
      names[count++] = strdup(de->d_name);
  }
  closedir(dd);
  qsort(names, (size_t)count, sizeof *names, by_name);
  CHECK(count >= 1, "no JPEG files in %s", dir);

  for (int k = 0; k < count; k++) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, names[k]);
    uint8_t *data;
    size_t size;
    cd_error e;
    if (cd_file_read(path, 256u << 20, &data, &size, &e)) {
      CHECK(0, "%s", e.msg);
      continue;
    }
    int w = 0, h = 0, nc = 0;
    CHECK(sof_info(data, size, &w, &h, &nc) == 0, "%s: no SOF found by the test's own walker", path);
    cd_image img;
    double t0 = cd_time_now();
    int rc = cd_jpeg_decode(data, size, path, &img, &e);
    double ms = (cd_time_now() - t0) * 1e3;
    CHECK(rc == 0, "%s: %s", path, rc ? e.msg : "");
    if (rc == 0) {
      cd_image_mode want = nc == 1 ? CD_MODE_L : nc == 3 ? CD_MODE_RGB : CD_MODE_CMYK;
      int ok = img.width == w && img.height == h && img.channels == nc && img.mode == want;
      /* A photograph decodes to varied pixels: catches an all-grey or all-black failure. */
      size_t n = (size_t)img.width * img.height * img.channels;
      double mean = 0;
      for (size_t i = 0; i < n; i++) mean += img.pixels[i];
      mean /= (double)n;
      double var = 0;
      for (size_t i = 0; i < n; i += 7) var += (img.pixels[i] - mean) * (img.pixels[i] - mean);
      var /= (double)((n + 6) / 7);
      printf("  %-32s %4dx%-4d %d ch  %.1f ms  mean %.1f std %.1f %s\n", names[k], img.width,
             img.height, img.channels, ms, mean, var > 0 ? __builtin_sqrt(var) : 0.0,
             ok ? "ok" : "MISMATCH");
      CHECK(ok, "%s: decoded %dx%d %d ch, header says %dx%d %d ch", path, img.width, img.height,
            img.channels, w, h, nc);
      CHECK(var > 100.0, "%s: pixel variance %.1f is implausibly low for a photograph", path, var);
      cd_image_free(&img);
    }
    free(data);
    free(names[k]);
  }
  return cd_test_finish("test_jpeg_reference");
}
