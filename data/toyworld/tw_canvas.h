/* Drawing for the toy world: a float RGB canvas and anti-aliased shapes (ellipses,
 * polygons, thick strokes), each pixel blended by the fraction of its 4x4 sub-samples
 * the shape covers, plus value noise for textures. Colours are RGB in [0, 1]. */
#ifndef CD_TW_CANVAS_H
#define CD_TW_CANVAS_H

#include <stdint.h>

#include "core/error.h"

typedef struct {
  float r, g, b;
} cd_tw_color;

typedef struct {
  int w, h;
  float *rgb; /* [h][w][3] */
} cd_tw_canvas;

int cd_tw_canvas_init(cd_tw_canvas *c, int w, int h, cd_error *e);
void cd_tw_canvas_free(cd_tw_canvas *c);
/* Rounds to 8-bit RGB (clamped), out is [h][w][3]. */
void cd_tw_canvas_to_rgb8(const cd_tw_canvas *c, uint8_t *out);

cd_tw_color cd_tw_hsv(float hue_deg, float sat, float val);
cd_tw_color cd_tw_mix(cd_tw_color a, cd_tw_color b, float t); /* a + (b - a) t */
cd_tw_color cd_tw_scale(cd_tw_color a, float k);

/* Blends col into the canvas with opacity alpha over the shape. angle in radians. */
void cd_tw_fill_ellipse(cd_tw_canvas *c, float cx, float cy, float rx, float ry, float angle,
                        cd_tw_color col, float alpha);
/* Polygon with n <= 16 vertices xy[2n] (even-odd rule). */
void cd_tw_fill_polygon(cd_tw_canvas *c, const float *xy, int n, cd_tw_color col, float alpha);
/* Segment with round caps, `width` pixels thick. */
void cd_tw_stroke(cd_tw_canvas *c, float x0, float y0, float x1, float y1, float width,
                  cd_tw_color col, float alpha);

/* Smooth value noise in [0, 1) on a unit lattice, and its sum over octaves (each half the
 * scale and weight of the previous), normalised to [0, 1). */
float cd_tw_noise(uint64_t seed, float x, float y);
float cd_tw_fbm(uint64_t seed, float x, float y, int octaves);

#endif
