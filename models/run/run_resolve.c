/* From a configuration to the inputs of a run or a stage command: the cache, the model, and
 * the class names, templates and attribute prompts (flags, else the cache's class names with
 * CoOp's '_' -> ' ' and the dataset's default prompts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/outdir_lock.h"

#include "models/run/run.h"
#include "models/embed/embed_dataset.h"
#include "models/debias/zeroshot.h"

static const char *const DEFAULT_TEMPLATE[1] = {"a photo of a {}."};

static int resolve_attr_prompts(const cd_run_config *c, cd_run_inputs *in, cd_error *e) {
  const cd_feature_cache *cache = &in->cache;
  if (c->n_attr_prompts > 0) {
    in->attr_prompts = c->attr_prompts;
    in->n_attr_prompts = c->n_attr_prompts;
    return 0;
  }
  in->attr_prompts = cd_default_attr_prompts(cache->dataset, &in->n_attr_prompts);
  if (in->attr_prompts) return 0;
  char names[512] = "";
  for (int a = 0; a < cache->n_attr; a++) {
    size_t l = strlen(names);
    snprintf(names + l, sizeof names - l, "%s%d = %s", a ? ", " : "", a, cache->attr_names[a]);
  }
  return cd_fail(e, "data set '%s' has no default attribute prompts: give one --attr-prompt TEXT per value of "
                    "the spurious attribute, in attribute order%s%s%s",
                 cache->dataset, cache->n_attr ? " (" : "", names, cache->n_attr ? ")" : "");
}

static int resolve_classnames(const cd_run_config *c, cd_run_inputs *in, cd_error *e) {
  const cd_feature_cache *cache = &in->cache;
  if (c->classnames) {
    if (cd_parse_classnames(c->classnames, &in->classnames, &in->n_cls, e)) return cd_fail_prefix(e, "--classnames");
    if (in->n_cls != cache->n_cls)
      return cd_fail(e, "--classnames gives %d names, the cache %s has %d classes", in->n_cls, c->cache_dir, cache->n_cls);
    return 0;
  }
  if (cd_copy_classnames(cache->classnames, cache->n_cls, &in->classnames, e)) return -1;
  in->n_cls = cache->n_cls;
  return 0;
}

/* The inputs, with a model already loaded (shared, its checksum sum) or, shared NULL, their own
 * in in->model. */
static int inputs_load(cd_run_inputs *in, const cd_run_config *c, int need_attr_prompts, const cd_clip *shared,
                       const char *sum, cd_error *e) {
  memset(in, 0, sizeof *in);
  if (cd_run_config_check(c, e)) return -1;
  if (!c->cache_dir) return cd_fail(e, "--cache DIR is required (a feature cache written by `clipdebias embed`)");
  if (!c->model) return cd_fail(e, "--model is required (the checkpoint the cache was embedded with)");
  if (cd_feature_cache_load(c->cache_dir, &in->cache, e)) return -1;
  in->templates = c->n_templates ? c->templates : DEFAULT_TEMPLATE;
  in->n_templates = c->n_templates ? c->n_templates : 1;
  cd_clip_load_opts lo = {.vocab_path = c->vocab, .require_tokenizer = 1, .towers = CD_TOWER_TEXT,
                          .text_rows = c->precision}; /* the image features are cached */
  if (resolve_classnames(c, in, e) || (need_attr_prompts && resolve_attr_prompts(c, in, e)) ||
      (!shared && cd_clip_load(&in->model, c->model, &lo, e))) {
    cd_run_inputs_free(in);
    return -1;
  }
  in->model_loaded = !shared;
  if (shared) snprintf(in->model_checksum, sizeof in->model_checksum, "%s", sum);
  else cd_model_checksum(&in->model, in->model_checksum); /* recorded with everything made from these inputs */
  if (cd_cache_model_check(&in->cache, c->cache_dir, shared ? shared : &in->model, in->model_checksum, e)) {
    cd_run_inputs_free(in);
    return -1;
  }
  return 0;
}

int cd_run_inputs_load(cd_run_inputs *in, const cd_run_config *c, int need_attr_prompts, cd_error *e) {
  return inputs_load(in, c, need_attr_prompts, NULL, NULL, e);
}

