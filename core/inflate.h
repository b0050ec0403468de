/* DEFLATE (RFC 1951) decoder with zlib (RFC 1950) and gzip (RFC 1952) wrappers, used by the
 * PNG decoder and for the gzip'ed BPE merges file. Output is bounded by max_out so a
 * decompression bomb fails with a message instead of exhausting memory. Checksums
 * (Adler-32, CRC-32) are verified. */
#ifndef CD_INFLATE_H
#define CD_INFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Raw DEFLATE stream. *out is malloc'd; *consumed (may be NULL) = input bytes used. */
int cd_inflate_raw(const uint8_t *src, size_t n, size_t max_out, uint8_t **out, size_t *out_n,
                   size_t *consumed, const char *what, cd_error *e);
int cd_zlib_decompress(const uint8_t *src, size_t n, size_t max_out, uint8_t **out,
                       size_t *out_n, const char *what, cd_error *e);
int cd_gunzip(const uint8_t *src, size_t n, size_t max_out, uint8_t **out, size_t *out_n,
              const char *what, cd_error *e);
uint32_t cd_crc32(uint32_t crc, const uint8_t *buf, size_t n);
uint32_t cd_adler32(uint32_t adler, const uint8_t *buf, size_t n);

#endif
