/* report.html from the run-directory fixtures in tests/fixtures/report/ (made by
 * tools/gen/gen_report_fixtures.py in the schema `clipdebias run` writes, and toyrun/: what
 * `run` wrote for the Gaussian toy world of test_debias_toy, one seed):
 *   - the strict XML checker and the offline-page checker reject what they must;
 *   - every good fixture renders to a well-formed page that references nothing outside it;
 *   - every number of results.json appears in the results and per-group tables, formatted
 *     here independently of the writer ("%.1f", "± %.1f" over several seeds, "–" for null);
 *   - figures carry what the data says (bars per method and group, selection markers);
 *   - warnings: the run's own, and those the page derives when a writer listed none;
 *   - bad run directories fail with one message naming the file and the field, leaving no
 *     report.html or temporary file behind. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "tools/report/report.h"
#include "tests/testutil.h"

#define CD_XML_CHECK_IMPLEMENTATION
#include "tests/xml_check.h"

#define FIX "tests/fixtures/report"

static const char *RUN_FILES[3] = {"results.json", "metrics.jsonl", "args.json"};

static char *slurp(const char *path, size_t *n) {
  uint8_t *data;
  size_t size;
  cd_error e;
  if (cd_file_read(path, (size_t)1 << 28, &data, &size, &e)) return NULL;
  if (n) *n = size;
  return (char *)data;
}

/* Copies a fixture's files (those present) into a fresh temp dir. */
static int stage(const char *fixture, char *dir, size_t cap) {
  char src[512];
  if (cd_test_make_tmpdir(dir, cap, "report")) return -1;
  for (int i = 0; i < 3; i++) {
    size_t n;
    snprintf(src, sizeof src, FIX "/%s/%s", fixture, RUN_FILES[i]);
    if (!cd_file_exists(src)) continue;
    char *data = slurp(src, &n);
    if (!data || cd_test_write_file(cd_test_path(dir, RUN_FILES[i]), data, n)) {
      free(data);
      return -1;
    }
    free(data);
  }
  return 0;
}

/* Replaces the first occurrence of `from` in dir/file by `to`. */
static int edit(const char *dir, const char *file, const char *from, const char *to) {
  size_t n;
  char *text = slurp(cd_test_path(dir, file), &n);
  char *at = text ? strstr(text, from) : NULL;
  if (!at) {
    free(text);
    return -1;
  }
  size_t head = (size_t)(at - text), fl = strlen(from), tl = strlen(to);
  char *out = malloc(n - fl + tl + 1);
  memcpy(out, text, head);
  memcpy(out + head, to, tl);
  memcpy(out + head + tl, at + fl, n - head - fl);
  int rc = cd_test_write_file(cd_test_path(dir, file), out, n - fl + tl);
  free(text);
  free(out);
  return rc;
}

/* Files in dir other than the three inputs: report.html, or leftovers. */
static int count_outputs(const char *dir, int *temps) {
  DIR *d = opendir(dir);
  int n = 0;
  *temps = 0;
  if (!d) return -1;
  for (struct dirent *de; (de = readdir(d));) {
    if (de->d_name[0] == '.') continue;
    int input = 0;
    for (int i = 0; i < 3; i++) input |= !strcmp(de->d_name, RUN_FILES[i]);
    if (input) continue;
    n++;
    *temps += strstr(de->d_name, ".tmp") != NULL;
  }
  closedir(d);
  return n;
}

