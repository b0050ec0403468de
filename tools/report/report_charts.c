#include "tools/report/report_charts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tools/report/report_svg.h"

/* ---- styles ---- */

static const struct {
  const char *name, *label, *color, *dash;
  int uses_annotations;
} KNOWN_METHODS[] = {
    {"zeroshot", "Zero-shot", "#8C8C8C", "5 3", 0},
    {"erm", "ERM", "#E69F00", NULL, 0},
    {"dpt", "DPT", "#0072B2", NULL, 0},
    {"oracle", "Oracle reweighting", "#009E73", "7 3", 1},
    {"gdro", "GroupDRO", "#D55E00", "2 2", 1},
    {"gdro-pseudo", "GroupDRO (pseudo groups)", "#CC79A7", "7 2 2 2", 0},
    {"jtt", "JTT", "#56B4E9", "4 2", 0},
    {"dfr", "DFR", "#882255", "6 2", 0},
    {"dfr-pseudo", "DFR (pseudo groups)", "#44AA99", "6 2", 0},
    {"orth-proj", "Orth-Proj", "#999933", "1 2", 0},
    {"orth-cali", "Orth-Cali", "#332288", "1 2", 0},
    {"roboshot", "RoboShot", "#AA4499", "1 2", 0},
};
static const char *OTHER_COLORS[] = {"#56B4E9", "#000000", "#882255", "#44AA99", "#999933"};
/* Groups: hue by class, dash by attribute value, so "same class" reads at a glance. */
static const char *GROUP_COLORS[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};
static const char *GROUP_DASHES[] = {NULL, "5 3", "2 2", "7 2 2 2"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

cd_rp_style cd_rp_style_named(const char *name, int other) {
  for (int i = 0; i < COUNT(KNOWN_METHODS); i++)
    if (!strcmp(name, KNOWN_METHODS[i].name))
      return (cd_rp_style){KNOWN_METHODS[i].color, KNOWN_METHODS[i].dash, KNOWN_METHODS[i].label,
                           KNOWN_METHODS[i].uses_annotations};
  return (cd_rp_style){OTHER_COLORS[other % COUNT(OTHER_COLORS)], other >= COUNT(OTHER_COLORS) ? "4 2" : NULL, name, 0};
}

cd_rp_style cd_rp_method_style(const cd_rp_run *run, int method) {
  const char *name = run->methods[method].name;
  int other = 0;
  for (int m = 0; m < method; m++) {
    int known = 0;
    for (int i = 0; i < COUNT(KNOWN_METHODS); i++) known |= !strcmp(run->methods[m].name, KNOWN_METHODS[i].name);
    other += !known;
  }
  return cd_rp_style_named(name, other);
}

/* ---- per-epoch series, aggregated over seeds ---- */

typedef double (*line_value)(const cd_rp_line *l, int k);

typedef struct {
  int n;                        /* epochs 0..n-1 */
  double *x, *mean, *lo, *hi;   /* lo/hi: mean -+ std over seeds, NAN with one seed */
} series;

static void series_free(series *s) {
  free(s->x);
  memset(s, 0, sizeof *s);
}

static int max_epoch(const cd_rp_run *run, int method) {
  int m = -1;
  for (int i = 0; i < run->n_lines; i++)
    if (run->lines[i].method == method && run->lines[i].epoch > m) m = run->lines[i].epoch;
  return m;
}

/* 0 when the method has no finite value of this quantity (nothing to draw). */
static int series_build(const cd_rp_run *run, int method, line_value get, int k, series *s) {
  memset(s, 0, sizeof *s);
  int n = max_epoch(run, method) + 1;
  if (n <= 0) return 0;
  double *buf = calloc((size_t)n * 7, sizeof *buf);
  if (!buf) return 0;
  s->n = n;
  s->x = buf;
  s->mean = buf + n;
  s->lo = buf + 2 * n;
  s->hi = buf + 3 * n;
  double *cnt = buf + 4 * n, *sum = buf + 5 * n, *sq = buf + 6 * n;
  int any = 0;
  for (int i = 0; i < run->n_lines; i++) {
    const cd_rp_line *l = &run->lines[i];
    if (l->method != method) continue;
    double v = get(l, k);
    if (!isfinite(v)) continue;
    cnt[l->epoch]++;
    sum[l->epoch] += v;
    sq[l->epoch] += v * v;
    any = 1;
  }
  for (int e = 0; e < n; e++) {
    s->x[e] = e;
    s->mean[e] = s->lo[e] = s->hi[e] = NAN;
    if (cnt[e] == 0) continue;
    double mu = sum[e] / cnt[e], var = sq[e] / cnt[e] - mu * mu;
    s->mean[e] = mu;
    if (cnt[e] >= 2) {
      double sd = sqrt(var > 0 ? var : 0);
      s->lo[e] = mu - sd;
      s->hi[e] = mu + sd;
    }
  }
  if (!any) series_free(s);
  return any;
}

static void extend_range(const series *s, double *lo, double *hi) {
  for (int e = 0; e < s->n; e++) {
    double a = isfinite(s->lo[e]) ? s->lo[e] : s->mean[e], b = isfinite(s->hi[e]) ? s->hi[e] : s->mean[e];
    if (isfinite(a) && a < *lo) *lo = a;
    if (isfinite(b) && b > *hi) *hi = b;
  }
}

static double get_loss(const cd_rp_line *l, int k) { return l->loss; }
static double get_val_avg(const cd_rp_line *l, int k) { return l->val_avg; }
static double get_val_worst(const cd_rp_line *l, int k) { return l->val_worst; }
static double get_val_worst_pseudo(const cd_rp_line *l, int k) { return l->val_worst_pseudo; }
static double get_weight(const cd_rp_line *l, int k) { return k < l->n_weights ? l->weights[k] : NAN; }
static double get_p_bar(const cd_rp_line *l, int k) { return k < l->n_p_bar ? l->p_bar[k] : NAN; }

static void open_figure(FILE *fp, const char *caption) {
  fputs("<figure>\n<figcaption>", fp);
  cd_rp_esc(fp, caption);
  fputs("</figcaption>\n", fp);
}

/* A swatch (bars) or line sample (curves) per method, as an HTML legend row. */
static void method_legend(FILE *fp, const cd_rp_run *run, const int *show, int lines) {
  fputs("<div class=\"legend\">", fp);
  for (int m = 0; m < run->n_methods; m++) {
    if (!show[m]) continue;
    cd_rp_style st = cd_rp_method_style(run, m);
    if (lines)
      fprintf(fp, "<span class=\"key\"><span class=\"ln\" style=\"border-top-color:%s;border-top-style:%s\"></span>",
              st.color, !st.dash ? "solid" : !strcmp(st.dash, "2 2") ? "dotted" : "dashed");
    else
      fprintf(fp, "<span class=\"key\"><span class=\"sw\" style=\"background:%s\"></span>", st.color);
    cd_rp_esc(fp, st.label);
    fputs("</span>", fp);
  }
  fputs("</div>\n", fp);
}

/* ---- grouped bars ---- */

static void attr_name(const cd_rp_run *run, int a, char *buf, size_t cap) {
  if (a >= 0 && a < run->n_attr) snprintf(buf, cap, "%s", run->attr_names[a]);
  else snprintf(buf, cap, "a=%d", a);
}

static const cd_rp_split *split_of(const cd_rp_method *m, int test) { return test ? &m->test : &m->val; }

static const cd_rp_group *find_group(const cd_rp_split *s, int g) {
  for (int i = 0; i < s->n_groups; i++)
    if (s->groups[i].g == g) return &s->groups[i];
  return NULL;
}

/* A group's y, a and n as any method of the split lists it. */
static const cd_rp_group *group_info(const cd_rp_run *run, int test, int g) {
  for (int m = 0; m < run->n_methods; m++) {
    const cd_rp_group *gr = find_group(split_of(&run->methods[m], test), g);
    if (gr) return gr;
  }
  return NULL;
}

static void bar(FILE *fp, const cd_plot *p, double x, double w, const cd_rp_group *gr, const char *color,
                int show_std) {
  double base = cd_plot_py(p, 0);
  if (!gr || !isfinite(gr->acc)) {
    cd_svg_text(fp, x + w / 2, base - 3, "middle", "tick", "–");
    return;
  }
  double top = cd_plot_py(p, gr->acc);
  fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x, top, w, base - top,
          color);
  if (!show_std || !isfinite(gr->acc_std) || gr->acc_std <= 0) return;
  double y1 = cd_plot_py(p, fmin(1, gr->acc + gr->acc_std)), y2 = cd_plot_py(p, fmax(0, gr->acc - gr->acc_std));
  double cx = x + w / 2;
  fprintf(fp, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fh%.1fM%.1f %.1fh%.1f\" class=\"err\"/>\n", cx, y1, y2, cx - 2.5, y1,
          5.0, cx - 2.5, y2, 5.0);
}

