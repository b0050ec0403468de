/* JSON number and array writers (see jsonw.h). */
#include "models/debias/jsonw.h"

#include <math.h>
#include <stdlib.h>

#include "core/json.h"

void cd_jw_num(FILE *fp, double v) {
  if (!isfinite(v)) fputs("null", fp);
  else if (v == (double)(int64_t)v && fabs(v) < 1e15) fprintf(fp, "%lld", (long long)v);
  else {
    /* shortest of 15 or 17 significant digits that reads back exactly (0.9, not 0.90000000000000002) */
    char buf[32];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, fp);
  }
}

void cd_jw_doubles(FILE *fp, const double *v, int n) {
  fputc('[', fp);
  for (int i = 0; i < n; i++) {
    if (i) fputs(", ", fp);
    cd_jw_num(fp, v[i]);
  }
  fputc(']', fp);
}

void cd_jw_members(FILE *fp, const char *const *keys, const double *v, int n, const char *sep) {
  for (int i = 0; i < n; i++) {
    fprintf(fp, "%s\"%s\": ", i ? sep : "", keys[i]);
    cd_jw_num(fp, v[i]);
  }
}

void cd_jw_ints(FILE *fp, const int64_t *v, int n) {
  fputc('[', fp);
  for (int i = 0; i < n; i++) fprintf(fp, i ? ", %lld" : "%lld", (long long)v[i]);
  fputc(']', fp);
}

void cd_jw_int32s(FILE *fp, const int32_t *v, int n) {
  fputc('[', fp);
  for (int i = 0; i < n; i++) fprintf(fp, i ? ", %d" : "%d", v[i]);
  fputc(']', fp);
}

void cd_jw_strings(FILE *fp, char *const *v, int n) {
  fputc('[', fp);
  for (int i = 0; i < n; i++) {
    if (i) fputs(", ", fp);
    cd_json_write_string(fp, v[i]);
  }
  fputc(']', fp);
}

int cd_jr_doubles(const cd_json *a, double *v, int n) {
  if (!a || a->type != CD_JSON_ARRAY || a->n != (size_t)n) return -1;
  for (int i = 0; i < n; i++) {
    const cd_json *x = &a->items[i];
    if (x->type == CD_JSON_NULL) v[i] = NAN;
    else if (x->type == CD_JSON_NUMBER) v[i] = x->number;
    else return -1;
  }
  return 0;
}

void cd_jw_str_or_null(FILE *fp, const char *s) {
  if (s && *s) cd_json_write_string(fp, s);
  else fputs("null", fp);
}
