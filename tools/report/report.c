/* report.html: the page around the figures. Sections in reading order: header (what was
 * run), warnings, the results table a paper prints, per-group accuracy, training curves,
 * group weights, pseudo-labels, arguments. Written to a temporary file and renamed, so a
 * reader never sees half a page. */
#include "tools/report/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "tools/report/report_charts.h"
#include "tools/report/report_run.h"
#include "tools/report/report_svg.h"

/* Quiet, print-friendly styling (system fonts only: nothing is fetched). */
const char CD_REPORT_CSS[] =
    "*{box-sizing:border-box}\n"
    "body{margin:0 auto;max-width:1140px;padding:28px 36px 40px;background:#fff;color:#1f2328;"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}\n"
    "header{border-bottom:2px solid #1f2328;padding-bottom:14px}\n"
    ".kicker{font-size:11.5px;letter-spacing:.09em;text-transform:uppercase;color:#59636e;margin:0}\n"
    "h1{font-size:25px;font-weight:600;margin:2px 0 2px}\n"
    ".sub{margin:0 0 12px;color:#444}\n"
    "h2{font-size:16px;font-weight:600;margin:30px 0 8px;padding-bottom:4px;border-bottom:1px solid #d0d7de}\n"
    "h3{font-size:13px;font-weight:600;margin:16px 0 4px}\n"
    "dl.meta{display:grid;grid-template-columns:max-content minmax(0,1fr) max-content minmax(0,1fr);"
    "gap:3px 16px;margin:0;font-size:13px}\n"
    "dl.meta dt,dl.args dt{color:#59636e}\n"
    "dl.meta dd,dl.args dd{margin:0;overflow-wrap:anywhere}\n"
    "p{margin:6px 0}\n"
    ".note{font-size:12px;color:#59636e}\n"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:6px 0}\n"
    "table.bk{border-top:2px solid #1f2328;border-bottom:2px solid #1f2328}\n"
    "table.bk th,table.bk td{padding:3px 9px;text-align:right;white-space:nowrap}\n"
    "table.res{font-size:13.5px}\n"
    ".wide{overflow-x:auto}\n"
    "table.bk thead tr:last-child th{border-bottom:1px solid #1f2328}\n"
    "table.bk th.span{text-align:center;border-bottom:1px solid #8c959f;font-weight:600}\n"
    "table.bk thead th{font-weight:600}\n"
    "table.bk tbody th{text-align:left;font-weight:normal}\n"
    "table.bk td.best,table.bk td.worst{font-weight:700}\n"
    "table.bk td.diverged{color:#b42318;font-weight:700;text-align:left}\n"
    "table.bk td.alert{color:#b03a00;font-weight:700}\n"
    "table.bk td.sep,table.bk th.sep{border-left:1px solid #d0d7de}\n"
    "sup{font-size:9px;color:#59636e}\n"
    ".sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:7px}\n"
    ".ln{display:inline-block;width:26px;height:0;border-top-width:2.5px;vertical-align:middle;margin-right:7px}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:4px 20px;font-size:12.5px;margin:6px 0 10px}\n"
    ".figs{display:flex;flex-wrap:wrap;gap:14px 30px;align-items:flex-start}\n"
    ".figs>div{min-width:0;max-width:100%}\n"
    "figure{margin:0}\n"
    "figcaption{font-size:12.5px;font-weight:600;margin:0 0 2px}\n"
    "svg.fig{display:block;max-width:100%;height:auto}\n"
    "svg text{fill:#1f2328;font-family:inherit}\n"
    "svg .tick{font-size:10.5px;fill:#59636e}\n"
    "svg .lab{font-size:11.5px}\n"
    "svg .leg{font-size:11px}\n"
    "svg .grid{stroke:#eaecef;stroke-width:1}\n"
    "svg .axis{stroke:#6e7781;stroke-width:1}\n"
    "svg .err{stroke:#1f2328;stroke-width:1.1;fill:none}\n"
    "svg .cell{font-size:14px;font-weight:600}\n"
    "svg .cellsub{font-size:11px}\n"
    "svg .inv{fill:#fff}\n"
    ".warnings{border:1px solid #d55e00;border-left:6px solid #d55e00;background:#fff7f0;padding:8px 16px 8px 14px;"
    "margin:18px 0 0}\n"
    ".warnings h2{border:0;margin:0 0 2px;padding:0;color:#9c3400;font-size:15px}\n"
    ".warnings ul{margin:2px 0;padding-left:20px}\n"
    ".where{color:#59636e;font-size:12px}\n"
    "dl.args{display:grid;grid-template-columns:repeat(3,max-content minmax(0,1fr));gap:2px 14px;font-size:12.5px;"
    "margin:4px 0;align-items:baseline}\n"
    "dl.args dd{font-family:ui-monospace,'SFMono-Regular',Menlo,Consolas,monospace;font-size:12px}\n"
    "footer{margin-top:34px;padding-top:8px;border-top:1px solid #d0d7de;font-size:12px;color:#59636e}\n"
    "@media print{body{max-width:none;padding:0;font-size:11.5px}.wide{overflow:visible}table.res{font-size:12px}"
    "figure,table,dl,.warnings{break-inside:avoid}h2,h3,figcaption,.legend{break-after:avoid}.warnings{background:none}}\n"
    "@page{size:A4 landscape;margin:10mm}\n";

