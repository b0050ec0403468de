/* Pieces of the JPEG decoder shared between data/jpeg*.c. Not a public interface.
 * The arithmetic follows libjpeg-turbo's defaults bit for bit (islow IDCT, fancy
 * upsampling, table-driven YCbCr->RGB) so that decoded pixels equal Pillow's. */
#ifndef CD_JPEG_INTERNAL_H
#define CD_JPEG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Zigzag position -> natural (row-major) index. 16 extra entries of 63 absorb run lengths
 * that overshoot the block in corrupt data, exactly as libjpeg's jpeg_natural_order does. */
extern const uint8_t cd_jpeg_natural_order[64 + 16];

/* libjpeg-turbo's islow IDCT as its x86-64 SIMD code computes it: coef and quant in natural
 * order, quant as the 16-bit multipliers it stores. Writes 8x8 samples at out (stride). */
void cd_jpeg_idct_islow(const int16_t *coef, const int16_t *quant, uint8_t *out, int stride);
/* The same, for a block whose coefficients other than coef0 (the DC) are all zero: the
 * result is one constant, written to all 64 samples. */
void cd_jpeg_idct_dc(int coef0, int quant0, uint8_t *out, int stride);
/* AVX2 version of cd_jpeg_idct_islow with identical output (data/jpeg_idct_avx2.c); only
 * call it when the CPU has AVX2. */
void cd_jpeg_idct_islow_avx2(const int16_t *coef, const int16_t *quant, uint8_t *out, int stride);

typedef void (*cd_jpeg_idct_fn)(const int16_t *coef, const int16_t *quant, uint8_t *out, int stride);
/* The fastest IDCT this CPU runs (cd_cpu_best_isa). */
cd_jpeg_idct_fn cd_jpeg_idct_select(void);

/* Upsampling method for one component, chosen as jdsample.c chooses it with
 * do_fancy_upsampling = TRUE. */
typedef enum {
  CD_UP_FULL,
  CD_UP_H2V1_FANCY,
  CD_UP_H2V1_BOX,
  CD_UP_H1V2_FANCY,
  CD_UP_H2V2_FANCY,
  CD_UP_H2V2_BOX,
  CD_UP_INT
} cd_jpeg_upmethod;

typedef struct {
  const uint8_t *plane; /* decoded samples, stride bytes per row */
  int stride;
  int cw, ch;           /* real (downsampled) width and height of the component */
  cd_jpeg_upmethod method;
  int hexp, vexp;       /* integral expansion factors (CD_UP_INT, box modes) */
} cd_jpeg_upcomp;

/* Colour transforms applied after upsampling. */
typedef enum {
  CD_CC_GRAY,  /* 1 channel copy */
  CD_CC_YCC,   /* YCbCr -> RGB (jdcolor.c ycc_rgb_convert) */
  CD_CC_RGB,   /* 3 channels copy */
  CD_CC_CMYK,  /* 4 channels, inverted as Pillow's "CMYK;I" raw mode does */
  CD_CC_YCCK   /* YCCK -> CMYK (jdcolor.c ycck_cmyk_convert), then inverted */
} cd_jpeg_colorxf;

/* AVX2 row kernels of data/jpeg_color.c with identical output (data/jpeg_color_avx2.c). */
void cd_jpeg_h2v1_fancy_avx2(const uint8_t *in, int cw, uint8_t *out);
void cd_jpeg_h2v2_fancy_avx2(const uint8_t *in0, const uint8_t *in1, int cw, uint8_t *out);
void cd_jpeg_ycc_rgb_avx2(const uint8_t *y, const uint8_t *cb, const uint8_t *cr, int width,
                          uint8_t *out);

/* Upsamples every component to width x height and converts colour into out
 * (width*height*nc bytes). Returns 0, or -1 if a scratch allocation failed. */
int cd_jpeg_upsample_convert(const cd_jpeg_upcomp *comps, int nc, cd_jpeg_colorxf xf,
                             int width, int height, uint8_t *out);

/* islow IDCT fixed-point constants (libjpeg's jidctint.c): FIX(x) = round(x * 2^CONST_BITS),
 * shared by the C and AVX2 IDCTs so both compute the same numbers. */
#define CONST_BITS 13
#define PASS1_BITS 2
#define F_0_298 2446
#define F_0_390 3196
#define F_0_541 4433
#define F_0_765 6270
#define F_0_899 7373
#define F_1_175 9633
#define F_1_501 12299
#define F_1_847 15137
#define F_1_961 16069
#define F_2_053 16819
#define F_2_562 20995
#define F_3_072 25172

#endif
