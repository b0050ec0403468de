/* Loads every committed model fixture (tests/fixtures/model/, made by
 * tools/gen/gen_model_fixtures.py from a plain-PyTorch transcription of upstream CLIP) and
 * checks: the dimensions, parameter count, layout, stored dtype and activation the loader
 * inferred against expected.json; encode_text / encode_image against the PyTorch goldens
 * (max|d|/max|ref| <= 1e-4); bit-identical outputs with 1 and 2 threads and per-item (bit for bit) vs
 * batched runs; the fixture tokenizer against upstream's algorithm; and, when the ctest
 * environment names the program (CLIPDEBIAS_BIN), the embed-text / embed-image / tokenize
 * commands end to end against the same goldens. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cpu.h"
#include "core/file.h"
#include "core/json.h"
#include "core/npy.h"
#include "models/clip/clip.h"
#include "tests/testutil.h"

#define FIXDIR "tests/fixtures/model"
#define TOL 1e-4

typedef struct {
  char name[128], dir[512], model[1024];
  cd_json_doc *doc;
  const cd_json *j;
} fixture;

static long jint(const fixture *f, const char *key) {
  const cd_json *v = cd_json_get(f->j, key);
  if (!v || v->type != CD_JSON_NUMBER) {
    CHECK(0, "%s: expected.json lacks '%s'", f->name, key);
    return -1;
  }
  return (long)v->integer;
}

static int load_npy(const fixture *f, const char *file, cd_array *a) {
  char p[1024];
  cd_error e;
  snprintf(p, sizeof p, "%s/%s", f->dir, file);
  if (cd_npy_load(p, a, &e) == 0) return 0;
  CHECK(0, "%s", e.msg);
  return -1;
}

static void check_dims(const fixture *f, const cd_clip *m) {
  struct { const char *key; long got; } d[] = {
      {"image_size", m->vision.image_size},   {"patch_size", m->vision.patch_size},
      {"grid", m->vision.grid},               {"vision_width", m->vision.tf.width},
      {"vision_layers", m->vision.tf.layers}, {"vision_heads", m->vision.tf.heads},
      {"text_width", m->text.tf.width},       {"text_layers", m->text.tf.layers},
      {"text_heads", m->text.tf.heads},       {"context", m->text.context},
      {"vocab_size", m->text.vocab_size},     {"embed_dim", m->embed_dim},
      {"n_params", (long)m->n_params},
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
    long want = jint(f, d[i].key);
    CHECK(d[i].got == want, "%s: %s = %ld, expected %ld", f->name, d[i].key, d[i].got, want);
    bad += d[i].got != want;
  }
  CHECK(m->vision.tf.mlp_dim == 4 * m->vision.tf.width && m->text.tf.mlp_dim == 4 * m->text.tf.width,
        "%s: mlp dims %d/%d", f->name, m->vision.tf.mlp_dim, m->text.tf.mlp_dim);
  CHECK(m->vision.n_tokens == m->vision.grid * m->vision.grid + 1, "%s: n_tokens %d", f->name, m->vision.n_tokens);
  CHECK(fabsf(m->vision.tf.eps - 1e-5f) < 1e-9f && fabsf(m->text.tf.eps - 1e-5f) < 1e-9f,
        "%s: layer norm eps %g/%g, expected 1e-5", f->name, m->vision.tf.eps, m->text.tf.eps);

  const char *layout = cd_json_get_str(f->j, "layout", "");
  cd_layout want_layout = !strcmp(layout, "hf") ? CD_LAYOUT_HF
                          : !strcmp(layout, "openclip") ? CD_LAYOUT_OPENCLIP_DIR : CD_LAYOUT_OPENAI_FILE;
  CHECK(m->layout == want_layout, "%s: layout %s, expected %s", f->name, cd_layout_name(m->layout), layout);
  const char *dt = cd_json_get_str(f->j, "stored_dtype", "");
  CHECK(!strcmp(m->stored_dtype, dt), "%s: stored dtype '%s', expected '%s'", f->name, m->stored_dtype, dt);
  cd_activation act = !strcmp(cd_json_get_str(f->j, "activation", ""), "gelu") ? CD_ACT_GELU : CD_ACT_QUICKGELU;
  CHECK(m->vision.tf.act == act && m->text.tf.act == act, "%s: activation %d/%d, expected %d", f->name,
        m->vision.tf.act, m->text.tf.act, act);
  double ls = cd_json_get_num(f->j, "logit_scale", NAN);
  CHECK(fabs(m->logit_scale_log - ls) <= 1e-6, "%s: logit scale %.7f, expected %.7f", f->name,
        m->logit_scale_log, ls);
  printf("  dims: image %d patch %d | vision %dx%d h%d | text %dx%d h%d vocab %d | embed %d | %zu params | %s %s: %s\n",
         m->vision.image_size, m->vision.patch_size, m->vision.tf.width, m->vision.tf.layers, m->vision.tf.heads,
         m->text.tf.width, m->text.tf.layers, m->text.tf.heads, m->text.vocab_size, m->embed_dim, m->n_params,
         layout, m->stored_dtype, bad ? "MISMATCH" : "ok");
}

/* Runs one tower (text when tokens != NULL) with the current thread count. */
static int run(const cd_clip *m, const int32_t *tokens, const float *pixels, int N, float *out) {
  cd_error e;
  int rc = tokens ? cd_clip_encode_text(m, tokens, N, out, &e) : cd_clip_encode_image(m, pixels, N, out, &e);
  if (rc) CHECK(0, "encode failed: %s", e.msg);
  return rc;
}

