#include "tools/cli/cli_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "ops/dispatch.h"
#include "tools/cli/args.h"

int cd_cli_common_arg(int argc, char **argv, int *i, cd_cli_opts *o) {
  const char *a = argv[*i];
  if (cd_arg_is(a, "--model")) return (o->model = cd_arg_value(argc, argv, i)) ? 1 : -1;
  if (cd_arg_is(a, "--vocab")) return (o->vocab = cd_arg_value(argc, argv, i)) ? 1 : -1;
  if (cd_arg_is(a, "--threads")) {
    const char *v = cd_arg_value(argc, argv, i);
    return !v || cd_arg_threads(v, &o->threads) ? -1 : 1;
  }
  if (cd_arg_is(a, "--isa")) {
    const char *v = cd_arg_value(argc, argv, i);
    if (!v) return -1;
    int isa = cd_isa_from_name(v);
    if (isa < 0)
      return cd_cli_fail("--isa %s: unknown level (ref, avx2, avx512, avx512bf16, amx, neon)", v), -1;
    if (!cd_cpu_supports((cd_isa)isa))
      return cd_cli_fail("--isa %s: this CPU cannot run it (its best level is %s)", v,
                         cd_isa_name(cd_cpu_native_isa())), -1;
    setenv("CLIPDEBIAS_ISA", v, 1); /* the one switch every kernel table reads */
    return 1;
  }
  if (cd_arg_is(a, "--precision")) {
    const char *v = cd_arg_value(argc, argv, i);
    if (!v) return -1;
    int p = cd_precision_from_name(v);
    if (p < 0) return cd_cli_fail("--precision %s: unknown (fp32, bf16, bf16x3, fp16)", v), -1;
    o->precision = p;
    o->precision_name = v;
    o->precision_given = 1;
    return 1;
  }
  if (cd_arg_is(a, "--text")) return cd_arg_values(argc, argv, i, &o->texts, &o->n_texts) ? -1 : 1;
  if (cd_arg_is(a, "--text-file")) {
    const char *path = cd_arg_value(argc, argv, i);
    if (!path || cd_read_lines(path, &o->file_lines, &o->n_file_lines)) return -1;
    if (o->n_file_lines == 0) return cd_cli_fail("%s: no text lines", path), -1;
    const char **grown = realloc((void *)o->texts, sizeof(char *) * (size_t)(o->n_texts + o->n_file_lines));
    if (!grown) return -1;
    for (int k = 0; k < o->n_file_lines; k++) grown[o->n_texts++] = o->file_lines[k];
    o->texts = grown;
    return 1;
  }
  return 0;
}

void cd_cli_opts_free(cd_cli_opts *o) {
  free((void *)o->texts);
  if (o->file_lines) cd_free_lines(o->file_lines, o->n_file_lines);
}

void cd_cli_say_precision(int p) {
  static const char *what[CD_PREC_COUNT] = {
      "", "weights and activations rounded to bfloat16 in the products, float32 accumulation",
      "weights and activations split into bfloat16 hi + lo parts, float32 accumulation",
      "weights stored as float16, float32 arithmetic"};
  if (p == CD_PREC_FP32) return;
  fprintf(stderr, "clipdebias: --precision %s: %s (`clipdebias info --model M --precision %s` measures the cosine against fp32)\n",
          cd_precision_name((cd_precision)p), what[p], cd_precision_name((cd_precision)p));
}

int cd_cli_need_model(const cd_cli_opts *o) {
  if (o->model) return 0;
  cd_cli_fail("--model is required (a Hugging Face folder, an OpenCLIP folder or a .safetensors file)");
  return -1;
}

clipdebias_model *cd_cli_load(const cd_cli_opts *o, int need_tokenizer) {
  if (cd_cli_need_model(o)) return NULL;
  clipdebias_load_options lo = {o->vocab, o->precision_name, o->towers, need_tokenizer, !o->pack_text};
  char err[1024];
  clipdebias_model *m = clipdebias_load_with(o->model, &lo, err, sizeof err);
  if (!m) return cd_cli_fail("%s", err), NULL;
  cd_cli_say_precision(o->precision);
  return m;
}

int cd_cli_tokenize_texts(const clipdebias_model *m, const cd_cli_opts *o, int truncate, int32_t **tokens) {
  int L = clipdebias_context_length(m);
  int32_t *t = calloc((size_t)o->n_texts * (size_t)L, sizeof(int32_t));
  if (!t) return cd_cli_fail("out of memory"), -1;
  char err[1024];
  for (int i = 0; i < o->n_texts; i++)
    if (clipdebias_tokenize(m, o->texts[i], truncate, t + (size_t)i * L, err, sizeof err)) {
      free(t);
      return cd_cli_fail("text %d: %s", i + 1, err), -1;
    }
  *tokens = t;
  return 0;
}
