/* safetensors: every field of the header is checked against the file before a tensor is
 * exposed. Tensors are kept sorted by name (as the Python API lists them), which also
 * gives binary-search lookup and duplicate detection. */
#include "core/safetensors.h"

#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "core/json.h"
#include "core/json_write.h"

/* Real headers are kilobytes (a few hundred tensors); the cap bounds what a hostile header
 * can make the JSON parser allocate (about 90 bytes per tiny value). */
#define ST_MAX_HEADER (16u * 1024u * 1024u)

static char *dup_str(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

/* Writes a JSON string (as found in the header) into buf for messages, truncated and with
 * control bytes replaced, so hostile names cannot garble the terminal. */
static const char *printable(const char *s, size_t n, char *buf, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 4 < cap; i++) buf[o++] = ((unsigned char)s[i] < 0x20) ? '?' : s[i];
  if (n > 0 && o + 4 >= cap) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  buf[o] = 0;
  return buf;
}

static int int_field(const cd_json *v, int64_t *out) {
  if (!v || v->type != CD_JSON_NUMBER || !v->is_integer) return -1;
  *out = v->integer;
  return 0;
}

static int parse_tensor(const char *what, const char *name, const cd_json *v, size_t data_size,
                        const uint8_t *data, cd_st_tensor *t, cd_error *e) {
  if (v->type != CD_JSON_OBJECT)
    return cd_fail(e, "%s: tensor '%s': entry is not an object", what, name);
  const cd_json *dt = cd_json_get(v, "dtype");
  const cd_json *shape = cd_json_get(v, "shape");
  const cd_json *offs = cd_json_get(v, "data_offsets");
  if (!dt) return cd_fail(e, "%s: tensor '%s': missing \"dtype\"", what, name);
  if (!shape) return cd_fail(e, "%s: tensor '%s': missing \"shape\"", what, name);
  if (!offs) return cd_fail(e, "%s: tensor '%s': missing \"data_offsets\"", what, name);
  if (dt->type != CD_JSON_STRING) return cd_fail(e, "%s: tensor '%s': \"dtype\" is not a string", what, name);
  t->dtype = cd_dtype_from_name(dt->str);
  if (t->dtype == CD_DTYPE_INVALID) {
    char b[64];
    return cd_fail(e, "%s: tensor '%s': unsupported dtype '%s' (known: F32 F16 BF16 F64 I8 U8 I16 I32 I64 BOOL)",
                   what, name, printable(dt->str, dt->len, b, sizeof b));
  }
  if (shape->type != CD_JSON_ARRAY) return cd_fail(e, "%s: tensor '%s': \"shape\" is not an array", what, name);
  if (shape->n > CD_MAX_DIMS)
    return cd_fail(e, "%s: tensor '%s': shape has %zu dimensions, at most %d supported", what, name, shape->n,
                   CD_MAX_DIMS);
  t->ndim = (int)shape->n;
  size_t numel = 1;
  for (size_t i = 0; i < shape->n; i++) {
    int64_t d;
    if (int_field(&shape->items[i], &d) || d < 0)
      return cd_fail(e, "%s: tensor '%s': shape[%zu] is not a non-negative integer", what, name, i);
    t->shape[i] = d;
    if ((uint64_t)d > SIZE_MAX || !cd_mul_ok(numel, (size_t)d, &numel))
      return cd_fail(e, "%s: tensor '%s': shape overflows the element count", what, name);
  }
  t->numel = numel;
  size_t esize = cd_dtype_size(t->dtype), need;
  if (!cd_mul_ok(numel, esize, &need))
    return cd_fail(e, "%s: tensor '%s': shape overflows the byte count", what, name);
  int64_t b, en;
  if (offs->type != CD_JSON_ARRAY || offs->n != 2 || int_field(&offs->items[0], &b) ||
      int_field(&offs->items[1], &en) || b < 0 || en < 0)
    return cd_fail(e, "%s: tensor '%s': \"data_offsets\" must be [begin, end] of non-negative integers", what,
                   name);
  if (b > en)
    return cd_fail(e, "%s: tensor '%s': data_offsets [%lld, %lld] end before they begin", what, name,
                   (long long)b, (long long)en);
  if ((uint64_t)en > data_size)
    return cd_fail(e, "%s: tensor '%s': data_offsets [%lld, %lld] exceed the %zu bytes of data", what, name,
                   (long long)b, (long long)en, data_size);
  if ((uint64_t)(en - b) != need)
    return cd_fail(e, "%s: tensor '%s': data_offsets [%lld, %lld] hold %lld bytes but %s shape needs %zu",
                   what, name, (long long)b, (long long)en, (long long)(en - b), cd_dtype_name(t->dtype), need);
  t->nbytes = need;
  t->data = data + b;
  return 0;
}