/* Golden comparison, 1-vs-2-thread bit identity, and per-item vs batched agreement. */
static void check_tower(const fixture *f, const cd_clip *m, const int32_t *tokens, const float *pixels,
                        int N, size_t item, const float *golden, const char *what) {
  size_t D = (size_t)m->embed_dim;
  float *a = calloc((size_t)N * D, sizeof(float)), *b = calloc((size_t)N * D, sizeof(float));
  float *c = calloc((size_t)N * D, sizeof(float));
  char label[256];
  cd_threads_set(1);
  int ok = run(m, tokens, pixels, N, a) == 0;
  cd_threads_set(2);
  ok = ok && run(m, tokens, pixels, N, b) == 0;
  for (int i = 0; ok && i < N; i++)
    ok = run(m, tokens ? tokens + (size_t)i * item : NULL, pixels ? pixels + (size_t)i * item : NULL, 1,
             c + (size_t)i * D) == 0;
  if (ok) {
    snprintf(label, sizeof label, "%s %s [%d,%zu]", f->name, what, N, D);
    cd_test_close(label, a, golden, (size_t)N * D, TOL);
    CHECK(memcmp(a, b, sizeof(float) * (size_t)N * D) == 0, "%s %s: 1 and 2 threads differ (max abs %.3e)",
          f->name, what, cd_test_max_abs(a, b, (size_t)N * D));
    /* no op mixes items and no row's result depends on how many rows an op was given (nor,
     * for images, on whether the threads shared each op or took images of their own) */
    CHECK(memcmp(c, a, sizeof(float) * (size_t)N * D) == 0, "%s %s: one at a time vs batched differ (max rel %.3e)",
          f->name, what, cd_test_max_rel(c, a, (size_t)N * D));
  }
  free(a), free(b), free(c);
}

/* A batch that the image tower shares out with a remainder (7 images on 2 threads: two
 * threads take 3 images each on their own, the 7th has its ops split across both; on 3
 * threads: 2 + 2 + 2 and 1) gives every image the bits it gets alone. The fixture's n images
 * are repeated to make the batch. */
static void check_image_shares(const fixture *f, const cd_clip *m, const float *pixels, int n, size_t item) {
  enum { N = 7 };
  size_t D = (size_t)m->embed_dim;
  float *px = malloc(sizeof(float) * N * item), *all = calloc(N * D, sizeof(float)), *one = calloc(D, sizeof(float));
  for (int i = 0; i < N; i++) memcpy(px + (size_t)i * item, pixels + (size_t)(i % n) * item, sizeof(float) * item);
  for (int threads = 2; threads <= 3; threads++) {
    cd_threads_set(threads);
    if (run(m, NULL, px, N, all)) break;
    for (int i = 0; i < N; i++) {
      cd_threads_set(1);
      if (run(m, NULL, px + (size_t)i * item, 1, one)) break;
      CHECK(memcmp(one, all + (size_t)i * D, sizeof(float) * D) == 0,
            "%s: image %d of a batch of %d on %d threads differs from the image alone", f->name, i, N, threads);
    }
  }
  cd_threads_set(2);
  free(px), free(all), free(one);
}

