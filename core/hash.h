/* XXH64 (Yann Collet's 64-bit hash, from its published specification) for identities that
 * must survive a move between machines: checksums of model weights and of data set listings
 * stored in feature caches. Not cryptographic: it tells copies apart, it does not resist
 * someone forging a collision. */
#ifndef CD_HASH_H
#define CD_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t cd_xxh64(const void *data, size_t n, uint64_t seed);

/* Streaming form for data produced piece by piece (same result as one call over the
 * concatenation). */
typedef struct {
  uint64_t v[4], total;
  uint8_t buf[32];
  size_t used;
  uint64_t seed;
} cd_xxh64_state;
void cd_xxh64_init(cd_xxh64_state *s, uint64_t seed);
void cd_xxh64_update(cd_xxh64_state *s, const void *data, size_t n);
uint64_t cd_xxh64_final(const cd_xxh64_state *s);

/* Large buffers: XXH64 of each 16 MiB chunk (in parallel), then XXH64 of the chunk hashes
 * (little-endian). The same bytes give the same value whatever the thread count. */
uint64_t cd_xxh64_chunked(const void *data, size_t n);

#endif
