/* clipdebias tune : CoOp prompt tuning on cached image features, optionally with the sample
 * weighting of DPT, oracle reweighting or GroupDRO over groups (label, attribute). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/features/feature_set.h"
#include "data/groups/groups.h"
#include "models/debias/methods.h"
#include "models/debias/reweight.h"
#include "models/run/run_config.h"
#include "models/embed/embed_dataset.h"
#include "models/tuning/prompt_ckpt.h"
#include "models/tuning/tune_session.h"
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
      "         [--resume ckpt.npy] [--vocab V] [--threads N]\n\n"
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
      "  --resume     continue from a checkpoint written by tune (its .npy or .json); the\n"
      "               prompt, optimiser, seed and batch settings come from the checkpoint\n"
      "Writes ctx.npy, ctx.optim.npy and ctx.json after every epoch (atomically; with\n"
      "--weights-from also ctx.weights.json), then prints the final training accuracy.\n");
}

typedef struct {
  const char *classes, *feat, *labels, *weights, *attrs, *out, *ctx_init, *resume, *from;
  int n_ctx, csc, position, epochs_set, batch;
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
    else if (cd_arg_is(opt, "--features")) dst = &a->feat;
    else if (cd_arg_is(opt, "--labels")) dst = &a->labels;
    else if (cd_arg_is(opt, "--weights")) dst = &a->weights;
    else if (cd_arg_is(opt, "--weights-from")) dst = &a->from;
    else if (cd_arg_is(opt, "--attrs")) dst = &a->attrs;
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

static int check_args(const cd_cli_opts *o, const tune_args *a, cd_method *method) {
  *method = CD_METHOD_ERM;
  if (!o->model || !a->classes || !a->feat || !a->labels || !a->out)
    return cd_cli_fail("tune: --model, --classnames, --features, --labels and --out are required");
  if (!a->from) return a->attrs ? cd_cli_fail("tune: --attrs is used only with --weights-from") : 0;
  int m = cd_method_parse(a->from);
  if (m != CD_METHOD_DPT && m != CD_METHOD_ORACLE && m != CD_METHOD_GDRO)
    return cd_cli_fail("tune: --weights-from must be dpt, oracle or gdro (got '%s')", a->from);
  if (!a->attrs) return cd_cli_fail("tune: --weights-from %s needs --attrs A.npy (the attribute of every sample)", a->from);
  if (a->weights) return cd_cli_fail("tune: --weights and --weights-from exclude each other");
  *method = (cd_method)m;
  return 0;
}

/* Settings of the checkpoint replace the command line's, except --epochs. */
static int apply_resume(tune_args *a, char **names, int n_cls, cd_prompt_ckpt_meta *old) {
  cd_error e;
  if (cd_prompt_ckpt_load_meta(a->resume, old, &e) || cd_prompt_ckpt_refuse_projected(a->resume, old, &e))
    return cd_cli_fail("%s", e.msg), -1;
  int same = old->n_cls == n_cls;
  for (int c = 0; same && c < n_cls; c++) same = !strcmp(old->classnames[c], names[c]);
  if (!same) return cd_cli_fail("tune: --resume %s was trained on other class names", a->resume), -1;
  int max_epoch = a->epochs_set ? a->oc.max_epoch : old->optim.max_epoch;
  a->oc = old->optim;
  a->oc.max_epoch = max_epoch;
  a->n_ctx = old->n_ctx, a->csc = old->csc, a->position = old->position;
  a->ctx_init = old->ctx_init[0] ? old->ctx_init : NULL;
  a->seed = (long)old->seed, a->batch = old->batch;
  return 0;
}

/* Groups (label, attribute) and the method's weights: fresh from the initial context's
 * probabilities, or the saved state of the resumed epoch. */
static int setup_weights(cd_method method, const tune_args *a, cd_feature_set *d, cd_head *h,
                         int start_epoch, int32_t **group, cd_reweight *rw, char *state_path,
                         cd_error *e) {
  int n_attr = d->n_attr > 1 ? d->n_attr : 2;
  int G = cd_group_count_of(h->C, n_attr);
  *group = cd_malloc(sizeof(int32_t) * (size_t)d->N, e);
  if (!*group) return -1;
  cd_groups_assign(d->labels, d->attrs, NULL, d->N, n_attr, *group);
  cd_reweight_params rp;
  cd_method_reweight(method, &a->dp, &rp);
  if (cd_reweight_init(rw, &rp, *group, d->N, G, e)) return -1;
  if (cd_reweight_state_path(a->out, state_path, 4200)) return cd_fail(e, "%s: path too long", a->out);
  rw->state_path = state_path;
  if (a->resume) {
    char old_state[4200];
    if (cd_reweight_state_path(a->resume, old_state, sizeof old_state)) return cd_fail(e, "%s: path too long", a->resume);
    return cd_reweight_load(rw, old_state, start_epoch, e);
  }
  double *p = cd_malloc(sizeof(double) * (size_t)d->N, e);
  if (!p || cd_head_predict(h, d->x, d->N, d->labels, NULL, p, NULL, e)) return free(p), -1;
  cd_reweight_start(rw, p);
  free(p);
  return cd_reweight_save(rw, state_path, start_epoch, e);
}

