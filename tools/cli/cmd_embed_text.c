/* clipdebias embed-text : upstream encode_text on texts, float32 [N, D] .npy. */
#include <stdio.h>
#include <stdlib.h>

#include "clipdebias.h"
#include "tools/cli/args.h"
#include "tools/cli/cli_common.h"
#include "tools/cli/commands.h"

static void print_help(void) {
  printf("usage: clipdebias embed-text --model M (--text T... | --text-file F) --out E.npy\n"
         "                             [--normalize] [--truncate] [--vocab V] [--threads N]\n"
         "                             [--precision P] [--isa L]\n\n"
         "Writes float32 [N, D] text features, exactly upstream CLIP.encode_text (not L2-normalised\n"
         "unless --normalize). --text-file takes one text per line. Texts longer than the context\n"
         "are an error unless --truncate (EOT kept last, as upstream truncate=True).\n"
         CD_CLI_KERNEL_HELP);
}

int cd_cmd_embed_text(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_cli_opts o = {0};
  const char *out = NULL;
  int normalize = 0, truncate = 0, rc = 1;
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_common_arg(argc, argv, &i, &o);
    if (r < 0) goto done;
    if (r == 1) continue;
    if (cd_arg_is(argv[i], "--out")) {
      if (!(out = cd_arg_value(argc, argv, &i))) goto done;
    } else if (cd_arg_is(argv[i], "--normalize")) normalize = 1;
    else if (cd_arg_is(argv[i], "--truncate")) truncate = 1;
    else {
      cd_cli_fail("embed-text: unknown option '%s' (see --help)", argv[i]);
      goto done;
    }
  }
  if (!out || o.n_texts == 0) {
    cd_cli_fail("embed-text: --out and --text or --text-file are required");
    goto done;
  }
  o.towers = CLIPDEBIAS_TEXT;
  o.pack_text = 1;
  clipdebias_model *m = cd_cli_load(&o, 1);
  if (!m) goto done;
  int D = clipdebias_embed_dim(m);
  int32_t *tokens = NULL;
  float *feat = NULL;
  char err[1024];
  if (cd_cli_tokenize_texts(m, &o, truncate, &tokens) == 0) {
    feat = malloc(sizeof(float) * (size_t)o.n_texts * (size_t)D);
    if (!feat) cd_cli_fail("out of memory");
    else if (clipdebias_encode_tokens(m, tokens, o.n_texts, normalize, feat, err, sizeof err) ||
             clipdebias_write_npy(out, feat, o.n_texts, D, err, sizeof err))
      cd_cli_fail("%s", err);
    else rc = 0;
  }
  free(tokens);
  free(feat);
  clipdebias_free(m);
done:
  cd_cli_opts_free(&o);
  return rc;
}
