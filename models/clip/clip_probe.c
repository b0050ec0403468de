/* How far a reduced precision moves the features: the model is loaded at float32 and at the
 * asked precision, both encode the same probe inputs, and the cosine of each pair of
 * feature rows is reported. The probe images are smooth synthetic patterns (gradients and
 * waves per channel, normalised like real pixels), the probe texts a few prompts; a trained
 * checkpoint on real data is the judge that matters, this is the quick look. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/clip/clip.h"

enum { PROBE_IMAGES = 4, PROBE_TEXTS = 4 };

static const char *const probe_texts[PROBE_TEXTS] = {
    "a photo of a bird on water.", "a photo of a bird on land.", "a close-up photo of a dog.",
    "a blurry photo of a city at night."};

/* Image i: per channel a blend of a diagonal gradient and a wave, in [0, 1], then the CLIP
 * mean/std normalisation. */
static void probe_pixels(float *px, int S) {
  static const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f}, std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
  for (int i = 0; i < PROBE_IMAGES; i++)
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
          float u = (float)x / S, v = (float)y / S, f = 2.0f + 3.0f * i + c;
          float val = 0.5f * (u * (1 - v) + (i & 1 ? v : u)) + 0.25f * (1.0f + sinf(6.2831853f * f * (u + 0.5f * v)));
          px[(((size_t)i * 3 + c) * S + y) * S + x] = (val * 0.8f - mean[c]) / std[c];
        }
}

static void cosines(const float *a, const float *b, int n, int D, double *min, double *mean) {
  *min = 1.0, *mean = 0.0;
  for (int i = 0; i < n; i++) {
    double ab = 0, aa = 0, bb = 0;
    for (int d = 0; d < D; d++) {
      ab += (double)a[i * D + d] * b[i * D + d];
      aa += (double)a[i * D + d] * a[i * D + d];
      bb += (double)b[i * D + d] * b[i * D + d];
    }
    double c = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
    if (c < *min) *min = c;
    *mean += c / n;
  }
}

/* Encodes the probe with the model at `path` loaded at precision p: image features into img
 * (PROBE_IMAGES x E), text features into txt (PROBE_TEXTS x E, when the model has a
 * tokenizer; *have_text says). */
static int encode_probe(const char *path, const cd_clip_load_opts *base, cd_precision p, float **img,
                        float **txt, int *have_text, int *E, cd_error *e) {
  cd_clip m;
  cd_clip_load_opts o = *base;
  o.towers = CD_TOWER_BOTH;
  o.pack_text = 1;
  o.precision = p;
  if (cd_clip_load(&m, path, &o, e)) return -1;
  int S = m.vision.image_size, rc = -1;
  *E = m.embed_dim;
  float *px = cd_malloc(sizeof(float) * PROBE_IMAGES * 3 * (size_t)S * S, e);
  int32_t *tok = cd_malloc(sizeof(int32_t) * PROBE_TEXTS * (size_t)m.text.context, e);
  *img = cd_malloc(sizeof(float) * PROBE_IMAGES * (size_t)*E, e);
  *txt = cd_malloc(sizeof(float) * PROBE_TEXTS * (size_t)*E, e);
  if (!px || !tok || !*img || !*txt) goto done;
  probe_pixels(px, S);
  if (cd_clip_encode_image(&m, px, PROBE_IMAGES, *img, e)) goto done;
  *have_text = m.tokenizer != NULL;
  for (int i = 0; *have_text && i < PROBE_TEXTS; i++)
    if (cd_tokenize(m.tokenizer, probe_texts[i], m.text.context, 1, tok + (size_t)i * m.text.context, e)) goto done;
  if (*have_text && cd_clip_encode_text(&m, tok, PROBE_TEXTS, *txt, e)) goto done;
  rc = 0;
done:
  free(px);
  free(tok);
  cd_clip_free(&m);
  return rc;
}

int cd_clip_precision_probe(const char *path, const cd_clip_load_opts *opts, cd_precision p,
                            cd_precision_report *r, cd_error *e) {
  memset(r, 0, sizeof *r);
  cd_clip_load_opts base = opts ? *opts : (cd_clip_load_opts){0};
  float *img0 = NULL, *txt0 = NULL, *img1 = NULL, *txt1 = NULL;
  int E0 = 0, E1 = 0, t0 = 0, t1 = 0, rc = -1;
  if (encode_probe(path, &base, CD_PREC_FP32, &img0, &txt0, &t0, &E0, e) ||
      encode_probe(path, &base, p, &img1, &txt1, &t1, &E1, e))
    goto done;
  r->images = PROBE_IMAGES;
  cosines(img0, img1, PROBE_IMAGES, E0, &r->image_cos_min, &r->image_cos_mean);
  if (t0 && t1) {
    r->texts = PROBE_TEXTS;
    cosines(txt0, txt1, PROBE_TEXTS, E0, &r->text_cos_min, &r->text_cos_mean);
  }
  rc = 0;
done:
  free(img0), free(txt0), free(img1), free(txt1);
  return rc;
}
