/* clipdebias tokenize : CLIP BPE ids, exactly upstream clip.tokenize. */
#include <stdio.h>
#include <stdlib.h>

#include "core/npy.h"
#include "tools/cli/args.h"
#include "tools/cli/cli_model.h"
#include "tools/cli/commands.h"

static void print_help(void) {
  printf("usage: clipdebias tokenize --model M (--text T... | --text-file F) [--out T.npy] [--truncate]\n"
         "       clipdebias tokenize --vocab V (--text T... | --text-file F) [...]\n\n"
         "Token ids as upstream clip.tokenize: SOT (49406), BPE ids, EOT (49407), zero padded to the\n"
         "context length (77). Too-long texts are an error unless --truncate, which keeps the first\n"
         "76 positions and puts EOT last. --out writes int32 [N,77] .npy; otherwise one line of\n"
         "space-separated ids per text (up to EOT) is printed.\n"
         "  --vocab V   bpe_simple_vocab_16e6.txt.gz, or a folder with vocab.json + merges.txt\n"
         "              (with --model: overrides the tokenizer found beside the weights)\n");
}

int cd_cmd_tokenize(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_cli_opts o = {0};
  const char *out = NULL;
  int truncate = 0, rc = 1;
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_common_arg(argc, argv, &i, &o);
    if (r < 0) goto done;
    if (r == 1) continue;
    if (cd_arg_is(argv[i], "--out")) {
      if (!(out = cd_arg_value(argc, argv, &i))) goto done;
    } else if (cd_arg_is(argv[i], "--truncate")) truncate = 1;
    else {
      cd_cli_fail("tokenize: unknown option '%s' (see --help)", argv[i]);
      goto done;
    }
  }
  if (o.n_texts == 0) {
    cd_cli_fail("tokenize: give --text or --text-file");
    goto done;
  }
  cd_clip m = {0};
  int32_t *ids = NULL;
  int L = CD_CONTEXT;
  cd_error e;
  if (o.model) {
    o.towers = CD_TOWER_TEXT;
    if (cd_cli_load_model(&o, 1, &m)) goto done;
    L = m.text.context;
  } else if (o.vocab) {
    /* Tokenizer only: no weights needed. */
    m.text.context = L;
    m.tokenizer = cd_tokenizer_open(o.vocab, m.tokenizer_desc, sizeof m.tokenizer_desc, &e);
    if (!m.tokenizer) {
      cd_cli_fail("%s", e.msg);
      goto done;
    }
    snprintf(m.path, sizeof m.path, "%s", o.vocab);
  } else {
    cd_cli_fail("tokenize: give --model or --vocab");
    goto done;
  }
  if (cd_cli_tokenize_all(&m, &o, truncate, &ids) == 0) {
    if (out) {
      int64_t shape[2] = {o.n_texts, L};
      if (cd_npy_save(out, CD_I32, 2, shape, ids, &e)) cd_cli_fail("%s", e.msg);
      else rc = 0;
    } else {
      for (int t = 0; t < o.n_texts; t++) {
        const int32_t *row = ids + (size_t)t * L;
        /* Id 0 is a real token ("!"): print through the last non-zero id (EOT), not to the first 0. */
        int last = L - 1;
        while (last > 0 && row[last] == 0) last--;
        for (int k = 0; k <= last; k++) printf(k ? " %d" : "%d", row[k]);
        printf("\n");
      }
      rc = 0;
    }
    free(ids);
  }
  if (o.model) cd_clip_free(&m);
  else cd_tokenizer_free(m.tokenizer);
done:
  cd_cli_opts_free(&o);
  return rc;
}
