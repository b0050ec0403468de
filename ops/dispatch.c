/* The kernel tables (see ops/dispatch.h): one fill function per ISA level, each setting only
 * the entries that level has its own kernel for (the kernels: ops/kernels/). */
#include "ops/dispatch.h"

#include <stdatomic.h>
#include <string.h>


static const char *const prec_names[CD_PREC_COUNT] = {"fp32", "bf16", "bf16x3", "fp16"};

const char *cd_precision_name(cd_precision p) {
  return (unsigned)p < CD_PREC_COUNT ? prec_names[p] : "unknown";
}

int cd_precision_from_name(const char *name) {
  for (int i = 0; i < CD_PREC_COUNT; i++)
    if (!strcmp(name, prec_names[i])) return i;
  return -1;
}

static const char *const op_names[CD_OP_COUNT] = {
    "gemm fp32", "gemm bf16", "gemm bf16x3", "gemm fp16", "gemm epilogue", "layernorm",
    "softmax", "activation", "attention", "skinny linear", "layernorm backward", "softmax backward",
    "skinny linear bf16", "attention segments"};

const char *cd_op_name(cd_op op) { return (unsigned)op < CD_OP_COUNT ? op_names[op] : "unknown"; }

const char *cd_kernels_describe(const cd_kernels *k, cd_op op) {
  if (op <= CD_OP_GEMM_FP16) return k->gemm[op - CD_OP_GEMM_FP32]->name;
  return cd_isa_name(k->from[op]);
}

static void set_gemm(cd_kernels *k, const cd_gemm_kernel *g) {
  k->gemm[g->prec] = g;
  k->from[CD_OP_GEMM_FP32 + g->prec] = g->isa;
}

/* Marks ops [first, last] as provided by isa. */
static void mark(cd_kernels *k, cd_isa isa, cd_op first, cd_op last) {
  for (int op = first; op <= (int)last; op++) k->from[op] = isa;
}

static void fill_ref(cd_kernels *k) {
  set_gemm(k, &cd_gemm_portable_fp32);
  set_gemm(k, &cd_gemm_portable_bf16);
  set_gemm(k, &cd_gemm_portable_bf16x3);
  set_gemm(k, &cd_gemm_portable_fp16);
  k->bias_act_tile = cd_bias_act_tile_portable;
  k->layernorm_rows = cd_layernorm_rows_portable;
  k->softmax_rows = cd_softmax_rows_portable;
  k->act_forward = cd_act_forward_portable;
  k->act_backward = cd_act_backward_portable;
  k->act_forward_deriv = cd_act_forward_deriv_portable;
  k->act_backward_deriv = cd_act_backward_deriv_portable;
  k->attention_head = cd_attention_head_portable;
  k->skinny_forward = cd_skinny_forward_portable;
  k->skinny_backward = cd_skinny_backward_portable;
  k->layernorm_backward_rows = cd_layernorm_backward_rows_portable;
  k->layernorm_backward_cols = cd_layernorm_backward_cols_portable;
  k->layernorm_stats = cd_layernorm_stats_portable;
  k->softmax_backward_rows = cd_softmax_backward_rows_portable;
  k->skinny_forward_bf16 = cd_skinny_forward_bf16_portable;
  k->skinny_backward_bf16 = cd_skinny_backward_bf16_portable;
  k->segatt_forward = cd_segatt_forward_portable;
  k->segatt_backward = cd_segatt_backward_portable;
  mark(k, CD_ISA_REF, CD_OP_EPILOGUE, CD_OP_ATTENTION_SEGMENTS);
}