void cd_run_inputs_free(cd_run_inputs *in) {
  if (in->model_loaded) cd_clip_free(&in->model);
  cd_feature_cache_free(&in->cache);
  cd_free_classnames(in->classnames, in->n_cls);
  memset(in, 0, sizeof *in);
}

/* --dataset: the data set embedded into RUN_DIR/cache (a matching complete cache there is
 * reused, an interrupted one resumed); *cache_dir becomes that folder. */
static int embed_first(const cd_run_config *c, char *cache_dir, size_t cap, FILE *log, cd_error *e) {
  if (cd_path_join(cache_dir, cap, c->out_dir, "cache")) return cd_fail(e, "%s: path too long", c->out_dir);
  cd_dataset d;
  cd_clip m;
  if (cd_dataset_load(c->dataset, &d, e)) return -1;
  if (log) cd_dataset_print(log, &d);
  cd_clip_load_opts lo = {.vocab_path = c->vocab, .towers = CD_TOWER_VISION}; /* only images are embedded */
  if (cd_clip_load(&m, c->model, &lo, e)) return cd_dataset_free(&d), -1;
  cd_embed_dataset_opts eo = {0};
  eo.embed.batch = c->embed_batch;
  eo.embed.skip_bad = c->skip_bad;
  eo.embed.checkpoint_every = 60; /* the same default as `embed` */
  eo.embed.label = "embed";
  eo.embed.log = log ? stderr : NULL;
  cd_embed_dataset_result r;
  int rc = cd_make_dirs(c->out_dir, e) || cd_embed_dataset(&m, &d, cache_dir, &eo, &r, e);
  if (!rc && log)
    fprintf(log, r.reused ? "%s: the cache of this data set and model is already there\n"
                          : "%s: embedded %d images (%d skipped as unreadable)\n",
            cache_dir, r.rows, r.skipped);
  cd_clip_free(&m);
  cd_dataset_free(&d);
  return rc ? -1 : 0;
}

/* One run of cd_run or cd_run_group from its lock to its prepared state (cd_run_prepare). */
typedef struct {
  cd_run_config c;
  char cache_dir[4200];
  cd_outdir_lock lock;
  int locked, loaded, text_ready;
  cd_run_inputs in;
  const cd_clip *m;  /* in.model, or the model of an earlier run of the group */
  cd_run_text text;
  cd_run_resolved res;
  cd_run_prepared *prep;
} run_one;

static void close_one(run_one *r) {
  cd_run_prepared_free(r->prep);
  if (r->text_ready) cd_run_text_free(&r->text);
  if (r->loaded) cd_run_inputs_free(&r->in);
  if (r->locked) cd_outdir_unlock(&r->lock);
  memset(r, 0, sizeof *r);
}

/* What cd_run refuses before it takes the lock. */
static int check_config(const cd_run_config *cfg, cd_error *e) {
  if (!cfg->out_dir) return cd_fail(e, "run: --out RUN_DIR is required");
  if (!cfg->model) return cd_fail(e, "run: --model is required");
  if (!cfg->cache_dir == !cfg->dataset)
    return cd_fail(e, "run: give either --cache CACHE or --dataset NAME --root DIR (embedded into RUN_DIR/cache)");
  return cd_run_config_check(cfg, e); /* before anything is embedded */
}

/* RUN_DIR's lock, the inputs (with the model shared: its checksum sum; NULL: loaded), the text
 * features and cd_run_prepare. */
