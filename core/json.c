/* Strict RFC 8259 parser. Children of an open container are collected on a scratch stack
 * and moved into the arena in one block when the container closes, so every array/object
 * is contiguous and the tree needs no per-node allocation. */
#include "core/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"

#define JSON_MAX_DEPTH 64
#define ARENA_CHUNK (64u * 1024u)

typedef struct arena_block {
  struct arena_block *next;
  size_t cap, used;
  max_align_t data[]; /* aligned payload */
} arena_block;

struct cd_json_doc {
  arena_block *blocks;
  cd_json root;
};

typedef struct {
  cd_json v;
  const char *key;
  size_t key_len;
} slot;

typedef struct {
  const char *s, *p, *end;
  const char *what;
  cd_error *e;
  cd_json_doc *doc;
  slot *stack;
  size_t sp, scap;
  int failed;
} parser;

static void *arena_alloc(cd_json_doc *d, size_t n) {
  n = (n + 15) & ~(size_t)15;
  arena_block *b = d->blocks;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    /* Chunks grow with the document, so huge files need few mallocs. */
    if (b && b->cap * 2 > cap && b->cap < (64u << 20)) cap = b->cap * 2;
    if (cap < n) cap = n;
    b = malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->cap = cap;
    b->used = 0;
    b->next = d->blocks;
    d->blocks = b;
  }
  void *p = (char *)b->data + b->used;
  b->used += n;
  return p;
}

static void error_at(parser *ps, const char *at, const char *msg) {
  if (ps->failed) return;
  ps->failed = 1;
  int line = 1, col = 1;
  for (const char *q = ps->s; q < at && q < ps->end; q++) {
    if (*q == '\n') {
      line++;
      col = 1;
    } else if (((unsigned char)*q & 0xC0) != 0x80) {
      col++; /* columns count characters, not UTF-8 continuation bytes */
    }
  }
  cd_fail(ps->e, "%s:%d:%d: %s", ps->what, line, col, msg);
}

static void skip_ws(parser *ps) {
  const char *p = ps->p, *end = ps->end;
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  ps->p = p;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int read_hex4(parser *ps, const char *p, unsigned *out) {
  if (ps->end - p < 4) return -1;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval((unsigned char)p[i]);
    if (h < 0) return -1;
    v = v * 16 + (unsigned)h;
  }
  *out = v;
  return 0;
}

static char *put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xC0 | (cp >> 6));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xE0 | (cp >> 12));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (char)(0xF0 | (cp >> 18));
    *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  }
  return o;
}

