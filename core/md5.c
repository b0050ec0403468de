/* MD5 as RFC 1321 specifies it: 64-byte blocks, four rounds of 16 steps, little-endian words. */
#include "core/md5.h"

#include <stdio.h>
#include <string.h>

/* K[i] = floor(2^32 * |sin(i + 1)|), the RFC's table T. */
static const uint32_t K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};

/* Left-rotation amounts per round, four per round repeated over its 16 steps. */
static const int R[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

static uint32_t rotl(uint32_t x, int c) { return (x << c) | (x >> (32 - c)); }

/* One step: a = b + ((a + f + K[i] + x[g]) <<< r), then the four words rotate. */
#define STEP(f, g)                                                   \
  do {                                                               \
    uint32_t f_ = (f), t_ = d;                                       \
    d = c, c = b;                                                    \
    b = b + rotl(a + f_ + K[i] + x[g], R[i / 16][i & 3]);            \
    a = t_;                                                          \
  } while (0)

static void block(uint32_t s[4], const uint8_t *p) {
  uint32_t x[16];
  for (int i = 0; i < 16; i++) x[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3];
  /* The four rounds differ in their function of b, c, d and in which word they take. */
  for (int i = 0; i < 16; i++) STEP((b & c) | (~b & d), i);
  for (int i = 16; i < 32; i++) STEP((d & b) | (~d & c), (5 * i + 1) & 15);
  for (int i = 32; i < 48; i++) STEP(b ^ c ^ d, (3 * i + 5) & 15);
  for (int i = 48; i < 64; i++) STEP(c ^ (b | ~d), (7 * i) & 15);
  s[0] += a, s[1] += b, s[2] += c, s[3] += d;
}

void cd_md5_init(cd_md5_state *m) {
  memset(m, 0, sizeof *m);
  m->s[0] = 0x67452301, m->s[1] = 0xefcdab89, m->s[2] = 0x98badcfe, m->s[3] = 0x10325476;
}

void cd_md5_update(cd_md5_state *m, const void *data, size_t n) {
  const uint8_t *p = data;
  m->bytes += n;
  if (m->used) {
    size_t k = 64 - m->used < n ? 64 - m->used : n;
    memcpy(m->buf + m->used, p, k);
    m->used += k, p += k, n -= k;
    if (m->used < 64) return;
    block(m->s, m->buf);
    m->used = 0;
  }
  for (; n >= 64; p += 64, n -= 64) block(m->s, p);
  memcpy(m->buf, p, n);
  m->used = n;
}

void cd_md5_final(cd_md5_state *m, uint8_t digest[16]) {
  uint64_t bits = m->bytes * 8;
  uint8_t pad[72] = {0x80};
  size_t k = (m->used < 56 ? 56 : 120) - m->used; /* pad to 56 mod 64, then the 8-byte length */
  for (int i = 0; i < 8; i++) pad[k + (size_t)i] = (uint8_t)(bits >> (8 * i));
  cd_md5_update(m, pad, k + 8);
  for (int i = 0; i < 16; i++) digest[i] = (uint8_t)(m->s[i / 4] >> (8 * (i % 4)));
}

void cd_md5_hex(const void *data, size_t n, char hex[33]) {
  cd_md5_state m;
  uint8_t d[16];
  cd_md5_init(&m);
  cd_md5_update(&m, data, n);
  cd_md5_final(&m, d);
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}
