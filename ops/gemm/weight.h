/* A typed Linear weight [rows = N outputs, cols = K inputs] (PyTorch layout) and its packed
 * form. A weight is packed once, at load, for the GEMM kernel (and so the precision) that
 * will use it: its NR-column panels over all of K in the kernel's element type, so no GEMM
 * call ever repacks it. The source can be float32, float16 or bfloat16; it is read straight
 * from storage (no float32 copy is made on the way).
 *
 * A weight that is not packed is used in its plain layout, which must then be float32 or
 * bfloat16 (the weight-streaming kernels of prompt tuning read rows of W directly, forward and
 * backward). */
#ifndef CD_WEIGHT_H
#define CD_WEIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "core/error.h"
#include "ops/gemm/gemm.h"

typedef struct cd_weight {
  int rows, cols;                 /* N, K */
  cd_dtype dtype;                 /* of data: CD_F32, CD_F16 or CD_BF16 */
  const void *data;               /* [rows, cols] as stored; NULL once packed and let go */
  const cd_gemm_kernel *kernel;   /* the kernel `packed` is laid out for; NULL: not packed */
  void *packed;                   /* owned, 64-byte aligned */
  size_t packed_bytes;
  void *tiles;                    /* owned: bf16 rows' tiles for the AMX products, or NULL */
  void *rows_t;                   /* owned: the plain rows transposed, [cols, rows] in data's
                                   * type (the input gradient's rows), or NULL */
} cd_weight;

/* Bytes of w packed for kernel k. */
size_t cd_weight_packed_bytes(int rows, int cols, const cd_gemm_kernel *k);
/* Packs w->data for kernel k (panels in parallel). w->data stays as it was; the caller may
 * then drop it (see cd_weight_forget_source). */
int cd_weight_pack(cd_weight *w, const cd_gemm_kernel *k, cd_error *e);
/* Drops the reference to the source (after packing, when its memory is released). */
void cd_weight_forget_source(cd_weight *w);
/* The plain float32 rows, or NULL when the weight has none (packed only, or not float32). */
const float *cd_weight_f32(const cd_weight *w);
/* The plain bfloat16 rows, or NULL (prompt tuning's bf16 text tower keeps its weights so: one
 * array, read row-wise by the forward and the transposed backward alike). */
const uint16_t *cd_weight_bf16(const cd_weight *w);
/* Beside plain bfloat16 rows: their tiles for the kernel table's AMX products (forward and
 * transposed backward, packed once because the tuning tower's weights are frozen: about twice
 * the rows' bytes), when kt has them; else nothing. The rows stay (other levels read them). */
struct cd_kernels;
int cd_weight_tile_bf16(cd_weight *w, const struct cd_kernels *kt, cd_error *e);
/* Beside plain rows (float32 or bfloat16): their transpose [cols, rows] in the same type, for
 * the input gradient dx = dout · W to stream rows as the forward does: the row-wise forward
 * kernels read W^T's rows contiguously, where the backward's read 16-column strips across W's
 * rows and copy them first (at 24 rows the forward kernels run 25-50% faster). The frozen
 * weight then takes its bytes twice in memory; each product still streams one copy. A weight
 * with AMX tiles (which serve its backward) or without plain rows is left as it is. */
int cd_weight_transpose_rows(cd_weight *w, cd_error *e);
void cd_weight_free(cd_weight *w);

#endif
