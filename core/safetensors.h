/* safetensors reader: 8-byte little-endian header length N, N bytes of JSON header
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
 * then the data. The file is memory-mapped; every header length, dtype, shape, offset and
 * size is validated against the file before any tensor is exposed, so a hostile header can
 * produce only an error message. */
#ifndef CD_SAFETENSORS_H
#define CD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "core/error.h"
#include "core/file.h"

#define CD_MAX_DIMS 8

typedef struct {
  char *name;
  cd_dtype dtype;
  int ndim;
  int64_t shape[CD_MAX_DIMS];
  size_t numel;
  const void *data; /* points into the mapping; NOT necessarily 4-byte aligned */
  size_t nbytes;
} cd_st_tensor;

typedef struct {
  char path[4096];
  cd_file file;
  cd_st_tensor *tensors;
  int n_tensors;
  /* __metadata__ as flat string pairs (may be 0). */
  int n_meta;
  char **meta_keys;
  char **meta_values;
} cd_safetensors;

int cd_st_open(cd_safetensors *st, const char *path, cd_error *e);
/* Same validation over a caller-owned buffer (kept alive until cd_st_close); `what` names
 * it in messages. Used by the fuzzer and by tools that already hold the bytes. */
int cd_st_open_memory(cd_safetensors *st, const uint8_t *data, size_t size, const char *what, cd_error *e);
void cd_st_close(cd_safetensors *st);
const cd_st_tensor *cd_st_find(const cd_safetensors *st, const char *name);
const char *cd_st_meta(const cd_safetensors *st, const char *key); /* NULL if absent */

/* Writes tensors to a safetensors file atomically (used by tools, tests and the trainer).
 * data[i] is float/int data of dtypes[i]; names must be unique. */
int cd_st_write(const char *path, int n, const char *const *names, const cd_dtype *dtypes,
                const int *ndims, const int64_t *const *shapes, const void *const *data,
                cd_error *e);

#endif
