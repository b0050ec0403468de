/* Tiny test harness shared by tests/test_*.c. A test binary exits 0 when every check
 * passed, 1 on any failure, 77 when it skipped (reference data absent). Every check
 * prints the measured number next to its tolerance so a failure says how far off it was. */
#ifndef CD_TESTUTIL_H
#define CD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern int cd_test_failures;
extern int cd_test_checks;

#define CHECK(cond, ...)                                                      \
  do {                                                                        \
    cd_test_checks++;                                                         \
    if (!(cond)) {                                                            \
      cd_test_failures++;                                                     \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                    \
      fprintf(stderr, __VA_ARGS__);                                           \
      fprintf(stderr, "\n");                                                  \
    }                                                                         \
  } while (0)

/* max|a-b| / max|b| (b is the reference). */
double cd_test_max_rel(const float *a, const float *b, size_t n);
double cd_test_max_abs(const float *a, const float *b, size_t n);
/* Checks max|a-b|/max|b| <= tol, printing "name: max rel err X (tol Y)". Returns 1 if ok. */
int cd_test_close(const char *name, const float *a, const float *b, size_t n, double tol);

/* Path of ../shared/reference (or $CLIPDEBIAS_REFERENCE); NULL when absent. */
const char *cd_test_reference_dir(void);
/* Exits 77 with a message if the reference directory is absent; returns it otherwise. */
const char *cd_test_require_reference(void);

/* Deterministic pseudo-random numbers for test inputs. */
float cd_test_randf(uint64_t *state);          /* uniform [-1, 1) */
void cd_test_fill(float *x, size_t n, uint64_t seed, float scale);

/* A fresh directory /tmp/<name>_XXXXXX for files a test writes (0 ok, -1 with perror), and
 * its removal with everything in it. */
int cd_test_make_tmpdir(char *buf, size_t cap, const char *name);
void cd_test_remove_tmpdir(const char *dir);
/* "dir/name" in one of 4 rotating static buffers, so a few paths can be alive at once. */
const char *cd_test_path(const char *dir, const char *name);
/* Writes n bytes to path (for hand-made hostile files); 0 ok, -1 on failure. */
int cd_test_write_file(const char *path, const void *data, size_t n);

/* 1 when both files can be read and hold the same bytes. */
int cd_test_same_file(const char *a, const char *b);

/* Prints the summary line and returns the process exit code. */
int cd_test_finish(const char *name);

#endif
