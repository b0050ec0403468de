/* One (method, seed) pair of a run: build the head, train it with the method's weights,
 * evaluate every epoch, keep the selected epoch, write the pair's directory (done.json last).
 * See run.h for the files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/npy.h"
#include "core/progress.h"
#include "models/debias/jsonw.h"
#include "models/debias/reweight.h"
#include "models/debias/run_internal.h"
#include "models/debias/selection.h"
#include "models/tuning/prompt_ckpt.h"
#include "models/tuning/tune_session.h"

typedef struct {
  const cd_run_state *st;
  cd_method method;
  int seed;
  cd_prompt prompt;
  cd_head head;
  cd_optim opt;
  cd_reweight rw;
  const char *weight_groups;  /* "pseudo" | "true" | NULL */
  cd_run_eval ev;
  cd_selector sel;
  float *selected;            /* parameters of the selected epoch */
  int selected_epoch;
  FILE *lines;                /* this pair's metrics.jsonl, in memory */
  char *lines_buf;
  size_t lines_len;
  char label[160];            /* progress line label */
} pair;

static void pair_free(pair *p) {
  if (p->lines) fclose(p->lines);
  free(p->lines_buf);
  free(p->selected);
  cd_run_eval_free(&p->ev);
  cd_reweight_free(&p->rw);
  cd_optim_free(&p->opt);
  cd_head_free(&p->head);
  cd_prompt_free(&p->prompt);
}

static int clone_prompt(cd_prompt *dst, const cd_run_text *t, int seed, cd_error *e) {
  const cd_prompt *s = &t->prompt;
  if (cd_prompt_init(dst, s->n_cls, s->n_ctx, s->width, s->csc, s->position, s->tokens,
                     s->context, s->name_lens, e))
    return -1;
  if (t->ctx_random) cd_prompt_init_random(dst, (uint64_t)seed, 0.02f);
  else memcpy(dst->ctx, s->ctx, sizeof(float) * s->ctx_numel);
  return 0;
}

static int setup(pair *p, cd_error *e) {
  const cd_run_state *st = p->st;
  const cd_run_config *c = st->cfg;
  if (c->head == CD_HEAD_PROMPT) {
    if (clone_prompt(&p->prompt, st->text, p->seed, e) || cd_head_init_prompt(&p->head, st->m, &p->prompt, e))
      return -1;
  } else if (cd_head_init_linear(&p->head, st->text->class_feat, st->C, st->E, st->m->logit_scale_log, e)) {
    return -1;
  }
  if (cd_optim_init(&p->opt, &c->optim, p->head.n_params, e) || cd_run_eval_init(&p->ev, st, e))
    return -1;
  p->selected = cd_malloc(sizeof(float) * p->head.n_params, e);
  p->lines = open_memstream(&p->lines_buf, &p->lines_len);
  if (!p->selected || !p->lines) return p->selected ? cd_fail(e, "run: out of memory") : -1;
  p->weight_groups = cd_method_weight_groups(p->method);
  if (!p->weight_groups) return 0;
  int pseudo = !strcmp(p->weight_groups, "pseudo");
  cd_reweight_params rp;
  cd_method_reweight(p->method, &c->debias, &rp);
  return cd_reweight_init(&p->rw, &rp, pseudo ? st->g_pseudo_train : st->g_true_train,
                          st->n_rows[CD_SPLIT_TRAIN], pseudo ? st->G_pseudo : st->G, e);
}

static void write_line(pair *p, int epoch, double loss, double lr) {
  const double *w = p->weight_groups ? p->rw.w : NULL, *pb = p->weight_groups ? p->rw.p_bar : NULL;
  cd_run_write_metrics_line(p->lines, cd_method_name(p->method), p->seed, epoch, loss, lr,
                            p->weight_groups, w, pb, p->rw.G, &p->ev);
}

/* Epoch 0: the initial head's metrics, and the methods' initial weights from its train
 * probabilities. */
static int start(pair *p, cd_error *e) {
  const cd_run_state *st = p->st;
  int n = st->n_rows[CD_SPLIT_TRAIN];
  double *pt = cd_malloc(sizeof(double) * (size_t)n * 2, e), loss = 0;
  if (!pt || cd_head_predict(&p->head, st->xs[CD_SPLIT_TRAIN], n, st->ys[CD_SPLIT_TRAIN], NULL, pt,
                             pt + n, e))
    return free(pt), -1;
  for (int i = 0; i < n; i++) loss += pt[n + i] / n;
  if (p->weight_groups) cd_reweight_start(&p->rw, pt);
  free(pt);
  if (cd_run_evaluate(st, &p->head, &p->ev, e)) return -1;
  write_line(p, 0, loss, NAN);
  return 0;
}