#if defined(__x86_64__) || defined(_M_X64)
static void fill_avx2(cd_kernels *k) {
  set_gemm(k, &cd_gemm_avx2_fp32);
  set_gemm(k, &cd_gemm_avx2_fp16);
  k->bias_act_tile = cd_bias_act_tile_avx2;
  k->layernorm_rows = cd_layernorm_rows_avx2;
  k->softmax_rows = cd_softmax_rows_avx2;
  k->act_forward = cd_act_forward_avx2;
  k->act_backward = cd_act_backward_avx2;
  k->act_forward_deriv = cd_act_forward_deriv_avx2;
  k->act_backward_deriv = cd_act_backward_deriv_avx2;
  k->attention_head = cd_attention_head_avx2;
  k->skinny_forward = cd_skinny_forward_avx2;
  k->skinny_backward = cd_skinny_backward_avx2;
  k->skinny_forward_bf16 = cd_skinny_forward_bf16_avx2;
  k->skinny_backward_bf16 = cd_skinny_backward_bf16_avx2;
  k->segatt_forward = cd_segatt_forward_avx2;
  k->segatt_backward = cd_segatt_backward_avx2;
  mark(k, CD_ISA_AVX2, CD_OP_EPILOGUE, CD_OP_SKINNY);
  mark(k, CD_ISA_AVX2, CD_OP_SKINNY_BF16, CD_OP_ATTENTION_SEGMENTS);
}

static void fill_avx512(cd_kernels *k) {
  set_gemm(k, &cd_gemm_avx512_fp32);
  set_gemm(k, &cd_gemm_avx512_fp16);
  k->bias_act_tile = cd_bias_act_tile_avx512;
  k->layernorm_rows = cd_layernorm_rows_avx512;
  k->softmax_rows = cd_softmax_rows_avx512;
  k->act_forward = cd_act_forward_avx512;
  k->act_backward = cd_act_backward_avx512;
  k->act_forward_deriv = cd_act_forward_deriv_avx512;
  k->act_backward_deriv = cd_act_backward_deriv_avx512;
  k->attention_head = cd_attention_head_avx512;
  k->skinny_forward = cd_skinny_forward_avx512;
  k->skinny_backward = cd_skinny_backward_avx512;
  k->skinny_forward_bf16 = cd_skinny_forward_bf16_avx512;
  k->skinny_backward_bf16 = cd_skinny_backward_bf16_avx512;
  k->skinny_pairs_floats = cd_skinny_pairs_floats_avx512;
  k->skinny_pack_pairs = cd_skinny_pack_pairs_avx512;
  k->skinny_forward_pairs = cd_skinny_forward_pairs_avx512;
  k->skinny_forward_pairs_bf16 = cd_skinny_forward_pairs_bf16_avx512;
  k->segatt_forward = cd_segatt_forward_avx512;
  k->segatt_backward = cd_segatt_backward_avx512;
  mark(k, CD_ISA_AVX512, CD_OP_EPILOGUE, CD_OP_SKINNY);
  mark(k, CD_ISA_AVX512, CD_OP_SKINNY_BF16, CD_OP_ATTENTION_SEGMENTS);
}

static void fill_avx512bf16(cd_kernels *k) {
  set_gemm(k, &cd_gemm_avx512bf16_bf16);
  set_gemm(k, &cd_gemm_avx512bf16_bf16x3);
}

/* AMX tiles (tdpbf16ps): the bf16 tuning tower's skinny products (kernels_amx.c). A general
 * AMX GEMM would slot in here as set_gemm(k, &cd_gemm_amx_bf16) / (..._bf16x3), with the
 * bf16 pair layouts of kernels_portable.c (the layout AMX's B tiles take). */
static void fill_amx(cd_kernels *k) {
  k->skinny_forward_bf16 = cd_skinny_forward_bf16_amx_unpacked;
  k->skinny_backward_bf16 = cd_skinny_backward_bf16_amx_unpacked;
  k->skinny_forward_pairs_bf16 = NULL; /* the bf16 forward is AMX's, not the AVX-512 one */
  k->skinny_pack_bf16 = cd_skinny_pack_bf16_amx;
  k->skinny_forward_bf16_packed = cd_skinny_forward_bf16_amx;
  k->skinny_backward_bf16_packed = cd_skinny_backward_bf16_amx;
  k->skinny_tile_weight_bytes = cd_skinny_tile_weight_bytes_amx;
  k->skinny_tile_weight_bf16 = cd_skinny_tile_weight_bf16_amx;
  mark(k, CD_ISA_AMX, CD_OP_SKINNY_BF16, CD_OP_SKINNY_BF16);
}
#endif