/* The HF fixture's own BPE vocabulary: cd_tokenize must give the ids upstream's algorithm
 * gave in Python, and the features of those texts must match. */
static void check_tokenizer(const fixture *f, const cd_clip *m) {
  char p[1024];
  snprintf(p, sizeof p, "%s/texts.txt", f->dir);
  if (!cd_file_exists(p)) return;
  CHECK(m->tokenizer != NULL, "%s: vocab.json + merges.txt beside the weights were not loaded", f->name);
  if (!m->tokenizer) return;
  cd_array ids = {0}, feat = {0};
  if (load_npy(f, "texts_tokens.npy", &ids) || load_npy(f, "texts_features.npy", &feat)) goto out;
  FILE *fp = fopen(p, "r");
  char line[512];
  int n = 0, mism = 0, L = (int)ids.shape[1];
  int32_t *got = calloc((size_t)ids.numel, sizeof(int32_t));
  cd_error e;
  while (fp && n < ids.shape[0] && fgets(line, sizeof line, fp)) {
    line[strcspn(line, "\n")] = 0;
    if (cd_tokenize(m->tokenizer, line, L, 0, got + (size_t)n * L, &e)) CHECK(0, "%s: tokenize '%s': %s", f->name, line, e.msg);
    if (memcmp(got + (size_t)n * L, (int32_t *)ids.data + (size_t)n * L, sizeof(int32_t) * L)) {
      mism++;
      CHECK(0, "%s: tokens of '%s' differ from upstream's algorithm", f->name, line);
    }
    n++;
  }
  if (fp) fclose(fp);
  CHECK(n == ids.shape[0], "%s: read %d texts, expected %lld", f->name, n, (long long)ids.shape[0]);
  printf("  %-44s %d/%d texts tokenized identically\n", "fixture BPE vocab (600 ids)", n - mism, n);
  float *out = calloc((size_t)n * m->embed_dim, sizeof(float));
  if (run(m, (int32_t *)ids.data, NULL, n, out) == 0) {
    char label[256];
    snprintf(label, sizeof label, "%s texts.txt features", f->name);
    cd_test_close(label, out, feat.data, (size_t)n * m->embed_dim, TOL);
  }
  free(out), free(got);
out:
  cd_array_free(&ids), cd_array_free(&feat);
}

/* End to end through the program: its .npy outputs against the goldens. */
static void check_cli(const fixture *f, const char *bin, const char *tmp) {
  char cmd[4096], out[1024], gold[1024];
  struct { const char *args, *golden; } runs[] = {
      {"embed-image --pixels %s/pixels.npy", "image_features.npy"},
      {"embed-text --text-file %s/texts.txt", "texts_features.npy"},
  };
  for (int r = 0; r < 2; r++) {
    snprintf(gold, sizeof gold, "%s/%s", f->dir, runs[r].golden);
    if (!cd_file_exists(gold)) continue;
    snprintf(out, sizeof out, "%s/%s_%d.npy", tmp, f->name, r);
    int k = snprintf(cmd, sizeof cmd, "'%s' ", bin);
    k += snprintf(cmd + k, sizeof cmd - k, runs[r].args, f->dir);
    snprintf(cmd + k, sizeof cmd - k, " --model '%s' --out '%s' --threads 2 2>&1", f->model, out);
    int rc = system(cmd);
    CHECK(rc == 0, "%s: `%s` exited with %d", f->name, cmd, rc);
    cd_array a = {0}, g = {0};
    cd_error e;
    if (rc == 0 && cd_npy_load_f32(out, 2, &a, &e) == 0 && cd_npy_load_f32(gold, 2, &g, &e) == 0) {
      CHECK(a.shape[0] == g.shape[0] && a.shape[1] == g.shape[1], "%s: CLI output [%lld,%lld] vs golden [%lld,%lld]",
            f->name, (long long)a.shape[0], (long long)a.shape[1], (long long)g.shape[0], (long long)g.shape[1]);
      char label[256];
      snprintf(label, sizeof label, "%s clipdebias %s", f->name, r ? "embed-text" : "embed-image");
      if (a.numel == g.numel) cd_test_close(label, a.data, g.data, a.numel, TOL);
    } else if (rc == 0) CHECK(0, "%s", e.msg);
    cd_array_free(&a), cd_array_free(&g);
    unlink(out);
  }
}