void cd_rp_fig_group_bars(FILE *fp, const cd_rp_run *run, int test) {
  int nm = 0, G = run->n_groups;
  for (int m = 0; m < run->n_methods; m++) nm += split_of(&run->methods[m], test)->present;
  if (nm == 0) return;
  const double bw = nm <= 3 ? 20 : nm <= 6 ? 16 : 11, gap = 30, left = 46, top = 14, height = 190;
  const double cluster = nm * bw + gap;
  int width = (int)(left + G * cluster + 8);
  if (width < 200) width = 200;
  int has_attr = 0;
  for (int g = 0; g < G; g++) {
    const cd_rp_group *gi = group_info(run, test, g);
    has_attr |= gi && gi->a >= 0;
  }
  int svg_h = (int)(top + height + (has_attr ? 52 : 38));
  char title[128];
  snprintf(title, sizeof title, "Accuracy per group, %s split", test ? "test" : "validation");
  open_figure(fp, test ? "Test" : "Validation");
  cd_svg_begin(fp, width, svg_h, title);
  cd_plot p = {fp, left, top, width - left - 8, height, 0, 1, 0, 1, 0};
  cd_plot_axes(&p, &(cd_axes){NULL, "accuracy (%)", 1, 0, 1});
  for (int g = 0; g < G; g++) {
    double x = left + g * cluster + gap / 2;
    int slot = 0;
    for (int m = 0; m < run->n_methods; m++) {
      const cd_rp_split *s = split_of(&run->methods[m], test);
      if (!s->present) continue;
      bar(fp, &p, x + slot * bw + 0.5, bw - 1, find_group(s, g), cd_rp_method_style(run, m).color,
          cd_rp_several_seeds(run, &run->methods[m]));
      slot++;
    }
    const cd_rp_group *gi = group_info(run, test, g);
    double cx = x + nm * bw / 2, ly = top + height + 15;
    if (gi && gi->n == 0) cd_svg_text(fp, cx, top + height - 18, "middle", "tick", "no images");
    char buf[256];
    if (gi && gi->a >= 0) {
      cd_rp_group_label(run, gi->y, -1, buf, sizeof buf);
      cd_svg_text(fp, cx, ly, "middle", "lab", buf);
      attr_name(run, gi->a, buf, sizeof buf);
      cd_svg_text(fp, cx, ly + 13, "middle", "lab", buf);
      ly += 13;
    } else {
      cd_rp_group_label(run, gi ? gi->y : -1, -1, buf, sizeof buf);
      cd_svg_text(fp, cx, ly, "middle", "lab", gi ? buf : "?");
    }
    snprintf(buf, sizeof buf, "n = %ld", gi ? gi->n : 0L);
    cd_svg_text(fp, cx, ly + 13, "middle", "tick", buf);
  }
  cd_svg_end(fp);
  fputs("</figure>\n", fp);
}

