/* Progress checkpoints of image embedding (models/embed/embed_images.h), with the committed
 * fixture model on copies of the JPEG fixtures:
 *   - a run stopped by a broken image checkpoints what it finished (even when no checkpoint
 *     was due yet); the rerun resumes there;
 *   - a crash between appending rows and writing the .json that vouches for them (the rows
 *     file longer than the .json says, with a torn row at its end) resumes from the .json and
 *     ends byte-identical to an uninterrupted run;
 *   - a .json vouching for more rows than the rows file holds is refused, the files kept;
 *   - a checkpoint of another model, another slice or other options (normalised rows) is
 *     reported and ignored;
 *   - without checkpoints nothing is left behind on failure;
 *   - a checkpoint writes only the rows since the previous one (bytes counted by the kernel
 *     in /proc/self/io), not the whole array again. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/npy.h"
#include "models/embed/embed_images.h"
#include "tests/testutil.h"

enum { N = 12, LONG_N = 40 };

static char g_dir[64];
static char g_files[N][128];
static const char *g_list[LONG_N];

static int copy_file(const char *from, const char *to) {
  uint8_t *data;
  size_t n;
  if (cd_file_read(from, 1 << 24, &data, &n, NULL)) return -1;
  int rc = cd_test_write_file(to, data, n);
  free(data);
  return rc;
}

static void break_image(int k) {
  const char page[] = "<!DOCTYPE html><html><body>Service Unavailable</body></html>\n";
  cd_test_write_file(g_files[k], page, sizeof page - 1);
}

static const char *const FIXTURES[] = {"tests/fixtures/jpeg/cj_420_64x48.jpg", "tests/fixtures/jpeg/cj_444_37x29.jpg",
                                       "tests/fixtures/jpeg/cj_422_130x7.jpg", "tests/fixtures/jpeg/cj_411_17x9.jpg"};

static void repair_image(int k) { copy_file(FIXTURES[k % 4], g_files[k]); }

typedef struct {
  int shard, count, batch, normalize;
  double every;
  const cd_clip *m;
  char log[4096];
} run_opts;

/* Embeds the list into <prefix>.npy (committed on success); returns the result code. */
static int run(const char *prefix, int n, run_opts *ro, cd_embed_result *r, cd_error *e) {
  cd_image_list l = {g_list, n, "test list", ro->shard, ro->count ? ro->count : 1, 0, 0, 0};
  char *text = NULL;
  size_t len = 0;
  FILE *log = open_memstream(&text, &len);
  cd_embed_opts o = {ro->batch ? ro->batch : 2, 0, ro->every, cd_test_path(g_dir, prefix), "test", log, ro->normalize, CD_F32};
  char out[200];
  snprintf(out, sizeof out, "%s.npy", o.partial_prefix);
  int rc = cd_image_list_slice(&l, e) || cd_embed_image_list(ro->m, &l, &o, r, e) ? -1 : 0;
  if (rc == 0 && cd_embed_result_commit(r, out, e)) rc = -1;
  fclose(log);
  snprintf(ro->log, sizeof ro->log, "%s", text ? text : "");
  free(text);
  return rc;
}

/* A run stopped by image k, broken for it and repaired afterwards: its result code. */
static int run_broken(int k, const char *prefix, run_opts *ro, cd_error *e) {
  cd_embed_result r;
  break_image(k);
  int rc = run(prefix, N, ro, &r, e);
  repair_image(k);
  if (rc == 0) cd_embed_result_free(&r);
  return rc;
}

static int exists(const char *name) { return cd_file_exists(cd_test_path(g_dir, name)); }

static void test_stop_resume_crash(const cd_clip *m) {
  cd_error e = {{0}};
  cd_embed_result r;
  run_opts ro = {.m = m, .every = 1e-9};
  CHECK(run_broken(5, "run", &ro, &e) == -1 && strstr(e.msg, "img05.jpg"), "stops at the broken 6th image: %s", e.msg);
  CHECK(exists("run.partial.json") && exists("run.partial.npy") && !exists("run.npy"), "checkpoint kept, no output");
  copy_file(cd_test_path(g_dir, "run.partial.json"), cd_test_path(g_dir, "at4.json"));
  CHECK(run_broken(9, "run", &ro, &e) == -1 && strstr(e.msg, "img09.jpg"), "second run stops at the 10th: %s", e.msg);
  CHECK(strstr(ro.log, "resuming") && strstr(ro.log, "after 4 of 12 files"), "second run resumed after 4: %s", ro.log);
  /* A crash after rows 4..7 were appended (and synced) but before the .json saying so, with
   * half a row torn off at the end: the old .json vouches for a prefix of the rows file. */
  copy_file(cd_test_path(g_dir, "at4.json"), cd_test_path(g_dir, "run.partial.json"));
  FILE *fp = fopen(cd_test_path(g_dir, "run.partial.npy"), "ab");
  fwrite("torn row", 1, 8, fp);
  fclose(fp);
  CHECK(run("run", N, &ro, &r, &e) == 0, "third run: %s", e.msg);
  CHECK(r.resumed_from == 4 && r.rows == N && strstr(ro.log, "after 4 of 12 files"), "resumed from the vouched 4 files (%d): %s",
        r.resumed_from, ro.log);
  CHECK(cd_test_same_file(cd_test_path(g_dir, "run.npy"), cd_test_path(g_dir, "clean.npy")), "resumed output == uninterrupted, byte for byte");
  CHECK(!exists("run.partial.json") && !exists("run.partial.npy"), "checkpoint files gone after the commit");
  cd_embed_result_free(&r);
}

