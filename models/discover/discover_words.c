/* The candidate vocabulary of discovery: a plain text file, one word or short phrase a line. */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/hash.h"
#include "models/discover/discover_words.h"

#ifndef CD_SOURCE_DIR
#define CD_SOURCE_DIR "."
#endif

enum { MAX_WORDS = 1 << 20, MAX_WORD = 200 };

static void free_words(char **w, int n) {
  for (int i = 0; i < n; i++) free(w[i]);
  free(w);
}

int cd_discover_words_load(const char *path, char ***words, int **lines, int *n, cd_error *e) {
  uint8_t *buf;
  size_t len;
  *words = NULL, *lines = NULL, *n = 0;
  if (cd_file_read(path, (size_t)1 << 30, &buf, &len, e)) return cd_fail(e, "%s: cannot read the word list (%s)", path, e->msg);
  int cap = 0, rc = 0, line = 0;
  char **w = NULL;
  int *ln = NULL;
  for (size_t at = 0; at < len && !rc;) {
    size_t end = at;
    while (end < len && buf[end] != '\n') end++;
    line++;
    size_t a = at, b = end;
    at = end + 1;
    while (a < b && isspace(buf[a])) a++;
    while (b > a && isspace(buf[b - 1])) b--;
    if (a == b || buf[a] == '#') continue;
    if (memchr(buf + a, 0, b - a)) rc = cd_fail(e, "%s: line %d holds a NUL byte (not a text file?)", path, line);
    else if (b - a > MAX_WORD) rc = cd_fail(e, "%s: line %d is %zu bytes long; candidates are words or short phrases (at most %d bytes)", path, line, b - a, MAX_WORD);
    else if (*n == MAX_WORDS) rc = cd_fail(e, "%s: more than %d candidates", path, MAX_WORDS);
    if (rc) break;
    if (*n == cap) {
      cap = cap ? 2 * cap : 256;
      char **w2 = realloc(w, sizeof(char *) * (size_t)cap);
      int *l2 = w2 ? realloc(ln, sizeof(int) * (size_t)cap) : NULL;
      if (w2) w = w2;
      if (l2) ln = l2;
      if (!w2 || !l2) { rc = cd_fail(e, "%s: out of memory", path); break; }
    }
    if (!(w[*n] = strndup((const char *)buf + a, b - a))) { rc = cd_fail(e, "%s: out of memory", path); break; }
    ln[(*n)++] = line;
  }
  free(buf);
  if (!rc && *n == 0) rc = cd_fail(e, "%s: no candidate words (the file is empty or only comments)", path);
  if (rc) {
    free_words(w, *n), free(ln);
    *n = 0;
    return -1;
  }
  *words = w, *lines = ln;
  return 0;
}

int cd_discover_words_default(char *out, size_t cap) {
  static const char *const REL[] = {"../models/discover/words.txt", "../share/clipdebias/words.txt",
                                    "models/discover/words.txt"};
  return cd_find_shipped(out, cap, "CLIPDEBIAS_WORDS", REL, 3, CD_SOURCE_DIR "/models/discover/words.txt",
                         cd_file_exists);
}

void cd_discover_cache_fingerprint(const cd_feature_cache *c, char out[40]) {
  cd_xxh64_state s;
  cd_xxh64_init(&s, 0);
  int32_t dims[2] = {c->N, c->D};
  cd_xxh64_update(&s, dims, sizeof dims);
  /* the features as float32 rows, whatever the cache stores (a float16 cache has no float32
   * array to hash); streamed, so the hash is the one of the whole array at once */
  enum { ROWS = 1024 };
  float *rows = malloc(sizeof(float) * ROWS * (size_t)c->D);
  for (int i = 0; rows && i < c->N; i += ROWS) {
    int n = c->N - i < ROWS ? c->N - i : ROWS;
    cd_feature_cache_rows(c, i, n, rows);
    cd_xxh64_update(&s, rows, sizeof(float) * (size_t)n * c->D);
  }
  free(rows);
  cd_xxh64_update(&s, c->y, sizeof(int32_t) * (size_t)c->N);
  cd_xxh64_update(&s, c->split, sizeof(int32_t) * (size_t)c->N);
  snprintf(out, 40, "xxh64:%016llx", (unsigned long long)cd_xxh64_final(&s));
}
