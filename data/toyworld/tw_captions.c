/* Alt-text for the captioned set. Like captions on the web, most name only some of what is
 * in the picture: the kind of bird (as "landbird"/"waterbird" or by its species), the place,
 * or both, sometimes the colour or what the bird looks like ("with a long beak"), in varied
 * phrasings. Because the place agrees with the kind of bird most of the time, a model
 * trained on these captions learns "waterbird" partly as "water", as CLIP did; the species
 * names and looks, which never depend on the place, make it learn the birds' shapes too. */
#include <stdio.h>
#include <string.h>

#include "data/toyworld/toyworld.h"
#include "data/toyworld/tw_bird.h"
#include "data/toyworld/tw_rng.h"
#include "data/toyworld/tw_scene.h"

#define P_CLASS_ONLY 0.40
#define P_PLACE_ONLY 0.25 /* the rest name both */
#define P_COLOUR 0.35
#define P_SPECIES 0.30 /* the class named by its species noun ("gull") instead of the class word */
#define P_LOOKS 0.45

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

/* "gull" from "White_Gull". */
static void species_noun(int cls, int species, char *out, size_t cap) {
  const char *name = strchr(cd_tw_species_name(cls, species), '_');
  size_t i = 0;
  for (name = name ? name + 1 : ""; *name && i + 1 < cap; name++) out[i++] = (char)(*name >= 'A' && *name <= 'Z' ? *name - 'A' + 'a' : *name);
  out[i] = 0;
}

static const char *looks_phrase(cd_tw_rng *r, int cls) {
  static const char *LOOKS[2][4] = {{" with a short beak", " with short legs", " with a fan tail", " with a round body"},
                                    {" with a long beak", " with long legs", " with a long neck", " with a slender body"}};
  return LOOKS[cls][cd_tw_below(r, 4)];
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
  char noun[32] = "bird", subject[96], where[80] = "";
  if (say_class && cd_tw_chance(&r, P_SPECIES)) species_noun(it->y, it->species, noun, sizeof noun);
  else if (say_class) snprintf(noun, sizeof noun, "%s", it->y ? "waterbird" : "landbird");
  if (cd_tw_chance(&r, P_COLOUR)) snprintf(subject, sizeof subject, "%s %s", cd_tw_plumage_word(it->species), noun);
  else snprintf(subject, sizeof subject, "%s", noun);
  if (cd_tw_chance(&r, P_LOOKS)) strncat(subject, looks_phrase(&r, it->y), sizeof subject - strlen(subject) - 1);
  if (say_place) snprintf(where, sizeof where, " %s", place_phrase(&r, it->kind));
  const char *t = TEMPLATES[cd_tw_below(&r, (int)(sizeof TEMPLATES / sizeof TEMPLATES[0]))];
  snprintf(out, (size_t)cap, t, starts_with_vowel(subject) ? "an" : "a", subject, where);
}
