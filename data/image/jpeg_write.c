/* Baseline JPEG encoder that writes the bytes libjpeg-turbo writes for Pillow's
 * Image.save(path, "JPEG", quality=q, subsampling=s) with everything else at its default:
 *   - JFIF 1.01 APP0 (no density), one DQT per table, SOF0, one DHT per table, one SOS;
 *   - RGB -> YCbCr with jccolor.c's 16-bit fixed-point tables;
 *   - chroma downsampling by plain box averages with jcsample.c's alternating rounding bias,
 *     the image edge replicated to fill blocks and MCUs;
 *   - jfdctint.c's accurate integer forward DCT ("islow", CONST_BITS 13, PASS1_BITS 2) and
 *     rounding division by 8 * the quantiser;
 *   - the Annex K quantisation tables scaled by IJG's quality formula and clamped to 1..255;
 *   - the Annex K.3 Huffman tables, 0xFF bytes stuffed, the last byte padded with 1 bits.
 * Blocks the MCU grid adds beyond the image ("dummy blocks") get zero AC and the DC of the
 * block before them, as jccoefct.c does. */
#include <stdlib.h>
#include <string.h>

#include "data/image/image_write.h"
#include "data/image/jpeg_internal.h"

/* ------------------------------------------------------------------------ tables */

static const uint8_t STD_QUANT[2][64] = {
    {16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
     14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
     18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99},
    {17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99,
     99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
     99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99}};

/* Annex K.3: code counts per length 1..16, then the symbols in code order. */
static const uint8_t DC_BITS[2][16] = {{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0},
                                       {0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}};
