/* Resize and CLIP preprocessing against Pillow (tests/fixtures/resize, written by
 * tools/gen/gen_image_fixtures.py): Image.resize(BICUBIC) must match byte for byte in every
 * mode (L, LA, RGB, RGBA, CMYK, P, I), and the whole upstream pipeline (Resize, CenterCrop,
 * convert RGB, ToTensor, Normalize) must match float for float. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "data/image/image.h"
#include "data/image/image_batch.h"
#include "data/image/resize.h"
#include "tests/testutil.h"

#define DIR "tests/fixtures/resize/"

static int mode_from_name(const char *s, cd_image_mode *m, int *c) {
  static const struct { const char *n; cd_image_mode m; int c; } t[] = {
      {"L", CD_MODE_L, 1},       {"LA", CD_MODE_LA, 2}, {"RGB", CD_MODE_RGB, 3},
      {"RGBA", CD_MODE_RGBA, 4}, {"CMYK", CD_MODE_CMYK, 4}, {"P", CD_MODE_P, 1},
      {"I", CD_MODE_I16, 1}};
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    if (!strcmp(s, t[i].n)) return *m = t[i].m, *c = t[i].c, 0;
  return -1;
}

static long elem(const cd_array *a, size_t i) {
  return a->dtype == CD_I32 ? ((int32_t *)a->data)[i] : ((uint8_t *)a->data)[i];
}

static void check_resize_cases(void) {
  FILE *f = fopen(DIR "cases.txt", "r");
  CHECK(f != NULL, "cannot open " DIR "cases.txt");
  if (!f) return;
  char line[512];
  int ncase = 0, nbad = 0;
  while (fgets(line, sizeof line, f)) {
    char name[160], mode[16];
    int w, h, ow, oh;
    if (line[0] == '#' || sscanf(line, "%159s %15s %d %d %d %d", name, mode, &w, &h, &ow, &oh) != 6)
      continue;
    char pin[256], pout[256];
    snprintf(pin, sizeof pin, DIR "%s_in.npy", name);
    snprintf(pout, sizeof pout, DIR "%s_out.npy", name);
    cd_array in = {0}, want = {0};
    cd_error e;
    cd_image img = {0}, out;
    if (cd_npy_load(pin, &in, &e) || cd_npy_load(pout, &want, &e) ||
        mode_from_name(mode, &img.mode, &img.channels)) {
      CHECK(0, "%s: %s", name, e.msg);
      continue;
    }
    ncase++;
    img.width = w;
    img.height = h;
    size_t n = (size_t)w * h * img.channels;
    if (img.mode == CD_MODE_I16) {
      img.pixels16 = malloc(n * sizeof(uint16_t));
      for (size_t i = 0; i < n; i++) img.pixels16[i] = (uint16_t)elem(&in, i);
    } else {
      img.pixels = malloc(n);
      for (size_t i = 0; i < n; i++) img.pixels[i] = (uint8_t)elem(&in, i);
    }
    if (img.mode == CD_MODE_P) img.palette_size = 256;
    if (cd_image_resize(&img, ow, oh, &out, &e) != 0) {
      CHECK(0, "%s: resize failed: %s", name, e.msg);
      nbad++;
    } else {
      size_t m = (size_t)ow * oh * img.channels, diff = 0;
      long maxd = 0;
      CHECK(want.numel == m, "%s: expected %zu samples, fixture has %zu", name, m, want.numel);
      for (size_t i = 0; i < m && i < want.numel; i++) {
        long got = img.mode == CD_MODE_I16 ? out.pixels16[i] : out.pixels[i];
        long d = labs(got - elem(&want, i));
        diff += d != 0;
        if (d > maxd) maxd = d;
      }
      printf("  %-40s %-4s %4dx%-4d -> %4dx%-4d  max|d| %ld, %zu of %zu differ (tol 0)\n", name,
             mode, w, h, ow, oh, maxd, diff, m);
      CHECK(diff == 0, "%s: %zu samples differ from Pillow (max %ld)", name, diff, maxd);
      nbad += diff != 0;
      cd_image_free(&out);
    }
    cd_image_free(&img);
    cd_array_free(&in);
    cd_array_free(&want);
  }
  fclose(f);
  printf("resize vs Pillow: %d cases, %d mismatching\n", ncase, nbad);
  CHECK(ncase >= 15, "only %d resize cases", ncase);
}

static void check_preprocess_cases(void) {
  FILE *f = fopen(DIR "preprocess_cases.txt", "r");
  CHECK(f != NULL, "cannot open " DIR "preprocess_cases.txt");
  if (!f) return;
  char line[512];
  int ncase = 0;
  while (fgets(line, sizeof line, f)) {
    char name[160];
    int S;
    if (line[0] == '#' || sscanf(line, "%159s %d", name, &S) != 2) continue;
    char png[256], npy[256];
    snprintf(png, sizeof png, DIR "%s.png", name);
    snprintf(npy, sizeof npy, DIR "%s.npy", name);
    cd_image img;
    cd_array want = {0};
    cd_error e;
    if (cd_image_load(png, &img, &e) || cd_npy_load_f32(npy, 3, &want, &e)) {
      CHECK(0, "%s: %s", name, e.msg);
      continue;
    }
    ncase++;
    size_t n = (size_t)3 * S * S;
    float *out = malloc(n * sizeof(float));
    if (cd_clip_preprocess(&img, S, out, &e) != 0) {
      CHECK(0, "%s: preprocess failed: %s", name, e.msg);
    } else {
      double md = cd_test_max_abs(out, want.data, n);
      size_t same = 0;
      for (size_t i = 0; i < n; i++) same += memcmp(&out[i], (float *)want.data + i, 4) == 0;
      printf("  %-28s S=%-3d max|d| %.3g, %zu/%zu bit-identical (tol 0)\n", name, S, md, same, n);
      CHECK(md == 0.0 && same == n, "%s: preprocess differs from the reference pipeline", name);
    }
    free(out);
    cd_image_free(&img);
    cd_array_free(&want);
  }
  fclose(f);
  CHECK(ncase >= 8, "only %d preprocess cases", ncase);
}

static void check_sizes(void) {
  int ow, oh;
  cd_clip_resize_size(500, 375, 224, &ow, &oh);
  CHECK(ow == 298 && oh == 224, "500x375 -> %dx%d, torchvision 298x224", ow, oh);
  cd_clip_resize_size(333, 500, 224, &ow, &oh);
  CHECK(ow == 224 && oh == 336, "333x500 -> %dx%d, torchvision 224x336", ow, oh);
  cd_clip_resize_size(3, 7, 224, &ow, &oh);
  CHECK(ow == 224 && oh == 522, "3x7 -> %dx%d, torchvision 224x522", ow, oh);
  /* Bad arguments fail with a message instead of crashing. */
  cd_image img = {0};
  cd_error e;
  float px[3];
  CHECK(cd_clip_preprocess(&img, 1, px, &e) != 0, "empty image accepted");
  uint8_t one = 7;
  img.width = img.height = img.channels = 1;
  img.pixels = &one;
  CHECK(cd_clip_preprocess(&img, 0, px, &e) != 0, "S = 0 accepted");
  CHECK(cd_clip_preprocess(&img, 1, px, &e) == 0 && fabsf(px[0] - (7.0f / 255.0f - 0.48145466f) / 0.26862954f) < 1e-6f,
        "1x1 gray preprocess");
}

