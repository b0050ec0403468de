/* The files of one (method, seed) pair: the selected and last parameters with their sidecars,
 * predictions, metrics lines, done.json (last), and the per-epoch resume state. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/json_write.h"
#include "core/npy.h"
#include "models/run/run_internal.h"
#include "models/tuning/prompt_ckpt.h"

int cd_run_pair_path(char *buf, const cd_run_pair_ctx *p, const char *name, cd_error *e) {
  if (cd_run_path(buf, 4200, p->st, cd_method_name(p->method), p->seed, name))
    return cd_fail(e, "%s: output path too long", p->st->cfg->out_dir);
  return 0;
}

/* "<base>.json" for "<base>.npy" */
static void sidecar_of(char *json, const char *npy) {
  size_t n = strlen(npy);
  snprintf(json, 4200, "%.*s.json", (int)(n >= 4 ? n - 4 : n), npy);
}

static int write_linear(const cd_run_pair_ctx *p, const float *params, const char *name, int epoch, cd_error *e) {
  int C = p->job.head.C, E = p->job.head.E;
  char f[4200], json[4200];
  float *wb = cd_malloc(sizeof(float) * (size_t)C * (E + 1), e);
  if (!wb || cd_run_pair_path(f, p, name, e)) return free(wb), -1;
  for (int c = 0; c < C; c++) {
    memcpy(wb + (size_t)c * (E + 1), params + (size_t)c * E, sizeof(float) * E);
    wb[(size_t)c * (E + 1) + E] = params[(size_t)C * E + c];
  }
  int64_t shape[2] = {C, E + 1};
  int rc = cd_npy_save_f32(f, 2, shape, wb, e);
  free(wb);
  if (rc) return -1;
  sidecar_of(json, f);
  cd_atomic_file af;
  cd_jw w;
  if (cd_jw_open(&w, &af, json, e)) return -1;
  cd_jw_obj_block(&w);
  cd_jw_kstr(&w, "format", "clipdebias-linear");
  cd_jw_key(&w, "classnames");
  cd_jw_strs(&w, (const char *const *)p->st->classnames, C);
  cd_jw_kint(&w, "embed_dim", E);
  cd_jw_kstr(&w, "layout", "[n_cls, embed + 1]: W | b, logits = x_normalised W^T + b");
  cd_jw_kstr(&w, "model", p->st->cfg->model);
  if (p->st->model_checksum) cd_jw_kstr(&w, "model_checksum", p->st->model_checksum);
  cd_jw_kint(&w, "epoch", epoch);
  cd_jw_kint(&w, "seed", p->seed);
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

static int write_prompt(cd_run_pair_ctx *p, const float *params, const char *name, int epoch, int with_optim,
                        cd_error *e) {
  cd_prompt *pr = &p->job.prompt;
  char f[4200];
  if (cd_run_pair_path(f, p, name, e)) return -1;
  cd_prompt_ckpt_meta meta;
  cd_train_job_meta(&p->job, epoch, &meta);
  float *keep = pr->ctx;
  pr->ctx = (float *)params;
  int rc = cd_prompt_ckpt_save(f, &meta, pr, with_optim ? &p->job.opt : NULL, e);
  pr->ctx = keep;
  return rc;
}

static int write_params(cd_run_pair_ctx *p, const float *params, const char *name, int epoch, int last, cd_error *e) {
  if (p->job.head.kind == CD_HEAD_LINEAR) return write_linear(p, params, name, epoch, e);
  return write_prompt(p, params, name, epoch, last, e);
}

/* ctx.json: the description of the selected context (the sidecar of ctx_selected.npy). */
static int write_ctx_json(const cd_run_pair_ctx *p, cd_error *e) {
  char from[4200], to[4200];
  uint8_t *buf;
  size_t n;
  if (cd_run_pair_path(from, p, "ctx_selected.json", e) || cd_run_pair_path(to, p, "ctx.json", e) ||
      cd_file_read(from, 1 << 24, &buf, &n, e))
    return -1;
  int rc = cd_write_file_atomic(to, buf, n, e);
  free(buf);
  return rc;
}

static void write_done_json(cd_jw *w, const cd_run_pair_ctx *p, double seconds, const cd_group_metrics *val,
                            const cd_group_metrics *test) {
  const cd_run_config *c = p->st->cfg;
  cd_jw_obj_block(w);
  cd_jw_kstr(w, "method", cd_method_name(p->method));
  cd_jw_kint(w, "seed", p->seed);
  cd_jw_kstr(w, "head", cd_head_kind_name(p->job.head.kind));
  cd_jw_kint(w, "epochs", c->optim.max_epoch);
  cd_jw_kstr(w, "select", cd_select_name(c->select));
  cd_jw_kint(w, "selected_epoch", p->selected_epoch);
  cd_jw_key(w, "selected_by");
  cd_jw_obj(w);
  for (int k = 0; k < CD_SELECT_COUNT; k++)
    cd_jw_kint(w, cd_select_name((cd_select_kind)k), cd_selector_epoch(&p->sel, (cd_select_kind)k));
  cd_jw_end(w);
  cd_jw_kint(w, "steps", p->job.opt.step);
  cd_jw_key(w, "wall_seconds");
  cd_jw_fixed(w, seconds, 3);
  cd_jw_key(w, "val");
  cd_eval_write_split(w, val);
  cd_jw_key(w, "test");
  cd_eval_write_split(w, test);
  cd_jw_end(w);
}

/* predictions.npy of the selected parameters, then done.json with their metrics. */
static int write_done(cd_run_pair_ctx *p, double seconds, cd_error *e) {
  const cd_run_state *st = p->st;
  char f[4200], pred_path[4200];
  int32_t *pred = cd_malloc(sizeof(int32_t) * (size_t)st->N, e);
  if (!pred || cd_run_pair_path(f, p, "done.json", e) || cd_run_pair_path(pred_path, p, "predictions.npy", e))
    return free(pred), -1;
  memcpy(p->job.head.params, p->selected, sizeof(float) * p->job.head.n_params);
  int64_t shape[1] = {st->N};
  cd_group_metrics val = {0}, test = {0};
  int rc = cd_run_predict_all(st, &p->job.head, pred, e) || cd_npy_save(pred_path, CD_I32, 1, shape, pred, e) ||
           cd_group_metrics_init(&val, st->C, st->n_attr, e) || cd_group_metrics_init(&test, st->C, st->n_attr, e);
  cd_atomic_file af;
  cd_jw w;
  if (!rc && !(rc = cd_jw_open(&w, &af, f, e))) {
    cd_run_split_metrics(st, pred, CD_SPLIT_VAL, &val);
    cd_run_split_metrics(st, pred, CD_SPLIT_TEST, &test);
    write_done_json(&w, p, seconds, &val, &test);
    rc = cd_jw_commit(&w, &af, e);
  }
  if (!rc && st->log)
    fprintf(st->log, "%-11s seed %-3d epoch %d/%d selected (%s): test avg %.2f%%  worst group %.2f%%  [%.1f s]\n",
            cd_method_name(p->method), p->seed, p->selected_epoch, st->cfg->optim.max_epoch,
            cd_select_name(st->cfg->select), 100 * test.avg_acc, 100 * test.worst_group_acc, seconds);
  cd_group_metrics_free(&val);
  cd_group_metrics_free(&test);
  free(pred);
  return rc ? -1 : 0;
}

/* ---- resume state ---------------------------------------------------------------------- */

static const char *const STATE_PARTS[4] = {"params.npy", "optim.npy", "selected.npy", "metrics.jsonl"};

static int state_file(char *buf, const cd_run_pair_ctx *p, int epoch, const char *part, cd_error *e) {
  char name[128];
  if (epoch < 0) snprintf(name, sizeof name, "state/%s", part);
  else snprintf(name, sizeof name, "state/e%d.%s", epoch, part);
  return cd_run_pair_path(buf, p, name, e);
}

static void remove_epoch_files(const cd_run_pair_ctx *p, int epoch) {
  char f[4200];
  cd_error e;
  for (int k = 0; k < 4; k++)
    if (!state_file(f, p, epoch, STATE_PARTS[k], &e)) remove(f);
}

static void remove_state(const cd_run_pair_ctx *p) {
  char dir[4200], f[4200];
  cd_error e;
  if (cd_run_pair_path(dir, p, "state", &e)) return;
  DIR *d = opendir(dir);
  for (struct dirent *de; d && (de = readdir(d));)
    if (de->d_name[0] != '.' && snprintf(f, sizeof f, "%s/%s", dir, de->d_name) < (int)sizeof f) remove(f);
  if (d) closedir(d);
  remove(dir);
}

static int save_floats(const char *path, const float *v, int64_t rows, int64_t n, cd_error *e) {
  int64_t shape[2] = {rows, n};
  return cd_npy_save_f32(path, 2, shape, v, e);
}

int cd_run_pair_save_state(cd_run_pair_ctx *p, int epoch, cd_error *e) {
  char f[4200], dir[4200];
  size_t n = p->job.head.n_params;
  cd_optim *o = &p->job.opt;
  float *st = cd_malloc(sizeof(float) * 2 * n, e);
  if (!st || cd_run_pair_path(dir, p, "state", e) || cd_make_dirs(dir, e)) return free(st), -1;
  memcpy(st, o->m, sizeof(float) * n);
  memcpy(st + n, o->v ? o->v : o->m, sizeof(float) * n);
  fflush(p->lines);
  int rc = state_file(f, p, epoch, STATE_PARTS[0], e) || save_floats(f, p->job.head.params, 1, (int64_t)n, e) ||
           state_file(f, p, epoch, STATE_PARTS[1], e) || save_floats(f, st, 2, (int64_t)n, e) ||
           state_file(f, p, epoch, STATE_PARTS[2], e) || save_floats(f, p->selected, 1, (int64_t)n, e) ||
           state_file(f, p, epoch, STATE_PARTS[3], e) || cd_write_file_atomic(f, p->lines_buf, p->lines_len, e) ||
           state_file(f, p, -1, "state.json", e);
  free(st);
  cd_atomic_file af;
  cd_jw w;
  if (rc || cd_jw_open(&w, &af, f, e)) return -1;
  cd_jw_obj(&w);
  cd_jw_kint(&w, "epoch", epoch);
  cd_jw_kint(&w, "step", o->step);
  cd_jw_kint(&w, "selected_epoch", p->selected_epoch);
  cd_jw_key(&w, "selector");
  cd_jw_obj(&w);
  cd_jw_key(&w, "best");
  cd_jw_nums(&w, p->sel.best, CD_SELECT_COUNT);
  cd_jw_key(&w, "epoch");
  cd_jw_int32s(&w, (const int32_t *)p->sel.epoch, CD_SELECT_COUNT);
  cd_jw_kint(&w, "last", p->sel.last);
  cd_jw_end(&w);
  cd_jw_key(&w, "w");
  cd_jw_nums(&w, p->job.rw.w, p->job.rw.G);
  cd_jw_key(&w, "p_bar");
  cd_jw_nums(&w, p->job.rw.p_bar, p->job.rw.G);
  cd_jw_end(&w);
  if (cd_jw_commit(&w, &af, e)) return -1;
  if (epoch > 1) remove_epoch_files(p, epoch - 1);
  return 0;
}

static int load_floats(const char *path, float *dst, size_t n, cd_error *e) {
  cd_array a;
  if (cd_npy_load_f32(path, 0, &a, e)) return -1;
  int ok = a.numel == n;
  if (ok) memcpy(dst, a.data, sizeof(float) * n);
  cd_array_free(&a);
  return ok ? 0 : cd_fail(e, "%s: %zu values, expected %zu", path, a.numel, n);
}

static int restore(cd_run_pair_ctx *p, const cd_json *r, int epoch, const char *json, cd_error *e) {
  size_t n = p->job.head.n_params;
  char f[4200];
  float *st = cd_malloc(sizeof(float) * 2 * n, e);
  double sel_epoch[CD_SELECT_COUNT];
  const cd_json *sel = NULL;
  int rc = !st || state_file(f, p, epoch, STATE_PARTS[0], e) || load_floats(f, p->job.head.params, n, e) ||
           state_file(f, p, epoch, STATE_PARTS[1], e) || load_floats(f, st, 2 * n, e) ||
           state_file(f, p, epoch, STATE_PARTS[2], e) || load_floats(f, p->selected, n, e);
  if (!rc && (cd_json_field(r, "selector", CD_JSON_OBJECT, &sel, json, e) ||
              cd_json_field_nums(sel, "best", p->sel.best, CD_SELECT_COUNT, json, e) ||
              cd_json_field_nums(sel, "epoch", sel_epoch, CD_SELECT_COUNT, json, e) ||
              (p->job.rw.G && (cd_json_field_nums(r, "w", p->job.rw.w, p->job.rw.G, json, e) ||
                           cd_json_field_nums(r, "p_bar", p->job.rw.p_bar, p->job.rw.G, json, e)))))
    rc = -1;
  if (!rc) {
    for (int k = 0; k < CD_SELECT_COUNT; k++) {
      p->sel.epoch[k] = (int)sel_epoch[k];
      if (isnan(p->sel.best[k])) p->sel.best[k] = -INFINITY; /* written as null */
    }
    p->sel.last = (int)cd_json_get_int(sel, "last", epoch);
    p->selected_epoch = (int)cd_json_get_int(r, "selected_epoch", 0);
    p->job.opt.step = (long)cd_json_get_int(r, "step", 0);
    memcpy(p->job.opt.m, st, sizeof(float) * n);
    if (p->job.opt.v) memcpy(p->job.opt.v, st + n, sizeof(float) * n);
    uint8_t *buf;
    size_t len;
    rc = state_file(f, p, epoch, STATE_PARTS[3], e) || cd_file_read(f, 1 << 30, &buf, &len, e);
    if (!rc) fwrite(buf, 1, len, p->lines), free(buf);
  }
  free(st);
  return rc ? -1 : 0;
}

int cd_run_pair_load_state(cd_run_pair_ctx *p, int *epoch, cd_error *e) {
  char json[4200];
  *epoch = 0;
  if (state_file(json, p, -1, "state.json", e)) return -1;
  if (!cd_file_exists(json)) return 0;
  cd_json_doc *doc = cd_json_parse_file(json, 1 << 20, e);
  if (!doc) return -1;
  int k = (int)cd_json_get_int(cd_json_root(doc), "epoch", -1);
  int rc = k < 1 || k > p->st->cfg->optim.max_epoch ? cd_fail(e, "%s: epoch %d is not a resumable epoch", json, k)
                                                      : restore(p, cd_json_root(doc), k, json, e);
  cd_json_free(doc);
  if (!rc) *epoch = k;
  return rc;
}

int cd_run_pair_write(cd_run_pair_ctx *p, double seconds, cd_error *e) {
  char f[4200];
  const cd_run_config *c = p->st->cfg;
  fflush(p->lines);
  if (cd_run_pair_path(f, p, "metrics.jsonl", e) || cd_write_file_atomic(f, p->lines_buf, p->lines_len, e) ||
      write_params(p, p->job.head.params, "ctx_last.npy", c->optim.max_epoch, 1, e) ||
      write_params(p, p->selected, "ctx_selected.npy", p->selected_epoch, 0, e) || write_ctx_json(p, e) ||
      write_done(p, seconds, e))
    return -1;
  remove_state(p);
  return 0;
}

/* ---- divergence ------------------------------------------------------------------------ */

/* "--lr 1000" out of "...; likely --lr 1000 (steps too large ...)" */
static void likely_flag(const char *message, char *out, size_t cap) {
  const char *at = strstr(message, "; likely ");
  out[0] = 0;
  if (!at) return;
  at += strlen("; likely ");
  const char *end = strstr(at, " (");
  snprintf(out, cap, "%.*s", (int)(end ? (size_t)(end - at) : strlen(at)), at);
}

int cd_run_pair_write_diverged(cd_run_pair_ctx *p, const char *message, cd_error *e) {
  char f[4200], flag[256];
  cd_atomic_file af;
  cd_jw w;
  if (cd_run_pair_path(f, p, "diverged.json", e) || cd_atomic_open(&af, f, e)) return -1;
  likely_flag(message, flag, sizeof flag);
  cd_jw_init(&w, af.fp);
  cd_jw_obj_block(&w);
  cd_jw_kstr(&w, "method", cd_method_name(p->method));
  cd_jw_kint(&w, "seed", p->seed);
  cd_jw_kstr(&w, "status", "diverged");
  cd_jw_kint(&w, "epoch", p->diverged_epoch);
  cd_jw_kint(&w, "epochs", p->st->cfg->optim.max_epoch);
  cd_jw_knum(&w, "loss", p->diverged_loss);
  cd_jw_kstr(&w, "likely_flag", flag);
  cd_jw_kstr(&w, "message", message);
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

int cd_run_pair_divergence(const cd_run_state *st, cd_method method, int seed, cd_run_divergence *d, cd_error *e) {
  char f[4200];
  memset(d, 0, sizeof *d);
  if (cd_run_path(f, sizeof f, st, cd_method_name(method), seed, "diverged.json"))
    return cd_fail(e, "%s: output path too long", st->cfg->out_dir);
  if (!cd_file_exists(f)) return 0;
  cd_json_doc *doc = cd_json_parse_file(f, 1 << 20, e);
  if (!doc) return -1;
  const cd_json *r = cd_json_root(doc);
  const cd_json *msg = cd_json_get(r, "message"), *flag = cd_json_get(r, "likely_flag");
  d->epoch = (int)cd_json_get_int(r, "epoch", -1);
  d->loss = cd_json_get_num(r, "loss", NAN);
  int ok = d->epoch >= 1 && msg && msg->type == CD_JSON_STRING;
  if (ok) snprintf(d->message, sizeof d->message, "%s", msg->str);
  if (ok && flag && flag->type == CD_JSON_STRING) snprintf(d->likely_flag, sizeof d->likely_flag, "%s", flag->str);
  cd_json_free(doc);
  return ok ? 1 : cd_fail(e, "%s: malformed (no \"epoch\" or \"message\"); remove it to train the pair again", f);
}
