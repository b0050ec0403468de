/* clipdebias demo : the project's main job on data and a model that ship with it. Draws the
 * toy world (a procedural Waterbirds, cached), loads the toy CLIP from models/toyclip through
 * the normal --model path, and runs the whole pipeline of `clipdebias run`: embedding,
 * zero-shot, pseudo spurious labels, ERM, DPT, the oracle and GroupDRO over seeds. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cpu.h"
#include "core/file.h"
#include "core/progress.h"
#include "data/datasets/dataset.h"
#include "data/toyworld/toyworld.h"
#include "models/run/run.h"
#include "models/embed/embed_dataset.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/report/report.h"

#ifndef CD_SOURCE_DIR
#define CD_SOURCE_DIR "."
#endif

static void print_help(void) {
  printf("usage: clipdebias demo [--out DIR] [--scale S] [--seeds 0,1,2] [--epochs E] [--model M] [--threads N]\n"
         "         [--precision fp32|bf16]\n\n"
         "Runs Debiased Prompt Tuning end to end on things that ship with clipdebias:\n"
         " 1. the toy world (clipdebias toyworld): landbirds and waterbirds that differ only in\n"
         "    shape, on land or water, with Waterbirds' on-disk format and group counts (train\n"
         "    95%% correlated, val/test balanced), cached in DIR/toyworld-seed0-scaleS;\n"
         " 2. the toy CLIP (models/toyclip), trained on captioned pictures of the same world in\n"
         "    which class and place co-occur, so its zero-shot classifier is biased like CLIP's;\n"
         " 3. clipdebias run: embed, zero-shot, pseudo labels from \"a photo of a bird on\n"
         "    land/water.\", then erm, dpt, oracle and gdro prompt tuning for every seed, each\n"
         "    reported at its last epoch as CoOp reports prompt tuning (`run --select last`),\n"
         "    and the field's baselines that need no group label: gdro-pseudo, jtt, dfr-pseudo,\n"
         "    orth-proj, orth-cali, roboshot (oracle and gdro read the training group labels:\n"
         "    the table's \"group labels\" column says what each method uses).\n"
         "Prints the results table and the pseudo-label accuracy; DIR/run/report.html shows it all.\n"
         "  --out DIR      where everything goes (default clipdebias-demo)\n"
         "  --scale S      size of the world relative to Waterbirds (default 1: 11788 images)\n"
         "  --seeds LIST   training seeds (default 0,1,2)\n"
         "  --epochs E     prompt-tuning epochs (default 50, as CoOp)\n"
         "  --model M      another CLIP instead of the toy one\n"
         "  --threads N    threads (default: all for drawing and tuning, 1 for embedding with the toy CLIP)\n"
         "  --precision P  fp32 (default) or bf16: the tuned text tower's weights (run --precision);\n"
         "                 a bf16 run goes to DIR/run-bf16\n"
         "The toy CLIP is looked up in $CLIPDEBIAS_TOYCLIP, next to the program (a build folder\n"
         "inside the source tree, or an installed share/clipdebias/toyclip) and in the source tree\n"
         "the program was built from.\n");
}

static int is_model_dir(const char *dir) {
  char p[PATH_MAX + 32];
  snprintf(p, sizeof p, "%s/config.json", dir);
  if (!cd_file_exists(p)) return 0;
  snprintf(p, sizeof p, "%s/model.safetensors", dir);
  return cd_file_exists(p);
}

/* The toy CLIP's folder: $CLIPDEBIAS_TOYCLIP, then relative to the executable (build tree or
 * install prefix), then the source tree recorded at build time. */
static int find_toyclip(char *out, size_t cap) {
  static const char *const REL[] = {"../models/toyclip", "../share/clipdebias/toyclip", "models/toyclip"};
  return cd_find_shipped(out, cap, "CLIPDEBIAS_TOYCLIP", REL, 3, CD_SOURCE_DIR "/models/toyclip", is_model_dir);
}

typedef struct {
  const char *out, *model, *seeds;
  double scale;
  int epochs, threads;
  int tune_threads; /* step 3's: --threads, else every processor (see cd_cmd_demo) */
  cd_precision precision; /* of the tuned text tower (run --precision) */
} demo_args;

