#include "tools/cli/image_inputs.h"

#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/progress.h"
#include "data/image/image_batch.h"
#include "tools/cli/args.h"

int cd_image_inputs_arg(int argc, char **argv, int *i, cd_image_inputs *in) {
  const char *a = argv[*i];
  if (cd_arg_is(a, "--images")) return cd_arg_values(argc, argv, i, &in->images, &in->n_images) ? -1 : 1;
  if (cd_arg_is(a, "--list")) {
    if (!(in->list_path = cd_arg_value(argc, argv, i))) return -1;
    return cd_read_lines(in->list_path, &in->list_lines, &in->n_list) ? -1 : 1;
  }
  if (cd_arg_is(a, "--skip-bad")) return in->skip_bad = 1;
  if (cd_arg_is(a, "--shard")) {
    const char *v = cd_arg_value(argc, argv, i);
    int idx, cnt, used = 0;
    if (!v || sscanf(v, "%d/%d%n", &idx, &cnt, &used) != 2 || v[used] || cnt < 1 || idx < 0 || idx >= cnt)
      return cd_cli_fail("--shard expects i/n with 0 <= i < n (e.g. 0/4), got '%s'", v ? v : ""), -1;
    in->shard_index = idx;
    in->shard_count = cnt;
    return 1;
  }
  return 0;
}

int cd_image_inputs_given(const cd_image_inputs *in) { return in->n_images > 0 || in->list_path; }

int cd_image_inputs_resolve(cd_image_inputs *in) {
  if (in->n_images && in->list_path) return cd_cli_fail("give either --images or --list, not both"), -1;
  if (in->list_path && in->n_list == 0) return cd_cli_fail("%s: the list has no paths", in->list_path), -1;
  in->paths = in->list_path ? (const char **)in->list_lines : in->images;
  in->total = in->list_path ? in->n_list : in->n_images;
  if (in->total == 0) return cd_cli_fail("no images given (--images or --list)"), -1;
  if (in->shard_count < 1) in->shard_count = 1;
  /* Contiguous slices: shard k covers [k*N/n, (k+1)*N/n), so merging is concatenation. */
  in->begin = (int)((long long)in->total * in->shard_index / in->shard_count);
  in->end = (int)((long long)in->total * (in->shard_index + 1) / in->shard_count);
  return 0;
}

void cd_image_inputs_free(cd_image_inputs *in) {
  free((void *)in->images);
  if (in->list_lines) cd_free_lines(in->list_lines, in->n_list);
  memset(in, 0, sizeof *in);
}

/* Moves the good images of a batch to the front of px, in order. Returns their count. */
static int compact_ok(float *px, size_t img_floats, const cd_image_status *st, int n) {
  int k = 0;
  for (int j = 0; j < n; j++) {
    if (!st[j].ok) continue;
    if (k != j) memcpy(px + (size_t)k * img_floats, px + (size_t)j * img_floats, img_floats * sizeof(float));
    k++;
  }
  return k;
}

int cd_image_inputs_run(const cd_image_inputs *in, int S, int batch, const char *label,
                        unsigned char *ok, cd_image_batch_fn fn, void *ctx) {
  int n_all = in->end - in->begin;
  size_t img_floats = (size_t)3 * S * S;
  float *px = malloc(sizeof(float) * img_floats * (size_t)batch);
  cd_image_status *st = malloc(sizeof(cd_image_status) * (size_t)batch);
  if (!px || !st) return free(px), free(st), cd_cli_fail("out of memory for a batch of %d images", batch);
  cd_progress prog;
  cd_progress_start(&prog, label, "img", (size_t)(n_all - in->resume_at));
  int rc = 0, skipped = 0;
  for (int start = in->resume_at; start < n_all && rc == 0; start += batch) {
    int n = n_all - start < batch ? n_all - start : batch;
    cd_error e;
    if (cd_image_batch_preprocess(in->paths + in->begin + start, n, S, 0, px, st, &e) < 0) {
      rc = cd_cli_fail("%s", e.msg);
      break;
    }
    for (int j = 0; j < n; j++) {
      ok[start + j] = (unsigned char)st[j].ok;
      if (st[j].ok) continue;
      if (!in->skip_bad) {
        cd_progress_finish(&prog);
        rc = cd_cli_fail("%s (use --skip-bad to skip unreadable images)", st[j].msg);
        break;
      }
      fprintf(stderr, "%sskipped: %s\n", prog.enabled ? "\r\033[K" : "", st[j].msg);
      skipped++;
    }
    if (rc) break;
    int n_ok = compact_ok(px, img_floats, st, n);
    if (fn(ctx, px, n_ok, start + n)) rc = 1;
    cd_progress_update(&prog, (size_t)(start + n - in->resume_at));
  }
  cd_progress_finish(&prog);
  if (rc == 0 && skipped) fprintf(stderr, "clipdebias: skipped %d unreadable image(s) of %d\n", skipped, n_all);
  free(px);
  free(st);
  return rc;
}

