/* Bird shapes. Parts are laid out in a local frame (u forward along the body, v up, unit =
 * body length) and mapped to the image by the bird's position, length, tilt and facing. */
#include "data/toyworld/tw_bird.h"

#include <math.h>

#define DEG (3.14159265f / 180.0f)

typedef struct {
  float lo, hi;
} range;

typedef struct {
  range aspect, neck, head, beak_len, beak_width, beak_droop, tail_len, tail_spread, tail_lift, leg_len;
} shape_ranges;

/* Per class: {landbird, waterbird}: round, short-necked and short-legged with a stubby beak
 * and a raised fan tail, against slender, long-necked and long-legged with a long thin beak
 * and a short level tail. */
static const shape_ranges CLASS_SHAPE[2] = {
    {.aspect = {0.60f, 0.80f}, .neck = {0.00f, 0.05f}, .head = {0.17f, 0.22f},
     .beak_len = {0.06f, 0.12f}, .beak_width = {0.10f, 0.14f}, .beak_droop = {-0.05f, 0.10f},
     .tail_len = {0.34f, 0.46f}, .tail_spread = {0.08f, 0.13f}, .tail_lift = {30, 55},
     .leg_len = {0.08f, 0.16f}},
    {.aspect = {0.36f, 0.50f}, .neck = {0.26f, 0.42f}, .head = {0.12f, 0.16f},
     .beak_len = {0.30f, 0.46f}, .beak_width = {0.05f, 0.08f}, .beak_droop = {-0.05f, 0.10f},
     .tail_len = {0.10f, 0.18f}, .tail_spread = {0.02f, 0.04f}, .tail_lift = {-5, 10},
     .leg_len = {0.24f, 0.38f}},
};

typedef struct {
  const char *word;    /* plumage colour word, used in captions */
  float hue, sat, val; /* body colour */
  float belly_mix;     /* towards cream (0) ... towards body (1) */
  float wing_val;      /* wing brightness relative to the body */
} plumage;

static const plumage PLUMAGE[CD_TW_N_SPECIES] = {
    {"rusty", 22, 0.70f, 0.70f, 0.3f, 0.70f},  {"slate", 215, 0.20f, 0.50f, 0.5f, 0.75f},
    {"golden", 50, 0.80f, 0.92f, 0.6f, 0.35f}, {"crimson", 355, 0.75f, 0.75f, 0.4f, 0.60f},
    {"white", 40, 0.04f, 0.95f, 0.9f, 0.80f},  {"black", 0, 0.00f, 0.18f, 0.6f, 1.00f},
    {"olive", 75, 0.50f, 0.50f, 0.4f, 0.70f},  {"blue", 205, 0.70f, 0.80f, 0.3f, 0.65f},
    {"brown", 30, 0.50f, 0.42f, 0.3f, 0.70f},  {"pink", 340, 0.35f, 0.92f, 0.6f, 0.80f},
};

static const char *SPECIES_NAME[2][CD_TW_N_SPECIES] = {
    {"Rusty_Finch", "Slate_Sparrow", "Golden_Warbler", "Crimson_Tanager", "White_Wren",
     "Black_Thrush", "Olive_Bunting", "Blue_Jay", "Brown_Lark", "Pink_Robin"},
    {"Rusty_Duck", "Slate_Heron", "Golden_Grebe", "Crimson_Ibis", "White_Gull",
     "Black_Cormorant", "Olive_Loon", "Blue_Kingfisher", "Brown_Pelican", "Pink_Flamingo"},
};

const char *cd_tw_species_name(int cls, int species) { return SPECIES_NAME[cls & 1][species % CD_TW_N_SPECIES]; }
const char *cd_tw_plumage_word(int species) { return PLUMAGE[species % CD_TW_N_SPECIES].word; }

/* A value from class cls's range pulled towards the midpoint of both classes' ranges. */
static float pick(cd_tw_rng *r, const range *mine, const range *other, float gap) {
  float lo = 0.5f * (mine->lo + other->lo), hi = 0.5f * (mine->hi + other->hi);
  lo += gap * (mine->lo - lo);
  hi += gap * (mine->hi - hi);
  return (float)cd_tw_range(r, lo, hi);
}

