/* Run configuration: defaults, list options, args.json and the resume check (see run_config.h). */
#include "models/run/run_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/json_write.h"
#include "core/pool.h"
#include "models/debias/jtt.h"

void cd_run_config_default(cd_run_config *c) {
  memset(c, 0, sizeof *c);
  const cd_method m[4] = {CD_METHOD_ZEROSHOT, CD_METHOD_ERM, CD_METHOD_DPT, CD_METHOD_ORACLE};
  memcpy(c->methods, m, sizeof m);
  c->n_methods = 4;
  for (int s = 0; s < 3; s++) c->seeds[s] = s;
  c->n_seeds = 3;
  c->select = CD_SELECT_VAL_PSEUDO;
  c->head = CD_HEAD_PROMPT;
  c->n_ctx = 16;
  c->ctx_init = "a photo of a";
  c->position = CD_CLASS_END;
  cd_optim_config_default(&c->optim);
  c->batch = 32;
  c->embed_batch = 32;
  c->lockstep = 1;
  cd_debias_params_default(&c->debias);
}

/* Calls item(text, user) for each comma-separated, space-trimmed item of list. */
static int each_item(const char *flag, const char *list, int (*item)(const char *s, void *u, cd_error *e),
                     void *u, cd_error *e) {
  char buf[64];
  for (const char *p = list;;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    while (n && (*p == ' ')) p++, n--;
    while (n && p[n - 1] == ' ') n--;
    if (n == 0) return cd_fail(e, "%s \"%s\": an empty item (give a comma-separated list such as %s)", flag, list,
                               !strcmp(flag, "--seeds") ? "0,1,2" : "zeroshot,erm,dpt");
    if (n >= sizeof buf) return cd_fail(e, "%s: the item '%.40s...' is too long", flag, p);
    memcpy(buf, p, n);
    buf[n] = 0;
    if (item(buf, u, e)) return -1;
    if (!end) return 0;
    p = end + 1;
  }
}

static int add_method(const char *s, void *u, cd_error *e) {
  cd_run_config *c = u;
  int m = cd_method_parse(s);
  if (m < 0) return cd_fail(e, "--methods: unknown method '%s' (%s)", s, cd_method_names());
  for (int i = 0; i < c->n_methods; i++)
    if (c->methods[i] == (cd_method)m) return cd_fail(e, "--methods: '%s' is listed twice", s);
  c->methods[c->n_methods++] = (cd_method)m;
  return 0;
}

int cd_run_config_set_methods(cd_run_config *c, const char *list, cd_error *e) {
  c->n_methods = 0;
  return each_item("--methods", list, add_method, c, e);
}

static int add_seed(const char *s, void *u, cd_error *e) {
  cd_run_config *c = u;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || v < 0 || v > 2147483647) return cd_fail(e, "--seeds: '%s' is not a seed (an integer >= 0)", s);
  if (c->n_seeds == CD_RUN_MAX_LIST) return cd_fail(e, "--seeds: at most %d seeds", CD_RUN_MAX_LIST);
  for (int i = 0; i < c->n_seeds; i++)
    if (c->seeds[i] == v) return cd_fail(e, "--seeds: %ld is listed twice", v);
  c->seeds[c->n_seeds++] = (int)v;
  return 0;
}

int cd_run_config_set_seeds(cd_run_config *c, const char *list, cd_error *e) {
  c->n_seeds = 0;
  return each_item("--seeds", list, add_seed, c, e);
}

/* ---- settings without a sensible meaning ----------------------------------------------- */