/* ---- training curves ---- */

/* Methods with at least two epochs logged (zero-shot has one point: drawn as a reference). */
static int trained(const cd_rp_run *run, int m) { return max_epoch(run, m) >= 1; }

static int find_method(const cd_rp_run *run, const char *name) {
  for (int m = 0; m < run->n_methods; m++)
    if (!strcmp(run->methods[m].name, name)) return m;
  return -1;
}

typedef struct {
  const char *caption, *ylabel;
  line_value get;
  int percent;
  int mark_selected; /* this is the quantity the selection rule maximises */
} curve_panel;

static void draw_selected(const cd_plot *p, const cd_rp_method *m, const series *s, const char *color) {
  for (int i = 0; i < m->n_selected; i++) {
    int e = (int)m->selected[i], seen = 0;
    for (int j = 0; j < i; j++) seen |= m->selected[j] == e;
    if (seen || e < 0 || e >= s->n || !isfinite(s->mean[e])) continue;
    fprintf(p->fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.6\" fill=\"#fff\" stroke=\"%s\" stroke-width=\"1.6\"/>\n",
            cd_plot_px(p, e), cd_plot_py(p, s->mean[e]), color);
  }
}

static int draw_curve_panel(FILE *fp, const cd_rp_run *run, const curve_panel *cp) {
  series *s = calloc((size_t)run->n_methods, sizeof *s);
  if (!s) return 0;
  double lo = INFINITY, hi = -INFINITY, x1 = 1;
  int any = 0;
  for (int m = 0; m < run->n_methods; m++) {
    if (!trained(run, m) || !series_build(run, m, cp->get, 0, &s[m])) continue;
    extend_range(&s[m], &lo, &hi);
    if (s[m].n - 1 > x1) x1 = s[m].n - 1;
    any = 1;
  }
  int zs = find_method(run, "zeroshot");
  series ref = {0};
  if (any && zs >= 0 && !trained(run, zs) && series_build(run, zs, cp->get, 0, &ref)) extend_range(&ref, &lo, &hi);
  if (any) {
    cd_nice_range(&lo, &hi, 5);
    if (cp->percent) {
      lo = fmax(lo, 0);
      hi = fmin(hi, 1);
    }
    const int W = 500, H = 250;
    open_figure(fp, cp->caption);
    cd_svg_begin(fp, W, H, cp->caption);
    cd_plot p = {fp, 56, 10, W - 56 - 14, H - 10 - 44, 0, x1, lo, hi, 0};
    cd_plot_axes(&p, &(cd_axes){"epoch", cp->ylabel, cp->percent, 1, 0});
    for (int m = 0; m < run->n_methods; m++)
      if (s[m].n) cd_plot_band(&p, s[m].x, s[m].lo, s[m].hi, s[m].n, cd_rp_method_style(run, m).color, 0.16);
    if (ref.n && isfinite(ref.mean[0])) {
      cd_rp_style st = cd_rp_method_style(run, zs);
      double xs[2] = {0, x1}, ys[2] = {ref.mean[0], ref.mean[0]};
      cd_plot_line(&p, xs, ys, 2, st.color, st.dash, 1.4);
    }
    for (int m = 0; m < run->n_methods; m++) {
      if (!s[m].n) continue;
      cd_rp_style st = cd_rp_method_style(run, m);
      cd_plot_line(&p, s[m].x, s[m].mean, s[m].n, st.color, st.dash, !strcmp(run->methods[m].name, "dpt") ? 2.4 : 1.8);
    }
    for (int m = 0; cp->mark_selected && m < run->n_methods; m++)
      if (s[m].n) draw_selected(&p, &run->methods[m], &s[m], cd_rp_method_style(run, m).color);
    cd_svg_end(fp);
    fputs("</figure>\n", fp);
  }
  for (int m = 0; m < run->n_methods; m++) series_free(&s[m]);
  series_free(&ref);
  free(s);
  return any;
}

