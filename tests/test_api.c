/* The public API (clipdebias.h) end to end on a committed fixture: load, tokenize errors,
 * encode tokens / pixels / image files, against the fixture goldens and the internal path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipdebias.h"
#include "core/npy.h"
#include "tests/testutil.h"

#define FIX "tests/fixtures/model/openai_b16_f16/"

static void test_goldens(clipdebias_model *m) {
  cd_array tok, txt, px, img;
  cd_error e;
  CHECK(cd_npy_load(FIX "tokens.npy", &tok, &e) == 0, "%s", e.msg);
  CHECK(cd_npy_load_f32(FIX "text_features.npy", 2, &txt, &e) == 0, "%s", e.msg);
  CHECK(cd_npy_load_f32(FIX "pixels.npy", 4, &px, &e) == 0, "%s", e.msg);
  CHECK(cd_npy_load_f32(FIX "image_features.npy", 2, &img, &e) == 0, "%s", e.msg);
  if (cd_test_failures) return;
  int D = clipdebias_embed_dim(m), nt = (int)tok.shape[0], ni = (int)px.shape[0];
  float *f = malloc(sizeof(float) * (size_t)(nt > ni ? nt : ni) * D);
  char err[512];
  CHECK(clipdebias_encode_tokens(m, tok.data, nt, 0, f, err, sizeof err) == 0, "%s", err);
  cd_test_close("api encode_tokens vs PyTorch", f, txt.data, (size_t)nt * D, 1e-4);
  CHECK(clipdebias_encode_pixels(m, px.data, ni, 0, f, err, sizeof err) == 0, "%s", err);
  cd_test_close("api encode_pixels vs PyTorch", f, img.data, (size_t)ni * D, 1e-4);
  CHECK(clipdebias_encode_pixels(m, px.data, ni, 1, f, err, sizeof err) == 0, "%s", err);
  double norm = 0;
  for (int d = 0; d < D; d++) norm += (double)f[d] * f[d];
  CHECK(fabs(norm - 1.0) < 1e-5, "normalized row has squared norm %g", norm);
  free(f);
  cd_array_free(&tok);
  cd_array_free(&txt);
  cd_array_free(&px);
  cd_array_free(&img);
}

static void test_files(clipdebias_model *m) {
  const char *paths[3] = {"tests/fixtures/png/bad_bad_crc_idat.png", "tests/fixtures/jpeg/cj_411_37x29.jpg",
                          "tests/fixtures/jpeg/cj_411_17x9.jpg"};
  int D = clipdebias_embed_dim(m);
  float f[3 * 512];
  char err[512] = "";
  CHECK(clipdebias_encode_image_files(m, paths, 3, 0, f, err, sizeof err) != 0, "a bad PNG must fail");
  CHECK(strstr(err, "bad_crc_idat.png") != NULL, "message names the file: %s", err);
  CHECK(clipdebias_encode_image_files(m, paths + 1, 2, 0, f, err, sizeof err) == 0, "%s", err);
  CHECK(D <= 512, "embed dim %d", D);
  int finite = 1;
  for (int i = 0; i < 2 * D; i++) finite &= isfinite(f[i]) != 0;
  CHECK(finite, "image features are finite");
}

int main(void) {
  char err[512];
  clipdebias_model *bad = clipdebias_load("tests/fixtures/model/does-not-exist", NULL, err, sizeof err);
  CHECK(bad == NULL && strstr(err, "does-not-exist"), "missing model must fail naming it: %s", err);
  clipdebias_model *m = clipdebias_load(FIX "openai_b16_f16.safetensors", NULL, err, sizeof err);
  CHECK(m != NULL, "load: %s", err);
  if (!m) return cd_test_finish("test_api");
  CHECK(clipdebias_image_size(m) == 64 && clipdebias_context_length(m) == 77, "dims %d %d",
        clipdebias_image_size(m), clipdebias_context_length(m));
  int32_t tok[77];
  CHECK(clipdebias_tokenize(m, "hello", 0, tok, err, sizeof err) != 0 && strstr(err, "tokenizer"),
        "no tokenizer beside this file: tokenize must say so: %s", err);
  test_goldens(m);
  test_files(m);
  clipdebias_free(m);
  return cd_test_finish("test_api");
}
