/* NumPy .npy reader/writer. The header is a Python dict literal; it is parsed by a small
 * tokenizer that accepts exactly what numpy's safe literal parser would for the three keys
 * (any order, optional trailing comma, free spacing), and nothing else. */
#include "core/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"

#define NPY_MAX_HEADER (1u << 20) /* numpy itself refuses headers over 10000 bytes by default */

typedef struct {
  cd_dtype dtype;
  int ndim;
  int64_t shape[8];
  size_t numel, nbytes;
} npy_info;

static const struct {
  char kind;
  int size;
  cd_dtype t;
  const char *pretty;
} NPY_TYPES[] = {
    {'f', 4, CD_F32, "float32"}, {'f', 8, CD_F64, "float64"}, {'f', 2, CD_F16, "float16"},
    {'i', 1, CD_I8, "int8"},     {'i', 2, CD_I16, "int16"},   {'i', 4, CD_I32, "int32"},
    {'i', 8, CD_I64, "int64"},   {'u', 1, CD_U8, "uint8"},    {'b', 1, CD_BOOL, "bool"},
};
#define N_NPY_TYPES (sizeof NPY_TYPES / sizeof NPY_TYPES[0])

static const char *pretty_dtype(cd_dtype t) {
  for (size_t i = 0; i < N_NPY_TYPES; i++)
    if (NPY_TYPES[i].t == t) return NPY_TYPES[i].pretty;
  return cd_dtype_name(t);
}

/* ---- header dict parsing ---- */

typedef struct {
  const char *p, *end;
} lex;

static void lskip(lex *l) {
  while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r')) l->p++;
}

static int lchar(lex *l, char c) {
  lskip(l);
  if (l->p < l->end && *l->p == c) {
    l->p++;
    return 1;
  }
  return 0;
}

/* A Python string literal in single or double quotes, without escapes (numpy never writes
 * any in these three fields). Copied into out (NUL-terminated). */
static int lstring(lex *l, char *out, size_t cap) {
  lskip(l);
  if (l->p >= l->end || (*l->p != '\'' && *l->p != '"')) return -1;
  char q = *l->p++;
  size_t n = 0;
  while (l->p < l->end && *l->p != q) {
    if (*l->p == '\\' || n + 1 >= cap) return -1;
    out[n++] = *l->p++;
  }
  if (l->p >= l->end) return -1;
  l->p++;
  out[n] = 0;
  return 0;
}

static int lword(lex *l, const char *w) {
  lskip(l);
  size_t n = strlen(w);
  if ((size_t)(l->end - l->p) >= n && !memcmp(l->p, w, n)) {
    l->p += n;
    return 1;
  }
  return 0;
}

static int parse_descr(const char *what, const char *d, cd_dtype *t, cd_error *e) {
  size_t n = strlen(d);
  if (n < 3 || (d[0] != '<' && d[0] != '>' && d[0] != '|' && d[0] != '='))
    return cd_fail(e, "%s: unsupported dtype '%s' (supported: <f4 <f8 <f2 <i4 <i8 <i2 |i1 |u1 |b1)", what, d);
  char *endp;
  long size = strtol(d + 2, &endp, 10);
  if (*endp || endp == d + 2)
    return cd_fail(e, "%s: unsupported dtype '%s' (supported: <f4 <f8 <f2 <i4 <i8 <i2 |i1 |u1 |b1)", what, d);
  for (size_t i = 0; i < N_NPY_TYPES; i++) {
    if (NPY_TYPES[i].kind == d[1] && NPY_TYPES[i].size == size) {
      if (d[0] == '>' && size > 1)
        return cd_fail(e, "%s: big-endian dtype '%s' is not supported (save with '<' byte order, e.g. "
                          "arr.astype('<%c%ld'))", what, d, d[1], size);
      *t = NPY_TYPES[i].t;
      return 0;
    }
  }
  return cd_fail(e, "%s: unsupported dtype '%s' (supported: <f4 <f8 <f2 <i4 <i8 <i2 |i1 |u1 |b1)", what, d);
}