#if defined(__aarch64__)
static void fill_neon(cd_kernels *k) {
  set_gemm(k, &cd_gemm_neon_fp32);
  set_gemm(k, &cd_gemm_neon_fp16);
  k->bias_act_tile = cd_bias_act_tile_neon;
  k->layernorm_rows = cd_layernorm_rows_neon;
  k->softmax_rows = cd_softmax_rows_neon;
  k->act_forward = cd_act_forward_neon;
  k->act_backward = cd_act_backward_neon;
  k->act_forward_deriv = cd_act_forward_deriv_neon;
  k->act_backward_deriv = cd_act_backward_deriv_neon;
  k->attention_head = cd_attention_head_neon;
  k->skinny_forward_bf16 = cd_skinny_forward_bf16_neon;
  k->skinny_backward_bf16 = cd_skinny_backward_bf16_neon;
  k->segatt_forward = cd_segatt_forward_neon;
  k->segatt_backward = cd_segatt_backward_neon;
  mark(k, CD_ISA_NEON, CD_OP_EPILOGUE, CD_OP_ATTENTION);
  mark(k, CD_ISA_NEON, CD_OP_SKINNY_BF16, CD_OP_ATTENTION_SEGMENTS);
}
#endif

/* Fills k for isa: the portable table, then each level of the chain from the bottom up.
 * Returns 0 when this build has no such level. */
static int build(cd_kernels *k, cd_isa isa) {
  cd_isa chain[CD_ISA_COUNT];
  int n = 0;
  for (cd_isa l = isa; l != CD_ISA_REF; l = cd_isa_parent(l)) chain[n++] = l;
  memset(k, 0, sizeof *k);
  k->isa = isa;
  fill_ref(k);
  for (int i = n - 1; i >= 0; i--) {
    switch (chain[i]) {
#if defined(__x86_64__) || defined(_M_X64)
    case CD_ISA_AVX2: fill_avx2(k); break;
    case CD_ISA_AVX512: fill_avx512(k); break;
    case CD_ISA_AVX512BF16: fill_avx512bf16(k); break;
    case CD_ISA_AMX: fill_amx(k); break;
#endif
#if defined(__aarch64__)
    case CD_ISA_NEON: fill_neon(k); break;
#endif
    default: return 0;
    }
  }
  return 1;
}

/* Tables are built on first use: state 0 empty, 1 being filled, 2 ready, 3 not built. */
static cd_kernels g_tables[CD_ISA_COUNT];
static _Atomic int g_state[CD_ISA_COUNT];

const cd_kernels *cd_kernels_for(cd_isa isa) {
  if ((unsigned)isa >= CD_ISA_COUNT || !cd_cpu_supports(isa)) return NULL;
  for (;;) {
    int s = atomic_load_explicit(&g_state[isa], memory_order_acquire);
    if (s == 2) return &g_tables[isa];
    if (s == 3) return NULL;
    int expect = 0;
    if (s == 0 && atomic_compare_exchange_strong(&g_state[isa], &expect, 1)) {
      int ok = build(&g_tables[isa], isa);
      atomic_store_explicit(&g_state[isa], ok ? 2 : 3, memory_order_release);
    }
    /* else another thread is filling it (a few hundred nanoseconds): look again */
  }
}

const cd_kernels *cd_kernels_get(void) {
  const cd_kernels *k = cd_kernels_for(cd_cpu_best_isa());
  return k ? k : cd_kernels_for(CD_ISA_REF);
}