/* Length of a valid UTF-8 sequence starting at p (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  size_t n;
  unsigned lo = 0x80, hi = 0xBF;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if ((size_t)(end - p) < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xBF) return 0;
  return n;
}

/* Parses a string starting at the opening quote; decoded bytes go to the arena. */
static int parse_string(parser *ps, const char **out, size_t *out_len) {
  const char *start = ps->p + 1, *p = start, *end = ps->end;
  /* Fast scan: find the closing quote and whether any escape occurs. */
  int has_escape = 0;
  while (p < end && *p != '"') {
    unsigned char c = (unsigned char)*p;
    if (c == '\\') {
      has_escape = 1;
      if (end - p < 2) {
        p = end;
        break;
      }
      p += 2;
      continue;
    }
    if (c < 0x20) {
      error_at(ps, p, "control character in string (must be escaped)");
      return -1;
    }
    if (c >= 0x80) {
      size_t n = utf8_seq((const unsigned char *)p, (const unsigned char *)end);
      if (!n) {
        error_at(ps, p, "invalid UTF-8 in string");
        return -1;
      }
      p += n;
      continue;
    }
    p++;
  }
  if (p >= end) {
    error_at(ps, ps->p, "unterminated string");
    return -1;
  }
  size_t raw = (size_t)(p - start);
  char *o = arena_alloc(ps->doc, raw + 1);
  if (!o) {
    error_at(ps, ps->p, "out of memory");
    return -1;
  }
  if (!has_escape) {
    memcpy(o, start, raw);
    o[raw] = 0;
    *out = o;
    *out_len = raw;
    ps->p = p + 1;
    return 0;
  }
  char *w = o;
  const char *q = start;
  while (q < p) {
    if (*q != '\\') {
      *w++ = *q++;
      continue;
    }
    const char *esc = q;
    q++;
    switch (*q) {
      case '"': *w++ = '"'; q++; break;
      case '\\': *w++ = '\\'; q++; break;
      case '/': *w++ = '/'; q++; break;
      case 'b': *w++ = '\b'; q++; break;
      case 'f': *w++ = '\f'; q++; break;
      case 'n': *w++ = '\n'; q++; break;
      case 'r': *w++ = '\r'; q++; break;
      case 't': *w++ = '\t'; q++; break;
      case 'u': {
        unsigned cp;
        if (read_hex4(ps, q + 1, &cp)) {
          error_at(ps, esc, "bad \\u escape (need 4 hex digits)");
          return -1;
        }
        q += 5;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          unsigned lo;
          if (p - q < 6 || q[0] != '\\' || q[1] != 'u' || read_hex4(ps, q + 2, &lo) || lo < 0xDC00 ||
              lo > 0xDFFF) {
            error_at(ps, esc, "unpaired high surrogate in \\u escape");
            return -1;
          }
          q += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          error_at(ps, esc, "unpaired low surrogate in \\u escape");
          return -1;
        }
        /* A \u escape is 6 source bytes and decodes to at most 3 (4 for a 12-byte pair). */
        w = put_utf8(w, cp);
        break;
      }
      default:
        error_at(ps, esc, "invalid escape in string");
        return -1;
    }
  }
  /* The fast scan may have stepped over the closing quote after a trailing backslash. */
  if (q != p) {
    error_at(ps, ps->p, "unterminated string");
    return -1;
  }
  *w = 0;
  *out = o;
  *out_len = (size_t)(w - o);
  ps->p = p + 1;
  return 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *ps, cd_json *v) {
  const char *p = ps->p, *end = ps->end, *start = p;
  int neg = 0, plain = 1;
  if (p < end && *p == '-') {
    neg = 1;
    p++;
  }
  if (p >= end || !is_digit(*p)) {
    error_at(ps, start, "invalid number");
    return -1;
  }
  if (*p == '0') {
    p++;
    if (p < end && is_digit(*p)) {
      error_at(ps, start, "invalid number (leading zero)");
      return -1;
    }
  } else {
    while (p < end && is_digit(*p)) p++;
  }
  const char *int_end = p;
  if (p < end && *p == '.') {
    plain = 0;
    p++;
    if (p >= end || !is_digit(*p)) {
      error_at(ps, p, "invalid number (digit expected after '.')");
      return -1;
    }
    while (p < end && is_digit(*p)) p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    plain = 0;
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || !is_digit(*p)) {
      error_at(ps, p, "invalid number (digit expected in exponent)");
      return -1;
    }
    while (p < end && is_digit(*p)) p++;
  }
  v->type = CD_JSON_NUMBER;
  if (plain) {
    /* Exact int64 when it fits; the double then is its nearest value. */
    uint64_t acc = 0;
    int ok = 1;
    for (const char *q = start + neg; q < int_end; q++) {
      unsigned d = (unsigned)(*q - '0');
      if (acc > (UINT64_MAX - d) / 10) {
        ok = 0;
        break;
      }
      acc = acc * 10 + d;
    }
    if (ok && (neg ? acc <= (uint64_t)INT64_MAX + 1 : acc <= (uint64_t)INT64_MAX)) {
      v->integer = neg ? (int64_t)(0 - acc) : (int64_t)acc;
      if (neg && acc == (uint64_t)INT64_MAX + 1) v->integer = INT64_MIN;
      v->is_integer = 1;
      v->number = (neg && acc == 0) ? -0.0 : (double)v->integer; /* "-0" keeps its sign */
      ps->p = p;
      return 0;
    }
  }
  size_t n = (size_t)(p - start);
  char buf[128];
  char *tmp = n < sizeof buf ? buf : malloc(n + 1);
  if (!tmp) {
    error_at(ps, start, "out of memory");
    return -1;
  }
  memcpy(tmp, start, n);
  tmp[n] = 0;
  v->number = strtod(tmp, NULL);
  if (tmp != buf) free(tmp);
  if (isfinite(v->number) && v->number == floor(v->number) && fabs(v->number) <= 9007199254740992.0) {
    v->is_integer = 1;
    v->integer = (int64_t)v->number;
  }
  ps->p = p;
  return 0;
}