/* No checkpoint fell due before the broken image: the failure itself saves the finished work. */
static void test_checkpoint_on_failure(const cd_clip *m) {
  cd_error e = {{0}};
  cd_embed_result r;
  run_opts ro = {.m = m, .every = 1e9};
  CHECK(run_broken(7, "late", &ro, &e) == -1, "stops at the 8th image");
  CHECK(exists("late.partial.json"), "a checkpoint was written when the run stopped");
  CHECK(run("late", N, &ro, &r, &e) == 0 && r.resumed_from == 6 && r.checkpoints == 0, "resumed after the 6 finished files (%d): %s",
        r.resumed_from, e.msg);
  CHECK(cd_test_same_file(cd_test_path(g_dir, "late.npy"), cd_test_path(g_dir, "clean.npy")), "== uninterrupted, byte for byte");
  cd_embed_result_free(&r);
}

static void test_short_rows_file(const cd_clip *m) {
  cd_error e = {{0}};
  cd_embed_result r;
  run_opts ro = {.m = m, .every = 1e-9};
  CHECK(run_broken(5, "short", &ro, &e) == -1, "stops");
  const char *npy = cd_test_path(g_dir, "short.partial.npy");
  CHECK(truncate(npy, 128 + 2 * 4 * m->embed_dim) == 0, "rows file cut to 2 rows");
  CHECK(run("short", N, &ro, &r, &e) == -1 && strstr(e.msg, "fewer than the 4 expected") && strstr(e.msg, "delete") &&
            strstr(e.msg, "short.partial.json"),
        "a .json vouching for missing rows is refused: %s", e.msg);
  CHECK(exists("short.partial.npy") && exists("short.partial.json"), "refused checkpoint files left for the user to look at");
}

static void test_other_runs(const cd_clip *m, const cd_clip *other) {
  cd_error e = {{0}};
  cd_embed_result r;
  run_opts ro = {.m = m, .every = 1e-9};
  run_broken(5, "other", &ro, &e);
  run_opts ro2 = {.m = other, .every = 1e-9};
  CHECK(run("other", N, &ro2, &r, &e) == 0 && r.resumed_from == 0, "another model: starts over (%s)", e.msg);
  CHECK(strstr(ro2.log, "is a checkpoint of another model (tests/fixtures/model/hf_f32; this run: tests/fixtures/model/openclip_f32); starting over"), "log: %s", ro2.log);
  CHECK(cd_test_same_file(cd_test_path(g_dir, "other.npy"), cd_test_path(g_dir, "clean_other.npy")), "== a clean run of that model");
  cd_embed_result_free(&r);

  run_opts s0 = {.m = m, .every = 1e-9, .shard = 0, .count = 2}, s1 = s0;
  s1.shard = 1;
  CHECK(run_broken(3, "slice", &s0, &e) == -1, "shard 0 stops at the 4th image");
  CHECK(run("slice", N, &s1, &r, &e) == 0 && r.resumed_from == 0 && r.rows == N / 2, "shard 1 into the same files: starts over");
  CHECK(strstr(s1.log, "another slice of the list (files 0 to 6)"), "log: %s", s1.log);
  cd_embed_result_free(&r);

  run_opts plain = {.m = m, .every = 1e-9}, unit = plain;
  unit.normalize = 1;
  run_broken(5, "norm", &plain, &e);
  CHECK(run("norm", N, &unit, &r, &e) == 0 && r.resumed_from == 0 && strstr(unit.log, "this run: tests/fixtures/model/hf_f32 (rows L2-normalised)"),
        "normalised rows do not resume plain ones: %s", unit.log);
  cd_embed_result_free(&r);
  cd_array a = {0};
  CHECK(cd_npy_load_f32(cd_test_path(g_dir, "norm.npy"), 2, &a, &e) == 0, "load: %s", e.msg);
  double worst = 0;
  for (int i = 0; a.data && i < N; i++) {
    double s = 0;
    for (int d = 0; d < m->embed_dim; d++) s += (double)((float *)a.data)[i * m->embed_dim + d] * ((float *)a.data)[i * m->embed_dim + d];
    worst = fabs(s - 1) > worst ? fabs(s - 1) : worst;
  }
  CHECK(worst < 1e-5, "every row has unit norm (max |norm^2 - 1| = %.2g)", worst);
  cd_array_free(&a);
}

