/* JPEG decoder: baseline, extended sequential and progressive Huffman, 8-bit, 1/3/4
 * components, any integral sampling factors, restart markers. Output matches what Pillow
 * (libjpeg-turbo defaults) returns from Image.open(): see data/jpeg_internal.h for the
 * arithmetic, and the notes below for how corrupt data is treated:
 *  - data that ends before the image is complete fails with "JPEG data is truncated"
 *    (Pillow raises "image file is truncated");
 *  - a marker met inside entropy-coded data ends that restart segment: like libjpeg, the
 *    MCU in progress is finished with zero bits and the rest of the segment stays zero;
 *  - invalid Huffman codes decode as symbol 0, as libjpeg does (it only warns).
 * Allocation happens only after the first SOS has been validated, and the blocks that scan
 * claims must be plausible for the bytes left (each block costs at least one bit).
 * Colour: 3 components are YCbCr unless an Adobe marker says transform 0 (or there is no
 * JFIF/Adobe marker and the ids are 'R','G','B'), as jdapimin.c decides. 4 components:
 * Pillow asks libjpeg for CMYK (YCCK is converted to CMYK with C = 255 - R etc.) and then
 * unpacks with raw mode "CMYK;I", inverting every channel; we store that final result.
 * Not reproduced: libjpeg's block smoothing, which only acts on progressive images whose
 * scans leave low-frequency coefficients unfinished (cut-short or unusual progressions). */
#include <stdlib.h>
#include <string.h>

#include "data/image/image.h"
#include "data/image/jpeg_internal.h"

#define FAST_BITS 9

typedef struct {
  uint16_t fast[1 << FAST_BITS]; /* (length << 8) | symbol; 0 when the code is longer */
  /* For AC use: when a code and its value bits fit in FAST_BITS together and the symbol has
   * a nonzero size, (value << 16) | (run << 8) | (code + value length); otherwise 0. */
  int32_t fast_ac[1 << FAST_BITS];
  int32_t maxcode[18];           /* largest code of each length, -1 if none; [17] sentinel */
  int32_t valoffset[18];
  uint8_t vals[256];
  int nsym;
  int defined;
} huff_table;

typedef struct {
  int id, h, v, tq;
  int cw, ch;           /* real sample size: ceil(W*h/hmax) x ceil(H*v/vmax) */
  int bw, bh;           /* blocks per row / column, padded to whole MCUs */
  int16_t quant[64];    /* natural order, latched at the component's first scan */
  int latched;
  uint8_t *plane;       /* bw*8 x bh*8 samples */
  int16_t *coefs;       /* bw*bh*64, multi-scan images only */
  int dc_pred;
  int dc_tbl, ac_tbl;
} component;

typedef struct {
  const uint8_t *p, *end;
  uint64_t buf;   /* MSB-aligned */
  int bits;       /* valid bits in buf */
  int pad;        /* zero bits appended after a marker or the end of data */
  int stop;       /* a marker (p points at its 0xFF) or the end of data was reached */
  int eof;        /* the stop is the end of the data */
} bitreader;

typedef struct {
  const char *what;
  cd_error *e;
  const uint8_t *data, *end;
  const uint8_t *p;
  uint16_t qt[4][64]; /* natural order */
  int qt_defined[4];
  huff_table dc[4], ac[4];
  int restart_interval;
  int adobe, adobe_transform, jfif;
  /* frame */
  int have_frame, progressive;
  int width, height, ncomp, hmax, vmax, mcux, mcuy;
  component comp[4];
  int allocated, multi_scan, scans_done;
  /* scan */
  int ns, scomp[4], ss, se, ah, al;
  int eobrun, insufficient;
  int seg_truncated; /* the last marker segment ran past the end of the data */
  bitreader br;
  cd_jpeg_idct_fn idct;
} decoder;

/* ---------------------------------------------------------------- bit reading */

static void br_refill(bitreader *b) {
  /* Fast path: 8 bytes without 0xFF (no stuffing, no marker) are appended as a whole. Bits
   * of a partly taken byte land below the valid ones; they are that byte's own bits, which
   * the next refill ORs in again, so they change nothing. */
  if (!b->stop && b->end - b->p >= 8) {
    uint64_t x;
    memcpy(&x, b->p, 8);
    uint64_t t = ~x; /* a 0xFF byte is a zero byte of t */
    if (!((t - 0x0101010101010101ull) & ~t & 0x8080808080808080ull)) {
      int n = (63 - b->bits) >> 3;
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      x = __builtin_bswap64(x);
#endif
      b->buf |= x >> b->bits;
      b->bits += n * 8;
      b->p += n;
      return;
    }
  }
  while (b->bits <= 56) {
    if (b->stop) {
      b->bits += 8;
      b->pad += 8;
      continue;
    }
    if (b->p >= b->end) {
      b->stop = b->eof = 1;
      continue;
    }
    unsigned c = *b->p;
    if (c == 0xFF) {
      const uint8_t *q = b->p + 1;
      while (q < b->end && *q == 0xFF) q++; /* fill bytes */
      if (q >= b->end) {
        b->stop = b->eof = 1;
        continue;
      }
      if (*q != 0) { /* a marker: leave it for the marker parser */
        b->p = q - 1;
        b->stop = 1;
        continue;
      }
      b->p = q + 1; /* stuffed 0xFF00 */
    } else {
      b->p++;
    }
    b->buf |= (uint64_t)c << (56 - b->bits);
    b->bits += 8;
  }
}

