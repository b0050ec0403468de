/* The shipped toy CLIP (models/toyclip, Hugging Face layout with its own BPE vocabulary)
 * through the engine equals PyTorch (tools/gen/train_toyclip.py wrote the goldens in
 * tests/fixtures/toyclip): token ids of the prompts, text features, and image features of
 * toy-world JPEGs decoded and preprocessed by the engine. */
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "data/image/image.h"
#include "data/text/tokenizer.h"
#include "models/clip/clip.h"
#include "tests/testutil.h"

#define MODEL "models/toyclip"
#define FIX "tests/fixtures/toyclip/"

static int read_lines(const char *path, char lines[][128], int max) {
  FILE *f = fopen(path, "r");
  int n = 0;
  if (!f) return 0;
  while (n < max && fgets(lines[n], 128, f)) {
    lines[n][strcspn(lines[n], "\n")] = 0;
    if (lines[n][0]) n++;
  }
  fclose(f);
  return n;
}

static void test_texts(const cd_clip *m) {
  char texts[16][128];
  int n = read_lines(FIX "texts.txt", texts, 16);
  cd_array tok = {0}, want = {0};
  cd_error e;
  CHECK(n >= 4, "no texts in " FIX "texts.txt");
  if (cd_npy_load(FIX "tokens.npy", &tok, &e) || cd_npy_load(FIX "text_features.npy", &want, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  int C = m->text.context, D = (int)want.shape[1], same = 1;
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)n * (size_t)C);
  for (int i = 0; i < n; i++) {
    CHECK(cd_tokenize(m->tokenizer, texts[i], C, 0, ids + (size_t)i * C, &e) == 0, "%s", e.msg);
    same &= memcmp(ids + (size_t)i * C, (int32_t *)tok.data + (size_t)i * C, sizeof(int32_t) * (size_t)C) == 0;
  }
  CHECK(same, "token ids differ from the ones PyTorch was given");
  float *got = malloc(sizeof(float) * (size_t)n * (size_t)D);
  CHECK(cd_clip_encode_text(m, ids, n, got, &e) == 0, "%s", e.msg);
  cd_test_close("toy CLIP text features", got, (const float *)want.data, (size_t)n * (size_t)D, 1e-4);
  free(got);
  free(ids);
  cd_array_free(&tok);
  cd_array_free(&want);
}

static void test_images(const cd_clip *m) {
  char names[8][128];
  int n = read_lines(FIX "images.txt", names, 8), S = m->vision.image_size;
  cd_array want = {0};
  cd_error e;
  CHECK(n == 4, "expected 4 images in " FIX "images.txt");
  if (cd_npy_load(FIX "image_features.npy", &want, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  int D = (int)want.shape[1];
  float *px = malloc(sizeof(float) * (size_t)n * 3 * (size_t)S * (size_t)S), *got = malloc(sizeof(float) * (size_t)n * (size_t)D);
  for (int i = 0; i < n; i++) {
    cd_image img;
    if (cd_image_load(cd_test_path(FIX, names[i]), &img, &e) == 0) {
      CHECK(cd_clip_preprocess(&img, S, px + (size_t)i * 3 * S * S, &e) == 0, "%s", e.msg);
      cd_image_free(&img);
    } else {
      CHECK(0, "%s", e.msg);
    }
  }
  CHECK(cd_clip_encode_image(m, px, n, got, &e) == 0, "%s", e.msg);
  cd_test_close("toy CLIP image features (JPEG -> engine preprocessing)", got, (const float *)want.data, (size_t)n * D, 1e-4);
  free(px);
  free(got);
  cd_array_free(&want);
}

int main(void) {
  cd_clip m;
  cd_error e;
  if (cd_clip_load(&m, MODEL, NULL, &e)) {
    CHECK(0, "%s", e.msg);
    return cd_test_finish("test_toyclip");
  }
  CHECK(m.vision.image_size == 64 && m.tokenizer != NULL, "toy CLIP: image size %d, tokenizer %s", m.vision.image_size,
        m.tokenizer ? "found" : "missing");
  if (m.tokenizer) test_texts(&m);
  test_images(&m);
  cd_clip_free(&m);
  return cd_test_finish("test_toyclip");
}
