/* clipdebias prompt-grad : CoOp loss and d loss / d context for given context vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "data/datasets/feature_cache.h"
#include "models/tuning/coop_loss.h"
#include "models/tuning/prompt.h"
#include "models/tuning/text_train.h"
#include "tools/cli/args.h"
#include "tools/cli/cli_model.h"
#include "tools/cli/commands.h"

static void print_help(void) {
  printf(
      "usage: clipdebias prompt-grad --model M --classnames a,b,... --n-ctx K --ctx C.npy\n"
      "         (--features F.npy --labels Y.npy | --cache DIR [--split train|val|test])\n"
      "         [--weights W.npy] [--csc]\n"
      "         [--position end|middle|front] [--ctx-init PHRASE] --out-grad G.npy\n"
      "         [--vocab V] [--threads N]\n\n"
      "CoOp prompts 'X X ... X <name>.' (or '<ctx-init phrase> <name>.') with the K context\n"
      "vectors of C.npy ([K, width], or [n_cls, K, width] with --csc) in place of the X\n"
      "embeddings; class names are comma-separated, '_' becomes ' '. Computes\n"
      "  logits = exp(logit_scale) * cos(image feature, text feature)\n"
      "  loss   = sum_i w_i CE(logits_i, y_i) / sum_i w_i   (w_i = 1 without --weights)\n"
      "prints 'loss <value>' and writes d loss / d ctx (float32, shape of C.npy) to G.npy.\n"
      "  --features  float32 [N, embed] image features (normalised here)\n"
      "  --labels    int32/int64 [N] class indices\n"
      "  --cache     a feature cache (clipdebias embed) instead: its rows of --split\n"
      "              (default train) and their labels\n"
      "  --weights   float [N] per-sample weights (with --cache: one per cache row)\n"
      "  --position  where the class name goes (default end)\n");
}

int cd_cmd_prompt_grad(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_cli_opts o = {0};
  const char *classes = NULL, *ctx_path = NULL, *out = NULL, *ctx_init = NULL, *split = NULL;
  cd_feature_input in = {0};
  int n_ctx = 0, csc = 0, position = CD_CLASS_END, rc = 1;
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_common_arg(argc, argv, &i, &o);
    if (r < 0) goto done;
    if (r == 1) continue;
    const char **dst = NULL;
    if (cd_arg_is(argv[i], "--classnames")) dst = &classes;
    else if (cd_arg_is(argv[i], "--ctx")) dst = &ctx_path;
    else if (cd_arg_is(argv[i], "--features")) dst = &in.features;
    else if (cd_arg_is(argv[i], "--labels")) dst = &in.labels;
    else if (cd_arg_is(argv[i], "--weights")) dst = &in.weights;
    else if (cd_arg_is(argv[i], "--cache")) dst = &in.cache;
    else if (cd_arg_is(argv[i], "--split")) dst = &split;
    else if (cd_arg_is(argv[i], "--out-grad")) dst = &out;
    else if (cd_arg_is(argv[i], "--ctx-init")) dst = &ctx_init;
    if (dst) {
      if (!(*dst = cd_arg_value(argc, argv, &i))) goto done;
    } else if (cd_arg_is(argv[i], "--csc")) {
      csc = 1;
    } else if (cd_arg_is(argv[i], "--n-ctx")) {
      const char *v = cd_arg_value(argc, argv, &i);
      if (!v || cd_arg_int("--n-ctx", v, 1, 75, &n_ctx)) goto done;
    } else if (cd_arg_is(argv[i], "--position")) {
      const char *v = cd_arg_value(argc, argv, &i);
      if (!v) goto done;
      if ((position = cd_class_position_parse(v)) < 0) {
        cd_cli_fail("prompt-grad: --position must be end, middle or front (got '%s')", v);
        goto done;
      }
    } else {
      cd_cli_fail("prompt-grad: unknown option '%s' (see --help)", argv[i]);
      goto done;
    }
  }
  if (in.cache && (in.features || in.labels)) {
    cd_cli_fail("prompt-grad: --cache and --features/--labels exclude each other (a cache holds both)");
    goto done;
  }
  if (split && (!in.cache || (in.split = cd_feature_cache_split_parse(split)) < 0)) {
    cd_cli_fail("prompt-grad: --split must be train, val or test and goes with --cache (got '%s')", split);
    goto done;
  }
  if (!o.model || !classes || !ctx_path || !out || (!in.cache && (!in.features || !in.labels)) ||
      (!n_ctx && !(ctx_init && *ctx_init))) {
    cd_cli_fail("prompt-grad: --model, --classnames, --n-ctx (or --ctx-init), --ctx, "
                "--features, --labels (or --cache) and --out-grad are required");
    goto done;
  }
  cd_error e;
  char **names = NULL;
  int n_cls = 0;
  if (cd_parse_classnames(classes, &names, &n_cls, &e)) {
    cd_cli_fail("--classnames: %s", e.msg);
    goto done;
  }
  cd_clip m;
  o.towers = CD_TOWER_TEXT;
  if (cd_cli_load_model(&o, 1, &m)) {
    cd_free_classnames(names, n_cls);
    goto done;
  }
  cd_prompt p = {0};
  cd_text_train t = {0};
  cd_feature_cache d = {0};
  cd_array ca = {0};
  float *dtxt = NULL, *grad = NULL, *w = NULL;
  int C = m.text.tf.width;
  if (cd_prompt_init_text(&p, m.tokenizer, names, n_cls, n_ctx, ctx_init, C, csc,
                          (cd_class_position)position, &e)) {
    cd_cli_fail("%s", e.msg);
    goto out;
  }
  if (n_ctx && p.n_ctx != n_ctx) {
    cd_cli_fail("prompt-grad: --ctx-init has %d tokens but --n-ctx is %d", p.n_ctx, n_ctx);
    goto out;
  }
  if (cd_npy_load_f32(ctx_path, 0, &ca, &e)) {
    cd_cli_fail("%s", e.msg);
    goto out;
  }
  int want_nd = csc ? 3 : 2;
  int64_t want[3] = {n_cls, p.n_ctx, C};
  const int64_t *ws = csc ? want : want + 1;
  if (ca.ndim != want_nd || memcmp(ca.shape, ws, sizeof(int64_t) * want_nd)) {
    if (csc) cd_cli_fail("%s: context must be [%d, %d, %d] float32", ctx_path, n_cls, p.n_ctx, C);
    else cd_cli_fail("%s: context must be [%d, %d] float32", ctx_path, p.n_ctx, C);
    goto out;
  }
  memcpy(p.ctx, ca.data, sizeof(float) * p.ctx_numel);
  if (cd_feature_input_load(&in, m.embed_dim, n_cls, &d, &w, &e)) {
    cd_cli_fail("%s", e.msg);
    goto out;
  }
  cd_l2_normalize_rows(d.features, d.N, d.D);
  if (cd_text_train_init(&t, &m, &p, &e)) {
    cd_cli_fail("%s", e.msg);
    goto out;
  }
  dtxt = malloc(sizeof(float) * (size_t)n_cls * m.embed_dim);
  grad = calloc(p.ctx_numel, sizeof(float));
  if (!dtxt || !grad) {
    cd_cli_fail("out of memory");
    goto out;
  }
  cd_text_train_forward(&t, &m, p.ctx);
  double loss;
  if (cd_coop_loss(d.features, d.N, t.features, n_cls, m.embed_dim, m.logit_scale_log, d.y, w, NULL, &loss,
                   dtxt, NULL, &e)) {
    cd_cli_fail("%s", e.msg);
    goto out;
  }
  cd_text_train_backward(&t, &m, dtxt, grad);
  if (cd_npy_save_f32(out, want_nd, ws, grad, &e)) {
    cd_cli_fail("%s", e.msg);
    goto out;
  }
  printf("loss %.9g\n", loss);
  rc = 0;
out:
  free(dtxt);
  free(grad);
  cd_array_free(&ca);
  free(w);
  cd_feature_cache_free(&d);
  cd_text_train_free(&t);
  cd_prompt_free(&p);
  cd_free_classnames(names, n_cls);
  cd_clip_free(&m);
done:
  cd_cli_opts_free(&o);
  return rc;
}
