/* CLIP tokenizer: a C transcription of OpenAI's simple_tokenizer.py.
 *
 * Text pipeline (each step mirrors one Python expression; all of it runs on code points):
 *   html.unescape(html.unescape(text)).strip()     basic_clean (ftfy.fix_text is not
 *       reproduced: it leaves well-formed text alone, so ASCII and NFC input is unaffected;
 *       mojibake repair and NFC normalisation of decomposed input are not done)
 *   re.sub(r'\s+', ' ', text).strip()               whitespace_clean (the regex module's \s)
 *   .lower()                                        Python's full lower-casing incl. final sigma
 *   re.findall(pat, text)                           the split pattern, compiled with IGNORECASE
 * then each piece's UTF-8 bytes go through bytes_to_unicode and BPE with "</w>" on the last
 * symbol. Symbols are represented by vocabulary ids; a merge (a, b) is keyed by the ids of a
 * and b, which is exact because ids and strings correspond one to one through the encoder. */
#include "data/text/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/inflate.h"
#include "core/json.h"
#include "data/text/html_entities.h"
#include "data/text/unicode_tables.h"

#define MAX_TEXT_BYTES (1u << 20) /* bounds the work and memory per text */
#define N_MERGES (49152 - 256 - 2) /* upstream keeps lines[1 : 49152-256-2+1] */
#define MAX_FILE (64u << 20)

struct cd_tokenizer {
  int n;                /* vocabulary size */
  char **str;           /* id -> NUL-terminated token text (UTF-8 of the byte-level chars) */
  char *arena;
  uint32_t scap;        /* string hash: open addressing over ids, capacity power of 2 */
  int32_t *shash;
  uint32_t pcap;        /* merge hash: key (a << 32 | b) -> rank and merged id */
  uint64_t *pkey;
  int32_t *prank, *pmerged;
  int32_t byte_id[256], byte_id_w[256];
  int32_t sot, eot;
};

/* ---- hashing ---- */
static uint32_t fnv(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

static int32_t str_find(const cd_tokenizer *t, const char *s, size_t n) {
  for (uint32_t i = fnv(s, n) & (t->scap - 1);; i = (i + 1) & (t->scap - 1)) {
    int32_t id = t->shash[i];
    if (id < 0) return -1;
    if (strlen(t->str[id]) == n && memcmp(t->str[id], s, n) == 0) return id;
  }
}

/* Inserts id under its string; an existing entry is replaced, like dict(zip(vocab, ids)). */
static void str_insert(cd_tokenizer *t, int32_t id) {
  const char *s = t->str[id];
  size_t n = strlen(s);
  for (uint32_t i = fnv(s, n) & (t->scap - 1);; i = (i + 1) & (t->scap - 1)) {
    int32_t old = t->shash[i];
    if (old < 0 || (strlen(t->str[old]) == n && memcmp(t->str[old], s, n) == 0)) {
      t->shash[i] = id;
      return;
    }
  }
}

static uint32_t pair_slot(const cd_tokenizer *t, uint64_t key) {
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  uint32_t i = (uint32_t)(h >> 32) & (t->pcap - 1);
  while (t->pkey[i] != UINT64_MAX && t->pkey[i] != key) i = (i + 1) & (t->pcap - 1);
  return i;
}

static int32_t pair_rank(const cd_tokenizer *t, int32_t a, int32_t b, int32_t *merged) {
  uint32_t i = pair_slot(t, (uint64_t)(uint32_t)a << 32 | (uint32_t)b);
  if (t->pkey[i] == UINT64_MAX) return -1;
  *merged = t->pmerged[i];
  return t->prank[i];
}

/* ---- bytes_to_unicode ---- */
static void byte_chars(uint32_t cs[256]) {
  int n = 0;
  for (int b = 0; b < 256; b++) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    cs[b] = printable ? (uint32_t)b : (uint32_t)(256 + n++);
  }
}

/* Vocabulary order of the bytes: bs = printable ranges first, then the rest ascending. */
static void byte_order(int order[256]) {
  int k = 0;
  for (int b = 0; b < 256; b++)
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) order[k++] = b;
  for (int b = 0; b < 256; b++)
    if (!((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))) order[k++] = b;
}

