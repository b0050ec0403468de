/* Decode + CLIP preprocessing of the reference photographs (../shared/reference/images, in the
 * order of golden/images.json) against the pixels upstream CLIP computed with Pillow 9.4 and
 * torchvision (golden/pixels.npy, float32 [N,3,224,224]). PNG must be identical; JPEG may
 * differ by one 8-bit level (libjpeg builds differ in rounding), i.e. 1/255/std in
 * normalised units. Skips (77) when the reference data is absent. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/npy.h"
#include "data/image/image.h"
#include "tests/testutil.h"

#define S 224

static int ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

int main(void) {
  const char *ref = cd_test_require_reference();
  char path[1024];
  cd_error e;
  snprintf(path, sizeof path, "%s/tiny/golden/images.json", ref);
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 20, &e);
  CHECK(doc != NULL, "%s", e.msg);
  if (!doc) return cd_test_finish("test_preprocess_reference");
  const cd_json *names = cd_json_root(doc);
  cd_array gold = {0};
  snprintf(path, sizeof path, "%s/tiny/golden/pixels.npy", ref);
  int ok = cd_npy_load_f32(path, 4, &gold, &e) == 0;
  CHECK(ok, "%s", e.msg);
  CHECK(!ok || (names->type == CD_JSON_ARRAY && (size_t)gold.shape[0] == names->n &&
                gold.shape[1] == 3 && gold.shape[2] == S && gold.shape[3] == S),
        "pixels.npy shape does not match images.json");
  if (!ok || names->type != CD_JSON_ARRAY || (size_t)gold.shape[0] != names->n) {
    cd_json_free(doc);
    return cd_test_finish("test_preprocess_reference");
  }
  const double jpeg_tol = 1.0 / 255.0 / 0.26130258 + 1e-6; /* one level on the smallest std */
  size_t plane = (size_t)3 * S * S;
  float *out = malloc(plane * sizeof(float));
  for (size_t i = 0; i < names->n; i++) {
    const char *name = names->items[i].str;
    const float *want = (const float *)gold.data + i * plane;
    snprintf(path, sizeof path, "%s/images/%s", ref, name);
    cd_image img;
    if (cd_image_load(path, &img, &e) != 0) {
      CHECK(0, "%s: decode failed: %s", name, e.msg);
      continue;
    }
    if (cd_clip_preprocess(&img, S, out, &e) != 0) {
      CHECK(0, "%s: preprocess failed: %s", name, e.msg);
      cd_image_free(&img);
      continue;
    }
    double md = cd_test_max_abs(out, want, plane);
    size_t same = 0;
    for (size_t k = 0; k < plane; k++) same += out[k] == want[k];
    int is_png = ends_with(name, ".png");
    double tol = is_png ? 1e-6 : jpeg_tol;
    printf("  %-32s %4dx%-4d max|d| %.3g (tol %.3g), %.3f%% exactly equal\n", name, img.width,
           img.height, md, tol, 100.0 * same / plane);
    CHECK(md <= tol, "%s: max |d| %.3g exceeds %.3g", name, md, tol);
    cd_image_free(&img);
  }
  free(out);
  cd_array_free(&gold);
  cd_json_free(doc);
  return cd_test_finish("test_preprocess_reference");
}