static int parse_shape(lex *l, const char *what, npy_info *h, cd_error *e) {
  if (!lchar(l, '(')) return cd_fail(e, "%s: header 'shape' is not a tuple", what);
  h->ndim = 0;
  for (;;) {
    if (lchar(l, ')')) break;
    lskip(l);
    if (l->p >= l->end || *l->p < '0' || *l->p > '9')
      return cd_fail(e, "%s: header 'shape' must hold non-negative integers", what);
    uint64_t v = 0;
    while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
      if (v > ((uint64_t)INT64_MAX - 9) / 10) return cd_fail(e, "%s: header 'shape' dimension too large", what);
      v = v * 10 + (uint64_t)(*l->p++ - '0');
    }
    if (l->p < l->end && *l->p == 'L') l->p++; /* Python 2 long literal */
    if (h->ndim >= 8) return cd_fail(e, "%s: array has more than 8 dimensions", what);
    h->shape[h->ndim++] = (int64_t)v;
    if (lchar(l, ',')) continue;
    if (lchar(l, ')')) break;
    return cd_fail(e, "%s: header 'shape' tuple is malformed", what);
  }
  /* "(3)" is an int in Python, not a tuple; numpy writes 1-tuples as "(3,)". Accept both:
   * the intent is unambiguous. */
  return 0;
}