static inline unsigned br_get(bitreader *b, int n) { /* n in 1..16, needs bits >= n */
  unsigned v = (unsigned)(b->buf >> (64 - n));
  b->buf <<= n;
  b->bits -= n;
  return v;
}

static inline unsigned br_bits(bitreader *b, int n) {
  if (b->bits < n) br_refill(b);
  return br_get(b, n);
}

/* Sign extension of an n-bit magnitude category (F.12). */
static inline int extend(unsigned v, int n) {
  return v < (1u << (n - 1)) ? (int)v - (1 << n) + 1 : (int)v;
}

static inline int huff_decode(bitreader *b, const huff_table *h) {
  if (b->bits < 32) br_refill(b);
  unsigned f = h->fast[b->buf >> (64 - FAST_BITS)];
  if (f) {
    int len = (int)(f >> 8);
    b->buf <<= len;
    b->bits -= len;
    return (int)(f & 255);
  }
  for (int l = FAST_BITS + 1; l <= 16; l++) {
    int32_t code = (int32_t)(b->buf >> (64 - l));
    if (code <= h->maxcode[l]) {
      b->buf <<= l;
      b->bits -= l;
      return h->vals[(code + h->valoffset[l]) & 255];
    }
  }
  /* No such code: libjpeg consumes 17 bits and fakes a zero. */
  b->buf <<= 17;
  b->bits -= 17;
  return 0;
}

/* Padding bits were consumed: the data ran out (truncated) or a marker cut the segment. */
static int br_check(decoder *d) {
  bitreader *b = &d->br;
  if (b->bits >= b->pad) return 0;
  if (b->eof) return cd_fail(d->e, "%s: JPEG data is truncated", d->what);
  d->insufficient = 1;
  return 0;
}

/* ---------------------------------------------------------------- markers */

static int rd16(const uint8_t *p) { return (p[0] << 8) | p[1]; }

/* Reads a marker segment's length and returns its payload (after the length field). */
static int segment(decoder *d, const char *name, const uint8_t **payload, int *len) {
  if (d->end - d->p < 2 || d->end - d->p < rd16(d->p)) {
    d->seg_truncated = 1;
    return cd_fail(d->e, "%s: JPEG data is truncated (in %s)", d->what, name);
  }
  int n = rd16(d->p);
  if (n < 2) return cd_fail(d->e, "%s: corrupt JPEG: %s segment length %d", d->what, name, n);
  *payload = d->p + 2;
  *len = n - 2;
  d->p += n;
  return 0;
}

/* Skips to the next marker (libjpeg's next_marker: garbage and fill bytes are skipped).
 * Returns the marker code, or -1 at the end of the data. */
static int next_marker(decoder *d) {
  for (;;) {
    while (d->p < d->end && *d->p != 0xFF) d->p++;
    while (d->p < d->end && *d->p == 0xFF) d->p++;
    if (d->p >= d->end) return -1;
    int m = *d->p++;
    if (m != 0) return m;
  }
}

static int parse_dqt(decoder *d) {
  const uint8_t *s = NULL;
  int n = 0;
  if (segment(d, "DQT", &s, &n)) return -1;
  while (n > 0) {
    int pq = s[0] >> 4, tq = s[0] & 15;
    int need = 1 + 64 * (pq ? 2 : 1);
    if (tq > 3) return cd_fail(d->e, "%s: corrupt JPEG: DQT table id %d (max 3)", d->what, tq);
    if (pq > 1) return cd_fail(d->e, "%s: corrupt JPEG: DQT precision %d", d->what, pq);
    if (n < need) return cd_fail(d->e, "%s: corrupt JPEG: short DQT segment", d->what);
    for (int i = 0; i < 64; i++)
      d->qt[tq][cd_jpeg_natural_order[i]] = pq ? (uint16_t)rd16(s + 1 + 2 * i) : s[1 + i];
    d->qt_defined[tq] = 1;
    s += need;
    n -= need;
  }
  return 0;
}