static int push_slot(parser *ps, const cd_json *v, const char *key, size_t key_len) {
  if (ps->sp == ps->scap) {
    size_t nc = ps->scap ? ps->scap * 2 : 256;
    slot *ns = realloc(ps->stack, nc * sizeof *ns);
    if (!ns) {
      error_at(ps, ps->p, "out of memory");
      return -1;
    }
    ps->stack = ns;
    ps->scap = nc;
  }
  slot *s = &ps->stack[ps->sp++];
  s->v = *v;
  s->key = key;
  s->key_len = key_len;
  return 0;
}

/* Moves the children pushed since `base` into the arena as v's items. */
static int close_container(parser *ps, cd_json *v, size_t base, int is_object) {
  size_t n = ps->sp - base;
  v->n = n;
  if (n) {
    size_t bytes;
    if (!cd_mul_ok(n, sizeof(cd_json), &bytes) || !(v->items = arena_alloc(ps->doc, bytes))) {
      error_at(ps, ps->p, "out of memory");
      return -1;
    }
    if (is_object) {
      v->keys = arena_alloc(ps->doc, n * sizeof(char *));
      v->key_lens = arena_alloc(ps->doc, n * sizeof(size_t));
      if (!v->keys || !v->key_lens) {
        error_at(ps, ps->p, "out of memory");
        return -1;
      }
    }
    for (size_t i = 0; i < n; i++) {
      const slot *s = &ps->stack[base + i];
      v->items[i] = s->v;
      if (is_object) {
        v->keys[i] = s->key;
        v->key_lens[i] = s->key_len;
      }
    }
  }
  ps->sp = base;
  return 0;
}

static int parse_value(parser *ps, cd_json *v, int depth);

static int parse_container(parser *ps, cd_json *v, int depth, int is_object) {
  char close = is_object ? '}' : ']';
  if (depth >= JSON_MAX_DEPTH) {
    error_at(ps, ps->p, "nesting deeper than 64 levels");
    return -1;
  }
  v->type = is_object ? CD_JSON_OBJECT : CD_JSON_ARRAY;
  ps->p++;
  size_t base = ps->sp;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == close) {
    ps->p++;
    return close_container(ps, v, base, is_object);
  }
  for (;;) {
    const char *key = NULL;
    size_t key_len = 0;
    skip_ws(ps);
    if (is_object) {
      if (ps->p >= ps->end || *ps->p != '"') {
        error_at(ps, ps->p, "expected a string key");
        return -1;
      }
      if (parse_string(ps, &key, &key_len)) return -1;
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ':') {
        error_at(ps, ps->p, "expected ':' after object key");
        return -1;
      }
      ps->p++;
    }
    cd_json child;
    if (parse_value(ps, &child, depth + 1)) return -1;
    if (push_slot(ps, &child, key, key_len)) return -1;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == close) {
      ps->p++;
      return close_container(ps, v, base, is_object);
    }
    error_at(ps, ps->p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    return -1;
  }
}

static int match_lit(parser *ps, const char *lit) {
  size_t n = strlen(lit);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n) != 0) {
    error_at(ps, ps->p, "invalid literal (expected a value)");
    return -1;
  }
  ps->p += n;
  return 0;
}

static int parse_value(parser *ps, cd_json *v, int depth) {
  memset(v, 0, sizeof *v);
  skip_ws(ps);
  if (ps->p >= ps->end) {
    error_at(ps, ps->p, "unexpected end of input (expected a value)");
    return -1;
  }
  switch (*ps->p) {
    case '{': return parse_container(ps, v, depth, 1);
    case '[': return parse_container(ps, v, depth, 0);
    case '"':
      v->type = CD_JSON_STRING;
      return parse_string(ps, &v->str, &v->len);
    case 't':
      v->type = CD_JSON_BOOL;
      v->boolean = 1;
      return match_lit(ps, "true");
    case 'f':
      v->type = CD_JSON_BOOL;
      return match_lit(ps, "false");
    case 'n':
      v->type = CD_JSON_NULL;
      return match_lit(ps, "null");
    default:
      if (*ps->p == '-' || is_digit(*ps->p)) return parse_number(ps, v);
      error_at(ps, ps->p, "unexpected character (expected a value)");
      return -1;
  }
}

void cd_json_free(cd_json_doc *doc) {
  if (!doc) return;
  arena_block *b = doc->blocks;
  while (b) {
    arena_block *next = b->next;
    free(b);
    b = next;
  }
  free(doc);
}