static int train(const cd_cli_opts *o, tune_args *a, cd_method method, char **names, int n_cls,
                 int start_epoch, cd_clip *m) {
  cd_error e;
  cd_prompt p = {0};
  cd_optim opt = {0};
  cd_feature_set d = {0};
  cd_head h = {0};
  cd_tune_session s = {0};
  cd_reweight rw = {0};
  int32_t *group = NULL;
  char state_path[4200];
  int rc = -1;
  cd_prompt_spec spec = {names, n_cls, a->n_ctx, a->ctx_init, a->csc,
                         (cd_class_position)a->position, (uint64_t)a->seed};
  if (cd_prompt_setup(&p, m, &spec, &e) || cd_optim_init(&opt, &a->oc, p.ctx_numel, &e) ||
      (a->resume && cd_prompt_ckpt_load_state(a->resume, &p, &opt, &e)) ||
      cd_feature_set_load(a->feat, a->labels, a->weights, a->attrs, m->embed_dim, n_cls, &d, &e) ||
      cd_head_init_prompt(&h, m, &p, &e))
    goto out;
  cd_l2_normalize_rows(d.x, d.N, d.E);
  if (method != CD_METHOD_ERM &&
      setup_weights(method, a, &d, &h, start_epoch, &group, &rw, state_path, &e))
    goto out;
  cd_prompt_ckpt_meta meta = {names, n_cls, p.n_ctx, p.csc, p.width, p.position, "", "",
                              opt.step, start_epoch, (uint64_t)a->seed, a->batch, a->oc, 0, ""};
  snprintf(meta.ctx_init, sizeof meta.ctx_init, "%s", a->ctx_init ? a->ctx_init : "");
  snprintf(meta.model, sizeof meta.model, "%s", o->model);
  cd_model_checksum(m, meta.model_checksum);
  cd_tune_data td = {d.x, d.labels, d.weights, d.N, a->batch, (uint64_t)a->seed};
  cd_tune_hooks hk = {0};
  hk.progress_label = "tune";
  hk.ckpt_path = a->out;
  hk.meta = &meta;
  if (method != CD_METHOD_ERM) {
    hk.batch_weights = cd_reweight_batch_hook;
    hk.epoch_end = cd_reweight_epoch_hook;
    hk.user = &rw;
  }
  if (cd_tune_session_init(&s, &h, &opt, &td, start_epoch, &e)) goto out;
  if (!a->resume) cd_tune_diverged_clear(a->out); /* a fresh training replaces the checkpoint */
  if ((start_epoch >= a->oc.max_epoch && cd_prompt_ckpt_save(a->out, &meta, &p, &opt, &e)) ||
      cd_tune_session_run(&s, a->oc.max_epoch, &hk, &e)) {
    cd_error keep = e;
    if (s.diverged && cd_tune_diverged_save(a->out, &s, keep.msg, &e)) goto out;
    if (s.diverged)
      snprintf(e.msg, sizeof e.msg, "%.700s; %s keeps epoch %d, the last finished one, marked diverged", keep.msg, a->out,
               s.epoch);
    goto out;
  }
  double loss, acc;
  if (cd_tune_evaluate(&h, d.x, d.labels, d.weights, d.N, &loss, &acc, &e)) goto out;
  printf("epochs %d  steps %ld  final loss %.6f  train accuracy %.2f%%\n", a->oc.max_epoch,
         opt.step, loss, 100.0 * acc);
  rc = 0;
out:
  if (rc) cd_cli_fail("%s", e.msg);
  cd_tune_session_free(&s);
  cd_reweight_free(&rw);
  free(group);
  cd_head_free(&h);
  cd_feature_set_free(&d);
  cd_optim_free(&opt);
  cd_prompt_free(&p);
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
  int n_cls = 0, rc = 1;
  cd_prompt_ckpt_meta old = {0};
  cd_clip m;
  cd_error e;
  if (parse(argc, argv, &o, &a) || check_args(&o, &a, &method)) goto done;
  if (cd_parse_classnames(a.classes, &names, &n_cls, &e)) {
    cd_cli_fail("--classnames: %s", e.msg);
    goto done;
  }
  if (a.resume && cd_tune_diverged_refuse(a.resume, &e)) {
    cd_cli_fail("%s", e.msg);
    goto done;
  }
  if (a.resume && apply_resume(&a, names, n_cls, &old)) goto done;
  if (cd_run_train_check(&a.oc, &a.dp, a.batch, &e)) {
    cd_cli_fail("%s", e.msg);
    goto done;
  }
  o.towers = CD_TOWER_TEXT;
  if (cd_cli_load_model(&o, 1, &m)) goto done;
  rc = train(&o, &a, method, names, n_cls, old.epoch, &m) ? 1 : 0;
  cd_clip_free(&m);
done:
  cd_prompt_ckpt_meta_free(&old);
  cd_free_classnames(names, n_cls);
  cd_cli_opts_free(&o);
  return rc;
}
