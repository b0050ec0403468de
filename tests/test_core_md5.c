/* MD5 (core/md5.h): the RFC 1321 test suite (appendix A.5), the million-'a' vector, and
 * streaming in uneven pieces (crossing block and padding boundaries) equal to one call. */
#include <stdlib.h>
#include <string.h>

#include "core/md5.h"
#include "tests/testutil.h"

static const char *const RFC1321[][2] = {
    {"", "d41d8cd98f00b204e9800998ecf8427e"},
    {"a", "0cc175b9c0f1b6a831c399e269772661"},
    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"},
    {"12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"},
};

static void hex_of(const uint8_t d[16], char out[33]) {
  for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int main(void) {
  char hex[33];
  for (size_t i = 0; i < sizeof RFC1321 / sizeof RFC1321[0]; i++) {
    cd_md5_hex(RFC1321[i][0], strlen(RFC1321[i][0]), hex);
    CHECK(!strcmp(hex, RFC1321[i][1]), "MD5(\"%s\") = %s, expected %s", RFC1321[i][0], hex, RFC1321[i][1]);
  }
  size_t n = 1000000;
  char *a = malloc(n);
  memset(a, 'a', n);
  cd_md5_hex(a, n, hex);
  CHECK(!strcmp(hex, "7707d6ae4e027c70eea2a935c2296f21"), "MD5 of a million 'a' = %s", hex);
  /* Every length 0..200 (all padding cases: 55, 56, 63, 64 bytes in the last block), streamed
   * in pieces of 1..13 bytes, equals the one-call digest. */
  int all_equal = 1;
  for (size_t len = 0; len <= 200; len++) {
    for (size_t k = 0; k < len; k++) a[k] = (char)(k * 31 + len);
    char one[33], streamed[33];
    cd_md5_hex(a, len, one);
    cd_md5_state m;
    uint8_t d[16];
    cd_md5_init(&m);
    for (size_t at = 0, piece = 1; at < len; at += piece, piece = piece % 13 + 1) cd_md5_update(&m, a + at, at + piece <= len ? piece : len - at);
    cd_md5_final(&m, d);
    hex_of(d, streamed);
    all_equal &= !strcmp(one, streamed);
  }
  CHECK(all_equal, "streamed in pieces == one call, for every length 0..200");
  free(a);
  return cd_test_finish("test_core_md5");
}
