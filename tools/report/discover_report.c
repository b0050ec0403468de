/* discover.html: what discovery found, to look at rather than read. For each class, its top
 * candidates (by the class's score, class-describing ones left out) with small thumbnails of
 * the class's images that are most similar to each candidate's prompt (misclassified ones
 * framed), then the proposed attribute prompts and the class filter. One self-contained page
 * (inline CSS, images as data: URIs, nothing fetched), well-formed XML like report.html. */
#include "tools/report/discover_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "data/image/image.h"
#include "data/image/image_write.h"
#include "data/image/resize.h"
#include "tools/report/report_svg.h"

enum { THUMB = 72 };

static const char CSS[] =
    "body{margin:0 auto;max-width:1100px;padding:24px 32px;color:#1f2328;"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}\n"
    "h1{font-size:22px;font-weight:600;margin:0 0 4px}h2{font-size:16px;font-weight:600;margin:26px 0 6px;"
    "border-bottom:1px solid #d0d7de;padding-bottom:3px}\n"
    ".note{font-size:12px;color:#59636e}table{border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
    "td,th{padding:3px 8px;text-align:left;vertical-align:middle}tr{border-top:1px solid #eaecef}\n"
    "td.num{text-align:right}img{margin:1px;border:2px solid #fff;vertical-align:middle}\n"
    "img.wrong{border-color:#d55e00}code{font-size:12.5px}\n";

/* Base64 for a data: URI. "//" never appears (a newline goes between two slashes: URL parsing
 * drops newlines), so nothing in the page reads as a protocol-relative link. */
static void base64(FILE *fp, const uint8_t *p, size_t n) {
  static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char prev = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    char q[4] = {T[v >> 18 & 63], T[v >> 12 & 63], i + 1 < n ? T[v >> 6 & 63] : '=', i + 2 < n ? T[v & 63] : '='};
    for (int k = 0; k < 4; k++) {
      if (prev == '/' && q[k] == '/') fputc('\n', fp);
      fputc(prev = q[k], fp);
    }
  }
}

/* A thumbnail (longest side THUMB) of an 8-bit gray/RGB(A) image, JPEG (PNG with alpha); -1 for
 * other modes. */
static int thumbnail(const char *path, uint8_t **png, size_t *n, int *is_png, cd_error *e) {
  cd_image img = {0}, small = {0};
  if (cd_image_load(path, &img, e)) return -1;
  int rc = -1;
  if (img.mode == CD_MODE_L || img.mode == CD_MODE_LA || img.mode == CD_MODE_RGB || img.mode == CD_MODE_RGBA) {
    int big = img.width > img.height ? img.width : img.height;
    int w = img.width * THUMB / big, h = img.height * THUMB / big;
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    cd_jpeg_options jo = {85, CD_JPEG_444};
    if (!cd_image_resize(&img, w, h, &small, e))
      rc = small.channels == 1 || small.channels == 3 /* JPEG: a tenth of PNG's bytes for photos */
               ? cd_jpeg_encode(small.pixels, small.width, small.height, small.channels, &jo, png, n, e)
               : cd_png_encode(small.pixels, small.width, small.height, small.channels, 6, png, n, e);
    *is_png = !(small.channels == 1 || small.channels == 3);
  }
  cd_image_free(&small);
  cd_image_free(&img);
  return rc;
}

/* The folder the cache's file names are relative to (cache.json dataset.root), or "". */
static void image_root(const char *cache_dir, char *out, size_t cap) {
  char path[4200];
  cd_error e;
  out[0] = 0;
  if (cd_path_join(path, sizeof path, cache_dir, "cache.json")) return;
  cd_json_doc *doc = cd_json_parse_file(path, (size_t)1 << 26, &e);
  if (!doc) return;
  const char *root = cd_json_get_str(cd_json_get(cd_json_root(doc), "dataset"), "root", NULL);
  if (root) snprintf(out, cap, "%s", root);
  cd_json_free(doc);
}

static void write_thumbs(FILE *fp, const cd_discover_result *r, const cd_feature_cache *c, const char *root,
                         const int *rows, const int8_t *wrong_of, int *missing) {
  for (int h = 0; h < r->thumbs; h++) {
    int i = rows[h];
    if (i < 0) break;
    char path[8300];
    uint8_t *png = NULL;
    size_t n = 0;
    int is_png = 0;
    cd_error e;
    if (!root[0] || snprintf(path, sizeof path, "%s/%s", root, c->filenames[i]) >= (int)sizeof path ||
        thumbnail(path, &png, &n, &is_png, &e)) {
      (*missing)++;
      continue;
    }
    int wrong = wrong_of[h]; /* framed when the classifier got it wrong */
    fprintf(fp, "<img%s alt=\"", wrong ? " class=\"wrong\"" : "");
    cd_rp_esc(fp, c->filenames[i]);
    fputs("\" title=\"", fp);
    cd_rp_esc(fp, c->filenames[i]);
    fprintf(fp, "\" src=\"data:image/%s;base64,", is_png ? "png" : "jpeg");
    base64(fp, png, n);
    fputs("\"/>", fp);
    free(png);
  }
}

