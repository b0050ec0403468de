/* Tokenizer against upstream clip.tokenize: ../shared/reference/tiny/golden/texts.json and
 * tokens.npy ([N,77] int32), with both loaders (the gzip merges file and the Hugging Face
 * vocab.json + merges.txt). Every id must be identical. Skips (77) without the reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/npy.h"
#include "data/text/tokenizer.h"
#include "tests/testutil.h"

static void compare(const char *name, const cd_tokenizer *t, const cd_json *texts, const cd_array *want) {
  size_t rows_ok = 0;
  for (size_t i = 0; i < texts->n; i++) {
    int32_t got[CD_CONTEXT];
    cd_error e;
    if (cd_tokenize(t, texts->items[i].str, CD_CONTEXT, 1, got, &e)) {
      CHECK(0, "%s: text %zu: %s", name, i, e.msg);
      continue;
    }
    const int32_t *w = (const int32_t *)want->data + i * CD_CONTEXT;
    int diff = 0;
    for (int k = 0; k < CD_CONTEXT; k++) diff += got[k] != w[k];
    if (diff) {
      fprintf(stderr, "  %s text %zu \"%s\":\n    got ", name, i, texts->items[i].str);
      for (int k = 0; k < 16; k++) fprintf(stderr, "%d ", got[k]);
      fprintf(stderr, "\n    want");
      for (int k = 0; k < 16; k++) fprintf(stderr, " %d", w[k]);
      fprintf(stderr, "\n");
    }
    CHECK(diff == 0, "%s: text %zu differs in %d of 77 ids", name, i, diff);
    rows_ok += diff == 0;
  }
  printf("  %-10s %zu/%zu golden texts identical (77 ids each)\n", name, rows_ok, texts->n);
}

int main(void) {
  const char *ref = cd_test_require_reference();
  char tj[4096], tn[4096], vj[4096], mt[4096];
  snprintf(tj, sizeof tj, "%s/tiny/golden/texts.json", ref);
  snprintf(tn, sizeof tn, "%s/tiny/golden/tokens.npy", ref);
  snprintf(vj, sizeof vj, "%s/tiny/vocab.json", ref);
  snprintf(mt, sizeof mt, "%s/tiny/merges.txt", ref);
  const char *gz = "../shared/clip/bpe_simple_vocab_16e6.txt.gz";
  cd_error e;
  cd_json_doc *doc = cd_json_parse_file(tj, 1 << 20, &e);
  CHECK(doc != NULL, "%s", e.msg);
  cd_array want = {0};
  int rc = cd_npy_load(tn, &want, &e);
  CHECK(rc == 0, "%s", e.msg);
  if (!doc || rc) return cd_test_finish("test_tokenizer_reference");
  const cd_json *texts = cd_json_root(doc);
  CHECK(texts->type == CD_JSON_ARRAY && want.dtype == CD_I32 && want.ndim == 2 &&
            want.shape[0] == (int64_t)texts->n && want.shape[1] == CD_CONTEXT,
        "unexpected golden shapes");
  if (cd_test_failures) return cd_test_finish("test_tokenizer_reference");

  cd_tokenizer *hf = cd_tokenizer_load_hf(vj, mt, &e);
  CHECK(hf != NULL, "%s", e.msg);
  if (hf) {
    CHECK(cd_tokenizer_vocab_size(hf) == 49408, "HF vocab size %d", cd_tokenizer_vocab_size(hf));
    compare("vocab.json", hf, texts, &want);
  }
  if (cd_file_exists(gz)) {
    cd_tokenizer *g = cd_tokenizer_load_bpe_gz(gz, &e);
    CHECK(g != NULL, "%s", e.msg);
    if (g) {
      CHECK(cd_tokenizer_vocab_size(g) == 49408, "gz vocab size %d", cd_tokenizer_vocab_size(g));
      compare("bpe.gz", g, texts, &want);
      /* Both loaders must agree on every id's text. */
      int same = hf != NULL;
      for (int id = 0; hf && id < 49408 && same; id++)
        same = !strcmp(cd_tokenizer_id_to_str(g, id), cd_tokenizer_id_to_str(hf, id));
      CHECK(same, "gz and HF vocabularies differ");
      printf("  vocabularies of both loaders identical: %s\n", same ? "yes" : "no");
      cd_tokenizer_free(g);
    }
  } else {
    printf("  (%s absent: gz loader not compared)\n", gz);
  }
  cd_tokenizer_free(hf);
  cd_array_free(&want);
  cd_json_free(doc);
  return cd_test_finish("test_tokenizer_reference");
}