static void check_fixture(fixture *f, const char *bin, const char *tmp) {
  printf("%s\n", f->name);
  cd_clip m;
  cd_error e;
  cd_clip_load_opts opts = {NULL, 0, CD_TOWER_BOTH, 1, CD_PREC_FP32, CD_PREC_FP32};
  if (cd_clip_load(&m, f->model, &opts, &e)) {
    CHECK(0, "%s: load failed: %s", f->name, e.msg);
    return;
  }
  check_dims(f, &m);
  cd_array tok = {0}, tf = {0}, px = {0}, imf = {0};
  if (!load_npy(f, "tokens.npy", &tok) && !load_npy(f, "text_features.npy", &tf) &&
      !load_npy(f, "pixels.npy", &px) && !load_npy(f, "image_features.npy", &imf)) {
    CHECK(tok.dtype == CD_I32 && tok.shape[1] == m.text.context, "%s: tokens.npy not int32 [N,%d]", f->name,
          m.text.context);
    CHECK(px.shape[2] == m.vision.image_size, "%s: pixels %lld, model %d", f->name, (long long)px.shape[2],
          m.vision.image_size);
    if (tok.dtype == CD_I32 && tok.shape[1] == m.text.context)
      check_tower(f, &m, tok.data, NULL, (int)tok.shape[0], (size_t)m.text.context, tf.data, "encode_text");
    if (px.shape[2] == m.vision.image_size) {
      check_tower(f, &m, NULL, px.data, (int)px.shape[0], (size_t)3 * px.shape[2] * px.shape[3], imf.data,
                  "encode_image");
      check_image_shares(f, &m, px.data, (int)px.shape[0], (size_t)3 * px.shape[2] * px.shape[3]);
    }
  }
  cd_array_free(&tok), cd_array_free(&tf), cd_array_free(&px), cd_array_free(&imf);
  check_tokenizer(f, &m);
  cd_clip_free(&m);
  if (bin) check_cli(f, bin, tmp);
}

int main(void) {
  char **names = NULL;
  size_t n = 0;
  uint8_t *list;
  size_t size;
  cd_error e;
  if (cd_file_read(FIXDIR "/fixtures.txt", 1 << 16, &list, &size, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 1;
  }
  for (char *s = strtok((char *)list, "\n"); s; s = strtok(NULL, "\n")) {
    names = realloc(names, sizeof(char *) * (n + 1));
    names[n++] = s;
  }
  const char *bin = getenv("CLIPDEBIAS_BIN");
  if (bin && access(bin, X_OK) != 0) bin = NULL;
  char tmp[] = "/tmp/cd_model_fixtures_XXXXXX";
  if (bin && !mkdtemp(tmp)) bin = NULL;
  if (!bin) printf("(CLIPDEBIAS_BIN not set: the end-to-end CLI checks are skipped)\n");

  for (size_t i = 0; i < n; i++) {
    fixture f = {0};
    snprintf(f.name, sizeof f.name, "%s", names[i]);
    snprintf(f.dir, sizeof f.dir, FIXDIR "/%s", names[i]);
    char p[1024];
    snprintf(p, sizeof p, "%s/expected.json", f.dir);
    if (!(f.doc = cd_json_parse_file(p, 1 << 20, &e))) {
      CHECK(0, "%s", e.msg);
      continue;
    }
    f.j = cd_json_root(f.doc);
    const char *rel = cd_json_get_str(f.j, "model", ".");
    if (!strcmp(rel, ".")) snprintf(f.model, sizeof f.model, "%s", f.dir);
    else snprintf(f.model, sizeof f.model, "%s/%s", f.dir, rel);
    check_fixture(&f, bin, tmp);
    cd_json_free(f.doc);
  }
  CHECK(n >= 7, "only %zu fixtures listed", n);
  if (bin) rmdir(tmp);
  free(names);
  free(list);
  return cd_test_finish("test_model_fixtures");
}