static void batch_weights(void *user, const int *idx, int B, const double *ce, const double *p_true,
                          float *w, double *denom) {
  cd_reweight_batch(&((pair *)user)->rw, idx, B, ce, p_true, w, denom);
}

static int on_epoch(void *user, int epoch, double mean_loss, cd_error *e) {
  pair *p = user;
  const cd_run_config *c = p->st->cfg;
  if (p->weight_groups) cd_reweight_epoch_end(&p->rw);
  if (cd_run_evaluate(p->st, &p->head, &p->ev, e)) return -1;
  write_line(p, epoch, mean_loss, cd_optim_lr_at(&c->optim, epoch - 1));
  int mask = cd_selector_offer(&p->sel, epoch, p->ev.val_pseudo.worst_group_acc, p->ev.val.worst_group_acc);
  if (mask & (1 << c->select)) {
    memcpy(p->selected, p->head.params, sizeof(float) * p->head.n_params);
    p->selected_epoch = epoch;
  }
  snprintf(p->label, sizeof p->label, "%s seed %d  val worst %.3f (pseudo %.3f)", cd_method_name(p->method),
           p->seed, p->ev.val.worst_group_acc, p->ev.val_pseudo.worst_group_acc);
  return 0;
}

static int train(pair *p, cd_error *e) {
  const cd_run_state *st = p->st;
  const cd_run_config *c = st->cfg;
  cd_tune_data d = {st->xs[CD_SPLIT_TRAIN], st->ys[CD_SPLIT_TRAIN], NULL, st->n_rows[CD_SPLIT_TRAIN],
                    c->batch, (uint64_t)p->seed};
  cd_tune_hooks hk = {0};
  hk.batch_weights = p->weight_groups ? batch_weights : NULL;
  hk.epoch_end = on_epoch;
  hk.user = p;
  snprintf(p->label, sizeof p->label, "%s seed %d", cd_method_name(p->method), p->seed);
  hk.progress_label = st->log ? p->label : NULL;
  cd_selector_init(&p->sel);
  cd_tune_session s;
  if (cd_tune_session_init(&s, &p->head, &p->opt, &d, 0, e)) return -1;
  int rc = cd_tune_session_run(&s, c->optim.max_epoch, &hk, e);
  cd_tune_session_free(&s);
  return rc;
}

/* ---- the pair's files ---------------------------------------------------------------- */

static int path(char *buf, const pair *p, const char *name, cd_error *e) {
  if (cd_run_path(buf, 4200, p->st, cd_method_name(p->method), p->seed, name))
    return cd_fail(e, "%s: output path too long", p->st->cfg->out_dir);
  return 0;
}

static int write_linear(const pair *p, const float *params, const char *name, int epoch, cd_error *e) {
  int C = p->head.C, E = p->head.E;
  char f[4200];
  float *wb = cd_malloc(sizeof(float) * (size_t)C * (E + 1), e);
  if (!wb || path(f, p, name, e)) return free(wb), -1;
  for (int c = 0; c < C; c++) {
    memcpy(wb + (size_t)c * (E + 1), params + (size_t)c * E, sizeof(float) * E);
    wb[(size_t)c * (E + 1) + E] = params[(size_t)C * E + c];
  }
  int64_t shape[2] = {C, E + 1};
  int rc = cd_npy_save_f32(f, 2, shape, wb, e);
  free(wb);
  if (rc) return -1;
  char json[4200];
  snprintf(f + strlen(f) - 4, 8, ".json");
  snprintf(json, sizeof json, "%s", f);
  cd_atomic_file af;
  if (cd_atomic_open(&af, json, e)) return -1;
  fprintf(af.fp, "{\n  \"format\": \"clipdebias-linear\",\n  \"classnames\": ");
  cd_jw_strings(af.fp, p->st->cache->classnames, C);
  fprintf(af.fp, ",\n  \"embed_dim\": %d,\n  \"layout\": \"[n_cls, embed + 1]: W | b, logits = x_normalised W^T + b\",\n"
                 "  \"model\": ", E);
  cd_json_write_string(af.fp, p->st->cfg->model);
  fprintf(af.fp, ",\n  \"epoch\": %d,\n  \"seed\": %d\n}\n", epoch, p->seed);
  return cd_atomic_commit(&af, e);
}

static int write_prompt(pair *p, const float *params, const char *name, int epoch, int with_optim,
                        cd_error *e) {
  const cd_run_config *c = p->st->cfg;
  cd_prompt *pr = &p->prompt;
  char f[4200];
  if (path(f, p, name, e)) return -1;
  cd_prompt_ckpt_meta meta = {p->st->cache->classnames, pr->n_cls, pr->n_ctx, pr->csc, pr->width,
                              pr->position, "", "", p->opt.step, epoch, (uint64_t)p->seed, c->batch,
                              c->optim};
  snprintf(meta.ctx_init, sizeof meta.ctx_init, "%s", p->st->text->ctx_random ? "" : c->ctx_init);
  snprintf(meta.model, sizeof meta.model, "%s", c->model);
  float *keep = pr->ctx;
  pr->ctx = (float *)params;
  int rc = cd_prompt_ckpt_save(f, &meta, pr, with_optim ? &p->opt : NULL, e);
  pr->ctx = keep;
  return rc;
}