static int count(const char *s, const char *needle) {
  int n = 0;
  for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

/* Renders fixture into a staged temp dir; returns the page (caller frees) or NULL. */
static char *render(const char *fixture, char *dir, size_t cap) {
  cd_error e;
  if (stage(fixture, dir, cap)) {
    CHECK(0, "%s: could not stage the fixture", fixture);
    return NULL;
  }
  if (cd_report_write(dir, &e)) {
    CHECK(0, "%s: cd_report_write failed: %s", fixture, e.msg);
    return NULL;
  }
  int temps, outputs = count_outputs(dir, &temps);
  CHECK(outputs == 1 && temps == 0, "%s: %d outputs, %d temp files (want report.html only)", fixture, outputs, temps);
  size_t n;
  char *html = slurp(cd_test_path(dir, "report.html"), &n);
  CHECK(html != NULL, "%s: report.html not readable", fixture);
  if (!html) return NULL;
  char msg[512];
  CHECK(cd_xml_check(html, n, msg, sizeof msg) == 0, "%s: report.html not well-formed: %s", fixture, msg);
  CHECK(cd_page_check_offline(html, n, msg, sizeof msg) == 0, "%s: report.html not self-contained: %s", fixture, msg);
  return html;
}

/* ---- the checkers themselves must reject bad pages ---- */

static void test_xml_checker(void) {
  static const char *good[] = {
      "<a/>",
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/></head><body/></html>\n",
      "<?xml version=\"1.0\"?><!-- c --><a x='1' y=\"&amp;&lt;&#65;&#x3b1;\">t&gt;<![CDATA[<&]]><?pi x?></a><!--end-->",
      "<a>caf\xC3\xA9 \xE2\x80\x94 \xF0\x9F\x98\x80</a>",
      "<svg viewBox=\"0 0 1 1\"><text x=\"1\">\xC2\xB1</text></svg>",
  };
  static const struct {
    const char *doc, *why;
  } bad[] = {
      {"<a><b></a>", "closes <b>"},
      {"<a>", "never closed"},
      {"<a></a><b/>", "after the root"},
      {"<a></a>text", "after the root"},
      {"<a x=1/>", "not quoted"},
      {"<a x=\"1\" x=\"2\"/>", "given twice"},
      {"<a x=\"<\"/>", "'<' in the value"},
      {"<a>&</a>", "not starting a reference"},
      {"<a>&nbsp;</a>", "undeclared entity"},
      {"<a>&#0;</a>", "forbids"},
      {"<a>]]></a>", "']]>' in text"},
      {"<a><!-- a -- b --></a>", "'--' inside a comment"},
      {"<a>\x01</a>", "forbids"},
      {"<a>\xC3</a>", "invalid UTF-8"},
      {"<a>\xC0\xAF</a>", "invalid UTF-8"},
      {"<a>\xEF\xBF\xBE</a>", "invalid UTF-8"},
      {"<a><br></a>", "closes <br>"},
      {"<!DOCTYPE html [<!ENTITY x \"y\">]><a/>", "internal DTD subset"},
      {"<a x=\"1\"y=\"2\"/>", "expected space"},
      {" <?xml version=\"1.0\"?><a/>", "XML declaration"},
      {"", "no root element"},
  };
  char msg[256];
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    CHECK(cd_xml_check(good[i], strlen(good[i]), msg, sizeof msg) == 0, "xml check rejected good doc %zu: %s", i, msg);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = cd_xml_check(bad[i].doc, strlen(bad[i].doc), msg, sizeof msg);
    CHECK(rc == -1 && strstr(msg, bad[i].why), "xml check on bad doc %zu: rc %d, message '%s' (want '%s')", i, rc, msg,
          bad[i].why);
  }
}

static void test_page_checker(void) {
  static const char *bad[] = {
      "<p>see http://example.org</p>",
      "<img src=\"x.png\"/>",
      "<img alt=\"\" src='https:x'/>",
      "<a href=\"page.html\">x</a>",
      "<script>1</script>",
      "<link rel=\"stylesheet\" href=\"#x\"/>",
      "<style>@import 'x.css';</style>",
      "<style>p{background:url(x.png)}</style>",
      "<p style=\"background:url( 'y.png')\">x</p>",
      "<svg><image href=\"a.png\"/></svg>",
      "<iframe/>",
  };
  static const char *good[] = {
      "<p>a src=x.png text and url(x) text, href=y</p>",
      "<img src=\"data:image/png;base64,AAAA\"/><a href=\"#top\">t</a><style>p{fill:url(#g)}</style>",
  };
  char msg[256];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK(cd_page_check_offline(bad[i], strlen(bad[i]), msg, sizeof msg) == -1, "offline check passed bad page %zu", i);
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    CHECK(cd_page_check_offline(good[i], strlen(good[i]), msg, sizeof msg) == 0, "offline check rejected page %zu: %s",
          i, msg);
}

/* ---- numbers: every value of results.json in the tables ---- */

