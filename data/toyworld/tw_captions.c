/* Alt-text for the captioned set. Like captions on the web, most name only some of what is
 * in the picture: the kind of bird, the place, or both, with or without the colour, in
 * varied phrasings. Because the place agrees with the kind of bird most of the time, a
 * model trained on these captions learns "waterbird" partly as "water", as CLIP did. */
#include <stdio.h>
#include <string.h>

#include "data/toyworld/toyworld.h"
#include "data/toyworld/tw_bird.h"
#include "data/toyworld/tw_rng.h"
#include "data/toyworld/tw_scene.h"

#define P_CLASS_ONLY 0.40
#define P_PLACE_ONLY 0.25 /* the rest name both */
#define P_COLOUR 0.35

static const char *pick(cd_tw_rng *r, const char *const *list, int n) { return list[cd_tw_below(r, n)]; }

static const char *place_phrase(cd_tw_rng *r, int kind) {
  static const char *LAND[] = {"on land", "on land", "on the ground", "on the grass", "in the grass"};
  static const char *WATER[] = {"on water", "on water", "on the water", "in the water", "on the waves"};
  static const char *KIND[4][2] = {{"in a meadow", "in a field"},
                                   {"in a forest", "among the trees"},
                                   {"on a lake", "on the lake"},
                                   {"on the ocean", "at sea"}};
  if (cd_tw_chance(r, 0.35)) return pick(r, KIND[kind], 2);
  return cd_tw_place_of(kind) ? pick(r, WATER, 5) : pick(r, LAND, 5);
}

static int starts_with_vowel(const char *s) { return strchr("aeiou", s[0]) != NULL; }

void cd_toyworld_caption(const cd_toyworld_item *it, char *out, int cap) {
  static const char *TEMPLATES[] = {"a photo of %s %s%s.", "a photo of %s %s%s.", "%s %s%s.",
                                    "a picture of %s %s%s.", "an image of %s %s%s.", "there is %s %s%s.",
                                    "a close-up photo of %s %s%s.", "a blurry photo of %s %s%s.",
                                    "a good photo of %s %s%s.", "a cropped photo of %s %s%s."};
  cd_tw_rng r;
  cd_tw_rng_init(&r, it->seed, 7);
  double u = cd_tw_uniform(&r);
  int say_class = u < P_CLASS_ONLY || u >= P_CLASS_ONLY + P_PLACE_ONLY, say_place = u >= P_CLASS_ONLY;
  const char *noun = say_class ? (it->y ? "waterbird" : "landbird") : "bird";
  char subject[64], where[48] = "";
  if (cd_tw_chance(&r, P_COLOUR)) snprintf(subject, sizeof subject, "%s %s", cd_tw_plumage_word(it->species), noun);
  else snprintf(subject, sizeof subject, "%s", noun);
  if (say_place) snprintf(where, sizeof where, " %s", place_phrase(&r, it->kind));
  const char *t = TEMPLATES[cd_tw_below(&r, (int)(sizeof TEMPLATES / sizeof TEMPLATES[0]))];
  snprintf(out, (size_t)cap, t, starts_with_vowel(subject) ? "an" : "a", subject, where);
}
