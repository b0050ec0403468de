/* clipdebias tune : CoOp prompt tuning on cached image features, optionally with the sample
 * weighting of DPT, oracle reweighting or GroupDRO over groups (label, attribute). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/datasets/feature_cache.h"
#include "data/groups/groups.h"
#include "models/debias/methods.h"
#include "models/run/run_config.h"
#include "models/embed/embed_dataset.h"
#include "models/debias/train_job.h"
#include "tools/cli/args.h"
#include "tools/cli/cli_model.h"
#include "tools/cli/commands.h"
#include "tools/cli/debias_args.h"

static void print_help(void) {
  printf(
      "usage: clipdebias tune --model M --features F.npy --labels Y.npy --classnames a,b,...\n"
      "         --out ctx.npy [--weights W.npy | --weights-from dpt|oracle|gdro --attrs A.npy]\n"
      "         [--n-ctx 16 | --ctx-init \"a photo of a\"] [--csc] [--position end|middle|front]\n"
      "         [--optim sgd|adam] [--lr 0.002] [--momentum 0.9] [--weight-decay 5e-4]\n"
      "         [--epochs 50] [--batch 32] [--warmup-epochs 1] [--warmup-lr 1e-5] [--seed 1]\n"
      "         [--eta 2] [--ema 0.9] [--dpt-update epoch|step] [--gdro-eta 0.01] [--gdro-adj 0]\n"
      "         [--resume ckpt.npy] [--precision fp32|bf16] [--vocab V] [--threads N]\n"
      "   or: clipdebias tune --model M --cache DIR [--split train|val|test] --out ctx.npy ...\n\n"
      "Learns CoOp context vectors on cached image features (clipdebias embed-image):\n"
      "prompts 'SOT ctx <name> . EOT' (class names comma-separated, '_' -> ' '), loss\n"
      "sum_i w_i CE_i / sum_i w_i with optional per-sample --weights.\n"
      "  --n-ctx      number of context vectors, initialised N(0, 0.02^2) from --seed\n"
      "  --ctx-init   initialise from this phrase's token embeddings (n_ctx = its tokens)\n"
      "  --csc        class-specific contexts [n_cls, n_ctx, width]\n"
      "  --position   class name at the end (default), middle or front of the context\n"
      "  --optim      sgd (momentum, weight decay; CoOp default) or adam (bias-corrected)\n"
      "  --epochs     cosine schedule over this many epochs after a constant warm-up of\n"
      "               --warmup-epochs at --warmup-lr (Dassl ConstantWarmupScheduler)\n"
      "  --batch      minibatch size; samples are reshuffled each epoch from --seed\n"
      "  --weights-from  group weights computed during training over groups g = (label,\n"
      "               attribute) with --attrs A.npy (int [N]; pseudo attributes from\n"
      "               `clipdebias pseudolabel` for dpt, true ones for oracle and gdro):\n"
      "               dpt     w_g ~ exp(eta (1 - mean true-class prob of g)) / N_g, mean 1,\n"
      "                       smoothed w <- ema w + (1 - ema) w_hat after every epoch\n"
      "                       (--dpt-update step: after every step)\n"
      "               oracle  inverse group frequency (dpt with eta 0)\n"
      "               gdro    GroupDRO: q_g <- q_g exp(gdro-eta (loss_g + gdro-adj/sqrt N_g))\n"
      "  --cache      train on a feature cache (clipdebias embed) instead of loose files:\n"
      "               its rows of --split (default train), labels and class names (--classnames\n"
      "               may rename them); --attrs and --weights then hold one value per cache row,\n"
      "               and without --attrs the cache's own attributes are used\n"
      "  --precision  fp32 (default) or bf16: the text tower's weights rounded once to\n"
      "               bfloat16 (half the bytes streamed per step), float32 activations,\n"
      "               gradients and sums; recorded in ctx.json, a resume must match it\n"
      "  --resume     continue from a checkpoint written by tune (its .npy or .json); the\n"
      "               prompt, optimiser, seed and batch settings come from the checkpoint\n"
      "Writes ctx.npy, ctx.optim.npy and ctx.json after every epoch (atomically; with\n"
      "--weights-from also ctx.weights.json), then prints the final training accuracy.\n");
}

typedef struct {
  const char *classes, *out, *ctx_init, *resume, *from, *split;
  cd_feature_input in;
  int n_ctx, csc, position, epochs_set, batch;
  cd_precision precision; /* of the text tower (--precision: fp32 or bf16) */
  long seed;
  cd_optim_config oc;
  cd_debias_params dp;
} tune_args;

