/* Reading the metadata files of image data sets: comma-separated files (RFC 4180 quoting,
 * CRLF, UTF-8 BOM) and the whitespace-separated text files CelebA ships, one record at a
 * time. Before parsing, the file is sniffed: an HTML error page, a zip or gzip archive or a
 * binary file saved under a .csv/.txt name is named as such instead of failing later with a
 * confusing "wrong columns" message.
 *
 *   cd_csv r;
 *   if (cd_csv_open(&r, path, CD_CSV_COMMA, e)) return -1;
 *   while ((rc = cd_csv_next(&r, e)) == 1) use(r.fields, r.n_fields, r.line);
 *   cd_csv_close(&r);
 *
 * Columns are found by header name, never by position (column order differs between copies
 * of the same data set): cd_csv_column() matches any of a list of aliases. */
#ifndef CD_CSV_H
#define CD_CSV_H

#include <stddef.h>

#include "core/error.h"

typedef enum {
  CD_CSV_COMMA,     /* "," separated, "..." quoting with "" escapes */
  CD_CSV_WHITESPACE /* runs of spaces/tabs separate fields, no quoting (list_attr_celeba.txt) */
} cd_csv_format;

typedef struct {
  char path[4096];   /* for messages */
  char *text;        /* the whole file, owned; fields are decoded in place */
  size_t size, pos;
  cd_csv_format format;
  int line;          /* 1-based line on which the current record starts */
  int record;        /* 0-based index of the current record (the header is record 0) */
  int at_line;       /* line of the read position */
  char **fields;     /* the current record's fields (point into text) */
  int n_fields, cap_fields;
} cd_csv;

/* Reads and sniffs the file (HTML page, archive, binary, empty are rejected with a message
 * saying what the file is). */
int cd_csv_open(cd_csv *r, const char *path, cd_csv_format format, cd_error *e);
/* Same over a copy of data[0..size); `what` names it in messages. */
int cd_csv_open_memory(cd_csv *r, const void *data, size_t size, const char *what, cd_csv_format format, cd_error *e);
/* Next non-blank record into r->fields: 1 got one, 0 end of file, -1 error (bad quoting). */
int cd_csv_next(cd_csv *r, cd_error *e);
void cd_csv_close(cd_csv *r);

/* Index of the first header field equal (ASCII case-insensitive, surrounding spaces
 * ignored) to one of aliases[] (NULL-terminated), or -1. */
int cd_csv_column(char *const *header, int n, const char *const *aliases);
/* Writes "a,b,c" (the header as found, truncated to fit) into out, for error messages. */
void cd_csv_header_text(char *const *header, int n, char *out, size_t cap);

/* Strict integer parsing of a field (optional sign, digits, surrounding spaces allowed). */
int cd_csv_int(const char *s, long long *out);

/* Writes s as one CSV field, quoted only when it holds a comma, quote, CR/LF or edge space. */
#include <stdio.h>
void cd_csv_write_field(FILE *fp, const char *s);

/* What a file is, judged by its first bytes: for a file that should be text, returns 0 when
 * it looks like text and -1 with a message naming path and what it really is otherwise
 * (HTML error page, zip/gzip/7z/tar archive, binary, empty). */
int cd_sniff_text(const char *path, const unsigned char *data, size_t size, cd_error *e);

#endif
