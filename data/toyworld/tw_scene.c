/* Backgrounds and clutter. The two places differ in what a glance sees (green and brown
 * textures with grass and trees versus blue water with waves); within a place, sky, light,
 * texture and horizon vary from picture to picture. */
#include "data/toyworld/tw_scene.h"

#include <math.h>

#include "data/toyworld/tw_bird.h"
#include "data/toyworld/tw_canvas.h"
#include "data/toyworld/tw_rng.h"

const char *cd_tw_kind_name(int kind) {
  static const char *NAMES[4] = {"meadow", "forest", "lake", "ocean"};
  return kind >= 0 && kind < 4 ? NAMES[kind] : "?";
}

static float rngf(cd_tw_rng *r, float lo, float hi) { return (float)cd_tw_range(r, lo, hi); }

static void put(cd_tw_canvas *c, int x, int y, cd_tw_color col) {
  float *p = c->rgb + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
  p[0] = col.r;
  p[1] = col.g;
  p[2] = col.b;
}

/* Sky above the horizon: a vertical gradient (clear, hazy or evening) and a few clouds. */
static void draw_sky(cd_tw_canvas *c, cd_tw_rng *r, int horizon) {
  static const float SKY[3][6] = {{212, 0.55f, 0.85f, 200, 0.20f, 0.97f},
                                  {210, 0.10f, 0.80f, 210, 0.05f, 0.92f},
                                  {225, 0.45f, 0.65f, 30, 0.45f, 0.95f}};
  const float *s = SKY[cd_tw_below(r, 3)];
  cd_tw_color top = cd_tw_hsv(s[0] + rngf(r, -8, 8), s[1], s[2]), low = cd_tw_hsv(s[3], s[4], s[5]);
  for (int y = 0; y < horizon && y < c->h; y++) {
    cd_tw_color col = cd_tw_mix(top, low, horizon > 1 ? (float)y / (float)(horizon - 1) : 1);
    for (int x = 0; x < c->w; x++) put(c, x, y, col);
  }
  for (int k = cd_tw_below(r, 4); k > 0; k--)
    cd_tw_fill_ellipse(c, rngf(r, 0, (float)c->w), rngf(r, 0, (float)horizon * 0.8f), rngf(r, 8, 24), rngf(r, 3, 7),
                       0, cd_tw_hsv(0, 0, 0.98f), rngf(r, 0.4f, 0.8f));
}

/* Ground: green and brown patches from two noise fields, darker with distance. */
static void fill_ground(cd_tw_canvas *c, cd_tw_rng *r, int horizon, int forest) {
  cd_tw_color green = cd_tw_hsv(rngf(r, 75, 125), rngf(r, 0.40f, 0.70f), rngf(r, 0.35f, 0.60f) * (forest ? 0.75f : 1));
  cd_tw_color brown = cd_tw_hsv(rngf(r, 20, 40), rngf(r, 0.40f, 0.65f), rngf(r, 0.30f, 0.50f));
  float patchy = rngf(r, 0.25f, 0.55f), scale = rngf(r, 14, 30);
  uint64_t s1 = cd_tw_next(r), s2 = cd_tw_next(r);
  for (int y = horizon; y < c->h; y++)
    for (int x = 0; x < c->w; x++) {
      float t = cd_tw_fbm(s1, (float)x / scale, (float)y / scale, 3);
      float m = t < patchy ? 1 : t < patchy + 0.1f ? (patchy + 0.1f - t) * 10 : 0;
      float shade = 0.75f + 0.5f * cd_tw_noise(s2, (float)x / 4, (float)y / 4);
      float depth = 0.8f + 0.2f * (float)(y - horizon) / (float)(c->h - horizon);
      put(c, x, y, cd_tw_scale(cd_tw_mix(green, brown, m), shade * depth));
    }
}

static void draw_grass(cd_tw_canvas *c, cd_tw_rng *r, int horizon, int n) {
  for (int k = 0; k < n; k++) {
    float x = rngf(r, 0, (float)c->w), y = rngf(r, (float)horizon + 2, (float)c->h);
    float near = (y - (float)horizon) / (float)(c->h - horizon), len = 2 + 7 * near;
    cd_tw_color col = cd_tw_hsv(rngf(r, 70, 130), rngf(r, 0.4f, 0.8f), rngf(r, 0.25f, 0.75f));
    cd_tw_stroke(c, x, y, x + rngf(r, -2, 2), y - len, 0.8f + near, col, 0.8f);
  }
}