static size_t put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 63));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 63));
    o[2] = (char)(0x80 | (cp & 63));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 63));
  o[2] = (char)(0x80 | ((cp >> 6) & 63));
  o[3] = (char)(0x80 | (cp & 63));
  return 4;
}

/* Strict UTF-8 (as Python's decode('utf-8')): no overlongs, surrogates or > U+10FFFF.
 * Returns the number of code points, or -1 with *bad = offset of the first bad byte. */
static long utf8_decode(const uint8_t *s, size_t n, uint32_t *out, size_t *bad) {
  size_t i = 0, k = 0;
  while (i < n) {
    uint32_t c = s[i];
    int len = c < 0x80 ? 1 : c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c < 0xF5 ? 4 : 0;
    if (!len || i + (size_t)len > n) return *bad = i, -1;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 31 : len == 3 ? c & 15 : c & 7;
    for (int j = 1; j < len; j++) {
      if ((s[i + j] & 0xC0) != 0x80) return *bad = i, -1;
      cp = cp << 6 | (s[i + j] & 63);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return *bad = i, -1;
    out[k++] = cp;
    i += (size_t)len;
  }
  return (long)k;
}

/* ---- construction ---- */
static cd_tokenizer *tok_alloc(int n_vocab, size_t arena_bytes, int n_merges, cd_error *e) {
  cd_tokenizer *t = cd_calloc(1, sizeof *t, e);
  if (!t) return NULL;
  t->str = cd_calloc((size_t)n_vocab + 1, sizeof *t->str, e);
  t->arena = cd_malloc(arena_bytes + 1, e);
  t->scap = 1;
  while (t->scap < 2u * (uint32_t)n_vocab + 16) t->scap <<= 1;
  t->shash = cd_malloc(t->scap * sizeof *t->shash, e);
  t->pcap = 1;
  while (t->pcap < 2u * (uint32_t)n_merges + 16) t->pcap <<= 1;
  t->pkey = cd_malloc(t->pcap * sizeof *t->pkey, e);
  t->prank = cd_malloc(t->pcap * sizeof *t->prank, e);
  t->pmerged = cd_malloc(t->pcap * sizeof *t->pmerged, e);
  if (!t->str || !t->arena || !t->shash || !t->pkey || !t->prank || !t->pmerged) {
    cd_tokenizer_free(t);
    return NULL;
  }
  memset(t->shash, 0xff, t->scap * sizeof *t->shash);
  memset(t->pkey, 0xff, t->pcap * sizeof *t->pkey);
  return t;
}

void cd_tokenizer_free(cd_tokenizer *t) {
  if (!t) return;
  free(t->str);
  free(t->arena);
  free(t->shash);
  free(t->pkey);
  free(t->prank);
  free(t->pmerged);
  free(t);
}

int cd_tokenizer_vocab_size(const cd_tokenizer *t) { return t ? t->n : 0; }

const char *cd_tokenizer_id_to_str(const cd_tokenizer *t, int32_t id) {
  if (!t || id < 0 || id >= t->n) return NULL;
  return t->str[id];
}

/* Registers merge number `rank` (a, b); merges whose parts or result are not in the
 * vocabulary can never apply and are skipped. dict semantics: a repeated pair keeps the
 * later rank. */
static void add_merge(cd_tokenizer *t, const char *a, size_t an, const char *b, size_t bn, int rank,
                      char *scratch) {
  int32_t ia = str_find(t, a, an), ib = str_find(t, b, bn);
  memcpy(scratch, a, an);
  memcpy(scratch + an, b, bn);
  int32_t im = str_find(t, scratch, an + bn);
  if (ia < 0 || ib < 0 || im < 0) return;
  uint64_t key = (uint64_t)(uint32_t)ia << 32 | (uint32_t)ib;
  uint32_t i = pair_slot(t, key);
  t->pkey[i] = key;
  t->prank[i] = rank;
  t->pmerged[i] = im;
}

/* One merges line "a b": splits on ASCII whitespace like str.split(). Returns 0 if it has
 * exactly two fields. */
static int split2(const char *s, size_t n, const char **a, size_t *an, const char **b, size_t *bn) {
  const char *f[3];
  size_t fl[3];
  int k = 0;
  size_t i = 0;
  while (i < n) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f')) i++;
    if (i >= n) break;
    size_t st = i;
    while (i < n && !(s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f')) i++;
    if (k == 3) return -1;
    f[k] = s + st;
    fl[k++] = i - st;
  }
  if (k != 2) return -1;
  *a = f[0], *an = fl[0], *b = f[1], *bn = fl[1];
  return 0;
}

/* Splits text into at most max_lines lines starting after the first line (the header). */
static size_t merge_lines(const char *text, size_t n, const char **line, size_t *len, size_t max_lines) {
  const char *p = memchr(text, '\n', n);
  if (!p) return 0;
  size_t i = (size_t)(p - text) + 1, k = 0;
  while (i <= n && k < max_lines) {
    const char *q = i < n ? memchr(text + i, '\n', n - i) : NULL;
    size_t end = q ? (size_t)(q - text) : n;
    line[k] = text + i;
    len[k++] = end - i;
    if (!q) break;
    i = end + 1;
  }
  return k;
}

static int parse_merges(const char *path, const char *text, size_t n, const char ***line, size_t **len,
                        size_t *count, cd_error *e) {
  *line = cd_malloc(N_MERGES * sizeof **line, e);
  *len = cd_malloc(N_MERGES * sizeof **len, e);
  if (!*line || !*len) return -1;
  *count = merge_lines(text, n, *line, *len, N_MERGES);
  /* A trailing empty line (final newline) is not a merge. */
  while (*count > 0 && (*len)[*count - 1] == 0) (*count)--;
  if (*count == 0) return cd_fail(e, "%s: no merges found (expected a header line then \"a b\" lines)", path);
  for (size_t k = 0; k < *count; k++) {
    const char *a, *b;
    size_t an, bn;
    if (split2((*line)[k], (*len)[k], &a, &an, &b, &bn))
      return cd_fail(e, "%s: line %zu: expected two symbols separated by a space", path, k + 2);
  }
  return 0;
}

static int check_utf8(const char *path, const uint8_t *s, size_t n, cd_error *e) {
  uint32_t *tmp = malloc((n + 1) * sizeof *tmp);
  if (!tmp) return cd_fail(e, "%s: out of memory", path);
  size_t bad = 0;
  long r = utf8_decode(s, n, tmp, &bad);
  free(tmp);
  if (r < 0) return cd_fail(e, "%s: invalid UTF-8 at byte %zu", path, bad);
  return 0;
}

cd_tokenizer *cd_tokenizer_load_bpe_gz(const char *path, cd_error *e) {
  uint8_t *gz = NULL, *raw = NULL;
  size_t gzn = 0, rawn = 0, count = 0;
  const char **line = NULL;
  size_t *len = NULL;
  cd_tokenizer *t = NULL;
  if (cd_file_read(path, MAX_FILE, &gz, &gzn, e)) return NULL;
  if (cd_gunzip(gz, gzn, MAX_FILE, &raw, &rawn, path, e)) goto done;
  if (check_utf8(path, raw, rawn, e)) goto done;
  if (parse_merges(path, (const char *)raw, rawn, &line, &len, &count, e)) goto done;

  int n_vocab = 512 + (int)count + 2;
  size_t arena = 256 * 2 * 7 + 64 + 2 * rawn;
  t = tok_alloc(n_vocab, arena, (int)count, e);
  if (!t) goto done;
  uint32_t cs[256];
  int order[256];
  byte_chars(cs);
  byte_order(order);
  char *ap = t->arena;
  for (int w = 0; w < 2; w++)
    for (int i = 0; i < 256; i++) {
      int id = w * 256 + i;
      t->str[id] = ap;
      ap += put_utf8(ap, cs[order[i]]);
      if (w) memcpy(ap, "</w>", 4), ap += 4;
      *ap++ = 0;
      (w ? t->byte_id_w : t->byte_id)[order[i]] = id;
    }
  for (size_t k = 0; k < count; k++) {
    const char *a, *b;
    size_t an, bn;
    split2(line[k], len[k], &a, &an, &b, &bn);
    t->str[512 + k] = ap;
    memcpy(ap, a, an), ap += an;
    memcpy(ap, b, bn), ap += bn;
    *ap++ = 0;
  }
  t->str[n_vocab - 2] = "<|startoftext|>";
  t->str[n_vocab - 1] = "<|endoftext|>";
  t->n = n_vocab;
  for (int id = 0; id < n_vocab; id++) str_insert(t, id);
  char scratch[4096];
  for (size_t k = 0; k < count; k++) {
    const char *a, *b;
    size_t an, bn;
    split2(line[k], len[k], &a, &an, &b, &bn);
    if (an + bn < sizeof scratch) add_merge(t, a, an, b, bn, (int)k, scratch);
  }
  t->sot = str_find(t, "<|startoftext|>", 15);
  t->eot = str_find(t, "<|endoftext|>", 13);

done:
  free(gz);
  free(raw);
  free(line);
  free(len);
  if (t && t->n == 0) {
    cd_tokenizer_free(t);
    t = NULL;
  }
  return t;
}

cd_tokenizer *cd_tokenizer_load_hf(const char *vocab_json, const char *merges_txt, cd_error *e) {
  cd_json_doc *doc = cd_json_parse_file(vocab_json, MAX_FILE, e);
  if (!doc) return NULL;
  uint8_t *raw = NULL;
  size_t rawn = 0, count = 0;
  const char **line = NULL;
  size_t *len = NULL;
  cd_tokenizer *t = NULL;
  const cd_json *root = cd_json_root(doc);
  if (root->type != CD_JSON_OBJECT || root->n == 0) {
    cd_fail(e, "%s: expected a JSON object mapping token strings to ids", vocab_json);
    goto done;
  }
  int64_t max_id = -1;
  size_t bytes = 0;
  for (size_t i = 0; i < root->n; i++) {
    const cd_json *v = &root->items[i];
    if (v->type != CD_JSON_NUMBER || !v->is_integer || v->integer < 0 || v->integer >= (1 << 24)) {
      cd_fail(e, "%s: token \"%.64s\" has an invalid id (want an integer in [0, 16777216))", vocab_json,
              root->keys[i]);
      goto done;
    }
    if (v->integer > max_id) max_id = v->integer;
    bytes += root->key_lens[i] + 1;
  }
  if (cd_file_read(merges_txt, MAX_FILE, &raw, &rawn, e)) goto done;
  if (check_utf8(merges_txt, raw, rawn, e)) goto done;
  if (parse_merges(merges_txt, (const char *)raw, rawn, &line, &len, &count, e)) goto done;
  t = tok_alloc((int)max_id + 1, bytes, (int)count, e);
  if (!t) goto done;
  t->n = (int)max_id + 1;
  char *ap = t->arena;
  for (size_t i = 0; i < root->n; i++) {
    int64_t id = root->items[i].integer;
    if (t->str[id]) {
      cd_fail(e, "%s: id %lld is used by two tokens (\"%.64s\" and \"%.64s\")", vocab_json, (long long)id,
              t->str[id], root->keys[i]);
      goto fail;
    }
    if (memchr(root->keys[i], 0, root->key_lens[i])) {
      cd_fail(e, "%s: token with id %lld contains a NUL character", vocab_json, (long long)id);
      goto fail;
    }
    t->str[id] = ap;
    memcpy(ap, root->keys[i], root->key_lens[i]);
    ap += root->key_lens[i];
    *ap++ = 0;
  }
  for (int id = 0; id < t->n; id++)
    if (!t->str[id]) {
      cd_fail(e, "%s: ids are not contiguous (id %d is missing; largest id %lld)", vocab_json, id,
              (long long)max_id);
      goto fail;
    }
  for (int id = 0; id < t->n; id++) str_insert(t, id);
  uint32_t cs[256];
  byte_chars(cs);
  for (int b = 0; b < 256; b++) {
    char s[16];
    size_t k = put_utf8(s, cs[b]);
    t->byte_id[b] = str_find(t, s, k);
    memcpy(s + k, "</w>", 4);
    t->byte_id_w[b] = str_find(t, s, k + 4);
    if (t->byte_id[b] < 0 || t->byte_id_w[b] < 0) {
      cd_fail(e, "%s: byte symbol %d (\"%.*s\") or its \"</w>\" form is missing", vocab_json, b, (int)k, s);
      goto fail;
    }
  }
  t->sot = str_find(t, "<|startoftext|>", 15);
  t->eot = str_find(t, "<|endoftext|>", 13);
  if (t->sot < 0 || t->eot < 0) {
    cd_fail(e, "%s: missing <|startoftext|> or <|endoftext|>", vocab_json);
    goto fail;
  }
  char scratch[4096];
  for (size_t k = 0; k < count; k++) {
    const char *a, *b;
    size_t an, bn;
    split2(line[k], len[k], &a, &an, &b, &bn);
    if (an + bn < sizeof scratch) add_merge(t, a, an, b, bn, (int)k, scratch);
  }
  goto done;
fail:
  cd_tokenizer_free(t);
  t = NULL;
done:
  cd_json_free(doc);
  free(raw);
  free(line);
  free(len);
  return t;
}

/* ---- text normalisation (on code points) ---- */
typedef struct {
  uint32_t *p;
  size_t n, cap;
} cpbuf;

static int cp_push(cpbuf *b, uint32_t c) {
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    uint32_t *p = realloc(b->p, cap * sizeof *p);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
  }
  b->p[b->n++] = c;
  return 0;
}

static int push_utf8(cpbuf *b, const char *s) {
  size_t bad, n = strlen(s);
  uint32_t tmp[16];
  long k = n < 16 ? utf8_decode((const uint8_t *)s, n, tmp, &bad) : -1;
  for (long i = 0; i < k; i++)
    if (cp_push(b, tmp[i])) return -1;
  return 0;
}

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_hex(uint32_t c) { return is_digit(c) || ((c | 32) >= 'a' && (c | 32) <= 'f'); }

/* Looks up s[0..n) (code points) as an entity name; NULL unless it is ASCII and known. */
static const char *entity(const uint32_t *s, size_t n) {
  char name[40];
  if (n >= sizeof name) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (s[i] >= 128) return NULL;
    name[i] = (char)s[i];
  }
  return cd_html_entity(name, n);
}