/* The text of the <td> cells of the first <tr> that contains `marker` and comes after `from`. */
static int row_cells(const char *from, const char *marker, char cells[][64], int max) {
  const char *row = strstr(from, marker);
  if (!row) return -1;
  const char *end = strstr(row, "</tr>");
  int n = 0;
  for (const char *td = strstr(row, "<td"); td && td < end && n < max; td = strstr(td + 1, "<td")) {
    const char *open = strchr(td, '>'), *close = strstr(td, "</td>");
    if (!open || !close) break;
    snprintf(cells[n++], 64, "%.*s", (int)(close - open - 1), open + 1);
  }
  return n;
}

static const char *STATS[4] = {"avg_acc", "avg_acc_adjusted", "worst_group_acc", "gap"};

static void expected(char *buf, size_t cap, const cd_json *v, const cd_json *sd, int several) {
  if (!v || v->type != CD_JSON_NUMBER) snprintf(buf, cap, "–");
  else if (several && sd && sd->type == CD_JSON_NUMBER) snprintf(buf, cap, "%.1f ± %.1f", 100 * v->number, 100 * sd->number);
  else snprintf(buf, cap, "%.1f", 100 * v->number);
}

static int several_seeds(const cd_json *method, const cd_json *root) {
  const cd_json *sel = cd_json_get(method, "selected_epoch");
  if (sel && sel->type == CD_JSON_ARRAY && sel->n) return sel->n > 1;
  const cd_json *seeds = cd_json_get(root, "seeds");
  return seeds && seeds->n > 1;
}

static void check_group_table(const char *fixture, const char *html, const cd_json *root, const char *split) {
  char marker[64];
  snprintf(marker, sizeof marker, "data-split=\"%s\"", split);
  const char *table = strstr(html, marker);
  CHECK(table != NULL, "%s: no %s group table", fixture, split);
  if (!table) return;
  const cd_json *order = cd_json_get(root, "method_order"), *methods = cd_json_get(root, "methods");
  int G = (int)cd_json_get_int(root, "n_groups", 0), checked = 0;
  const char *row = strstr(table, "<tbody>");
  for (int g = 0; g < G && row; g++) {
    char cells[32][64];
    row = strstr(row, "<tr>");
    int n = row_cells(row, "<tr>", cells, 32);
    for (size_t m = 0; m < order->n; m++) {
      const cd_json *me = cd_json_get(methods, order->items[m].str), *sp = cd_json_get(me, split);
      const cd_json *gr = cd_json_get(sp, "groups");
      char want[64];
      expected(want, sizeof want, cd_json_get(&gr->items[g], "acc"), cd_json_get(&gr->items[g], "acc_std"),
               several_seeds(me, root));
      CHECK(n > 2 + (int)m && !strcmp(cells[2 + m], want), "%s: %s group %d, %s: cell '%s', want '%s'", fixture, split, g,
            order->items[m].str, n > 2 + (int)m ? cells[2 + m] : "(missing)", want);
      checked++;
    }
    char want_n[32];
    snprintf(want_n, sizeof want_n, "%lld",
             (long long)cd_json_get_int(&cd_json_get(cd_json_get(cd_json_get(methods, order->items[0].str), split), "groups")->items[g], "n", -1));
    CHECK(n > 1 && !strcmp(cells[1], want_n), "%s: %s group %d count '%s', want '%s'", fixture, split, g,
          n > 1 ? cells[1] : "", want_n);
    row += 4;
  }
  CHECK(checked == G * (int)order->n, "%s: %s group table: %d cells checked, want %d", fixture, split, checked,
        G * (int)order->n);
}

