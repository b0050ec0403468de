/* DEFLATE (RFC 1951) encoder with the zlib (RFC 1950) wrapper, for the PNG writer.
 *
 * LZ77 over a 32 KiB window (hash chains on 3-byte prefixes, lazy matching from level 4),
 * then every block is written in whichever form is smallest for it: a dynamic Huffman block
 * (code lengths limited to 15 bits, the code-length code to 7), the fixed Huffman codes, or
 * stored bytes. Output is a pure function of (input, level): the same bytes on every run. */
#ifndef CD_DEFLATE_H
#define CD_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* level 0 = stored blocks only; 1..9 trade speed for size as in zlib (6 is zlib's default).
 * *out is malloc'd (caller frees). `what` names the output in messages. */
int cd_deflate_raw(const uint8_t *src, size_t n, int level, uint8_t **out, size_t *out_n,
                   const char *what, cd_error *e);
/* 2-byte zlib header, raw DEFLATE stream, big-endian Adler-32 of the input. */
int cd_zlib_compress(const uint8_t *src, size_t n, int level, uint8_t **out, size_t *out_n,
                     const char *what, cd_error *e);

#endif