/* jdhuff.c jpeg_make_d_derived_tbl, plus a FAST_BITS lookup table. */
static int build_huff(decoder *d, huff_table *h, const uint8_t *counts, const uint8_t *vals) {
  uint8_t size[257];
  uint16_t code[256];
  int p = 0;
  for (int l = 1; l <= 16; l++)
    for (int i = 0; i < counts[l - 1]; i++) size[p++] = (uint8_t)l;
  size[p] = 0;
  int nsym = p;
  unsigned c = 0;
  int si = size[0];
  p = 0;
  while (size[p]) {
    while (size[p] == si) code[p++] = (uint16_t)c++;
    if (c >= (1u << si)) return cd_fail(d->e, "%s: corrupt JPEG: bad Huffman table", d->what);
    c <<= 1;
    si++;
  }
  memset(h->fast, 0, sizeof h->fast);
  p = 0;
  for (int l = 1; l <= 16; l++) {
    if (counts[l - 1]) {
      h->valoffset[l] = p - code[p];
      p += counts[l - 1];
      h->maxcode[l] = code[p - 1];
    } else {
      h->maxcode[l] = -1;
    }
  }
  h->maxcode[17] = 0xFFFFF;
  for (int i = 0; i < nsym; i++) {
    int l = size[i];
    if (l > FAST_BITS) break;
    int shift = FAST_BITS - l;
    for (int j = 0; j < (1 << shift); j++) h->fast[(code[i] << shift) | j] = (uint16_t)((l << 8) | vals[i]);
  }
  for (int i = 0; i < (1 << FAST_BITS); i++) {
    unsigned f = h->fast[i];
    int len = (int)(f >> 8), r = (int)(f >> 4) & 15, sz = (int)f & 15;
    h->fast_ac[i] = 0;
    if (!f || !sz || len + sz > FAST_BITS) continue;
    unsigned v = ((unsigned)i >> (FAST_BITS - len - sz)) & ((1u << sz) - 1);
    int val = v < (1u << (sz - 1)) ? (int)v - (1 << sz) + 1 : (int)v;
    h->fast_ac[i] = (int32_t)(((uint32_t)(uint16_t)(int16_t)val << 16) | (uint32_t)(r << 8) | (uint32_t)(len + sz));
  }
  memcpy(h->vals, vals, (size_t)nsym);
  memset(h->vals + nsym, 0, (size_t)(256 - nsym));
  h->nsym = nsym;
  h->defined = 1;
  return 0;
}

static int parse_dht(decoder *d) {
  const uint8_t *s = NULL;
  int n = 0;
  if (segment(d, "DHT", &s, &n)) return -1;
  while (n > 0) {
    if (n < 17) return cd_fail(d->e, "%s: corrupt JPEG: short DHT segment", d->what);
    int tc = s[0] >> 4, th = s[0] & 15;
    if (tc > 1 || th > 3)
      return cd_fail(d->e, "%s: corrupt JPEG: DHT table class %d id %d", d->what, tc, th);
    int total = 0;
    for (int i = 0; i < 16; i++) total += s[1 + i];
    if (total > 256 || total > n - 17)
      return cd_fail(d->e, "%s: corrupt JPEG: DHT declares %d codes", d->what, total);
    if (build_huff(d, tc ? &d->ac[th] : &d->dc[th], s + 1, s + 17)) return -1;
    s += 17 + total;
    n -= 17 + total;
  }
  return 0;
}

static int parse_app(decoder *d, int m) {
  const uint8_t *s = NULL;
  int n = 0;
  if (segment(d, "APP", &s, &n)) return -1;
  if (m == 0xE0 && n >= 14 && memcmp(s, "JFIF\0", 5) == 0) d->jfif = 1;
  if (m == 0xEE && n >= 12 && memcmp(s, "Adobe", 5) == 0) {
    d->adobe = 1;
    d->adobe_transform = s[11];
  }
  return 0;
}

static int parse_sof(decoder *d, int m) {
  const uint8_t *s = NULL;
  int n = 0;
  if (d->have_frame) return cd_fail(d->e, "%s: corrupt JPEG: more than one frame header", d->what);
  if (segment(d, "SOF", &s, &n)) return -1;
  if (n < 6) return cd_fail(d->e, "%s: corrupt JPEG: short frame header", d->what);
  if (s[0] != 8)
    return cd_fail(d->e, "%s: %d-bit JPEG is not supported (only 8-bit samples)", d->what, s[0]);
  d->height = rd16(s + 1);
  d->width = rd16(s + 3);
  d->ncomp = s[5];
  d->progressive = (m == 0xC2);
  if (d->width == 0 || d->height == 0)
    return cd_fail(d->e, "%s: corrupt JPEG: empty image (%dx%d)", d->what, d->width, d->height);
  if (d->width > CD_IMAGE_MAX_DIM || d->height > CD_IMAGE_MAX_DIM ||
      (size_t)d->width * (size_t)d->height > CD_IMAGE_MAX_PIXELS)
    return cd_fail(d->e, "%s: JPEG image %dx%d is larger than the supported maximum", d->what,
                   d->width, d->height);
  if (d->ncomp != 1 && d->ncomp != 3 && d->ncomp != 4)
    return cd_fail(d->e, "%s: JPEG with %d components is not supported (1, 3 or 4)", d->what,
                   d->ncomp);
  if (n != 6 + 3 * d->ncomp)
    return cd_fail(d->e, "%s: corrupt JPEG: frame header length %d", d->what, n + 2);
  d->hmax = d->vmax = 1;
  for (int i = 0; i < d->ncomp; i++) {
    component *c = &d->comp[i];
    c->id = s[6 + 3 * i];
    c->h = s[7 + 3 * i] >> 4;
    c->v = s[7 + 3 * i] & 15;
    c->tq = s[8 + 3 * i];
    if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4)
      return cd_fail(d->e, "%s: corrupt JPEG: sampling factors %dx%d", d->what, c->h, c->v);
    if (c->tq > 3) return cd_fail(d->e, "%s: corrupt JPEG: quantization table id %d", d->what, c->tq);
    if (c->h > d->hmax) d->hmax = c->h;
    if (c->v > d->vmax) d->vmax = c->v;
  }
  d->mcux = (d->width + 8 * d->hmax - 1) / (8 * d->hmax);
  d->mcuy = (d->height + 8 * d->vmax - 1) / (8 * d->vmax);
  for (int i = 0; i < d->ncomp; i++) {
    component *c = &d->comp[i];
    if (d->hmax % c->h || d->vmax % c->v)
      return cd_fail(d->e, "%s: JPEG sampling factors %dx%d with maximum %dx%d are not supported "
                     "(fractional upsampling)", d->what, c->h, c->v, d->hmax, d->vmax);
    c->cw = (int)(((long)d->width * c->h + d->hmax - 1) / d->hmax);
    c->ch = (int)(((long)d->height * c->v + d->vmax - 1) / d->vmax);
    c->bw = d->mcux * c->h;
    c->bh = d->mcuy * c->v;
  }
  d->have_frame = 1;
  return 0;
}

