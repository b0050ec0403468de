/* libFuzzer harness: report.html of arbitrary run directories. The input is cut at its first
 * two NUL bytes into results.json, metrics.jsonl and args.json. Whatever they hold,
 * cd_report_write must not crash or leak, and every page it accepts to write must be
 * well-formed XML without a <script> (the strings of the run land escaped). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "tools/report/report.h"

#define CD_XML_CHECK_IMPLEMENTATION
#include "tests/xml_check.h"

static void put(const char *dir, const char *name, const uint8_t *data, size_t n) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, "wb");
  if (!fp || (n && fwrite(data, 1, n, fp) != n)) abort();
  fclose(fp);
}

static char dir[64]; /* one scratch run directory per fuzzing process */

static void remove_dir(void) {
  static const char *names[4] = {"results.json", "metrics.jsonl", "args.json", "report.html"};
  char path[256];
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    remove(path);
  }
  remove(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/fuzz_report_XXXXXX");
    if (!mkdtemp(dir)) abort();
    atexit(remove_dir);
  }
  const uint8_t *cut1 = memchr(data, 0, size), *end = data + size;
  const uint8_t *cut2 = cut1 ? memchr(cut1 + 1, 0, (size_t)(end - cut1 - 1)) : NULL;
  const uint8_t *metrics = cut1 ? cut1 + 1 : end, *args = cut2 ? cut2 + 1 : end;
  put(dir, "results.json", data, (size_t)((cut1 ? cut1 : end) - data));
  put(dir, "metrics.jsonl", metrics, (size_t)((cut2 ? cut2 : end) - metrics));
  put(dir, "args.json", args, (size_t)(end - args));
  cd_error e;
  char report[128], msg[256];
  snprintf(report, sizeof report, "%s/report.html", dir);
  if (cd_report_write(dir, &e) == 0) {
    uint8_t *page;
    size_t n;
    if (cd_file_read(report, (size_t)1 << 30, &page, &n, &e)) abort();
    if (cd_xml_check((const char *)page, n, msg, sizeof msg)) {
      fprintf(stderr, "report.html not well-formed: %s\n", msg);
      abort();
    }
    if (strstr((const char *)page, "<script")) abort();
    free(page);
    remove(report);
  }
  return 0;
}