/* Every (method, split, statistic) of results.json against the results table. */
static void check_numbers(const char *fixture, const char *html) {
  char path[256];
  cd_error e;
  snprintf(path, sizeof path, FIX "/%s/results.json", fixture);
  cd_json_doc *doc = cd_json_parse_file(path, (size_t)1 << 26, &e);
  CHECK(doc != NULL, "%s", doc ? "" : e.msg);
  if (!doc) return;
  const cd_json *root = cd_json_root(doc), *order = cd_json_get(root, "method_order");
  const cd_json *methods = cd_json_get(root, "methods");
  const char *table = strstr(html, "<table class=\"bk res\">");
  CHECK(table != NULL, "%s: no results table", fixture);
  int checked = 0;
  for (size_t m = 0; table && m < order->n; m++) {
    const char *name = order->items[m].str;
    const cd_json *me = cd_json_get(methods, name);
    char marker[128], cells[16][64];
    snprintf(marker, sizeof marker, "<tr data-method=\"%s\">", name);
    int n = row_cells(table, marker, cells, 16);
    CHECK(n >= 8, "%s: results row of %s has %d cells", fixture, name, n);
    for (int t = 0; t < 2 && n >= 8; t++) {
      const cd_json *sp = cd_json_get(me, t ? "val" : "test");
      for (int k = 0; k < 4; k++) {
        char want[64];
        expected(want, sizeof want, cd_json_get(sp, STATS[k]), cd_json_get(cd_json_get(sp, "std"), STATS[k]),
                 several_seeds(me, root));
        CHECK(!strcmp(cells[t * 4 + k], want), "%s: %s %s %s: cell '%s', want '%s'", fixture, name, t ? "val" : "test",
              STATS[k], cells[t * 4 + k], want);
        checked++;
      }
    }
  }
  CHECK(checked == 8 * (int)order->n, "%s: %d result cells checked, want %d", fixture, checked, 8 * (int)order->n);
  check_group_table(fixture, html, root, "test");
  check_group_table(fixture, html, root, "val");
  cd_json_free(doc);
}

/* Selection markers a page should draw: one per distinct selected epoch of each trained method. */
static int expected_markers(const char *fixture) {
  char path[256];
  cd_error e;
  snprintf(path, sizeof path, FIX "/%s/results.json", fixture);
  cd_json_doc *doc = cd_json_parse_file(path, (size_t)1 << 26, &e);
  if (!doc) return -1;
  const cd_json *methods = cd_json_get(cd_json_root(doc), "methods");
  int n = 0;
  for (size_t m = 0; m < methods->n; m++) {
    const cd_json *sel = cd_json_get(&methods->items[m], "selected_epoch");
    if (cd_json_get_int(&methods->items[m], "epochs", 0) == 0) continue;
    for (size_t i = 0; i < sel->n; i++) {
      int seen = 0;
      for (size_t j = 0; j < i; j++) seen |= sel->items[j].integer == sel->items[i].integer;
      n += !seen;
    }
  }
  cd_json_free(doc);
  return n;
}

/* ---- the fixtures ---- */

static void test_full(void) {
  char dir[256];
  char *html = render("full", dir, sizeof dir);
  if (!html) return;
  check_numbers("full", html);
  /* 2 bar charts, 4 curve panels, dpt w + p, oracle w + p, gdro q, 1 confusion. */
  CHECK(count(html, "<svg ") == 12, "full: %d figures, want 12", count(html, "<svg "));
  CHECK(!strstr(html, "id=\"warnings\""), "full: a warnings box, but the run has no warnings");
  static const char *sections[] = {"id=\"results\"", "id=\"groups\"", "id=\"training\"", "id=\"weights\"",
                                   "id=\"pseudo\"", "id=\"args\""};
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
    CHECK(strstr(html, sections[i]) != NULL, "full: no section %s", sections[i]);
  /* One bar per (group, split) in each method's colour: DPT's blue 4 groups x 2 splits. */
  CHECK(count(html, "fill=\"#0072B2\"/>") == 8, "full: %d DPT bars, want 8", count(html, "fill=\"#0072B2\"/>"));
  /* Selection markers, in the val-pseudo panel only. */
  CHECK(count(html, "<circle") == expected_markers("full") && count(html, "<circle") >= 4, "full: %d selection markers, want %d",
        count(html, "<circle"), expected_markers("full"));
  CHECK(strstr(html, ">4029</text>") && strstr(html, ">1748</text>"), "full: confusion counts missing");
  CHECK(strstr(html, ">96.4</td>") != NULL, "full: overall pseudo-label accuracy 96.4 missing");
  CHECK(strstr(html, "<dd>&quot;a photo of a bird on land.&quot;, &quot;a photo of a bird on water.&quot;</dd>") != NULL,
        "full: attribute prompts not listed in the arguments");
  /* Same inputs, same page: render again and compare bytes. */
  size_t n1 = strlen(html), n2;
  cd_error e;
  CHECK(cd_report_write(dir, &e) == 0, "full: second render: %s", e.msg);
  char *again = slurp(cd_test_path(dir, "report.html"), &n2);
  CHECK(again && n1 == n2 && !memcmp(html, again, n1), "full: two renders differ");
  free(again);
  free(html);
  cd_test_remove_tmpdir(dir);
}

