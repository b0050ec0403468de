/* libFuzzer harness: any bytes either parse into a tree whose every node is well formed
 * (lengths match the NUL-terminated strings, counts match arrays) or fail with a message
 * carrying line:column. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/json_write.h"

static size_t walk(const cd_json *v, int depth) {
  if (depth > 65) abort(); /* the parser must enforce its depth limit */
  size_t n = 1;
  switch (v->type) {
    case CD_JSON_STRING:
      if (!v->str || v->str[v->len] != 0) abort();
      break;
    case CD_JSON_NUMBER:
      /* Within 2^53 the double and the int64 are the same number. */
      if (v->is_integer && v->integer > -9007199254740992LL && v->integer < 9007199254740992LL &&
          (double)v->integer != v->number)
        abort();
      break;
    case CD_JSON_ARRAY:
    case CD_JSON_OBJECT:
      if (v->n && !v->items) abort();
      for (size_t i = 0; i < v->n; i++) {
        if (v->type == CD_JSON_OBJECT) {
          if (!v->keys[i] || v->keys[i][v->key_lens[i]] != 0) abort();
          /* Lookup of a key without embedded NULs finds a member with that key. */
          if (strlen(v->keys[i]) == v->key_lens[i]) {
            const cd_json *g = cd_json_get(v, v->keys[i]);
            if (!g || g->type != cd_json_get(v, v->keys[i])->type) abort();
          }
        }
        n += walk(&v->items[i], depth + 1);
      }
      break;
    default:
      break;
  }
  return n;
}

/* 1 when writing v back cannot give the same tree: a string or key holding a NUL (the writer
 * takes C strings) or a number beyond double range (written as null). */
static int lossy(const cd_json *v) {
  if (v->type == CD_JSON_STRING) return strlen(v->str) != v->len;
  if (v->type == CD_JSON_NUMBER) return !isfinite(v->number);
  for (size_t i = 0; (v->type == CD_JSON_ARRAY || v->type == CD_JSON_OBJECT) && i < v->n; i++)
    if ((v->type == CD_JSON_OBJECT && strlen(v->keys[i]) != v->key_lens[i]) || lossy(&v->items[i])) return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cd_error e;
  e.msg[0] = 0;
  cd_json_doc *d = cd_json_parse((const char *)data, size, "fuzz.json", &e);
  if (!d) {
    if (strncmp(e.msg, "fuzz.json:", 10) != 0) abort(); /* every error carries where */
    return 0;
  }
  const cd_json *r = cd_json_root(d);
  walk(r, 0);
  if (r->type == CD_JSON_OBJECT && r->n) {
    (void)cd_json_get_int(r, r->keys[0], 0);
    (void)cd_json_get_num(r, r->keys[0], 0);
    (void)cd_json_get_str(r, r->keys[0], NULL);
  }
  /* Writer round trip: a string re-parses to itself. */
  if (r->type == CD_JSON_STRING && strlen(r->str) == r->len) {
    char *buf = NULL;
    size_t blen = 0;
    FILE *ms = open_memstream(&buf, &blen);
    if (ms) {
      cd_json_write_string(ms, r->str);
      fclose(ms);
      cd_json_doc *d2 = cd_json_parse(buf, blen, "rt", &e);
      if (!d2 || cd_json_root(d2)->type != CD_JSON_STRING || strcmp(cd_json_root(d2)->str, r->str)) abort();
      cd_json_free(d2);
      free(buf);
    }
  }
  /* Tree round trip: a tree written back and parsed again is the same tree. */
  char *buf = NULL;
  size_t blen = 0;
  FILE *ms = open_memstream(&buf, &blen);
  if (ms) {
    cd_jw w;
    cd_jw_init(&w, ms);
    cd_jw_value(&w, r);
    int ok = cd_jw_ok(&w) == 0;
    fclose(ms);
    cd_json_doc *d2 = ok ? cd_json_parse(buf, blen, "rt", &e) : NULL;
    if (ok && r->type != CD_JSON_ARRAY && r->type != CD_JSON_OBJECT && !d2) abort();
    if (d2 && !lossy(r) && !cd_json_equal(r, cd_json_root(d2))) abort();
    cd_json_free(d2);
    free(buf);
  }
  cd_json_free(d);
  return 0;
}
