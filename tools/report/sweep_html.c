/* sweep.html: one self-contained page (inline CSS and SVG, no script, no request) with the
 * test worst-group and average accuracy of every method against the embedding dimension
 * (log2 axis, band = ± one std over seeds), one panel per combination of the other axes; a
 * heat map when exactly two axes vary; the best cell of every method under val-pseudo and
 * val-true selection; and every cell with its status, time, memory and a link to its report.
 * Figures use the run report's plot code and styles (report_svg.h, report_charts.h). */
#include "tools/report/sweep_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "tools/report/report.h"
#include "tools/report/report_charts.h"
#include "tools/report/report_svg.h"

enum { MAX_PANELS = 12 };

static cd_rp_style style(const cd_sweep_results *r, int m) {
  static const char *known[] = {"zeroshot", "erm", "dpt", "oracle", "gdro", "gdro-pseudo"};
  int other = 0;
  for (int k = 0; k < m; k++) {
    int is_known = 0;
    for (int j = 0; j < 6; j++) is_known |= !strcmp(r->methods[k], known[j]);
    other += !is_known;
  }
  return cd_rp_style_named(r->methods[m], other);
}

/* Cells i and j agree on everything but dims. */
static int same_panel(const cd_sweep_plan *p, int i, int j) {
  if (p->cells[i].cache != p->cells[j].cache) return 0;
  for (int a = 1; a < p->n_axes; a++)
    if (strcmp(p->axes[a].name, "reduce") && p->cells[i].value[a] != p->cells[j].value[a]) return 0;
  const char *ri = "", *rj = "";
  for (int a = 1; a < p->n_axes; a++)
    if (!strcmp(p->axes[a].name, "reduce")) ri = cd_sweep_cell_value(p, i, a), rj = cd_sweep_cell_value(p, j, a);
  return !*ri || !*rj || !strcmp(ri, rj);
}

static void panel_title(FILE *fp, const cd_sweep_plan *p, int i) {
  int any = 0;
  if (p->n_caches > 1) cd_rp_escf(fp, "cache %s", p->cache_names[p->cells[i].cache]), any = 1;
  for (int a = 1; a < p->n_axes; a++) {
    const char *v = cd_sweep_cell_value(p, i, a);
    if (*v) cd_rp_escf(fp, "%s%s %s", any ? ", " : "", p->axes[a].name, v), any = 1;
  }
  if (!any) fputs("all cells", fp);
}

/* One figure: stat (CD_SW_WORST or CD_SW_AVG) of every method against log2(dims) over the
 * cells of the panel starting at cell `first`. */