static const uint8_t DC_VALS[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const uint8_t AC_BITS[2][16] = {{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d},
                                       {0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77}};
static const uint8_t AC_VALS[2][162] = {
    {0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
     0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52,
     0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
     0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45,
     0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
     0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
     0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
     0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
     0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
     0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
     0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa},
    {0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
     0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
     0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
     0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44,
     0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63,
     0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
     0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
     0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
     0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
     0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
     0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa}};

typedef struct {
  uint16_t code[256];
  uint8_t size[256];
} huff_code;

/* Canonical codes from counts per length (Annex C). */
static void make_code(const uint8_t bits[16], const uint8_t *vals, huff_code *h) {
  memset(h, 0, sizeof *h);
  unsigned code = 0;
  int k = 0;
  for (int len = 1; len <= 16; len++, code <<= 1)
    for (int i = 0; i < bits[len - 1]; i++, k++, code++) {
      h->code[vals[k]] = (uint16_t)code;
      h->size[vals[k]] = (uint8_t)len;
    }
}

/* IJG quality scaling (jcparam.c), forced to baseline: entries clamped to 1..255. */
static void scale_quant(int quality, int table, uint16_t q[64]) {
  quality = quality < 1 ? 1 : quality > 100 ? 100 : quality;
  long scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  for (int i = 0; i < 64; i++) {
    long v = (STD_QUANT[table][i] * scale + 50) / 100;
    q[i] = (uint16_t)(v < 1 ? 1 : v > 255 ? 255 : v);
  }
}

/* ------------------------------------------------------------------------ samples */

/* jccolor.c: Y, Cb, Cr as 16.16 fixed point, Cb/Cr rounded with 0.5 - epsilon. */
#define FIX16(x) ((int32_t)((x) * 65536.0 + 0.5))
static void rgb_to_ycc(const uint8_t *px, size_t n, uint8_t *y, uint8_t *cb, uint8_t *cr) {
  const int32_t half = 1 << 15, offset = 128 << 16;
  for (size_t i = 0; i < n; i++) {
    int32_t r = px[3 * i], g = px[3 * i + 1], b = px[3 * i + 2];
    y[i] = (uint8_t)((FIX16(0.29900) * r + FIX16(0.58700) * g + FIX16(0.11400) * b + half) >> 16);
    cb[i] = (uint8_t)((-FIX16(0.16874) * r - FIX16(0.33126) * g + FIX16(0.5) * b + offset + half - 1) >> 16);
    cr[i] = (uint8_t)((FIX16(0.5) * r - FIX16(0.41869) * g - FIX16(0.08131) * b + offset + half - 1) >> 16);
  }
}

typedef struct {
  int h, v;         /* sampling factors */
  int sof_hv;       /* factors as written in SOF0: Pillow gives a lone gray component the
                       luma factors of the requested subsampling; its scan is still one
                       block per MCU (A.2.2), so only this header byte changes */
  int wblocks, hblocks; /* blocks that hold image data */
  int pw, ph;       /* plane size: whole MCUs */
  uint8_t *plane;   /* component samples, edge-replicated to pw x ph */
  int table;        /* 0 = luminance tables, 1 = chrominance */
  int last_dc;
} component;

/* Full-resolution plane src (w x h) replicated at the right and bottom edges to fw x fh. */
static void expand_edges(const uint8_t *src, int w, int h, uint8_t *dst, int fw, int fh) {
  for (int y = 0; y < fh; y++) {
    const uint8_t *s = src + (size_t)(y < h ? y : h - 1) * (size_t)w;
    uint8_t *d = dst + (size_t)y * (size_t)fw;
    memcpy(d, s, (size_t)w);
    memset(d + w, s[w - 1], (size_t)(fw - w));
  }
}

/* Box average over hx x vx input samples (1x1, 2x1 or 2x2) with jcsample.c's rounding
 * bias, which alternates along the row so that rounding errors do not all go one way. */
static void downsample(const uint8_t *full, int fw, int hx, int vx, component *c, int rows) {
  for (int y = 0; y < rows; y++) {
    uint8_t *out = c->plane + (size_t)y * (size_t)c->pw;
    const uint8_t *r0 = full + (size_t)(y * vx) * (size_t)fw, *r1 = r0 + (vx == 2 ? fw : 0);
    for (int x = 0; x < c->pw; x++) {
      if (hx == 1) out[x] = r0[x];
      else if (vx == 1) out[x] = (uint8_t)((r0[2 * x] + r0[2 * x + 1] + (x & 1)) >> 1);
      else out[x] = (uint8_t)((r0[2 * x] + r0[2 * x + 1] + r1[2 * x] + r1[2 * x + 1] + 1 + (x & 1)) >> 2);
    }
  }
  /* Rows below the last downsampled row repeat it (jcprepct.c expand_bottom_edge). */
  for (int y = rows; y < c->ph; y++)
    memcpy(c->plane + (size_t)y * (size_t)c->pw, c->plane + (size_t)(rows - 1) * (size_t)c->pw, (size_t)c->pw);
}

/* ------------------------------------------------------------------------ DCT */

/* jfdctint.c in place on an 8x8 block of (sample - 128): outputs scaled up by 8. */
static void fdct_pass(int32_t *d, int step, int pass) {
  enum { C_0_298 = 2446, C_0_390 = 3196, C_0_541 = 4433, C_0_765 = 6270, C_0_899 = 7373,
         C_1_175 = 9633, C_1_501 = 12299, C_1_847 = 15137, C_1_961 = 16069, C_2_053 = 16819,
         C_2_562 = 20995, C_3_072 = 25172 };
  /* Pass 1 keeps 2 extra fraction bits; pass 2 removes them. */
  const int shift = pass == 1 ? 13 - 2 : 13 + 2;
  const int64_t round = (int64_t)1 << (shift - 1);
  int64_t t0 = d[0] + d[7 * step], t7 = d[0] - d[7 * step];
  int64_t t1 = d[step] + d[6 * step], t6 = d[step] - d[6 * step];
  int64_t t2 = d[2 * step] + d[5 * step], t5 = d[2 * step] - d[5 * step];
  int64_t t3 = d[3 * step] + d[4 * step], t4 = d[3 * step] - d[4 * step];
  int64_t t10 = t0 + t3, t13 = t0 - t3, t11 = t1 + t2, t12 = t1 - t2;
  if (pass == 1) {
    d[0] = (int32_t)((t10 + t11) * 4);
    d[4 * step] = (int32_t)((t10 - t11) * 4);
  } else {
    d[0] = (int32_t)((t10 + t11 + 2) >> 2);
    d[4 * step] = (int32_t)((t10 - t11 + 2) >> 2);
  }
  int64_t z1 = (t12 + t13) * C_0_541;
  d[2 * step] = (int32_t)((z1 + t13 * C_0_765 + round) >> shift);
  d[6 * step] = (int32_t)((z1 - t12 * C_1_847 + round) >> shift);
  /* Odd part. */
  z1 = t4 + t7;
  int64_t z2 = t5 + t6, z3 = t4 + t6, z4 = t5 + t7;
  int64_t z5 = (z3 + z4) * C_1_175;
  t4 *= C_0_298;
  t5 *= C_2_053;
  t6 *= C_3_072;
  t7 *= C_1_501;
  z1 *= -C_0_899;
  z2 *= -C_2_562;
  z3 = z3 * -C_1_961 + z5;
  z4 = z4 * -C_0_390 + z5;
  d[7 * step] = (int32_t)((t4 + z1 + z3 + round) >> shift);
  d[5 * step] = (int32_t)((t5 + z2 + z4 + round) >> shift);
  d[3 * step] = (int32_t)((t6 + z2 + z3 + round) >> shift);
  d[step] = (int32_t)((t7 + z1 + z4 + round) >> shift);
}

/* Samples at (x0, y0) of plane -> quantised coefficients in natural order. */
static void forward_block(const component *c, int x0, int y0, const uint16_t *q, int16_t out[64]) {
  int32_t d[64];
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++) d[8 * y + x] = c->plane[(size_t)(y0 + y) * (size_t)c->pw + (size_t)(x0 + x)] - 128;
  for (int r = 0; r < 8; r++) fdct_pass(d + 8 * r, 1, 1);
  for (int col = 0; col < 8; col++) fdct_pass(d + col, 8, 2);
  for (int i = 0; i < 64; i++) {
    int div = 8 * q[i], v = d[i];
    out[i] = (int16_t)(v < 0 ? -((-v + div / 2) / div) : (v + div / 2) / div);
  }
}

