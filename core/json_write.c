/* The streaming JSON writer (see json_write.h). */
#include "core/json_write.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cd_json_write_string(FILE *fp, const char *s) {
  fputc('"', fp);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    switch (*p) {
      case '"': fputs("\\\"", fp); break;
      case '\\': fputs("\\\\", fp); break;
      case '\n': fputs("\\n", fp); break;
      case '\r': fputs("\\r", fp); break;
      case '\t': fputs("\\t", fp); break;
      case '\b': fputs("\\b", fp); break;
      case '\f': fputs("\\f", fp); break;
      default:
        if (*p < 0x20) fprintf(fp, "\\u%04x", *p);
        else fputc(*p, fp);
    }
  }
  fputc('"', fp);
}

void cd_jw_init(cd_jw *w, FILE *fp) {
  memset(w, 0, sizeof *w);
  w->fp = fp;
  w->indent = 2;
}

int cd_jw_open(cd_jw *w, cd_atomic_file *af, const char *path, cd_error *e) {
  if (cd_atomic_open(af, path, e)) return -1;
  cd_jw_init(w, af->fp);
  return 0;
}

int cd_jw_ok(const cd_jw *w) { return w->bad || w->depth || w->after_key ? -1 : 0; }

int cd_jw_commit(cd_jw *w, cd_atomic_file *af, cd_error *e) {
  if (cd_jw_ok(w)) {
    cd_atomic_abort(af);
    return cd_fail(e, "%s: JSON writer misused (unbalanced or misplaced value); nothing written", af->path);
  }
  fputc('\n', w->fp);
  return cd_atomic_commit(af, e);
}

static void newline(cd_jw *w, int level) {
  fputc('\n', w->fp);
  for (int i = 0; i < level * w->indent; i++) fputc(' ', w->fp);
}

/* Whatever comes before the next value or key: the comma, the space or the line break. */
static void before(cd_jw *w, int is_key) {
  if (w->after_key) {
    w->after_key = 0;
    if (is_key) w->bad = 1;
    return;
  }
  if (!w->depth) return;
  int d = w->depth - 1;
  if (w->is_obj[d] != is_key) w->bad = 1; /* objects take keys, arrays take values */
  if (w->count[d]) fputc(',', w->fp);
  if (w->block[d] || w->br[d]) newline(w, w->depth);
  else if (w->count[d] && !w->tight) fputc(' ', w->fp);
  w->br[d] = 0;
  w->count[d]++;
}

static void jw_open(cd_jw *w, int is_obj, int block) {
  before(w, 0);
  if (w->depth == CD_JW_DEPTH) {
    w->bad = 1;
    return;
  }
  fputc(is_obj ? '{' : '[', w->fp);
  w->is_obj[w->depth] = (unsigned char)is_obj;
  w->block[w->depth] = (unsigned char)block;
  w->br[w->depth] = 0;
  w->count[w->depth] = 0;
  w->depth++;
}

void cd_jw_obj(cd_jw *w) { jw_open(w, 1, 0); }
void cd_jw_arr(cd_jw *w) { jw_open(w, 0, 0); }
void cd_jw_obj_block(cd_jw *w) { jw_open(w, 1, 1); }
void cd_jw_arr_block(cd_jw *w) { jw_open(w, 0, 1); }

void cd_jw_end(cd_jw *w) {
  if (!w->depth || w->after_key) {
    w->bad = 1;
    return;
  }
  int d = --w->depth;
  if (w->block[d] && w->count[d]) newline(w, d);
  fputc(w->is_obj[d] ? '}' : ']', w->fp);
}

void cd_jw_br(cd_jw *w) {
  if (w->depth) w->br[w->depth - 1] = 1;
}

void cd_jw_key(cd_jw *w, const char *key) {
  before(w, 1);
  cd_json_write_string(w->fp, key);
  fputs(w->tight ? ":" : ": ", w->fp);
  w->after_key = 1;
}

void cd_jw_str(cd_jw *w, const char *s) {
  before(w, 0);
  cd_json_write_string(w->fp, s);
}