static int parse(int argc, char **argv, demo_args *a) {
  a->out = "clipdebias-demo";
  a->seeds = "0,1,2";
  a->scale = 1.0;
  a->epochs = 50;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v = cd_arg_value(argc, argv, &i);
    if (!v) return -1;
    if (cd_arg_is(opt, "--out")) a->out = v;
    else if (cd_arg_is(opt, "--model")) a->model = v;
    else if (cd_arg_is(opt, "--seeds")) a->seeds = v;
    else if (cd_arg_is(opt, "--scale")) {
      if (cd_arg_float("--scale", v, &a->scale)) return -1;
    } else if (cd_arg_is(opt, "--epochs")) {
      if (cd_arg_int("--epochs", v, 2, 10000, &a->epochs)) return -1; /* the first is a warm-up */
    } else if (cd_arg_is(opt, "--threads")) {
      if (cd_arg_threads(v, &a->threads)) return -1;
    } else if (cd_arg_is(opt, "--precision")) {
      if (strcmp(v, "fp32") && strcmp(v, "bf16"))
        return cd_cli_fail("demo: --precision must be fp32 or bf16 (got '%s')", v), -1;
      a->precision = !strcmp(v, "bf16") ? CD_PREC_BF16 : CD_PREC_FP32;
    } else {
      return cd_cli_fail("demo: unknown option '%s' (see --help)", opt), -1;
    }
  }
  return 0;
}

/* Step 1: the world, generated once per (seed, scale) and reused. */
static int ensure_world(const demo_args *a, char *dir, size_t cap) {
  cd_toyworld_options o;
  cd_toyworld_defaults(&o);
  o.scale = a->scale;
  o.threads = a->threads;
  snprintf(dir, cap, "%s/toyworld-seed0-scale%g", a->out, a->scale);
  cd_error e;
  if (cd_toyworld_is_cached(dir, &o, "waterbirds", 0)) {
    printf("[1/3] toy world: cached in %s\n", dir);
    return 0;
  }
  printf("[1/3] toy world: drawing it into %s\n", dir);
  fflush(stdout);
  double t0 = cd_time_now();
  if (cd_toyworld_write_waterbirds(dir, &o, &e)) return cd_cli_fail("%s", e.msg), -1;
  /* A picture of what was drawn, beside (not inside) the cached world. */
  char sheet[PATH_MAX + 32];
  if (snprintf(sheet, sizeof sheet, "%s/toyworld-sheet.png", a->out) >= (int)sizeof sheet)
    return cd_cli_fail("demo: --out path too long"), -1;
  if (cd_toyworld_write_sheet(sheet, &o, 8, &e)) return cd_cli_fail("%s", e.msg), -1;
  printf("      %.1f s; contact sheet: %s\n", cd_time_now() - t0, sheet);
  return 0;
}

/* Step 2: the world's images through the model, once, into a feature cache. */
static int embed_world(const char *world, const char *model, const char *cache) {
  cd_dataset_opts dopt = {0};
  cd_dataset d;
  cd_clip m;
  cd_error e;
  dopt.name = "waterbirds";
  dopt.root = world;
  if (cd_dataset_load(&dopt, &d, &e)) return cd_cli_fail("%s", e.msg), -1;
  cd_clip_load_opts lo = {.towers = CD_TOWER_VISION}; /* only images are embedded */
  if (cd_clip_load(&m, model, &lo, &e)) {
    cd_dataset_free(&d);
    return cd_cli_fail("%s", e.msg), -1;
  }
  cd_embed_dataset_opts eo = {0};
  eo.embed = (cd_embed_opts){.batch = 64, .checkpoint_every = 60, .label = "embed", .log = stderr};
  cd_embed_dataset_result r;
  double t0 = cd_time_now();
  int rc = cd_embed_dataset(&m, &d, cache, &eo, &r, &e);
  if (rc) cd_cli_fail("%s", e.msg);
  else if (r.reused) printf("      cached in %s\n", cache);
  else printf("      %d images in %.1f s -> %s\n", r.rows, cd_time_now() - t0, cache);
  cd_clip_free(&m);
  cd_dataset_free(&d);
  return rc ? -1 : 0;
}

/* DPT and its comparisons: the methods that need no group label (zero-shot, ERM, DPT, and the
 * field's baselines on the pseudo groups or the attribute prompts), and the oracle and GroupDRO,
 * which read the training group labels (the table's "group labels" column says so). */