static void figure(FILE *fp, const cd_sweep_results *r, int first, int stat, const char *title) {
  const cd_sweep_plan *p = r->plan;
  int n = 0, *cells = malloc(sizeof(int) * (size_t)p->n_cells);
  double *x = malloc(sizeof(double) * 4 * (size_t)p->n_cells), *y = x + p->n_cells, *lo = y + p->n_cells, *hi = lo + p->n_cells;
  if (!cells || !x) return free(cells), free(x);
  for (int i = 0; i < p->n_cells; i++) /* in increasing dims; full is the cache's D */
    if (same_panel(p, first, i)) {
      int k = n++;
      while (k > 0 && cd_sweep_cell_dims(p, cells[k - 1]) > cd_sweep_cell_dims(p, i)) cells[k] = cells[k - 1], k--;
      cells[k] = i;
    }
  double xmin = log2(cd_sweep_cell_dims(p, cells[0])), xmax = log2(cd_sweep_cell_dims(p, cells[n - 1]));
  if (xmax - xmin < 1) xmin -= 0.5, xmax += 0.5;
  double ymin = 1, ymax = 0;
  for (int m = 0; m < r->n_methods; m++)
    for (int k = 0; k < n; k++) {
      const cd_sweep_method_row *row = cd_sweep_row(r, cells[k], m);
      if (!row || !isfinite(row->test[stat])) continue;
      double s = isfinite(row->test_std[stat]) ? row->test_std[stat] : 0;
      ymin = fmin(ymin, row->test[stat] - s), ymax = fmax(ymax, row->test[stat] + s);
    }
  if (ymin > ymax) ymin = 0, ymax = 1;
  ymin = fmax(0, ymin - 0.02), ymax = fmin(1, ymax + 0.02);
  cd_nice_range(&ymin, &ymax, 5);
  fputs("<figure><figcaption>", fp);
  cd_rp_esc(fp, title);
  fputs("</figcaption>\n", fp);
  cd_svg_begin(fp, 460, 300, title);
  cd_plot pl = {fp, 56, 12, 384, 238, xmin - 0.2, xmax + 0.2, ymin, ymax, 0};
  cd_axes ax = {"embedding dimension (log2 scale)", title, 1, 0, 1};
  cd_plot_axes(&pl, &ax);
  for (int k = 0; k < n; k++) { /* x ticks at the dims of the cells */
    if (k && cd_sweep_cell_dims(p, cells[k]) == cd_sweep_cell_dims(p, cells[k - 1])) continue;
    char t[48];
    double d = cd_sweep_cell_dims(p, cells[k]);
    if (!strcmp(cd_sweep_cell_value(p, cells[k], 0), "full")) snprintf(t, sizeof t, "full (%g)", d);
    else snprintf(t, sizeof t, "%g", d);
    cd_svg_text(fp, cd_plot_px(&pl, log2(d)), pl.top + pl.height + 14, "middle", "tick", t);
  }
  for (int m = 0; m < r->n_methods; m++) {
    int got = 0;
    for (int k = 0; k < n; k++) {
      const cd_sweep_method_row *row = cd_sweep_row(r, cells[k], m);
      x[k] = log2(cd_sweep_cell_dims(p, cells[k]));
      y[k] = row ? row->test[stat] : NAN;
      double s = row && isfinite(row->test_std[stat]) && row->test_std[stat] > 0 ? row->test_std[stat] : NAN;
      lo[k] = y[k] - s, hi[k] = y[k] + s;
      got |= isfinite(y[k]);
    }
    if (!got) continue;
    cd_rp_style st = style(r, m);
    cd_plot_band(&pl, x, lo, hi, n, st.color, 0.15);
    cd_plot_line(&pl, x, y, n, st.color, st.dash, 2);
    for (int k = 0; k < n; k++)
      if (isfinite(y[k]))
        fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\"/>\n", cd_plot_px(&pl, x[k]), cd_plot_py(&pl, y[k]), st.color);
  }
  cd_svg_end(fp);
  fputs("</figure>\n", fp);
  free(cells), free(x);
}

static void legend(FILE *fp, const cd_sweep_results *r) {
  fputs("<div class=\"legend\">", fp);
  for (int m = 0; m < r->n_methods; m++) {
    cd_rp_style st = style(r, m);
    fprintf(fp, "<span class=\"key\"><span class=\"ln\" style=\"border-top-color:%s;border-top-style:%s\"></span>",
            st.color, !st.dash ? "solid" : !strcmp(st.dash, "2 2") ? "dotted" : "dashed");
    cd_rp_esc(fp, st.label);
    fputs("</span>", fp);
  }
  fputs("</div>\n", fp);
}

static void figures(FILE *fp, const cd_sweep_results *r) {
  const cd_sweep_plan *p = r->plan;
  fputs("<h2>Accuracy against the embedding dimension</h2>\n", fp);
  fputs("<p class=\"note\">Test split, at each run's selected epoch; lines are means over seeds, bands ± one "
        "standard deviation. \"full\" is the model's own embedding, without projection.</p>\n", fp);
  legend(fp, r);
  int panels = 0;
  for (int i = 0; i < p->n_cells && panels < MAX_PANELS; i++) {
    int seen = 0;
    for (int j = 0; j < i && !seen; j++) seen = same_panel(p, i, j);
    if (seen) continue;
    panels++;
    fputs("<h3>", fp);
    panel_title(fp, p, i);
    fputs("</h3>\n<div class=\"figs\">\n", fp);
    figure(fp, r, i, CD_SW_WORST, "worst-group accuracy");
    figure(fp, r, i, CD_SW_AVG, "average accuracy");
    fputs("</div>\n", fp);
  }
  if (panels == MAX_PANELS) fprintf(fp, "<p class=\"note\">The first %d panels are shown; sweep.csv has every cell.</p>\n", MAX_PANELS);
}

/* Axes with more than one value (the caches count as one). */
static int varying(const cd_sweep_plan *p, int *axes) {
  int n = 0;
  if (p->n_caches > 1) axes[n++] = -1;
  for (int a = 0; a < p->n_axes; a++)
    if (p->axes[a].n > 1) axes[n++] = a;
  return n;
}

static int value_of(const cd_sweep_plan *p, int i, int a) { return a < 0 ? p->cells[i].cache : p->cells[i].value[a]; }
static const char *axis_name(const cd_sweep_plan *p, int a) { return a < 0 ? "cache" : p->axes[a].name; }
static const char *value_text(const cd_sweep_plan *p, int a, int v) { return a < 0 ? p->cache_names[v] : p->axes[a].values[v]; }
static int axis_size(const cd_sweep_plan *p, int a) { return a < 0 ? p->n_caches : p->axes[a].n; }

