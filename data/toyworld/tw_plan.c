/* Which images a toy-world dataset holds: split, class, place, species, size and seed of
 * every image, decided up front by one generator so that rendering can run in any order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/toyworld/toyworld.h"
#include "data/toyworld/tw_bird.h"
#include "data/toyworld/tw_rng.h"
#include "data/toyworld/tw_scene.h"

/* Waterbirds' images per class and split (datasets.md 1.4): train, val, test. */
static const int WB_CLASS_TOTAL[3][2] = {{3682, 1113}, {933, 266}, {4510, 1284}};

void cd_toyworld_defaults(cd_toyworld_options *o) {
  memset(o, 0, sizeof *o);
  o->scale = 1.0;
  o->corr = 0.95;
  o->shape_gap = 1.0f;
  o->quality = 90;
}

static int check_options(const cd_toyworld_options *o, cd_error *e) {
  if (!(o->scale >= 0.005 && o->scale <= 20)) return cd_fail(e, "toy world: scale %g is not in 0.005..20", o->scale);
  if (!(o->corr >= 0 && o->corr <= 1)) return cd_fail(e, "toy world: corr %g is not in 0..1", o->corr);
  if (!(o->shape_gap >= 0 && o->shape_gap <= 2)) return cd_fail(e, "toy world: shape gap %g is not in 0..2", o->shape_gap);
  if (o->quality < 1 || o->quality > 100) return cd_fail(e, "toy world: JPEG quality %d is not in 1..100", o->quality);
  return 0;
}

/* Images per group of one split: train follows corr, val/test split each class evenly. */
static void group_counts(const cd_toyworld_options *o, int split, int counts[4]) {
  for (int y = 0; y < 2; y++) {
    int n = (int)(WB_CLASS_TOTAL[split][y] * o->scale + 0.5);
    if (n < 4) n = 4;
    int agree = split == 0 ? n - (int)((1.0 - o->corr) * n + 0.5) : (n + 1) / 2;
    counts[2 * y + y] = agree;       /* place == y */
    counts[2 * y + !y] = n - agree;  /* place != y */
  }
}

static void place_filename(cd_tw_rng *r, int kind, char *out, size_t cap) {
  static const char *DIRS[4] = {"/m/meadow", "/f/forest/broadleaf", "/l/lake/natural", "/o/ocean"};
  snprintf(out, cap, "%s/%08d.jpg", DIRS[kind], 1 + cd_tw_below(r, 5000));
}

static void fill_item(cd_tw_rng *r, cd_toyworld_item *it, int split, int y, int place) {
  it->split = split;
  it->y = y;
  it->place = place;
  it->kind = 2 * place + cd_tw_below(r, 2);
  it->species = cd_tw_below(r, CD_TW_N_SPECIES);
  it->w = 112 + cd_tw_below(r, 49);
  it->h = 112 + cd_tw_below(r, 33);
  place_filename(r, it->kind, it->place_filename, sizeof it->place_filename);
}

static int by_species_then_draw(const void *a, const void *b) {
  const cd_toyworld_item *x = a, *y = b;
  int fx = x->y * CD_TW_N_SPECIES + x->species, fy = y->y * CD_TW_N_SPECIES + y->species;
  if (fx != fy) return fx < fy ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

int cd_toyworld_plan_waterbirds(const cd_toyworld_options *o, cd_toyworld_plan *p, cd_error *e) {
  memset(p, 0, sizeof *p);
  if (check_options(o, e)) return -1;
  int total = 0;
  for (int s = 0; s < 3; s++) {
    group_counts(o, s, p->counts[s]);
    for (int g = 0; g < 4; g++) total += p->counts[s][g];
  }
  p->items = cd_calloc((size_t)total, sizeof *p->items, e);
  if (!p->items) return -1;
  cd_tw_rng r;
  cd_tw_rng_init(&r, o->seed, 1);
  for (int s = 0; s < 3; s++)
    for (int g = 0; g < 4; g++)
      for (int k = 0; k < p->counts[s][g]; k++) {
        cd_toyworld_item *it = &p->items[p->n];
        fill_item(&r, it, s, g / 2, g % 2);
        it->id = p->n++; /* draw order, the tie-break below */
      }
  /* Like CUB ids, img_id runs through the species folders in order, splits interleaved. */
  int *perm = cd_malloc(sizeof(int) * (size_t)p->n, e);
  if (!perm) return cd_toyworld_plan_free(p), -1;
  for (int i = 0; i < p->n; i++) perm[i] = i;
  cd_tw_shuffle(&r, perm, p->n);
  for (int i = 0; i < p->n; i++) p->items[i].id = perm[i];
  free(perm);
  qsort(p->items, (size_t)p->n, sizeof *p->items, by_species_then_draw);
  int seq[2][CD_TW_N_SPECIES] = {{0}};
  for (int i = 0; i < p->n; i++) {
    cd_toyworld_item *it = &p->items[i];
    it->id = i + 1;
    it->seed = cd_tw_hash(o->seed, (uint64_t)it->id);
    const char *name = cd_tw_species_name(it->y, it->species);
    snprintf(it->filename, sizeof it->filename, "%03d.%s/%s_%04d_%d.%s", it->y * CD_TW_N_SPECIES + it->species + 1, name,
             name, ++seq[it->y][it->species], it->id, o->png ? "png" : "jpg");
  }
  return 0;
}

int cd_toyworld_plan_captions(const cd_toyworld_options *o, int n, cd_toyworld_plan *p, cd_error *e) {
  memset(p, 0, sizeof *p);
  if (check_options(o, e)) return -1;
  if (n < 1 || n > 10000000) return cd_fail(e, "toy world: %d captioned images requested (1..10000000)", n);
  p->items = cd_calloc((size_t)n, sizeof *p->items, e);
  if (!p->items) return -1;
  cd_tw_rng r;
  cd_tw_rng_init(&r, o->seed, 2);
  for (int i = 0; i < n; i++) {
    cd_toyworld_item *it = &p->items[i];
    int y = cd_tw_below(&r, 2), place = cd_tw_chance(&r, o->corr) ? y : !y;
    fill_item(&r, it, 0, y, place);
    it->id = i + 1;
    it->seed = cd_tw_hash(o->seed ^ 0x5eedca9u, (uint64_t)it->id);
    snprintf(it->filename, sizeof it->filename, "images/%06d.%s", i, o->png ? "png" : "jpg");
    p->counts[0][2 * y + place]++;
  }
  p->n = n;
  return 0;
}

void cd_toyworld_plan_free(cd_toyworld_plan *p) {
  free(p->items);
  memset(p, 0, sizeof *p);
}

int cd_toyworld_render(const cd_toyworld_options *o, const cd_toyworld_item *it, uint8_t **rgb, cd_error *e) {
  *rgb = cd_malloc((size_t)it->w * (size_t)it->h * 3, e);
  if (!*rgb) return -1;
  cd_tw_scene s = {it->y, it->species, it->kind, it->w, it->h, o->shape_gap, it->seed};
  if (cd_tw_render(&s, *rgb, e) == 0) return 0;
  free(*rgb);
  *rgb = NULL;
  return -1;
}
