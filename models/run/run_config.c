/* Run configuration: defaults, list options, args.json and the resume check (see run_config.h). */
#include "models/run/run_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/pool.h"
#include "models/debias/jsonw.h"
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

static void key(FILE *fp, const char *k) {
  fprintf(fp, ",\n    \"%s\": ", k);
}

/* The baselines' settings (JTT's resolved from the data set when not given). */
static void write_baselines(FILE *fp, const cd_run_config *c, const cd_run_resolved *r) {
  const cd_debias_params *d = &c->debias;
  int T;
  double up;
  cd_jtt_resolve(d->jtt_epochs, d->jtt_up, r->dataset, &T, &up);
  fprintf(fp, ",\n    \"jtt_epochs\": %d", T);
  key(fp, "jtt_up");
  cd_jw_num(fp, up);
  key(fp, "dfr_c");
  fputc('[', fp);
  for (int k = 0; k < d->n_dfr_c; k++) fprintf(fp, "%s%.17g", k ? ", " : "", d->dfr_c[k]);
  fputc(']', fp);
  fprintf(fp, ",\n    \"dfr_fits\": %d", d->dfr_fits);
  key(fp, "orth_lambda");
  cd_jw_num(fp, d->orth_lambda);
  key(fp, "cali_prompts");
  cd_jw_strings(fp, (char *const *)c->cali_prompts, c->n_cali_prompts);
}

static void write_training(FILE *fp, const cd_run_config *c, const cd_run_resolved *r) {
  const cd_optim_config *o = &c->optim;
  fprintf(fp, "{\n    \"dataset\": ");
  cd_json_write_string(fp, r->dataset);
  key(fp, "cache");
  cd_json_write_string(fp, r->cache_dir);
  key(fp, "rows");
  fprintf(fp, "%d", r->n_rows);
  key(fp, "model");
  cd_json_write_string(fp, c->model);
  key(fp, "model_checksum");
  cd_json_write_string(fp, r->model_checksum ? r->model_checksum : "");
  key(fp, "classnames");
  cd_jw_strings(fp, r->classnames, r->n_cls);
  key(fp, "attr_names");
  cd_jw_strings(fp, r->attr_names, r->n_attr);
  key(fp, "templates");
  cd_jw_strings(fp, (char *const *)r->templates, r->n_templates);
  key(fp, "attr_prompts");
  cd_jw_strings(fp, (char *const *)r->attr_prompts, r->n_attr_prompts);
  key(fp, "head");
  fprintf(fp, "\"%s\"", cd_head_kind_name(c->head));
  key(fp, "select");
  fprintf(fp, "\"%s\"", cd_select_name(c->select));
  int random_init = !c->ctx_init || !*c->ctx_init;
  key(fp, "n_ctx");
  if (random_init) fprintf(fp, "%d", c->n_ctx);
  else fputs("null", fp);
  key(fp, "ctx_init");
  cd_json_write_string(fp, random_init ? "" : c->ctx_init);
  fprintf(fp, ",\n    \"csc\": %s,\n    \"position\": \"%s\"", c->csc ? "true" : "false",
          cd_class_position_name(c->position));
  fprintf(fp, ",\n    \"optim\": \"%s\"", cd_optim_kind_name(o->kind));
  const char *names[] = {"lr", "momentum", "weight_decay", "warmup_lr", "adam_beta1", "adam_beta2", "adam_eps",
                         "eta", "ema", "oracle_eta", "gdro_eta", "gdro_adj"};
  const cd_debias_params *d = &c->debias;
  const double vals[] = {o->lr, o->momentum, o->weight_decay, o->warmup_lr, o->beta1, o->beta2, o->eps,
                         d->eta, d->ema, 0.0, d->gdro_eta, d->gdro_adj};
  for (int k = 0; k < (int)(sizeof vals / sizeof vals[0]); k++) {
    if (k >= 4 && k <= 6 && o->kind != CD_OPTIM_ADAM) continue;
    key(fp, names[k]);
    cd_jw_num(fp, vals[k]);
  }
  if (c->precision != CD_PREC_FP32) key(fp, "precision"), fprintf(fp, "\"%s\"", cd_precision_name(c->precision));
  key(fp, "dims");
  if (c->dims) fprintf(fp, "%d", c->dims);
  else fputs("\"full\"", fp);
  if (c->dims) {
    key(fp, "reduce");
    fprintf(fp, "\"%s\"", cd_reduce_name(c->reduce));
    if (c->reduce == CD_REDUCE_RANDOM) key(fp, "reduce_seed"), fprintf(fp, "%llu", (unsigned long long)c->reduce_seed);
  }
  write_baselines(fp, c, r);
  fprintf(fp, ",\n    \"epochs\": %d,\n    \"warmup_epochs\": %d,\n    \"batch\": %d,\n"
              "    \"dpt_update\": \"%s\",\n"
              "    \"loss\": \"sum_i w_i CE_i / sum_i w_i (erm, dpt, oracle); sum_g q_g loss_g (gdro)\",\n"
              "    \"weights_normalisation\": \"mean per-sample weight over the training set = 1\"\n  }",
          o->max_epoch, o->warmup_epochs, c->batch, d->update == CD_DPT_STEP ? "step" : "epoch");
}

