/* One toy-world picture: a background of a place (land: meadow or forest; water: lake or
 * ocean) under a sky, clutter that belongs to neither class nor place (stones, sticks,
 * leaves, flowers, insects), and one bird. Rendering is a pure function of the scene. */
#ifndef CD_TW_SCENE_H
#define CD_TW_SCENE_H

#include <stdint.h>

#include "core/error.h"

enum { CD_TW_MEADOW, CD_TW_FOREST, CD_TW_LAKE, CD_TW_OCEAN };

typedef struct {
  int y;            /* 0 landbird, 1 waterbird */
  int species;      /* 0..CD_TW_N_SPECIES-1 */
  int kind;         /* CD_TW_MEADOW..CD_TW_OCEAN; place = kind >= CD_TW_LAKE */
  int w, h;         /* image size */
  float shape_gap;  /* see tw_bird.h */
  uint64_t seed;    /* everything random in the picture comes from this */
} cd_tw_scene;

/* "meadow", "forest", "lake", "ocean". */
const char *cd_tw_kind_name(int kind);
static inline int cd_tw_place_of(int kind) { return kind >= CD_TW_LAKE; }

/* Renders into rgb ([h][w][3], caller-allocated). */
int cd_tw_render(const cd_tw_scene *s, uint8_t *rgb, cd_error *e);

#endif
