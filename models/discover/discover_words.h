/* What discovery reads besides the model: its candidate words (discover_words.c) and the
 * fingerprint of the cache it ran on. */
#ifndef CD_DISCOVER_WORDS_H
#define CD_DISCOVER_WORDS_H

#include <stddef.h>

#include "core/error.h"
#include "data/datasets/feature_cache.h"

/* The vocabulary: lines of path (blank lines and '#' comments skipped, whitespace trimmed).
 * An empty or unreadable file fails naming it. lines [n] get each word's line number. */
int cd_discover_words_load(const char *path, char ***words, int **lines, int *n, cd_error *e);
/* The shipped vocabulary (models/discover/words.txt next to the program, in an install's
 * share/clipdebias/, in the source tree, or $CLIPDEBIAS_WORDS); -1 when not found. */
int cd_discover_words_default(char *out, size_t cap);

/* XXH64 of the cache's features, labels and splits ("xxh64:..."): what a discovery was made on. */
void cd_discover_cache_fingerprint(const cd_feature_cache *c, char out[40]);

#endif