/* ------------------------------------------------------------------------ output */

typedef struct {
  uint8_t *buf;
  size_t n, cap;
  uint32_t acc;
  int nacc;
  int oom;
} jpeg_out;

static void out_byte(jpeg_out *o, uint8_t b) {
  if (o->oom) return;
  if (o->n == o->cap) {
    size_t cap = o->cap ? 2 * o->cap : 8192;
    uint8_t *p = realloc(o->buf, cap);
    if (!p) {
      o->oom = 1;
      return;
    }
    o->buf = p;
    o->cap = cap;
  }
  o->buf[o->n++] = b;
}

static void out_u16(jpeg_out *o, unsigned v) {
  out_byte(o, (uint8_t)(v >> 8));
  out_byte(o, (uint8_t)v);
}

/* Entropy-coded bits, MSB first; a 0xFF byte is followed by a stuffed 0x00. */
static void put_bits(jpeg_out *o, unsigned value, int count) {
  o->acc = (o->acc << count) | (value & ((1u << count) - 1));
  o->nacc += count;
  while (o->nacc >= 8) {
    uint8_t b = (uint8_t)(o->acc >> (o->nacc - 8));
    out_byte(o, b);
    if (b == 0xFF) out_byte(o, 0);
    o->nacc -= 8;
  }
}

static int magnitude_bits(int v) {
  unsigned a = (unsigned)(v < 0 ? -v : v);
  int n = 0;
  while (a) n++, a >>= 1;
  return n;
}

/* Coefficient v in n bits: negative values as v - 1 in two's complement (F.1.2.1). */
static void put_value(jpeg_out *o, int v, int n) {
  if (n) put_bits(o, (unsigned)(v < 0 ? v - 1 : v), n);
}

static void encode_block(jpeg_out *o, const int16_t blk[64], component *c, const huff_code *dc,
                         const huff_code *ac) {
  int diff = blk[0] - c->last_dc, n = magnitude_bits(diff);
  c->last_dc = blk[0];
  put_bits(o, dc->code[n], dc->size[n]);
  put_value(o, diff, n);
  int run = 0;
  for (int k = 1; k < 64; k++) {
    int v = blk[cd_jpeg_natural_order[k]];
    if (!v) {
      run++;
      continue;
    }
    for (; run > 15; run -= 16) put_bits(o, ac->code[0xF0], ac->size[0xF0]);
    n = magnitude_bits(v);
    int sym = run << 4 | n;
    put_bits(o, ac->code[sym], ac->size[sym]);
    put_value(o, v, n);
    run = 0;
  }
  if (run) put_bits(o, ac->code[0], ac->size[0]);
}