void cd_jw_str_or_null(cd_jw *w, const char *s) {
  if (s && *s) cd_jw_str(w, s);
  else cd_jw_null(w);
}

void cd_jw_int(cd_jw *w, int64_t v) {
  before(w, 0);
  fprintf(w->fp, "%lld", (long long)v);
}

void cd_jw_uint(cd_jw *w, uint64_t v) {
  before(w, 0);
  fprintf(w->fp, "%llu", (unsigned long long)v);
}

void cd_jw_num(cd_jw *w, double v) {
  before(w, 0);
  if (!isfinite(v)) fputs("null", w->fp);
  else if (v == (double)(int64_t)v && fabs(v) < 1e15) fprintf(w->fp, "%lld", (long long)v);
  else {
    char buf[32];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, w->fp);
  }
}

void cd_jw_g17(cd_jw *w, double v) {
  before(w, 0);
  if (isfinite(v)) fprintf(w->fp, "%.17g", v);
  else fputs("null", w->fp);
}

void cd_jw_fixed(cd_jw *w, double v, int decimals) {
  before(w, 0);
  if (isfinite(v)) fprintf(w->fp, "%.*f", decimals, v);
  else fputs("null", w->fp);
}

void cd_jw_bool(cd_jw *w, int v) {
  before(w, 0);
  fputs(v ? "true" : "false", w->fp);
}

void cd_jw_null(cd_jw *w) {
  before(w, 0);
  fputs("null", w->fp);
}

void cd_jw_raw(cd_jw *w, const char *json) {
  before(w, 0);
  fputs(json, w->fp);
}

void cd_jw_value(cd_jw *w, const cd_json *v) {
  switch (v->type) {
    case CD_JSON_NULL: cd_jw_null(w); break;
    case CD_JSON_BOOL: cd_jw_bool(w, v->boolean); break;
    case CD_JSON_NUMBER:
      if (v->is_integer) cd_jw_int(w, v->integer);
      else cd_jw_g17(w, v->number);
      break;
    case CD_JSON_STRING: cd_jw_str(w, v->str); break;
    case CD_JSON_ARRAY:
    case CD_JSON_OBJECT:
      jw_open(w, v->type == CD_JSON_OBJECT, 0);
      for (size_t i = 0; i < v->n; i++) {
        if (v->type == CD_JSON_OBJECT) cd_jw_key(w, v->keys[i]);
        cd_jw_value(w, &v->items[i]);
      }
      cd_jw_end(w);
      break;
  }
}

void cd_jw_strs(cd_jw *w, const char *const *s, int n) {
  cd_jw_arr(w);
  for (int i = 0; i < n; i++) cd_jw_str(w, s[i]);
  cd_jw_end(w);
}

void cd_jw_ints(cd_jw *w, const int64_t *v, int n) {
  cd_jw_arr(w);
  for (int i = 0; i < n; i++) cd_jw_int(w, v[i]);
  cd_jw_end(w);
}

void cd_jw_int32s(cd_jw *w, const int32_t *v, int n) {
  cd_jw_arr(w);
  for (int i = 0; i < n; i++) cd_jw_int(w, v[i]);
  cd_jw_end(w);
}

void cd_jw_nums(cd_jw *w, const double *v, int n) {
  cd_jw_arr(w);
  for (int i = 0; i < n; i++) cd_jw_num(w, v[i]);
  cd_jw_end(w);
}

void cd_jw_kstr(cd_jw *w, const char *key, const char *s) {
  cd_jw_key(w, key);
  cd_jw_str(w, s);
}

void cd_jw_kint(cd_jw *w, const char *key, int64_t v) {
  cd_jw_key(w, key);
  cd_jw_int(w, v);
}

void cd_jw_knum(cd_jw *w, const char *key, double v) {
  cd_jw_key(w, key);
  cd_jw_num(w, v);
}

void cd_jw_kstr_or_null(cd_jw *w, const char *key, const char *s) {
  cd_jw_key(w, key);
  cd_jw_str_or_null(w, s);
}

void cd_jw_kbool(cd_jw *w, const char *key, int v) {
  cd_jw_key(w, key);
  cd_jw_bool(w, v);
}
