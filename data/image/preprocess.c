/* CLIP preprocessing as upstream composes it: Resize(S, BICUBIC) on the PIL image in its own
 * mode, CenterCrop(S), convert("RGB"), ToTensor (float32 x / 255), Normalize (float32
 * (x - mean) / std). Each float step is one IEEE operation in the same order as PyTorch's,
 * so the result is bit-identical for the same 8-bit pixels. */
#include <stdlib.h>
#include <string.h>

#include "data/image/image.h"
#include "data/image/resize.h"

/* Pillow's cmyk2rgb: nk - c * nk / 255 (MULDIV255), clamped. */
static uint8_t cmyk_channel(unsigned c, unsigned k) {
  unsigned nk = 255 - k, t = c * nk + 128;
  int v = (int)nk - (int)(((t >> 8) + t) >> 8);
  return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Pixel (x, y) of img after Pillow's convert("RGB"). */
static void to_rgb(const cd_image *img, size_t x, size_t y, uint8_t rgb[3]) {
  size_t at = y * (size_t)img->width + x;
  if (img->mode == CD_MODE_I16) {
    unsigned v = img->pixels16[at];
    rgb[0] = rgb[1] = rgb[2] = (uint8_t)(v > 255 ? 255 : v);
    return;
  }
  const uint8_t *p = img->pixels + at * img->channels;
  switch (img->mode) {
    case CD_MODE_L:
    case CD_MODE_1:
    case CD_MODE_LA: rgb[0] = rgb[1] = rgb[2] = p[0]; break;
    case CD_MODE_P: memcpy(rgb, img->palette + 4 * (size_t)p[0], 3); break;
    case CD_MODE_CMYK:
      for (int c = 0; c < 3; c++) rgb[c] = cmyk_channel(p[c], p[3]);
      break;
    default: memcpy(rgb, p, 3); break; /* RGB, RGBA (alpha dropped) */
  }
}

/* torchvision center_crop offset: int(round((size - S) / 2.0)), Python rounds half to even. */
static int crop_offset(int size, int S) {
  int d = size - S;
  if (d % 2 == 0) return d / 2;
  int lo = (d - 1) / 2; /* d/2 = lo + 0.5: pick the even neighbour */
  return lo % 2 == 0 ? lo : lo + 1;
}

int cd_clip_preprocess(const cd_image *img, int S, float *out, cd_error *e) {
  if (S < 1 || S > 4096) return cd_fail(e, "preprocess: image size %d is out of range", S);
  if (!img || img->width < 1 || img->height < 1 || (!img->pixels && !img->pixels16))
    return cd_fail(e, "preprocess: empty image");
  if (img->mode == CD_MODE_P && img->palette_size < 1)
    return cd_fail(e, "preprocess: palette image without a palette");
  if (img->mode == CD_MODE_RGB16) return cd_fail(e, "preprocess: 16-bit RGB images are not supported");
  int ow, oh;
  cd_clip_resize_size(img->width, img->height, S, &ow, &oh);
  cd_image resized;
  const cd_image *src = img;
  /* torchvision (and Image.resize) return the image untouched when the size already fits. */
  if (ow != img->width || oh != img->height) {
    if (cd_image_resize(img, ow, oh, &resized, e) != 0) return -1;
    src = &resized;
  }
  static const double mean_d[3] = {0.48145466, 0.4578275, 0.40821073};
  static const double std_d[3] = {0.26862954, 0.26130258, 0.27577711};
  float mean[3], stdv[3], lut[3][256];
  for (int c = 0; c < 3; c++) {
    mean[c] = (float)mean_d[c];
    stdv[c] = (float)std_d[c];
    for (int v = 0; v < 256; v++) {
      float x = (float)v / 255.0f; /* ToTensor: one float32 division */
      lut[c][v] = (x - mean[c]) / stdv[c];
    }
  }
  int top = crop_offset(src->height, S), left = crop_offset(src->width, S);
  size_t plane = (size_t)S * S;
  int inside = top >= 0 && left >= 0 && top + S <= src->height && left + S <= src->width;
  if (inside && src->pixels && (src->mode == CD_MODE_RGB || src->mode == CD_MODE_RGBA)) {
    /* The common case without per-pixel mode dispatch: same table, same floats. */
    int ch = src->channels;
    for (int y = 0; y < S; y++) {
      const uint8_t *row = src->pixels + ((size_t)(y + top) * src->width + left) * ch;
      float *o0 = out + (size_t)y * S, *o1 = o0 + plane, *o2 = o1 + plane;
      for (int x = 0; x < S; x++) {
        o0[x] = lut[0][row[x * ch]];
        o1[x] = lut[1][row[x * ch + 1]];
        o2[x] = lut[2][row[x * ch + 2]];
      }
    }
    if (src == &resized) cd_image_free(&resized);
    return 0;
  }
  for (int y = 0; y < S; y++) {
    for (int x = 0; x < S; x++) {
      int sy = y + top, sx = x + left;
      uint8_t rgb[3] = {0, 0, 0}; /* zero padding if the image were smaller than S */
      if (sy >= 0 && sy < src->height && sx >= 0 && sx < src->width) to_rgb(src, sx, sy, rgb);
      for (int c = 0; c < 3; c++) out[c * plane + (size_t)y * S + x] = lut[c][rgb[c]];
    }
  }
  if (src == &resized) cd_image_free(&resized);
  return 0;
}