/* ---------------------------------------------------------------- scans */

static int blocks_in_scan(const decoder *d) {
  if (d->ns == 1) {
    const component *c = &d->comp[d->scomp[0]];
    return ((c->cw + 7) / 8) * ((c->ch + 7) / 8);
  }
  int per_mcu = 0;
  for (int i = 0; i < d->ns; i++) per_mcu += d->comp[d->scomp[i]].h * d->comp[d->scomp[i]].v;
  return per_mcu * d->mcux * d->mcuy;
}

static int allocate(decoder *d) {
  /* Every block of a first scan costs at least one bit (a DC code), so a file cannot
   * declare more blocks than it has bits: this stops a tiny file claiming 30000x30000. */
  size_t left = (size_t)(d->end - d->p);
  size_t claimed = (size_t)blocks_in_scan(d);
  if (claimed > left * 8 + 64)
    return cd_fail(d->e, "%s: JPEG data is truncated: the first scan has %zu blocks but only "
                   "%zu bytes follow", d->what, claimed, left);
  d->multi_scan = d->progressive || d->ns < d->ncomp;
  for (int i = 0; i < d->ncomp; i++) {
    component *c = &d->comp[i];
    size_t nb = (size_t)c->bw * (size_t)c->bh;
    c->plane = cd_malloc(nb * 64, d->e);
    if (!c->plane) return -1;
    if (d->multi_scan) {
      c->coefs = cd_calloc(nb * 64, sizeof(int16_t), d->e);
      if (!c->coefs) return -1;
    }
  }
  d->allocated = 1;
  return 0;
}

static int check_tables(decoder *d) {
  for (int i = 0; i < d->ns; i++) {
    component *c = &d->comp[d->scomp[i]];
    int need_dc = !d->progressive || (d->ss == 0 && d->ah == 0);
    int need_ac = !d->progressive || d->ss > 0;
    if (need_dc) {
      if (!d->dc[c->dc_tbl].defined)
        return cd_fail(d->e, "%s: corrupt JPEG: Huffman table DC%d is not defined", d->what,
                       c->dc_tbl);
      const huff_table *h = &d->dc[c->dc_tbl];
      for (int k = 0; k < h->nsym; k++)
        if (h->vals[k] > 15) return cd_fail(d->e, "%s: corrupt JPEG: bad DC Huffman table", d->what);
    }
    if (need_ac && !d->ac[c->ac_tbl].defined)
      return cd_fail(d->e, "%s: corrupt JPEG: Huffman table AC%d is not defined", d->what, c->ac_tbl);
    if (!c->latched) {
      if (!d->qt_defined[c->tq])
        return cd_fail(d->e, "%s: corrupt JPEG: quantization table %d is not defined", d->what, c->tq);
      /* libjpeg-turbo's SIMD builds keep multipliers as 16-bit shorts. */
      for (int k = 0; k < 64; k++) c->quant[k] = (int16_t)d->qt[c->tq][k];
      c->latched = 1;
    }
  }
  return 0;
}