/* html.unescape: one left-to-right pass of its character-reference regex. */
static int html_unescape(const uint32_t *s, size_t n, cpbuf *out) {
  size_t i = 0;
  out->n = 0;
  while (i < n) {
    if (s[i] != '&' || i + 1 >= n) {
      if (cp_push(out, s[i++])) return -1;
      continue;
    }
    size_t j = i + 1;
    if (s[j] == '#') {
      int hex = j + 1 < n && (s[j + 1] == 'x' || s[j + 1] == 'X') && j + 2 < n && is_hex(s[j + 2]);
      int dec = j + 1 < n && is_digit(s[j + 1]);
      if (!hex && !dec) { /* '#' cannot start a name either: '&' stays literal */
        if (cp_push(out, s[i++])) return -1;
        continue;
      }
      size_t k = j + (hex ? 2 : 1);
      uint64_t num = 0;
      for (; k < n && (hex ? is_hex(s[k]) : is_digit(s[k])); k++) {
        uint32_t d = is_digit(s[k]) ? s[k] - '0' : (s[k] | 32) - 'a' + 10;
        num = num > (UINT64_MAX - d) / (hex ? 16 : 10) ? UINT64_MAX : num * (hex ? 16 : 10) + d;
      }
      if (k < n && s[k] == ';') k++;
      int64_t cp = cd_html_numeric_ref(num);
      if (cp >= 0 && cp_push(out, (uint32_t)cp)) return -1;
      i = k;
      continue;
    }
    size_t k = j;
    while (k < n && k - j < 32 && s[k] != '\t' && s[k] != '\n' && s[k] != '\f' && s[k] != ' ' &&
           s[k] != '<' && s[k] != '&' && s[k] != '#' && s[k] != ';')
      k++;
    if (k == j) {
      if (cp_push(out, s[i++])) return -1;
      continue;
    }
    if (k < n && s[k] == ';') k++;
    size_t len = k - j;
    const char *v = entity(s + j, len);
    if (v) {
      if (push_utf8(out, v)) return -1;
    } else {
      size_t x = len - 1;
      for (; x >= 2; x--)
        if ((v = entity(s + j, x)) != NULL) break;
      if (v && x >= 2) {
        if (push_utf8(out, v)) return -1;
        for (size_t q = j + x; q < k; q++)
          if (cp_push(out, s[q])) return -1;
      } else {
        for (size_t q = i; q < k; q++)
          if (cp_push(out, s[q])) return -1;
      }
    }
    i = k;
  }
  return 0;
}

