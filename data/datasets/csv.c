/* One-record-at-a-time CSV / whitespace-table reader. The file is held in memory and every
 * field is decoded in place (unquoting only ever shrinks a field), so a 200,000-row CelebA
 * attribute file costs its own size and nothing per row. */
#include "data/datasets/csv.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "data/image/image.h"

/* Metadata files larger than this are not metadata. */
#define CSV_MAX_BYTES ((size_t)1 << 31)

static int has_prefix(const unsigned char *p, size_t n, const void *magic, size_t k) {
  return n >= k && memcmp(p, magic, k) == 0;
}

int cd_sniff_text(const char *path, const unsigned char *data, size_t size, cd_error *e) {
  if (size == 0) return cd_fail(e, "%s: the file is empty", path);
  if (cd_looks_like_html(data, size))
    return cd_fail(e, "%s: is an HTML page (probably a Google Drive or download error page), not the "
                      "annotation file; download it again", path);
  if (has_prefix(data, size, "PK\x03\x04", 4) || has_prefix(data, size, "PK\x05\x06", 4))
    return cd_fail(e, "%s: is a zip archive, not a text file; unzip it first", path);
  if (has_prefix(data, size, "\x1f\x8b", 2))
    return cd_fail(e, "%s: is gzip-compressed, not a text file; decompress it first (gunzip)", path);
  if (has_prefix(data, size, "7z\xBC\xAF\x27\x1C", 6))
    return cd_fail(e, "%s: is a 7z archive, not a text file; extract it first (7z x)", path);
  if (size > 262 && !memcmp(data + 257, "ustar", 5))
    return cd_fail(e, "%s: is a tar archive, not a text file; extract it first (tar xf)", path);
  size_t k = size < 4096 ? size : 4096;
  if (memchr(data, 0, k)) return cd_fail(e, "%s: is a binary file (NUL bytes), not a text table", path);
  return 0;
}

/* Takes ownership of text (size bytes + a NUL) after sniffing it. */
static int open_text(cd_csv *r, const char *what, uint8_t *text, size_t size, cd_csv_format format, cd_error *e) {
  memset(r, 0, sizeof *r);
  snprintf(r->path, sizeof r->path, "%s", what);
  if (cd_sniff_text(what, text, size, e)) return free(text), -1;
  r->format = format;
  r->record = -1;
  r->text = (char *)text;
  r->size = size;
  if (size >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) r->pos = 3; /* UTF-8 BOM (Excel) */
  r->line = r->at_line = 1;
  return 0;
}

int cd_csv_open(cd_csv *r, const char *path, cd_csv_format format, cd_error *e) {
  uint8_t *data;
  size_t size;
  memset(r, 0, sizeof *r);
  if (cd_file_read(path, CSV_MAX_BYTES, &data, &size, e)) return -1;
  return open_text(r, path, data, size, format, e);
}

int cd_csv_open_memory(cd_csv *r, const void *data, size_t size, const char *what, cd_csv_format format, cd_error *e) {
  memset(r, 0, sizeof *r);
  uint8_t *copy = cd_malloc(size + 1, e);
  if (!copy) return -1;
  if (size) memcpy(copy, data, size);
  copy[size] = 0;
  return open_text(r, what, copy, size, format, e);
}

void cd_csv_close(cd_csv *r) {
  free(r->text);
  free(r->fields);
  memset(r, 0, sizeof *r);
}

static int push_field(cd_csv *r, char *f, cd_error *e) {
  if (r->n_fields == r->cap_fields) {
    int cap = r->cap_fields ? r->cap_fields * 2 : 16;
    char **grown = realloc(r->fields, sizeof(char *) * (size_t)cap);
    if (!grown) return cd_fail(e, "%s: out of memory", r->path);
    r->fields = grown;
    r->cap_fields = cap;
  }
  r->fields[r->n_fields++] = f;
  return 0;
}

/* Skips blank lines (only spaces, tabs, CR) before a record, counting lines. */
static void skip_blank_lines(cd_csv *r) {
  for (;;) {
    size_t p = r->pos;
    while (p < r->size && (r->text[p] == ' ' || r->text[p] == '\t' || r->text[p] == '\r')) p++;
    if (p < r->size && r->text[p] == '\n') {
      r->pos = p + 1;
      r->at_line++;
      continue;
    }
    if (p >= r->size) r->pos = p;
    return;
  }
}