static int parse_sos(decoder *d, const uint8_t **payload) {
  const uint8_t *s = NULL;
  int n = 0;
  if (!d->have_frame) return cd_fail(d->e, "%s: corrupt JPEG: scan before frame header", d->what);
  if (segment(d, "SOS", &s, &n)) return -1;
  if (n < 1) return cd_fail(d->e, "%s: corrupt JPEG: short SOS segment", d->what);
  d->ns = s[0];
  if (d->ns < 1 || d->ns > d->ncomp || n != 4 + 2 * d->ns)
    return cd_fail(d->e, "%s: corrupt JPEG: scan with %d components", d->what, d->ns);
  for (int i = 0; i < d->ns; i++) {
    int id = s[1 + 2 * i], k;
    for (k = 0; k < d->ncomp; k++)
      if (d->comp[k].id == id) break;
    if (k == d->ncomp) return cd_fail(d->e, "%s: corrupt JPEG: scan names unknown component %d", d->what, id);
    for (int j = 0; j < i; j++)
      if (d->scomp[j] == k) return cd_fail(d->e, "%s: corrupt JPEG: component %d twice in a scan", d->what, id);
    d->scomp[i] = k;
    int td = s[2 + 2 * i] >> 4, ta = s[2 + 2 * i] & 15;
    if (td > 3 || ta > 3) return cd_fail(d->e, "%s: corrupt JPEG: Huffman table id %d/%d", d->what, td, ta);
    d->comp[k].dc_tbl = td;
    d->comp[k].ac_tbl = ta;
  }
  const uint8_t *t = s + 1 + 2 * d->ns;
  d->ss = t[0];
  d->se = t[1];
  d->ah = t[2] >> 4;
  d->al = t[2] & 15;
  if (d->progressive) {
    int bad = 0;
    if (d->ss == 0) bad = d->se != 0;
    else bad = d->ss > d->se || d->se > 63 || d->ns != 1;
    if (d->ah != 0 && d->al != d->ah - 1) bad = 1;
    if (d->al > 13) bad = 1;
    if (bad)
      return cd_fail(d->e, "%s: corrupt JPEG: invalid progressive scan Ss=%d Se=%d Ah=%d Al=%d",
                     d->what, d->ss, d->se, d->ah, d->al);
  } else if (d->ns > 1) {
    int blocks = 0;
    for (int i = 0; i < d->ns; i++) blocks += d->comp[d->scomp[i]].h * d->comp[d->scomp[i]].v;
    if (blocks > 10)
      return cd_fail(d->e, "%s: corrupt JPEG: %d blocks per MCU (max 10)", d->what, blocks);
  }
  if (d->progressive && d->ns > 1) {
    int blocks = 0;
    for (int i = 0; i < d->ns; i++) blocks += d->comp[d->scomp[i]].h * d->comp[d->scomp[i]].v;
    if (blocks > 10)
      return cd_fail(d->e, "%s: corrupt JPEG: %d blocks per MCU (max 10)", d->what, blocks);
  }
  if (d->progressive && !d->allocated && d->ss != 0)
    return cd_fail(d->e, "%s: corrupt JPEG: progressive image starts with an AC scan", d->what);
  *payload = d->p;
  return check_tables(d);
}

/* -------- block decoders; each returns nothing and leaves errors to br_check */

/* Returns 0 when the block has no AC coefficient (only blk[0] may be nonzero). */
static int decode_block_seq(decoder *d, component *c, int16_t *blk) {
  bitreader *b = &d->br;
  const huff_table *dc = &d->dc[c->dc_tbl], *ac = &d->ac[c->ac_tbl];
  int s = huff_decode(b, dc);
  int diff = s ? extend(br_get(b, s), s) : 0;
  c->dc_pred = (int)((unsigned)c->dc_pred + (unsigned)diff);
  blk[0] = (int16_t)c->dc_pred;
  int any = 0;
  for (int k = 1; k < 64; k++) {
    if (b->bits < 32) br_refill(b);
    int32_t fa = ac->fast_ac[b->buf >> (64 - FAST_BITS)];
    if (fa) { /* short code with its value: one lookup */
      int len = fa & 255;
      b->buf <<= len;
      b->bits -= len;
      k += (fa >> 8) & 15;
      blk[cd_jpeg_natural_order[k]] = (int16_t)(fa >> 16);
      any = 1;
      continue;
    }
    int rs = huff_decode(b, ac);
    int r = rs >> 4;
    s = rs & 15;
    if (s) {
      k += r;
      blk[cd_jpeg_natural_order[k]] = (int16_t)extend(br_get(b, s), s);
      any = 1;
    } else {
      if (r != 15) break;
      k += 15;
    }
  }
  return any;
}

static int decode_dc_first(decoder *d, component *c, int16_t *blk) {
  bitreader *b = &d->br;
  int s = huff_decode(b, &d->dc[c->dc_tbl]);
  int diff = s ? extend(br_get(b, s), s) : 0;
  if ((c->dc_pred >= 0 && diff > 2147483647 - c->dc_pred) ||
      (c->dc_pred < 0 && diff < -2147483647 - 1 - c->dc_pred))
    return cd_fail(d->e, "%s: corrupt JPEG: DC coefficient out of range", d->what);
  c->dc_pred += diff;
  blk[0] = (int16_t)(uint16_t)((unsigned)c->dc_pred << d->al);
  return 0;
}

static void decode_dc_refine(decoder *d, int16_t *blk) {
  if (br_bits(&d->br, 1)) blk[0] = (int16_t)(blk[0] | (1 << d->al));
}