void cd_run_config_write_json(FILE *fp, const cd_run_config *c, const cd_run_resolved *r) {
  fprintf(fp, "{\n  \"version\": 1,\n  \"command\": \"run\",\n  \"cache\": ");
  cd_json_write_string(fp, r->cache_dir);
  fprintf(fp, ",\n  \"dataset_root\": ");
  if (c->dataset && c->dataset->root) cd_json_write_string(fp, c->dataset->root);
  else fputs("null", fp);
  fprintf(fp, ",\n  \"model\": ");
  cd_json_write_string(fp, c->model);
  fprintf(fp, ",\n  \"out\": ");
  cd_json_write_string(fp, c->out_dir);
  fprintf(fp, ",\n  \"methods\": [");
  for (int i = 0; i < c->n_methods; i++) fprintf(fp, "%s\"%s\"", i ? ", " : "", cd_method_name(c->methods[i]));
  fprintf(fp, "],\n  \"seeds\": ");
  cd_jw_int32s(fp, (const int32_t *)c->seeds, c->n_seeds);
  fprintf(fp, ",\n  \"threads\": %d,\n  \"provenance\": {\"model_checksum\": ", c->threads);
  cd_jw_str_or_null(fp, r->model_checksum);
  fputs(", \"index_checksum\": ", fp);
  cd_jw_str_or_null(fp, r->index_checksum);
  fputs(", \"features_checksum\": ", fp);
  cd_jw_str_or_null(fp, r->features_checksum);
  fputs("},\n  \"training\": ", fp);
  write_training(fp, c, r);
  fputs("\n}\n", fp);
}

static int json_equal(const cd_json *a, const cd_json *b) {
  if (a->type != b->type) return 0;
  switch (a->type) {
    case CD_JSON_NULL: return 1;
    case CD_JSON_BOOL: return a->boolean == b->boolean;
    case CD_JSON_NUMBER: return a->number == b->number;
    case CD_JSON_STRING: return a->len == b->len && !memcmp(a->str, b->str, a->len);
    case CD_JSON_ARRAY:
    case CD_JSON_OBJECT:
      if (a->n != b->n) return 0;
      for (size_t i = 0; i < a->n; i++) {
        if (a->type == CD_JSON_OBJECT && strcmp(a->keys[i], b->keys[i])) return 0;
        if (!json_equal(&a->items[i], &b->items[i])) return 0;
      }
      return 1;
  }
  return 0;
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
    if (!v || !json_equal(v, &tn->items[i]))
      rc = cd_fail(e, "%s: the run there used another \"%s\"; finished pairs cannot be reused. "
                   "Use another --out or remove that directory", path, tn->keys[i]);
  }
  cd_json_free(cur);
  cd_json_free(old);
  return rc;
}