static void draw_trees(cd_tw_canvas *c, cd_tw_rng *r, int horizon) {
  for (int k = 4 + cd_tw_below(r, 8); k > 0; k--) {
    float x = rngf(r, 0, (float)c->w), base = (float)horizon + rngf(r, 0, 10), hgt = rngf(r, 18, 45);
    cd_tw_stroke(c, x, base, x, base - hgt, rngf(r, 2, 4), cd_tw_hsv(rngf(r, 20, 35), 0.6f, rngf(r, 0.2f, 0.35f)), 1);
    cd_tw_color leaf = cd_tw_hsv(rngf(r, 85, 135), rngf(r, 0.5f, 0.8f), rngf(r, 0.2f, 0.45f));
    for (int j = 0; j < 3; j++)
      cd_tw_fill_ellipse(c, x + rngf(r, -7, 7), base - hgt + rngf(r, -6, 6), rngf(r, 6, 12), rngf(r, 6, 11), 0,
                         cd_tw_scale(leaf, rngf(r, 0.85f, 1.15f)), 1);
  }
}

/* Water: blue with horizontally stretched texture, then wave crests and troughs. */
static void fill_water(cd_tw_canvas *c, cd_tw_rng *r, int horizon, int ocean) {
  cd_tw_color deep = cd_tw_hsv(rngf(r, 195, 225), rngf(r, 0.50f, 0.80f), rngf(r, 0.35f, 0.55f) * (ocean ? 0.85f : 1));
  cd_tw_color light = cd_tw_hsv(rngf(r, 185, 205), rngf(r, 0.30f, 0.55f), rngf(r, 0.65f, 0.85f));
  uint64_t s1 = cd_tw_next(r);
  for (int y = horizon; y < c->h; y++)
    for (int x = 0; x < c->w; x++) {
      float t = cd_tw_fbm(s1, (float)x / 30, (float)y / 4, 3);
      float depth = (float)(y - horizon) / (float)(c->h - horizon);
      put(c, x, y, cd_tw_mix(light, deep, 0.3f + 0.5f * depth + 0.4f * (t - 0.5f)));
    }
  if (!ocean) { /* a far shore: a thin dark band along the horizon */
    int band = 2 + cd_tw_below(r, 4);
    cd_tw_color shore = cd_tw_hsv(rngf(r, 150, 200), 0.25f, rngf(r, 0.25f, 0.4f));
    for (int y = horizon; y < horizon + band && y < c->h; y++)
      for (int x = 0; x < c->w; x++) put(c, x, y, shore);
  }
}

static void draw_waves(cd_tw_canvas *c, cd_tw_rng *r, int horizon, int n) {
  for (int k = 0; k < n; k++) {
    float y = rngf(r, (float)horizon + 3, (float)c->h), x = rngf(r, -10, (float)c->w);
    float near = (y - (float)horizon) / (float)(c->h - horizon), len = 6 + 22 * near, amp = 0.5f + 1.5f * near;
    int crest = cd_tw_chance(r, 0.6);
    cd_tw_color col = crest ? cd_tw_hsv(195, rngf(r, 0.05f, 0.3f), rngf(r, 0.85f, 1)) : cd_tw_hsv(215, 0.7f, 0.3f);
    float px = x, py = y;
    for (int s = 1; s <= 4; s++) { /* a shallow arc in four segments */
      float qx = x + len * (float)s / 4, qy = y - amp * sinf(3.14159f * (float)s / 4);
      cd_tw_stroke(c, px, py, qx, qy, 0.7f + near, col, crest ? 0.7f : 0.5f);
      px = qx;
      py = qy;
    }
  }
}

