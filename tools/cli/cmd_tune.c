/* clipdebias tune : CoOp prompt tuning on cached image features. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "models/tuning/coop_train.h"
#include "models/tuning/prompt.h"
#include "models/tuning/prompt_ckpt.h"
#include "tools/cli/args.h"
#include "tools/cli/cli_common.h"
#include "tools/cli/commands.h"
#include "tools/cli/coop_common.h"

static void print_help(void) {
  printf(
      "usage: clipdebias tune --model M --features F.npy --labels Y.npy --classnames a,b,...\n"
      "         --out ctx.npy [--weights W.npy] [--n-ctx 16 | --ctx-init \"a photo of a\"]\n"
      "         [--csc] [--position end|middle|front] [--optim sgd|adam] [--lr 0.002]\n"
      "         [--momentum 0.9] [--weight-decay 5e-4] [--epochs 50] [--batch 32]\n"
      "         [--warmup-epochs 1] [--warmup-lr 1e-5] [--seed 1] [--resume ckpt.npy]\n"
      "         [--vocab V] [--threads N]\n\n"
      "Learns CoOp context vectors on cached image features (clipdebias embed-image):\n"
      "prompts 'SOT ctx <name> . EOT' (class names comma-separated, '_' -> ' '), loss\n"
      "sum_i w_i CE_i / sum_i w_i with optional per-sample --weights (Debiased Prompt Tuning).\n"
      "  --n-ctx      number of context vectors, initialised N(0, 0.02^2) from --seed\n"
      "  --ctx-init   initialise from this phrase's token embeddings (n_ctx = its tokens)\n"
      "  --csc        class-specific contexts [n_cls, n_ctx, width]\n"
      "  --position   class name at the end (default), middle or front of the context\n"
      "  --optim      sgd (momentum, weight decay; CoOp default) or adam (bias-corrected)\n"
      "  --epochs     cosine schedule over this many epochs after a constant warm-up of\n"
      "               --warmup-epochs at --warmup-lr (Dassl ConstantWarmupScheduler)\n"
      "  --batch      minibatch size; samples are reshuffled each epoch from --seed\n"
      "  --resume     continue from a checkpoint written by tune (its .npy or .json); the\n"
      "               prompt, optimiser, seed and batch settings come from the checkpoint\n"
      "Writes ctx.npy, ctx.optim.npy and ctx.json after every epoch (atomically), then prints\n"
      "the final training accuracy.\n");
}

typedef struct {
  const char *classes, *feat, *labels, *weights, *out, *ctx_init, *resume;
  int n_ctx, csc, position, epochs_set, seed_set;
  long seed;
  int batch;
  cd_optim_config oc;
} tune_args;

static int parse(int argc, char **argv, cd_cli_opts *o, tune_args *a) {
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_common_arg(argc, argv, &i, o);
    if (r < 0) return -1;
    if (r == 1) continue;
    const char *opt = argv[i], **dst = NULL;
    if (cd_arg_is(opt, "--classnames")) dst = &a->classes;
    else if (cd_arg_is(opt, "--features")) dst = &a->feat;
    else if (cd_arg_is(opt, "--labels")) dst = &a->labels;
    else if (cd_arg_is(opt, "--weights")) dst = &a->weights;
    else if (cd_arg_is(opt, "--out")) dst = &a->out;
    else if (cd_arg_is(opt, "--ctx-init")) dst = &a->ctx_init;
    else if (cd_arg_is(opt, "--resume")) dst = &a->resume;
    if (dst) {
      if (!(*dst = cd_arg_value(argc, argv, &i))) return -1;
      continue;
    }
    if (cd_arg_is(opt, "--csc")) {
      a->csc = 1;
      continue;
    }
    const char *v = cd_arg_value(argc, argv, &i);
    if (!v) return -1;
    double x;
    int k;
    if (cd_arg_is(opt, "--n-ctx")) {
      if (cd_arg_int(opt, v, 1, 75, &a->n_ctx)) return -1;
    } else if (cd_arg_is(opt, "--position")) {
      if ((a->position = cd_class_position_parse(v)) < 0)
        return cd_cli_fail("tune: --position must be end, middle or front (got '%s')", v), -1;
    } else if (cd_arg_is(opt, "--optim")) {
      if ((k = cd_optim_parse_kind(v)) < 0)
        return cd_cli_fail("tune: --optim must be sgd or adam (got '%s')", v), -1;
      a->oc.kind = (cd_optim_kind)k;
    } else if (cd_arg_is(opt, "--epochs")) {
      if (cd_arg_int(opt, v, 1, 1000000, &a->oc.max_epoch)) return -1;
      a->epochs_set = 1;
    } else if (cd_arg_is(opt, "--batch")) {
      if (cd_arg_int(opt, v, 1, 1 << 24, &a->batch)) return -1;
    } else if (cd_arg_is(opt, "--warmup-epochs")) {
      if (cd_arg_int(opt, v, 0, 1000000, &a->oc.warmup_epochs)) return -1;
    } else if (cd_arg_is(opt, "--seed")) {
      if (cd_arg_int(opt, v, 0, 2147483647, &k)) return -1;
      a->seed = k;
    } else if (cd_arg_is(opt, "--lr") || cd_arg_is(opt, "--warmup-lr") ||
               cd_arg_is(opt, "--momentum") || cd_arg_is(opt, "--weight-decay")) {
      if (cd_arg_float(opt, v, &x)) return -1;
      if (!(x >= 0) || x > 1e3) return cd_cli_fail("tune: %s %s out of range", opt, v), -1;
      if (cd_arg_is(opt, "--lr")) a->oc.lr = x;
      else if (cd_arg_is(opt, "--warmup-lr")) a->oc.warmup_lr = x;
      else if (cd_arg_is(opt, "--momentum")) a->oc.momentum = x;
      else a->oc.weight_decay = x;
    } else {
      return cd_cli_fail("tune: unknown option '%s' (see --help)", opt), -1;
    }
  }
  return 0;
}

int cd_cmd_tune(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_cli_opts o = {0};
  tune_args a = {0};
  a.n_ctx = 16;
  a.seed = 1;
  a.batch = 32;
  a.position = CD_CLASS_END;
  cd_optim_config_default(&a.oc);
  int rc = 1;
  if (parse(argc, argv, &o, &a)) goto done;
  if (!o.model || !a.classes || !a.feat || !a.labels || !a.out) {
    cd_cli_fail("tune: --model, --classnames, --features, --labels and --out are required");
    goto done;
  }
  cd_error e;
  char **names = NULL;
  int n_cls = 0, start_epoch = 0;
  if (cd_parse_classnames(a.classes, &names, &n_cls, &e)) {
    cd_cli_fail("--classnames: %s", e.msg);
    goto done;
  }
  cd_prompt_ckpt_meta meta = {0}, old = {0};
  if (a.resume) {
    if (cd_prompt_ckpt_load_meta(a.resume, &old, &e)) {
      cd_cli_fail("%s", e.msg);
      cd_free_classnames(names, n_cls);
      goto done;
    }
    int same = old.n_cls == n_cls;
    for (int c = 0; same && c < n_cls; c++) same = !strcmp(old.classnames[c], names[c]);
    if (!same) {
      cd_cli_fail("tune: --resume %s was trained on other class names", a.resume);
      cd_prompt_ckpt_meta_free(&old);
      cd_free_classnames(names, n_cls);
      goto done;
    }
    int max_epoch = a.epochs_set ? a.oc.max_epoch : old.optim.max_epoch;
    a.oc = old.optim;
    a.oc.max_epoch = max_epoch;
    a.n_ctx = old.n_ctx, a.csc = old.csc, a.position = old.position;
    a.ctx_init = old.ctx_init[0] ? old.ctx_init : NULL;
    a.seed = (long)old.seed, a.batch = old.batch;
    start_epoch = old.epoch;
  }
  cd_clip m;
  o.towers = CD_TOWER_TEXT;
  if (cd_cli_load_model(&o, 1, &m)) {
    cd_prompt_ckpt_meta_free(&old);
    cd_free_classnames(names, n_cls);
    goto done;
  }
  cd_prompt p = {0};
  cd_optim opt = {0};
  cd_coop_data d = {0};
  if (cd_prompt_init_text(&p, m.tokenizer, names, n_cls, a.n_ctx, a.ctx_init, m.text.tf.width,
                          a.csc, (cd_class_position)a.position, &e) ||
      cd_optim_init(&opt, &a.oc, p.ctx_numel, &e)) {
    cd_cli_fail("%s", e.msg);
    goto out;
  }
  if (a.resume) {
    if (cd_prompt_ckpt_load_state(a.resume, &p, &opt, &e)) {
      cd_cli_fail("%s", e.msg);
      goto out;
    }
  } else if (a.ctx_init && *a.ctx_init) {
    if (cd_prompt_init_from_embeddings(&p, m.text.tok_emb, m.text.vocab_size, &e)) {
      cd_cli_fail("%s", e.msg);
      goto out;
    }
  } else {
    cd_prompt_init_random(&p, (uint64_t)a.seed, 0.02f);
  }
  if (cd_coop_data_load(a.feat, a.labels, a.weights, m.embed_dim, n_cls, &d)) goto out;
  meta.classnames = names;
  meta.n_cls = n_cls;
  meta.n_ctx = p.n_ctx;
  meta.csc = p.csc;
  meta.width = p.width;
  meta.position = p.position;
  snprintf(meta.ctx_init, sizeof meta.ctx_init, "%s", a.ctx_init ? a.ctx_init : "");
  snprintf(meta.model, sizeof meta.model, "%s", o.model);
  meta.seed = (uint64_t)a.seed;
  meta.batch = a.batch;
  meta.optim = a.oc;
  meta.epoch = start_epoch;
  meta.step = opt.step;
  cd_coop_train_opts to = {d.img_n, d.labels, d.weights, d.N, a.batch, (uint64_t)a.seed,
                           start_epoch, a.oc.max_epoch, a.out, &meta, 1, NULL, 0};
  cd_coop_train_result res;
  if (start_epoch >= a.oc.max_epoch) {
    /* nothing left to train: still write the requested output */
    if (cd_prompt_ckpt_save(a.out, &meta, &p, &opt, &e)) {
      cd_cli_fail("%s", e.msg);
      goto out;
    }
  }
  if (cd_coop_train(&m, &p, &opt, &to, &res, &e)) {
    cd_cli_fail("%s", e.msg);
    goto out;
  }
  printf("epochs %d  steps %ld  final loss %.6f  train accuracy %.2f%%\n", a.oc.max_epoch,
         opt.step, res.final_loss, 100.0 * res.train_acc);
  rc = 0;
out:
  cd_coop_data_free(&d);
  cd_optim_free(&opt);
  cd_prompt_free(&p);
  cd_clip_free(&m);
  cd_prompt_ckpt_meta_free(&old);
  cd_free_classnames(names, n_cls);
done:
  cd_cli_opts_free(&o);
  return rc;
}
