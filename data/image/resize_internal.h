/* Kernels of data/resize.c shared with its SIMD versions. Not a public interface. */
#ifndef CD_RESIZE_INTERNAL_H
#define CD_RESIZE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Fixed-point precision of Pillow's 8-bit resampling coefficients. */
#define CD_RESIZE_PRECISION_BITS (32 - 8 - 2)

/* AVX2 passes (data/resize_avx2.c), same sums and clipping as the C ones in resize.c.
 * Horizontal: rows [y0, y0 + rows) of src (w pixels of c channels, 3 or 4; src_bytes is the
 * size of the whole src buffer, which bounds its reads) into dst (ow pixels per row).
 * bounds[2 * xx] = first input pixel, bounds[2 * xx + 1] = taps; kk holds ksize fixed-point
 * coefficients per output pixel, zero past the taps. Returns -1 if scratch memory ran out
 * (nothing useful was written). */
int cd_resize_horiz_u8_avx2(const uint8_t *src, size_t src_bytes, int w, int c, int y0, int rows,
                            uint8_t *dst, int ow, const int *bounds, int ksize, const int32_t *kk);
/* Vertical: output row yy of width stride bytes is the sum of src rows bounds[2 * yy] + y
 * (y < bounds[2 * yy + 1]) weighted by kk[yy * ksize + y]. */
void cd_resize_vert_u8_avx2(const uint8_t *src, size_t stride, uint8_t *dst, int oh,
                            const int *bounds, int ksize, const int32_t *kk);

#endif
