/* Small helpers for writing JSON numbers and arrays: non-finite numbers become null (JSON has
 * no NaN), doubles are printed with 17 significant digits so they read back bit-exact. */
#ifndef CD_JSONW_H
#define CD_JSONW_H

#include <stdint.h>
#include <stdio.h>

#include "core/json.h"
#include "core/json_write.h"

/* Until the last callers move to core/json_write.h, which owns these names. */
#define cd_jw_num cd_jw0_num
#define cd_jw_ints cd_jw0_ints
#define cd_jw_int32s cd_jw0_int32s
#define cd_jw_str_or_null cd_jw0_str_or_null

void cd_jw_num(FILE *fp, double v);
void cd_jw_doubles(FILE *fp, const double *v, int n);
/* `"k0": v0, "k1": v1, ...` (numbers as cd_jw_num), each key after sep (the first after nothing). */
void cd_jw_members(FILE *fp, const char *const *keys, const double *v, int n, const char *sep);
void cd_jw_ints(FILE *fp, const int64_t *v, int n);
void cd_jw_int32s(FILE *fp, const int32_t *v, int n);
void cd_jw_strings(FILE *fp, char *const *v, int n);
/* A JSON string, or null for NULL or "". */
void cd_jw_str_or_null(FILE *fp, const char *s);
/* Reads an array of n numbers (null -> NaN) from a parsed JSON value; -1 if it is not one. */
int cd_jr_doubles(const cd_json *a, double *v, int n);

#endif
