/* clipdebias embed-image : upstream encode_image, float32 [N, D] .npy. */
#include <stdio.h>
#include <stdlib.h>

#include "core/npy.h"
#include "core/progress.h"
#include "tools/cli/args.h"
#include "tools/cli/cli_common.h"
#include "tools/cli/commands.h"

static void print_help(void) {
  printf("usage: clipdebias embed-image --model M --pixels P.npy --out E.npy\n"
         "                              [--batch B] [--normalize] [--threads N]\n\n"
         "Writes float32 [N, D] image features, exactly upstream CLIP.encode_image (not\n"
         "L2-normalised unless --normalize).\n"
         "  --pixels P.npy  float32 [N, 3, S, S], already preprocessed (S = the model's image size)\n"
         "  --batch B       images per forward pass (default 32); memory grows with B\n");
}

static int encode_pixels(const cd_clip *m, const cd_array *px, int batch, float *feat) {
  int N = (int)px->shape[0], S = m->vision.image_size;
  size_t img = (size_t)3 * S * S;
  cd_progress prog;
  cd_progress_start(&prog, "embed-image", "img", (size_t)N);
  cd_error e;
  for (int start = 0; start < N; start += batch) {
    int n = N - start < batch ? N - start : batch;
    if (cd_clip_encode_image(m, (const float *)px->data + (size_t)start * img, n,
                             feat + (size_t)start * m->embed_dim, &e))
      return cd_cli_fail("%s", e.msg);
    cd_progress_update(&prog, (size_t)(start + n));
  }
  cd_progress_finish(&prog);
  return 0;
}

int cd_cmd_embed_image(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_cli_opts o = {0};
  const char *out = NULL, *pixels = NULL;
  int normalize = 0, batch = 32, rc = 1;
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_common_arg(argc, argv, &i, &o);
    if (r < 0) goto done;
    if (r == 1) continue;
    if (cd_arg_is(argv[i], "--out")) {
      if (!(out = cd_arg_value(argc, argv, &i))) goto done;
    } else if (cd_arg_is(argv[i], "--pixels")) {
      if (!(pixels = cd_arg_value(argc, argv, &i))) goto done;
    } else if (cd_arg_is(argv[i], "--batch")) {
      const char *v = cd_arg_value(argc, argv, &i);
      if (!v || cd_arg_int("--batch", v, 1, 4096, &batch)) goto done;
    } else if (cd_arg_is(argv[i], "--normalize")) normalize = 1;
    else {
      cd_cli_fail("embed-image: unknown option '%s' (see --help)", argv[i]);
      goto done;
    }
  }
  if (!out || !pixels) {
    cd_cli_fail("embed-image: --out and --pixels are required");
    goto done;
  }
  cd_clip m;
  if (cd_cli_load_model(&o, 0, &m)) goto done;
  cd_array px = {0};
  cd_error e;
  int S = m.vision.image_size;
  if (cd_npy_load_f32(pixels, 4, &px, &e)) cd_cli_fail("%s", e.msg);
  else if (px.shape[1] != 3 || px.shape[2] != S || px.shape[3] != S || px.shape[0] < 1)
    cd_cli_fail("%s: pixels have shape [%lld, %lld, %lld, %lld]; this model needs [N, 3, %d, %d]", pixels,
                (long long)px.shape[0], (long long)px.shape[1], (long long)px.shape[2], (long long)px.shape[3], S, S);
  else {
    int N = (int)px.shape[0];
    float *feat = malloc(sizeof(float) * (size_t)N * (size_t)m.embed_dim);
    if (!feat) cd_cli_fail("out of memory");
    else if (encode_pixels(&m, &px, batch, feat) == 0) {
      if (normalize) cd_l2_normalize_rows(feat, N, m.embed_dim);
      int64_t shape[2] = {N, m.embed_dim};
      if (cd_npy_save_f32(out, 2, shape, feat, &e)) cd_cli_fail("%s", e.msg);
      else rc = 0;
    }
    free(feat);
  }
  cd_array_free(&px);
  cd_clip_free(&m);
done:
  cd_cli_opts_free(&o);
  return rc;
}
