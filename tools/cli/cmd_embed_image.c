/* clipdebias embed-image : upstream encode_image, float32 [N, D] .npy, from preprocessed
 * pixels or from image files (decoded and preprocessed here, exactly as upstream). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "core/progress.h"
#include "tools/cli/args.h"
#include "tools/cli/cli_common.h"
#include "tools/cli/commands.h"
#include "tools/cli/image_inputs.h"

static void print_help(void) {
  printf("usage: clipdebias embed-image --model M (--pixels P.npy | --images FILE... | --list F)\n"
         "                              --out E.npy [--batch B] [--normalize] [--threads N]\n"
         "                              [--skip-bad] [--shard i/n] [--checkpoint-every S]\n\n"
         "Writes float32 [N, D] image features, exactly upstream CLIP.encode_image (not\n"
         "L2-normalised unless --normalize).\n"
         "  --pixels P.npy  float32 [N, 3, S, S], already preprocessed (S = the model's image size)\n"
         "  --images F...   JPEG / PNG / PPM files, decoded and preprocessed as upstream\n"
         "                  (Resize(S, bicubic), CenterCrop(S), RGB, CLIP mean/std)\n"
         "  --list F        a text file with one image path per line\n"
         "  --batch B       images per forward pass (default 32); memory grows with B\n"
         "  --skip-bad      report unreadable images on stderr and go on (default: stop)\n"
         "  --shard i/n     only the i-th of n contiguous slices of the list (0-based), so n\n"
         "                  machines can share the work; join the outputs with `clipdebias merge`\n"
         "  --checkpoint-every S  with image files, save progress to E.npy.partial.{npy,json}\n"
         "                  every S seconds (default 60; 0 = never); rerunning the same command\n"
         "                  after an interruption resumes from there\n"
         "With image files, E.npy.json records the file of every output row, the skipped files\n"
         "and the shard, and rows follow the list order.\n");
}

typedef struct {
  const cd_clip *m;
  cd_arena *ws;   /* scratch of every batch (one arena for the whole run) */
  float *feat;    /* [capacity, D] */
  int rows;
  /* progress checkpoints (image files only): every `every` seconds */
  const cd_image_inputs *in;
  const char *out;
  const unsigned char *ok;
  double every, last_save;
} embed_ctx;

/* <out>.partial.npy first, then the .json that vouches for its first `rows` rows: if the
 * run dies between the two, the older .json still describes a prefix of the new .npy. */
static int save_partial(embed_ctx *c, int done) {
  char npy[4200];
  snprintf(npy, sizeof npy, "%s.partial.npy", c->out);
  int64_t shape[2] = {c->rows, c->m->embed_dim};
  cd_error e;
  if (cd_npy_save_f32(npy, 2, shape, c->feat, &e)) return cd_cli_fail("%s", e.msg);
  return cd_image_inputs_write_partial(c->in, c->out, c->m->path, c->ok, done, c->rows);
}

static int embed_batch(void *ctx, const float *pixels, int n, int done) {
  embed_ctx *c = ctx;
  cd_error e;
  if (n && cd_clip_encode_image_ws(c->m, pixels, n, c->feat + (size_t)c->rows * c->m->embed_dim, c->ws, &e))
    return cd_cli_fail("%s", e.msg);
  c->rows += n;
  if (c->out && c->every > 0 && cd_time_now() - c->last_save >= c->every && done < c->in->end - c->in->begin) {
    if (save_partial(c, done)) return 1;
    c->last_save = cd_time_now();
  }
  return 0;
}

/* Picks up <out>.partial.* from an interrupted run of the same model, list and shard. */
static int resume(embed_ctx *c, cd_image_inputs *in, unsigned char *ok) {
  int rows, done = cd_image_inputs_read_partial(in, c->out, c->m->path, ok, &rows);
  if (done <= 0) return done;
  char npy[4200];
  snprintf(npy, sizeof npy, "%s.partial.npy", c->out);
  cd_array a = {0};
  cd_error e;
  int rc = 0;
  if (cd_npy_load_f32(npy, 2, &a, &e)) rc = cd_cli_fail("%s (delete %s.partial.json to start over)", e.msg, c->out);
  else if (a.shape[1] != c->m->embed_dim || a.shape[0] < rows)
    rc = cd_cli_fail("%s: holds %lld rows of %lld, expected at least %d of %d; delete it to start over", npy,
                     (long long)a.shape[0], (long long)a.shape[1], rows, c->m->embed_dim);
  else {
    memcpy(c->feat, a.data, sizeof(float) * (size_t)rows * (size_t)c->m->embed_dim);
    c->rows = rows;
    in->resume_at = done;
    fprintf(stderr, "clipdebias: resuming %s after %d of %d files\n", c->out, done, in->end - in->begin);
  }
  cd_array_free(&a);
  return rc ? -1 : done;
}

static int encode_pixels(const cd_clip *m, cd_arena *ws, const cd_array *px, int batch, float *feat) {
  int N = (int)px->shape[0], S = m->vision.image_size;
  size_t img = (size_t)3 * S * S;
  cd_progress prog;
  cd_progress_start(&prog, "embed-image", "img", (size_t)N);
  for (int start = 0; start < N; start += batch) {
    int n = N - start < batch ? N - start : batch;
    embed_ctx c = {m, ws, feat + (size_t)start * m->embed_dim, 0, NULL, NULL, NULL, 0, 0};
    if (embed_batch(&c, (const float *)px->data + (size_t)start * img, n, 0)) return 1;
    cd_progress_update(&prog, (size_t)(start + n));
  }
  cd_progress_finish(&prog);
  return 0;
}

