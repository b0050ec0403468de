/* Discovery as a job: `discover` (discover.json, its page and the table) and
 * `run --attr auto` / `run --attr-from discover.json`, the attribute prompts of a run from a
 * discovery instead of from a person (see discover.h). */
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "models/discover/discover.h"

typedef struct {
  const cd_run_config *cfg;
  const cd_discover_opts *opts;
  const char *attr_from;
  char **prompts;
  int n;
} attr_source;

/* Discovers on in and writes json, its page beside it (o->write_page) and the table (rows of
 * it) to log; r is filled on success (the caller frees it). */
static int discover_and_write(const cd_run_inputs *in, const char *cache_dir, const cd_discover_opts *o,
                              const char *json, int rows, cd_discover_result *r, FILE *log, cd_error *e) {
  char html[4200];
  if (cd_discover_html_path(json, html, sizeof html)) return cd_fail(e, "%s: path too long", json);
  if (cd_discover(in, cache_dir, o, r, log, e)) return -1;
  if (cd_discover_check_values(r, e) || cd_discover_write_json(json, r, e) ||
      (o->write_page && o->write_page(html, r, &in->cache, e)))
    return cd_discover_result_free(r), -1;
  if (log) {
    cd_discover_print(log, r, rows);
    if (o->write_page) fprintf(log, "discovery: %s, %s\n", json, html);
    else fprintf(log, "discovery: %s\n", json);
  }
  return 0;
}

int cd_discover_command(const cd_run_config *c, const cd_discover_opts *o, const char *out_json, FILE *log,
                        cd_error *e) {
  if (!out_json) return cd_fail(e, "--out FILE is required (where discover.json goes)");
  cd_run_inputs in;
  if (cd_run_inputs_load(&in, c, 0, e)) return -1;
  cd_discover_result r;
  int rc = discover_and_write(&in, c->cache_dir, o, out_json, 15, &r, log, e);
  if (!rc) cd_discover_result_free(&r);
  cd_run_inputs_free(&in);
  return rc;
}

static int discover_into_run(attr_source *s, cd_run_inputs *in, const char *cache_dir, FILE *log, cd_error *e) {
  char json[4200];
  if (cd_path_join(json, sizeof json, s->cfg->out_dir, "discover.json"))
    return cd_fail(e, "%s: path too long", s->cfg->out_dir);
  cd_discover_result r;
  if (cd_make_dirs(s->cfg->out_dir, e) || discover_and_write(in, cache_dir, s->opts, json, 10, &r, log, e)) return -1;
  int rc = 0;
  if (!rc && (s->prompts = calloc((size_t)r.n_values, sizeof(char *)))) {
    for (int v = 0; v < r.n_values; v++) s->prompts[v] = r.attr_prompts[v], r.attr_prompts[v] = NULL;
    s->n = r.n_values;
  } else if (!rc) rc = cd_fail(e, "out of memory");
  cd_discover_result_free(&r);
  return rc;
}

static int resolve(void *user, cd_run_inputs *in, const char *cache_dir, FILE *log, cd_error *e) {
  attr_source *s = user;
  if (s->opts ? discover_into_run(s, in, cache_dir, log, e)
              : cd_discover_load_prompts(s->attr_from, &in->cache, cache_dir, &in->model, &s->prompts, &s->n, e))
    return -1;
  if (log && !s->opts) {
    fprintf(log, "attribute prompts from %s:", s->attr_from);
    for (int v = 0; v < s->n; v++) fprintf(log, " a=%d \"%s\"", v, s->prompts[v]);
    fputc('\n', log);
  }
  in->attr_prompts = (const char *const *)s->prompts;
  in->n_attr_prompts = s->n;
  return 0;
}

int cd_discover_run(const cd_run_config *cfg, const cd_discover_opts *opts, const char *attr_from, FILE *log,
                    cd_error *e) {
  if (opts && attr_from) return cd_fail(e, "run: give either --attr auto or --attr-from FILE, not both");
  if ((opts || attr_from) && cfg->n_attr_prompts)
    return cd_fail(e, "run: --attr-prompt and --attr %s both name the attribute prompts; give one", opts ? "auto" : "from");
  if (!opts && !attr_from) return cd_run(cfg, log, e);
  attr_source s = {cfg, opts, attr_from, NULL, 0};
  cd_run_config c = *cfg;
  c.resolve_attr = resolve;
  c.resolve_attr_user = &s;
  int rc = cd_run(&c, log, e);
  for (int v = 0; v < s.n; v++) free(s.prompts[v]);
  free(s.prompts);
  return rc;
}
