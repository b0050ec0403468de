#include "core/hash.h"

#include <string.h>

#include "core/pool.h"

#define P1 11400714785074694791ull
#define P2 14029467366897019727ull
#define P3 1609587929392839161ull
#define P4 9650029242287828579ull
#define P5 2870177450012600261ull

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* Little-endian loads whatever the alignment. */
static uint64_t read64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint32_t read32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static uint64_t round64(uint64_t acc, uint64_t lane) { return rotl(acc + lane * P2, 31) * P1; }
static uint64_t merge64(uint64_t acc, uint64_t v) { return (acc ^ round64(0, v)) * P1 + P4; }

void cd_xxh64_init(cd_xxh64_state *s, uint64_t seed) {
  memset(s, 0, sizeof *s);
  s->seed = seed;
  s->v[0] = seed + P1 + P2;
  s->v[1] = seed + P2;
  s->v[2] = seed;
  s->v[3] = seed - P1;
}

static void stripe(cd_xxh64_state *s, const uint8_t *p) {
  for (int i = 0; i < 4; i++) s->v[i] = round64(s->v[i], read64(p + 8 * i));
}

void cd_xxh64_update(cd_xxh64_state *s, const void *data, size_t n) {
  const uint8_t *p = data;
  s->total += n;
  if (s->used) {
    size_t take = 32 - s->used < n ? 32 - s->used : n;
    memcpy(s->buf + s->used, p, take);
    s->used += take, p += take, n -= take;
    if (s->used < 32) return;
    stripe(s, s->buf);
    s->used = 0;
  }
  for (; n >= 32; p += 32, n -= 32) stripe(s, p);
  memcpy(s->buf, p, n);
  s->used = n;
}

uint64_t cd_xxh64_final(const cd_xxh64_state *s) {
  uint64_t h;
  if (s->total >= 32) {
    h = rotl(s->v[0], 1) + rotl(s->v[1], 7) + rotl(s->v[2], 12) + rotl(s->v[3], 18);
    for (int i = 0; i < 4; i++) h = merge64(h, s->v[i]);
  } else {
    h = s->seed + P5;
  }
  h += s->total;
  const uint8_t *p = s->buf;
  size_t n = s->used;
  for (; n >= 8; p += 8, n -= 8) h = rotl(h ^ round64(0, read64(p)), 27) * P1 + P4;
  if (n >= 4) h = rotl(h ^ ((uint64_t)read32(p) * P1), 23) * P2 + P3, p += 4, n -= 4;
  for (; n; p++, n--) h = rotl(h ^ (*p * P5), 11) * P1;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

uint64_t cd_xxh64(const void *data, size_t n, uint64_t seed) {
  cd_xxh64_state s;
  cd_xxh64_init(&s, seed);
  cd_xxh64_update(&s, data, n);
  return cd_xxh64_final(&s);
}

#define CHUNK ((size_t)16 << 20)
#define MAX_CHUNKS 4096 /* 64 GiB; beyond that the tail is hashed as one chunk */

typedef struct {
  const uint8_t *p;
  size_t n, k;
  uint8_t *le;
} chunk_job;

/* Chunk i's hash, little-endian, into its own 8 bytes of the list. */
static void hash_chunk(void *ctx, int i, int worker) {
  const chunk_job *j = ctx;
  size_t at = (size_t)i * CHUNK, len = (size_t)i + 1 == j->k ? j->n - at : CHUNK;
  uint64_t h = cd_xxh64(j->p + at, len, 0);
  for (int b = 0; b < 8; b++) j->le[(size_t)i * 8 + (size_t)b] = (uint8_t)(h >> (8 * b));
}

uint64_t cd_xxh64_chunked(const void *data, size_t n) {
  size_t k = n ? (n + CHUNK - 1) / CHUNK : 0;
  if (k > MAX_CHUNKS) k = MAX_CHUNKS;
  uint8_t le[MAX_CHUNKS * 8];
  chunk_job j = {data, n, k, le};
  cd_pool_run((int)k, 0, hash_chunk, &j);
  return cd_xxh64(le, k * 8, (uint64_t)n);
}
