/* libFuzzer harness: any bytes either open as a safetensors file whose every tensor lies
 * inside the buffer with the size its dtype and shape imply, or fail with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cd_safetensors st;
  cd_error e;
  e.msg[0] = 0;
  if (cd_st_open_memory(&st, data, size, "fuzz.safetensors", &e) != 0) {
    if (strncmp(e.msg, "fuzz.safetensors", 16) != 0) abort();
    return 0;
  }
  volatile uint8_t sink = 0;
  for (int i = 0; i < st.n_tensors; i++) {
    const cd_st_tensor *t = &st.tensors[i];
    const uint8_t *p = t->data;
    if (t->nbytes != t->numel * cd_dtype_size(t->dtype)) abort();
    if (p < data || p + t->nbytes > data + size) abort();
    if (t->nbytes) sink ^= p[0] ^ p[t->nbytes - 1]; /* ASan checks both ends */
    if (cd_st_find(&st, t->name) != t) abort();
    if (t->numel <= 4096 && (t->dtype == CD_F32 || t->dtype == CD_F16 || t->dtype == CD_BF16)) {
      float tmp[4096];
      cd_convert_to_f32(tmp, t->data, t->dtype, t->numel);
    }
  }
  for (int i = 0; i < st.n_meta; i++)
    if (cd_st_meta(&st, st.meta_keys[i]) == NULL) abort();
  (void)sink;
  cd_st_close(&st);
  return 0;
}
