/* The one JSON writer: a streaming writer that puts the commas, colons, quotes and line breaks,
 * so a caller only says what comes next (open, key, value, close).
 *
 * Layout is chosen per container, because the files keep the layout they have always had
 * (scripts and checksums compare them byte for byte):
 *   inline  {"a": 1, "b": [2, 3]}                 cd_jw_obj / cd_jw_arr
 *   block   {\n  "a": 1,\n  "b": 2\n}             cd_jw_obj_block / cd_jw_arr_block
 * A block container puts each member on its own line, indented by `indent` spaces per open
 * container; cd_jw_br starts a new line before the next member of an inline container (for
 * files that group a few members per line). `tight` drops the spaces after ',' and ':'.
 *
 * Numbers: integers exactly; cd_jw_num writes the shortest of 15 or 17 significant digits that
 * reads back to the same double (0.9, not 0.90000000000000002), integral values below 1e15 as
 * integers. JSON has no NaN or infinity: every double writer writes null for them.
 * Strings are UTF-8, passed through; '"', '\\' and control characters are escaped.
 *
 * A misuse (a value where a key is due, unbalanced closes, nesting deeper than CD_JW_DEPTH)
 * marks the writer failed; cd_jw_commit then refuses the file instead of writing bad JSON. */
#ifndef CD_JSON_WRITE_H
#define CD_JSON_WRITE_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"

#define CD_JW_DEPTH 64 /* as deep as the parser reads */

typedef struct {
  FILE *fp;
  int indent;   /* spaces per level in block containers (2 unless set) */
  int tight;    /* 1: "," and ":" without the space after them */
  int depth;
  int after_key;
  int bad;      /* a misuse happened (see above) */
  unsigned char block[CD_JW_DEPTH], is_obj[CD_JW_DEPTH], br[CD_JW_DEPTH];
  int count[CD_JW_DEPTH];
} cd_jw;

/* Starts writing one JSON value to fp (indent 2, not tight). */
void cd_jw_init(cd_jw *w, FILE *fp);
/* Atomic file (temp + rename, core/file.h): opens path and starts a writer on it. */
int cd_jw_open(cd_jw *w, cd_atomic_file *af, const char *path, cd_error *e);
/* Ends the file with a newline and renames it into place; on a misuse or a write error the
 * temp file is removed and e names the file. */
int cd_jw_commit(cd_jw *w, cd_atomic_file *af, cd_error *e);
/* 0 when every container was closed and nothing was misused. */
int cd_jw_ok(const cd_jw *w);

void cd_jw_obj(cd_jw *w);
void cd_jw_arr(cd_jw *w);
void cd_jw_obj_block(cd_jw *w);
void cd_jw_arr_block(cd_jw *w);
void cd_jw_end(cd_jw *w);
/* The next member of the open container starts on a new line. */
void cd_jw_br(cd_jw *w);

void cd_jw_key(cd_jw *w, const char *key);
void cd_jw_str(cd_jw *w, const char *s);      /* NULL writes "" */
void cd_jw_str_or_null(cd_jw *w, const char *s); /* NULL or "" writes null */
void cd_jw_int(cd_jw *w, int64_t v);
void cd_jw_uint(cd_jw *w, uint64_t v);
void cd_jw_num(cd_jw *w, double v);
void cd_jw_g17(cd_jw *w, double v);            /* "%.17g": 17 digits always */
void cd_jw_fixed(cd_jw *w, double v, int decimals); /* "%.*f", e.g. seconds with 3 decimals */
void cd_jw_bool(cd_jw *w, int v);
void cd_jw_null(cd_jw *w);
/* A parsed value, inline (integers exactly, other numbers with 17 digits). */
void cd_jw_value(cd_jw *w, const cd_json *v);
/* Text that already is one JSON value (the caller vouches for it). */
void cd_jw_raw(cd_jw *w, const char *json);

/* Inline arrays. */
void cd_jw_strs(cd_jw *w, const char *const *s, int n);
void cd_jw_ints(cd_jw *w, const int64_t *v, int n);
void cd_jw_int32s(cd_jw *w, const int32_t *v, int n);
void cd_jw_nums(cd_jw *w, const double *v, int n);

/* Key and value in one call. */
void cd_jw_kstr(cd_jw *w, const char *key, const char *s);
void cd_jw_kint(cd_jw *w, const char *key, int64_t v);
void cd_jw_knum(cd_jw *w, const char *key, double v);
void cd_jw_kbool(cd_jw *w, const char *key, int v);
void cd_jw_kstr_or_null(cd_jw *w, const char *key, const char *s);

/* The string literal alone, with quotes and escapes, for text formats that embed JSON strings. */
void cd_json_write_string(FILE *fp, const char *s);

#endif
