/* Appendable .npy row files (core/npy_rows.h): the finished file is byte-identical to
 * cd_npy_save of the same rows; a file left by a crash (rows made durable, more rows and a
 * torn row after them) reopens at the durable count and ends identical; files that cannot be
 * resumed are refused with a message naming them. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/npy.h"
#include "core/npy_rows.h"
#include "tests/testutil.h"

enum { D = 5, N = 7 };

static long file_size(const char *path) {
  uint8_t *x = NULL;
  size_t n = 0;
  if (cd_file_read(path, 1 << 20, &x, &n, NULL)) return -1;
  free(x);
  return (long)n;
}

static void test_header_length(void) {
  uint8_t h[CD_NPY_HEADER_MAX];
  int64_t small[2] = {0, 512}, big[2] = {1000000000000000LL, 512}, one[1] = {3};
  size_t a = cd_npy_header(CD_F32, 2, small, h, NULL), b = cd_npy_header(CD_F32, 2, big, h, NULL);
  CHECK(a == 128 && b == 128, "header length does not depend on the row count: %zu, %zu (expected 128)", a, b);
  CHECK(cd_npy_header(CD_F32, 1, one, h, NULL) % 64 == 0, "header ends on a 64-byte boundary");
}

static void test_equal_to_save(const char *dir, const float *x) {
  const char *saved = cd_test_path(dir, "saved.npy"), *grown = cd_test_path(dir, "grown.partial.npy"),
             *out = cd_test_path(dir, "grown.npy");
  cd_error e = {{0}};
  int64_t shape[2] = {N, D};
  CHECK(cd_npy_save_f32(saved, 2, shape, x, &e) == 0, "save: %s", e.msg);
  cd_npy_rows f;
  CHECK(cd_npy_rows_create(&f, grown, D, CD_F32, &e) == 0, "create: %s", e.msg);
  CHECK(file_size(grown) == 128, "a new file is the header alone (%ld bytes)", file_size(grown));
  CHECK(cd_npy_rows_append(&f, x, 2, &e) == 0 && cd_npy_rows_append(&f, x + 2 * D, 0, &e) == 0 &&
            cd_npy_rows_append(&f, x + 2 * D, N - 2, &e) == 0,
        "append: %s", e.msg);
  CHECK(f.rows == N, "rows counted: %lld", (long long)f.rows);
  CHECK(cd_npy_rows_commit(&f, out, &e) == 0, "commit: %s", e.msg);
  CHECK(!cd_file_exists(grown), "commit moves the file");
  CHECK(cd_test_same_file(out, saved), "appended file == cd_npy_save of the same rows, byte for byte");
}

/* A crash after 3 rows were synced, 2 more appended and half a row torn. */
static void test_crash_and_reopen(const char *dir, const float *x) {
  const char *work = cd_test_path(dir, "crash.partial.npy"), *out = cd_test_path(dir, "crash.npy");
  cd_error e = {{0}};
  cd_npy_rows f;
  CHECK(cd_npy_rows_create(&f, work, D, CD_F32, &e) == 0 && cd_npy_rows_append(&f, x, 3, &e) == 0 && cd_npy_rows_sync(&f, &e) == 0 &&
            cd_npy_rows_append(&f, x + 3 * D, 2, &e) == 0,
        "before the crash: %s", e.msg);
  float junk[D] = {1e30f, -1e30f, 7, 7, 7};
  CHECK(pwrite(f.fd, junk, sizeof junk / 2, 128 + 5 * D * 4) > 0, "torn row written");
  cd_npy_rows_close(&f);
  CHECK(file_size(work) == 128 + 5 * D * 4 + (long)sizeof junk / 2, "the crashed file holds more than was synced");
  CHECK(cd_npy_rows_reopen(&f, work, D, CD_F32, 3, &e) == 0, "reopen at 3 rows: %s", e.msg);
  CHECK(file_size(work) == 128 + 3 * D * 4, "reopen cut the file to the 3 durable rows (%ld bytes)", file_size(work));
  CHECK(cd_npy_rows_append(&f, x + 3 * D, N - 3, &e) == 0 && cd_npy_rows_commit(&f, out, &e) == 0, "finish: %s", e.msg);
  CHECK(cd_test_same_file(out, cd_test_path(dir, "saved.npy")), "resumed file == uninterrupted, byte for byte");
}

static void test_refused(const char *dir, const float *x) {
  const char *work = cd_test_path(dir, "short.partial.npy");
  cd_error e = {{0}};
  cd_npy_rows f;
  CHECK(cd_npy_rows_create(&f, work, D, CD_F32, &e) == 0 && cd_npy_rows_append(&f, x, 2, &e) == 0 && cd_npy_rows_sync(&f, &e) == 0,
        "two rows: %s", e.msg);
  cd_npy_rows_close(&f);
  CHECK(cd_npy_rows_reopen(&f, work, D, CD_F32, 4, &e) == -1 && strstr(e.msg, "holds 2 complete rows, fewer than the 4 expected") &&
            strstr(e.msg, "short.partial.npy"),
        "fewer rows than vouched for: %s", e.msg);
  CHECK(file_size(work) == 128 + 2 * D * 4, "a refused file is left as it was");
  CHECK(cd_npy_rows_reopen(&f, work, D + 1, CD_F32, 1, &e) == -1 && strstr(e.msg, "not a float32 [rows, 6] array"), "other width: %s", e.msg);
  const char *html = cd_test_path(dir, "page.partial.npy");
  const char page[] = "<!DOCTYPE html><html>quota exceeded</html>";
  cd_test_write_file(html, page, sizeof page - 1);
  CHECK(cd_npy_rows_reopen(&f, html, D, CD_F32, 0, &e) == -1 && strstr(e.msg, "page.partial.npy: not a float32"), "not an npy: %s", e.msg);
  CHECK(cd_npy_rows_reopen(&f, cd_test_path(dir, "absent.npy"), D, CD_F32, 0, &e) == -1 && strstr(e.msg, "absent.npy: cannot open"),
        "missing file: %s", e.msg);
  CHECK(!f.is_open, "nothing left open after a refusal");
  cd_npy_rows z = {0};
  int before = fcntl(0, F_GETFD);
  cd_npy_rows_close(&z); /* a zeroed struct is closed: fd 0 must stay as it was */
  CHECK(fcntl(0, F_GETFD) == before, "fd 0 untouched by closing a zeroed struct");
}

int main(void) {
  char dir[64];
  if (cd_test_make_tmpdir(dir, sizeof dir, "npy_rows")) return 1;
  float x[N * D];
  cd_test_fill(x, N * D, 7, 3.0f);
  test_header_length();
  test_equal_to_save(dir, x);
  test_crash_and_reopen(dir, x);
  test_refused(dir, x);
  cd_test_remove_tmpdir(dir);
  return cd_test_finish("test_npy_rows");
}
