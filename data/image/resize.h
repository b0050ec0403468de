/* Resampling exactly as Pillow 9.4's Image.resize does it, so that CLIP preprocessing gives
 * the same bytes as upstream (torchvision Resize on a PIL image calls Image.resize):
 * separable convolution with coefficients computed in double and, for 8-bit images, rounded
 * to 22-bit fixed point; horizontal pass first (only the rows the vertical pass needs),
 * then vertical; a pass is skipped when its size does not change. */
#ifndef CD_RESIZE_H
#define CD_RESIZE_H

#include <stdint.h>

#include "core/error.h"
#include "data/image/image.h"

/* Bicubic (a = -0.5) resample of an 8-bit image with c interleaved channels (1..4), each
 * channel independently: Pillow's ImagingResample with the 8bpc kernels. */
int cd_resize_bicubic_u8(const uint8_t *src, int w, int h, int c, uint8_t *dst, int ow, int oh,
                         cd_error *e);
/* Bicubic resample of a 32-bit integer gray image (Pillow mode "I"): double accumulation,
 * rounded half away from zero, no clamping (ringing may leave 0..65535). */
int cd_resize_bicubic_i32(const int32_t *src, int w, int h, int32_t *dst, int ow, int oh,
                          cd_error *e);
/* Nearest neighbour, as Pillow resizes "P" and "1" images whatever filter is asked for. */
int cd_resize_nearest_u8(const uint8_t *src, int w, int h, int c, uint8_t *dst, int ow, int oh,
                         cd_error *e);

/* Image.resize((ow, oh), BICUBIC) in the image's own mode: RGBA and LA are premultiplied
 * around the resample (Pillow converts to RGBa / La and back), P and 1 use nearest, I16 goes
 * through the integer path and is clamped to 0..65535. dst is a new image (free it). */
int cd_image_resize(const cd_image *src, int ow, int oh, cd_image *dst, cd_error *e);

/* torchvision Resize(S) output size for an int size: short side -> S, long side ->
 * int(S * long / short). */
void cd_clip_resize_size(int w, int h, int S, int *ow, int *oh);

#endif