int cd_run_train_check(const cd_optim_config *o, const cd_debias_params *d, int batch, cd_error *e) {
  if (!(o->lr > 0) || !isfinite(o->lr))
    return cd_fail(e, "--lr %g: the learning rate must be a finite number above 0 (at 0 nothing is learnt)", o->lr);
  if (!(o->momentum >= 0 && o->momentum < 1))
    return cd_fail(e, "--momentum %g: momentum must be in [0, 1); %s", o->momentum,
                   o->momentum < 0 ? "a negative momentum turns the previous steps against the gradient"
                                   : "at 1 or above the velocity grows without bound and training diverges");
  if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay))
    return cd_fail(e, "--weight-decay %g: weight decay must be a finite number >= 0", o->weight_decay);
  if (!(o->warmup_lr >= 0) || !isfinite(o->warmup_lr))
    return cd_fail(e, "--warmup-lr %g: the warm-up learning rate must be a finite number >= 0", o->warmup_lr);
  if (o->max_epoch < 1) return cd_fail(e, "--epochs %d: at least 1 epoch", o->max_epoch);
  if (o->warmup_epochs < 0) return cd_fail(e, "--warmup-epochs %d: must be >= 0", o->warmup_epochs);
  if (o->warmup_epochs > 0 && o->warmup_epochs >= o->max_epoch)
    return cd_fail(e, "--warmup-epochs %d with --epochs %d: every epoch would be a warm-up epoch at --warmup-lr "
                   "and --lr would never be used; give --warmup-epochs below --epochs (0: no warm-up)",
                   o->warmup_epochs, o->max_epoch);
  if (batch < 1) return cd_fail(e, "--batch %d: at least 1 sample per batch", batch);
  if (!(d->eta >= 0) || !isfinite(d->eta))
    return cd_fail(e, "--eta %g: must be a finite number >= 0 (0: inverse group frequency only)", d->eta);
  if (!(d->ema >= 0 && d->ema < 1))
    return cd_fail(e, "--ema %g: the smoothing factor must be in [0, 1); at 1 the weights would never move "
                   "from their start", d->ema);
  if (!(d->gdro_eta >= 0) || !isfinite(d->gdro_eta)) return cd_fail(e, "--gdro-eta %g: must be a finite number >= 0", d->gdro_eta);
  if (!(d->gdro_adj >= 0) || !isfinite(d->gdro_adj)) return cd_fail(e, "--gdro-adj %g: must be a finite number >= 0", d->gdro_adj);
  return 0;
}

static int blank(const char *s) {
  while (*s && isspace((unsigned char)*s)) s++;
  return *s == 0;
}

static int check_attr_prompts(const cd_run_config *c, cd_error *e) {
  for (int i = 0; i < c->n_attr_prompts; i++) {
    if (blank(c->attr_prompts[i]))
      return cd_fail(e, "--attr-prompt number %d is empty; each attribute value needs a prompt that names it", i + 1);
    for (int j = 0; j < i; j++)
      if (!strcmp(c->attr_prompts[i], c->attr_prompts[j]))
        return cd_fail(e, "--attr-prompt \"%s\" is given twice (numbers %d and %d); identical prompts cannot tell "
                       "the attribute values apart", c->attr_prompts[i], j + 1, i + 1);
  }
  return 0;
}

int cd_run_config_check(const cd_run_config *c, cd_error *e) {
  if (cd_run_train_check(&c->optim, &c->debias, c->batch, e)) return -1;
  if (c->n_methods < 1) return cd_fail(e, "--methods: no method given");
  if (c->n_seeds < 1) return cd_fail(e, "--seeds: no seed given");
  if (c->threads && cd_threads_check(c->threads, e)) return -1;
  if (c->n_ctx < 1) return cd_fail(e, "--n-ctx %d: at least 1 context vector", c->n_ctx);
  if (c->embed_batch < 1) return cd_fail(e, "--embed-batch %d: at least 1 image per batch", c->embed_batch);
  return check_attr_prompts(c, e);
}

/* ---- args.json ------------------------------------------------------------------------- */

/* The baselines' settings (JTT's resolved from the data set when not given). */
static void write_baselines(cd_jw *w, const cd_run_config *c, const cd_run_resolved *r) {
  const cd_debias_params *d = &c->debias;
  int T;
  double up;
  cd_jtt_resolve(d->jtt_epochs, d->jtt_up, r->dataset, &T, &up);
  cd_jw_kint(w, "jtt_epochs", T);
  cd_jw_knum(w, "jtt_up", up);
  cd_jw_key(w, "dfr_c");
  cd_jw_arr(w);
  for (int k = 0; k < d->n_dfr_c; k++) cd_jw_g17(w, d->dfr_c[k]);
  cd_jw_end(w);
  cd_jw_kint(w, "dfr_fits", d->dfr_fits);
  cd_jw_knum(w, "orth_lambda", d->orth_lambda);
  cd_jw_key(w, "cali_prompts");
  cd_jw_strs(w, c->cali_prompts, c->n_cali_prompts);
}

