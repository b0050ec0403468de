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

int cd_run_inputs_load(cd_run_inputs *in, const cd_run_config *c, int need_attr_prompts, cd_error *e) {
  memset(in, 0, sizeof *in);
  if (cd_run_config_check(c, e)) return -1;
  if (!c->cache_dir) return cd_fail(e, "--cache DIR is required (a feature cache written by `clipdebias embed`)");
  if (!c->model) return cd_fail(e, "--model is required (the checkpoint the cache was embedded with)");
  if (cd_feature_cache_load(c->cache_dir, &in->cache, e)) return -1;
  in->templates = c->n_templates ? c->templates : DEFAULT_TEMPLATE;
  in->n_templates = c->n_templates ? c->n_templates : 1;
  cd_clip_load_opts lo = {.vocab_path = c->vocab, .require_tokenizer = 1, .towers = CD_TOWER_TEXT,
                          .text_rows = c->precision}; /* the image features are cached */
  if (resolve_classnames(c, in, e) || (need_attr_prompts && resolve_attr_prompts(c, in, e))) {
    cd_run_inputs_free(in);
    return -1;
  }
  if (cd_clip_load(&in->model, c->model, &lo, e)) {
    cd_run_inputs_free(in);
    return -1;
  }
  in->model_loaded = 1;
  char *sum = in->model_checksum;
  cd_model_checksum(&in->model, sum); /* recorded with everything made from these inputs */
  if (cd_cache_model_check(&in->cache, c->cache_dir, &in->model, sum, e)) {
    cd_run_inputs_free(in);
    return -1;
  }
  return 0;
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

/* The whole run under RUN_DIR's lock (cd_run takes it). */
static int run_locked(const cd_run_config *cfg, FILE *log, cd_error *e) {
  cd_run_config c = *cfg;
  char cache_dir[4200];
  if (c.dataset) {
    if (embed_first(&c, cache_dir, sizeof cache_dir, log, e)) return -1;
    c.cache_dir = cache_dir;
  }
  cd_run_inputs in;
  cd_run_text text;
  if (cd_run_inputs_load(&in, &c, !c.resolve_attr, e)) return -1;
  if (log) fprintf(log, "cache %s: %s, %d rows, %d classes; model %s\n", c.cache_dir, in.cache.dataset, in.cache.N,
                   in.cache.n_cls, c.model);
  if (log && c.precision == CD_PREC_BF16)
    fprintf(log, "text tower: --precision bf16, its weights rounded once to bfloat16; float32 activations, gradients and sums\n");
  if (c.resolve_attr && c.resolve_attr(c.resolve_attr_user, &in, c.cache_dir, log, e)) {
    cd_run_inputs_free(&in);
    return -1;
  }
  int rc = cd_run_text_prepare(&text, &in.model, &c, in.classnames, in.n_cls, in.templates, in.n_templates,
                               in.attr_prompts, in.n_attr_prompts, e);
  if (!rc) {
    cd_run_resolved res = {c.cache_dir, in.cache.dataset, in.classnames, in.n_cls, in.cache.attr_names,
                           in.cache.n_attr, in.templates, in.n_templates, in.attr_prompts, in.n_attr_prompts,
                           in.cache.N, in.model_checksum, in.cache.index_checksum, in.cache.features_checksum,
                           c.resolve_attr ? "discovered" : "given"};
    rc = cd_run_execute(&c, &in.cache, &in.model, &text, &res, log, e);
    cd_run_text_free(&text);
  }
  cd_run_inputs_free(&in);
  return rc;
}

int cd_run(const cd_run_config *cfg, FILE *log, cd_error *e) {
  if (!cfg->out_dir) return cd_fail(e, "run: --out RUN_DIR is required");
  if (!cfg->model) return cd_fail(e, "run: --model is required");
  if (!cfg->cache_dir == !cfg->dataset)
    return cd_fail(e, "run: give either --cache CACHE or --dataset NAME --root DIR (embedded into RUN_DIR/cache)");
  if (cd_run_config_check(cfg, e)) return -1; /* before anything is embedded */
  cd_outdir_lock lock;
  if (cd_outdir_lock_write(&lock, cfg->out_dir, "run", e)) return -1;
  char marker[64];
  const char *kind = cd_outdir_kind(cfg->out_dir, marker);
  int rc = kind && strcmp(kind, "a run folder")
               ? cd_fail(e, "%s: is %s (%s is there); run writes a run folder: give it an --out of its own", cfg->out_dir, kind,
                         marker)
               : run_locked(cfg, log, e);
  cd_outdir_unlock(&lock);
  return rc;
}
