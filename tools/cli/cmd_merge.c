/* clipdebias merge : joins the outputs of `embed-image --shard i/n` (or `preprocess --shard`)
 * run on several machines back into one array in list order, after checking that the shards
 * belong together: same list length, same shard count, every index exactly once, same model
 * and trailing shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/npy.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

static void print_help(void) {
  printf("usage: clipdebias merge --out E.npy SHARD.npy...\n\n"
         "Concatenates shard outputs (each with its SHARD.npy.json written by embed-image or\n"
         "preprocess with --shard i/n) in shard order, checks they are the complete set from the\n"
         "same list and model, and writes E.npy plus E.npy.json with every row's file.\n"
         "Example (4 machines, then one merge):\n"
         "  clipdebias embed-image --model M --list all.txt --shard 2/4 --out part2.npy\n"
         "  clipdebias merge --out all.npy part0.npy part1.npy part2.npy part3.npy\n");
}

typedef struct {
  const char *npy;
  cd_json_doc *doc;
  const cd_json *root;
  int index, count, total, rows;
  cd_array a;
} shard;

static int load_shard(shard *s, cd_error *e) {
  char path[4200];
  snprintf(path, sizeof path, "%s.json", s->npy);
  if (!(s->doc = cd_json_parse_file(path, (size_t)1 << 30, e))) return -1;
  s->root = cd_json_root(s->doc);
  const cd_json *sh = cd_json_get(s->root, "shard");
  if (!sh || sh->type != CD_JSON_ARRAY || sh->n != 2) return cd_fail(e, "%s: no \"shard\": [i, n] entry", path);
  s->index = (int)sh->items[0].integer;
  s->count = (int)sh->items[1].integer;
  s->total = (int)cd_json_get_int(s->root, "total", -1);
  s->rows = (int)cd_json_get_int(s->root, "rows", -1);
  if (cd_npy_load(s->npy, &s->a, e)) return -1;
  if (s->a.dtype != CD_F32 || s->a.ndim < 1 || s->a.shape[0] != s->rows)
    return cd_fail(e, "%s: expected float32 with %d rows as its .json says", s->npy, s->rows);
  return 0;
}

static int check_set(shard *s, int n, cd_error *e) {
  for (int k = 0; k < n; k++) {
    if (s[k].count != n) return cd_fail(e, "%s: is shard %d/%d, but %d shards were given", s[k].npy, s[k].index, s[k].count, n);
    if (s[k].total != s[0].total) return cd_fail(e, "%s: comes from a list of %d files, %s from %d", s[k].npy, s[k].total, s[0].npy, s[0].total);
    if (strcmp(cd_json_get_str(s[k].root, "model", ""), cd_json_get_str(s[0].root, "model", "")) != 0)
      return cd_fail(e, "%s: was made with a different model than %s", s[k].npy, s[0].npy);
    if (s[k].a.ndim != s[0].a.ndim || memcmp(s[k].a.shape + 1, s[0].a.shape + 1, sizeof(int64_t) * (size_t)(s[0].a.ndim - 1)))
      return cd_fail(e, "%s: row shape differs from %s", s[k].npy, s[0].npy);
    for (int j = 0; j < k; j++)
      if (s[j].index == s[k].index) return cd_fail(e, "%s and %s are both shard %d", s[j].npy, s[k].npy, s[k].index);
  }
  return 0;
}

static int by_index(const void *a, const void *b) { return ((const shard *)a)->index - ((const shard *)b)->index; }

static void write_paths(FILE *fp, const shard *s, int n, const char *key) {
  int first = 1;
  fprintf(fp, ",\n  \"%s\": [", key);
  for (int k = 0; k < n; k++) {
    const cd_json *arr = cd_json_get(s[k].root, key);
    for (size_t i = 0; arr && arr->type == CD_JSON_ARRAY && i < arr->n; i++) {
      fputs(first ? "\n    " : ",\n    ", fp);
      cd_json_write_string(fp, arr->items[i].str ? arr->items[i].str : "");
      first = 0;
    }
  }
  fputs(first ? "]" : "\n  ]", fp);
}

static int write_merged(const char *out, shard *s, int n, cd_error *e) {
  size_t row_floats = 1, rows = 0;
  for (int d = 1; d < s[0].a.ndim; d++) row_floats *= (size_t)s[0].a.shape[d];
  for (int k = 0; k < n; k++) rows += (size_t)s[k].rows;
  float *all = cd_malloc(sizeof(float) * (rows * row_floats + 1), e);
  if (!all) return -1;
  size_t at = 0;
  for (int k = 0; k < n; k++) {
    memcpy(all + at, s[k].a.data, sizeof(float) * (size_t)s[k].rows * row_floats);
    at += (size_t)s[k].rows * row_floats;
  }
  int64_t shape[8];
  memcpy(shape, s[0].a.shape, sizeof shape);
  shape[0] = (int64_t)rows;
  int rc = cd_npy_save(out, CD_F32, s[0].a.ndim, shape, all, e);
  free(all);
  if (rc) return -1;
  char path[4200];
  snprintf(path, sizeof path, "%s.json", out);
  cd_atomic_file af;
  if (cd_atomic_open(&af, path, e)) return -1;
  fputs("{\n  \"output\": ", af.fp);
  cd_json_write_string(af.fp, out);
  fputs(",\n  \"model\": ", af.fp);
  cd_json_write_string(af.fp, cd_json_get_str(s[0].root, "model", ""));
  fprintf(af.fp, ",\n  \"image_size\": %d,\n  \"list\": ", (int)cd_json_get_int(s[0].root, "image_size", 0));
  cd_json_write_string(af.fp, cd_json_get_str(s[0].root, "list", ""));
  fprintf(af.fp, ",\n  \"total\": %d,\n  \"shard\": [0, 1],\n  \"begin\": 0,\n  \"end\": %d,\n  \"rows\": %zu",
          s[0].total, s[0].total, rows);
  write_paths(af.fp, s, n, "paths");
  write_paths(af.fp, s, n, "skipped");
  fputs("\n}\n", af.fp);
  return cd_atomic_commit(&af, e);
}

int cd_cmd_merge(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  const char *out = NULL;
  shard *s = calloc((size_t)argc, sizeof(shard));
  int n = 0, rc = 1;
  cd_error e;
  if (!s) return cd_cli_fail("out of memory");
  for (int i = 1; i < argc; i++) {
    if (cd_arg_is(argv[i], "--out")) {
      if (!(out = cd_arg_value(argc, argv, &i))) goto done;
    } else if (!strncmp(argv[i], "--", 2)) {
      cd_cli_fail("merge: unknown option '%s' (see --help)", argv[i]);
      goto done;
    } else s[n++].npy = argv[i];
  }
  if (!out || n == 0) {
    cd_cli_fail("merge: --out and at least one shard .npy are required");
    goto done;
  }
  for (int k = 0; k < n; k++)
    if (load_shard(&s[k], &e)) {
      cd_cli_fail("%s", e.msg);
      goto done;
    }
  if (check_set(s, n, &e)) {
    cd_cli_fail("%s", e.msg);
    goto done;
  }
  qsort(s, (size_t)n, sizeof *s, by_index);
  if (write_merged(out, s, n, &e)) cd_cli_fail("%s", e.msg);
  else rc = 0;
done:
  for (int k = 0; k < n; k++) {
    cd_json_free(s[k].doc);
    cd_array_free(&s[k].a);
  }
  free(s);
  return rc;
}