static void write_training(cd_jw *w, const cd_run_config *c, const cd_run_resolved *r) {
  const cd_optim_config *o = &c->optim;
  cd_jw_obj_block(w);
  cd_jw_kstr(w, "dataset", r->dataset);
  cd_jw_kstr(w, "cache", r->cache_dir);
  cd_jw_kint(w, "rows", r->n_rows);
  cd_jw_kstr(w, "model", c->model);
  cd_jw_kstr(w, "model_checksum", r->model_checksum ? r->model_checksum : "");
  cd_jw_key(w, "classnames");
  cd_jw_strs(w, (const char *const *)r->classnames, r->n_cls);
  cd_jw_key(w, "attr_names");
  cd_jw_strs(w, (const char *const *)r->attr_names, r->n_attr);
  cd_jw_key(w, "templates");
  cd_jw_strs(w, r->templates, r->n_templates);
  cd_jw_key(w, "attr_prompts");
  cd_jw_strs(w, r->attr_prompts, r->n_attr_prompts);
  cd_jw_kstr(w, "head", cd_head_kind_name(c->head));
  cd_jw_kstr(w, "select", cd_select_name(c->select));
  int random_init = !c->ctx_init || !*c->ctx_init;
  cd_jw_key(w, "n_ctx");
  if (random_init) cd_jw_int(w, c->n_ctx);
  else cd_jw_null(w);
  cd_jw_kstr(w, "ctx_init", random_init ? "" : c->ctx_init);
  cd_jw_kbool(w, "csc", c->csc);
  cd_jw_kstr(w, "position", cd_class_position_name(c->position));
  cd_jw_kstr(w, "optim", cd_optim_kind_name(o->kind));
  const char *names[] = {"lr", "momentum", "weight_decay", "warmup_lr", "adam_beta1", "adam_beta2", "adam_eps",
                         "eta", "ema", "oracle_eta", "gdro_eta", "gdro_adj"};
  const cd_debias_params *d = &c->debias;
  const double vals[] = {o->lr, o->momentum, o->weight_decay, o->warmup_lr, o->beta1, o->beta2, o->eps,
                         d->eta, d->ema, 0.0, d->gdro_eta, d->gdro_adj};
  for (int k = 0; k < (int)(sizeof vals / sizeof vals[0]); k++) {
    if (k >= 4 && k <= 6 && o->kind != CD_OPTIM_ADAM) continue;
    cd_jw_knum(w, names[k], vals[k]);
  }
  if (c->precision != CD_PREC_FP32) cd_jw_kstr(w, "precision", cd_precision_name(c->precision));
  cd_jw_key(w, "dims");
  if (c->dims) cd_jw_int(w, c->dims);
  else cd_jw_str(w, "full");
  if (c->dims) {
    cd_jw_kstr(w, "reduce", cd_reduce_name(c->reduce));
    if (c->reduce == CD_REDUCE_RANDOM) cd_jw_key(w, "reduce_seed"), cd_jw_uint(w, c->reduce_seed);
  }
  write_baselines(w, c, r);
  cd_jw_kint(w, "epochs", o->max_epoch);
  cd_jw_kint(w, "warmup_epochs", o->warmup_epochs);
  cd_jw_kint(w, "batch", c->batch);
  cd_jw_kstr(w, "dpt_update", d->update == CD_DPT_STEP ? "step" : "epoch");
  cd_jw_kstr(w, "loss", "sum_i w_i CE_i / sum_i w_i (erm, dpt, oracle); sum_g q_g loss_g (gdro)");
  cd_jw_kstr(w, "weights_normalisation", "mean per-sample weight over the training set = 1");
  cd_jw_end(w);
}

