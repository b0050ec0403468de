/* Decoded images, as Pillow's Image.open would hold them before any conversion.
 * Decoders keep the file's own mode (grayscale stays 1 channel, palette stays indexed,
 * CMYK stays 4 channels) because CLIP preprocessing resizes in the image's own mode and
 * converts to RGB only afterwards: converting first changes the pixels. */
#ifndef CD_IMAGE_H
#define CD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum {
  CD_MODE_L,     /* 8-bit gray, 1 channel */
  CD_MODE_LA,    /* gray + alpha, 2 channels */
  CD_MODE_RGB,   /* 3 channels */
  CD_MODE_RGBA,  /* 4 channels, straight (non-premultiplied) alpha */
  CD_MODE_CMYK,  /* 4 channels, as Pillow holds Adobe JPEG CMYK (already un-inverted) */
  CD_MODE_P,     /* 1 channel of palette indices; palette is RGBA */
  CD_MODE_I16,   /* 16-bit gray (PNG), 1 channel of uint16 in pixels16 */
  CD_MODE_RGB16, /* 16-bit RGB(A) PNG, reduced as Pillow does when converting */
  CD_MODE_1      /* bilevel (1-bit gray PNG), 1 channel of 0/255; resized NEAREST like Pillow */
} cd_image_mode;

typedef struct {
  int width, height;
  int channels;            /* samples per pixel in pixels[] */
  cd_image_mode mode;
  uint8_t *pixels;         /* row-major, width*height*channels bytes (8-bit modes) */
  uint16_t *pixels16;      /* for 16-bit modes (width*height*channels), else NULL */
  uint8_t palette[256 * 4];/* RGBA, for CD_MODE_P */
  int palette_size;
  int has_palette_alpha;   /* P image with tRNS */
} cd_image;

void cd_image_free(cd_image *img);

/* Limits that keep hostile files from allocating unbounded memory. */
#define CD_IMAGE_MAX_DIM 30000
#define CD_IMAGE_MAX_PIXELS ((size_t)200 * 1000 * 1000)

/* Decoders: `what` names the file in messages. 0 on success, -1 with a message. */
int cd_jpeg_decode(const uint8_t *data, size_t size, const char *what, cd_image *out, cd_error *e);
int cd_png_decode(const uint8_t *data, size_t size, const char *what, cd_image *out, cd_error *e);
int cd_ppm_decode(const uint8_t *data, size_t size, const char *what, cd_image *out, cd_error *e);

/* Sniffs the format from the bytes (not the extension) and decodes. Recognises HTML/XML/text
 * saved under an image name and says so. */
int cd_image_decode(const uint8_t *data, size_t size, const char *what, cd_image *out, cd_error *e);
int cd_image_load(const char *path, cd_image *out, cd_error *e);

/* True when the bytes are markup (HTML/XML/SVG) after an optional BOM and whitespace: a
 * download error page saved under an image or annotation file name. */
int cd_looks_like_html(const uint8_t *p, size_t n);

/* CLIP preprocessing, exactly upstream: Resize(S, bicubic) in the image's own mode (Pillow's
 * algorithm), CenterCrop(S) with torchvision rounding, convert("RGB"), /255, normalise with
 * the CLIP mean/std. out is float32 [3,S,S]. */
int cd_clip_preprocess(const cd_image *img, int S, float *out, cd_error *e);

#endif