/* Clutter of neither place nor class. */
static void draw_clutter(cd_tw_canvas *c, cd_tw_rng *r, int horizon, int n, float size) {
  for (int k = 0; k < n; k++) {
    float x = rngf(r, 0, (float)c->w), y = rngf(r, (float)horizon, (float)c->h), s = size * rngf(r, 0.6f, 1.4f);
    switch (cd_tw_below(r, 5)) {
      case 0: /* stone */
        cd_tw_fill_ellipse(c, x, y, 1.6f * s, s, rngf(r, -0.4f, 0.4f), cd_tw_hsv(rngf(r, 20, 60), 0.1f, rngf(r, 0.35f, 0.7f)), 1);
        break;
      case 1: /* stick */
        cd_tw_stroke(c, x, y, x + rngf(r, -4, 4) * s, y + rngf(r, -1.5f, 1.5f) * s, 0.25f * s,
                     cd_tw_hsv(28, 0.6f, rngf(r, 0.25f, 0.45f)), 1);
        break;
      case 2: /* leaf */
        cd_tw_fill_ellipse(c, x, y, s, 0.45f * s, rngf(r, 0, 3.14f), cd_tw_hsv(rngf(r, 10, 120), 0.7f, rngf(r, 0.5f, 0.9f)), 1);
        break;
      case 3: /* flower */
        for (int p = 0; p < 5; p++)
          cd_tw_fill_ellipse(c, x + 0.5f * s * cosf((float)p * 1.2566f), y + 0.5f * s * sinf((float)p * 1.2566f), 0.4f * s,
                             0.4f * s, 0, cd_tw_hsv(rngf(r, 0, 360), 0.6f, 0.95f), 1);
        cd_tw_fill_ellipse(c, x, y, 0.3f * s, 0.3f * s, 0, cd_tw_hsv(50, 0.9f, 0.9f), 1);
        break;
      default: /* insect */
        cd_tw_fill_ellipse(c, x, rngf(r, 0, (float)c->h), 0.5f * s, 0.3f * s, rngf(r, 0, 3.14f), cd_tw_hsv(0, 0, 0.1f), 1);
    }
  }
}

/* Camera: exposure and contrast vary, and every pixel gets a little sensor noise. */
static void develop(cd_tw_canvas *c, cd_tw_rng *r) {
  float gain = rngf(r, 0.85f, 1.15f), contrast = rngf(r, 0.85f, 1.15f), sigma = rngf(r, 0.005f, 0.025f);
  size_t n = (size_t)c->w * (size_t)c->h * 3;
  for (size_t i = 0; i < n; i++)
    c->rgb[i] = (0.5f + (c->rgb[i] * gain - 0.5f) * contrast) + sigma * (float)cd_tw_normal(r);
}

int cd_tw_render(const cd_tw_scene *s, uint8_t *rgb, cd_error *e) {
  cd_tw_canvas c;
  if (s->w < 16 || s->h < 16) return cd_fail(e, "toy world: image %dx%d is too small", s->w, s->h);
  if (cd_tw_canvas_init(&c, s->w, s->h, e)) return -1;
  cd_tw_rng r;
  cd_tw_rng_init(&r, s->seed, 0);
  int horizon = (int)((float)s->h * rngf(&r, 0.15f, 0.40f));
  draw_sky(&c, &r, horizon);
  if (cd_tw_place_of(s->kind)) {
    fill_water(&c, &r, horizon, s->kind == CD_TW_OCEAN);
    draw_waves(&c, &r, horizon, s->kind == CD_TW_OCEAN ? 40 + cd_tw_below(&r, 40) : 10 + cd_tw_below(&r, 20));
  } else {
    fill_ground(&c, &r, horizon, s->kind == CD_TW_FOREST);
    if (s->kind == CD_TW_FOREST) draw_trees(&c, &r, horizon);
    draw_grass(&c, &r, horizon, s->kind == CD_TW_FOREST ? 30 + cd_tw_below(&r, 40) : 60 + cd_tw_below(&r, 80));
  }
  float box = (float)(s->w < s->h ? s->w : s->h);
  draw_clutter(&c, &r, horizon, cd_tw_below(&r, 5), box * 0.035f);
  cd_tw_bird bird;
  cd_tw_bird_sample(&r, s->y, s->species, s->shape_gap, s->w, s->h, box, &bird);
  cd_tw_bird_draw(&c, &bird);
  draw_clutter(&c, &r, horizon, cd_tw_below(&r, 3), box * 0.025f);
  develop(&c, &r);
  cd_tw_canvas_to_rgb8(&c, rgb);
  cd_tw_canvas_free(&c);
  return 0;
}