/* whitespace_clean(basic_clean(text)) followed by .lower(), into out. */
static int normalise(const uint32_t *s, size_t n, cpbuf *tmp, cpbuf *out) {
  if (html_unescape(s, n, tmp)) return -1;
  if (html_unescape(tmp->p, tmp->n, out)) return -1;
  /* strip, collapse \s+ to ' ', strip again (the second strip only matters for characters
   * that isspace() knows but \s does not, U+001C..U+001F, at the ends). */
  size_t a = 0, b = out->n;
  while (a < b && cd_uni_is_space_py(out->p[a])) a++;
  while (b > a && cd_uni_is_space_py(out->p[b - 1])) b--;
  tmp->n = 0;
  for (size_t i = a; i < b;) {
    if (cd_uni_is_space_re(out->p[i])) {
      while (i < b && cd_uni_is_space_re(out->p[i])) i++;
      if (cp_push(tmp, ' ')) return -1;
    } else if (cp_push(tmp, out->p[i++])) {
      return -1;
    }
  }
  a = 0, b = tmp->n;
  while (a < b && cd_uni_is_space_py(tmp->p[a])) a++;
  while (b > a && cd_uni_is_space_py(tmp->p[b - 1])) b--;
  /* str.lower(), with CPython's Final_Sigma rule for U+03A3. */
  out->n = 0;
  for (size_t i = a; i < b; i++) {
    uint32_t c = tmp->p[i], lo[3];
    if (c == 0x3A3) {
      size_t j = i;
      while (j > a && cd_uni_sigma_class(tmp->p[j - 1]) == 2) j--;
      int fin = j > a && cd_uni_sigma_class(tmp->p[j - 1]) == 1;
      if (fin) {
        j = i + 1;
        while (j < b && cd_uni_sigma_class(tmp->p[j]) == 2) j++;
        fin = j == b || cd_uni_sigma_class(tmp->p[j]) != 1;
      }
      if (cp_push(out, fin ? 0x3C2 : 0x3C3)) return -1;
      continue;
    }
    int k = cd_uni_lower(c, lo);
    for (int q = 0; q < k; q++)
      if (cp_push(out, lo[q])) return -1;
  }
  return 0;
}