int cd_rp_fig_curves(FILE *fp, const cd_rp_run *run) {
  int *show = calloc((size_t)run->n_methods, sizeof *show), any = 0;
  if (!show) return 0;
  for (int m = 0; m < run->n_methods; m++) {
    show[m] = max_epoch(run, m) >= 0;
    any |= trained(run, m);
  }
  if (any) {
    const char *sel = run->select ? run->select : "";
    const curve_panel panels[] = {
        {"Training loss", "loss", get_loss, 0, 0},
        {"Validation average accuracy", "accuracy (%)", get_val_avg, 1, 0},
        {"Validation worst-group accuracy (true groups)", "accuracy (%)", get_val_worst, 1, !strcmp(sel, "val-true")},
        {"Validation worst-group accuracy (pseudo groups)", "accuracy (%)", get_val_worst_pseudo, 1,
         !strcmp(sel, "val-pseudo")},
    };
    method_legend(fp, run, show, 1);
    fputs("<div class=\"figs\">\n", fp);
    for (int i = 0; i < COUNT(panels); i++) draw_curve_panel(fp, run, &panels[i]);
    fputs("</div>\n", fp);
  }
  free(show);
  return any;
}

/* ---- group weights ---- */

/* Weight group k as (class, attribute value): the run's attribute count, or inferred
 * from the number of weights when the true attribute is unknown. */