void cd_run_config_write_json(FILE *fp, const cd_run_config *c, const cd_run_resolved *r) {
  cd_jw w;
  cd_jw_init(&w, fp);
  cd_jw_obj_block(&w);
  cd_jw_kint(&w, "version", 1);
  cd_jw_kstr(&w, "command", "run");
  cd_jw_kstr(&w, "cache", r->cache_dir);
  cd_jw_key(&w, "dataset_root");
  if (c->dataset && c->dataset->root) cd_jw_str(&w, c->dataset->root);
  else cd_jw_null(&w);
  cd_jw_kstr(&w, "model", c->model);
  cd_jw_kstr(&w, "out", c->out_dir);
  cd_jw_key(&w, "methods");
  cd_jw_arr(&w);
  for (int i = 0; i < c->n_methods; i++) cd_jw_str(&w, cd_method_name(c->methods[i]));
  cd_jw_end(&w);
  cd_jw_key(&w, "seeds");
  cd_jw_int32s(&w, (const int32_t *)c->seeds, c->n_seeds);
  cd_jw_kint(&w, "threads", c->threads);
  cd_jw_key(&w, "provenance");
  cd_jw_obj(&w);
  cd_jw_kstr_or_null(&w, "model_checksum", r->model_checksum);
  cd_jw_kstr_or_null(&w, "index_checksum", r->index_checksum);
  cd_jw_kstr_or_null(&w, "features_checksum", r->features_checksum);
  cd_jw_end(&w);
  cd_jw_key(&w, "training");
  write_training(&w, c, r);
  cd_jw_end(&w);
  fputc('\n', fp);
}

/* The finished pairs of RUN_DIR came from one model and one cache: a rerun on other weights or
 * another cache (same shape: nothing else would notice) is refused, naming both. A RUN_DIR
 * from before provenance was recorded is not checked. */
static int check_provenance(const char *path, const cd_json *was, const cd_json *now, cd_error *e) {
  static const char *const keys[3] = {"model_checksum", "index_checksum", "features_checksum"};
  static const char *const what[3] = {"another model", "a cache with other rows", "a cache with other features"};
  for (int k = 0; was && now && k < 3; k++) {
    const char *a = cd_json_get_str(was, keys[k], ""), *b = cd_json_get_str(now, keys[k], "");
    if (a[0] && b[0] && strcmp(a, b))
      return cd_fail(e, "%s: the run there used %s (%s %s, now %s); finished pairs cannot be reused. Use another --out "
                        "or remove that directory", path, what[k], keys[k], a, b);
  }
  return 0;
}

/* "precision" is written only when not fp32 (float32 runs keep their files as they were), so
 * its absence on either side means fp32: checked both ways, never mixed. */
static int check_precision(const char *path, const cd_json *was, const cd_json *now, cd_error *e) {
  const char *a = was ? cd_json_get_str(was, "precision", "fp32") : "fp32";
  const char *b = now ? cd_json_get_str(now, "precision", "fp32") : "fp32";
  if (!strcmp(a, b)) return 0;
  return cd_fail(e, "%s: the run there was trained with --precision %s, this one asks for %s; pairs are never resumed "
                    "or mixed across precisions. Pass --precision %s, use another --out or remove that directory",
                 path, a, b, a);
}

int cd_run_config_check_resume(const char *path, const char *new_json, cd_error *e) {
  cd_json_doc *old = cd_json_parse_file(path, 1 << 24, e);
  if (!old) return -1;
  cd_json_doc *cur = cd_json_parse(new_json, strlen(new_json), "new configuration", e);
  int rc = cur ? 0 : -1;
  const cd_json *to = cur ? cd_json_get(cd_json_root(old), "training") : NULL;
  const cd_json *tn = cur ? cd_json_get(cd_json_root(cur), "training") : NULL;
  if (cur && (!to || to->type != CD_JSON_OBJECT))
    rc = cd_fail(e, "%s: no \"training\" object; this directory was not written by run", path);
  if (!rc) rc = check_provenance(path, cd_json_get(cd_json_root(old), "provenance"), cd_json_get(cd_json_root(cur), "provenance"), e);
  if (!rc) rc = check_precision(path, to, tn, e);
  for (size_t i = 0; !rc && tn && i < tn->n; i++) {
    const cd_json *v = cd_json_get(to, tn->keys[i]);
    if (!v || !cd_json_equal(v, &tn->items[i]))
      rc = cd_fail(e, "%s: the run there used another \"%s\"; finished pairs cannot be reused. "
                   "Use another --out or remove that directory", path, tn->keys[i]);
  }
  cd_json_free(cur);
  cd_json_free(old);
  return rc;
}
