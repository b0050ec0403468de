/* CoOp against upstream CLIP + CoOp in PyTorch (../shared/reference/tiny/golden/coop_*):
 * unified context of 4 vectors, prompts "X X X X <classname>." for landbird / waterbird.
 * Text features, logits, weighted loss and d loss / d ctx, with the model loaded from the
 * Hugging Face folder and from openai.safetensors. Skips (77) when the reference is absent. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/npy.h"
#include "models/clip/clip.h"
#include "models/tuning/coop_loss.h"
#include "models/tuning/prompt.h"
#include "models/tuning/text_train.h"
#include "tests/testutil.h"

static int load(const char *dir, const char *name, cd_array *a, int f32) {
  char path[4096];
  cd_error e;
  snprintf(path, sizeof path, "%s/tiny/golden/%s", dir, name);
  int r = f32 ? cd_npy_load_f32(path, 0, a, &e) : cd_npy_load(path, a, &e);
  CHECK(r == 0, "%s", e.msg);
  return r;
}

static void run(const char *dir, const char *model_path, const char *label) {
  cd_error e;
  cd_clip m;
  cd_clip_load_opts lo = {0};
  if (cd_clip_load(&m, model_path, &lo, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  cd_array tok, ctx, feat, lab, w, tf_ref, lg_ref, g_ref;
  if (load(dir, "coop_tokens.npy", &tok, 0) || load(dir, "coop_ctx.npy", &ctx, 1) ||
      load(dir, "coop_features.npy", &feat, 1) || load(dir, "coop_weights.npy", &w, 1) ||
      load(dir, "coop_text_features.npy", &tf_ref, 1) || load(dir, "coop_logits.npy", &lg_ref, 1) ||
      load(dir, "coop_grad.npy", &g_ref, 1))
    exit(1);
  char lp[4096];
  snprintf(lp, sizeof lp, "%s/tiny/golden/coop_labels.npy", dir);
  if (cd_npy_load_labels(lp, &lab, &e)) {
    CHECK(0, "%s", e.msg);
    exit(1);
  }
  snprintf(lp, sizeof lp, "%s/tiny/golden/coop.json", dir);
  cd_json_doc *doc = cd_json_parse_file(lp, 1 << 20, &e);
  CHECK(doc != NULL, "%s", e.msg);
  double loss_ref = doc ? cd_json_get_num(cd_json_root(doc), "loss", NAN) : NAN;
  cd_json_free(doc);

  int n_cls = (int)tok.shape[0], T = (int)tok.shape[1], n_ctx = (int)ctx.shape[0];
  int C = (int)ctx.shape[1], N = (int)feat.shape[0], E = (int)feat.shape[1];
  int32_t *tokens = malloc(sizeof(int32_t) * n_cls * T);
  int lens[16];
  for (int i = 0; i < n_cls * T; i++)
    tokens[i] = tok.dtype == CD_I64 ? (int32_t)((int64_t *)tok.data)[i] : ((int32_t *)tok.data)[i];
  for (int c = 0; c < n_cls; c++) /* SOT ctx name . EOT */
    lens[c] = cd_text_eot_index(tokens + c * T, T) - 1 - n_ctx - 1;
  cd_prompt p;
  if (cd_prompt_init(&p, n_cls, n_ctx, C, 0, CD_CLASS_END, tokens, T, lens, &e)) {
    CHECK(0, "%s", e.msg);
    exit(1);
  }
  /* the tokenizer path must produce the same prompts (CoOp: "X X X X " + name + ".") */
  if (m.tokenizer) {
    char *names[] = {"landbird", "waterbird"};
    cd_prompt q;
    if (cd_prompt_init_text(&q, m.tokenizer, names, 2, n_ctx, NULL, C, 0, CD_CLASS_END, &e)) {
      CHECK(0, "%s", e.msg);
    } else {
      int same = !memcmp(q.tokens, tokens, sizeof(int32_t) * n_cls * T) &&
                 q.name_lens[0] == lens[0] && q.name_lens[1] == lens[1];
      printf("  prompt tokens from class names identical: %s\n", same ? "yes" : "NO");
      CHECK(same, "%s: tokenizer-built prompts differ from coop_tokens.npy", label);
      cd_prompt_free(&q);
    }
  }
  memcpy(p.ctx, ctx.data, sizeof(float) * p.ctx_numel);
  cd_text_train t;
  if (cd_text_train_init(&t, &m, &p, &e)) {
    CHECK(0, "%s", e.msg);
    exit(1);
  }
  float *img = malloc(sizeof(float) * N * E), *logits = malloc(sizeof(float) * N * n_cls);
  float *dtxt = malloc(sizeof(float) * n_cls * E), *grad = calloc(p.ctx_numel, sizeof(float));
  memcpy(img, feat.data, sizeof(float) * N * E);
  cd_l2_normalize_rows(img, N, E);
  cd_text_train_forward(&t, &m, p.ctx);
  double loss = 0;
  CHECK(!cd_coop_loss(img, N, t.features, n_cls, E, m.logit_scale_log, lab.data, w.data, logits,
                      &loss, dtxt, NULL, &e), "%s", e.msg);
  cd_text_train_backward(&t, &m, dtxt, grad);
  printf("%s (%s layout):\n", label, cd_layout_name(m.layout));
  cd_test_close("text features", t.features, tf_ref.data, (size_t)n_cls * E, 1e-4);
  cd_test_close("logits", logits, lg_ref.data, (size_t)N * n_cls, 1e-4);
  float lf = (float)loss, lr = (float)loss_ref;
  cd_test_close("loss", &lf, &lr, 1, 1e-4);
  cd_test_close("d loss / d ctx", grad, g_ref.data, p.ctx_numel, 1e-3);
  free(img), free(logits), free(dtxt), free(grad), free(tokens);
  cd_text_train_free(&t);
  cd_prompt_free(&p);
  cd_array *arrs[] = {&tok, &ctx, &feat, &lab, &w, &tf_ref, &lg_ref, &g_ref};
  for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) cd_array_free(arrs[i]);
  cd_clip_free(&m);
}

int main(void) {
  const char *dir = cd_test_require_reference();
  char path[4096];
  snprintf(path, sizeof path, "%s/tiny", dir);
  run(dir, path, "HF folder");
  snprintf(path, sizeof path, "%s/tiny/openai.safetensors", dir);
  run(dir, path, "openai.safetensors");
  return cd_test_finish("test_coop_reference");
}
