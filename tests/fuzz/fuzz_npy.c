/* libFuzzer harness: any bytes either load as a .npy array whose data buffer holds exactly
 * numel elements (64-byte aligned), or fail with a message naming the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cd_array a;
  cd_error e;
  e.msg[0] = 0;
  if (cd_npy_load_memory(data, size, "fuzz.npy", &a, &e) != 0) {
    if (strncmp(e.msg, "fuzz.npy", 8) != 0 || a.data) abort();
    return 0;
  }
  size_t numel = 1;
  for (int i = 0; i < a.ndim; i++) numel *= (size_t)a.shape[i];
  if (numel != a.numel || ((uintptr_t)a.data & 63) || a.ndim > 8) abort();
  size_t nb = a.numel * cd_dtype_size(a.dtype);
  volatile uint8_t sink = 0;
  if (nb) sink ^= ((uint8_t *)a.data)[0] ^ ((uint8_t *)a.data)[nb - 1];
  if (a.numel <= 4096) {
    float tmp[4096];
    cd_convert_to_f32(tmp, a.data, a.dtype, a.numel);
  }
  (void)sink;
  cd_array_free(&a);
  return 0;
}