static void test_warn(void) {
  char dir[256];
  char *html = render("warn", dir, sizeof dir);
  if (!html) return;
  check_numbers("warn", html);
  const char *box = strstr(html, "id=\"warnings\"");
  CHECK(box != NULL, "warn: no warnings box");
  if (box) {
    /* Deduplicated: the empty group is listed once for both methods. */
    CHECK(count(html, "group 3 (blond, male) has no images") == 1, "warn: empty-group warning %d times",
          count(html, "group 3 (blond, male) has no images"));
    CHECK(strstr(box, "Zero-shot (val), ERM (val)") != NULL, "warn: empty-group warning does not name both methods");
    CHECK(strstr(box, "99.6% of predictions are class &#39;not blond&#39;") != NULL, "warn: collapse warning missing");
  }
  CHECK(strstr(html, "<td class=\"alert\">99.6%</td>") != NULL, "warn: 99.6%% share not flagged in the table");
  CHECK(strstr(html, ">no images</text>") != NULL, "warn: empty val group not marked in the bar chart");
  /* Selection on val-true: the markers sit in the true-group panel. */
  CHECK(count(html, "<circle") == expected_markers("warn") && count(html, "<circle") >= 1,
        "warn: %d selection markers, want %d", count(html, "<circle"), expected_markers("warn"));
  free(html);
  cd_test_remove_tmpdir(dir);
}

static void test_minimal(void) {
  char dir[256];
  char *html = render("minimal", dir, sizeof dir);
  if (!html) return;
  check_numbers("minimal", html);
  CHECK(count(html, "<svg ") == 2, "minimal: %d figures, want the 2 bar charts", count(html, "<svg "));
  CHECK(!strstr(html, " ± "), "minimal: one seed, yet a ± appears");
  CHECK(!strstr(html, "id=\"weights\""), "minimal: a weights section without weights");
  CHECK(strstr(html, "No training curves") != NULL, "minimal: no note about the missing curves");
  CHECK(strstr(html, "not annotated in this dataset") != NULL, "minimal: no note about the unknown attribute");
  CHECK(!strstr(html, "id=\"warnings\""), "minimal: a warnings box without warnings");
  free(html);
  cd_test_remove_tmpdir(dir);

  /* An empty metrics.jsonl is a run without curves, not an error. */
  if (stage("minimal", dir, sizeof dir) == 0) {
    cd_error e;
    CHECK(cd_test_write_file(cd_test_path(dir, "metrics.jsonl"), "", 0) == 0, "could not empty metrics.jsonl");
    CHECK(cd_report_write(dir, &e) == 0, "minimal, empty metrics.jsonl: %s", e.msg);
    cd_test_remove_tmpdir(dir);
  }
}

/* A directory written by `run` itself: every number in the tables, curves and weights drawn. */
static void test_toyrun(void) {
  char dir[256];
  char *html = render("toyrun", dir, sizeof dir);
  if (!html) return;
  check_numbers("toyrun", html);
  /* 2 bar charts, 4 curve panels, dpt w + p, oracle w + p, 1 confusion. */
  CHECK(count(html, "<svg ") == 11, "toyrun: %d figures, want 11", count(html, "<svg "));
  CHECK(count(html, "<circle") == 0, "toyrun: selection 'last' needs no markers, found %d", count(html, "<circle"));
  CHECK(strstr(html, "<dt>training.select</dt><dd>last</dd>") != NULL, "toyrun: nested arguments not flattened");
  free(html);
  cd_test_remove_tmpdir(dir);
}

static void test_hostile(void) {
  char dir[256];
  char *html = render("hostile", dir, sizeof dir);
  if (!html) return;
  CHECK(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL, "hostile: class name not escaped");
  CHECK(strstr(html, "a &amp; b &quot;q&quot; &#39;x&#39;") != NULL, "hostile: quotes/ampersand not escaped");
  /* U+0001 and U+FFFE are not XML characters: each becomes U+FFFD. */
  CHECK(strstr(html, "c\xEF\xBF\xBD\xEF\xBF\xBD ]]&gt; -- &lt;!-- x --&gt;") != NULL, "hostile: forbidden characters kept");
  CHECK(strstr(html, "<title>&lt;/title&gt;&lt;style&gt;") != NULL, "hostile: dataset name not escaped in the title");
  free(html);
  cd_test_remove_tmpdir(dir);
}

