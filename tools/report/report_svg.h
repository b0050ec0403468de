/* Inline SVG for the report: XML escaping, and a small x/y plot (nice ticks, light grid,
 * linear or log y, lines broken at missing values, shaded bands). Coordinates are in CSS
 * pixels of the <svg> viewBox; styling comes from the page's CSS classes, so the figures
 * print the same as they display. */
#ifndef CD_REPORT_SVG_H
#define CD_REPORT_SVG_H

#include <stdio.h>

/* Writes s with & < > " ' escaped, invalid UTF-8 and characters XML forbids (control
 * characters, U+FFFE/FFFF) replaced by U+FFFD, so any string lands well-formed. */
void cd_rp_esc(FILE *fp, const char *s);
/* printf, then escaped. */
void cd_rp_escf(FILE *fp, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* <svg width height viewBox role="img" aria-label=title><title>title</title> ... </svg> */
void cd_svg_begin(FILE *fp, int width, int height, const char *title);
void cd_svg_end(FILE *fp);
/* One <text>, escaped; anchor is "start" | "middle" | "end"; cls a CSS class or NULL. */
void cd_svg_text(FILE *fp, double x, double y, const char *anchor, const char *cls, const char *text);

typedef struct {
  FILE *fp;
  double left, top, width, height; /* plot area inside the svg */
  double x0, x1, y0, y1;           /* data range shown */
  int ylog;                        /* y on a log10 scale (y0 > 0) */
} cd_plot;

double cd_plot_px(const cd_plot *p, double x);
double cd_plot_py(const cd_plot *p, double y);

/* A "nice" step (1, 2 or 5 times a power of ten) giving about `target` intervals over span. */
double cd_nice_step(double span, int target);
/* Widens [lo, hi] outwards to multiples of a nice step. */
void cd_nice_range(double *lo, double *hi, int target);

/* Axes: grid lines and tick labels on both axes, axis titles. Percent axes take fractions
 * and label them 0-100; integer x axes (epochs) never tick between integers. */
typedef struct {
  const char *xlabel, *ylabel;
  int y_percent, x_integer;
  int no_x_ticks; /* categorical x (bar charts): the caller labels it */
} cd_axes;
void cd_plot_axes(const cd_plot *p, const cd_axes *ax);

/* A polyline through the finite (x[i], y[i]); NAN breaks the line. dash may be NULL. */
void cd_plot_line(const cd_plot *p, const double *x, const double *y, int n, const char *color, const char *dash,
                  double width);
/* A shaded band between lo and hi (one polygon per run of finite values). */
void cd_plot_band(const cd_plot *p, const double *x, const double *lo, const double *hi, int n, const char *color,
                  double opacity);
/* A short line sample and its label, for legends drawn inside the svg. */
void cd_svg_legend_line(FILE *fp, double x, double y, const char *color, const char *dash, double width,
                        const char *label);

#endif