/* Background from white (0) to the DPT blue (1) for an accuracy in [lo, hi]. */
static void heat_cell(FILE *fp, double v, double lo, double hi) {
  if (!isfinite(v)) {
    fputs("<td>–</td>", fp);
    return;
  }
  double t = hi > lo ? (v - lo) / (hi - lo) : 1;
  int rr = (int)(255 - t * (255 - 0)), gg = (int)(255 - t * (255 - 114)), bb = (int)(255 - t * (255 - 178));
  fprintf(fp, "<td style=\"background:rgb(%d,%d,%d);color:%s\">%.1f</td>", rr, gg, bb, t > 0.55 ? "#fff" : "#1f2328", 100 * v);
}

static void heat_maps(FILE *fp, const cd_sweep_results *r) {
  const cd_sweep_plan *p = r->plan;
  int ax[CD_SWEEP_MAX_AXES + 1];
  if (varying(p, ax) != 2) return;
  int ra = ax[0], ca = ax[1];
  fputs("<h2>Worst-group accuracy over the two swept axes</h2>\n", fp);
  fputs("<p class=\"note\">Test worst-group accuracy in %, mean over seeds; darker is better.</p>\n<div class=\"figs\">\n", fp);
  for (int m = 0; m < r->n_methods; m++) {
    double lo = 1, hi = 0;
    for (int i = 0; i < p->n_cells; i++) {
      const cd_sweep_method_row *row = cd_sweep_row(r, i, m);
      if (row && isfinite(row->test[CD_SW_WORST])) lo = fmin(lo, row->test[CD_SW_WORST]), hi = fmax(hi, row->test[CD_SW_WORST]);
    }
    fputs("<div><h3>", fp);
    cd_rp_esc(fp, style(r, m).label);
    fputs("</h3><table class=\"bk\"><thead><tr><th>", fp);
    cd_rp_escf(fp, "%s \\ %s", axis_name(p, ra), axis_name(p, ca));
    fputs("</th>", fp);
    for (int c = 0; c < axis_size(p, ca); c++) fputs("<th>", fp), cd_rp_esc(fp, value_text(p, ca, c)), fputs("</th>", fp);
    fputs("</tr></thead><tbody>\n", fp);
    for (int rv = 0; rv < axis_size(p, ra); rv++) {
      fputs("<tr><th>", fp);
      cd_rp_esc(fp, value_text(p, ra, rv));
      fputs("</th>", fp);
      for (int cv = 0; cv < axis_size(p, ca); cv++) {
        double v = NAN;
        for (int i = 0; i < p->n_cells; i++)
          if (value_of(p, i, ra) == rv && value_of(p, i, ca) == cv) {
            const cd_sweep_method_row *row = cd_sweep_row(r, i, m);
            if (row) v = row->test[CD_SW_WORST];
          }
        heat_cell(fp, v, lo, hi);
      }
      fputs("</tr>\n", fp);
    }
    fputs("</tbody></table></div>\n", fp);
  }
  fputs("</div>\n", fp);
}

static void cell_link(FILE *fp, const cd_sweep_plan *p, int i) {
  fputs("<a href=\"cells/", fp);
  cd_rp_esc(fp, p->cells[i].name);
  fputs("/report.html\">", fp);
  cd_rp_esc(fp, p->cells[i].name);
  fputs("</a>", fp);
}

static void best_cells(FILE *fp, const cd_sweep_results *r) {
  const cd_sweep_plan *p = r->plan;
  fputs("<h2>Best cell per method</h2>\n<p class=\"note\">Chosen by validation worst-group accuracy over the "
        "pseudo groups (val-pseudo, no annotation) or the true groups (val-true); test numbers of that cell.</p>\n",
        fp);
  fputs("<div class=\"wide\"><table class=\"bk res\"><thead><tr><th>method</th><th>selection</th><th>cell</th>"
        "<th>val worst</th><th>test avg</th><th>test worst</th><th>gap</th></tr></thead><tbody>\n", fp);
  for (int m = 0; m < r->n_methods; m++)
    for (int pseudo = 1; pseudo >= 0; pseudo--) {
      int best = -1;
      double bv = -1;
      for (int i = 0; i < p->n_cells; i++) {
        const cd_sweep_method_row *row = cd_sweep_row(r, i, m);
        double v = row ? (pseudo ? row->val_worst_pseudo : row->val_worst) : NAN;
        if (isfinite(v) && v > bv) bv = v, best = i;
      }
      fputs("<tr><th>", fp);
      cd_rp_esc(fp, style(r, m).label);
      fprintf(fp, "</th><td>%s</td><td>", pseudo ? "val-pseudo" : "val-true");
      if (best < 0) {
        fputs("–</td><td></td><td></td><td></td><td></td></tr>\n", fp);
        continue;
      }
      const cd_sweep_method_row *row = cd_sweep_row(r, best, m);
      cell_link(fp, p, best);
      fprintf(fp, "</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td></tr>\n", 100 * bv, 100 * row->test[CD_SW_AVG],
              100 * row->test[CD_SW_WORST], 100 * row->test[CD_SW_GAP]);
    }
  fputs("</tbody></table></div>\n", fp);
}