static void test_no_checkpoints(const cd_clip *m) {
  cd_error e = {{0}};
  run_opts ro = {.m = m, .every = 0};
  CHECK(run_broken(5, "plain", &ro, &e) == -1, "stops");
  CHECK(!exists("plain.partial.npy") && !exists("plain.partial.json") && !exists("plain.npy"), "nothing left behind");
}

/* Bytes the kernel saw this process write (write + pwrite), or -1 without /proc. */
static long long written_bytes(void) {
  FILE *fp = fopen("/proc/self/io", "r");
  long long w = -1;
  char line[128];
  while (fp && fgets(line, sizeof line, fp))
    if (!strncmp(line, "wchar:", 6)) w = atoll(line + 6);
  if (fp) fclose(fp);
  return w;
}

static void test_checkpoint_bytes(const cd_clip *m) {
  cd_error e = {{0}};
  cd_embed_result r;
  run_opts none = {.m = m, .every = 0, .batch = 1}, each = {.m = m, .every = 1e-9, .batch = 1};
  long long w0 = written_bytes();
  if (w0 < 0) return;
  CHECK(run("bytes0", LONG_N, &none, &r, &e) == 0, "%s", e.msg);
  cd_embed_result_free(&r);
  long long w1 = written_bytes();
  CHECK(run("bytes1", LONG_N, &each, &r, &e) == 0, "%s", e.msg);
  int checkpoints = r.checkpoints;
  cd_embed_result_free(&r);
  long long w2 = written_bytes(), rows_bytes = (long long)LONG_N * m->embed_dim * 4;
  double per = (double)((w2 - w1) - (w1 - w0)) / (checkpoints ? checkpoints : 1);
  CHECK(checkpoints == LONG_N - 1, "a checkpoint after every batch but the last: %d", checkpoints);
  CHECK(w1 - w0 >= rows_bytes && w1 - w0 < rows_bytes + 4096, "without checkpoints the rows are written once: %lld bytes for %lld",
        w1 - w0, rows_bytes);
  /* Header (128) + the .json (~300 bytes here); rewriting the array would average 20 rows. */
  CHECK(per < 600, "extra bytes per checkpoint: %.0f (rows since the last one are already written; a row is %d bytes)", per,
        m->embed_dim * 4);
  CHECK(cd_test_same_file(cd_test_path(g_dir, "bytes0.npy"), cd_test_path(g_dir, "bytes1.npy")), "same output either way");
}

int main(void) {
  if (cd_test_make_tmpdir(g_dir, sizeof g_dir, "embed_resume")) return 1;
  for (int k = 0; k < N; k++) {
    snprintf(g_files[k], sizeof g_files[k], "%s/img%02d.jpg", g_dir, k);
    repair_image(k);
  }
  for (int k = 0; k < LONG_N; k++) g_list[k] = g_files[k % N];
  cd_error e = {{0}};
  cd_clip m, other;
  cd_clip_load_opts lo = {0};
  if (cd_clip_load(&m, "tests/fixtures/model/hf_f32", &lo, &e) || cd_clip_load(&other, "tests/fixtures/model/openclip_f32", &lo, &e))
    return fprintf(stderr, "%s\n", e.msg), 1;
  cd_embed_result r;
  run_opts clean = {.m = &m}, clean_other = {.m = &other};
  CHECK(run("clean", N, &clean, &r, &e) == 0 && r.rows == N && r.checkpoints == 0, "clean run: %s", e.msg);
  cd_embed_result_free(&r);
  CHECK(run("clean_other", N, &clean_other, &r, &e) == 0, "clean run, other model: %s", e.msg);
  cd_embed_result_free(&r);
  test_stop_resume_crash(&m);
  test_checkpoint_on_failure(&m);
  test_short_rows_file(&m);
  test_other_runs(&m, &other);
  test_no_checkpoints(&m);
  test_checkpoint_bytes(&m);
  cd_clip_free(&m);
  cd_clip_free(&other);
  cd_test_remove_tmpdir(g_dir);
  return cd_test_finish("test_embed_resume");
}