static void decode_ac_first(decoder *d, component *c, int16_t *blk) {
  bitreader *b = &d->br;
  if (d->eobrun > 0) {
    d->eobrun--;
    return;
  }
  const huff_table *ac = &d->ac[c->ac_tbl];
  for (int k = d->ss; k <= d->se; k++) {
    int rs = huff_decode(b, ac);
    int r = rs >> 4, s = rs & 15;
    if (s) {
      k += r;
      int v = extend(br_get(b, s), s);
      blk[cd_jpeg_natural_order[k]] = (int16_t)(uint16_t)((unsigned)v << d->al);
    } else if (r == 15) {
      k += 15;
    } else {
      d->eobrun = 1 << r;
      if (r) d->eobrun += (int)br_get(b, r);
      d->eobrun--;
      break;
    }
  }
}

/* Adds a correction bit to an already nonzero coefficient (G.1.2.3). */
static inline void refine_nonzero(bitreader *b, int16_t *coef, int p1) {
  if (br_bits(b, 1) && (*coef & p1) == 0) *coef = (int16_t)(*coef >= 0 ? *coef + p1 : *coef - p1);
}

static void decode_ac_refine(decoder *d, component *c, int16_t *blk) {
  bitreader *b = &d->br;
  int p1 = 1 << d->al, k = d->ss;
  if (d->eobrun == 0) {
    const huff_table *ac = &d->ac[c->ac_tbl];
    for (; k <= d->se; k++) {
      int rs = huff_decode(b, ac);
      int r = rs >> 4, s = rs & 15;
      if (s) {
        s = br_bits(b, 1) ? p1 : -p1; /* size should be 1; libjpeg only warns otherwise */
      } else if (r != 15) {
        d->eobrun = 1 << r;
        if (r) d->eobrun += (int)br_bits(b, r);
        break;
      }
      do {
        int16_t *coef = blk + cd_jpeg_natural_order[k];
        if (*coef != 0) {
          refine_nonzero(b, coef, p1);
        } else if (--r < 0) {
          break;
        }
        k++;
      } while (k <= d->se);
      if (s) blk[cd_jpeg_natural_order[k]] = (int16_t)s;
    }
  }
  if (d->eobrun > 0) {
    for (; k <= d->se; k++) {
      int16_t *coef = blk + cd_jpeg_natural_order[k];
      if (*coef != 0) refine_nonzero(b, coef, p1);
    }
    d->eobrun--;
  }
}

/* Decodes one block of component c (sequential or any progressive scan kind). */
static int decode_block(decoder *d, component *c, int16_t *blk) {
  if (!d->progressive) {
    memset(blk, 0, 64 * sizeof *blk);
    decode_block_seq(d, c, blk);
    return 0;
  }
  if (d->ss == 0) {
    if (d->ah == 0) return decode_dc_first(d, c, blk);
    decode_dc_refine(d, blk);
    return 0;
  }
  if (d->ah == 0) decode_ac_first(d, c, blk);
  else decode_ac_refine(d, c, blk);
  return 0;
}

/* Restart marker handling, following libjpeg's read_restart_marker and its default
 * jpeg_resync_to_restart. */
static int process_restart(decoder *d, int *next_rst) {
  bitreader *b = &d->br;
  const uint8_t *save_p = d->p;
  d->p = b->p;
  b->buf = 0;
  b->bits = b->pad = 0;
  int m = next_marker(d);
  if (m < 0) return cd_fail(d->e, "%s: JPEG data is truncated", d->what);
  int desired = *next_rst;
  for (;;) {
    int action;
    if (m < 0xC0) action = 2;
    else if (m < 0xD0 || m > 0xD7) action = 3;
    else if (m == 0xD0 + ((desired + 1) & 7) || m == 0xD0 + ((desired + 2) & 7)) action = 3;
    else if (m == 0xD0 + ((desired - 1) & 7) || m == 0xD0 + ((desired - 2) & 7)) action = 2;
    else action = 1;
    if (action == 1) { /* the expected marker (or hopelessly far): consume and resume */
      b->p = d->p;
      b->stop = b->eof = 0;
      d->insufficient = 0;
      break;
    }
    if (action == 3) { /* leave the marker: this segment decodes as empty */
      b->p = d->p - 2;
      b->stop = 1;
      b->eof = 0;
      break;
    }
    m = next_marker(d);
    if (m < 0) return cd_fail(d->e, "%s: JPEG data is truncated", d->what);
  }
  d->p = save_p;
  *next_rst = (desired + 1) & 7;
  for (int i = 0; i < d->ns; i++) d->comp[d->scomp[i]].dc_pred = 0;
  d->eobrun = 0;
  return 0;
}

static int16_t *coef_block(component *c, int bx, int by) {
  return c->coefs + ((size_t)by * c->bw + bx) * 64;
}