static cd_tw_color jitter(cd_tw_rng *r, float hue, float sat, float val) {
  float h = hue + (float)cd_tw_range(r, -12, 12);
  float s = sat * (float)cd_tw_range(r, 0.8, 1.15), v = val * (float)cd_tw_range(r, 0.85, 1.1);
  return cd_tw_hsv(h, s > 1 ? 1 : s, v > 1 ? 1 : v);
}

void cd_tw_bird_sample(cd_tw_rng *r, int cls, int species, float gap, int w, int h, float box,
                       cd_tw_bird *b) {
  const shape_ranges *me = &CLASS_SHAPE[cls], *ot = &CLASS_SHAPE[!cls];
  b->cls = cls;
  b->species = species;
  b->aspect = pick(r, &me->aspect, &ot->aspect, gap);
  b->neck = pick(r, &me->neck, &ot->neck, gap);
  b->head = pick(r, &me->head, &ot->head, gap);
  b->beak_len = pick(r, &me->beak_len, &ot->beak_len, gap);
  b->beak_width = pick(r, &me->beak_width, &ot->beak_width, gap);
  b->beak_droop = pick(r, &me->beak_droop, &ot->beak_droop, gap);
  b->tail_len = pick(r, &me->tail_len, &ot->tail_len, gap);
  b->tail_spread = pick(r, &me->tail_spread, &ot->tail_spread, gap);
  b->tail_lift = pick(r, &me->tail_lift, &ot->tail_lift, gap) * DEG;
  b->leg_len = pick(r, &me->leg_len, &ot->leg_len, gap);
  /* Pose: the whole bird (about 1.6 body lengths with tail and beak) stays in the box. */
  b->length = box * (float)cd_tw_range(r, 0.44, 0.56);
  b->tilt = (float)cd_tw_range(r, -18, 18) * DEG;
  b->facing = cd_tw_chance(r, 0.5) ? 1 : -1;
  float slack = 0.5f * box - 0.8f * b->length;
  if (slack < 0) slack = 0;
  b->cx = 0.5f * (float)w + (float)cd_tw_range(r, -slack, slack);
  b->cy = 0.5f * (float)h + (float)cd_tw_range(r, -slack, slack) * 0.6f;
  /* Colours: the species' plumage with per-bird variation; beak and legs independent. */
  const plumage *p = &PLUMAGE[species % CD_TW_N_SPECIES];
  b->body = jitter(r, p->hue, p->sat, p->val);
  b->belly = cd_tw_mix(cd_tw_hsv(45, 0.15f, 0.95f), b->body, p->belly_mix);
  b->wing = cd_tw_scale(b->body, p->wing_val * (float)cd_tw_range(r, 0.85, 1.1));
  static const float BEAK[4][3] = {{0, 0, 0.2f}, {45, 0.8f, 0.95f}, {28, 0.85f, 0.9f}, {35, 0.3f, 0.6f}};
  const float *bk = BEAK[cd_tw_below(r, 4)];
  b->beak = cd_tw_hsv(bk[0], bk[1], bk[2]);
  b->legs = cd_tw_chance(r, 0.5) ? cd_tw_hsv(25, 0.7f, 0.85f) : cd_tw_hsv(0, 0, 0.35f);
}

/* ------------------------------------------------------------------------ drawing */

typedef struct {
  float ox, oy, cs, sn, flip, L;
} frame;

static void to_image(const frame *f, float u, float v, float *x, float *y) {
  float a = u * f->flip * f->L, b = -v * f->L;
  *x = f->ox + a * f->cs - b * f->sn;
  *y = f->oy + a * f->sn + b * f->cs;
}

/* Image-space angle of the local direction at angle phi (radians, counter-clockwise). */
static float to_image_angle(const frame *f, float phi) {
  float x0, y0, x1, y1;
  to_image(f, 0, 0, &x0, &y0);
  to_image(f, cosf(phi), sinf(phi), &x1, &y1);
  return atan2f(y1 - y0, x1 - x0);
}

