/* libFuzzer harness: raw, zlib and gzip decoding of arbitrary bytes must never crash, read
 * out of bounds, or produce more than max_out bytes. The first byte picks the wrapper. */
#include <stdint.h>
#include <stdlib.h>

#include "core/inflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const size_t max_out = 1 << 20;
  uint8_t *out = NULL;
  size_t out_n = 0, used = 0;
  cd_error e;
  int rc;
  switch (data[0] % 3) {
    case 0:
      rc = cd_inflate_raw(data + 1, size - 1, max_out, &out, &out_n, &used, "fuzz", &e);
      if (rc == 0 && used > size - 1) abort();
      break;
    case 1: rc = cd_zlib_decompress(data + 1, size - 1, max_out, &out, &out_n, "fuzz", &e); break;
    default: rc = cd_gunzip(data + 1, size - 1, max_out, &out, &out_n, "fuzz", &e); break;
  }
  if (rc == 0 && out_n > max_out) abort();
  if (rc != 0 && out != NULL) abort(); /* failures leave nothing to free */
  free(out);
  return 0;
}