cd_json_doc *cd_json_parse(const char *text, size_t len, const char *what, cd_error *e) {
  cd_json_doc *doc = calloc(1, sizeof *doc);
  if (!doc) {
    cd_fail(e, "%s: out of memory", what);
    return NULL;
  }
  parser ps = {0};
  ps.s = ps.p = text ? text : "";
  ps.end = ps.s + (text ? len : 0);
  ps.what = what ? what : "json";
  ps.e = e;
  ps.doc = doc;
  /* RFC 8259 section 8.1 lets parsers ignore a UTF-8 byte order mark. */
  if (ps.end - ps.p >= 3 && !memcmp(ps.p, "\xEF\xBB\xBF", 3)) ps.p += 3;
  int rc = parse_value(&ps, &doc->root, 0);
  if (!rc) {
    skip_ws(&ps);
    if (ps.p != ps.end) {
      error_at(&ps, ps.p, "unexpected data after the JSON value");
      rc = -1;
    }
  }
  free(ps.stack);
  if (rc) {
    cd_json_free(doc);
    return NULL;
  }
  return doc;
}

cd_json_doc *cd_json_parse_file(const char *path, size_t max_size, cd_error *e) {
  uint8_t *data;
  size_t size;
  if (cd_file_read(path, max_size, &data, &size, e)) return NULL;
  cd_json_doc *doc = cd_json_parse((const char *)data, size, path, e);
  free(data);
  return doc;
}

const cd_json *cd_json_root(const cd_json_doc *doc) { return doc ? &doc->root : NULL; }

const cd_json *cd_json_get(const cd_json *v, const char *key) {
  if (!v || v->type != CD_JSON_OBJECT || !key) return NULL;
  size_t kl = strlen(key);
  for (size_t i = 0; i < v->n; i++)
    if (v->key_lens[i] == kl && !memcmp(v->keys[i], key, kl)) return &v->items[i];
  return NULL;
}

int64_t cd_json_get_int(const cd_json *obj, const char *key, int64_t dflt) {
  const cd_json *v = cd_json_get(obj, key);
  return (v && v->type == CD_JSON_NUMBER && v->is_integer) ? v->integer : dflt;
}

double cd_json_get_num(const cd_json *obj, const char *key, double dflt) {
  const cd_json *v = cd_json_get(obj, key);
  return (v && v->type == CD_JSON_NUMBER) ? v->number : dflt;
}

const char *cd_json_get_str(const cd_json *obj, const char *key, const char *dflt) {
  const cd_json *v = cd_json_get(obj, key);
  return (v && v->type == CD_JSON_STRING) ? v->str : dflt;
}

int cd_json_equal(const cd_json *a, const cd_json *b) {
  if (!a || !b) return a == b;
  if (a->type != b->type) return 0;
  switch (a->type) {
    case CD_JSON_NULL: return 1;
    case CD_JSON_BOOL: return a->boolean == b->boolean;
    case CD_JSON_NUMBER: return a->is_integer && b->is_integer ? a->integer == b->integer : a->number == b->number;
    case CD_JSON_STRING: return a->len == b->len && !memcmp(a->str, b->str, a->len);
    default: break;
  }
  if (a->n != b->n) return 0;
  for (size_t i = 0; i < a->n; i++) {
    if (a->type == CD_JSON_OBJECT && (a->key_lens[i] != b->key_lens[i] || memcmp(a->keys[i], b->keys[i], a->key_lens[i])))
      return 0;
    if (!cd_json_equal(&a->items[i], &b->items[i])) return 0;
  }
  return 1;
}

const char *cd_json_type_name(cd_json_type t) {
  switch (t) {
    case CD_JSON_NULL: return "null";
    case CD_JSON_BOOL: return "a boolean";
    case CD_JSON_NUMBER: return "a number";
    case CD_JSON_STRING: return "a string";
    case CD_JSON_ARRAY: return "an array";
    case CD_JSON_OBJECT: return "an object";
  }
  return "?";
}

int cd_json_has(const cd_json *obj, const char *key) {
  const cd_json *v = cd_json_get(obj, key);
  return v && v->type != CD_JSON_NULL;
}

int cd_json_field(const cd_json *obj, const char *key, cd_json_type type, const cd_json **out, const char *file,
                  cd_error *e) {
  const cd_json *v = cd_json_get(obj, key);
  if (!v) return cd_fail(e, "%s: field \"%s\": missing", file, key);
  if (v->type != type)
    return cd_fail(e, "%s: field \"%s\": expected %s, found %s", file, key, cd_json_type_name(type),
                   cd_json_type_name(v->type));
  *out = v;
  return 0;
}