static int write_params(pair *p, const float *params, const char *name, int epoch, int last, cd_error *e) {
  if (p->head.kind == CD_HEAD_LINEAR) return write_linear(p, params, name, epoch, e);
  return write_prompt(p, params, name, epoch, last, e);
}

/* ctx.json: the description of the selected context (the sidecar of ctx_selected.npy). */
static int write_ctx_json(const pair *p, cd_error *e) {
  char from[4200], to[4200];
  uint8_t *buf;
  size_t n;
  if (path(from, p, "ctx_selected.json", e) || path(to, p, "ctx.json", e) ||
      cd_file_read(from, 1 << 24, &buf, &n, e))
    return -1;
  int rc = cd_write_file_atomic(to, buf, n, e);
  free(buf);
  return rc;
}

static int write_done(const pair *p, double seconds, cd_error *e) {
  const cd_run_state *st = p->st;
  char f[4200], pred_path[4200];
  int32_t *pred = cd_malloc(sizeof(int32_t) * (size_t)st->N, e);
  if (!pred || path(f, p, "done.json", e) || path(pred_path, p, "predictions.npy", e)) return free(pred), -1;
  /* predictions of the selected parameters on every row */
  memcpy(p->head.params, p->selected, sizeof(float) * p->head.n_params);
  int64_t shape[1] = {st->N};
  cd_group_metrics val = {0}, test = {0};
  int rc = cd_run_predict_all(st, (cd_head *)&p->head, pred, e) ||
           cd_npy_save(pred_path, CD_I32, 1, shape, pred, e) ||
           cd_group_metrics_init(&val, st->C, st->n_attr, e) ||
           cd_group_metrics_init(&test, st->C, st->n_attr, e);
  cd_atomic_file af;
  if (!rc && !(rc = cd_atomic_open(&af, f, e))) {
    cd_run_split_metrics(st, pred, CD_SPLIT_VAL, &val);
    cd_run_split_metrics(st, pred, CD_SPLIT_TEST, &test);
    FILE *fp = af.fp;
    fprintf(fp, "{\n  \"method\": \"%s\",\n  \"seed\": %d,\n  \"head\": \"%s\",\n  \"epochs\": %d,\n",
            cd_method_name(p->method), p->seed, cd_head_kind_name(p->head.kind), st->cfg->optim.max_epoch);
    fprintf(fp, "  \"select\": \"%s\",\n  \"selected_epoch\": %d,\n  \"selected_by\": {", cd_select_name(st->cfg->select),
            p->selected_epoch);
    for (int k = 0; k < CD_SELECT_COUNT; k++)
      fprintf(fp, "%s\"%s\": %d", k ? ", " : "", cd_select_name((cd_select_kind)k), cd_selector_epoch(&p->sel, (cd_select_kind)k));
    fprintf(fp, "},\n  \"steps\": %ld,\n  \"wall_seconds\": %.3f,\n  \"val\": ", p->opt.step, seconds);
    cd_eval_write_split(fp, &val, "  ");
    fputs(",\n  \"test\": ", fp);
    cd_eval_write_split(fp, &test, "  ");
    fputs("\n}\n", fp);
    rc = cd_atomic_commit(&af, e);
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

static int write_pair(pair *p, double t0, cd_error *e) {
  char f[4200];
  fflush(p->lines);
  if (path(f, p, "metrics.jsonl", e) || cd_write_file_atomic(f, p->lines_buf, p->lines_len, e) ||
      write_params(p, p->head.params, "ctx_last.npy", p->st->cfg->optim.max_epoch, 1, e) ||
      write_params(p, p->selected, "ctx_selected.npy", p->selected_epoch, 0, e) || write_ctx_json(p, e))
    return -1;
  return write_done(p, cd_time_now() - t0, e);
}

int cd_run_pair(const cd_run_state *st, cd_method method, int seed, cd_error *e) {
  double t0 = cd_time_now();
  pair p;
  memset(&p, 0, sizeof p);
  p.st = st;
  p.method = method;
  p.seed = seed;
  char dir[4200];
  int rc = -1;
  if (!cd_run_path(dir, sizeof dir, st, cd_method_name(method), seed, "") && !cd_make_dirs(dir, e) &&
      !setup(&p, e) && !start(&p, e) && !train(&p, e) && !write_pair(&p, t0, e))
    rc = 0;
  if (rc) cd_fail_prefix(e, "%s seed %d", cd_method_name(method), seed);
  pair_free(&p);
  return rc;
}