static void write_path_array(FILE *fp, const cd_image_inputs *in, const unsigned char *ok, int want_ok) {
  int first = 1;
  fputc('[', fp);
  for (int k = in->begin; k < in->end; k++) {
    if ((ok[k - in->begin] != 0) != want_ok) continue;
    fputs(first ? "\n    " : ",\n    ", fp);
    cd_json_write_string(fp, in->paths[k]);
    first = 0;
  }
  fputs(first ? "]" : "\n  ]", fp);
}

int cd_image_inputs_write_sidecar(const cd_image_inputs *in, const char *out, const char *model,
                                  int S, const unsigned char *ok) {
  char path[4200];
  snprintf(path, sizeof path, "%s.json", out);
  cd_atomic_file af;
  cd_error e;
  if (cd_atomic_open(&af, path, &e)) return cd_cli_fail("%s", e.msg);
  int rows = 0;
  for (int k = 0; k < in->end - in->begin; k++) rows += ok[k] != 0;
  FILE *fp = af.fp;
  fputs("{\n  \"output\": ", fp);
  cd_json_write_string(fp, out);
  fputs(",\n  \"model\": ", fp);
  cd_json_write_string(fp, model ? model : "");
  fprintf(fp, ",\n  \"image_size\": %d,\n  \"list\": ", S);
  cd_json_write_string(fp, in->list_path ? in->list_path : "");
  fprintf(fp, ",\n  \"total\": %d,\n  \"shard\": [%d, %d],\n  \"begin\": %d,\n  \"end\": %d,\n  \"rows\": %d,\n  \"paths\": ",
          in->total, in->shard_index, in->shard_count, in->begin, in->end, rows);
  write_path_array(fp, in, ok, 1);
  fputs(",\n  \"skipped\": ", fp);
  write_path_array(fp, in, ok, 0);
  fputs("\n}\n", fp);
  if (cd_atomic_commit(&af, &e)) return cd_cli_fail("%s", e.msg);
  return 0;
}

static void partial_paths(const char *out, char *json, char *npy, size_t cap) {
  snprintf(json, cap, "%s.partial.json", out);
  snprintf(npy, cap, "%s.partial.npy", out);
}

int cd_image_inputs_write_partial(const cd_image_inputs *in, const char *out, const char *model,
                                  const unsigned char *ok, int done, int rows) {
  char json[4200], npy[4200];
  partial_paths(out, json, npy, sizeof json);
  cd_atomic_file af;
  cd_error e;
  if (cd_atomic_open(&af, json, &e)) return cd_cli_fail("%s", e.msg);
  fputs("{\n  \"model\": ", af.fp);
  cd_json_write_string(af.fp, model ? model : "");
  fputs(",\n  \"list\": ", af.fp);
  cd_json_write_string(af.fp, in->list_path ? in->list_path : "");
  fprintf(af.fp, ",\n  \"total\": %d,\n  \"begin\": %d,\n  \"end\": %d,\n  \"done\": %d,\n  \"rows\": %d,\n  \"ok\": \"",
          in->total, in->begin, in->end, done, rows);
  for (int k = 0; k < done; k++) fputc(ok[k] ? '1' : '0', af.fp);
  fputs("\"\n}\n", af.fp);
  if (cd_atomic_commit(&af, &e)) return cd_cli_fail("%s", e.msg);
  return 0;
}

int cd_image_inputs_read_partial(const cd_image_inputs *in, const char *out, const char *model,
                                 unsigned char *ok, int *rows) {
  char json[4200], npy[4200];
  partial_paths(out, json, npy, sizeof json);
  *rows = 0;
  if (!cd_file_exists(json)) return 0;
  cd_error e;
  cd_json_doc *doc = cd_json_parse_file(json, (size_t)1 << 30, &e);
  if (!doc) return cd_cli_fail("%s (delete it to start over)", e.msg), -1;
  const cd_json *r = cd_json_root(doc);
  const char *flags = cd_json_get_str(r, "ok", "");
  int done = (int)cd_json_get_int(r, "done", -1);
  int same = !strcmp(cd_json_get_str(r, "model", ""), model ? model : "") &&
             !strcmp(cd_json_get_str(r, "list", ""), in->list_path ? in->list_path : "") &&
             cd_json_get_int(r, "total", -1) == in->total && cd_json_get_int(r, "begin", -1) == in->begin &&
             cd_json_get_int(r, "end", -1) == in->end && done >= 0 && done <= in->end - in->begin &&
             (int)strlen(flags) == done;
  if (!same) {
    cd_json_free(doc);
    fprintf(stderr, "clipdebias: %s belongs to another run; starting over\n", json);
    return 0;
  }
  int n_ok = 0;
  for (int k = 0; k < done; k++) n_ok += (ok[k] = flags[k] == '1');
  *rows = (int)cd_json_get_int(r, "rows", -1);
  cd_json_free(doc);
  if (*rows != n_ok) return cd_cli_fail("%s: rows %d disagree with its ok flags (%d); delete it to start over", json, *rows, n_ok), -1;
  return done;
}

void cd_image_inputs_remove_partial(const char *out) {
  char json[4200], npy[4200];
  partial_paths(out, json, npy, sizeof json);
  remove(json);
  remove(npy);
}
