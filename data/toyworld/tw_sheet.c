/* Contact sheet of the toy world: one row per group (landbird on land, landbird on water,
 * waterbird on land, waterbird on water), examples spread over the test split's species,
 * each shown as the centred square that CLIP's centre crop sees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/image/image_write.h"
#include "data/toyworld/toyworld.h"
#include "data/toyworld/tw_font.h"

#define TILE 112
#define PAD 6
#define LABEL_W 132
#define TITLE_H 30

static void paste_center(uint8_t *sheet, int sw, int x0, int y0, const uint8_t *img, int w, int h) {
  int ox = (w - TILE) / 2, oy = (h - TILE) / 2;
  for (int y = 0; y < TILE; y++)
    memcpy(sheet + ((size_t)(y0 + y) * (size_t)sw + (size_t)x0) * 3, img + ((size_t)(oy + y) * (size_t)w + (size_t)ox) * 3,
           TILE * 3);
}

/* The k-th of n examples of group g in the test split, spread evenly through the plan. */
static const cd_toyworld_item *example(const cd_toyworld_plan *p, int g, int k, int n) {
  int total = p->counts[2][g], want = (int)((long long)k * total / n), seen = 0;
  for (int i = 0; i < p->n; i++) {
    const cd_toyworld_item *it = &p->items[i];
    if (it->split != 2 || 2 * it->y + it->place != g) continue;
    if (seen++ == want) return it;
  }
  return NULL;
}

int cd_toyworld_write_sheet(const char *path, const cd_toyworld_options *o, int per_group, cd_error *e) {
  if (per_group < 1 || per_group > 32) return cd_fail(e, "%s: %d examples per group (1..32)", path, per_group);
  cd_toyworld_plan p;
  if (cd_toyworld_plan_waterbirds(o, &p, e)) return -1;
  int sw = LABEL_W + per_group * (TILE + PAD) + PAD, sh = TITLE_H + 4 * (TILE + PAD) + PAD;
  uint8_t *sheet = cd_malloc((size_t)sw * (size_t)sh * 3, e);
  if (!sheet) return cd_toyworld_plan_free(&p), -1;
  memset(sheet, 255, (size_t)sw * (size_t)sh * 3);
  static const uint8_t INK[3] = {30, 30, 30};
  static const char *CLS[2] = {"landbird", "waterbird"}, *PLACE[2] = {"on land", "on water"};
  char title[96];
  snprintf(title, sizeof title, "toyworld seed %llu: rows = groups of the test split", (unsigned long long)o->seed);
  cd_tw_text(sheet, sw, sh, PAD, 8, title, 2, INK);
  int rc = 0;
  for (int g = 0; g < 4 && rc == 0; g++) {
    int y0 = TITLE_H + g * (TILE + PAD);
    cd_tw_text(sheet, sw, sh, PAD, y0 + TILE / 2 - 16, CLS[g / 2], 2, INK);
    cd_tw_text(sheet, sw, sh, PAD, y0 + TILE / 2 + 2, PLACE[g % 2], 2, INK);
    for (int k = 0; k < per_group && rc == 0; k++) {
      const cd_toyworld_item *it = example(&p, g, k, per_group);
      uint8_t *rgb;
      if (!it) continue;
      if ((rc = cd_toyworld_render(o, it, &rgb, e)) != 0) break;
      paste_center(sheet, sw, LABEL_W + k * (TILE + PAD), y0, rgb, it->w, it->h);
      free(rgb);
    }
  }
  if (rc == 0) rc = cd_image_save(path, sheet, sw, sh, 3, NULL, e);
  free(sheet);
  cd_toyworld_plan_free(&p);
  return rc;
}