static void weight_group_label(const cd_rp_run *run, int G, int k, char *buf, size_t cap, int *y, int *a) {
  int n_attr = run->n_attr > 0 ? run->n_attr : (G % run->n_cls == 0 ? G / run->n_cls : 0);
  if (n_attr <= 0 || G != n_attr * run->n_cls) {
    snprintf(buf, cap, "group %d", k);
    *y = k;
    *a = 0;
    return;
  }
  *y = k / n_attr;
  *a = k % n_attr;
  cd_rp_group_label(run, *y, run->n_attr > 0 ? *a : -1, buf, cap);
  if (run->n_attr == 0) snprintf(buf + strlen(buf), cap - strlen(buf), " · a=%d", *a);
}

typedef struct {
  int method, G, kind;
  line_value get;
  const char *what, *note; /* caption: "<method>: <what> per <kind> group<note>" */
  int percent;
} weight_panel;

static void log_bounds(double *lo, double *hi) {
  static const double steps[3] = {1, 2, 5};
  double a = pow(10, floor(log10(*lo))), b = pow(10, floor(log10(*hi)));
  double nlo = a, nhi = b * 10;
  for (int i = 2; i >= 0; i--)
    if (steps[i] * a <= *lo) {
      nlo = steps[i] * a;
      break;
    }
  for (int i = 0; i < 3; i++)
    if (steps[i] * b >= *hi) {
      nhi = steps[i] * b;
      break;
    }
  *lo = nlo;
  *hi = nhi;
}

static void draw_weight_panel(FILE *fp, const cd_rp_run *run, const weight_panel *wp) {
  series *s = calloc((size_t)wp->G, sizeof *s);
  if (!s) return;
  double lo = INFINITY, hi = -INFINITY, x1 = 1;
  int any = 0;
  for (int k = 0; k < wp->G; k++) {
    if (!series_build(run, wp->method, wp->get, k, &s[k])) continue;
    extend_range(&s[k], &lo, &hi);
    if (s[k].n - 1 > x1) x1 = s[k].n - 1;
    any = 1;
  }
  if (any) {
    int ylog = !wp->percent && lo > 0 && hi / lo > 8;
    if (ylog) log_bounds(&lo, &hi);
    else cd_nice_range(&lo, &hi, 5);
    if (wp->percent) {
      lo = fmax(lo, 0);
      hi = fmin(hi, 1);
    } else if (!ylog && lo < 0) {
      lo = 0;
    }
    cd_rp_style st = cd_rp_method_style(run, wp->method);
    char caption[256];
    snprintf(caption, sizeof caption, "%s: %s per %s group%s", st.label, wp->what,
             wp->kind == CD_RP_WG_PSEUDO ? "pseudo" : "true", wp->note);
    const int legend_w = 165, W = 515, H = 250;
    open_figure(fp, caption);
    cd_svg_begin(fp, W, H, caption);
    cd_plot p = {fp, 56, 10, W - 56 - 14 - legend_w, H - 10 - 44, 0, x1, lo, hi, ylog};
    cd_plot_axes(&p, &(cd_axes){"epoch", wp->percent ? "probability (%)" : ylog ? "weight (log scale)" : "weight",
                                wp->percent, 1, 0});
    for (int k = 0; k < wp->G; k++) {
      if (!s[k].n) continue;
      char label[256];
      int y, a;
      weight_group_label(run, wp->G, k, label, sizeof label, &y, &a);
      const char *color = GROUP_COLORS[y % COUNT(GROUP_COLORS)], *dash = GROUP_DASHES[a % COUNT(GROUP_DASHES)];
      cd_plot_band(&p, s[k].x, s[k].lo, s[k].hi, s[k].n, color, 0.14);
      cd_plot_line(&p, s[k].x, s[k].mean, s[k].n, color, dash, 1.8);
      cd_svg_legend_line(fp, W - legend_w + 4, 20 + 17 * k, color, dash, 1.8, label);
    }
    cd_svg_end(fp);
    fputs("</figure>\n", fp);
  }
  for (int k = 0; k < wp->G; k++) series_free(&s[k]);
  free(s);
}