static void ellipse(cd_tw_canvas *c, const frame *f, float u, float v, float ru, float rv, float phi,
                    cd_tw_color col) {
  float x, y;
  to_image(f, u, v, &x, &y);
  cd_tw_fill_ellipse(c, x, y, ru * f->L, rv * f->L, to_image_angle(f, phi), col, 1);
}

static void stroke(cd_tw_canvas *c, const frame *f, float u0, float v0, float u1, float v1, float width,
                   cd_tw_color col) {
  float x0, y0, x1, y1;
  to_image(f, u0, v0, &x0, &y0);
  to_image(f, u1, v1, &x1, &y1);
  cd_tw_stroke(c, x0, y0, x1, y1, width * f->L, col, 1);
}

static void polygon(cd_tw_canvas *c, const frame *f, const float *uv, int n, cd_tw_color col) {
  float xy[32];
  for (int i = 0; i < n; i++) to_image(f, uv[2 * i], uv[2 * i + 1], &xy[2 * i], &xy[2 * i + 1]);
  cd_tw_fill_polygon(c, xy, n, col, 1);
}

static void draw_legs(cd_tw_canvas *c, const frame *f, const cd_tw_bird *b, float ry) {
  for (int k = -1; k <= 1; k += 2) {
    float u = 0.07f * (float)k - 0.02f, v0 = -0.8f * ry, v1 = v0 - b->leg_len;
    stroke(c, f, u, v0, u, v1, 0.028f, b->legs);
    stroke(c, f, u, v1, u + 0.07f, v1, 0.024f, b->legs);
  }
}

static void draw_tail(cd_tw_canvas *c, const frame *f, const cd_tw_bird *b, float ry) {
  float du = -cosf(b->tail_lift), dv = sinf(b->tail_lift);
  float tu = -0.40f + b->tail_len * du, tv = b->tail_len * dv;
  float nu = dv, nv = -du; /* perpendicular to the tail's direction */
  float uv[8] = {-0.36f, 0.35f * ry, tu - b->tail_spread * nu, tv - b->tail_spread * nv,
                 tu + b->tail_spread * nu, tv + b->tail_spread * nv, -0.36f, -0.3f * ry};
  polygon(c, f, uv, 4, b->wing);
}

static void draw_head(cd_tw_canvas *c, const frame *f, const cd_tw_bird *b, float ry) {
  float nu = 0.34f, nv = 0.45f * ry; /* where the neck leaves the body */
  float hu = nu + b->neck * 0.45f, hv = nv + b->neck * 0.9f, hr = b->head;
  if (b->neck > 0.02f) stroke(c, f, nu, nv, hu, hv, 1.5f * hr, b->body);
  ellipse(c, f, hu, hv, hr, hr, 0, b->body);
  float bw = 0.5f * b->beak_width, base = hu + 0.75f * hr;
  float uv[6] = {base, hv + bw, base + 0.25f * hr + b->beak_len, hv - b->beak_droop * b->beak_len,
                 base, hv - bw};
  polygon(c, f, uv, 3, b->beak);
  ellipse(c, f, hu + 0.3f * hr, hv + 0.25f * hr, 0.2f * hr, 0.2f * hr, 0, cd_tw_hsv(0, 0, 0.05f));
}

void cd_tw_bird_draw(cd_tw_canvas *c, const cd_tw_bird *b) {
  frame f = {b->cx, b->cy, cosf(b->tilt), sinf(b->tilt), (float)b->facing, b->length};
  float ry = 0.5f * b->aspect;
  draw_legs(c, &f, b, ry);
  draw_tail(c, &f, b, ry);
  ellipse(c, &f, 0, 0, 0.5f, ry, 0, b->body);
  ellipse(c, &f, 0.06f, -0.42f * ry, 0.3f, 0.45f * ry, 0, b->belly);
  ellipse(c, &f, -0.08f, 0.12f * ry, 0.3f, 0.5f * ry, 8 * DEG, b->wing);
  draw_head(c, &f, b, ry);
}
