/* libFuzzer harness: any bytes, read as a comma-separated or a whitespace table, either give
 * records whose fields are NUL-terminated strings inside the buffer on non-decreasing lines,
 * or fail with a message naming the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/datasets/csv.h"

static void read_all(const uint8_t *data, size_t size, cd_csv_format format) {
  cd_csv r;
  cd_error e;
  if (cd_csv_open_memory(&r, data, size, "fuzz.csv", format, &e)) {
    if (strncmp(e.msg, "fuzz.csv", 8)) abort();
    return;
  }
  int rc, last_line = 0;
  while ((rc = cd_csv_next(&r, &e)) == 1) {
    if (r.n_fields < 1 || r.line < last_line) abort();
    last_line = r.line;
    for (int i = 0; i < r.n_fields; i++) {
      const char *f = r.fields[i];
      if (f < r.text || f > r.text + r.size) abort();
      if (strlen(f) > (size_t)(r.text + r.size - f)) abort();
    }
    if (r.n_fields >= 2) (void)cd_csv_column(r.fields, r.n_fields, (const char *const[]){"filename", "y", NULL});
  }
  if (rc < 0 && strncmp(e.msg, "fuzz.csv", 8)) abort();
  cd_csv_close(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  read_all(data, size, CD_CSV_COMMA);
  read_all(data, size, CD_CSV_WHITESPACE);
  return 0;
}