/* ---- the split pattern ---- */
static int lit_match(const uint32_t *s, size_t n, const char *lit) {
  size_t k = strlen(lit);
  if (k > n) return 0;
  for (size_t i = 0; i < k; i++) {
    uint32_t c = s[i], want = (uint8_t)lit[i];
    if (want >= 'a' && want <= 'z') c = cd_uni_fold_ascii(c);
    if (c != want) return 0;
  }
  return (int)k;
}

typedef enum { C_SPACE, C_LETTER, C_NUMBER, C_OTHER } cclass;

static cclass classify(uint32_t c) {
  if (cd_uni_is_space_re(c) || cd_uni_is_dropped(c)) return C_SPACE;
  if (cd_uni_is_letter(c)) return C_LETTER;
  if (cd_uni_is_number(c)) return C_NUMBER;
  return C_OTHER;
}

/* Length of the match starting at s[0] (0 if none starts here). */
static size_t next_piece(const uint32_t *s, size_t n) {
  static const char *const lits[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  for (size_t i = 0; i < sizeof lits / sizeof *lits; i++) {
    int k = lit_match(s, n, lits[i]);
    if (k) return (size_t)k;
  }
  cclass c = classify(s[0]);
  if (c == C_NUMBER) return 1;
  if (c == C_SPACE) return 0;
  size_t k = 1;
  while (k < n && classify(s[k]) == c) k++;
  return k;
}

/* ---- BPE ----
 * Upstream repeatedly takes the lowest-ranked adjacent pair and merges all of its
 * occurrences left to right. Rescanning the word per merge is quadratic, so the symbols live
 * in a linked list and candidate pairs in a min-heap keyed by (rank, position): all entries
 * of the lowest rank are taken as one batch and applied in position order, which is exactly
 * upstream's left-to-right pass (a merge can never create another pair of the same rank, and
 * pairs it creates wait for the next batch as they would wait for upstream's next round).
 * Stale entries are recognised on use: the pair at that position must still have that rank. */
typedef struct {
  uint64_t *h;
  size_t n;
} heap;

static void heap_push(heap *q, uint64_t v) {
  size_t i = q->n++;
  while (i > 0 && q->h[(i - 1) / 2] > v) {
    q->h[i] = q->h[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  q->h[i] = v;
}

static uint64_t heap_pop(heap *q) {
  uint64_t top = q->h[0], v = q->h[--q->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= q->n) break;
    if (c + 1 < q->n && q->h[c + 1] < q->h[c]) c++;
    if (q->h[c] >= v) break;
    q->h[i] = q->h[c];
    i = c;
  }
  if (q->n) q->h[i] = v;
  return top;
}

static void push_pair(const cd_tokenizer *t, heap *q, const int32_t *sym, int32_t p, int32_t nx) {
  int32_t merged = -1, r = pair_rank(t, sym[p], sym[nx], &merged);
  if (r >= 0) heap_push(q, (uint64_t)(uint32_t)r << 32 | (uint32_t)p);
}

/* Merges w[0..n) in place; returns the number of symbols left. */
static size_t bpe_merge(const cd_tokenizer *t, int32_t *w, size_t n) {
  if (n < 2) return n;
  int32_t *nxt = malloc(n * sizeof *nxt), *prv = malloc(n * sizeof *prv), *batch = malloc(n * sizeof *batch);
  heap q = {malloc(3 * n * sizeof *q.h), 0}; /* n-1 initial pairs + at most 2 per merge */
  if (!nxt || !prv || !batch || !q.h) {
    free(nxt), free(prv), free(batch), free(q.h);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    nxt[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    prv[i] = (int32_t)i - 1;
  }
  for (size_t i = 0; i + 1 < n; i++) push_pair(t, &q, w, (int32_t)i, (int32_t)i + 1);
  while (q.n > 0) {
    uint32_t rank = (uint32_t)(q.h[0] >> 32);
    size_t nb = 0;
    while (q.n > 0 && (uint32_t)(q.h[0] >> 32) == rank) {
      int32_t p = (int32_t)(uint32_t)heap_pop(&q);
      if (nb == 0 || batch[nb - 1] != p) batch[nb++] = p;
    }
    for (size_t k = 0; k < nb; k++) {
      int32_t p = batch[k], nx = nxt[p], merged = -1;
      if (prv[p] == -2 || nx < 0 || pair_rank(t, w[p], w[nx], &merged) != (int32_t)rank) continue;
      w[p] = merged;
      nxt[p] = nxt[nx];
      if (nxt[nx] >= 0) prv[nxt[nx]] = p;
      prv[nx] = -2; /* removed */
      if (prv[p] >= 0) push_pair(t, &q, w, prv[p], p);
      if (nxt[p] >= 0) push_pair(t, &q, w, p, nxt[p]);
    }
  }
  size_t m = 0;
  for (int32_t p = 0; p >= 0; p = nxt[p]) w[m++] = w[p];
  free(nxt), free(prv), free(batch), free(q.h);
  return m;
}

static int bpe(const cd_tokenizer *t, const uint8_t *bytes, size_t n, int32_t **ids, int *nids, int *cap) {
  int32_t *w = malloc(n * sizeof *w);
  if (!w) return -1;
  size_t m = n;
  if (n == 15 && !memcmp(bytes, "<|startoftext|>", 15)) {
    w[0] = t->sot, m = 1;
  } else if (n == 13 && !memcmp(bytes, "<|endoftext|>", 13)) {
    w[0] = t->eot, m = 1;
  } else {
    for (size_t i = 0; i < n; i++) w[i] = (i + 1 == n ? t->byte_id_w : t->byte_id)[bytes[i]];
    m = bpe_merge(t, w, n);
    if (m == 0) return free(w), -1;
  }
  if (*nids + (int)m > *cap) {
    int nc = (*cap ? *cap * 2 : 64) + (int)m;
    int32_t *p = realloc(*ids, (size_t)nc * sizeof *p);
    if (!p) return free(w), -1;
    *ids = p;
    *cap = nc;
  }
  memcpy(*ids + *nids, w, m * sizeof *w);
  *nids += (int)m;
  free(w);
  return 0;
}

int cd_tokenizer_encode(const cd_tokenizer *t, const char *text, int32_t **ids, int *n, cd_error *e) {
  *ids = NULL;
  *n = 0;
  size_t len = strlen(text);
  if (len > MAX_TEXT_BYTES)
    return cd_fail(e, "text is too long to tokenize (%zu bytes; limit %u)", len, MAX_TEXT_BYTES);
  uint32_t *cps = malloc((len + 1) * sizeof *cps);
  cpbuf a = {0}, b = {0};
  uint8_t *piece = NULL;
  int cap = 0, rc = -1;
  if (!cps) goto oom;
  size_t bad = 0;
  long ncp = utf8_decode((const uint8_t *)text, len, cps, &bad);
  if (ncp < 0) {
    free(cps);
    return cd_fail(e, "text is not valid UTF-8 (byte %zu)", bad);
  }
  if (normalise(cps, (size_t)ncp, &a, &b)) goto oom;
  piece = malloc(b.n * 4 + 4);
  if (!piece) goto oom;
  for (size_t i = 0; i < b.n;) {
    size_t k = next_piece(b.p + i, b.n - i);
    if (!k) {
      i++;
      continue;
    }
    size_t pn = 0;
    for (size_t q = i; q < i + k; q++) pn += put_utf8((char *)piece + pn, b.p[q]);
    if (bpe(t, piece, pn, ids, n, &cap)) goto oom;
    i += k;
  }
  rc = 0;
  goto done;
oom:
  free(*ids);
  *ids = NULL;
  *n = 0;
  cd_fail(e, "out of memory tokenizing a %zu-byte text", len);
done:
  free(cps);
  free(a.p);
  free(b.p);
  free(piece);
  return rc;
}

int cd_tokenize(const cd_tokenizer *t, const char *text, int ctx, int truncate, int32_t *out, cd_error *e) {
  if (ctx < 2) return cd_fail(e, "context length %d is too short (need at least 2)", ctx);
  int32_t *ids;
  int n;
  if (cd_tokenizer_encode(t, text, &ids, &n, e)) return -1;
  if (n + 2 > ctx && !truncate) {
    free(ids);
    size_t len = strlen(text);
    if (len > 200) {
      int cut = 200; /* keep the message valid UTF-8: do not split a character */
      while (cut > 0 && ((uint8_t)text[cut] & 0xC0) == 0x80) cut--;
      return cd_fail(e, "Input %.*s... (%zu bytes) is too long for context length %d", cut, text, len, ctx);
    }
    return cd_fail(e, "Input %s is too long for context length %d", text, ctx);
  }
  memset(out, 0, (size_t)ctx * sizeof *out);
  out[0] = t->sot;
  int k = n < ctx - 1 ? n : ctx - 1;
  if (k > 0) memcpy(out + 1, ids, (size_t)k * sizeof *ids);
  /* Fits: EOT follows the ids. Truncated: tokens[:ctx] then tokens[-1] = EOT. */
  out[k + 1 < ctx ? k + 1 : ctx - 1] = t->eot;
  free(ids);
  return 0;
}
