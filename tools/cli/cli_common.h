/* Options shared by the model commands and the benches: --model, --vocab, --threads, --isa,
 * --precision, text inputs; and loading the model they name through the public API
 * (clipdebias.h). The engine-side loader (a cd_clip) is in cli_model.h. */
#ifndef CD_CLI_COMMON_H
#define CD_CLI_COMMON_H

#include "clipdebias.h"

typedef struct {
  const char *model;
  const char *vocab;
  int threads;            /* 0 = the library default (cd_threads_get) */
  const char **texts;     /* --text values and --text-file lines */
  int n_texts;
  char **file_lines;      /* owned lines of --text-file */
  int n_file_lines;
  int precision;          /* --precision: the engine's code of it (0 = fp32 unless given) */
  const char *precision_name; /* --precision as given (checked), NULL when not given */
  int precision_given;
  /* set by the command before loading: */
  int towers;             /* CLIPDEBIAS_IMAGE | CLIPDEBIAS_TEXT the command uses (0 = both) */
  int pack_text;          /* 1: the text tower only runs inference (pack it) */
} cd_cli_opts;

/* Handles --model/--vocab/--threads/--isa/--precision/--text/--text-file at argv[*i]. Returns 1 if consumed,
 * 0 if not one of these, -1 on error (message printed). */
int cd_cli_common_arg(int argc, char **argv, int *i, cd_cli_opts *o);
void cd_cli_opts_free(cd_cli_opts *o);
/* Help lines of the kernel options (--isa, --precision) shared by the model commands. */
#define CD_CLI_KERNEL_HELP                                                                        \
  "  --precision P   fp32 (default) | bf16 | bf16x3 | fp16: arithmetic of the weight products\n"   \
  "                  (said on stderr when not fp32; `info --precision P` measures the cosine)\n" \
  "  --isa L         force a lower kernel level than this CPU's best (ref, avx2, avx512, ...)\n"

/* 0 when --model was given; else prints that it is required and returns -1. */
int cd_cli_need_model(const cd_cli_opts *o);
/* Says on stderr what a reduced precision changes (nothing for fp32): never silently. */
void cd_cli_say_precision(int p);
/* Loads the model named by --model through the public API (prints the error and returns NULL
 * on failure; says on stderr what a reduced --precision changes). */
clipdebias_model *cd_cli_load(const cd_cli_opts *o, int need_tokenizer);
/* Tokenizes every text into a malloc'd int32 [n, context] array (-1 with the message printed). */
int cd_cli_tokenize_texts(const clipdebias_model *m, const cd_cli_opts *o, int truncate, int32_t **tokens);

#endif