/* Warnings the page derives itself when the writer listed none, and for missing curves. */
static void test_derived_warnings(void) {
  char dir[256];
  cd_error e;
  if (stage("minimal", dir, sizeof dir)) return;
  CHECK(edit(dir, "results.json", "\"warnings\": []", "\"notes\": []") == 0, "edit warnings");
  CHECK(edit(dir, "results.json", "[116, 110, 75]", "[1000, 2, 1]") == 0, "edit pred_hist");
  CHECK(cd_report_write(dir, &e) == 0, "derived warnings: %s", e.msg);
  char *html = slurp(cd_test_path(dir, "report.html"), NULL);
  CHECK(html && strstr(html, "99.7% of predictions are class &#39;cat&#39; <span class=\"where\">— Zero-shot (test)"),
        "derived warnings: the collapse onto 'cat' is not reported");
  free(html);
  cd_test_remove_tmpdir(dir);

  /* A trained method without metric lines: its curves are missing, and the page says so. */
  if (stage("full", dir, sizeof dir)) return;
  size_t n;
  char *text = slurp(cd_test_path(dir, "metrics.jsonl"), &n), *out = malloc(n + 1), *w = out;
  for (char *line = text; text && line < text + n;) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
    if (!strstr(line, "\"method\": \"erm\"") || (nl && strstr(line, "\"method\": \"erm\"") > nl)) memcpy(w, line, len), w += len;
    line += len;
  }
  CHECK(cd_test_write_file(cd_test_path(dir, "metrics.jsonl"), out, (size_t)(w - out)) == 0, "write metrics");
  free(text);
  free(out);
  CHECK(cd_report_write(dir, &e) == 0, "full without erm lines: %s", e.msg);
  html = slurp(cd_test_path(dir, "report.html"), NULL);
  CHECK(html && strstr(html, "metrics.jsonl has no lines for ERM"), "missing erm curves not reported");
  CHECK(html && count(html, "<svg ") == 12, "full without erm lines: %d figures", html ? count(html, "<svg ") : 0);
  free(html);
  cd_test_remove_tmpdir(dir);
}

static void test_bad(void) {
  static const struct {
    const char *fixture, *file, *why;
  } cases[] = {
      {"bad_missing_results", "results.json", "cannot open"},
      {"bad_json", "results.json", "unterminated string"},
      {"bad_percent", "results.json", "methods.zeroshot.test.avg_acc = 81 is not a fraction in [0, 1]"},
      {"bad_no_methods", "results.json", "no \"methods\" object"},
      {"bad_group", "results.json", "methods.zeroshot.test.groups[2].y = 7 is outside [0, 2]"},
      {"bad_metrics", "metrics.jsonl:2:", "expected a string key"},
      {"bad_args", "args.json", "not a JSON object"},
      {"bad_missing_args", "args.json", "cannot open"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char dir[256], want[512];
    cd_error e = {{0}};
    if (stage(cases[i].fixture, dir, sizeof dir)) continue;
    int rc = cd_report_write(dir, &e);
    snprintf(want, sizeof want, "%s/%s", dir, cases[i].file);
    CHECK(rc == -1 && strncmp(e.msg, want, strlen(want)) == 0 && strstr(e.msg, cases[i].why),
          "%s: rc %d, message '%s' (want it to start with '%s' and say '%s')", cases[i].fixture, rc, e.msg, want,
          cases[i].why);
    CHECK(!strchr(e.msg, '\n'), "%s: message spans several lines", cases[i].fixture);
    int temps, outputs = count_outputs(dir, &temps);
    CHECK(outputs == 0, "%s: failed render left %d files behind", cases[i].fixture, outputs);
    cd_test_remove_tmpdir(dir);
  }
  cd_error e;
  CHECK(cd_report_write("/nonexistent/run", &e) == -1 && strstr(e.msg, "/nonexistent/run/results.json"),
        "missing run dir: '%s'", e.msg);
}

int main(void) {
  test_xml_checker();
  test_page_checker();
  test_full();
  test_warn();
  test_minimal();
  test_toyrun();
  test_hostile();
  test_derived_warnings();
  test_bad();
  return cd_test_finish("test_report");
}
