/* CSV / whitespace-table reader: RFC 4180 quoting (embedded commas, quotes, newlines), CRLF,
 * BOM, blank lines, line numbers of records, CelebA's space-padded table, header aliases,
 * strict integers, field quoting on write, and the sniffing of files that are not text. */
#include <stdlib.h>
#include <string.h>

#include "data/datasets/csv.h"
#include "tests/testutil.h"

static char g_dir[64];

static int open_text(cd_csv *r, const char *name, const char *text, cd_csv_format f, cd_error *e) {
  const char *p = cd_test_path(g_dir, name);
  cd_test_write_file(p, text, strlen(text));
  return cd_csv_open(r, p, f, e);
}

static void test_comma(void) {
  cd_csv r;
  cd_error e = {{0}};
  const char *text = "\xEF\xBB\xBFid,filename,y\r\n\r\n1,\"a,b.jpg\",0\r\n2,\"multi\nline \"\"q\"\"\",1\n3,,\n\n4,last,7";
  CHECK(open_text(&r, "a.csv", text, CD_CSV_COMMA, &e) == 0, "open: %s", e.msg);
  CHECK(cd_csv_next(&r, &e) == 1 && r.n_fields == 3 && !strcmp(r.fields[0], "id") && !strcmp(r.fields[2], "y") && r.line == 1,
        "header (BOM and CR stripped)");
  CHECK(cd_csv_next(&r, &e) == 1 && r.n_fields == 3 && !strcmp(r.fields[1], "a,b.jpg") && !strcmp(r.fields[2], "0") && r.line == 3,
        "quoted comma, blank line skipped, line %d", r.line);
  CHECK(cd_csv_next(&r, &e) == 1 && !strcmp(r.fields[1], "multi\nline \"q\"") && r.line == 4, "quoted newline and quotes");
  CHECK(cd_csv_next(&r, &e) == 1 && r.n_fields == 3 && !r.fields[1][0] && !r.fields[2][0] && r.line == 6, "empty fields, line %d",
        r.line);
  CHECK(cd_csv_next(&r, &e) == 1 && !strcmp(r.fields[1], "last") && !strcmp(r.fields[2], "7") && r.line == 8 && r.record == 4,
        "last line without newline, line %d record %d", r.line, r.record);
  CHECK(cd_csv_next(&r, &e) == 0, "end");
  cd_csv_close(&r);

  CHECK(open_text(&r, "b.csv", "a,b\n\"x\"y,1\n", CD_CSV_COMMA, &e) == 0 && cd_csv_next(&r, &e) == 1 && cd_csv_next(&r, &e) == -1 &&
            strstr(e.msg, "b.csv: line 2: unexpected character 'y' after a closing quote"), "junk after quote: %s", e.msg);
  cd_csv_close(&r);
}

static void test_whitespace(void) {
  cd_csv r;
  cd_error e = {{0}};
  const char *text = "3\n5_o_Clock_Shadow Blond_Hair Male \n000001.jpg -1  1 -1\n000002.jpg  1 -1  1\r\n000003.jpg\t1 1 1";
  CHECK(open_text(&r, "attr.txt", text, CD_CSV_WHITESPACE, &e) == 0, "open: %s", e.msg);
  CHECK(cd_csv_next(&r, &e) == 1 && r.n_fields == 1 && !strcmp(r.fields[0], "3"), "count line");
  CHECK(cd_csv_next(&r, &e) == 1 && r.n_fields == 3 && !strcmp(r.fields[2], "Male"), "names with trailing space: %d", r.n_fields);
  CHECK(cd_csv_next(&r, &e) == 1 && r.n_fields == 4 && !strcmp(r.fields[1], "-1") && !strcmp(r.fields[2], "1"), "padded values");
  CHECK(cd_csv_next(&r, &e) == 1 && r.n_fields == 4 && !strcmp(r.fields[3], "1") && r.line == 4, "CRLF row");
  CHECK(cd_csv_next(&r, &e) == 1 && r.n_fields == 4 && !strcmp(r.fields[0], "000003.jpg") && r.line == 5, "tab");
  CHECK(cd_csv_next(&r, &e) == 0, "end");
  cd_csv_close(&r);
}