/* Whitespace table: fields are maximal runs of non-blank characters on one line. */
static int next_whitespace(cd_csv *r, cd_error *e) {
  char *t = r->text;
  size_t p = r->pos;
  while (p < r->size && t[p] != '\n') {
    while (p < r->size && (t[p] == ' ' || t[p] == '\t' || t[p] == '\r')) t[p++] = 0;
    if (p >= r->size || t[p] == '\n') break;
    if (push_field(r, t + p, e)) return -1;
    while (p < r->size && t[p] != ' ' && t[p] != '\t' && t[p] != '\r' && t[p] != '\n') p++;
  }
  if (p < r->size) t[p++] = 0; /* the newline */
  r->pos = p;
  r->at_line++;
  return 0;
}

/* One quoted field starting at t[*p] == '"', decoded to w; returns the end of the output. */
static char *quoted_field(cd_csv *r, size_t *pp, char *w, cd_error *e) {
  char *t = r->text;
  size_t p = *pp + 1, end = r->size;
  int start_line = r->at_line;
  for (;;) {
    if (p >= end) return cd_fail(e, "%s: line %d: a quoted field is never closed", r->path, start_line), NULL;
    if (t[p] == '"') {
      if (p + 1 < end && t[p + 1] == '"') {
        *w++ = '"';
        p += 2;
        continue;
      }
      p++;
      break;
    }
    if (t[p] == '\n') r->at_line++;
    *w++ = t[p++];
  }
  while (p < end && t[p] == '\r') p++;
  if (p < end && t[p] != ',' && t[p] != '\n')
    return cd_fail(e, "%s: line %d: unexpected character '%c' after a closing quote", r->path, r->at_line, t[p]), NULL;
  *pp = p;
  return w;
}

/* RFC 4180 record, decoded in place (the output never overtakes the input). */
static int next_comma(cd_csv *r, cd_error *e) {
  char *t = r->text;
  size_t p = r->pos, end = r->size;
  for (;;) {
    char *w = t + p;
    if (push_field(r, w, e)) return -1;
    if (p < end && t[p] == '"') {
      if (!(w = quoted_field(r, &p, w, e))) return -1;
    } else {
      while (p < end && t[p] != ',' && t[p] != '\n') *w++ = t[p++];
      if (w > r->fields[r->n_fields - 1] && w[-1] == '\r') w--; /* CRLF line ending */
    }
    int last = p >= end || t[p] == '\n';
    if (p < end) p++;
    *w = 0;
    if (last) break;
  }
  r->pos = p;
  r->at_line++;
  return 0;
}

int cd_csv_next(cd_csv *r, cd_error *e) {
  skip_blank_lines(r);
  if (r->pos >= r->size) return 0;
  r->n_fields = 0;
  r->line = r->at_line;
  int rc = r->format == CD_CSV_WHITESPACE ? next_whitespace(r, e) : next_comma(r, e);
  if (rc) return -1;
  r->record++;
  return 1;
}

static int ascii_ieq_trimmed(const char *field, const char *name) {
  while (*field == ' ') field++;
  size_t n = strlen(field);
  while (n && field[n - 1] == ' ') n--;
  if (n != strlen(name)) return 0;
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)field[i]) != tolower((unsigned char)name[i])) return 0;
  return 1;
}

int cd_csv_column(char *const *header, int n, const char *const *aliases) {
  for (const char *const *a = aliases; *a; a++)
    for (int i = 0; i < n; i++)
      if (ascii_ieq_trimmed(header[i], *a)) return i;
  return -1;
}

void cd_csv_header_text(char *const *header, int n, char *out, size_t cap) {
  size_t at = 0;
  int i = 0;
  out[0] = 0;
  for (; i < n && at + 1 < cap; i++) {
    int k = snprintf(out + at, cap - at, "%s%s", i ? "," : "", header[i]);
    if (k < 0) break;
    at += (size_t)k;
  }
  if ((at >= cap || i < n) && cap > 4) memcpy(out + cap - 4, "...", 4);
}

int cd_csv_int(const char *s, long long *out) {
  while (*s == ' ') s++;
  if (!*s) return -1;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s) return -1;
  while (*end == ' ') end++;
  if (*end) return -1;
  *out = v;
  return 0;
}

void cd_csv_write_field(FILE *fp, const char *s) {
  size_t n = strlen(s);
  int quote = n && (s[0] == ' ' || s[n - 1] == ' ');
  if (strpbrk(s, ",\"\r\n")) quote = 1;
  if (!quote) {
    fputs(s, fp);
    return;
  }
  fputc('"', fp);
  for (; *s; s++) {
    if (*s == '"') fputc('"', fp);
    fputc(*s, fp);
  }
  fputc('"', fp);
}
