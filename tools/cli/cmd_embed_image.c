/* clipdebias embed-image : upstream encode_image, float32 [N, D] .npy, from preprocessed
 * pixels or from image files (decoded and preprocessed here, exactly as upstream). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "models/embed/embed_images.h"
#include "tools/cli/args.h"
#include "tools/cli/cli_model.h"
#include "tools/cli/commands.h"
#include "tools/cli/image_inputs.h"

static void print_help(void) {
  printf("usage: clipdebias embed-image --model M (--pixels P.npy | --images FILE... | --list F)\n"
         "                              --out E.npy [--batch B] [--normalize] [--threads N]\n"
         "                              [--skip-bad] [--shard i/n] [--checkpoint-every S]\n"
         "                              [--precision P] [--isa L]\n\n"
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
         "  --checkpoint-every S  with image files, make progress durable every S seconds\n"
         "                  (default 60; 0 = never): rows go to E.npy.partial.npy as they are\n"
         "                  made, E.npy.partial.json vouches for them; rerunning the same\n"
         "                  command after an interruption resumes from there\n"
         CD_CLI_KERNEL_HELP
         "With image files, E.npy.json records the file of every output row, the skipped files\n"
         "and the shard, and rows follow the list order.\n");
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
static int run_pixels(const cd_clip *m, const char *pixels, int batch, const char *out, int normalize) {
  cd_array px = {0};
  cd_error e;
  int rc = load_pixels(pixels, m->vision.image_size, &px);
  if (rc == 0) {
    int N = (int)px.shape[0];
    float *feat = malloc(sizeof(float) * (size_t)N * (size_t)m->embed_dim);
    if (!feat) rc = cd_cli_fail("out of memory");
    else if (cd_embed_pixels(m, px.data, N, batch, "embed-image", feat, &e)) rc = cd_cli_fail("%s", e.msg);
    if (rc == 0) rc = save(out, feat, N, m->embed_dim, normalize);
    free(feat);
  }
  cd_array_free(&px);
  return rc;
}

/* --images / --list path: rows in list order, E.npy.json naming each row's file. */
static int run_files(const cd_clip *m, cd_image_inputs *in, int batch, const char *out, int normalize, double every) {
  cd_embed_opts eo = {batch, in->skip_bad, every, out, "embed-image", stderr, normalize, CD_F32};
  cd_embed_result r;
  cd_error e;
  if (cd_embed_image_list(m, &in->list, &eo, &r, &e)) return cd_cli_fail("%s", e.msg);
  int rc = 0;
  if (cd_embed_result_commit(&r, out, &e) || cd_image_list_write_sidecar(&in->list, out, m->path, m->vision.image_size, r.ok, &e))
    rc = cd_cli_fail("%s", e.msg);
  cd_embed_result_free(&r);
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
  cd_embed_opts check = {.checkpoint_every = every};
  cd_error e;
  if (cd_embed_opts_check(&check, &e)) {
    cd_cli_fail("%s", e.msg);
    goto done;
  }
  if (!pixels && cd_image_inputs_resolve(&in)) goto done;
  cd_clip m;
  o.towers = CD_TOWER_VISION;
  if (cd_cli_load_model(&o, 0, &m)) goto done;
  rc = pixels ? run_pixels(&m, pixels, batch, out, normalize) : run_files(&m, &in, batch, out, normalize, every);
  cd_clip_free(&m);
done:
  cd_image_inputs_free(&in);
  cd_cli_opts_free(&o);
  return rc;
}