static void test_columns_and_ints(void) {
  char *h[] = {"img_id", " IMG_FILENAME ", "y", "split", "place"};
  const char *file_alias[] = {"filename", "img_filename", "image_id", NULL};
  const char *a_alias[] = {"a", "place", "Male", NULL};
  const char *none[] = {"partition", NULL};
  CHECK(cd_csv_column(h, 5, file_alias) == 1, "alias, case and spaces ignored");
  CHECK(cd_csv_column(h, 5, a_alias) == 4, "place as a");
  CHECK(cd_csv_column(h, 5, none) == -1, "absent");
  char buf[24];
  cd_csv_header_text(h, 5, buf, sizeof buf);
  CHECK(!strcmp(buf, "img_id, IMG_FILENAME..."), "header text truncated: '%s'", buf);
  long long v;
  CHECK(cd_csv_int(" -12 ", &v) == 0 && v == -12, "int with spaces");
  CHECK(cd_csv_int("1.0", &v) == -1 && cd_csv_int("", &v) == -1 && cd_csv_int("1x", &v) == -1 &&
            cd_csv_int("99999999999999999999", &v) == -1, "strict ints");
}

static void test_write_field(void) {
  const char *p = cd_test_path(g_dir, "w.csv");
  FILE *fp = fopen(p, "wb");
  const char *vals[] = {"plain", "a,b", "say \"hi\"", " edge", "two\nlines"};
  for (int i = 0; i < 5; i++) {
    if (i) fputc(',', fp);
    cd_csv_write_field(fp, vals[i]);
  }
  fputc('\n', fp);
  fclose(fp);
  cd_csv r;
  cd_error e;
  CHECK(cd_csv_open(&r, p, CD_CSV_COMMA, &e) == 0 && cd_csv_next(&r, &e) == 1 && r.n_fields == 5, "reads back");
  for (int i = 0; i < 5 && r.n_fields == 5; i++) CHECK(!strcmp(r.fields[i], vals[i]), "field %d: '%s'", i, r.fields[i]);
  cd_csv_close(&r);
}

static void test_sniff(void) {
  struct {
    const char *bytes;
    size_t n;
    const char *want;
  } cases[] = {
      {"<!DOCTYPE html><html><title>Google Drive - Virus scan warning</title>", 60, "is an HTML page (probably a Google Drive"},
      {"\xEF\xBB\xBF  \n<html>", 12, "is an HTML page"},
      {"PK\x03\x04\x14\x00", 6, "is a zip archive, not a text file; unzip it first"},
      {"\x1f\x8b\x08\x00", 4, "is gzip-compressed"},
      {"7z\xBC\xAF\x27\x1C\x00\x04", 8, "is a 7z archive"},
      {"abc\0def", 7, "is a binary file"},
      {"", 0, "the file is empty"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cd_error e = {{0}};
    CHECK(cd_sniff_text("x.txt", (const unsigned char *)cases[i].bytes, cases[i].n, &e) == -1 && strstr(e.msg, cases[i].want) &&
              !strncmp(e.msg, "x.txt: ", 7), "sniff case %zu: '%s'", i, e.msg);
  }
  char tar[600] = "file.txt";
  memcpy(tar + 257, "ustar", 5);
  cd_error e = {{0}};
  CHECK(cd_sniff_text("t.csv", (const unsigned char *)tar, sizeof tar, &e) == -1 && strstr(e.msg, "tar archive"), "tar: %s", e.msg);
  CHECK(cd_sniff_text("ok.csv", (const unsigned char *)"a,b\n1,2\n", 8, &e) == 0, "text passes");
}

int main(void) {
  if (cd_test_make_tmpdir(g_dir, sizeof g_dir, "csv")) return 1;
  test_comma();
  test_whitespace();
  test_columns_and_ints();
  test_write_field();
  test_sniff();
  cd_test_remove_tmpdir(g_dir);
  return cd_test_finish("test_csv");
}