static int parse_dict(const char *what, const char *s, size_t n, npy_info *h, cd_error *e) {
  lex l = {s, s + n};
  int have_descr = 0, have_fortran = 0, have_shape = 0, fortran = 0;
  if (!lchar(&l, '{')) return cd_fail(e, "%s: header is not a Python dict literal", what);
  for (;;) {
    if (lchar(&l, '}')) break;
    char key[32];
    if (lstring(&l, key, sizeof key)) return cd_fail(e, "%s: header dict has a malformed key", what);
    if (!lchar(&l, ':')) return cd_fail(e, "%s: header dict: expected ':' after '%s'", what, key);
    if (!strcmp(key, "descr")) {
      char d[32];
      if (have_descr++) return cd_fail(e, "%s: header has 'descr' twice", what);
      if (lstring(&l, d, sizeof d))
        return cd_fail(e, "%s: header 'descr' is not a simple dtype string (structured arrays are not supported)",
                       what);
      if (parse_descr(what, d, &h->dtype, e)) return -1;
    } else if (!strcmp(key, "fortran_order")) {
      if (have_fortran++) return cd_fail(e, "%s: header has 'fortran_order' twice", what);
      if (lword(&l, "True")) fortran = 1;
      else if (lword(&l, "False")) fortran = 0;
      else return cd_fail(e, "%s: header 'fortran_order' is not True or False", what);
    } else if (!strcmp(key, "shape")) {
      if (have_shape++) return cd_fail(e, "%s: header has 'shape' twice", what);
      if (parse_shape(&l, what, h, e)) return -1;
    } else {
      return cd_fail(e, "%s: header has an unexpected key '%s'", what, key);
    }
    if (lchar(&l, ',')) continue;
    if (lchar(&l, '}')) break;
    return cd_fail(e, "%s: header dict: expected ',' or '}'", what);
  }
  lskip(&l);
  if (l.p != l.end) return cd_fail(e, "%s: unexpected text after the header dict", what);
  if (!have_descr || !have_fortran || !have_shape)
    return cd_fail(e, "%s: header lacks '%s'", what, !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
  if (fortran)
    return cd_fail(e, "%s: fortran_order=True arrays are not supported (save a C-contiguous array, "
                      "e.g. np.ascontiguousarray)", what);
  size_t numel = 1;
  for (int i = 0; i < h->ndim; i++)
    if ((uint64_t)h->shape[i] > SIZE_MAX || !cd_mul_ok(numel, (size_t)h->shape[i], &numel))
      return cd_fail(e, "%s: shape overflows the element count", what);
  h->numel = numel;
  if (!cd_mul_ok(numel, cd_dtype_size(h->dtype), &h->nbytes))
    return cd_fail(e, "%s: shape overflows the byte count", what);
  return 0;
}

/* Decodes the fixed prefix; needs 12 bytes available (or fewer for v1, checked). Returns the
 * prefix length in *pre and the dict length in *hlen. */
static int parse_prefix(const char *what, const uint8_t *b, size_t avail, size_t *pre, size_t *hlen, cd_error *e) {
  if (avail < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
    return cd_fail(e, "%s: not a .npy file (bad magic)", what);
  int major = b[6];
  if (major == 1) {
    *pre = 10;
    *hlen = (size_t)b[8] | ((size_t)b[9] << 8);
  } else if (major == 2 || major == 3) {
    if (avail < 12) return cd_fail(e, "%s: truncated .npy header", what);
    *pre = 12;
    *hlen = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
  } else {
    return cd_fail(e, "%s: unsupported .npy format version %d.%d", what, major, b[7]);
  }
  if (*hlen > NPY_MAX_HEADER) return cd_fail(e, "%s: .npy header of %zu bytes is implausibly large", what, *hlen);
  return 0;
}

static void *alloc_aligned(size_t n) {
  void *p = NULL;
  /* Never zero bytes, so data is non-NULL even for empty arrays. */
  if (posix_memalign(&p, 64, n ? (n + 63) & ~(size_t)63 : 64) != 0) return NULL;
  return p;
}

static void fill_array(cd_array *a, const npy_info *h, void *data) {
  a->dtype = h->dtype;
  a->ndim = h->ndim;
  for (int i = 0; i < 8; i++) a->shape[i] = i < h->ndim ? h->shape[i] : 0;
  a->numel = h->numel;
  a->data = data;
}

int cd_npy_load_memory(const uint8_t *buf, size_t size, const char *what, cd_array *a, cd_error *e) {
  memset(a, 0, sizeof *a);
  size_t pre, hlen;
  if (parse_prefix(what, buf, buf ? size : 0, &pre, &hlen, e)) return -1;
  if (hlen > size - pre)
    return cd_fail(e, "%s: truncated: header needs %zu bytes, file has %zu", what, pre + hlen, size);
  npy_info h = {0};
  if (parse_dict(what, (const char *)buf + pre, hlen, &h, e)) return -1;
  size_t have = size - pre - hlen;
  if (have < h.nbytes)
    return cd_fail(e, "%s: truncated: data needs %zu bytes, file has %zu after the header", what, h.nbytes, have);
  void *data = alloc_aligned(h.nbytes);
  if (!data) return cd_fail(e, "%s: out of memory for %zu bytes", what, h.nbytes);
  if (h.nbytes) memcpy(data, buf + pre + hlen, h.nbytes);
  fill_array(a, &h, data);
  return 0;
}

int cd_npy_load(const char *path, cd_array *a, cd_error *e) {
  memset(a, 0, sizeof *a);
  FILE *fp = fopen(path, "rb");
  if (!fp) return cd_fail(e, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(fp);
    return cd_fail(e, "%s: not a regular file", path);
  }
  size_t size = (size_t)st.st_size;
  uint8_t pfx[12];
  size_t got = fread(pfx, 1, sizeof pfx, fp);
  size_t pre, hlen;
  char *hdr = NULL;
  npy_info h = {0};
  void *data = NULL;
  int rc = -1;
  if (parse_prefix(path, pfx, got, &pre, &hlen, e)) goto out;
  if (hlen > size - pre) {
    cd_fail(e, "%s: truncated: header needs %zu bytes, file has %zu", path, pre + hlen, size);
    goto out;
  }
  if (!(hdr = malloc(hlen + 1))) {
    cd_fail(e, "%s: out of memory", path);
    goto out;
  }
  if (fseek(fp, (long)pre, SEEK_SET) != 0 || fread(hdr, 1, hlen, fp) != hlen) {
    cd_fail(e, "%s: read error in the header", path);
    goto out;
  }
  if (parse_dict(path, hdr, hlen, &h, e)) goto out;
  size_t have = size - pre - hlen;
  if (have < h.nbytes) {
    cd_fail(e, "%s: truncated: data needs %zu bytes, file has %zu after the header", path, h.nbytes, have);
    goto out;
  }
  if (!(data = alloc_aligned(h.nbytes))) {
    cd_fail(e, "%s: out of memory for %zu bytes", path, h.nbytes);
    goto out;
  }
  if (h.nbytes && fread(data, 1, h.nbytes, fp) != h.nbytes) {
    cd_fail(e, "%s: read error in the data", path);
    goto out;
  }
  fill_array(a, &h, data);
  data = NULL;
  rc = 0;
out:
  free(data);
  free(hdr);
  fclose(fp);
  return rc;
}

int cd_npy_map_open(const char *path, cd_npy_map *m, cd_error *e) {
  memset(m, 0, sizeof *m);
  if (cd_file_map(&m->file, path, e)) return -1;
  const uint8_t *b = m->file.data;
  size_t size = m->file.size, pre, hlen;
  npy_info h = {0};
  int rc = parse_prefix(path, b, b ? size : 0, &pre, &hlen, e);
  if (rc == 0 && hlen > size - pre) rc = cd_fail(e, "%s: truncated: header needs %zu bytes, file has %zu", path, pre + hlen, size);
  if (rc == 0) rc = parse_dict(path, (const char *)b + pre, hlen, &h, e);
  if (rc == 0 && size - pre - hlen < h.nbytes)
    rc = cd_fail(e, "%s: truncated: data needs %zu bytes, file has %zu after the header", path, h.nbytes, size - pre - hlen);
  if (rc == 0 && (pre + hlen) % cd_dtype_size(h.dtype))
    rc = cd_fail(e, "%s: the data starts at byte %zu, not aligned to its %zu-byte elements (save it again with numpy)", path,
                 pre + hlen, cd_dtype_size(h.dtype));
  if (rc) {
    cd_npy_map_close(m);
    return -1;
  }
  fill_array(&m->a, &h, h.nbytes ? (void *)(b + pre + hlen) : NULL);
  return 0;
}

void cd_npy_map_close(cd_npy_map *m) {
  if (!m) return;
  cd_file_close(&m->file);
  memset(m, 0, sizeof *m);
}

void cd_npy_map_release(const cd_npy_map *m, size_t off, size_t n) {
  if (m->a.data) cd_file_release(&m->file, (const uint8_t *)m->a.data + off, n);
}

void cd_array_free(cd_array *a) {
  if (!a) return;
  free(a->data);
  memset(a, 0, sizeof *a);
}

int cd_npy_load_f32(const char *path, int expect_ndim, cd_array *a, cd_error *e) {
  cd_array raw;
  if (cd_npy_load(path, &raw, e)) return -1;
  memset(a, 0, sizeof *a);
  if (expect_ndim > 0 && raw.ndim != expect_ndim) {
    int nd = raw.ndim;
    cd_array_free(&raw);
    return cd_fail(e, "%s: expected a %d-D array, got %d-D", path, expect_ndim, nd);
  }
  if (raw.dtype == CD_F32) {
    *a = raw;
    return 0;
  }
  if (raw.dtype == CD_BOOL) {
    cd_array_free(&raw);
    return cd_fail(e, "%s: expected numbers, got a bool array", path);
  }
  size_t bytes;
  float *f = NULL;
  if (!cd_mul_ok(raw.numel, 4, &bytes) || !(f = alloc_aligned(bytes))) {
    cd_array_free(&raw);
    return cd_fail(e, "%s: out of memory converting to float32", path);
  }
  cd_convert_to_f32(f, raw.data, raw.dtype, raw.numel);
  free(raw.data);
  *a = raw;
  a->data = f;
  a->dtype = CD_F32;
  return 0;
}

int cd_npy_load_labels(const char *path, cd_array *a, cd_error *e) {
  cd_array raw;
  if (cd_npy_load(path, &raw, e)) return -1;
  memset(a, 0, sizeof *a);
  int rc = 0;
  if (raw.dtype != CD_I8 && raw.dtype != CD_I16 && raw.dtype != CD_I32 && raw.dtype != CD_I64 &&
      raw.dtype != CD_U8 && raw.dtype != CD_BOOL) {
    rc = cd_fail(e, "%s: labels must be integers, got %s (convert with arr.astype(np.int64))", path,
                 pretty_dtype(raw.dtype));
  } else if (!(raw.ndim == 1 || (raw.ndim == 2 && raw.shape[1] == 1))) {
    rc = cd_fail(e, "%s: labels must have shape [N] or [N,1], got %d-D", path, raw.ndim);
  }
  if (rc) {
    cd_array_free(&raw);
    return -1;
  }
  int32_t *out = alloc_aligned(raw.numel * 4);
  if (!out) {
    cd_array_free(&raw);
    return cd_fail(e, "%s: out of memory", path);
  }
  const uint8_t *s = raw.data;
  for (size_t i = 0; i < raw.numel; i++) {
    int64_t v;
    switch (raw.dtype) {
      case CD_I8: v = (int8_t)s[i]; break;
      case CD_U8:
      case CD_BOOL: v = s[i]; break;
      case CD_I16: { int16_t x; memcpy(&x, s + 2 * i, 2); v = x; break; }
      case CD_I32: { int32_t x; memcpy(&x, s + 4 * i, 4); v = x; break; }
      default: memcpy(&v, s + 8 * i, 8); break;
    }
    if (v < INT32_MIN || v > INT32_MAX) {
      free(out);
      cd_array_free(&raw);
      return cd_fail(e, "%s: label %lld at index %zu does not fit in int32", path, (long long)v, i);
    }
    out[i] = (int32_t)v;
  }
  a->dtype = CD_I32;
  a->ndim = 1;
  a->shape[0] = (int64_t)raw.numel;
  a->numel = raw.numel;
  a->data = out;
  cd_array_free(&raw);
  return 0;
}

static const char *descr_of(cd_dtype t) {
  switch (t) {
    case CD_F32: return "<f4";
    case CD_F64: return "<f8";
    case CD_F16: return "<f2";
    case CD_I8: return "|i1";
    case CD_I16: return "<i2";
    case CD_I32: return "<i4";
    case CD_I64: return "<i8";
    case CD_U8: return "|u1";
    case CD_BOOL: return "|b1";
    default: return NULL;
  }
}

size_t cd_npy_header(cd_dtype dtype, int ndim, const int64_t *shape, uint8_t out[CD_NPY_HEADER_MAX], size_t *nbytes) {
  const char *descr = descr_of(dtype);
  if (!descr || ndim < 0 || ndim > 8) return 0;
  char dict[512];
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  size_t bytes = cd_dtype_size(dtype);
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0 || !cd_mul_ok(bytes, (size_t)shape[i], &bytes)) return 0;
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%lld", i ? ", " : "", (long long)shape[i]);
  }
  n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", ndim == 1 ? "," : "");
  /* numpy leaves room for the first axis to grow in place (up to 21 digits). */
  if (ndim > 0) {
    int digits = snprintf(NULL, 0, "%lld", (long long)shape[0]);
    for (int i = digits; i < 21; i++) dict[n++] = ' ';
  }
  /* Pad with spaces + '\n' so the data starts on a 64-byte boundary, as numpy does. */
  size_t hlen = (size_t)n + 1;
  size_t pad = 64 - ((10 + hlen) % 64);
  size_t total = hlen + pad;
  memcpy(out, "\x93NUMPY\x01\x00", 8);
  out[8] = (uint8_t)(total & 0xFF);
  out[9] = (uint8_t)(total >> 8);
  memcpy(out + 10, dict, (size_t)n);
  memset(out + 10 + n, ' ', pad);
  out[10 + total - 1] = '\n';
  if (nbytes) *nbytes = bytes;
  return 10 + total;
}

int cd_npy_save(const char *path, cd_dtype dtype, int ndim, const int64_t *shape, const void *data, cd_error *e) {
  if (!descr_of(dtype)) return cd_fail(e, "%s: dtype %s cannot be stored in .npy", path, cd_dtype_name(dtype));
  if (ndim < 0 || ndim > 8) return cd_fail(e, "%s: %d dimensions (0..8 allowed)", path, ndim);
  uint8_t head[CD_NPY_HEADER_MAX];
  size_t bytes, len = cd_npy_header(dtype, ndim, shape, head, &bytes);
  if (!len) return cd_fail(e, "%s: invalid shape", path);
  cd_atomic_file af;
  if (cd_atomic_open(&af, path, e)) return -1;
  if (fwrite(head, 1, len, af.fp) != len || (bytes && fwrite(data, 1, bytes, af.fp) != bytes)) {
    int err = errno;
    cd_atomic_abort(&af);
    return cd_fail(e, "%s: write failed: %s", path, strerror(err));
  }
  return cd_atomic_commit(&af, e);
}
