/* A small, strict JSON parser (RFC 8259) for config.json, vocab.json, tokenizer sidecars and
 * safetensors headers. It builds a read-only tree in one arena owned by the cd_json_doc.
 * Limits: nesting depth 64; strings are decoded to UTF-8 (\uXXXX with surrogate pairs);
 * numbers are kept as double (and as int64 when integral and exact). */
#ifndef CD_JSON_H
#define CD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum { CD_JSON_NULL, CD_JSON_BOOL, CD_JSON_NUMBER, CD_JSON_STRING, CD_JSON_ARRAY, CD_JSON_OBJECT } cd_json_type;

typedef struct cd_json cd_json;
struct cd_json {
  cd_json_type type;
  int boolean;
  double number;
  int64_t integer;   /* valid when is_integer */
  int is_integer;
  const char *str;   /* STRING: NUL-terminated UTF-8 (may contain embedded NULs; use len) */
  size_t len;
  /* ARRAY / OBJECT: n children; for OBJECT keys[i] names items[i] (key order preserved). */
  size_t n;
  cd_json *items;
  const char **keys;
  size_t *key_lens;
};

typedef struct cd_json_doc cd_json_doc;

/* Parses text[0..len). `what` names the source in error messages (a path, or
 * "safetensors header of x"). Returns NULL and fills e on error, with line:column. */
cd_json_doc *cd_json_parse(const char *text, size_t len, const char *what, cd_error *e);
/* Reads and parses a file (up to max_size bytes). */
cd_json_doc *cd_json_parse_file(const char *path, size_t max_size, cd_error *e);
const cd_json *cd_json_root(const cd_json_doc *doc);
void cd_json_free(cd_json_doc *doc);

/* Object member lookup (linear; NULL if absent or v is not an object). */
const cd_json *cd_json_get(const cd_json *v, const char *key);
/* Typed getters with defaults for optional config fields. */
int64_t cd_json_get_int(const cd_json *obj, const char *key, int64_t dflt);
double cd_json_get_num(const cd_json *obj, const char *key, double dflt);
const char *cd_json_get_str(const cd_json *obj, const char *key, const char *dflt);

/* Checked fields, for files read back (checkpoints, args.json, cache.json): each returns 0 and
 * sets *out, or -1 with one message naming the file and the field,
 * `FILE: field "NAME": PROBLEM` (missing, wrong type, out of range). A field that may be
 * absent is read when cd_json_has says it is there. */
int cd_json_has(const cd_json *obj, const char *key); /* present and not null */
int cd_json_field(const cd_json *obj, const char *key, cd_json_type type, const cd_json **out, const char *file,
                  cd_error *e);
int cd_json_field_int(const cd_json *obj, const char *key, int lo, int hi, int *out, const char *file, cd_error *e);
int cd_json_field_i64(const cd_json *obj, const char *key, int64_t lo, int64_t hi, int64_t *out, const char *file,
                      cd_error *e);
int cd_json_field_num(const cd_json *obj, const char *key, double lo, double hi, double *out, const char *file,
                      cd_error *e);
int cd_json_field_bool(const cd_json *obj, const char *key, int *out, const char *file, cd_error *e);
int cd_json_field_str(const cd_json *obj, const char *key, const char **out, const char *file, cd_error *e);
/* An array of exactly n numbers (null reads as NaN, as the writer writes NaN). */
int cd_json_field_nums(const cd_json *obj, const char *key, double *v, int n, const char *file, cd_error *e);
/* An array of at least min_n non-empty strings, copied: *out (n + 1 pointers, NULL-terminated)
 * and each string are malloc'd; free them with cd_json_strs_free. */
int cd_json_field_strs(const cd_json *obj, const char *key, int min_n, char ***out, int *n, const char *file,
                       cd_error *e);
void cd_json_strs_free(char **s, int n);
/* The name of a type, for messages ("a string", "an object"). */
const char *cd_json_type_name(cd_json_type t);

/* Structural equality: same types, same numbers, strings, items and keys in order. */
int cd_json_equal(const cd_json *a, const cd_json *b);

#endif