/* The parallel batch gives each file exactly what the single-file path gives, and records
 * a bad file without disturbing its neighbours. */
static void check_batch(void) {
  const char *paths[] = {DIR "p00_RGB_61x45_S48.png", "tests/fixtures/png/bad_bad_crc_idat.png",
                         DIR "p03_L_100x53_S48.png", DIR "p06_P_50x77_S32.png",
                         "tests/fixtures/png/no_such_file.png", DIR "p08_I_45x38_S32.png"};
  int n = 6, S = 40;
  size_t plane = (size_t)3 * S * S;
  float *out = malloc(n * plane * sizeof(float)), *one = malloc(plane * sizeof(float));
  cd_image_status st[6];
  cd_error e;
  int failed = cd_image_batch_preprocess(paths, n, S, 2, out, st, &e);
  CHECK(failed == 2, "batch: %d failures, expected 2", failed);
  CHECK(cd_image_batch_first_failure(st, n) == 1, "batch: first failure is not file 1");
  CHECK(!st[1].ok && strstr(st[1].msg, "bad_crc_idat.png") && strstr(st[1].msg, "CRC"),
        "batch: bad CRC message \"%s\"", st[1].msg);
  CHECK(!st[4].ok && strstr(st[4].msg, "no_such_file.png"), "batch: missing file message \"%s\"",
        st[4].msg);
  for (int i = 0; i < n; i++) {
    if (!st[i].ok) continue;
    cd_image img;
    if (cd_image_load(paths[i], &img, &e) || cd_clip_preprocess(&img, S, one, &e)) {
      CHECK(0, "%s", e.msg);
      continue;
    }
    CHECK(memcmp(one, out + i * plane, plane * sizeof(float)) == 0, "batch slot %d differs", i);
    cd_image_free(&img);
  }
  printf("batch of %d files (2 threads): %d failed as expected, others identical to single-file\n", n, failed);
  free(out);
  free(one);
}

int main(void) {
  check_batch();
  check_sizes();
  check_resize_cases();
  check_preprocess_cases();
  return cd_test_finish("test_resize");
}
