/* The public API's runs: "name=value" options onto a run configuration, then the library's
 * cd_run (models/run/run.h), which is what `clipdebias run --cache` calls. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "models/api/api_internal.h"
#include "models/run/run.h"

static int num(const char *name, const char *v, double *out, cd_error *e) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (end == v || *end || errno || !isfinite(x)) return cd_fail(e, "option %s=%s: not a number", name, v);
  *out = x;
  return 0;
}

static int whole(const char *name, const char *v, int lo, int *out, cd_error *e) {
  double x = 0;
  if (num(name, v, &x, e)) return -1;
  if (x != floor(x) || x < lo || x > 1 << 24) return cd_fail(e, "option %s=%s: not an integer >= %d", name, v, lo);
  *out = (int)x;
  return 0;
}

/* An enumerated option: parse(v) >= 0, else a message listing the choices. */
static int choice(const char *name, const char *v, int (*parse)(const char *), const char *choices, int *out,
                  cd_error *e) {
  int k = parse(v);
  if (k < 0) return cd_fail(e, "option %s=%s: must be %s", name, v, choices);
  *out = k;
  return 0;
}

static int dpt_update_parse(const char *v) { return !strcmp(v, "epoch") ? CD_DPT_EPOCH : !strcmp(v, "step") ? CD_DPT_STEP : -1; }
static int on_off_parse(const char *v) { return !strcmp(v, "on") ? 1 : !strcmp(v, "off") ? 0 : -1; }
static int bool_parse(const char *v) { return !strcmp(v, "1") ? 1 : !strcmp(v, "0") ? 0 : -1; }

static int list_add(const char *name, const char *v, const char **list, int *n, cd_error *e) {
  if (*n == CD_RUN_MAX_LIST) return cd_fail(e, "option %s given more than %d times", name, CD_RUN_MAX_LIST);
  list[(*n)++] = v;
  return 0;
}

/* The real-valued options: name -> field. */
static double *real_field(cd_run_config *c, const char *k) {
  static const char *const names[] = {"lr", "momentum", "weight-decay", "warmup-lr", "eta", "ema", "gdro-eta", "gdro-adj"};
  double *fields[] = {&c->optim.lr, &c->optim.momentum, &c->optim.weight_decay, &c->optim.warmup_lr,
                      &c->debias.eta, &c->debias.ema, &c->debias.gdro_eta, &c->debias.gdro_adj};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (!strcmp(k, names[i])) return fields[i];
  return NULL;
}

static int set_option(cd_run_config *c, const char *k, const char *v, int *n_ctx_set, cd_error *e) {
  double *d = real_field(c, k);
  int x = 0, rc = 0;
  if (d) return num(k, v, d, e);
  if (!strcmp(k, "methods")) return cd_run_config_set_methods(c, v, e);
  if (!strcmp(k, "seeds")) return cd_run_config_set_seeds(c, v, e);
  if (!strcmp(k, "classnames")) return c->classnames = v, 0;
  if (!strcmp(k, "vocab")) return c->vocab = v, 0;
  if (!strcmp(k, "ctx-init")) return c->ctx_init = v, 0;
  if (!strcmp(k, "template")) return list_add(k, v, c->templates, &c->n_templates, e);
  if (!strcmp(k, "attr-prompt")) return list_add(k, v, c->attr_prompts, &c->n_attr_prompts, e);
  if (!strcmp(k, "n-ctx")) return *n_ctx_set = 1, whole(k, v, 1, &c->n_ctx, e);
  if (!strcmp(k, "epochs")) return whole(k, v, 1, &c->optim.max_epoch, e);
  if (!strcmp(k, "warmup-epochs")) return whole(k, v, 0, &c->optim.warmup_epochs, e);
  if (!strcmp(k, "batch")) return whole(k, v, 1, &c->batch, e);
  if (!strcmp(k, "dims")) return !strcmp(v, "full") ? (c->dims = 0) : whole(k, v, 2, &c->dims, e);
  if (!strcmp(k, "reduce-seed")) {
    rc = whole(k, v, 0, &x, e);
    c->reduce_seed = (uint64_t)x;
    return rc;
  }
  if (!strcmp(k, "select")) rc = choice(k, v, cd_select_parse, "val-pseudo, val-true or last", &x, e), c->select = (cd_select_kind)x;
  else if (!strcmp(k, "head")) rc = choice(k, v, cd_head_kind_parse, "prompt or linear", &x, e), c->head = (cd_head_kind)x;
  else if (!strcmp(k, "position")) rc = choice(k, v, cd_class_position_parse, "end, middle or front", &x, e), c->position = (cd_class_position)x;
  else if (!strcmp(k, "reduce")) rc = choice(k, v, cd_reduce_parse, "pca, random or truncate", &x, e), c->reduce = (cd_reduce_kind)x;
  else if (!strcmp(k, "optim")) rc = choice(k, v, cd_optim_parse_kind, "sgd or adam", &x, e), c->optim.kind = (cd_optim_kind)x;
  else if (!strcmp(k, "dpt-update")) rc = choice(k, v, dpt_update_parse, "epoch or step", &x, e), c->debias.update = (cd_dpt_update)x;
  else if (!strcmp(k, "lockstep")) rc = choice(k, v, on_off_parse, "on or off", &c->lockstep, e);
  else if (!strcmp(k, "csc")) rc = choice(k, v, bool_parse, "0 or 1", &c->csc, e);
  else rc = cd_fail(e, "option '%s': unknown (the run command's option names without --)", k);
  return rc;
}