static int open_one(run_one *r, const cd_run_config *cfg, const cd_clip *shared, const char *sum, FILE *log,
                    cd_error *e) {
  memset(r, 0, sizeof *r);
  r->c = *cfg;
  cd_run_config *c = &r->c;
  if (check_config(cfg, e) || cd_outdir_lock_write(&r->lock, cfg->out_dir, "run", e)) return -1;
  r->locked = 1;
  char marker[64];
  const char *kind = cd_outdir_kind(cfg->out_dir, marker);
  if (kind && strcmp(kind, "a run folder"))
    return cd_fail(e, "%s: is %s (%s is there); run writes a run folder: give it an --out of its own", cfg->out_dir,
                   kind, marker);
  if (c->dataset) {
    if (embed_first(c, r->cache_dir, sizeof r->cache_dir, log, e)) return -1;
    c->cache_dir = r->cache_dir;
  }
  cd_run_inputs *in = &r->in;
  if (inputs_load(in, c, !c->resolve_attr, shared, sum, e)) return -1;
  r->loaded = 1;
  r->m = shared ? shared : &in->model;
  if (log) fprintf(log, "cache %s: %s, %d rows, %d classes; model %s\n", c->cache_dir, in->cache.dataset, in->cache.N,
                   in->cache.n_cls, c->model);
  if (log && c->precision == CD_PREC_BF16)
    fprintf(log, "text tower: --precision bf16, its weights rounded once to bfloat16; float32 activations, gradients and sums\n");
  if (c->resolve_attr && c->resolve_attr(c->resolve_attr_user, in, c->cache_dir, log, e)) return -1;
  if (cd_run_text_prepare(&r->text, r->m, c, in->classnames, in->n_cls, in->templates, in->n_templates,
                          in->attr_prompts, in->n_attr_prompts, e))
    return -1;
  r->text_ready = 1;
  r->res = (cd_run_resolved){c->cache_dir, in->cache.dataset, in->classnames, in->n_cls, in->cache.attr_names,
                             in->cache.n_attr, in->templates, in->n_templates, in->attr_prompts, in->n_attr_prompts,
                             in->cache.N, in->model_checksum, in->cache.index_checksum, in->cache.features_checksum,
                             c->resolve_attr ? "discovered" : "given"};
  r->prep = cd_run_prepare(c, &in->cache, r->m, &r->text, &r->res, log, e);
  return r->prep ? 0 : -1;
}

int cd_run(const cd_run_config *cfg, FILE *log, cd_error *e) {
  run_one r;
  int rc = -1;
  if (!open_one(&r, cfg, NULL, NULL, log, e) && !cd_run_train(&r.prep, 1, &rc, e)) rc = cd_run_finish(r.prep, e);
  close_one(&r);
  return rc;
}

/* An earlier run of the group whose model run i can share (same file, vocabulary and
 * precision), or NULL. */
static const run_one *model_of(const run_one *r, const int *ok, int i, const cd_run_config *c) {
  if (c->resolve_attr) return NULL; /* its hook reads the inputs' own model */
  for (int j = 0; j < i; j++) {
    const cd_run_config *o = &r[j].c;
    if (ok[j] && !strcmp(o->model, c->model) && o->precision == c->precision &&
        (o->vocab ? c->vocab && !strcmp(o->vocab, c->vocab) : !c->vocab))
      return &r[j];
  }
  return NULL;
}

void cd_run_group(const cd_run_config *const *c, int n, FILE *const *logs, int *rc, cd_error *errs) {
  cd_error e;
  run_one *r = cd_calloc((size_t)(n ? n : 1), sizeof *r, &e);
  int *ok = cd_calloc((size_t)(n ? n : 1), sizeof *ok, &e);
  cd_run_prepared **prep = cd_calloc((size_t)(n ? n : 1), sizeof *prep, &e);
  int *trc = cd_calloc((size_t)(n ? n : 1), sizeof *trc, &e), k = 0;
  cd_error *terr = cd_calloc((size_t)(n ? n : 1), sizeof *terr, &e);
  for (int i = 0; i < n; i++) {
    rc[i] = -1;
    if (!r || !ok || !prep || !trc || !terr) {
      errs[i] = e;
      continue;
    }
    const run_one *o = model_of(r, ok, i, c[i]);
    ok[i] = !open_one(&r[i], c[i], o ? o->m : NULL, o ? o->in.model_checksum : NULL, logs[i], &errs[i]);
    if (ok[i]) prep[k++] = r[i].prep;
  }
  if (k) cd_run_train(prep, k, trc, terr);
  for (int i = 0, j = 0; i < n; i++) {
    if (!ok[i]) continue;
    if (trc[j]) errs[i] = terr[j];
    else rc[i] = cd_run_finish(r[i].prep, &errs[i]);
    j++;
  }
  for (int i = n - 1; r && i >= 0; i--) close_one(&r[i]); /* the runs that share a model before its owner */
  free(r), free(ok), free(prep), free(trc), free(terr);
}