#define DEMO_METHODS "zeroshot,erm,dpt,oracle,gdro,gdro-pseudo,jtt,dfr-pseudo,orth-proj,orth-cali,roboshot"

/* The run of step 3 (paths aside), checked before anything is drawn or embedded. */
static int demo_config(const demo_args *a, cd_run_config *c, cd_error *e) {
  cd_run_config_default(c);
  c->optim.max_epoch = a->epochs;
  c->select = CD_SELECT_LAST; /* as CoOp reports prompt tuning: the trained prompt, unselected */
  c->threads = a->tune_threads;
  c->precision = a->precision;
  if (cd_run_config_set_methods(c, DEMO_METHODS, e) || cd_run_config_set_seeds(c, a->seeds, e))
    return -1;
  return cd_run_config_check(c, e);
}

/* Steps 2 and 3: embedding, then `run` with every method over the seeds. */
static int run_pipeline(const demo_args *a, const char *world, const char *model) {
  char cache[PATH_MAX + 64], run_dir[PATH_MAX + 16];
  cd_error e;
  printf("[2/3] embed with %s\n", model);
  fflush(stdout);
  /* One cache per model folder name: another model gets its own instead of a refusal. */
  const char *base = strrchr(model, '/');
  base = base && base[1] ? base + 1 : model;
  if (snprintf(cache, sizeof cache, "%s/cache-%s", world, base) >= (int)sizeof cache)
    return cd_cli_fail("demo: path too long: %s", world), -1;
  if (embed_world(world, model, cache)) return -1;
  /* a bf16 run has its own folder: a RUN_DIR is never resumed at another precision */
  if (snprintf(run_dir, sizeof run_dir, "%s/run%s", a->out, a->precision == CD_PREC_BF16 ? "-bf16" : "") >= (int)sizeof run_dir)
    return cd_cli_fail("demo: path too long: %s", a->out), -1;
  cd_run_config c;
  if (demo_config(a, &c, &e)) return cd_cli_fail("%s", e.msg), -1;
  c.cache_dir = cache;
  c.model = model;
  c.out_dir = run_dir;
  printf("[3/3] clipdebias run --cache %s --model %s --out %s --methods %s --seeds %s --epochs %d --select last%s\n",
         cache, model, run_dir, DEMO_METHODS, a->seeds, a->epochs, a->precision == CD_PREC_BF16 ? " --precision bf16" : "");
  fflush(stdout);
  cd_threads_set(c.threads);
  if (cd_report_after_run(run_dir, cd_run(&c, stdout, &e), stdout, &e)) return cd_cli_fail("%s", e.msg), -1;
  printf("results: %s/results.json\n", run_dir);
  return 0;
}

int cd_cmd_demo(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  demo_args a = {0};
  if (parse(argc, argv, &a)) return 1;
  a.tune_threads = a.threads ? a.threads : cd_threads_get();
  double t0 = cd_time_now();
  char world[PATH_MAX], model[PATH_MAX];
  cd_error e;
  cd_run_config checked;
  if (demo_config(&a, &checked, &e)) return cd_cli_fail("%s", e.msg);
  if (cd_mkdir_p(a.out, &e)) return cd_cli_fail("%s", e.msg);
  if (a.model) snprintf(model, sizeof model, "%s", a.model);
  else if (find_toyclip(model, sizeof model))
    return cd_cli_fail("demo: the toy CLIP (models/toyclip) was not found next to the program or in %s/models/toyclip; "
                       "set CLIPDEBIAS_TOYCLIP to its folder or pass --model",
                       CD_SOURCE_DIR);
  if (ensure_world(&a, world, sizeof world)) return 1; /* whole images per thread: scales */
  /* The toy CLIP's ops are small: split over threads they mostly wait for each other (on a
   * busy machine many times slower), so embedding runs on one thread unless asked. Tuning
   * uses every processor: its lockstep steps give each thread whole copies of the toy tower
   * (one join per step), and the results are the same bits at any thread count. */
  cd_threads_set(a.threads ? a.threads : 1);
  if (run_pipeline(&a, world, model)) return 1;
  printf("demo finished in %.0f s\n", cd_time_now() - t0);
  return 0;
}