/* Fills c from the defaults and options[0..n); values point into options (keep them alive). */
static int configure(cd_run_config *c, char *const *keys, const char *const *options, int n, cd_error *e) {
  int n_ctx_set = 0, ctx_init_set = 0;
  for (int i = 0; i < n; i++) {
    const char *eq = strchr(options[i], '=');
    if (!eq) return cd_fail(e, "option '%s': not name=value", options[i]);
    if (set_option(c, keys[i], eq + 1, &n_ctx_set, e)) return -1;
    ctx_init_set |= !strcmp(keys[i], "ctx-init");
  }
  if (n_ctx_set && !ctx_init_set) c->ctx_init = ""; /* n-ctx alone: a random context, as the command */
  return cd_run_config_check(c, e);
}

/* The option names, split off at '=' (keys[i] malloc'd). */
static char **split_keys(const char *const *options, int n, cd_error *e) {
  char **keys = cd_calloc((size_t)(n > 0 ? n : 1), sizeof(char *), e);
  for (int i = 0; keys && i < n; i++) {
    const char *eq = strchr(options[i], '=');
    size_t len = eq ? (size_t)(eq - options[i]) : strlen(options[i]);
    if (!(keys[i] = strndup(options[i], len))) return cd_free_classnames(keys, i), cd_fail(e, "out of memory"), NULL;
  }
  return keys;
}

/* Runs with the configuration the options give, plus methods/seeds forced when non-NULL. */
static int run_with(const char *model_path, const char *cache_dir, const char *run_dir, const char *const *options,
                    int n, const char *methods, const char *seeds, FILE *log, cd_error *e) {
  cd_run_config c;
  cd_run_config_default(&c);
  c.model = model_path, c.cache_dir = cache_dir, c.out_dir = run_dir;
  char **keys = split_keys(options, n, e);
  if (!keys) return -1;
  int rc = configure(&c, keys, options, n, e) || (methods && cd_run_config_set_methods(&c, methods, e)) ||
           (seeds && cd_run_config_set_seeds(&c, seeds, e)) || cd_run(&c, log, e);
  cd_free_classnames(keys, n);
  return rc ? -1 : 0;
}

int clipdebias_run(const char *model_path, const char *cache_dir, const char *run_dir, const char *const *options,
                   int n_options, FILE *log, char *err, size_t errcap) {
  cd_error e;
  return run_with(model_path, cache_dir, run_dir, options, n_options, NULL, NULL, log, &e) ? cd_api_report(&e, err, errcap) : 0;
}

int clipdebias_tune(const char *model_path, const char *cache_dir, const char *run_dir, const char *method, int seed,
                    const char *const *options, int n_options, FILE *log, char *ctx_path, size_t ctxcap, char *err,
                    size_t errcap) {
  cd_error e;
  int m = cd_method_parse(method);
  if (m < 0 || (m != CD_METHOD_ERM && m != CD_METHOD_DPT && m != CD_METHOD_ORACLE && m != CD_METHOD_GDRO)) {
    cd_fail(&e, "method '%s': prompt tuning takes erm, dpt, oracle or gdro", method);
    return cd_api_report(&e, err, errcap);
  }
  char seeds[16];
  snprintf(seeds, sizeof seeds, "%d", seed);
  if (run_with(model_path, cache_dir, run_dir, options, n_options, method, seeds, log, &e)) return cd_api_report(&e, err, errcap);
  if (ctx_path && snprintf(ctx_path, ctxcap, "%s/%s/seed%d/ctx_selected.npy", run_dir, method, seed) >= (int)ctxcap) {
    cd_fail(&e, "%s: path too long", run_dir);
    return cd_api_report(&e, err, errcap);
  }
  return 0;
}