static int parse_metadata(cd_safetensors *st, const char *what, const cd_json *m, cd_error *e) {
  if (m->type != CD_JSON_OBJECT) return cd_fail(e, "%s: \"__metadata__\" is not an object", what);
  st->meta_keys = calloc(m->n ? m->n : 1, sizeof(char *));
  st->meta_values = calloc(m->n ? m->n : 1, sizeof(char *));
  if (!st->meta_keys || !st->meta_values) return cd_fail(e, "%s: out of memory", what);
  for (size_t i = 0; i < m->n; i++) {
    if (m->items[i].type != CD_JSON_STRING) {
      char b[128];
      return cd_fail(e, "%s: \"__metadata__\" value of '%s' is not a string", what,
                     printable(m->keys[i], m->key_lens[i], b, sizeof b));
    }
    st->meta_keys[i] = dup_str(m->keys[i], m->key_lens[i]);
    st->meta_values[i] = dup_str(m->items[i].str, m->items[i].len);
    st->n_meta = (int)i + 1;
    if (!st->meta_keys[i] || !st->meta_values[i]) return cd_fail(e, "%s: out of memory", what);
  }
  return 0;
}

static int cmp_tensor(const void *a, const void *b) {
  return strcmp(((const cd_st_tensor *)a)->name, ((const cd_st_tensor *)b)->name);
}

