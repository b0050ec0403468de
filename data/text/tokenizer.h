/* CLIP's byte-level BPE tokenizer, exactly OpenAI's simple_tokenizer.py:
 * ftfy-free basic_clean (html unescape twice, strip), whitespace collapse, lower-case,
 * the split regex  <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 * byte-to-unicode mapping, BPE with "</w>" end-of-word marks, SOT 49406 / EOT 49407.
 * Loads from the gzip merges file (bpe_simple_vocab_16e6.txt.gz, our own inflate) or from
 * Hugging Face vocab.json + merges.txt. */
#ifndef CD_TOKENIZER_H
#define CD_TOKENIZER_H

#include <stdint.h>

#include "core/error.h"

#define CD_SOT 49406
#define CD_EOT 49407
#define CD_CONTEXT 77

typedef struct cd_tokenizer cd_tokenizer;

cd_tokenizer *cd_tokenizer_load_bpe_gz(const char *path, cd_error *e);
cd_tokenizer *cd_tokenizer_load_hf(const char *vocab_json, const char *merges_txt, cd_error *e);
void cd_tokenizer_free(cd_tokenizer *t);
int cd_tokenizer_vocab_size(const cd_tokenizer *t);

/* BPE ids of text without SOT/EOT. *ids is malloc'd (caller frees). */
int cd_tokenizer_encode(const cd_tokenizer *t, const char *text, int32_t **ids, int *n, cd_error *e);
/* Upstream clip.tokenize for one text: SOT ids EOT zero-padded to ctx (out has ctx entries).
 * Too long: with truncate, keep the first ctx-1 tokens... and put EOT last (upstream
 * truncate=True); without, fail with upstream's message naming the text. */
int cd_tokenize(const cd_tokenizer *t, const char *text, int ctx, int truncate, int32_t *out,
                cd_error *e);
/* Text of one id (for debugging / `tokenize --show`); NULL if out of range. */
const char *cd_tokenizer_id_to_str(const cd_tokenizer *t, int32_t id);

#endif