static int load_pixels(const char *path, int S, cd_array *px) {
  cd_error e;
  if (cd_npy_load_f32(path, 4, px, &e)) return cd_cli_fail("%s", e.msg);
  if (px->shape[1] != 3 || px->shape[2] != S || px->shape[3] != S || px->shape[0] < 1)
    return cd_cli_fail("%s: pixels have shape [%lld, %lld, %lld, %lld]; this model needs [N, 3, %d, %d]", path,
                       (long long)px->shape[0], (long long)px->shape[1], (long long)px->shape[2],
                       (long long)px->shape[3], S, S);
  return 0;
}

static int save(const char *out, float *feat, int rows, int D, int normalize) {
  cd_error e;
  if (normalize) cd_l2_normalize_rows(feat, rows, D);
  int64_t shape[2] = {rows, D};
  if (cd_npy_save_f32(out, 2, shape, feat, &e)) return cd_cli_fail("%s", e.msg);
  return 0;
}

/* --pixels path. */
static int run_pixels(const cd_clip *m, cd_arena *ws, const char *pixels, int batch, const char *out, int normalize) {
  cd_array px = {0};
  int rc = load_pixels(pixels, m->vision.image_size, &px);
  if (rc == 0) {
    int N = (int)px.shape[0];
    float *feat = malloc(sizeof(float) * (size_t)N * (size_t)m->embed_dim);
    rc = !feat ? cd_cli_fail("out of memory") : encode_pixels(m, ws, &px, batch, feat);
    if (rc == 0) rc = save(out, feat, N, m->embed_dim, normalize);
    free(feat);
  }
  cd_array_free(&px);
  return rc;
}

/* --images / --list path. */
static int run_files(const cd_clip *m, cd_arena *ws, cd_image_inputs *in, int batch, const char *out,
                     int normalize, double every) {
  int n = in->end - in->begin;
  unsigned char *ok = calloc((size_t)n + 1, 1);
  embed_ctx c = {m, ws, malloc(sizeof(float) * ((size_t)n + 1) * (size_t)m->embed_dim), 0, in, out, ok, every, cd_time_now()};
  int rc = (!c.feat || !ok) ? cd_cli_fail("out of memory") : 0;
  if (rc == 0 && every > 0 && resume(&c, in, ok) < 0) rc = 1;
  if (rc == 0) rc = cd_image_inputs_run(in, m->vision.image_size, batch, "embed-image", ok, embed_batch, &c);
  if (rc == 0) rc = save(out, c.feat, c.rows, m->embed_dim, normalize);
  if (rc == 0) rc = cd_image_inputs_write_sidecar(in, out, m->path, m->vision.image_size, ok);
  if (rc == 0) cd_image_inputs_remove_partial(out);
  free(c.feat);
  free(ok);
  return rc;
}

int cd_cmd_embed_image(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_cli_opts o = {0};
  cd_image_inputs in = {0};
  const char *out = NULL, *pixels = NULL;
  int normalize = 0, batch = 32, rc = 1;
  double every = 60;
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_common_arg(argc, argv, &i, &o);
    if (r == 0) r = cd_image_inputs_arg(argc, argv, &i, &in);
    if (r < 0) goto done;
    if (r == 1) continue;
    if (cd_arg_is(argv[i], "--out")) {
      if (!(out = cd_arg_value(argc, argv, &i))) goto done;
    } else if (cd_arg_is(argv[i], "--pixels")) {
      if (!(pixels = cd_arg_value(argc, argv, &i))) goto done;
    } else if (cd_arg_is(argv[i], "--batch")) {
      const char *v = cd_arg_value(argc, argv, &i);
      if (!v || cd_arg_int("--batch", v, 1, 4096, &batch)) goto done;
    } else if (cd_arg_is(argv[i], "--checkpoint-every")) {
      const char *v = cd_arg_value(argc, argv, &i);
      if (!v || cd_arg_float("--checkpoint-every", v, &every)) goto done;
    } else if (cd_arg_is(argv[i], "--normalize")) normalize = 1;
    else {
      cd_cli_fail("embed-image: unknown option '%s' (see --help)", argv[i]);
      goto done;
    }
  }
  if (!out || (!pixels && !cd_image_inputs_given(&in)) || (pixels && cd_image_inputs_given(&in))) {
    cd_cli_fail("embed-image: --out and one of --pixels, --images or --list are required");
    goto done;
  }
  if (!pixels && cd_image_inputs_resolve(&in)) goto done;
  cd_clip m;
  o.towers = CD_TOWER_VISION;
  if (cd_cli_load_model(&o, 0, &m)) goto done;
  cd_arena ws; /* without memory for it, each batch makes its own */
  int have_ws = cd_arena_init(&ws, cd_clip_image_scratch_bytes(&m, batch), NULL) == 0;
  rc = pixels ? run_pixels(&m, have_ws ? &ws : NULL, pixels, batch, out, normalize)
              : run_files(&m, have_ws ? &ws : NULL, &in, batch, out, normalize, every);
  if (have_ws) cd_arena_free(&ws);
  cd_clip_free(&m);
done:
  cd_image_inputs_free(&in);
  cd_cli_opts_free(&o);
  return rc;
}
