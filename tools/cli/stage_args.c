#include "tools/cli/stage_args.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cpu.h"
#include "core/file.h"
#include "core/json.h"
#include "data/datasets/feature_cache.h"
#include "tools/cli/args.h"

static int push(const char *opt, const char *v, const char **list, int *n) {
  if (*n == CD_RUN_MAX_LIST) return cd_cli_fail("%s given more than %d times", opt, CD_RUN_MAX_LIST), -1;
  list[(*n)++] = v;
  return 0;
}

int cd_stage_parse(int argc, char **argv, const char *command, int accepts, cd_run_config *c, const char **ctx) {
  cd_run_config_default(c);
  *ctx = NULL;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v = cd_arg_value(argc, argv, &i);
    if (!v) return -1;
    int r = 0;
    if (cd_arg_is(opt, "--cache")) c->cache_dir = v;
    else if (cd_arg_is(opt, "--model")) c->model = v;
    else if (cd_arg_is(opt, "--vocab")) c->vocab = v;
    else if (cd_arg_is(opt, "--out")) c->out_dir = v;
    else if (cd_arg_is(opt, "--threads")) r = cd_arg_threads(v, &c->threads);
    else if ((accepts & CD_STAGE_CLASSNAMES) && cd_arg_is(opt, "--classnames")) c->classnames = v;
    else if ((accepts & CD_STAGE_TEMPLATES) && cd_arg_is(opt, "--template")) r = push(opt, v, c->templates, &c->n_templates);
    else if ((accepts & CD_STAGE_ATTR_PROMPTS) && cd_arg_is(opt, "--attr-prompt"))
      r = push(opt, v, c->attr_prompts, &c->n_attr_prompts);
    else if ((accepts & CD_STAGE_CTX) && cd_arg_is(opt, "--ctx")) *ctx = v;
    else return cd_cli_fail("%s: unknown option '%s' (see --help)", command, opt), -1;
    if (r) return -1;
  }
  if (!c->cache_dir || !c->model || !c->out_dir || ((accepts & CD_STAGE_CTX) && !*ctx))
    return cd_cli_fail("%s: --cache, --model%s and --out are required", command, (accepts & CD_STAGE_CTX) ? ", --ctx" : ""), -1;
  return 0;
}

int cd_stage_lock_out(cd_outdir_lock *l, const char *out, int out_is_file, const char *command) {
  char dir[4200];
  cd_error e;
  snprintf(dir, sizeof dir, "%s", out);
  if (out_is_file) {
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == dir) dir[1] = 0;
    else *slash = 0;
  }
  if (cd_outdir_lock_write(l, dir, command, &e)) return cd_cli_fail("%s", e.msg), -1;
  char marker[64];
  const char *kind = out_is_file ? NULL : cd_outdir_kind(dir, marker);
  if (kind && strcmp(kind, "the output of eval or zeroshot")) {
    cd_outdir_unlock(l);
    return cd_cli_fail("%s: is %s (%s is there); %s writes predictions.npy and metrics.json: give it an --out of its own",
                       dir, kind, marker, command), -1;
  }
  return 0;
}

int cd_stage_path(char *buf, const char *dir, const char *name, cd_error *e) {
  if (cd_path_join(buf, 4200, dir, name)) return cd_fail(e, "%s: path too long", dir);
  return 0;
}

int cd_stage_out_file(char *buf, const char *dir, const char *name) {
  cd_error e;
  if (cd_make_dirs(dir, &e) || cd_stage_path(buf, dir, name, &e)) return cd_cli_fail("%s", e.msg), -1;
  return 0;
}

int cd_stage_open(cd_stage_inputs *in, const cd_run_config *c, int need_attr_prompts) {
  clipdebias_load_options lo = {.vocab = c->vocab, .need_tokenizer = 1, .trainable = 1};
  char err[1024];
  cd_error e;
  *in = (cd_stage_inputs){0};
  if (cd_run_config_check(c, &e)) return cd_cli_fail("%s", e.msg), -1;
  if (!(in->cache = clipdebias_cache_open(c->cache_dir, err, sizeof err)) ||
      clipdebias_cache_classnames(in->cache, c->classnames, &in->classnames, &in->n_cls, err, sizeof err) ||
      (need_attr_prompts && clipdebias_cache_attr_prompts(in->cache, c->attr_prompts, c->n_attr_prompts, &in->attr_prompts,
                                                          &in->n_attr_prompts, err, sizeof err)) ||
      !(in->model = clipdebias_load_with(c->model, &lo, err, sizeof err)) ||
      clipdebias_cache_check_model(in->cache, in->model, err, sizeof err)) {
    cd_stage_close(in);
    return cd_cli_fail("%s", err), -1;
  }
  return 0;
}

void cd_stage_close(cd_stage_inputs *in) {
  clipdebias_free_strings(in->classnames, in->n_cls);
  clipdebias_free(in->model);
  clipdebias_cache_close(in->cache);
  *in = (cd_stage_inputs){0};
}

int cd_stage_made_by_pseudolabel(const char *out) {
  struct stat st;
  if (stat(out, &st) != 0) return 1;
  char json[4200];
  size_t n = strlen(out);
  if (n >= 4 && !strcmp(out + n - 4, ".npy")) n -= 4;
  if (!S_ISREG(st.st_mode) || snprintf(json, sizeof json, "%.*s.json", (int)n, out) >= (int)sizeof json) return 0;
  cd_error e;
  cd_json_doc *doc = cd_json_parse_file(json, 1 << 24, &e);
  int ok = doc && cd_json_get(cd_json_root(doc), "attr_prompts") != NULL;
  cd_json_free(doc);
  return ok;
}
