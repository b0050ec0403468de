/* RUN_DIR/elapsed.json: the wall time of every invocation into a run folder, saved after each
 * epoch, so results.json reports the total even after kill -9 and a rerun. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/file.h"
#include "core/json.h"
#include "core/json_write.h"
#include "core/progress.h"
#include "models/run/run_internal.h"

static int elapsed_path(char *buf, const cd_run_state *st, cd_error *e) {
  if (cd_path_join(buf, 4200, st->cfg->out_dir, "elapsed.json")) return cd_fail(e, "%s: path too long", st->cfg->out_dir);
  return 0;
}

/* The time of earlier invocations into this RUN_DIR (none: 0). */
int cd_run_load_elapsed(cd_run_state *st, cd_error *e) {
  char path[4200];
  st->wall_before = 0;
  st->invocation = 1;
  if (elapsed_path(path, st, e)) return -1;
  if (!cd_file_exists(path)) return 0;
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 16, e);
  if (!doc) return -1;
  double s = 0;
  int n = 0;
  int rc = cd_json_field_num(cd_json_root(doc), "wall_seconds", 0, INFINITY, &s, path, e) ||
           cd_json_field_int(cd_json_root(doc), "invocations", 1, INT_MAX - 1, &n, path, e);
  cd_json_free(doc);
  if (rc) return -1;
  st->wall_before = s;
  st->invocation = n + 1;
  return 0;
}

double cd_run_wall_seconds(const cd_run_state *st) { return st->wall_before + (cd_time_now() - st->t0); }

int cd_run_write_elapsed(const cd_run_state *st, double seconds, cd_error *e) {
  char path[4200], *text = NULL;
  size_t n = 0;
  if (elapsed_path(path, st, e)) return -1;
  FILE *fp = open_memstream(&text, &n);
  if (!fp) return cd_fail(e, "%s: out of memory", path);
  cd_jw w;
  cd_jw_init(&w, fp);
  cd_jw_obj(&w);
  cd_jw_key(&w, "wall_seconds");
  cd_jw_fixed(&w, seconds, 3);
  cd_jw_kint(&w, "invocations", st->invocation);
  cd_jw_end(&w);
  fputc('\n', fp);
  fclose(fp);
  int rc = cd_write_file_atomic_nosync(path, text, n, e);
  free(text);
  return rc;
}

int cd_run_save_elapsed(const cd_run_state *st, cd_error *e) { return cd_run_write_elapsed(st, cd_run_wall_seconds(st), e); }
