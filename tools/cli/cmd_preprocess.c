/* clipdebias preprocess : image files -> float32 [N, 3, S, S] pixels exactly as upstream CLIP
 * preprocessing gives them. The .npy is streamed batch by batch into a temp file (so memory
 * stays bounded) and renamed into place at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "core/file.h"
#include "tools/cli/args.h"
#include "tools/cli/cli_model.h"
#include "tools/cli/commands.h"
#include "tools/cli/image_inputs.h"

static void print_help(void) {
  printf("usage: clipdebias preprocess (--model M | --size S) (--images FILE... | --list F) --out P.npy\n"
         "                             [--batch B] [--skip-bad] [--shard i/n] [--threads N]\n\n"
         "Decodes JPEG / PNG / PPM files and applies upstream CLIP preprocessing: Resize(S, bicubic)\n"
         "in the image's own mode (Pillow's algorithm), CenterCrop(S), convert to RGB, /255,\n"
         "normalise with the CLIP mean/std. Writes float32 [N, 3, S, S] and P.npy.json listing the\n"
         "file of every row. S comes from the model (--model) or --size.\n");
}

/* A v1.0 .npy header padded to a fixed 128 bytes, so it can be rewritten in place once the
 * final row count is known. */
static void npy_header(char hdr[128], long long rows, int S) {
  memset(hdr, ' ', 128);
  memcpy(hdr, "\x93NUMPY\x01\x00\x76\x00", 10);
  char dict[118];
  int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, 3, %d, %d), }", rows, S, S);
  memcpy(hdr + 10, dict, (size_t)n);
  hdr[127] = '\n';
}

typedef struct {
  FILE *fp;
  int S;
  long long rows;
} pre_ctx;

static int write_batch(void *ctx, const float *pixels, int n, int done, cd_error *e) {
  (void)done;
  pre_ctx *c = ctx;
  size_t count = (size_t)n * 3 * (size_t)c->S * (size_t)c->S;
  if (fwrite(pixels, sizeof(float), count, c->fp) != count) return cd_fail(e, "write failed: %s", strerror(errno));
  c->rows += n;
  return 0;
}

int cd_cmd_preprocess(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_cli_opts o = {0};
  cd_image_inputs in = {0};
  const char *out = NULL;
  int S = 0, batch = 32, rc = 1;
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_common_arg(argc, argv, &i, &o);
    if (r == 0) r = cd_image_inputs_arg(argc, argv, &i, &in);
    if (r < 0) goto done;
    if (r == 1) continue;
    const char *v;
    if (cd_arg_is(argv[i], "--out")) {
      if (!(out = cd_arg_value(argc, argv, &i))) goto done;
    } else if (cd_arg_is(argv[i], "--size")) {
      if (!(v = cd_arg_value(argc, argv, &i)) || cd_arg_int("--size", v, 1, 4096, &S)) goto done;
    } else if (cd_arg_is(argv[i], "--batch")) {
      if (!(v = cd_arg_value(argc, argv, &i)) || cd_arg_int("--batch", v, 1, 4096, &batch)) goto done;
    } else {
      cd_cli_fail("preprocess: unknown option '%s' (see --help)", argv[i]);
      goto done;
    }
  }
  if (!out || (!o.model && !S)) {
    cd_cli_fail("preprocess: --out and one of --model or --size are required");
    goto done;
  }
  if (cd_image_inputs_resolve(&in)) goto done;
  if (o.model) {
    cd_clip m;
    o.towers = CD_TOWER_VISION;
    if (cd_cli_load_model(&o, 0, &m)) goto done;
    S = m.vision.image_size;
    cd_clip_free(&m);
  }
  cd_atomic_file af;
  cd_error e;
  if (cd_atomic_open(&af, out, &e)) {
    cd_cli_fail("%s", e.msg);
    goto done;
  }
  char hdr[128];
  npy_header(hdr, 0, S);
  fwrite(hdr, 1, sizeof hdr, af.fp);
  pre_ctx c = {af.fp, S, 0};
  unsigned char *ok = calloc((size_t)(in.list.end - in.list.begin) + 1, 1);
  cd_image_run_opts ro = {S, batch, in.skip_bad, "preprocess", stderr};
  if (!ok) rc = cd_cli_fail("out of memory");
  else rc = cd_image_list_run(&in.list, &ro, ok, NULL, write_batch, &c, &e) ? cd_cli_fail("%s", e.msg) : 0;
  if (rc == 0) {
    npy_header(hdr, c.rows, S);
    if (fseek(af.fp, 0, SEEK_SET) != 0 || fwrite(hdr, 1, sizeof hdr, af.fp) != sizeof hdr) rc = cd_cli_fail("%s: write failed: %s", out, strerror(errno));
  }
  if (rc == 0 && cd_atomic_commit(&af, &e)) rc = cd_cli_fail("%s", e.msg);
  if (rc != 0) cd_atomic_abort(&af);
  if (rc == 0 && cd_image_list_write_sidecar(&in.list, out, o.model, S, ok, &e)) rc = cd_cli_fail("%s", e.msg);
  free(ok);
done:
  cd_image_inputs_free(&in);
  cd_cli_opts_free(&o);
  return rc;
}