static void class_section(FILE *fp, const cd_discover_result *r, const cd_feature_cache *c, const char *root, int cls,
                          int *missing) {
  fputs("<h2>", fp);
  cd_rp_escf(fp, "%s: %lld misclassified, %lld correct", r->classnames[cls], (long long)r->n_wrong[cls],
             (long long)r->n_right[cls]);
  fputs("</h2>\n<table><thead><tr><th>word</th><th>score</th><th>overall rank</th><th>images of the class most similar to "
        "its prompt (misclassified ones framed)</th></tr></thead><tbody>\n",
        fp);
  for (int j = 0; j < r->top; j++) {
    int k = r->top_cand[(size_t)cls * r->top + j];
    if (k < 0) break;
    fputs("<tr><td><b>", fp);
    cd_rp_esc(fp, r->cand[k].word);
    fprintf(fp, "</b></td><td class=\"num\">%.3f</td><td class=\"num\">%d</td><td>", r->cand[k].class_score[cls], k + 1);
    size_t at = ((size_t)cls * r->top + j) * r->thumbs;
    write_thumbs(fp, r, c, root, r->top_images + at, r->top_wrong + at, missing);
    fputs("</td></tr>\n", fp);
  }
  fputs("</tbody></table>\n", fp);
}

int cd_discover_write_html(const char *path, const cd_discover_result *r, const cd_feature_cache *c, cd_error *e) {
  char root[4096];
  image_root(r->cache_dir, root, sizeof root);
  cd_atomic_file af;
  if (cd_atomic_open(&af, path, e)) return -1;
  FILE *fp = af.fp;
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
        "<title>clipdebias discover</title><style>\n",
        fp);
  fputs(CSS, fp);
  fputs("</style></head><body>\n<h1>Discovered spurious attribute</h1>\n<p class=\"note\">cache ", fp);
  cd_rp_esc(fp, r->cache_dir);
  fputs(", model ", fp);
  cd_rp_esc(fp, r->model_path);
  cd_rp_escf(fp, "; %s predictions on the %s split; candidates from %s, prompt \"%s\"; score = 100 × (mean similarity "
                 "on misclassified − on correct images of the class) of the prompt's part outside the class prompts' span; ranked by "
                 "that score × how strongly the word separates the classes in training (Cohen's d).",
             cd_discover_errors_name(r->errors), r->split ? "val" : "train", r->words_path, r->attr_template);
  fputs("</p>\n<h2>Proposed attribute prompts</h2>\n<table><tbody>\n", fp);
  for (int v = 0; v < r->n_values; v++) {
    fprintf(fp, "<tr><td>a = %d</td><td><code>", v);
    cd_rp_esc(fp, r->attr_prompts[v]);
    fputs("</code></td><td class=\"note\">", fp);
    cd_rp_escf(fp, "from the errors of class %s", r->classnames[r->value_class[v]]);
    fputs("</td></tr>\n", fp);
  }
  fputs("</tbody></table>\n", fp);
  int missing = 0, n_filtered = 0;
  for (int cls = 0; cls < r->C; cls++) class_section(fp, r, c, root, cls, &missing);
  fputs("<h2>Class filter</h2>\n<p>", fp);
  for (int k = 0; k < r->n_cand; k++) n_filtered += r->cand[k].filtered;
  cd_rp_escf(fp, "%d of %d candidates describe a class (the prompt lies within cosine %.3f of the class prompts' span, or "
                 "the word names a class) and propose nothing. The highest-ranked of them:",
             n_filtered, r->n_cand, r->threshold);
  fputs("</p>\n<table><thead><tr><th>rank</th><th>word</th><th>score</th><th>closest class</th><th>similarity</th></tr>"
        "</thead><tbody>\n",
        fp);
  for (int k = 0, shown = 0; k < r->n_cand && shown < 15; k++) {
    const cd_discover_cand *cd = &r->cand[k];
    if (!cd->filtered) continue;
    fprintf(fp, "<tr><td class=\"num\">%d</td><td>", k + 1);
    cd_rp_esc(fp, cd->word);
    fprintf(fp, "</td><td class=\"num\">%.3f</td><td>", cd->score);
    cd_rp_esc(fp, r->classnames[cd->class_sim_cls]);
    fprintf(fp, "</td><td class=\"num\">%.3f%s</td></tr>\n", cd->class_sim, cd->names_class ? " (names it)" : "");
    shown++;
  }
  fputs("</tbody></table>\n", fp);
  if (missing) fprintf(fp, "<p class=\"note\">%d thumbnails could not be drawn (images not found under the data set's root).</p>\n", missing);
  fputs("</body></html>\n", fp);
  return cd_atomic_commit(&af, e);
}
