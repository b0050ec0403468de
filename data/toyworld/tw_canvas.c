/* Shapes are tested per sub-sample through one "inside" predicate per shape kind, so every
 * shape shares the same coverage and blending code. */
#include "data/toyworld/tw_canvas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/toyworld/tw_rng.h"

#define SUB 4 /* sub-samples per pixel side */

int cd_tw_canvas_init(cd_tw_canvas *c, int w, int h, cd_error *e) {
  c->w = w;
  c->h = h;
  c->rgb = cd_calloc((size_t)w * (size_t)h * 3, sizeof(float), e);
  return c->rgb ? 0 : -1;
}

void cd_tw_canvas_free(cd_tw_canvas *c) {
  free(c->rgb);
  c->rgb = NULL;
}

void cd_tw_canvas_to_rgb8(const cd_tw_canvas *c, uint8_t *out) {
  size_t n = (size_t)c->w * (size_t)c->h * 3;
  for (size_t i = 0; i < n; i++) {
    float v = c->rgb[i] * 255.0f + 0.5f;
    out[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

cd_tw_color cd_tw_hsv(float hue_deg, float sat, float val) {
  float h = fmodf(hue_deg, 360.0f);
  if (h < 0) h += 360.0f;
  float c = val * sat, x = c * (1 - fabsf(fmodf(h / 60.0f, 2.0f) - 1)), m = val - c;
  float r = 0, g = 0, b = 0;
  int k = (int)(h / 60.0f);
  if (k == 0) r = c, g = x;
  else if (k == 1) r = x, g = c;
  else if (k == 2) g = c, b = x;
  else if (k == 3) g = x, b = c;
  else if (k == 4) r = x, b = c;
  else r = c, b = x;
  return (cd_tw_color){r + m, g + m, b + m};
}

cd_tw_color cd_tw_mix(cd_tw_color a, cd_tw_color b, float t) {
  return (cd_tw_color){a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

cd_tw_color cd_tw_scale(cd_tw_color a, float k) { return (cd_tw_color){a.r * k, a.g * k, a.b * k}; }

/* ------------------------------------------------------------------------ coverage */

typedef int (*inside_fn)(const void *shape, float x, float y);

static void fill_shape(cd_tw_canvas *c, float x0, float y0, float x1, float y1, inside_fn inside,
                       const void *shape, cd_tw_color col, float alpha) {
  int px0 = (int)floorf(x0), py0 = (int)floorf(y0), px1 = (int)ceilf(x1), py1 = (int)ceilf(y1);
  if (px0 < 0) px0 = 0;
  if (py0 < 0) py0 = 0;
  if (px1 > c->w) px1 = c->w;
  if (py1 > c->h) py1 = c->h;
  for (int py = py0; py < py1; py++)
    for (int px = px0; px < px1; px++) {
      int hits = 0;
      for (int j = 0; j < SUB; j++)
        for (int i = 0; i < SUB; i++)
          hits += inside(shape, (float)px + (i + 0.5f) / SUB, (float)py + (j + 0.5f) / SUB);
      if (!hits) continue;
      float a = alpha * (float)hits / (SUB * SUB);
      float *p = c->rgb + ((size_t)py * (size_t)c->w + (size_t)px) * 3;
      p[0] += (col.r - p[0]) * a;
      p[1] += (col.g - p[1]) * a;
      p[2] += (col.b - p[2]) * a;
    }
}

typedef struct {
  float cx, cy, irx2, iry2, cs, sn;
} ellipse;

static int in_ellipse(const void *s, float x, float y) {
  const ellipse *e = s;
  float dx = x - e->cx, dy = y - e->cy, u = dx * e->cs + dy * e->sn, v = -dx * e->sn + dy * e->cs;
  return u * u * e->irx2 + v * v * e->iry2 <= 1.0f;
}

void cd_tw_fill_ellipse(cd_tw_canvas *c, float cx, float cy, float rx, float ry, float angle,
                        cd_tw_color col, float alpha) {
  if (rx <= 0 || ry <= 0) return;
  ellipse e = {cx, cy, 1.0f / (rx * rx), 1.0f / (ry * ry), cosf(angle), sinf(angle)};
  float r = rx > ry ? rx : ry;
  fill_shape(c, cx - r, cy - r, cx + r, cy + r, in_ellipse, &e, col, alpha);
}

typedef struct {
  float xy[32];
  int n;
} polygon;

static int in_polygon(const void *s, float x, float y) {
  const polygon *p = s;
  int in = 0;
  for (int i = 0, j = p->n - 1; i < p->n; j = i++) {
    float xi = p->xy[2 * i], yi = p->xy[2 * i + 1], xj = p->xy[2 * j], yj = p->xy[2 * j + 1];
    if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) in = !in;
  }
  return in;
}

void cd_tw_fill_polygon(cd_tw_canvas *c, const float *xy, int n, cd_tw_color col, float alpha) {
  if (n < 3 || n > 16) return;
  polygon p = {{0}, n};
  memcpy(p.xy, xy, sizeof(float) * 2 * (size_t)n);
  float x0 = xy[0], x1 = xy[0], y0 = xy[1], y1 = xy[1];
  for (int i = 1; i < n; i++) {
    x0 = fminf(x0, xy[2 * i]);
    x1 = fmaxf(x1, xy[2 * i]);
    y0 = fminf(y0, xy[2 * i + 1]);
    y1 = fmaxf(y1, xy[2 * i + 1]);
  }
  fill_shape(c, x0, y0, x1, y1, in_polygon, &p, col, alpha);
}

typedef struct {
  float x0, y0, dx, dy, inv_len2, r2;
} capsule;

static int in_capsule(const void *s, float x, float y) {
  const capsule *k = s;
  float px = x - k->x0, py = y - k->y0, t = (px * k->dx + py * k->dy) * k->inv_len2;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  float qx = px - t * k->dx, qy = py - t * k->dy;
  return qx * qx + qy * qy <= k->r2;
}

void cd_tw_stroke(cd_tw_canvas *c, float x0, float y0, float x1, float y1, float width,
                  cd_tw_color col, float alpha) {
  float dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy, r = width / 2;
  capsule k = {x0, y0, dx, dy, len2 > 0 ? 1.0f / len2 : 0, r * r};
  fill_shape(c, fminf(x0, x1) - r, fminf(y0, y1) - r, fmaxf(x0, x1) + r, fmaxf(y0, y1) + r, in_capsule, &k,
             col, alpha);
}

/* ------------------------------------------------------------------------ noise */

/* One multiply-xorshift round per lattice point: noise needs decorrelated corners, not a
 * full-strength hash. */
static float lattice(uint64_t seed, int x, int y) {
  uint64_t z = seed ^ ((uint64_t)(uint32_t)x * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)(uint32_t)y * 0xc2b2ae3d27d4eb4full);
  z = (z ^ (z >> 29)) * 0xbf58476d1ce4e5b9ull;
  return (float)((z ^ (z >> 32)) >> 40) * (1.0f / 16777216.0f);
}

float cd_tw_noise(uint64_t seed, float x, float y) {
  float fx = floorf(x), fy = floorf(y), tx = x - fx, ty = y - fy;
  int ix = (int)fx, iy = (int)fy;
  tx = tx * tx * (3 - 2 * tx); /* smoothstep: no visible lattice creases */
  ty = ty * ty * (3 - 2 * ty);
  float a = lattice(seed, ix, iy), b = lattice(seed, ix + 1, iy);
  float c = lattice(seed, ix, iy + 1), d = lattice(seed, ix + 1, iy + 1);
  return (a + (b - a) * tx) + ((c + (d - c) * tx) - (a + (b - a) * tx)) * ty;
}

float cd_tw_fbm(uint64_t seed, float x, float y, int octaves) {
  float sum = 0, weight = 1, total = 0;
  for (int o = 0; o < octaves; o++) {
    sum += weight * cd_tw_noise(seed + (uint64_t)o, x, y);
    total += weight;
    weight *= 0.5f;
    x *= 2;
    y *= 2;
  }
  return sum / total;
}