static void write_headers(jpeg_out *o, int w, int h, const component *comp, int nc,
                          uint16_t quant[2][64]) {
  static const uint8_t JFIF[14] = {'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
  int ntables = nc > 1 ? 2 : 1;
  out_u16(o, 0xFFD8);
  out_u16(o, 0xFFE0);
  out_u16(o, 16);
  for (int i = 0; i < 14; i++) out_byte(o, JFIF[i]);
  for (int t = 0; t < ntables; t++) {
    out_u16(o, 0xFFDB);
    out_u16(o, 67);
    out_byte(o, (uint8_t)t);
    for (int k = 0; k < 64; k++) out_byte(o, (uint8_t)quant[t][cd_jpeg_natural_order[k]]);
  }
  out_u16(o, 0xFFC0);
  out_u16(o, (unsigned)(8 + 3 * nc));
  out_byte(o, 8);
  out_u16(o, (unsigned)h);
  out_u16(o, (unsigned)w);
  out_byte(o, (uint8_t)nc);
  for (int i = 0; i < nc; i++) {
    out_byte(o, (uint8_t)(i + 1));
    out_byte(o, (uint8_t)comp[i].sof_hv);
    out_byte(o, (uint8_t)comp[i].table);
  }
  for (int t = 0; t < ntables; t++)
    for (int cls = 0; cls < 2; cls++) {
      const uint8_t *bits = cls ? AC_BITS[t] : DC_BITS[t];
      int nv = 0;
      for (int i = 0; i < 16; i++) nv += bits[i];
      out_u16(o, 0xFFC4);
      out_u16(o, (unsigned)(3 + 16 + nv));
      out_byte(o, (uint8_t)(cls << 4 | t));
      for (int i = 0; i < 16; i++) out_byte(o, bits[i]);
      for (int i = 0; i < nv; i++) out_byte(o, cls ? AC_VALS[t][i] : DC_VALS[i]);
    }
  out_u16(o, 0xFFDA);
  out_u16(o, (unsigned)(6 + 2 * nc));
  out_byte(o, (uint8_t)nc);
  for (int i = 0; i < nc; i++) {
    out_byte(o, (uint8_t)(i + 1));
    out_byte(o, (uint8_t)(comp[i].table << 4 | comp[i].table));
  }
  out_byte(o, 0);
  out_byte(o, 63);
  out_byte(o, 0);
}

/* ------------------------------------------------------------------------ driver */

/* Sampling factors and padded plane sizes of every component (jdinput/jcmaster rules). */
static void layout(component *comp, int nc, cd_jpeg_subsampling s, int w, int h, int *mcux, int *mcuy) {
  int sof_h = s == CD_JPEG_444 ? 1 : 2, sof_v = s == CD_JPEG_420 ? 2 : 1;
  int H = nc == 1 ? 1 : sof_h, V = nc == 1 ? 1 : sof_v;
  *mcux = (w + 8 * H - 1) / (8 * H);
  *mcuy = (h + 8 * V - 1) / (8 * V);
  for (int i = 0; i < nc; i++) {
    component *c = &comp[i];
    c->h = i == 0 ? H : 1;
    c->v = i == 0 ? V : 1;
    c->table = i == 0 ? 0 : 1;
    c->sof_hv = i == 0 ? sof_h << 4 | sof_v : 0x11;
    c->wblocks = (w * c->h + 8 * H - 1) / (8 * H);
    c->hblocks = (h * c->v + 8 * V - 1) / (8 * V);
    c->pw = *mcux * c->h * 8;
    c->ph = *mcuy * c->v * 8;
    c->last_dc = 0;
  }
}

/* Colour conversion and downsampling into every component's padded plane. */
static int fill_planes(const uint8_t *px, int w, int h, int nc, component *comp, cd_error *e) {
  int H = comp[0].h, V = comp[0].v;
  int fw = comp[0].pw, fh = (h + V - 1) / V * V; /* rows rounded up to whole row groups */
  size_t npx = (size_t)w * (size_t)h;
  uint8_t *ycc = cd_malloc(npx * (size_t)nc, e), *full = cd_malloc((size_t)fw * (size_t)fh, e);
  int rc = -1;
  if (!ycc || !full) goto done;
  if (nc == 3) rgb_to_ycc(px, npx, ycc, ycc + npx, ycc + 2 * npx);
  else memcpy(ycc, px, npx);
  for (int i = 0; i < nc; i++) {
    component *c = &comp[i];
    c->plane = cd_malloc((size_t)c->pw * (size_t)c->ph, e);
    if (!c->plane) goto done;
    expand_edges(ycc + (size_t)i * npx, w, h, full, fw, fh);
    downsample(full, fw, H / c->h, V / c->v, c, fh / (V / c->v));
  }
  rc = 0;
done:
  free(ycc);
  free(full);
  return rc;
}

static void encode_scan(jpeg_out *o, component *comp, int nc, int mcux, int mcuy, uint16_t quant[2][64]) {
  huff_code dc[2], ac[2];
  for (int t = 0; t < 2; t++) {
    make_code(DC_BITS[t], DC_VALS, &dc[t]);
    make_code(AC_BITS[t], AC_VALS[t], &ac[t]);
  }
  int16_t blk[4][64];
  for (int my = 0; my < mcuy; my++)
    for (int mx = 0; mx < mcux; mx++)
      for (int i = 0; i < nc; i++) {
        component *c = &comp[i];
        int16_t prev_dc = 0;
        for (int by = 0; by < c->v; by++)
          for (int bx = 0; bx < c->h; bx++) {
            int gx = mx * c->h + bx, gy = my * c->v + by;
            int16_t *b = blk[by * c->h + bx];
            if (gx < c->wblocks && gy < c->hblocks) {
              forward_block(c, gx * 8, gy * 8, quant[c->table], b);
            } else { /* dummy block: DC of the block before it in the MCU */
              memset(b, 0, 64 * sizeof *b);
              b[0] = prev_dc;
            }
            if (gy < c->hblocks) prev_dc = b[0];
          }
        for (int k = 0; k < c->h * c->v; k++) encode_block(o, blk[k], c, &dc[c->table], &ac[c->table]);
      }
  if (o->nacc) put_bits(o, 0x7F, 8 - o->nacc); /* pad the last byte with 1 bits */
}

int cd_jpeg_encode(const uint8_t *pixels, int width, int height, int channels,
                   const cd_jpeg_options *opt, uint8_t **out, size_t *out_n, cd_error *e) {
  *out = NULL;
  *out_n = 0;
  if (width < 1 || height < 1 || width > 65535 || height > 65535 || (channels != 1 && channels != 3))
    return cd_fail(e, "JPEG encoder: cannot encode %dx%d with %d channels (1 or 3, at most 65535 a side)",
                   width, height, channels);
  int quality = opt ? opt->quality : 75;
  if (quality < 1 || quality > 100) return cd_fail(e, "JPEG encoder: quality %d is not in 1..100", quality);
  cd_jpeg_subsampling sub = opt ? opt->subsampling : CD_JPEG_420;
  component comp[3] = {{0}};
  int mcux, mcuy;
  layout(comp, channels, sub, width, height, &mcux, &mcuy);
  uint16_t quant[2][64];
  scale_quant(quality, 0, quant[0]);
  scale_quant(quality, 1, quant[1]);
  jpeg_out o = {0};
  int rc = fill_planes(pixels, width, height, channels, comp, e);
  if (rc == 0) {
    write_headers(&o, width, height, comp, channels, quant);
    encode_scan(&o, comp, channels, mcux, mcuy, quant);
    out_u16(&o, 0xFFD9);
    if (o.oom) rc = cd_fail(e, "JPEG encoder: out of memory");
  }
  for (int i = 0; i < channels; i++) free(comp[i].plane);
  if (rc) {
    free(o.buf);
    return -1;
  }
  *out = o.buf;
  *out_n = o.n;
  return 0;
}