static int decode_scan(decoder *d) {
  bitreader *b = &d->br;
  memset(b, 0, sizeof *b);
  b->p = d->p;
  b->end = d->end;
  d->eobrun = 0;
  d->insufficient = 0;
  for (int i = 0; i < d->ns; i++) d->comp[d->scomp[i]].dc_pred = 0;

  int mx_n, my_n;
  if (d->ns == 1) {
    const component *c = &d->comp[d->scomp[0]];
    mx_n = (c->cw + 7) / 8;
    my_n = (c->ch + 7) / 8;
  } else {
    mx_n = d->mcux;
    my_n = d->mcuy;
  }
  int16_t blk[64];
  int next_rst = 0, todo = d->restart_interval;
  for (int my = 0; my < my_n; my++) {
    for (int mx = 0; mx < mx_n; mx++) {
      if (d->restart_interval) {
        if (todo == 0) {
          if (process_restart(d, &next_rst)) return -1;
          todo = d->restart_interval;
        }
        todo--;
      }
      for (int i = 0; i < d->ns; i++) {
        component *c = &d->comp[d->scomp[i]];
        int hh = d->ns == 1 ? 1 : c->h, vv = d->ns == 1 ? 1 : c->v;
        for (int by = 0; by < vv; by++) {
          for (int bx = 0; bx < hh; bx++) {
            int x = mx * hh + bx, y = my * vv + by;
            if (d->multi_scan) {
              if (!d->insufficient && decode_block(d, c, coef_block(c, x, y))) return -1;
            } else {
              uint8_t *px = c->plane + ((size_t)y * c->bw * 64 + (size_t)x * 8);
              memset(blk, 0, sizeof blk);
              if (!d->insufficient && decode_block_seq(d, c, blk))
                d->idct(blk, c->quant, px, c->bw * 8);
              else
                cd_jpeg_idct_dc(blk[0], c->quant[0], px, c->bw * 8);
            }
          }
        }
      }
      if (br_check(d)) return -1;
      /* The rest of the scan leaves coefficients untouched: stop early so that a file of
       * many empty scans costs nothing per block. */
      if (d->insufficient && d->multi_scan && !d->restart_interval) goto end_scan;
    }
  }
end_scan:
  /* Resume marker parsing after the entropy-coded data. */
  d->p = b->p;
  d->scans_done++;
  return 0;
}

/* ---------------------------------------------------------------- output */

static void finish_multi_scan(decoder *d) {
  for (int i = 0; i < d->ncomp; i++) {
    component *c = &d->comp[i];
    if (!c->latched) { /* never scanned: libjpeg has no table either; output mid-grey */
      memset(c->plane, 128, (size_t)c->bw * c->bh * 64);
      continue;
    }
    for (int by = 0; by < c->bh; by++)
      for (int bx = 0; bx < c->bw; bx++)
        d->idct(coef_block(c, bx, by), c->quant,
                           c->plane + ((size_t)by * c->bw * 64 + (size_t)bx * 8), c->bw * 8);
  }
}

static cd_jpeg_upmethod choose_method(const decoder *d, const component *c, int *hexp, int *vexp) {
  int hr = d->hmax / c->h, vr = d->vmax / c->v;
  *hexp = hr;
  *vexp = vr;
  if (hr == 1 && vr == 1) return CD_UP_FULL;
  if (hr == 2 && vr == 1) return c->cw > 2 ? CD_UP_H2V1_FANCY : CD_UP_H2V1_BOX;
  if (hr == 1 && vr == 2) return CD_UP_H1V2_FANCY;
  if (hr == 2 && vr == 2) return c->cw > 2 ? CD_UP_H2V2_FANCY : CD_UP_H2V2_BOX;
  return CD_UP_INT;
}

static int emit(decoder *d, cd_image *out) {
  cd_jpeg_colorxf xf;
  cd_image_mode mode;
  int channels = d->ncomp;
  if (d->ncomp == 1) {
    xf = CD_CC_GRAY;
    mode = CD_MODE_L;
  } else if (d->ncomp == 3) {
    int rgb;
    if (d->jfif) rgb = 0;
    else if (d->adobe) rgb = d->adobe_transform == 0;
    else rgb = d->comp[0].id == 'R' && d->comp[1].id == 'G' && d->comp[2].id == 'B';
    xf = rgb ? CD_CC_RGB : CD_CC_YCC;
    mode = CD_MODE_RGB;
  } else {
    xf = (d->adobe && d->adobe_transform != 0) ? CD_CC_YCCK : CD_CC_CMYK;
    mode = CD_MODE_CMYK;
  }
  cd_jpeg_upcomp up[4];
  for (int i = 0; i < d->ncomp; i++) {
    component *c = &d->comp[i];
    up[i].plane = c->plane;
    up[i].stride = c->bw * 8;
    up[i].cw = c->cw;
    up[i].ch = c->ch;
    up[i].method = choose_method(d, c, &up[i].hexp, &up[i].vexp);
  }
  size_t n = (size_t)d->width * (size_t)d->height * (size_t)channels;
  uint8_t *px = cd_malloc(n, d->e);
  if (!px) return -1;
  if (cd_jpeg_upsample_convert(up, d->ncomp, xf, d->width, d->height, px)) {
    free(px);
    return cd_fail(d->e, "%s: out of memory converting JPEG colours", d->what);
  }
  memset(out, 0, sizeof *out);
  out->width = d->width;
  out->height = d->height;
  out->channels = channels;
  out->mode = mode;
  out->pixels = px;
  return 0;
}