static void cell_table(FILE *fp, const cd_sweep_results *r) {
  const cd_sweep_plan *p = r->plan;
  static const char *state[] = {"not run", "done", "failed", "unfinished"};
  fputs("<h2>Cells</h2>\n<div class=\"wide\"><table class=\"bk res\"><thead><tr><th>cell</th><th>status</th>"
        "<th>wall s</th><th>peak RSS MB</th><th>error</th></tr></thead><tbody>\n", fp);
  for (int i = 0; i < p->n_cells; i++) {
    const cd_sweep_cell_result *c = &r->cells[i];
    fputs("<tr><th>", fp);
    if (c->state == CD_CELL_DONE) cell_link(fp, p, i);
    else cd_rp_esc(fp, p->cells[i].name);
    fprintf(fp, "</th><td%s>%s</td><td>", c->state == CD_CELL_DONE ? "" : " class=\"alert\"", state[c->state]);
    if (c->state != CD_CELL_NOT_RUN && isfinite(c->seconds)) fprintf(fp, "%.1f", c->seconds);
    fputs("</td><td>", fp);
    if (c->rss_bytes > 0) fprintf(fp, "%.1f", c->rss_bytes / 1048576.0);
    fputs("</td><td style=\"text-align:left;white-space:normal\">", fp);
    cd_rp_esc(fp, c->error);
    fputs("</td></tr>\n", fp);
  }
  fputs("</tbody></table></div>\n", fp);
}

static void page(FILE *fp, const cd_sweep_results *r) {
  const cd_sweep_plan *p = r->plan;
  int done = 0;
  for (int i = 0; i < p->n_cells; i++) done += r->cells[i].state == CD_CELL_DONE;
  fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>clipdebias sweep</title>\n"
              "<style>\n%s</style>\n</head>\n<body>\n<header>\n<p class=\"kicker\">clipdebias sweep</p>\n"
              "<h1>What embedding size does the method need?</h1>\n<p class=\"sub\">",
          CD_REPORT_CSS);
  const char *select = "val-pseudo";
  for (int k = 0; k + 1 < p->n_base; k++)
    if (!strcmp(p->base[k], "--select")) select = p->base[k + 1];
  for (int a = 1; a < p->n_axes; a++)
    if (!strcmp(p->axes[a].name, "select")) select = "per cell (an axis)";
  cd_rp_escf(fp, "%d cells, %d finished; epoch selection %s; caches: ", p->n_cells, done, select);
  for (int k = 0; k < p->n_caches; k++) cd_rp_escf(fp, "%s%s (%s, %d dimensions)", k ? ", " : "", p->cache_names[k], p->models[k], p->cache_dims[k]);
  fputs("</p>\n<dl class=\"meta\">", fp);
  for (int a = 0; a < p->n_axes; a++) {
    fputs("<dt>", fp);
    cd_rp_esc(fp, p->axes[a].name);
    fputs("</dt><dd>", fp);
    for (int v = 0; v < p->axes[a].n; v++) cd_rp_escf(fp, "%s%s", v ? ", " : "", p->axes[a].values[v]);
    fputs("</dd>", fp);
  }
  fputs("</dl>\n</header>\n", fp);
  if (r->n_methods) figures(fp, r), heat_maps(fp, r), best_cells(fp, r);
  else fputs("<p>No cell has finished yet.</p>\n", fp);
  cell_table(fp, r);
  fputs("<footer>Every number comes from the cells' results.json and metrics.jsonl; sweep.csv and sweep.json hold "
        "them all.</footer>\n</body>\n</html>\n", fp);
}

int cd_sweep_html_write(const char *path, const cd_sweep_results *r, cd_error *e) {
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&buf, &len);
  if (!fp) return cd_fail(e, "sweep: out of memory");
  page(fp, r);
  fclose(fp);
  int rc = cd_write_file_atomic(path, buf, len, e);
  free(buf);
  return rc;
}