static int parse(int argc, char **argv, cd_cli_opts *o, tune_args *a) {
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_common_arg(argc, argv, &i, o);
    if (!r) r = cd_cli_optim_arg(argc, argv, &i, &a->oc, &a->epochs_set);
    if (!r) r = cd_cli_debias_arg(argc, argv, &i, &a->dp);
    if (r < 0) return -1;
    if (r == 1) continue;
    const char *opt = argv[i], **dst = NULL;
    if (cd_arg_is(opt, "--classnames")) dst = &a->classes;
    else if (cd_arg_is(opt, "--features")) dst = &a->in.features;
    else if (cd_arg_is(opt, "--labels")) dst = &a->in.labels;
    else if (cd_arg_is(opt, "--weights")) dst = &a->in.weights;
    else if (cd_arg_is(opt, "--weights-from")) dst = &a->from;
    else if (cd_arg_is(opt, "--attrs")) dst = &a->in.attrs;
    else if (cd_arg_is(opt, "--cache")) dst = &a->in.cache;
    else if (cd_arg_is(opt, "--split")) dst = &a->split;
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
    int k;
    const char *v = cd_arg_value(argc, argv, &i);
    if (!v) return -1;
    if (cd_arg_is(opt, "--n-ctx")) {
      if (cd_arg_int(opt, v, 1, 75, &a->n_ctx)) return -1;
    } else if (cd_arg_is(opt, "--position")) {
      if ((a->position = cd_class_position_parse(v)) < 0)
        return cd_cli_fail("tune: --position must be end, middle or front (got '%s')", v), -1;
    } else if (cd_arg_is(opt, "--batch")) {
      if (cd_arg_int(opt, v, 1, 1 << 24, &a->batch)) return -1;
    } else if (cd_arg_is(opt, "--seed")) {
      if (cd_arg_int(opt, v, 0, 2147483647, &k)) return -1;
      a->seed = k;
    } else {
      return cd_cli_fail("tune: unknown option '%s' (see --help)", opt), -1;
    }
  }
  return 0;
}

static int check_args(const cd_cli_opts *o, tune_args *a, cd_method *method) {
  *method = CD_METHOD_ERM;
  if (a->in.cache && (a->in.features || a->in.labels))
    return cd_cli_fail("tune: --cache and --features/--labels exclude each other (a cache holds both)");
  if (a->split && !a->in.cache) return cd_cli_fail("tune: --split chooses rows of a --cache");
  if (a->split && (a->in.split = cd_feature_cache_split_parse(a->split)) < 0)
    return cd_cli_fail("tune: --split must be train, val or test (got '%s')", a->split);
  if (!o->model || !a->out || (!a->in.cache && (!a->classes || !a->in.features || !a->in.labels)))
    return cd_cli_fail("tune: --model, --classnames, --features, --labels and --out are required "
                       "(or --model, --cache and --out)");
  if (!a->from) return a->in.attrs ? cd_cli_fail("tune: --attrs is used only with --weights-from") : 0;
  int m = cd_method_parse(a->from);
  if (m != CD_METHOD_DPT && m != CD_METHOD_ORACLE && m != CD_METHOD_GDRO)
    return cd_cli_fail("tune: --weights-from must be dpt, oracle or gdro (got '%s')", a->from);
  if (!a->in.attrs && !a->in.cache)
    return cd_cli_fail("tune: --weights-from %s needs --attrs A.npy (the attribute of every sample)", a->from);
  if (a->in.weights) return cd_cli_fail("tune: --weights and --weights-from exclude each other");
  *method = (cd_method)m;
  return 0;
}

static void job_config(const tune_args *a, char **names, int n_cls, cd_train_job_config *c) {
  memset(c, 0, sizeof *c);
  c->head = CD_HEAD_PROMPT;
  c->prompt = (cd_prompt_spec){names, n_cls, a->n_ctx, a->ctx_init, a->csc, (cd_class_position)a->position, 0};
  c->optim = a->oc;
  c->batch = a->batch;
  c->seed = (uint64_t)a->seed;
  c->ckpt = a->out;
  c->precision = a->precision;
}

/* The checkpoint's settings (--resume) and the flags' checks, once the class names are known. */
static int settle(const tune_args *a, cd_train_job_config *c, cd_prompt_ckpt_meta *old, cd_error *e) {
  if (a->resume && cd_train_job_resume_from(c, a->resume, a->epochs_set, old, e)) return -1;
  return cd_run_train_check(&c->optim, &a->dp, c->batch, e);
}

