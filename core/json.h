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

/* Writes s as a JSON string literal (quotes and escapes) to fp. */
#include <stdio.h>
void cd_json_write_string(FILE *fp, const char *s);

/* Writes ["a", "b", ...] for n strings. */
void cd_json_write_string_list(FILE *fp, char *const *s, int n);
/* Writes any value as compact JSON (integers exactly, other numbers with 17 digits). */
void cd_json_write(FILE *fp, const cd_json *v);
/* Structural equality: same types, same numbers, strings, items and keys in order. */
int cd_json_equal(const cd_json *a, const cd_json *b);

#endif