int cd_rp_fig_weights(FILE *fp, const cd_rp_run *run) {
  int drawn = 0;
  for (int m = 0; m < run->n_methods; m++) {
    int G = 0, P = 0, kind = CD_RP_WG_NONE;
    for (int i = 0; i < run->n_lines; i++) {
      const cd_rp_line *l = &run->lines[i];
      if (l->method != m) continue;
      if (l->n_weights > G) G = l->n_weights;
      if (l->n_p_bar > P) P = l->n_p_bar;
      if (l->weight_groups != CD_RP_WG_NONE) kind = l->weight_groups;
    }
    if (G == 0 && P == 0) continue;
    if (!drawn) fputs("<div class=\"figs\">\n", fp);
    drawn = 1;
    const char *name = run->methods[m].name;
    int is_dro = !strncmp(name, "gdro", 4);
    if (G) draw_weight_panel(fp, run, &(weight_panel){m, G, kind, get_weight, is_dro ? "q" : "weight w", "", 0});
    if (P)
      draw_weight_panel(fp, run,
                        &(weight_panel){m, P, kind, get_p_bar, "p̄", " (mean probability of the true class)", 1});
  }
  if (drawn) fputs("</div>\n", fp);
  return drawn;
}

/* ---- pseudo-label confusion ---- */

/* ColorBrewer Blues from #f7fbff (0) to #08519c (1). */
static void blues(double t, char *buf, size_t cap) {
  static const double a[3] = {0xf7, 0xfb, 0xff}, b[3] = {0x08, 0x51, 0x9c};
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  snprintf(buf, cap, "#%02x%02x%02x", (int)lround(a[0] + (b[0] - a[0]) * t), (int)lround(a[1] + (b[1] - a[1]) * t),
           (int)lround(a[2] + (b[2] - a[2]) * t));
}

void cd_rp_fig_confusion(FILE *fp, const cd_rp_run *run) {
  int k = run->conf_n;
  if (!run->confusion || k <= 0) return;
  const double cell = 78, left = 118, top = 40;
  int W = (int)(left + k * cell + 10), H = (int)(top + k * cell + 10);
  cd_svg_begin(fp, W, H, "Pseudo attribute against the true attribute");
  cd_svg_text(fp, left + k * cell / 2, 13, "middle", "lab", "pseudo-label (zero-shot)");
  for (int r = 0; r < k; r++) {
    char name[160], buf[200], color[16];
    long row = 0;
    for (int c = 0; c < k; c++) row += run->confusion[r * k + c];
    attr_name(run, r, name, sizeof name);
    snprintf(buf, sizeof buf, "true: %s", name);
    cd_svg_text(fp, left - 8, top + r * cell + cell / 2 + 4, "end", "lab", buf);
    for (int c = 0; c < k; c++) {
      if (r == 0) {
        attr_name(run, c, name, sizeof name);
        cd_svg_text(fp, left + c * cell + cell / 2, top - 8, "middle", "lab", name);
      }
      long n = run->confusion[r * k + c];
      double share = row > 0 ? (double)n / (double)row : 0;
      double x = left + c * cell, y = top + r * cell;
      blues(share, color, sizeof color);
      fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"2\"/>\n",
              x, y, cell, cell, color);
      const char *cls = share > 0.5 ? "cell inv" : "cell";
      snprintf(buf, sizeof buf, "%ld", n);
      cd_svg_text(fp, x + cell / 2, y + cell / 2 - 2, "middle", cls, buf);
      snprintf(buf, sizeof buf, "%.1f%%", 100 * share);
      cd_svg_text(fp, x + cell / 2, y + cell / 2 + 14, "middle", share > 0.5 ? "cellsub inv" : "cellsub", buf);
    }
  }
  cd_svg_end(fp);
}
