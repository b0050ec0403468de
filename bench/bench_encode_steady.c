/* Steady-state image encoding, the clipdebias side of bench/compare_ort.sh: loads the model
 * once (with the same model options the commands take, parsed by tools/cli/cli_common.c),
 * encodes the first B images of a pixels .npy W times to warm up, then R more times, each
 * timed. Prints one JSON line:
 *   {"side": "clipdebias", "batch": B, "threads": T, "isa": "...", "load_s": model load,
 *    "first_s": first encode, "reps_s": [each timed encode]}
 * and writes the features of the last encode to --out (float32 .npy).
 *
 * usage: bench_encode_steady --model M --pixels P.npy [--batch B] [--warmup W] [--reps R]
 *                            [--out F.npy] [--threads N] [other model options of embed-image] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipdebias.h"
#include "tools/cli/args.h"
#include "tools/cli/cli_common.h"

typedef struct {
  const char *pixels, *out;
  int batch, warmup, reps;
} steady_opts;

/* Options of this bench first, then the commands' model options; 1 on a bad command line. */
static int parse(int argc, char **argv, steady_opts *s, cd_cli_opts *o) {
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_common_arg(argc, argv, &i, o);
    if (r < 0) return 1;
    if (r == 1) continue;
    const char *a = argv[i], *v = NULL;
    if (cd_arg_is(a, "--pixels")) {
      if (!(s->pixels = cd_arg_value(argc, argv, &i))) return 1;
    } else if (cd_arg_is(a, "--out")) {
      if (!(s->out = cd_arg_value(argc, argv, &i))) return 1;
    } else if (cd_arg_is(a, "--batch")) {
      if (!(v = cd_arg_value(argc, argv, &i)) || cd_arg_int(a, v, 1, 4096, &s->batch)) return 1;
    } else if (cd_arg_is(a, "--warmup")) {
      if (!(v = cd_arg_value(argc, argv, &i)) || cd_arg_int(a, v, 1, 1000, &s->warmup)) return 1;
    } else if (cd_arg_is(a, "--reps")) {
      if (!(v = cd_arg_value(argc, argv, &i)) || cd_arg_int(a, v, 0, 100000, &s->reps)) return 1;
    } else {
      return cd_cli_fail("bench_encode_steady: unknown option '%s'", a);
    }
  }
  if (!s->pixels) return cd_cli_fail("bench_encode_steady: --model and --pixels are required");
  return 0;
}

/* Times the encodes; reps_s receives s->reps durations. */
static int run(const clipdebias_model *m, const float *px, const steady_opts *s, float *feat, double *first_s,
               double *reps_s) {
  char err[1024];
  for (int i = 0; i < s->warmup + s->reps; i++) {
    double t0 = clipdebias_seconds();
    if (clipdebias_encode_pixels(m, px, s->batch, 0, feat, err, sizeof err)) return cd_cli_fail("%s", err);
    double dt = clipdebias_seconds() - t0;
    if (i == 0) *first_s = dt;
    if (i >= s->warmup) reps_s[i - s->warmup] = dt;
  }
  return 0;
}

static void print_json(const steady_opts *s, double load_s, double first_s, const double *reps_s) {
  printf("{\"side\": \"clipdebias\", \"batch\": %d, \"threads\": %d, \"isa\": \"%s\", \"load_s\": %.6f, "
         "\"first_s\": %.6f, \"reps_s\": [",
         s->batch, clipdebias_threads(), clipdebias_isa(), load_s, first_s);
  for (int i = 0; i < s->reps; i++) printf("%s%.6f", i ? ", " : "", reps_s[i]);
  printf("]}\n");
}

int main(int argc, char **argv) {
  steady_opts s = {NULL, NULL, 1, 2, 10};
  cd_cli_opts o = {0};
  clipdebias_model *m = NULL;
  char err[1024];
  int64_t shape[4];
  int rc = 1;
  float *px = NULL, *feat = NULL;
  double *reps_s = NULL, load_s, first_s = 0;
  if (parse(argc, argv, &s, &o)) goto done;
  if (clipdebias_read_npy(s.pixels, 4, shape, &px, err, sizeof err)) {
    cd_cli_fail("%s", err);
    goto done;
  }
  double t0 = clipdebias_seconds();
  if (!(m = cd_cli_load(&o, 0))) goto done;
  load_s = clipdebias_seconds() - t0;
  int S = clipdebias_image_size(m), D = clipdebias_embed_dim(m);
  if (shape[0] < s.batch || shape[1] != 3 || shape[2] != S || shape[3] != S) {
    cd_cli_fail("%s: shape [%lld, %lld, %lld, %lld], need [>= %d, 3, %d, %d]", s.pixels, (long long)shape[0],
                (long long)shape[1], (long long)shape[2], (long long)shape[3], s.batch, S, S);
    goto done;
  }
  feat = malloc(sizeof(float) * (size_t)s.batch * (size_t)D);
  reps_s = malloc(sizeof(double) * ((size_t)s.reps + 1));
  if (!feat || !reps_s) {
    cd_cli_fail("out of memory");
    goto done;
  }
  if (run(m, px, &s, feat, &first_s, reps_s)) goto done;
  if (s.out && clipdebias_write_npy(s.out, feat, s.batch, D, err, sizeof err)) {
    cd_cli_fail("%s", err);
    goto done;
  }
  print_json(&s, load_s, first_s, reps_s);
  rc = 0;
done:
  clipdebias_free(m);
  free(feat);
  free(reps_s);
  free(px);
  cd_cli_opts_free(&o);
  return rc;
}