static int parse_header(cd_safetensors *st, const uint8_t *buf, size_t size, const char *what, cd_error *e) {
  if (size < 8)
    return cd_fail(e, "%s: file is %zu bytes, too short for a safetensors header (at least 8)", what, size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | buf[i];
  if (n > ST_MAX_HEADER)
    return cd_fail(e, "%s: header length %llu is larger than the 16 MB limit (not a safetensors file?)", what,
                   (unsigned long long)n);
  if (n > size - 8)
    return cd_fail(e, "%s: header length %llu exceeds the file (%zu bytes after the length)", what,
                   (unsigned long long)n, size - 8);
  char jwhat[4200];
  snprintf(jwhat, sizeof jwhat, "%s: header", what);
  cd_json_doc *doc = cd_json_parse((const char *)buf + 8, (size_t)n, jwhat, e);
  if (!doc) return -1;
  const cd_json *root = cd_json_root(doc);
  int rc = 0;
  if (root->type != CD_JSON_OBJECT) {
    rc = cd_fail(e, "%s: header is not a JSON object", what);
    goto done;
  }
  size_t data_size = size - 8 - (size_t)n;
  const uint8_t *data = buf + 8 + n;
  st->tensors = calloc(root->n ? root->n : 1, sizeof(cd_st_tensor));
  if (!st->tensors) {
    rc = cd_fail(e, "%s: out of memory", what);
    goto done;
  }
  for (size_t i = 0; i < root->n && !rc; i++) {
    const char *key = root->keys[i];
    size_t klen = root->key_lens[i];
    if (klen == 12 && !memcmp(key, "__metadata__", 12)) {
      if (st->meta_keys) rc = cd_fail(e, "%s: \"__metadata__\" appears twice", what);
      else rc = parse_metadata(st, what, &root->items[i], e);
      continue;
    }
    if (memchr(key, 0, klen)) {
      rc = cd_fail(e, "%s: tensor name with an embedded NUL byte", what);
      break;
    }
    cd_st_tensor *t = &st->tensors[st->n_tensors];
    char nb[256];
    rc = parse_tensor(what, printable(key, klen, nb, sizeof nb), &root->items[i], data_size, data, t, e);
    if (rc) break;
    if (!(t->name = dup_str(key, klen))) {
      rc = cd_fail(e, "%s: out of memory", what);
      break;
    }
    st->n_tensors++;
  }
  if (!rc && st->n_tensors > 1) {
    qsort(st->tensors, (size_t)st->n_tensors, sizeof(cd_st_tensor), cmp_tensor);
    for (int i = 1; i < st->n_tensors; i++) {
      if (!strcmp(st->tensors[i - 1].name, st->tensors[i].name)) {
        char nb[256];
        rc = cd_fail(e, "%s: tensor '%s' appears twice in the header", what,
                     printable(st->tensors[i].name, strlen(st->tensors[i].name), nb, sizeof nb));
        break;
      }
    }
  }
done:
  cd_json_free(doc);
  return rc;
}

int cd_st_open_memory(cd_safetensors *st, const uint8_t *data, size_t size, const char *what, cd_error *e) {
  memset(st, 0, sizeof *st);
  snprintf(st->path, sizeof st->path, "%s", what ? what : "safetensors");
  if (parse_header(st, data, data ? size : 0, st->path, e)) {
    cd_st_close(st);
    return -1;
  }
  return 0;
}

int cd_st_open(cd_safetensors *st, const char *path, cd_error *e) {
  memset(st, 0, sizeof *st);
  snprintf(st->path, sizeof st->path, "%s", path);
  if (cd_file_map(&st->file, path, e)) return -1;
  if (parse_header(st, st->file.data, st->file.size, path, e)) {
    cd_st_close(st);
    return -1;
  }
  return 0;
}

void cd_st_close(cd_safetensors *st) {
  if (!st) return;
  for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
  free(st->tensors);
  for (int i = 0; i < st->n_meta; i++) {
    free(st->meta_keys[i]);
    free(st->meta_values[i]);
  }
  free(st->meta_keys);
  free(st->meta_values);
  cd_file_close(&st->file);
  memset(st, 0, sizeof *st);
}

const cd_st_tensor *cd_st_find(const cd_safetensors *st, const char *name) {
  if (!st || !name || st->n_tensors <= 0) return NULL;
  cd_st_tensor key;
  key.name = (char *)name;
  return bsearch(&key, st->tensors, (size_t)st->n_tensors, sizeof(cd_st_tensor), cmp_tensor);
}

const char *cd_st_meta(const cd_safetensors *st, const char *key) {
  if (!st || !key) return NULL;
  for (int i = 0; i < st->n_meta; i++)
    if (!strcmp(st->meta_keys[i], key)) return st->meta_values[i];
  return NULL;
}

/* ---- writing ---- */

typedef struct {
  int idx;
  size_t esize;
  const char *name;
} wr_order;

static int cmp_order(const void *a, const void *b) {
  const wr_order *x = a, *y = b;
  /* Larger elements first keeps every tensor aligned to its element size, as the
   * reference writer does; names break ties. */
  if (x->esize != y->esize) return x->esize > y->esize ? -1 : 1;
  return strcmp(x->name, y->name);
}

int cd_st_write(const char *path, int n, const char *const *names, const cd_dtype *dtypes, const int *ndims,
                const int64_t *const *shapes, const void *const *data, cd_error *e) {
  if (n < 0) return cd_fail(e, "%s: negative tensor count", path);
  wr_order *ord = calloc(n ? (size_t)n : 1, sizeof *ord);
  size_t *nbytes = calloc(n ? (size_t)n : 1, sizeof *nbytes);
  char *hdr = NULL;
  size_t hlen = 0;
  FILE *ms = NULL;
  int rc = -1;
  if (!ord || !nbytes) {
    cd_fail(e, "%s: out of memory", path);
    goto out;
  }
  for (int i = 0; i < n; i++) {
    size_t es = cd_dtype_size(dtypes[i]);
    if (!names[i] || !es) {
      cd_fail(e, "%s: tensor %d: missing name or invalid dtype", path, i);
      goto out;
    }
    if (!strcmp(names[i], "__metadata__")) {
      cd_fail(e, "%s: '__metadata__' is not a valid tensor name", path);
      goto out;
    }
    if (ndims[i] < 0 || ndims[i] > CD_MAX_DIMS) {
      cd_fail(e, "%s: tensor '%s': %d dimensions (0..%d allowed)", path, names[i], ndims[i], CD_MAX_DIMS);
      goto out;
    }
    size_t bytes = es;
    for (int d = 0; d < ndims[i]; d++) {
      if (shapes[i][d] < 0 || !cd_mul_ok(bytes, (size_t)shapes[i][d], &bytes)) {
        cd_fail(e, "%s: tensor '%s': invalid shape", path, names[i]);
        goto out;
      }
    }
    nbytes[i] = bytes;
    ord[i] = (wr_order){i, es, names[i]};
  }
  qsort(ord, (size_t)n, sizeof *ord, cmp_order);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (!strcmp(ord[i].name, ord[j].name)) {
        cd_fail(e, "%s: tensor name '%s' is used twice", path, ord[i].name);
        goto out;
      }
  ms = open_memstream(&hdr, &hlen);
  if (!ms) {
    cd_fail(e, "%s: out of memory", path);
    goto out;
  }
  cd_jw w;
  cd_jw_init(&w, ms);
  w.tight = 1;
  cd_jw_obj(&w);
  size_t off = 0;
  for (int k = 0; k < n; k++) {
    int i = ord[k].idx;
    cd_jw_key(&w, names[i]);
    cd_jw_obj(&w);
    cd_jw_kstr(&w, "dtype", cd_dtype_name(dtypes[i]));
    cd_jw_key(&w, "shape");
    cd_jw_ints(&w, shapes[i], ndims[i]);
    cd_jw_key(&w, "data_offsets");
    const int64_t offs[2] = {(int64_t)off, (int64_t)(off + nbytes[i])};
    cd_jw_ints(&w, offs, 2);
    cd_jw_end(&w);
    off += nbytes[i];
  }
  cd_jw_end(&w);
  /* Pad with spaces so the data starts 8-byte aligned, as the reference writer does. */
  long pos = ftell(ms);
  while (pos >= 0 && (pos % 8) != 0) {
    fputc(' ', ms);
    pos++;
  }
  if (fclose(ms) != 0) {
    ms = NULL;
    cd_fail(e, "%s: out of memory building the header", path);
    goto out;
  }
  ms = NULL;
  cd_atomic_file af;
  if (cd_atomic_open(&af, path, e)) goto out;
  uint8_t len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
  int ok = fwrite(len8, 1, 8, af.fp) == 8 && fwrite(hdr, 1, hlen, af.fp) == hlen;
  for (int k = 0; k < n && ok; k++) {
    int i = ord[k].idx;
    if (nbytes[i] && fwrite(data[i], 1, nbytes[i], af.fp) != nbytes[i]) ok = 0;
  }
  if (!ok) {
    int err = errno;
    cd_atomic_abort(&af);
    cd_fail(e, "%s: write failed: %s", path, strerror(err));
    goto out;
  }
  rc = cd_atomic_commit(&af, e);
out:
  if (ms) fclose(ms);
  free(hdr);
  free(ord);
  free(nbytes);
  return rc;
}