int cd_json_field_i64(const cd_json *obj, const char *key, int64_t lo, int64_t hi, int64_t *out, const char *file,
                      cd_error *e) {
  const cd_json *v;
  if (cd_json_field(obj, key, CD_JSON_NUMBER, &v, file, e)) return -1;
  if (!v->is_integer) return cd_fail(e, "%s: field \"%s\": %.17g is not an integer", file, key, v->number);
  if (v->integer < lo || v->integer > hi)
    return cd_fail(e, "%s: field \"%s\": %lld is outside [%lld, %lld]", file, key, (long long)v->integer,
                   (long long)lo, (long long)hi);
  *out = v->integer;
  return 0;
}

int cd_json_field_int(const cd_json *obj, const char *key, int lo, int hi, int *out, const char *file, cd_error *e) {
  int64_t v = 0;
  if (cd_json_field_i64(obj, key, lo, hi, &v, file, e)) return -1;
  *out = (int)v;
  return 0;
}

int cd_json_field_num(const cd_json *obj, const char *key, double lo, double hi, double *out, const char *file,
                      cd_error *e) {
  const cd_json *v;
  if (cd_json_field(obj, key, CD_JSON_NUMBER, &v, file, e)) return -1;
  if (!(v->number >= lo && v->number <= hi))
    return cd_fail(e, "%s: field \"%s\": %.17g is outside [%g, %g]", file, key, v->number, lo, hi);
  *out = v->number;
  return 0;
}

int cd_json_field_bool(const cd_json *obj, const char *key, int *out, const char *file, cd_error *e) {
  const cd_json *v;
  if (cd_json_field(obj, key, CD_JSON_BOOL, &v, file, e)) return -1;
  *out = v->boolean;
  return 0;
}

int cd_json_field_str(const cd_json *obj, const char *key, const char **out, const char *file, cd_error *e) {
  const cd_json *v;
  if (cd_json_field(obj, key, CD_JSON_STRING, &v, file, e)) return -1;
  *out = v->str;
  return 0;
}

int cd_json_field_nums(const cd_json *obj, const char *key, double *out, int n, const char *file, cd_error *e) {
  const cd_json *a;
  if (cd_json_field(obj, key, CD_JSON_ARRAY, &a, file, e)) return -1;
  if (a->n != (size_t)n) return cd_fail(e, "%s: field \"%s\": %zu numbers, expected %d", file, key, a->n, n);
  for (int i = 0; i < n; i++) {
    const cd_json *x = &a->items[i];
    if (x->type != CD_JSON_NULL && x->type != CD_JSON_NUMBER)
      return cd_fail(e, "%s: field \"%s\": item %d is %s, expected a number", file, key, i, cd_json_type_name(x->type));
    out[i] = x->type == CD_JSON_NULL ? NAN : x->number;
  }
  return 0;
}

void cd_json_strs_free(char **s, int n) {
  for (int i = 0; s && i < n; i++) free(s[i]);
  free(s);
}

int cd_json_field_strs(const cd_json *obj, const char *key, int min_n, char ***out, int *n, const char *file,
                       cd_error *e) {
  const cd_json *a;
  *out = NULL;
  *n = 0;
  if (cd_json_field(obj, key, CD_JSON_ARRAY, &a, file, e)) return -1;
  if (a->n < (size_t)min_n || a->n > (size_t)INT32_MAX)
    return cd_fail(e, "%s: field \"%s\": %zu strings, at least %d expected", file, key, a->n, min_n);
  char **s = calloc(a->n + 1, sizeof(char *));
  if (!s) return cd_fail(e, "%s: field \"%s\": out of memory", file, key);
  for (size_t i = 0; i < a->n; i++) {
    const cd_json *x = &a->items[i];
    const char *bad = x->type != CD_JSON_STRING ? cd_json_type_name(x->type) : !x->len ? "an empty string" : NULL;
    if (bad || !(s[i] = strdup(x->str))) {
      cd_json_strs_free(s, (int)i);
      return bad ? cd_fail(e, "%s: field \"%s\": item %zu is %s, expected a non-empty string", file, key, i, bad)
                 : cd_fail(e, "%s: field \"%s\": out of memory", file, key);
    }
  }
  *out = s;
  *n = (int)a->n;
  return 0;
}
