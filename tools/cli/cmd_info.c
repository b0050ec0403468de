/* clipdebias info --model M : what was loaded and what this machine offers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/cpu.h"
#include "ops/dispatch.h"
#include "tools/cli/args.h"
#include "tools/cli/cli_model.h"
#include "tools/cli/commands.h"

static void print_help(void) {
  printf("usage: clipdebias info --model M [--vocab V] [--threads N] [--isa L] [--precision P]\n\n"
         "Shows the checkpoint layout, the dimensions inferred from its tensors, the parameter\n"
         "count, how weights are held (stored dtype; float32 used in place from the memory map\n"
         "or widened to float32 copies), the tokenizer source, the detected CPU features and the\n"
         "ISA level and, per op, which level's kernel runs (--isa or CLIPDEBIAS_ISA forces a\n"
         "lower level), and the thread count. With --precision bf16|bf16x3|fp16 it also loads\n"
         "the model at that precision and at fp32 and prints the cosine between their features\n"
         "on synthetic probe images and prompts.\n"
         "Without --model it shows only the machine part.\n");
}

static void print_cpu(void) {
  cd_cpu_features f;
  cd_cpu_detect(&f);
  printf("cpu:        %s\n", f.brand[0] ? f.brand : "(unknown)");
  printf("features:  %s%s%s%s%s%s%s%s%s%s%s%s%s%s\n", f.avx2 ? " avx2" : "", f.fma ? " fma" : "",
         f.f16c ? " f16c" : "", f.avx512f ? " avx512f" : "", f.avx512bw ? " avx512bw" : "",
         f.avx512vl ? " avx512vl" : "", f.avx512dq ? " avx512dq" : "", f.avx512_vnni ? " avx512_vnni" : "",
         f.avx512_bf16 ? " avx512_bf16" : "", f.avx512_fp16 ? " avx512_fp16" : "",
         f.amx_tile ? (f.os_amx ? " amx" : " amx(not granted by the OS)") : "", f.neon ? " neon" : "",
         (!f.os_avx && f.avx2) ? " (OS lacks AVX state)" : "",
         (f.avx512f && !f.os_avx512) ? " (OS lacks AVX-512 state)" : "");
  /* The bits that decide the reduced-precision paths, printed whether set or not, so that a
   * missing AMX or AVX512_FP16 is visible rather than silent. */
  printf("matrix:     avx512_bf16 %d, avx512_fp16 %d, amx_tile %d, amx_bf16 %d, amx_int8 %d, "
         "amx tile data granted by the OS %d\n",
         f.avx512_bf16, f.avx512_fp16, f.amx_tile, f.amx_bf16, f.amx_int8, f.os_amx);
  cd_isa best = cd_cpu_best_isa(), native = cd_cpu_native_isa();
  printf("isa level:  %s%s\n", cd_isa_name(best), best != native ? " (forced by --isa / CLIPDEBIAS_ISA)" : "");
  const cd_kernels *kt = cd_kernels_get();
  printf("kernels:\n");
  for (int op = 0; op < CD_OP_COUNT; op++)
    printf("  %-19s %s\n", cd_op_name((cd_op)op), cd_kernels_describe(kt, (cd_op)op));
  printf("threads:    %d\n", cd_threads_get());
}

static void print_tower(const char *name, const cd_transformer *tf) {
  printf("%-11s width %d, layers %d, heads %d, mlp %d, %s, eps %g\n", name, tf->width, tf->layers, tf->heads,
         tf->mlp_dim, tf->act == CD_ACT_GELU ? "GELU" : "QuickGELU", tf->eps);
}

/* --precision p: the cosine of p's features against float32 on the probe inputs. */
static int print_precision(const cd_cli_opts *o) {
  cd_clip_load_opts lo = {o->vocab, 0, CD_TOWER_BOTH, 1, CD_PREC_FP32, CD_PREC_FP32};
  cd_precision_report r;
  cd_error e;
  if (cd_clip_precision_probe(o->model, &lo, o->precision, &r, &e)) return cd_cli_fail("%s", e.msg);
  printf("precision:  %s vs fp32 on %d synthetic probe images: cosine min %.7f, mean %.7f\n",
         cd_precision_name(o->precision), r.images, r.image_cos_min, r.image_cos_mean);
  if (r.texts)
    printf("            %s vs fp32 on %d probe prompts: cosine min %.7f, mean %.7f\n",
           cd_precision_name(o->precision), r.texts, r.text_cos_min, r.text_cos_mean);
  return 0;
}

int cd_cmd_info(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_cli_opts o = {0};
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_common_arg(argc, argv, &i, &o);
    if (r < 0) return cd_cli_opts_free(&o), 1;
    if (r == 0) return cd_cli_opts_free(&o), cd_cli_fail("info: unknown option '%s' (see --help)", argv[i]);
  }
  if (o.model) {
    cd_clip m;
    if (cd_cli_load_model(&o, 0, &m)) return cd_cli_opts_free(&o), 1;
    printf("model:      %s\n", m.path);
    printf("layout:     %s\n", cd_layout_name(m.layout));
    printf("weights:    %s\n", m.weights_path);
    printf("vision:     image %d, patch %d, grid %dx%d, tokens %d\n", m.vision.image_size, m.vision.patch_size,
           m.vision.grid, m.vision.grid, m.vision.n_tokens);
    print_tower("  tower:", &m.vision.tf);
    printf("text:       context %d, vocab %d\n", m.text.context, m.text.vocab_size);
    print_tower("  tower:", &m.text.tf);
    printf("embed dim:  %d\n", m.embed_dim);
    printf("logit scale: %.6g (exp of stored %.6g)\n", exp((double)m.logit_scale_log), m.logit_scale_log);
    printf("parameters: %zu (%.1fM)\n", m.n_params, m.n_params / 1e6);
    printf("dtype:      stored %s; %.1f MB float32 used in place (memory-mapped), %.1f MB converted to float32\n",
           m.stored_dtype, m.bytes_mapped / 1e6, m.bytes_converted / 1e6);
    printf("packed:     %.1f MB of weights packed for the %s GEMM (%s)\n", m.bytes_packed / 1e6,
           cd_precision_name(m.precision), cd_kernels_describe(cd_kernels_get(), (cd_op)(CD_OP_GEMM_FP32 + m.precision)));
    printf("tokenizer:  %s\n", m.tokenizer_desc);
    printf("heads from: %s\n", m.arch_source);
    cd_clip_free(&m);
    if (o.precision != CD_PREC_FP32 && print_precision(&o)) return cd_cli_opts_free(&o), 1;
  }
  print_cpu();
  cd_cli_opts_free(&o);
  return 0;
}