/* Groups (label, attribute) of the training rows for the method's weights. */
static int groups(cd_method method, const tune_args *a, const cd_feature_cache *d, cd_train_job_config *c,
                  int32_t **group, cd_error *e) {
  if (method == CD_METHOD_ERM) return 0;
  int n_attr = d->n_attr > 1 ? d->n_attr : 2;
  c->G = cd_group_count_of(d->n_cls, n_attr);
  if (!(*group = cd_malloc(sizeof(int32_t) * (size_t)d->N, e))) return -1;
  cd_groups_assign(d->y, d->a, NULL, d->N, n_attr, *group);
  for (int i = 0; i < d->N; i++)
    if ((*group)[i] < 0)
      return cd_fail(e, "%s: row %d of the %s split has no attribute; --weights-from %s needs one for every row "
                     "(--attrs A.npy, e.g. from clipdebias pseudolabel)", a->in.cache ? a->in.cache : a->in.attrs, i, a->split ? a->split : "train",
                     a->from);
  c->group = *group;
  cd_method_reweight(method, &a->dp, &c->reweight);
  return 0;
}

static int train(const cd_cli_opts *o, const tune_args *a, cd_method method, cd_train_job_config *c,
                 const cd_feature_cache *d, const float *w, cd_clip *m, cd_error *e) {
  cd_train_job j;
  int32_t *group = NULL;
  char checksum[80];
  cd_model_checksum(m, checksum);
  c->m = m, c->model_path = o->model, c->model_checksum = checksum;
  c->x = d->features, c->y = d->y, c->N = d->N, c->sample_w = w;
  c->progress_label = "tune";
  int rc = groups(method, a, d, c, &group, e) || cd_train_job_init(&j, c, e) ? -1 : 0;
  if (!rc) {
    rc = cd_train_job_begin(&j, c->start_epoch, e) || cd_train_job_run(&j, e) ? -1 : 0;
    double loss, acc;
    if (!rc && !(rc = cd_tune_evaluate(&j.head, d->features, d->y, w, d->N, &loss, &acc, e)))
      printf("epochs %d  steps %ld  final loss %.6f  train accuracy %.2f%%\n", c->optim.max_epoch, j.opt.step, loss,
             100.0 * acc);
    cd_train_job_free(&j);
  }
  free(group);
  return rc;
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
  cd_debias_params_default(&a.dp);
  cd_method method;
  char **names = NULL;
  int n_cls = 0, rc = 1, loaded = 0;
  cd_prompt_ckpt_meta old = {0};
  cd_train_job_config c;
  cd_feature_cache d = {0};
  float *w = NULL;
  cd_clip m;
  cd_error e;
  if (parse(argc, argv, &o, &a) || check_args(&o, &a, &method)) goto done;
  if (o.precision != CD_PREC_FP32 && o.precision != CD_PREC_BF16) {
    cd_cli_fail("tune: --precision must be fp32 or bf16 (got '%s'): the tuning tower keeps bfloat16 weights at most",
                cd_precision_name((cd_precision)o.precision));
    goto done;
  }
  a.precision = (cd_precision)o.precision;
  if (a.classes && cd_parse_classnames(a.classes, &names, &n_cls, &e)) {
    cd_cli_fail("--classnames: %s", e.msg);
    goto done;
  }
  job_config(&a, names, n_cls, &c);
  if (names && settle(&a, &c, &old, &e)) goto fail;
  o.towers = CD_TOWER_TEXT;
  if (cd_cli_load_model(&o, 1, &m)) goto done;
  loaded = 1;
  if (cd_feature_input_load(&a.in, m.embed_dim, n_cls, &d, &w, &e)) goto fail;
  cd_l2_normalize_rows(d.features, d.N, d.D);
  if (!names) { /* the cache's class names */
    if (cd_copy_classnames(d.classnames, d.n_cls, &names, &e)) goto fail;
    n_cls = d.n_cls;
    job_config(&a, names, n_cls, &c);
    if (settle(&a, &c, &old, &e)) goto fail;
  }
  if (!train(&o, &a, method, &c, &d, w, &m, &e)) rc = 0;
fail:
  if (rc) cd_cli_fail("%s", e.msg);
done:
  if (loaded) cd_clip_free(&m);
  free(w);
  cd_feature_cache_free(&d);
  cd_prompt_ckpt_meta_free(&old);
  cd_free_classnames(names, n_cls);
  cd_cli_opts_free(&o);
  return rc;
}
