/* Image encoders: PNG (lossless, DEFLATE from core/deflate) and baseline JPEG (the bytes
 * libjpeg-turbo writes through Pillow's Image.save for the same pixels, quality and chroma
 * subsampling: islow DCT, the Annex K tables scaled as IJG does, standard Huffman codes).
 * Pixels are 8-bit, row-major, interleaved: 1 channel = gray, 3 = RGB, (PNG only) 2 = gray +
 * alpha, 4 = RGBA. Encoded bytes go to a malloc'd buffer the caller frees. */
#ifndef CD_IMAGE_WRITE_H
#define CD_IMAGE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* level: DEFLATE effort 0..9 (6 is zlib's default). Each row gets the PNG filter with the
 * smallest sum of absolute residuals (libpng's heuristic). */
int cd_png_encode(const uint8_t *pixels, int width, int height, int channels, int level,
                  uint8_t **out, size_t *out_n, cd_error *e);

typedef enum {
  CD_JPEG_420 = 0, /* chroma halved both ways: Pillow's and libjpeg's default */
  CD_JPEG_422 = 1, /* chroma halved horizontally */
  CD_JPEG_444 = 2  /* full-resolution chroma */
} cd_jpeg_subsampling;

typedef struct {
  int quality;                     /* 1..100; Pillow's default is 75 */
  cd_jpeg_subsampling subsampling; /* ignored for 1-channel images */
} cd_jpeg_options;

int cd_jpeg_encode(const uint8_t *pixels, int width, int height, int channels,
                   const cd_jpeg_options *opt, uint8_t **out, size_t *out_n, cd_error *e);

/* Encodes by the path's extension: .png, or .jpg / .jpeg (quality 75, 4:2:0 unless opt is
 * given). Unknown extensions fail with a message naming the path. */
int cd_image_encode_as(const char *path, const uint8_t *pixels, int width, int height, int channels,
                       const cd_jpeg_options *opt, uint8_t **out, size_t *out_n, cd_error *e);
/* cd_image_encode_as, then an atomic write of the file. */
int cd_image_save(const char *path, const uint8_t *pixels, int width, int height, int channels,
                  const cd_jpeg_options *opt, cd_error *e);

#endif
