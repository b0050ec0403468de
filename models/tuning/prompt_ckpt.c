/* Prompt-tuning checkpoints (see prompt_ckpt.h). */
#include "models/tuning/prompt_ckpt.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/json_write.h"
#include "core/npy.h"
#include "ops/dispatch.h"

static int base_of(const char *path, char *base, size_t cap) {
  size_t n = strlen(path);
  if (n >= 4 && !strcmp(path + n - 4, ".npy")) n -= 4;
  else if (n >= 5 && !strcmp(path + n - 5, ".json")) n -= 5;
  if (n + 16 > cap) return -1;
  memcpy(base, path, n);
  base[n] = 0;
  return 0;
}

int cd_prompt_ckpt_paths(const char *ctx_path, char *json, char *optim, size_t cap) {
  char base[4096];
  if (base_of(ctx_path, base, sizeof base) || strlen(base) + 16 > cap) return -1;
  snprintf(json, cap, "%s.json", base);
  snprintf(optim, cap, "%s.optim.npy", base);
  return 0;
}

static void write_meta(cd_jw *w, const cd_prompt_ckpt_meta *m) {
  cd_jw_obj_block(w);
  cd_jw_kstr(w, "format", "clipdebias-coop");
  cd_jw_key(w, "classnames");
  cd_jw_strs(w, (const char *const *)m->classnames, m->n_cls);
  cd_jw_kint(w, "n_ctx", m->n_ctx);
  cd_jw_kbool(w, "csc", m->csc);
  cd_jw_kint(w, "width", m->width);
  cd_jw_kstr(w, "position", cd_class_position_name(m->position));
  cd_jw_kstr(w, "ctx_init", m->ctx_init);
  cd_jw_kstr(w, "model", m->model);
  if (m->model_checksum[0]) cd_jw_kstr(w, "model_checksum", m->model_checksum);
  cd_jw_kint(w, "step", m->step);
  cd_jw_kint(w, "epoch", m->epoch);
  cd_jw_key(w, "seed");
  cd_jw_uint(w, m->seed);
  cd_jw_kint(w, "batch", m->batch);
  if (m->dims > 0) cd_jw_kint(w, "dims", m->dims);
  if (m->precision != CD_PREC_FP32) cd_jw_kstr(w, "precision", cd_precision_name(m->precision));
  const cd_optim_config *o = &m->optim;
  const char *const keys[6] = {"lr", "momentum", "weight_decay", "beta1", "beta2", "eps"};
  const double v[6] = {o->lr, o->momentum, o->weight_decay, o->beta1, o->beta2, o->eps};
  cd_jw_key(w, "optim");
  cd_jw_obj(w);
  cd_jw_kstr(w, "kind", cd_optim_kind_name(o->kind));
  for (int k = 0; k < 6; k++) cd_jw_key(w, keys[k]), cd_jw_g17(w, v[k]);
  cd_jw_kint(w, "max_epoch", o->max_epoch);
  cd_jw_kint(w, "warmup_epochs", o->warmup_epochs);
  cd_jw_key(w, "warmup_lr");
  cd_jw_g17(w, o->warmup_lr);
  cd_jw_end(w);
  cd_jw_end(w);
}

int cd_prompt_ckpt_save(const char *ctx_path, const cd_prompt_ckpt_meta *meta,
                        const cd_prompt *p, const cd_optim *o, cd_error *e) {
  char json[4200], optim[4200];
  if (cd_prompt_ckpt_paths(ctx_path, json, optim, sizeof json))
    return cd_fail(e, "%s: path too long", ctx_path);
  int64_t shape[3] = {p->n_cls, p->n_ctx, p->width};
  if (p->csc ? cd_npy_save_f32(ctx_path, 3, shape, p->ctx, e)
             : cd_npy_save_f32(ctx_path, 2, shape + 1, p->ctx, e))
    return -1;
  if (o) {
    float *st = malloc(sizeof(float) * 2 * (o->n ? o->n : 1));
    if (!st) return cd_fail(e, "%s: out of memory", optim);
    memcpy(st, o->m, sizeof(float) * o->n);
    memcpy(st + o->n, o->v, sizeof(float) * o->n);
    int64_t s2[2] = {2, (int64_t)o->n};
    int r = cd_npy_save_f32(optim, 2, s2, st, e);
    free(st);
    if (r) return -1;
  }
  cd_atomic_file af;
  cd_jw w;
  if (cd_jw_open(&w, &af, json, e)) return -1;
  write_meta(&w, meta);
  return cd_jw_commit(&w, &af, e);
}

void cd_prompt_ckpt_meta_free(cd_prompt_ckpt_meta *m) {
  cd_free_classnames(m->classnames, m->n_cls);
  m->classnames = NULL;
  m->n_cls = 0;
}

int cd_prompt_ckpt_refuse_projected(const char *path, const cd_prompt_ckpt_meta *meta, cd_error *e) {
  if (meta->dims <= 0) return 0;
  return cd_fail(e, "%s: this context was trained behind a %d-dimensional projection (run --dims, projection.npy in "
                 "its run folder); it only scores in that space: use the run's predictions.npy and results.json",
                 path, meta->dims);
}

