/* DEFLATE / zlib / gzip decoder. Huffman codes are decoded through a 10-bit (literal/length)
 * or 8-bit (distance) primary lookup table with second-level tables for longer codes, so one
 * table probe resolves almost every symbol. The bit reader pads past the end of input with
 * zeros and fails as soon as a padding bit is actually consumed, so truncated input is
 * detected without ever reading beyond src[n). Validation follows zlib's inflate: the same
 * streams are rejected (over-subscribed or incomplete codes, missing end-of-block code,
 * symbols 286/287 and distance codes 30/31, distances before the start of the output). */
#include "core/inflate.h"

#include <stdlib.h>
#include <string.h>

static const uint32_t crc_table[256] = {
  0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
  0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
  0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
  0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
  0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
  0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
  0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
  0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
  0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
  0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
  0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
  0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
  0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
  0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
  0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
  0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
  0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
  0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
  0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
  0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
  0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
  0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
  0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
  0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
  0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
  0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
  0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
  0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
  0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
  0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
  0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
  0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
  0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
  0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
  0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
  0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
  0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
  0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
  0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
  0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
  0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
  0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
  0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du
};

static uint32_t crc_bytes(uint32_t crc, const uint8_t *buf, size_t n) {
  for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

/* Slicing-by-8: eight bytes per step through eight derived tables. The tables are built
 * on the stack per call (2K entries), which only pays off for long buffers. */
static uint32_t crc_slice8(uint32_t crc, const uint8_t *buf, size_t n) {
  uint32_t t[8][256];
  memcpy(t[0], crc_table, sizeof t[0]);
  for (int k = 1; k < 8; k++)
    for (int i = 0; i < 256; i++) t[k][i] = (t[k - 1][i] >> 8) ^ crc_table[t[k - 1][i] & 0xff];
  while (n >= 8) {
    uint32_t lo = crc ^ ((uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
                         (uint32_t)buf[3] << 24);
    crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
          t[3][buf[4]] ^ t[2][buf[5]] ^ t[1][buf[6]] ^ t[0][buf[7]];
    buf += 8;
    n -= 8;
  }
  return crc_bytes(crc, buf, n);
}

uint32_t cd_crc32(uint32_t crc, const uint8_t *buf, size_t n) {
  return ~(n >= 16384 ? crc_slice8(~crc, buf, n) : crc_bytes(~crc, buf, n));
}

uint32_t cd_adler32(uint32_t adler, const uint8_t *buf, size_t n) {
  uint32_t a = adler & 0xffff, b = adler >> 16;
  while (n > 0) {
    /* 5552 is the largest block for which b cannot overflow 32 bits before the modulo. */
    size_t k = n < 5552 ? n : 5552;
    n -= k;
    for (size_t i = 0; i < k; i++) {
      a += buf[i];
      b += a;
    }
    buf += k;
    a %= 65521u;
    b %= 65521u;
  }
  return (b << 16) | a;
}

/* ---- Huffman tables ---------------------------------------------------------------------
 * Entry layout: bits 0..15 symbol (or offset of the second-level table), bits 16..19 code
 * length in bits (0 = no code here: invalid), bit 20 set = pointer to a second-level table
 * whose index width is stored in bits 16..19. */
#define LIT_BITS 10
#define DIST_BITS 8
#define TABLE_CAP 2048 /* > zlib's ENOUGH bound for 288 symbols, 15-bit codes, 10-bit root */
#define SUB_FLAG (1u << 20)

typedef struct {
  uint32_t e[TABLE_CAP];
  int bits; /* primary index width */
} huff;

static uint32_t reverse_bits(uint32_t code, int len) {
  uint32_t r = 0;
  for (int i = 0; i < len; i++) {
    r = (r << 1) | (code & 1);
    code >>= 1;
  }
  return r;
}

/* Builds the decode table for n code lengths. kind: 0 = code-length code (must be complete),
 * 1 = literal/length or distance (an incomplete code is accepted only when it has a single
 * 1-bit code, as zlib does). Returns 0, or -1 for over-subscribed / incomplete sets. */
static int huff_build(huff *h, const uint8_t *lens, int n, int bits, int kind) {
  int count[16] = {0}, maxlen = 0;
  for (int i = 0; i < n; i++) {
    count[lens[i]]++;
    if (lens[i] > maxlen) maxlen = lens[i];
  }
  h->bits = bits;
  memset(h->e, 0, sizeof(uint32_t) << bits);
  if (maxlen == 0) return kind == 0 ? -1 : 0; /* no codes: any use is an invalid code */
  int left = 1;
  for (int len = 1; len <= 15; len++) {
    left = (left << 1) - count[len];
    if (left < 0) return -1; /* over-subscribed */
  }
  if (left > 0 && (kind == 0 || maxlen != 1)) return -1; /* incomplete */

  uint32_t next[16];
  uint32_t code = 0;
  count[0] = 0;
  for (int len = 1; len <= 15; len++) {
    code = (code + count[len - 1]) << 1;
    next[len] = code;
  }
  /* Width of each second-level table = longest code sharing that primary prefix. */
  uint8_t subw[1 << LIT_BITS];
  memset(subw, 0, sizeof subw);
  uint32_t codes[320];
  for (int s = 0; s < n; s++) {
    if (!lens[s]) continue;
    codes[s] = reverse_bits(next[lens[s]]++, lens[s]);
    if (lens[s] > bits) {
      uint32_t p = codes[s] & ((1u << bits) - 1);
      if (lens[s] - bits > subw[p]) subw[p] = (uint8_t)(lens[s] - bits);
    }
  }
  uint32_t used = 1u << bits;
  for (uint32_t p = 0; p < (1u << bits); p++) {
    if (!subw[p]) continue;
    if (used + (1u << subw[p]) > TABLE_CAP) return -1;
    h->e[p] = SUB_FLAG | ((uint32_t)subw[p] << 16) | used;
    memset(h->e + used, 0, sizeof(uint32_t) << subw[p]);
    used += 1u << subw[p];
  }
  for (int s = 0; s < n; s++) {
    int len = lens[s];
    if (!len) continue;
    uint32_t entry = ((uint32_t)len << 16) | (uint32_t)s;
    if (len <= bits) {
      for (uint32_t i = codes[s]; i < (1u << bits); i += 1u << len) h->e[i] = entry;
    } else {
      uint32_t ptr = h->e[codes[s] & ((1u << bits) - 1)];
      int sw = (ptr >> 16) & 15;
      uint32_t base = ptr & 0xffff;
      for (uint32_t i = codes[s] >> bits; i < (1u << sw); i += 1u << (len - bits))
        h->e[base + i] = entry;
    }
  }
  return 0;
}

/* ---- bit reader and output -------------------------------------------------------------- */
typedef struct {
  const uint8_t *src;
  size_t n, pos;  /* pos counts real bytes loaded into buf */
  size_t pad;     /* zero bytes loaded past the end of the input */
  uint64_t buf;
  int cnt;        /* valid bits in buf (real + padding) */
  uint8_t *out;
  size_t out_n, cap, max_out;
  const char *what;
  cd_error *err;
} inflater;

static void refill(inflater *s) {
  if (s->pos + 8 <= s->n) {
    uint64_t v;
    memcpy(&v, s->src + s->pos, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    s->buf |= v << s->cnt;
    s->pos += (size_t)((63 - s->cnt) >> 3);
    s->cnt |= 56;
    return;
  }
  while (s->cnt <= 56) {
    if (s->pos < s->n)
      s->buf |= (uint64_t)s->src[s->pos++] << s->cnt;
    else
      s->pad++;
    s->cnt += 8;
  }
}

/* True once a padding bit has been consumed (the stream ran past the input). */
static int overrun(const inflater *s) { return s->pad * 8 > (size_t)s->cnt; }

static int truncated(inflater *s) {
  return cd_fail(s->err, "%s: compressed data is truncated (ended after %zu bytes)", s->what,
                 s->n);
}

static uint32_t getbits(inflater *s, int k) {
  if (s->cnt < k) refill(s);
  uint32_t v = (uint32_t)(s->buf & ((1ull << k) - 1));
  s->buf >>= k;
  s->cnt -= k;
  return v;
}

/* Decodes one symbol; -1 for an invalid code (or truncation, checked by the caller). */
static int decode(inflater *s, const huff *h) {
  if (s->cnt < 15) refill(s);
  uint32_t e = h->e[s->buf & ((1u << h->bits) - 1)];
  if (e & SUB_FLAG) {
    int sw = (e >> 16) & 15;
    e = h->e[(e & 0xffff) + ((s->buf >> h->bits) & ((1u << sw) - 1))];
  }
  int len = (e >> 16) & 15;
  if (!len) return -1;
  s->buf >>= len;
  s->cnt -= len;
  return (int)(e & 0xffff);
}

static int bomb(inflater *s) {
  return cd_fail(s->err, "%s: decompressed data exceeds %zu bytes (possible decompression bomb)",
                 s->what, s->max_out);
}

static int reserve(inflater *s, size_t extra) {
  if (extra > s->max_out - s->out_n) return bomb(s);
  size_t need = s->out_n + extra;
  if (need <= s->cap) return 0;
  size_t cap = s->cap ? s->cap : 4096;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (cap > s->max_out) cap = s->max_out;
  uint8_t *p = realloc(s->out, cap ? cap : 1);
  if (!p) return cd_fail(s->err, "%s: out of memory growing output to %zu bytes", s->what, cap);
  s->out = p;
  s->cap = cap;
  return 0;
}

/* ---- blocks ----------------------------------------------------------------------------- */
static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static int stored_block(inflater *s) {
  getbits(s, s->cnt & 7); /* skip to a byte boundary */
  uint32_t len = getbits(s, 16), nlen = getbits(s, 16);
  if (overrun(s)) return truncated(s);
  if (len != (~nlen & 0xffff))
    return cd_fail(s->err, "%s: invalid stored block lengths (%u vs ~%u)", s->what, len, nlen);
  if (reserve(s, len)) return -1;
  /* Whole bytes still in the bit buffer come first, then straight from the input. */
  while (len > 0 && s->cnt >= 8) {
    if (overrun(s) || s->cnt - 8 < (int)(s->pad * 8)) return truncated(s);
    s->out[s->out_n++] = (uint8_t)getbits(s, 8);
    len--;
  }
  if (len == 0) return 0;
  if (len > s->n - s->pos) return truncated(s);
  s->buf = 0; /* the buffer is empty here; drop look-ahead bits the copy skips over */
  memcpy(s->out + s->out_n, s->src + s->pos, len);
  s->out_n += len;
  s->pos += len;
  return 0;
}

static int huffman_block(inflater *s, const huff *lit, const huff *dist) {
  for (;;) {
    int sym = decode(s, lit);
    if (sym < 0) return overrun(s) ? truncated(s) : cd_fail(s->err, "%s: invalid literal/length code", s->what);
    if (overrun(s)) return truncated(s);
    if (sym < 256) {
      if (s->out_n == s->cap && reserve(s, 1)) return -1;
      s->out[s->out_n++] = (uint8_t)sym;
      continue;
    }
    if (sym == 256) return 0;
    sym -= 257;
    if (sym >= 29) return cd_fail(s->err, "%s: invalid literal/length code %d", s->what, sym + 257);
    size_t len = len_base[sym] + getbits(s, len_extra[sym]);
    int dsym = decode(s, dist);
    if (dsym < 0) return overrun(s) ? truncated(s) : cd_fail(s->err, "%s: invalid distance code", s->what);
    if (dsym >= 30) return cd_fail(s->err, "%s: invalid distance code %d", s->what, dsym);
    size_t d = dist_base[dsym] + getbits(s, dist_extra[dsym]);
    if (overrun(s)) return truncated(s);
    if (d > s->out_n)
      return cd_fail(s->err, "%s: invalid distance too far back (%zu > %zu bytes of output)", s->what,
                     d, s->out_n);
    if (reserve(s, len)) return -1;
    uint8_t *o = s->out + s->out_n;
    const uint8_t *from = o - d;
    if (d >= len) {
      memcpy(o, from, len);
    } else {
      for (size_t i = 0; i < len; i++) o[i] = from[i]; /* overlapping: byte order matters */
    }
    s->out_n += len;
  }
}

static int fixed_tables(huff *lit, huff *dist) {
  uint8_t lens[288];
  memset(lens, 8, 144);
  memset(lens + 144, 9, 112);
  memset(lens + 256, 7, 24);
  memset(lens + 280, 8, 8);
  if (huff_build(lit, lens, 288, LIT_BITS, 1)) return -1;
  memset(lens, 5, 32); /* codes 30 and 31 exist (and are rejected when used) */
  return huff_build(dist, lens, 32, DIST_BITS, 1);
}

static int dynamic_tables(inflater *s, huff *lit, huff *dist) {
  static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
  int nlen = (int)getbits(s, 5) + 257, ndist = (int)getbits(s, 5) + 1, ncode = (int)getbits(s, 4) + 4;
  if (overrun(s)) return truncated(s);
  if (nlen > 286 || ndist > 30)
    return cd_fail(s->err, "%s: too many length or distance symbols (%d, %d)", s->what, nlen, ndist);
  uint8_t lens[320] = {0};
  for (int i = 0; i < ncode; i++) lens[order[i]] = (uint8_t)getbits(s, 3);
  if (overrun(s)) return truncated(s);
  huff *codes = dist; /* the distance table is free until the lengths are read */
  if (huff_build(codes, lens, 19, 7, 0))
    return cd_fail(s->err, "%s: invalid code lengths set", s->what);
  memset(lens, 0, sizeof lens);
  int i = 0;
  while (i < nlen + ndist) {
    int sym = decode(s, codes);
    if (overrun(s)) return truncated(s);
    if (sym < 0) return cd_fail(s->err, "%s: invalid code lengths set", s->what);
    if (sym < 16) {
      lens[i++] = (uint8_t)sym;
      continue;
    }
    int rep;
    uint8_t val = 0;
    if (sym == 16) {
      if (i == 0) return cd_fail(s->err, "%s: invalid bit length repeat", s->what);
      val = lens[i - 1];
      rep = 3 + (int)getbits(s, 2);
    } else if (sym == 17) {
      rep = 3 + (int)getbits(s, 3);
    } else {
      rep = 11 + (int)getbits(s, 7);
    }
    if (overrun(s)) return truncated(s);
    if (i + rep > nlen + ndist) return cd_fail(s->err, "%s: invalid bit length repeat", s->what);
    while (rep--) lens[i++] = val;
  }
  if (lens[256] == 0) return cd_fail(s->err, "%s: invalid code -- missing end-of-block", s->what);
  if (huff_build(lit, lens, nlen, LIT_BITS, 1))
    return cd_fail(s->err, "%s: invalid literal/lengths set", s->what);
  if (huff_build(dist, lens + nlen, ndist, DIST_BITS, 1))
    return cd_fail(s->err, "%s: invalid distances set", s->what);
  return 0;
}

/* Decodes one raw DEFLATE stream from src[start..n), appending to s->out; *end = offset just
 * after its last byte. */
static int run_inflate(inflater *s, size_t start, size_t *end) {
  huff *t = malloc(2 * sizeof(huff));
  if (!t) return cd_fail(s->err, "%s: out of memory", s->what);
  s->pos = start;
  s->pad = 0;
  s->buf = 0;
  s->cnt = 0;
  int last = 0, rc = 0;
  while (!last && rc == 0) {
    last = (int)getbits(s, 1);
    int type = (int)getbits(s, 2);
    if (overrun(s)) {
      rc = truncated(s);
    } else if (type == 0) {
      rc = stored_block(s);
    } else if (type == 1) {
      rc = fixed_tables(&t[0], &t[1]) ? cd_fail(s->err, "%s: internal error building fixed tables", s->what) : 0;
      if (rc == 0) rc = huffman_block(s, &t[0], &t[1]);
    } else if (type == 2) {
      rc = dynamic_tables(s, &t[0], &t[1]);
      if (rc == 0) rc = huffman_block(s, &t[0], &t[1]);
    } else {
      rc = cd_fail(s->err, "%s: invalid block type 3", s->what);
    }
  }
  free(t);
  if (rc == 0) *end = s->pos + s->pad - (size_t)(s->cnt >> 3); /* minus unused whole bytes */
  return rc;
}

static void init(inflater *s, const uint8_t *src, size_t n, size_t max_out, const char *what,
                 cd_error *e) {
  memset(s, 0, sizeof *s);
  s->src = src;
  s->n = n;
  s->max_out = max_out;
  s->what = what ? what : "deflate stream";
  s->err = e;
}

static int finish(inflater *s, int rc, uint8_t **out, size_t *out_n) {
  if (rc) {
    free(s->out);
    *out = NULL;
    *out_n = 0;
    return -1;
  }
  if (!s->out) s->out = malloc(1); /* empty output: still a valid, freeable buffer */
  if (!s->out) return cd_fail(s->err, "%s: out of memory", s->what);
  *out = s->out;
  *out_n = s->out_n;
  return 0;
}

int cd_inflate_raw(const uint8_t *src, size_t n, size_t max_out, uint8_t **out, size_t *out_n,
                   size_t *consumed, const char *what, cd_error *e) {
  inflater s;
  init(&s, src, n, max_out, what, e);
  size_t used = 0;
  int rc = run_inflate(&s, 0, &used);
  if (rc == 0 && consumed) *consumed = used;
  return finish(&s, rc, out, out_n);
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int zlib_member(inflater *s) {
  const uint8_t *p = s->src;
  if (s->n < 2) return truncated(s);
  if ((p[0] & 15) != 8)
    return cd_fail(s->err, "%s: unknown zlib compression method %d", s->what, p[0] & 15);
  if ((p[0] >> 4) > 7) return cd_fail(s->err, "%s: invalid zlib window size", s->what);
  if (((unsigned)p[0] << 8 | p[1]) % 31 != 0)
    return cd_fail(s->err, "%s: incorrect zlib header check", s->what);
  if (p[1] & 0x20) return cd_fail(s->err, "%s: zlib preset dictionary is not supported", s->what);
  size_t used;
  if (run_inflate(s, 2, &used)) return -1;
  if (s->n - used < 4) return truncated(s);
  uint32_t want = be32(p + used), got = cd_adler32(1, s->out, s->out_n);
  if (want != got)
    return cd_fail(s->err, "%s: Adler-32 mismatch (stored %08x, computed %08x)", s->what, want, got);
  return 0;
}

int cd_zlib_decompress(const uint8_t *src, size_t n, size_t max_out, uint8_t **out,
                       size_t *out_n, const char *what, cd_error *e) {
  inflater s;
  init(&s, src, n, max_out, what, e);
  return finish(&s, zlib_member(&s), out, out_n);
}

/* Parses one gzip member header at src[at..); returns the offset of the deflate data or 0. */
static size_t gzip_header(inflater *s, size_t at) {
  const uint8_t *p = s->src + at;
  size_t n = s->n - at, k = 10;
  if ((n >= 1 && p[0] != 0x1f) || (n >= 2 && p[1] != 0x8b))
    return cd_fail(s->err, "%s: not a gzip file (bad magic)", s->what), 0;
  if (n < 10) return truncated(s), 0;
  if (p[2] != 8) return cd_fail(s->err, "%s: unknown gzip compression method %d", s->what, p[2]), 0;
  int flg = p[3];
  if (flg & 0xe0) return cd_fail(s->err, "%s: reserved gzip flags set (0x%02x)", s->what, flg), 0;
  if (flg & 4) { /* FEXTRA */
    if (n - k < 2) return truncated(s), 0;
    size_t xlen = (size_t)p[k] | (size_t)p[k + 1] << 8;
    k += 2;
    if (n - k < xlen) return truncated(s), 0;
    k += xlen;
  }
  for (int bit = 8; bit <= 16; bit <<= 1) { /* FNAME, then FCOMMENT: NUL-terminated */
    if (!(flg & bit)) continue;
    const uint8_t *z = memchr(p + k, 0, n - k);
    if (!z) return truncated(s), 0;
    k = (size_t)(z - p) + 1;
  }
  if (flg & 2) { /* FHCRC: low 16 bits of the CRC-32 of the header so far */
    if (n - k < 2) return truncated(s), 0;
    uint32_t want = (uint32_t)p[k] | (uint32_t)p[k + 1] << 8;
    uint32_t got = cd_crc32(0, p, k) & 0xffff;
    if (want != got)
      return cd_fail(s->err, "%s: gzip header CRC mismatch (stored %04x, computed %04x)", s->what,
                     want, got), 0;
    k += 2;
  }
  return at + k;
}

/* One member appended to s->out; *next = offset after its trailer. */
static int gzip_member(inflater *s, size_t at, size_t *next) {
  size_t data = gzip_header(s, at);
  if (!data) return -1;
  size_t start_out = s->out_n, end;
  if (run_inflate(s, data, &end)) return -1;
  if (s->n - end < 8) return truncated(s);
  uint32_t want = le32(s->src + end), got = cd_crc32(0, s->out + start_out, s->out_n - start_out);
  if (want != got)
    return cd_fail(s->err, "%s: CRC-32 mismatch (stored %08x, computed %08x)", s->what, want, got);
  uint32_t isize = le32(s->src + end + 4);
  if (isize != (uint32_t)(s->out_n - start_out))
    return cd_fail(s->err, "%s: gzip length mismatch (stored %u, decoded %zu bytes)", s->what, isize,
                   s->out_n - start_out);
  *next = end + 8;
  return 0;
}

/* Like Python's gzip module: members are concatenated, zero padding after a member is
 * skipped, anything else after a member is an error. */
static int gzip_all(inflater *s) {
  size_t at = 0;
  do {
    if (gzip_member(s, at, &at)) return -1;
    while (at < s->n && s->src[at] == 0) at++;
  } while (at < s->n);
  return 0;
}

int cd_gunzip(const uint8_t *src, size_t n, size_t max_out, uint8_t **out, size_t *out_n,
              const char *what, cd_error *e) {
  inflater s;
  init(&s, src, n, max_out, what, e);
  return finish(&s, gzip_all(&s), out, out_n);
}
