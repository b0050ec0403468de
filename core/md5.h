/* MD5 (RFC 1321), only to compare files with the checksums data set distributions publish
 * (torchvision lists MD5s for the CelebA annotation files). Not for anything that must resist
 * tampering: MD5 collisions are easy to make. */
#ifndef CD_MD5_H
#define CD_MD5_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t s[4];   /* A, B, C, D */
  uint64_t bytes;  /* message length so far */
  uint8_t buf[64]; /* a partial block */
  size_t used;
} cd_md5_state;

void cd_md5_init(cd_md5_state *m);
void cd_md5_update(cd_md5_state *m, const void *data, size_t n);
void cd_md5_final(cd_md5_state *m, uint8_t digest[16]);

/* One call over a buffer: the digest as 32 lowercase hex digits (md5sum's spelling). */
void cd_md5_hex(const void *data, size_t n, char hex[33]);

#endif
