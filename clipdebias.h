/* clipdebias.h - the embedding API of the clipdebias engine.
 *
 * Link against the clipdebias_engine static library (CMake target) and include this header.
 * Every function that can fail returns 0 on success or -1, writing a one-line message that
 * names the file or input and the problem into err[0..errcap) (err may be NULL).
 * The caller owns every buffer it passes in; the model owns nothing of the caller's.
 *
 *   char err[512];
 *   clipdebias_model *m = clipdebias_load("ViT-B-32/", NULL, err, sizeof err);
 *   float feat[2 * 512];
 *   const char *texts[2] = {"a photo of a bird on water", "a photo of a bird on land"};
 *   clipdebias_encode_texts(m, texts, 2, 1, feat, err, sizeof err);
 *   clipdebias_free(m);
 */
#ifndef CLIPDEBIAS_H
#define CLIPDEBIAS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clipdebias_model clipdebias_model;

/* path: a Hugging Face CLIPModel folder, an OpenCLIP folder, or one .safetensors file in
 * OpenAI naming. vocab: NULL (look beside the weights), bpe_simple_vocab_16e6.txt.gz, or a
 * folder with vocab.json + merges.txt. */
clipdebias_model *clipdebias_load(const char *path, const char *vocab, char *err, size_t errcap);
void clipdebias_free(clipdebias_model *m);

int clipdebias_embed_dim(const clipdebias_model *m);
int clipdebias_image_size(const clipdebias_model *m);
int clipdebias_context_length(const clipdebias_model *m);

/* Upstream clip.tokenize of one text into out[context_length]. */
int clipdebias_tokenize(const clipdebias_model *m, const char *text, int truncate, int32_t *out,
                        char *err, size_t errcap);
/* tokens [n, context_length] -> features [n, embed_dim]; normalize = L2-normalise rows. */
int clipdebias_encode_tokens(const clipdebias_model *m, const int32_t *tokens, int n,
                             int normalize, float *features, char *err, size_t errcap);
int clipdebias_encode_texts(const clipdebias_model *m, const char *const *texts, int n,
                            int normalize, float *features, char *err, size_t errcap);
/* pixels [n, 3, S, S], preprocessed as upstream (S = clipdebias_image_size). */
int clipdebias_encode_pixels(const clipdebias_model *m, const float *pixels, int n,
                             int normalize, float *features, char *err, size_t errcap);
/* Decodes (JPEG/PNG/PPM), preprocesses exactly as upstream and encodes n image files. */
int clipdebias_encode_image_files(const clipdebias_model *m, const char *const *paths, int n,
                                  int normalize, float *features, char *err, size_t errcap);

#ifdef __cplusplus
}
#endif

#endif