/* ---- small formatting helpers ---- */

static const char *dataset_title(const char *name) {
  static const char *KNOWN[][2] = {{"waterbirds", "Waterbirds"}, {"celeba", "CelebA"}, {"metashift", "MetaShift"}};
  for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++)
    if (!strcmp(name, KNOWN[i][0])) return KNOWN[i][1];
  return name;
}

static const char *select_text(const char *s) {
  if (!s) return "not recorded";
  if (!strcmp(s, "val-pseudo")) return "val-pseudo: best validation worst-group accuracy over pseudo groups (no annotations)";
  if (!strcmp(s, "val-true")) return "val-true: best validation worst-group accuracy over true groups (uses val annotations)";
  if (!strcmp(s, "last")) return "last: the last epoch";
  return s;
}

static const char *head_text(const char *h) {
  if (!h) return "not recorded";
  if (!strcmp(h, "prompt")) return "prompt: CoOp context vectors, CLIP frozen";
  if (!strcmp(h, "linear")) return "linear: probe on frozen image features";
  return h;
}

static void duration(double s, char *buf, size_t cap) {
  if (!isfinite(s)) snprintf(buf, cap, "not recorded");
  else if (s < 60) snprintf(buf, cap, "%.1f s", s);
  else if (s < 3600) snprintf(buf, cap, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
  else snprintf(buf, cap, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

/* The table's cell text: a fraction as a percentage with one decimal, "± std" when the
 * method ran several seeds, an en dash when missing. */
static void pct(char *buf, size_t cap, double mean, double std, int show_std) {
  if (!isfinite(mean)) snprintf(buf, cap, "–");
  else if (show_std && isfinite(std)) snprintf(buf, cap, "%.1f ± %.1f", 100 * mean, 100 * std);
  else snprintf(buf, cap, "%.1f", 100 * mean);
}

static void dt_dd(FILE *fp, const char *dt, const char *dd) {
  fputs("<dt>", fp);
  cd_rp_esc(fp, dt);
  fputs("</dt><dd>", fp);
  cd_rp_esc(fp, dd ? dd : "not recorded");
  fputs("</dd>\n", fp);
}

static void method_name_cell(FILE *fp, const cd_rp_run *run, int m) {
  cd_rp_style st = cd_rp_method_style(run, m);
  fprintf(fp, "<th scope=\"row\"><span class=\"sw\" style=\"background:%s\"></span>", st.color);
  cd_rp_esc(fp, st.label);
  if (st.uses_annotations) fputs("<sup>†</sup>", fp);
  fputs("</th>", fp);
}

/* ---- header ---- */

static void write_header(FILE *fp, const cd_rp_run *run) {
  char buf[512];
  fputs("<header>\n<p class=\"kicker\">clipdebias · debiasing run</p>\n<h1>", fp);
  cd_rp_esc(fp, dataset_title(run->dataset));
  fputs("</h1>\n<p class=\"sub\">", fp);
  for (int m = 0; m < run->n_methods; m++) {
    if (m) fputs(", ", fp);
    cd_rp_esc(fp, cd_rp_method_style(run, m).label);
  }
  int seeds = run->n_seeds;
  cd_rp_escf(fp, " · %d seed%s · %d classes · %d groups", seeds, seeds == 1 ? "" : "s", run->n_cls, run->n_groups);
  fputs("</p>\n<dl class=\"meta\">\n", fp);
  dt_dd(fp, "Model", run->model);
  dt_dd(fp, "Date", run->date[0] ? run->date : NULL);
  dt_dd(fp, "Head", head_text(run->head));
  buf[0] = 0;
  for (int i = 0; i < run->n_seeds; i++)
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%ld", i ? ", " : "", run->seeds[i]);
  dt_dd(fp, "Seeds", run->n_seeds ? buf : NULL);
  dt_dd(fp, "Selection", select_text(run->select));
  duration(run->wall_seconds, buf, sizeof buf);
  dt_dd(fp, "Wall time", buf);
  dt_dd(fp, "Features", run->cache);
  buf[0] = 0;
  for (int i = 0; i < run->n_attr; i++)
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? ", " : "", run->attr_names[i]);
  dt_dd(fp, "Attribute", run->n_attr ? buf : "unknown (no annotations)");
  fputs("</dl>\n</header>\n", fp);
}

/* ---- warnings: the run's own, deduplicated across methods, plus checks of our own ---- */

typedef struct {
  char msg[512];
  char where[512];
} warning;

typedef struct {
  warning *w;
  int n, cap;
} warning_list;

static void warn(warning_list *wl, const char *msg, const char *where) {
  for (int i = 0; i < wl->n; i++)
    if (!strcmp(wl->w[i].msg, msg)) {
      size_t used = strlen(wl->w[i].where);
      if (where && *where) snprintf(wl->w[i].where + used, sizeof wl->w[i].where - used, "%s%s", used ? ", " : "", where);
      return;
    }
  if (wl->n == wl->cap) {
    int nc = wl->cap ? wl->cap * 2 : 8;
    warning *nw = realloc(wl->w, (size_t)nc * sizeof *nw);
    if (!nw) return; /* a warning dropped under memory pressure is not worth failing the page */
    wl->w = nw;
    wl->cap = nc;
  }
  snprintf(wl->w[wl->n].msg, sizeof wl->w[wl->n].msg, "%s", msg);
  snprintf(wl->w[wl->n].where, sizeof wl->w[wl->n].where, "%s", where ? where : "");
  wl->n++;
}

/* For writers that did not list warnings: empty groups and one-class predictions. */
static void check_split(const cd_rp_run *run, const cd_rp_split *s, warning_list *wl, const char *where) {
  char msg[512], label[256];
  for (int i = 0; i < s->n_groups; i++)
    if (s->groups[i].n == 0) {
      cd_rp_group_label(run, s->groups[i].y, s->groups[i].a, label, sizeof label);
      snprintf(msg, sizeof msg, "group %d (%s) has no images; left out of the averages", s->groups[i].g, label);
      warn(wl, msg, where);
    }
  long total = 0;
  for (int c = 0; c < s->n_pred; c++) total += s->pred_hist[c];
  for (int c = 0; c < s->n_pred; c++)
    if (total > 0 && s->pred_hist[c] > 0.99 * (double)total) {
      snprintf(msg, sizeof msg, "%.1f%% of predictions are class '%s'", 100.0 * (double)s->pred_hist[c] / (double)total,
               run->classnames[c]);
      warn(wl, msg, where);
    }
}

static void collect_warnings(const cd_rp_run *run, warning_list *wl) {
  char msg[512], where[300];
  if (run->has_pseudo && run->pseudo_acc < 0.8) {
    snprintf(msg, sizeof msg,
             "the pseudo-labels agree with the true attribute on only %.1f%% of images: DPT's groups are unreliable",
             100 * run->pseudo_acc);
    warn(wl, msg, NULL);
  }
  for (int m = 0; m < run->n_methods; m++) {
    const cd_rp_method *me = &run->methods[m];
    const char *label = cd_rp_method_style(run, m).label;
    for (int t = 0; t < 2; t++) {
      const cd_rp_split *s = t ? &me->val : &me->test;
      snprintf(where, sizeof where, "%s (%s)", label, t ? "val" : "test");
      for (int i = 0; i < s->n_warnings; i++) warn(wl, s->warnings[i], where);
      if (s->present && !s->has_warnings) check_split(run, s, wl, where);
    }
    int logged = 0;
    for (int i = 0; i < run->n_lines; i++) logged |= run->lines[i].method == m;
    if (me->epochs > 0 && !logged) {
      snprintf(msg, sizeof msg, "metrics.jsonl has no lines for %s: its training curves are missing", label);
      warn(wl, msg, NULL);
    }
  }
}

static void write_warnings(FILE *fp, const cd_rp_run *run) {
  warning_list wl = {0};
  collect_warnings(run, &wl);
  if (wl.n) {
    fputs("<section class=\"warnings\" id=\"warnings\">\n<h2>Warnings</h2>\n<ul>\n", fp);
    for (int i = 0; i < wl.n; i++) {
      fputs("<li>", fp);
      cd_rp_esc(fp, wl.w[i].msg);
      if (wl.w[i].where[0]) {
        fputs(" <span class=\"where\">— ", fp);
        cd_rp_esc(fp, wl.w[i].where);
        fputs("</span>", fp);
      }
      fputs("</li>\n", fp);
    }
    fputs("</ul>\n</section>\n", fp);
  }
  free(wl.w);
}

/* ---- the results table ---- */

static const char *STAT_HEAD[CD_RP_NSTAT] = {"Avg", "Adj. avg", "Worst group", "Gap"};

/* Best value of a column (max accuracy, min gap) rounded as shown, or NAN with < 2 methods. */
static double column_best(const cd_rp_run *run, int test, int k) {
  double best = NAN;
  int n = 0;
  for (int m = 0; m < run->n_methods; m++) {
    const cd_rp_split *s = test ? &run->methods[m].test : &run->methods[m].val;
    double v = round(1000 * s->mean[k]);
    if (!s->present || !isfinite(v)) continue;
    n++;
    if (isnan(best) || (k == CD_RP_GAP ? v < best : v > best)) best = v;
  }
  return n >= 2 ? best : NAN;
}

static void write_uses(FILE *fp, const cd_rp_method *me) {
  fputs("<td class=\"sep\">", fp);
  cd_rp_esc(fp, me->uses_labels ? me->uses_labels : "–");
  fputs("</td><td>", fp);
  cd_rp_esc(fp, me->uses_attr ? me->uses_attr : "–");
  fputs("</td>", fp);
}

static void write_results_row(FILE *fp, const cd_rp_run *run, int m, double best[2][CD_RP_NSTAT], int epoch_col,
                              int uses_col) {
  const cd_rp_method *me = &run->methods[m];
  int show_std = cd_rp_several_seeds(run, me);
  fputs("<tr data-method=\"", fp);
  cd_rp_esc(fp, me->name);
  fputs("\">", fp);
  method_name_cell(fp, run, m);
  if (me->diverged) {
    fprintf(fp, "<td colspan=\"%d\" class=\"diverged\">diverged: ", 2 * CD_RP_NSTAT + epoch_col + 2 * uses_col);
    cd_rp_esc(fp, me->diverged_text);
    fputs("</td></tr>\n", fp);
    return;
  }
  for (int t = 0; t < 2; t++) {
    const cd_rp_split *s = t ? &me->val : &me->test;
    for (int k = 0; k < CD_RP_NSTAT; k++) {
      char cell[64];
      pct(cell, sizeof cell, s->present ? s->mean[k] : NAN, s->std[k], show_std);
      int is_best = s->present && round(1000 * s->mean[k]) == best[t][k];
      const char *cls = is_best ? (t && !k ? " class=\"best sep\"" : " class=\"best\"") : (t && !k ? " class=\"sep\"" : "");
      fprintf(fp, "<td%s>%s</td>", cls, cell);
    }
  }
  if (epoch_col) {
    char sel[256] = "";
    for (int i = 0; i < me->n_selected; i++)
      snprintf(sel + strlen(sel), sizeof sel - strlen(sel), "%s%ld", i ? ", " : "", me->selected[i]);
    if (me->epochs > 0) snprintf(sel + strlen(sel), sizeof sel - strlen(sel), " / %d", me->epochs);
    fputs("<td class=\"sep\">", fp);
    cd_rp_esc(fp, me->epochs > 0 ? sel : "–");
    fputs("</td>", fp);
  }
  if (uses_col) write_uses(fp, me);
  fputs("</tr>\n", fp);
}

static void write_results(FILE *fp, const cd_rp_run *run) {
  double best[2][CD_RP_NSTAT];
  int any_annot = 0, epoch_col = 0, uses_col = 0;
  for (int t = 0; t < 2; t++)
    for (int k = 0; k < CD_RP_NSTAT; k++) best[t][k] = column_best(run, t == 0, k);
  for (int m = 0; m < run->n_methods; m++) {
    any_annot |= cd_rp_method_style(run, m).uses_annotations;
    epoch_col |= run->methods[m].epochs > 0;
    uses_col |= run->methods[m].uses_labels != NULL;
  }
  fputs("<section id=\"results\">\n<h2>Results</h2>\n<div class=\"wide\">\n<table class=\"bk res\">\n<thead>\n"
        "<tr><th rowspan=\"2\"></th><th colspan=\"4\" class=\"span\">Test</th>"
        "<th colspan=\"4\" class=\"span sep\">Validation</th>",
        fp);
  if (epoch_col) fputs("<th rowspan=\"2\" class=\"sep\">Epoch</th>", fp);
  if (uses_col) fputs("<th rowspan=\"2\" class=\"sep\">Group labels</th><th rowspan=\"2\">Attribute names</th>", fp);
  fputs("</tr>\n<tr>", fp);
  for (int t = 0; t < 2; t++)
    for (int k = 0; k < CD_RP_NSTAT; k++) fprintf(fp, "<th%s>%s</th>", t && !k ? " class=\"sep\"" : "", STAT_HEAD[k]);
  fputs("</tr>\n</thead>\n<tbody>\n", fp);
  for (int m = 0; m < run->n_methods; m++) write_results_row(fp, run, m, best, epoch_col, uses_col);
  fputs("</tbody>\n</table>\n</div>\n<p class=\"note\">Accuracy in %", fp);
  if (run->n_seeds > 1) cd_rp_escf(fp, ", mean ± std over %d seeds", run->n_seeds);
  fputs(". Avg: over all images of the split; adjusted avg: group accuracies weighted by training group sizes; "
        "gap = avg − worst group.",
        fp);
  if (run->n_methods > 1) fputs(" Best of each column in bold.", fp);
  if (epoch_col) fputs(" Epoch: the epoch selected for each seed / epochs trained.", fp);
  if (uses_col)
    fputs(" Group labels: the annotations a method reads (none, validation or training group labels); attribute "
          "names: whether it reads the attribute prompts, given or discovered.", fp);
  if (any_annot) fputs(" † trains with the true attribute of every training image.", fp);
  fputs("</p>\n</section>\n", fp);
}

/* ---- per-group accuracy ---- */

static const cd_rp_group *split_group(const cd_rp_split *s, int g) {
  for (int i = 0; i < s->n_groups; i++)
    if (s->groups[i].g == g) return &s->groups[i];
  return NULL;
}

static void write_group_table(FILE *fp, const cd_rp_run *run, int test) {
  const char *split = test ? "test" : "val";
  fprintf(fp, "<div class=\"wide\">\n<table class=\"bk groups\" data-split=\"%s\">\n<thead><tr><th style=\"text-align:left\">Group</th>"
              "<th>Train n</th><th>%s n</th>",
          split, test ? "Test" : "Val");
  for (int m = 0; m < run->n_methods; m++) {
    fputs("<th>", fp);
    cd_rp_esc(fp, cd_rp_method_style(run, m).label);
    fputs("</th>", fp);
  }
  fputs("</tr></thead>\n<tbody>\n", fp);
  for (int g = 0; g < run->n_groups; g++) {
    const cd_rp_group *info = NULL;
    for (int m = 0; m < run->n_methods && !info; m++) info = split_group(test ? &run->methods[m].test : &run->methods[m].val, g);
    char label[256];
    cd_rp_group_label(run, info ? info->y : -1, info ? info->a : -1, label, sizeof label);
    fputs("<tr><th scope=\"row\">", fp);
    cd_rp_esc(fp, label);
    fputs("</th><td>", fp);
    if (run->train_counts) fprintf(fp, "%ld", run->train_counts[g]);
    else fputs("–", fp);
    fprintf(fp, "</td><td>%ld</td>", info ? info->n : 0L);
    for (int m = 0; m < run->n_methods; m++) {
      const cd_rp_method *me = &run->methods[m];
      const cd_rp_split *s = test ? &me->test : &me->val;
      const cd_rp_group *gr = split_group(s, g);
      char cell[64];
      pct(cell, sizeof cell, gr ? gr->acc : NAN, gr ? gr->acc_std : NAN, cd_rp_several_seeds(run, me));
      int worst = gr && isfinite(gr->acc) && isfinite(s->mean[CD_RP_WORST]) &&
                  round(1000 * gr->acc) == round(1000 * s->mean[CD_RP_WORST]);
      fprintf(fp, "<td%s>%s</td>", worst ? " class=\"worst\"" : "", cell);
    }
    fputs("</tr>\n", fp);
  }
  fputs("</tbody>\n</table>\n</div>\n", fp);
}

static void write_prediction_share(FILE *fp, const cd_rp_run *run) {
  int any = 0;
  for (int m = 0; m < run->n_methods; m++) any |= run->methods[m].test.n_pred > 0;
  if (!any) return;
  fputs("<h3>Predicted classes on test</h3>\n<table class=\"bk pred\">\n<thead><tr><th></th>", fp);
  for (int c = 0; c < run->n_cls; c++) {
    fputs("<th>", fp);
    cd_rp_esc(fp, run->classnames[c]);
    fputs("</th>", fp);
  }
  fputs("</tr></thead>\n<tbody>\n", fp);
  for (int m = 0; m < run->n_methods; m++) {
    const cd_rp_split *s = &run->methods[m].test;
    if (!s->n_pred) continue;
    long total = 0;
    for (int c = 0; c < s->n_pred; c++) total += s->pred_hist[c];
    fputs("<tr>", fp);
    method_name_cell(fp, run, m);
    for (int c = 0; c < s->n_pred; c++) {
      double share = total ? (double)s->pred_hist[c] / (double)total : 0;
      fprintf(fp, "<td%s>%.1f%%</td>", share > 0.99 ? " class=\"alert\"" : "", 100 * share);
    }
    fputs("</tr>\n", fp);
  }
  fputs("</tbody>\n</table>\n<p class=\"note\">Share of test images predicted as each class; over 99% for one "
        "class means the classifier has collapsed.</p>\n",
        fp);
}

static void write_groups(FILE *fp, const cd_rp_run *run) {
  fputs("<section id=\"groups\">\n<h2>Accuracy per group</h2>\n<div class=\"legend\">", fp);
  for (int m = 0; m < run->n_methods; m++) {
    cd_rp_style st = cd_rp_method_style(run, m);
    fprintf(fp, "<span class=\"key\"><span class=\"sw\" style=\"background:%s\"></span>", st.color);
    cd_rp_esc(fp, st.label);
    fputs("</span>", fp);
  }
  fputs("</div>\n<div class=\"figs\">\n", fp);
  cd_rp_fig_group_bars(fp, run, 1);
  cd_rp_fig_group_bars(fp, run, 0);
  fputs("</div>\n<p class=\"note\">", fp);
  if (run->n_seeds > 1) fputs("Error bars: ± one std over seeds. ", fp);
  fputs(run->n_attr ? "Groups are (class, true attribute); " : "The attribute is unknown, so the groups are the classes; ",
        fp);
  fputs("n is the number of images in the split. In the tables, each method's worst group is in bold.</p>\n"
        "<div class=\"figs\">\n<div>\n<h3>Test (%)</h3>\n",
        fp);
  write_group_table(fp, run, 1);
  fputs("</div>\n<div>\n<h3>Validation (%)</h3>\n", fp);
  write_group_table(fp, run, 0);
  fputs("</div>\n</div>\n", fp);
  write_prediction_share(fp, run);
  fputs("</section>\n", fp);
}

/* ---- training, weights, pseudo-labels, args ---- */

static void write_training(FILE *fp, const cd_rp_run *run) {
  fputs("<section id=\"training\">\n<h2>Training</h2>\n", fp);
  if (!cd_rp_fig_curves(fp, run)) {
    fputs("<p class=\"note\">No training curves: no method of this run trained over epochs.</p>\n", fp);
  } else {
    int zeroshot = 0, marked = run->select && (!strcmp(run->select, "val-pseudo") || !strcmp(run->select, "val-true"));
    for (int m = 0; m < run->n_methods; m++) zeroshot |= !strcmp(run->methods[m].name, "zeroshot");
    fputs("<p class=\"note\">Per epoch (0 = the initial head)", fp);
    if (run->n_seeds > 1) fputs(", mean over seeds; the band spans ± one std", fp);
    fputs(".", fp);
    if (zeroshot) fputs(" The dashed grey line is zero-shot.", fp);
    if (marked) fputs(" Circles mark the epoch the selection rule picked for a seed (in the panel it maximises).", fp);
    fputs("</p>\n", fp);
  }
  fputs("</section>\n", fp);
}

static void write_weights(FILE *fp, const cd_rp_run *run) {
  int logged = 0;
  for (int i = 0; i < run->n_lines; i++) logged |= run->lines[i].n_weights > 0 || run->lines[i].n_p_bar > 0;
  if (!logged) return; /* no reweighting method in this run */
  fputs("<section id=\"weights\">\n<h2>Group weights</h2>\n", fp);
  cd_rp_fig_weights(fp, run);
  fputs("<p class=\"note\">DPT weighs pseudo group g by (1/N_g)·exp(η(1 − p̄_g)), smoothed by an EMA, normalised "
        "so the mean weight per training image is 1; the oracle uses inverse true-group frequency; GroupDRO's q_g "
        "sum to 1. p̄_g is the mean probability of the true class over the group's training images. Mean over "
        "seeds, band ± one std.</p>\n</section>\n",
        fp);
}

static void write_pseudo(FILE *fp, const cd_rp_run *run) {
  fputs("<section id=\"pseudo\">\n<h2>Pseudo spurious labels</h2>\n", fp);
  if (!run->has_pseudo) {
    fputs("<p class=\"note\">The true attribute is not annotated in this dataset, so the zero-shot pseudo-labels "
          "cannot be checked.</p>\n</section>\n",
          fp);
    return;
  }
  char splits[256] = "";
  for (int i = 0; i < run->n_pseudo_splits; i++)
    snprintf(splits + strlen(splits), sizeof splits - strlen(splits), "%s%s", i ? " + " : "", run->pseudo_splits[i]);
  fputs("<p>Zero-shot attribute prompts label every image", fp);
  if (splits[0]) cd_rp_escf(fp, " of %s", splits);
  cd_rp_escf(fp, "; the labels agree with the annotated attribute on %.1f%% of them.", 100 * run->pseudo_acc);
  fputs("</p>\n", fp);
  fputs("<div class=\"figs\">\n", fp);
  if (run->confusion) {
    fputs("<figure>\n<figcaption>Confusion (images; % of the true row)</figcaption>\n", fp);
    cd_rp_fig_confusion(fp, run);
    fputs("</figure>\n", fp);
  }
  if (run->n_pseudo_per_class) {
    fputs("<div>\n<h3>Pseudo-label accuracy per class</h3>\n<table class=\"bk pl\">\n<thead><tr><th "
          "style=\"text-align:left\">Class</th><th>Images</th><th>Accuracy (%)</th></tr></thead>\n<tbody>\n",
          fp);
    for (int i = 0; i < run->n_pseudo_per_class; i++) {
      const cd_rp_class_acc *c = &run->pseudo_per_class[i];
      char cell[64];
      pct(cell, sizeof cell, c->acc, NAN, 0);
      fputs("<tr><th scope=\"row\">", fp);
      cd_rp_esc(fp, run->classnames[c->y]);
      fprintf(fp, "</th><td>%ld</td><td>%s</td></tr>\n", c->n, cell);
    }
    char cell[64];
    pct(cell, sizeof cell, run->pseudo_acc, NAN, 0);
    fprintf(fp, "<tr><th scope=\"row\">all</th><td></td><td>%s</td></tr>\n</tbody>\n</table>\n</div>\n", cell);
  }
  fputs("</div>\n</section>\n", fp);
}

static void write_args(FILE *fp, const cd_rp_run *run) {
  fputs("<section id=\"args\">\n<h2>Arguments</h2>\n<dl class=\"args\">\n", fp);
  for (int i = 0; i < run->n_args; i++) dt_dd(fp, run->args[i].key, run->args[i].value);
  fputs("</dl>\n</section>\n", fp);
}

static void write_page(FILE *fp, const cd_rp_run *run, const char *run_dir) {
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>",
        fp);
  cd_rp_escf(fp, "%s · clipdebias report", dataset_title(run->dataset));
  fprintf(fp, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", CD_REPORT_CSS);
  write_header(fp, run);
  write_warnings(fp, run);
  fputs("<main>\n", fp);
  write_results(fp, run);
  write_groups(fp, run);
  write_training(fp, run);
  write_weights(fp, run);
  write_pseudo(fp, run);
  write_args(fp, run);
  fputs("</main>\n<footer>Written by <code>clipdebias report</code> from ", fp);
  cd_rp_esc(fp, run_dir);
  cd_rp_escf(fp, " (results.json, metrics.jsonl with %d lines, args.json).", run->n_lines);
  fputs("</footer>\n</body>\n</html>\n", fp);
}

int cd_report_write(const char *run_dir, cd_error *e) {
  cd_rp_run run;
  char path[4200];
  if (cd_rp_run_load(run_dir, &run, e)) return -1;
  if (cd_path_join(path, sizeof path, run_dir, "report.html")) {
    cd_rp_run_free(&run);
    return cd_fail(e, "%s: path too long", run_dir);
  }
  cd_atomic_file af;
  if (cd_atomic_open(&af, path, e)) {
    cd_rp_run_free(&run);
    return -1;
  }
  write_page(af.fp, &run, run_dir);
  cd_rp_run_free(&run);
  return cd_atomic_commit(&af, e);
}

int cd_report_after_run(const char *run_dir, int run_rc, FILE *log, cd_error *e) {
  if (run_rc < 0) return -1;
  cd_error re;
  if (cd_report_write(run_dir, &re)) {
    *e = re;
    return cd_fail_prefix(e, "results are written, but report.html is not");
  }
  if (log) fprintf(log, "report: %s/report.html\n", run_dir);
  return run_rc ? -1 : 0;
}