/* ---------------------------------------------------------------- driver */

/* libjpeg's get_dac: the values are checked even though arithmetic coding is refused. */
static int parse_dac(decoder *d) {
  const uint8_t *s = NULL;
  int n = 0;
  if (segment(d, "DAC", &s, &n)) return -1;
  if (n & 1) return cd_fail(d->e, "%s: corrupt JPEG: bad DAC length", d->what);
  for (int i = 0; i < n; i += 2) {
    if (s[i] >= 32) return cd_fail(d->e, "%s: corrupt JPEG: bogus DAC index %d", d->what, s[i]);
    if (s[i] < 16 && (s[i + 1] & 15) > (s[i + 1] >> 4))
      return cd_fail(d->e, "%s: corrupt JPEG: bogus DAC value 0x%x", d->what, s[i + 1]);
  }
  return 0;
}

/* Handles one marker: 0 to go on, 1 at EOI, -1 on error. */
static int handle_marker(decoder *d, int m) {
  const uint8_t *payload = NULL, *skip = NULL;
  int len = 0;
  switch (m) {
    case 0xD9:
      return 1;
    case 0xC0: case 0xC1: case 0xC2:
      return parse_sof(d, m);
    case 0xC3: case 0xC5: case 0xC6: case 0xC7:
      return cd_fail(d->e, "%s: lossless or hierarchical JPEG (SOF%d) is not supported", d->what,
                     m - 0xC0);
    case 0xC9: case 0xCA: case 0xCB: case 0xCD: case 0xCE: case 0xCF:
      return cd_fail(d->e, "%s: arithmetic-coded JPEG (SOF%d) is not supported", d->what, m - 0xC0);
    case 0xC4:
      return parse_dht(d);
    case 0xDB:
      return parse_dqt(d);
    case 0xCC:
      return parse_dac(d);
    case 0xDD:
      if (segment(d, "DRI", &skip, &len)) return -1;
      if (len < 2) return cd_fail(d->e, "%s: corrupt JPEG: short DRI segment", d->what);
      d->restart_interval = rd16(skip);
      return 0;
    case 0xDA:
      /* After the only scan of a sequential image libjpeg expects EOI (Pillow then reports
       * a broken data stream). */
      if (d->scans_done && !d->multi_scan)
        return cd_fail(d->e, "%s: corrupt JPEG: another scan where EOI was expected", d->what);
      /* libjpeg has no limit, but decoding cost grows with scans x blocks; real files
       * have at most a few dozen scans (TurboJPEG's own limit is 500). */
      if (d->scans_done >= 500) return cd_fail(d->e, "%s: corrupt JPEG: more than 500 scans", d->what);
      if (parse_sos(d, &payload)) return -1;
      if (!d->allocated && allocate(d)) return -1;
      return decode_scan(d);
    case 0xD8:
      return cd_fail(d->e, "%s: corrupt JPEG: second SOI marker", d->what);
    case 0xDC: case 0xDE: case 0xDF: case 0xFE:
      return segment(d, "marker", &skip, &len);
    default:
      if (m >= 0xE0 && m <= 0xEF) return parse_app(d, m);
      if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) return 0; /* stray RSTn / TEM: no data */
      return cd_fail(d->e, "%s: corrupt JPEG: unknown marker 0xFF%02X", d->what, m);
  }
}

static int run(decoder *d, cd_image *out) {
  if (d->end - d->p < 2 || d->p[0] != 0xFF || d->p[1] != 0xD8)
    return cd_fail(d->e, "%s: not a JPEG file (no SOI marker)", d->what);
  d->p += 2;
  for (;;) {
    /* A single-scan sequential image is complete once its scan is: like Pillow, accept it
     * when the data then ends, even inside a marker segment (libjpeg merely suspends). */
    int complete = d->scans_done && !d->multi_scan;
    int m = next_marker(d);
    if (m < 0) {
      if (complete) break;
      return cd_fail(d->e, "%s: JPEG data is truncated", d->what);
    }
    d->seg_truncated = 0;
    int rc = handle_marker(d, m);
    if (rc == 1) break;
    if (rc < 0) {
      if (complete && d->seg_truncated) break;
      return -1;
    }
  }
  if (!d->scans_done) return cd_fail(d->e, "%s: JPEG has no image data (no scan)", d->what);
  if (d->multi_scan) finish_multi_scan(d);
  return emit(d, out);
}

int cd_jpeg_decode(const uint8_t *data, size_t size, const char *what, cd_image *out, cd_error *e) {
  if (!what) what = "JPEG";
  decoder *d = calloc(1, sizeof *d);
  if (!d) return cd_fail(e, "%s: out of memory", what);
  d->what = what;
  d->e = e;
  d->idct = cd_jpeg_idct_select();
  d->data = d->p = data;
  d->end = data ? data + size : data;
  int rc = size ? run(d, out) : cd_fail(e, "%s: empty file (0 bytes), not a JPEG", what);
  for (int i = 0; i < 4; i++) {
    free(d->comp[i].plane);
    free(d->comp[i].coefs);
  }
  free(d);
  return rc;
}
