/* clipdebias toyworld : writes the toy world, a procedural Waterbirds with a real spurious
 * correlation, in Waterbirds' own on-disk format; or its captioned pretraining set; or a
 * contact sheet of it. */
#include <stdio.h>
#include <string.h>

#include "core/progress.h"
#include "data/toyworld/toyworld.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

static void print_help(void) {
  printf("usage: clipdebias toyworld --out DIR [--seed N] [--scale S] [--corr C] [--sheet F.png]\n"
         "       clipdebias toyworld --captions N --out DIR [--seed N] [--corr C]\n"
         "       clipdebias toyworld --sheet F.png [--seed N]\n"
         "options: [--png] [--quality Q] [--shape-gap G] [--threads N]\n\n"
         "Draws two kinds of bird that differ only in shape (landbirds: round, short thick beak,\n"
         "raised fan tail; waterbirds: slimmer, longer neck, long thin beak, short level tail) with\n"
         "random colour, size, pose and clutter, on land (meadow, forest) or water (lake, ocean),\n"
         "and writes them exactly as Waterbirds sits on disk: DIR/metadata.csv with\n"
         "img_id,img_filename,y,split,place,place_filename and 20 species folders of JPEGs.\n"
         "Group counts are Waterbirds' times --scale: train 3498/184/56/1057 (the place agrees\n"
         "with the class with probability --corr, default 0.95), val 467/466/133/133 and test\n"
         "2255/2255/642/642 (balanced within each class). So `run --dataset waterbirds` reads it\n"
         "like the real thing. The same --seed gives the same bytes on any number of threads.\n\n"
         "--captions N writes N captioned images (DIR/images/, DIR/captions.csv) for pretraining a\n"
         "toy CLIP: captions name the class, the place or both; the place agrees with the class with\n"
         "probability --corr (default 0.85 here).\n"
         "--sheet F.png draws a contact sheet (8 examples of each group); alone, only the sheet.\n"
         "--png writes lossless PNGs instead of JPEGs (quality %d by default, 4:2:0 chroma).\n"
         "--shape-gap G (0..2, default 1) moves the two kinds of bird apart (>1) or together (<1).\n"
         "Example:\n"
         "  clipdebias toyworld --out toy_waterbirds --seed 0 --sheet toy_sheet.png\n", 90);
}

typedef struct {
  const char *out, *sheet;
  int captions, corr_given;
  cd_toyworld_options o;
} toyworld_args;

static int parse(int argc, char **argv, toyworld_args *a) {
  cd_toyworld_defaults(&a->o);
  for (int i = 1; i < argc; i++) {
    const char *v = NULL;
    double d;
    int k;
    if (cd_arg_is(argv[i], "--png")) {
      a->o.png = 1;
      continue;
    }
    if (strncmp(argv[i], "--", 2) != 0) return cd_cli_fail("toyworld: unexpected argument '%s' (see --help)", argv[i]);
    if (!(v = cd_arg_value(argc, argv, &i))) return 1;
    const char *opt = argv[i - 1];
    if (cd_arg_is(opt, "--out")) a->out = v;
    else if (cd_arg_is(opt, "--sheet")) a->sheet = v;
    else if (cd_arg_is(opt, "--seed")) {
      if (cd_arg_int("--seed", v, 0, 2147483647, &k)) return 1;
      a->o.seed = (uint64_t)k;
    } else if (cd_arg_is(opt, "--scale")) {
      if (cd_arg_float("--scale", v, &d)) return 1;
      a->o.scale = d;
    } else if (cd_arg_is(opt, "--corr")) {
      if (cd_arg_float("--corr", v, &d)) return 1;
      a->o.corr = d;
      a->corr_given = 1;
    } else if (cd_arg_is(opt, "--shape-gap")) {
      if (cd_arg_float("--shape-gap", v, &d)) return 1;
      a->o.shape_gap = (float)d;
    } else if (cd_arg_is(opt, "--quality")) {
      if (cd_arg_int("--quality", v, 1, 100, &a->o.quality)) return 1;
    } else if (cd_arg_is(opt, "--threads")) {
      if (cd_arg_threads(v, &a->o.threads)) return 1;
    } else if (cd_arg_is(opt, "--captions")) {
      if (cd_arg_int("--captions", v, 1, 10000000, &a->captions)) return 1;
    } else {
      return cd_cli_fail("toyworld: unknown option '%s' (see --help)", opt);
    }
  }
  if (!a->out && !a->sheet) return cd_cli_fail("toyworld: --out DIR (or --sheet F.png) is required");
  if (a->captions && !a->out) return cd_cli_fail("toyworld: --captions needs --out DIR");
  if (a->captions && !a->corr_given) a->o.corr = 0.85;
  return 0;
}

static void print_counts(const cd_toyworld_options *o) {
  cd_toyworld_plan p;
  cd_error e;
  if (cd_toyworld_plan_waterbirds(o, &p, &e)) return;
  static const char *SPLIT[3] = {"train", "val", "test"};
  printf("%-6s %10s %10s %10s %10s\n", "split", "land/land", "land/water", "water/land", "water/water");
  for (int s = 0; s < 3; s++)
    printf("%-6s %10d %10d %10d %10d\n", SPLIT[s], p.counts[s][0], p.counts[s][1], p.counts[s][2], p.counts[s][3]);
  cd_toyworld_plan_free(&p);
}

int cd_cmd_toyworld(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  toyworld_args a = {0};
  if (parse(argc, argv, &a)) return 1;
  cd_error e;
  double t0 = cd_time_now();
  if (a.out && a.captions) {
    if (cd_toyworld_write_captions(a.out, &a.o, a.captions, &e)) return cd_cli_fail("%s", e.msg);
    printf("wrote %d captioned images to %s/images (index %s/captions.csv) in %.1f s\n", a.captions, a.out, a.out,
           cd_time_now() - t0);
  } else if (a.out) {
    if (cd_toyworld_write_waterbirds(a.out, &a.o, &e)) return cd_cli_fail("%s", e.msg);
    printf("wrote the toy world (Waterbirds format) to %s in %.1f s; metadata: %s/metadata.csv\n", a.out,
           cd_time_now() - t0, a.out);
    print_counts(&a.o);
  }
  if (a.sheet) {
    if (cd_toyworld_write_sheet(a.sheet, &a.o, 8, &e)) return cd_cli_fail("%s", e.msg);
    printf("contact sheet: %s\n", a.sheet);
  }
  return 0;
}
