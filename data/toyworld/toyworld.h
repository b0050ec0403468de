/* The toy world as datasets: a procedural stand-in for Waterbirds with a real spurious
 * correlation, written in Waterbirds' exact on-disk format, and a captioned "web" set for
 * pretraining a toy CLIP on the same world.
 *
 * Waterbirds layout (what `run --dataset waterbirds` reads):
 *   DIR/metadata.csv   img_id,img_filename,y,split,place,place_filename
 *   DIR/001.Rusty_Finch/Rusty_Finch_0001_17.jpg, ...   (20 species folders)
 *   DIR/toyworld.json  the recipe and the group counts (written last: present = complete)
 * Group counts follow Waterbirds (train 3498/184/56/1057, val 467/466/133/133, test
 * 2255/2255/642/642 at scale 1 and corr 0.95): in train the place agrees with the class with
 * probability corr; in val and test each class is split evenly between the places.
 *
 * Captions layout: DIR/images/000000.jpg ..., DIR/captions.csv with
 *   filename,caption,y,place,kind,species
 * where the place agrees with the class with probability corr, and each caption names the
 * class, the place or both through varied templates, as alt-text on the web does. */
#ifndef CD_TOYWORLD_H
#define CD_TOYWORLD_H

#include <stdint.h>

#include "core/error.h"

typedef struct {
  uint64_t seed;
  double scale;     /* multiplies Waterbirds' counts (0.01 .. 10) */
  double corr;      /* P(place == class): train split, or the whole captions set */
  float shape_gap;  /* 1 = the standard world; smaller makes the two kinds of bird closer */
  int png;          /* 1: write .png (lossless) instead of .jpg */
  int quality;      /* JPEG quality */
  int threads;      /* 0 = the library default (cd_threads_get) */
} cd_toyworld_options;

/* seed 0, scale 1, corr 0.95, shape_gap 1, JPEG quality 90. */
void cd_toyworld_defaults(cd_toyworld_options *o);

typedef struct {
  int id;                  /* img_id, 1-based, in metadata order */
  int split;               /* 0 train, 1 val, 2 test */
  int y, place, kind, species;
  int w, h;
  uint64_t seed;
  char filename[96];       /* relative to the dataset folder */
  char place_filename[48]; /* Places365-style, informational */
} cd_toyworld_item;

typedef struct {
  cd_toyworld_item *items;
  int n;
  int counts[3][4];        /* [split][g], g = 2 y + place */
} cd_toyworld_plan;

/* Every image of the dataset (no pixels yet). Deterministic in the options. */
int cd_toyworld_plan_waterbirds(const cd_toyworld_options *o, cd_toyworld_plan *p, cd_error *e);
int cd_toyworld_plan_captions(const cd_toyworld_options *o, int n, cd_toyworld_plan *p, cd_error *e);
void cd_toyworld_plan_free(cd_toyworld_plan *p);

/* The pixels of one item: *rgb is malloc'd [h][w][3]. */
int cd_toyworld_render(const cd_toyworld_options *o, const cd_toyworld_item *it, uint8_t **rgb, cd_error *e);

/* One caption for an item, drawn from its own seed (so it is reproducible on its own). */
void cd_toyworld_caption(const cd_toyworld_item *it, char *out, int cap);

/* The recipe line stored in toyworld.json: equal recipes give identical datasets. */
void cd_toyworld_recipe(const cd_toyworld_options *o, const char *kind, int n_captions, char *out, int cap);

/* Renders and writes every image, then metadata.csv (or captions.csv) and toyworld.json.
 * Shows progress on a terminal. */
int cd_toyworld_write_waterbirds(const char *dir, const cd_toyworld_options *o, cd_error *e);
int cd_toyworld_write_captions(const char *dir, const cd_toyworld_options *o, int n, cd_error *e);
/* 1 if dir holds a complete dataset made from exactly this recipe. */
int cd_toyworld_is_cached(const char *dir, const cd_toyworld_options *o, const char *kind, int n_captions);

/* Contact sheet: `per_group` examples of each of the four groups (balanced, from the test
 * split's plan), one row per group with its name, as PNG or JPEG by extension. */
int cd_toyworld_write_sheet(const char *path, const cd_toyworld_options *o, int per_group, cd_error *e);

#endif
