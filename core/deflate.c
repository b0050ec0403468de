/* DEFLATE encoder. Three stages, top to bottom in this file:
 *   1. bit output (LSB-first, as RFC 1951 packs everything but Huffman codes);
 *   2. Huffman code construction: optimal lengths from symbol counts, limited to a maximum
 *      length by moving leaves (the Kraft sum stays exactly 1, so every code is complete);
 *   3. LZ77 parsing into tokens and, per block of tokens, the cheapest of dynamic / fixed /
 *      stored encodings, costed exactly in bits before writing. */
#include "core/deflate.h"

#include <stdlib.h>
#include <string.h>

#include "core/inflate.h"

#define WSIZE 32768               /* LZ77 window: the largest distance DEFLATE can code */
#define WMASK (WSIZE - 1)
#define HASH_BITS 15
#define HASH_SIZE (1 << HASH_BITS)
#define MIN_MATCH 3
#define MAX_MATCH 258
#define BLOCK_TOKENS 32768        /* tokens per block: big enough to amortise a header */
#define N_LIT 288                 /* literal/length alphabet; 286 and 287 never occur but take
                                     part in the fixed code's construction */
#define N_DIST 30
#define N_CL 19                   /* code-length alphabet */
#define MAX_BITS 15
#define MAX_CL_BITS 7

