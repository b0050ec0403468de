/* The toy world's two kinds of bird. They share colours (ten plumages, each worn by one
 * species of either kind), sizes and poses; they differ only in shape, and only by degree:
 * "landbirds" are round, short-necked, with a short thick beak and a raised fan tail;
 * "waterbirds" are slimmer, with a longer neck, a long thin beak and a short level tail.
 * shape_gap scales how far apart the two kinds' shape ranges sit (0 = the same bird). */
#ifndef CD_TW_BIRD_H
#define CD_TW_BIRD_H

#include "data/toyworld/tw_canvas.h"
#include "data/toyworld/tw_rng.h"

#define CD_TW_N_SPECIES 10 /* per class; species k of either class wears plumage k */

typedef struct {
  int cls;                 /* 0 landbird, 1 waterbird */
  int species;             /* 0..CD_TW_N_SPECIES-1 */
  float cx, cy, length;    /* body centre and length, pixels */
  float tilt;              /* radians */
  int facing;              /* +1 right, -1 left */
  /* shape, in units of body length */
  float aspect, neck, head, beak_len, beak_width, beak_droop, tail_len, tail_spread, tail_lift, leg_len;
  cd_tw_color body, belly, wing, beak, legs;
} cd_tw_bird;

/* Names for folders and captions: "Rusty Finch" etc., and the plumage's colour word. */
const char *cd_tw_species_name(int cls, int species);
const char *cd_tw_plumage_word(int species);

/* Draws a bird of class cls and species with a random shape, colour and pose, placed so
 * that it fits inside the centred square of side `box` of a w x h image. */
void cd_tw_bird_sample(cd_tw_rng *r, int cls, int species, float shape_gap, int w, int h, float box,
                       cd_tw_bird *b);
void cd_tw_bird_draw(cd_tw_canvas *c, const cd_tw_bird *b);

#endif