int cd_prompt_ckpt_load_meta(const char *path, cd_prompt_ckpt_meta *m, cd_error *e) {
  memset(m, 0, sizeof *m);
  char json[4200], optim[4200];
  if (cd_prompt_ckpt_paths(path, json, optim, sizeof json))
    return cd_fail(e, "%s: path too long", path);
  cd_json_doc *doc = cd_json_parse_file(json, 1 << 24, e);
  if (!doc) return -1;
  const cd_json *r = cd_json_root(doc);
  const cd_json *oj = NULL;
  int n_ctx = 0, csc = 0, width = 0, epoch = 0, batch = 0, dims = 0;
  int64_t step = 0;
  double seed = 0;
  int rc = -1;
  if (cd_json_field(r, "optim", CD_JSON_OBJECT, &oj, json, e)) goto done;
  if (cd_json_field_int(r, "n_ctx", 1, 77, &n_ctx, json, e) || cd_json_field_bool(r, "csc", &csc, json, e) ||
      cd_json_field_int(r, "width", 1, 65536, &width, json, e) || cd_json_field_i64(r, "step", 0, INT64_MAX, &step, json, e) ||
      cd_json_field_int(r, "epoch", 0, 1000000000, &epoch, json, e) ||
      cd_json_field_num(r, "seed", 0, 18446744073709551615.0, &seed, json, e) ||
      cd_json_field_int(r, "batch", 1, INT_MAX, &batch, json, e) ||
      (cd_json_has(r, "dims") && cd_json_field_int(r, "dims", 0, INT_MAX, &dims, json, e)))
    goto done;
  int pos = cd_class_position_parse(cd_json_get_str(r, "position", "end"));
  int kind = cd_optim_parse_kind(cd_json_get_str(oj, "kind", "sgd"));
  if (pos < 0 || kind < 0) {
    cd_fail(e, "%s: unknown \"position\" or optimiser kind", json);
    goto done;
  }
  if (cd_json_field_strs(r, "classnames", 1, &m->classnames, &m->n_cls, json, e)) goto done;
  m->n_ctx = n_ctx;
  m->csc = csc;
  m->width = width;
  m->position = (cd_class_position)pos;
  m->step = (long)step;
  m->epoch = epoch;
  m->seed = (uint64_t)seed;
  m->batch = batch;
  m->dims = dims;
  const char *prec = cd_json_get_str(r, "precision", "fp32");
  int pi = cd_precision_from_name(prec);
  if (pi != CD_PREC_FP32 && pi != CD_PREC_BF16) {
    cd_fail(e, "%s: unknown \"precision\" '%s' (fp32 or bf16)", json, prec);
    goto done;
  }
  m->precision = (cd_precision)pi;
  snprintf(m->ctx_init, sizeof m->ctx_init, "%s", cd_json_get_str(r, "ctx_init", ""));
  snprintf(m->model, sizeof m->model, "%s", cd_json_get_str(r, "model", ""));
  snprintf(m->model_checksum, sizeof m->model_checksum, "%s", cd_json_get_str(r, "model_checksum", ""));
  cd_optim_config *o = &m->optim;
  cd_optim_config_default(o);
  o->kind = (cd_optim_kind)kind;
  o->lr = cd_json_get_num(oj, "lr", o->lr);
  o->momentum = cd_json_get_num(oj, "momentum", o->momentum);
  o->weight_decay = cd_json_get_num(oj, "weight_decay", o->weight_decay);
  o->beta1 = cd_json_get_num(oj, "beta1", o->beta1);
  o->beta2 = cd_json_get_num(oj, "beta2", o->beta2);
  o->eps = cd_json_get_num(oj, "eps", o->eps);
  o->max_epoch = (int)cd_json_get_int(oj, "max_epoch", o->max_epoch);
  o->warmup_epochs = (int)cd_json_get_int(oj, "warmup_epochs", o->warmup_epochs);
  o->warmup_lr = cd_json_get_num(oj, "warmup_lr", o->warmup_lr);
  rc = 0;
done:
  cd_json_free(doc);
  if (rc) cd_prompt_ckpt_meta_free(m);
  return rc;
}

int cd_prompt_ckpt_load_state(const char *path, cd_prompt *p, cd_optim *o, cd_error *e) {
  char json[4200], optim[4200], ctxp[4200], base[4096];
  if (cd_prompt_ckpt_paths(path, json, optim, sizeof json) || base_of(path, base, sizeof base))
    return cd_fail(e, "%s: path too long", path);
  snprintf(ctxp, sizeof ctxp, "%s.npy", base);
  cd_array a;
  if (cd_npy_load_f32(ctxp, 0, &a, e)) return -1;
  if (a.numel != p->ctx_numel) {
    cd_array_free(&a);
    return cd_fail(e, "%s: %zu context values, the prompt needs %zu", ctxp, a.numel,
                   p->ctx_numel);
  }
  memcpy(p->ctx, a.data, sizeof(float) * a.numel);
  cd_array_free(&a);
  if (!o) return 0;
  if (cd_npy_load_f32(optim, 2, &a, e)) return -1;
  if (a.shape[0] != 2 || (size_t)a.shape[1] != o->n) {
    cd_array_free(&a);
    return cd_fail(e, "%s: optimiser state shape does not match %zu parameters", optim, o->n);
  }
  memcpy(o->m, a.data, sizeof(float) * o->n);
  memcpy(o->v, (float *)a.data + o->n, sizeof(float) * o->n);
  cd_array_free(&a);
  cd_prompt_ckpt_meta meta;
  if (cd_prompt_ckpt_load_meta(path, &meta, e)) return -1;
  o->step = meta.step;
  cd_prompt_ckpt_meta_free(&meta);
  return 0;
}