static const uint16_t LEN_BASE[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t LEN_EXTRA[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
/* Order in which the code-length code's lengths are sent (RFC 1951 3.2.7). */
static const uint8_t CL_ORDER[N_CL] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

/* ------------------------------------------------------------------------ bit output */

typedef struct {
  uint8_t *buf;
  size_t n, cap;
  uint64_t acc; /* pending bits, LSB first */
  int nacc;
  int oom;      /* an allocation failed: stop writing, report once at the end */
} bitwriter;

static void bw_byte(bitwriter *w, uint8_t b) {
  if (w->oom) return;
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 4096;
    uint8_t *p = realloc(w->buf, cap);
    if (!p) {
      w->oom = 1;
      return;
    }
    w->buf = p;
    w->cap = cap;
  }
  w->buf[w->n++] = b;
}

static void bw_bits(bitwriter *w, uint32_t value, int count) {
  w->acc |= (uint64_t)value << w->nacc;
  w->nacc += count;
  while (w->nacc >= 8) {
    bw_byte(w, (uint8_t)w->acc);
    w->acc >>= 8;
    w->nacc -= 8;
  }
}

static void bw_align(bitwriter *w) {
  if (w->nacc > 0) bw_bits(w, 0, 8 - w->nacc);
}

/* ------------------------------------------------------------------------ Huffman codes */

typedef struct {
  uint32_t freq;
  uint16_t sym;
} sym_freq;

static int by_freq_then_sym(const void *a, const void *b) {
  const sym_freq *x = a, *y = b;
  if (x->freq != y->freq) return x->freq < y->freq ? -1 : 1;
  return x->sym < y->sym ? -1 : x->sym > y->sym;
}

/* Depth of every leaf in an optimal Huffman tree over the sorted leaves (two-queue merge:
 * leaves ascending in one queue, merged nodes, created in ascending order, in the other). */
static void tree_depths(const sym_freq *leaf, int n, uint8_t *depth) {
  if (n < 2) { /* callers pass at least two leaves; a lone leaf would still need one bit */
    if (n == 1) depth[0] = 1;
    return;
  }
  uint32_t w[2 * N_LIT];
  int parent[2 * N_LIT];
  int next_leaf = 0, next_node = n, end_node = n;
  for (int i = 0; i < n; i++) w[i] = leaf[i].freq;
  for (int k = 0; k < n - 1; k++) {
    int pick[2];
    for (int j = 0; j < 2; j++) {
      int take_leaf = next_leaf < n && (next_node == end_node || w[next_leaf] <= w[next_node]);
      pick[j] = take_leaf ? next_leaf++ : next_node++;
    }
    w[end_node] = w[pick[0]] + w[pick[1]];
    parent[pick[0]] = parent[pick[1]] = end_node++;
  }
  int root = end_node - 1;
  uint8_t d[2 * N_LIT];
  d[root] = 0;
  for (int i = root - 1; i >= 0; i--) d[i] = (uint8_t)(d[parent[i]] + 1);
  for (int i = 0; i < n; i++) depth[i] = d[i];
}

/* Code lengths for n symbols from their counts, none longer than max_bits. Unused symbols
 * get 0. At least two symbols always get a code (a lone symbol is paired with a dummy) so
 * the code is complete, which decoders such as zlib require. */
static void build_lengths(const uint32_t *freq, int n, int max_bits, uint8_t *len) {
  sym_freq leaf[N_LIT];
  int used = 0;
  memset(len, 0, (size_t)n);
  for (int s = 0; s < n; s++)
    if (freq[s]) leaf[used++] = (sym_freq){freq[s], (uint16_t)s};
  if (used < 2) {
    int a = used ? leaf[0].sym : 0;
    len[a] = 1;
    len[a == 0 ? 1 : 0] = 1;
    return;
  }
  qsort(leaf, (size_t)used, sizeof leaf[0], by_freq_then_sym);
  uint8_t depth[N_LIT];
  tree_depths(leaf, used, depth);
  int count[MAX_BITS + 2] = {0};
  for (int i = 0; i < used; i++) count[depth[i] > max_bits ? max_bits : depth[i]]++;
  /* Clamping raised the Kraft sum above 1; each step below lowers it by one unit of the
   * deepest level: drop a leaf from the deepest level and split a shallower leaf in two. */
  uint32_t total = 0;
  for (int b = 1; b <= max_bits; b++) total += (uint32_t)count[b] << (max_bits - b);
  while (total > (1u << max_bits)) {
    count[max_bits]--;
    for (int b = max_bits - 1; b > 0; b--)
      if (count[b]) {
        count[b]--;
        count[b + 1] += 2;
        break;
      }
    total--;
  }
  /* Shortest codes to the most frequent symbols (leaf[] is ascending). */
  int i = used - 1;
  for (int b = 1; b <= max_bits; b++)
    for (int k = 0; k < count[b]; k++) len[leaf[i--].sym] = (uint8_t)b;
}

static uint32_t reverse(uint32_t code, int bits) {
  uint32_t r = 0;
  for (int i = 0; i < bits; i++, code >>= 1) r = (r << 1) | (code & 1);
  return r;
}

/* Canonical codes (RFC 1951 3.2.2), bit-reversed so they can go through bw_bits. */
static void canonical_codes(const uint8_t *len, int n, uint16_t *code) {
  int count[MAX_BITS + 1] = {0};
  uint32_t next[MAX_BITS + 1];
  for (int s = 0; s < n; s++) count[len[s]]++;
  count[0] = 0;
  uint32_t c = 0;
  for (int b = 1; b <= MAX_BITS; b++) {
    c = (c + (uint32_t)count[b - 1]) << 1;
    next[b] = c;
  }
  for (int s = 0; s < n; s++)
    code[s] = len[s] ? (uint16_t)reverse(next[len[s]]++, len[s]) : 0;
}

static void fixed_lengths(uint8_t *lit, uint8_t *dist) {
  for (int s = 0; s < N_LIT; s++) lit[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
  for (int s = 0; s < N_DIST; s++) dist[s] = 5;
}

/* ------------------------------------------------------------------------ tokens */

typedef struct {
  uint16_t len;  /* literal byte when dist == 0, else match length 3..258 */
  uint16_t dist; /* 1..32768 stored as dist (32768 fits in uint16) */
} token;

static int dist_code(unsigned dist) {
  unsigned x = dist - 1;
  if (x < 4) return (int)x;
  int k = 31 - __builtin_clz(x);
  return 2 * k + (int)((x >> (k - 1)) & 1);
}

static int dist_extra(int code) { return code < 4 ? 0 : code / 2 - 1; }
static unsigned dist_base(int code) {
  if (code < 4) return (unsigned)code + 1;
  int k = code / 2;
  return ((2u + (unsigned)(code & 1)) << (k - 1)) + 1;
}

typedef struct {
  const uint8_t *src;
  size_t n;
  int max_chain, lazy, nice;
  int store_only; /* level 0 */
  int64_t head[HASH_SIZE];
  int64_t prev[WSIZE];
  token tok[BLOCK_TOKENS];
  int ntok;
  size_t block_start;
  uint8_t len_code[MAX_MATCH + 1]; /* match length -> index into LEN_BASE */
  bitwriter bw;
} deflater;

static unsigned hash3(const uint8_t *p) {
  return ((unsigned)p[0] << 10 ^ (unsigned)p[1] << 5 ^ p[2]) & (HASH_SIZE - 1);
}

static void insert(deflater *d, size_t pos) {
  if (pos + MIN_MATCH > d->n) return;
  unsigned h = hash3(d->src + pos);
  d->prev[pos & WMASK] = d->head[h];
  d->head[h] = (int64_t)pos;
}

/* Longest earlier match for position pos (0 if none of length >= 3); sets *dist. */
static int find_match(const deflater *d, size_t pos, unsigned *dist) {
  if (pos + MIN_MATCH > d->n) return 0;
  size_t limit = d->n - pos < MAX_MATCH ? d->n - pos : MAX_MATCH;
  const uint8_t *s = d->src + pos;
  int64_t cand = d->head[hash3(s)];
  int best = MIN_MATCH - 1;
  for (int chain = d->max_chain; cand >= 0 && chain > 0; chain--) {
    size_t back = pos - (size_t)cand;
    if (back > WSIZE) break;
    const uint8_t *c = d->src + cand;
    if (c[best] == s[best] && c[0] == s[0]) {
      size_t k = 0;
      while (k < limit && c[k] == s[k]) k++;
      if ((int)k > best) {
        best = (int)k;
        *dist = (unsigned)back;
        if (best >= d->nice || k == limit) break;
      }
    }
    int64_t next = d->prev[cand & WMASK];
    if (next >= cand) break; /* slot reused by a newer position: the chain ends here */
    cand = next;
  }
  return best >= MIN_MATCH ? best : 0;
}

/* ------------------------------------------------------------------------ blocks */

typedef struct {
  uint32_t lit[N_LIT], dist[N_DIST];
  uint64_t extra_bits; /* length and distance extra bits, the same in every encoding */
} block_stats;

static void count_block(const deflater *d, block_stats *st) {
  memset(st, 0, sizeof *st);
  for (int i = 0; i < d->ntok; i++) {
    token t = d->tok[i];
    if (!t.dist) {
      st->lit[t.len]++;
      continue;
    }
    int lc = d->len_code[t.len], dc = dist_code(t.dist);
    st->lit[257 + lc]++;
    st->dist[dc]++;
    st->extra_bits += (uint64_t)LEN_EXTRA[lc] + (uint64_t)dist_extra(dc);
  }
  st->lit[256] = 1; /* end of block */
}

static uint64_t data_bits(const block_stats *st, const uint8_t *ll, const uint8_t *dl) {
  uint64_t bits = st->extra_bits;
  for (int s = 0; s < N_LIT; s++) bits += (uint64_t)st->lit[s] * ll[s];
  for (int s = 0; s < N_DIST; s++) bits += (uint64_t)st->dist[s] * dl[s];
  return bits;
}

/* A dynamic block's header: the two code-length arrays, run-length coded with symbols
 * 16 (repeat previous 3-6), 17 (3-10 zeros), 18 (11-138 zeros). */
typedef struct {
  int hlit, hdist, hclen;
  uint8_t sym[N_LIT + N_DIST], arg[N_LIT + N_DIST];
  int nsym;
  uint8_t cl_len[N_CL];
  uint16_t cl_code[N_CL];
} dyn_header;

static void rle_push(dyn_header *h, int sym, int arg) {
  h->sym[h->nsym] = (uint8_t)sym;
  h->arg[h->nsym++] = (uint8_t)arg;
}

static void rle_lengths(dyn_header *h, const uint8_t *all, int total) {
  h->nsym = 0;
  for (int i = 0; i < total;) {
    int v = all[i], run = 1;
    while (i + run < total && all[i + run] == v) run++;
    i += run;
    if (v == 0) {
      for (; run >= 11; run -= run < 138 ? run : 138) rle_push(h, 18, (run < 138 ? run : 138) - 11);
      if (run >= 3) rle_push(h, 17, run - 3), run = 0;
      for (; run > 0; run--) rle_push(h, 0, 0);
      continue;
    }
    rle_push(h, v, 0);
    for (run--; run >= 3; run -= run < 6 ? run : 6) rle_push(h, 16, (run < 6 ? run : 6) - 3);
    for (; run > 0; run--) rle_push(h, v, 0);
  }
}

static uint64_t plan_dynamic(dyn_header *h, const uint8_t *ll, const uint8_t *dl) {
  h->hlit = 257;
  for (int s = 257; s < N_LIT; s++)
    if (ll[s]) h->hlit = s + 1;
  h->hdist = 1;
  for (int s = 1; s < N_DIST; s++)
    if (dl[s]) h->hdist = s + 1;
  uint8_t all[N_LIT + N_DIST];
  memcpy(all, ll, (size_t)h->hlit);
  memcpy(all + h->hlit, dl, (size_t)h->hdist);
  rle_lengths(h, all, h->hlit + h->hdist);
  uint32_t cl_freq[N_CL] = {0};
  for (int i = 0; i < h->nsym; i++) cl_freq[h->sym[i]]++;
  build_lengths(cl_freq, N_CL, MAX_CL_BITS, h->cl_len);
  canonical_codes(h->cl_len, N_CL, h->cl_code);
  h->hclen = 4;
  for (int i = 4; i < N_CL; i++)
    if (h->cl_len[CL_ORDER[i]]) h->hclen = i + 1;
  uint64_t bits = 5 + 5 + 4 + 3 * (uint64_t)h->hclen;
  for (int i = 0; i < h->nsym; i++) {
    int s = h->sym[i];
    bits += h->cl_len[s] + (s == 16 ? 2 : s == 17 ? 3 : s == 18 ? 7 : 0);
  }
  return bits;
}

static void write_dyn_header(bitwriter *w, const dyn_header *h) {
  bw_bits(w, (uint32_t)(h->hlit - 257), 5);
  bw_bits(w, (uint32_t)(h->hdist - 1), 5);
  bw_bits(w, (uint32_t)(h->hclen - 4), 4);
  for (int i = 0; i < h->hclen; i++) bw_bits(w, h->cl_len[CL_ORDER[i]], 3);
  for (int i = 0; i < h->nsym; i++) {
    int s = h->sym[i];
    bw_bits(w, h->cl_code[s], h->cl_len[s]);
    if (s >= 16) bw_bits(w, h->arg[i], s == 16 ? 2 : s == 17 ? 3 : 7);
  }
}

static void write_tokens(deflater *d, const uint8_t *ll, const uint8_t *dl) {
  uint16_t lcode[N_LIT], dcode[N_DIST];
  canonical_codes(ll, N_LIT, lcode);
  canonical_codes(dl, N_DIST, dcode);
  bitwriter *w = &d->bw;
  for (int i = 0; i < d->ntok; i++) {
    token t = d->tok[i];
    if (!t.dist) {
      bw_bits(w, lcode[t.len], ll[t.len]);
      continue;
    }
    int lc = d->len_code[t.len], dc = dist_code(t.dist);
    bw_bits(w, lcode[257 + lc], ll[257 + lc]);
    if (LEN_EXTRA[lc]) bw_bits(w, t.len - LEN_BASE[lc], LEN_EXTRA[lc]);
    bw_bits(w, dcode[dc], dl[dc]);
    if (dist_extra(dc)) bw_bits(w, t.dist - dist_base(dc), dist_extra(dc));
  }
  bw_bits(w, lcode[256], ll[256]);
}

static uint64_t stored_bits(const deflater *d, size_t nbytes) {
  uint64_t bits = 0;
  int pos = d->bw.nacc;
  do {
    size_t k = nbytes < 65535 ? nbytes : 65535;
    bits += 3 + (uint64_t)((8 - (pos + 3) % 8) % 8) + 32 + 8 * (uint64_t)k;
    pos = 0;
    nbytes -= k;
  } while (nbytes > 0);
  return bits;
}

static void write_stored(deflater *d, size_t end, int last) {
  size_t at = d->block_start;
  do {
    size_t k = end - at < 65535 ? end - at : 65535;
    bw_bits(&d->bw, (at + k == end && last) ? 1 : 0, 3);
    bw_align(&d->bw);
    bw_bits(&d->bw, (uint32_t)k, 16);
    bw_bits(&d->bw, (uint32_t)(~k & 0xFFFF), 16);
    for (size_t i = 0; i < k; i++) bw_byte(&d->bw, d->src[at + i]);
    at += k;
  } while (at < end);
}

/* Writes the pending tokens (source bytes [block_start, end)) as one block. */
static void flush_block(deflater *d, size_t end, int last) {
  block_stats st;
  count_block(d, &st);
  uint8_t dyn_ll[N_LIT], dyn_dl[N_DIST], fix_ll[N_LIT], fix_dl[N_DIST];
  build_lengths(st.lit, N_LIT, MAX_BITS, dyn_ll);
  build_lengths(st.dist, N_DIST, MAX_BITS, dyn_dl);
  fixed_lengths(fix_ll, fix_dl);
  dyn_header h;
  uint64_t dyn = 3 + plan_dynamic(&h, dyn_ll, dyn_dl) + data_bits(&st, dyn_ll, dyn_dl);
  uint64_t fix = 3 + data_bits(&st, fix_ll, fix_dl);
  uint64_t sto = stored_bits(d, end - d->block_start);
  if (d->store_only || (sto < dyn && sto < fix)) {
    write_stored(d, end, last);
  } else if (fix <= dyn) {
    bw_bits(&d->bw, (uint32_t)last | 1u << 1, 3);
    write_tokens(d, fix_ll, fix_dl);
  } else {
    bw_bits(&d->bw, (uint32_t)last | 2u << 1, 3);
    write_dyn_header(&d->bw, &h);
    write_tokens(d, dyn_ll, dyn_dl);
  }
  d->ntok = 0;
  d->block_start = end;
}

static void push(deflater *d, int len, unsigned dist, size_t end) {
  d->tok[d->ntok++] = (token){(uint16_t)len, (uint16_t)dist};
  if (d->ntok == BLOCK_TOKENS) flush_block(d, end, 0);
}

static void parse(deflater *d) {
  size_t i = 0, n = d->n;
  while (i < n) {
    unsigned dist = 0, dist2 = 0;
    int len = d->max_chain ? find_match(d, i, &dist) : 0;
    insert(d, i);
    /* Lazy evaluation: a longer match one byte later is worth a literal now. */
    if (len && d->lazy && len < d->nice && find_match(d, i + 1, &dist2) > len) {
      push(d, d->src[i], 0, i + 1);
      i++;
      continue;
    }
    if (!len) {
      push(d, d->src[i], 0, i + 1);
      i++;
      continue;
    }
    for (int k = 1; k < len; k++) insert(d, i + (size_t)k);
    i += (size_t)len;
    push(d, len, dist, i);
  }
  flush_block(d, n, 1);
}

static void configure(deflater *d, int level) {
  static const struct {
    int chain, lazy, nice;
  } LEVELS[10] = {{0, 0, 0},     {4, 0, 8},      {8, 0, 16},    {16, 0, 32},    {16, 1, 16},
                  {32, 1, 32},   {128, 1, 128},  {256, 1, 128}, {1024, 1, 258}, {4096, 1, 258}};
  d->store_only = level == 0;
  d->max_chain = LEVELS[level].chain;
  d->lazy = LEVELS[level].lazy;
  d->nice = LEVELS[level].nice;
  for (int c = 0; c < 29; c++) {
    int hi = c == 28 ? MAX_MATCH : LEN_BASE[c] + (1 << LEN_EXTRA[c]) - 1;
    if (c == 27) hi = 257; /* 258 has its own code (28) */
    for (int l = LEN_BASE[c]; l <= hi; l++) d->len_code[l] = (uint8_t)c;
  }
  for (int i = 0; i < HASH_SIZE; i++) d->head[i] = -1;
  for (int i = 0; i < WSIZE; i++) d->prev[i] = -1;
}

int cd_deflate_raw(const uint8_t *src, size_t n, int level, uint8_t **out, size_t *out_n,
                   const char *what, cd_error *e) {
  *out = NULL;
  *out_n = 0;
  if (level < 0 || level > 9) return cd_fail(e, "%s: deflate level %d is not in 0..9", what, level);
  deflater *d = cd_calloc(1, sizeof *d, e);
  if (!d) return cd_fail_prefix(e, "%s", what);
  d->src = src;
  d->n = n;
  configure(d, level);
  parse(d);
  bw_align(&d->bw);
  if (d->bw.oom) {
    free(d->bw.buf);
    free(d);
    return cd_fail(e, "%s: out of memory compressing %zu bytes", what, n);
  }
  *out = d->bw.buf;
  *out_n = d->bw.n;
  free(d);
  return 0;
}

int cd_zlib_compress(const uint8_t *src, size_t n, int level, uint8_t **out, size_t *out_n,
                     const char *what, cd_error *e) {
  uint8_t *raw;
  size_t raw_n;
  if (cd_deflate_raw(src, n, level, &raw, &raw_n, what, e)) return -1;
  uint8_t *z = cd_malloc(raw_n + 6, e);
  if (!z) {
    free(raw);
    return cd_fail_prefix(e, "%s", what);
  }
  int flevel = level < 2 ? 0 : level < 6 ? 1 : level == 6 ? 2 : 3;
  z[0] = 0x78; /* deflate, 32 KiB window */
  z[1] = (uint8_t)(flevel << 6);
  z[1] = (uint8_t)(z[1] + (31 - (z[0] * 256 + z[1]) % 31) % 31); /* FCHECK: header % 31 == 0 */
  memcpy(z + 2, raw, raw_n);
  uint32_t a = cd_adler32(1, src, n);
  for (int i = 0; i < 4; i++) z[2 + raw_n + (size_t)i] = (uint8_t)(a >> (24 - 8 * i));
  free(raw);
  *out = z;
  *out_n = raw_n + 6;
  return 0;
}
