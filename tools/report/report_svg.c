#include "tools/report/report_svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1-4) whose code point XML allows, or 0. */
static int xml_char_len(const unsigned char *s) {
  uint32_t c;
  int len;
  if (s[0] < 0x80) {
    c = s[0];
    len = 1;
  } else if ((s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) {
    c = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
    len = c >= 0x80 ? 2 : 0;
  } else if ((s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
    c = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
    len = c >= 0x800 ? 3 : 0;
  } else if ((s[0] & 0xF8) == 0xF0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80) {
    c = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 | (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
    len = c >= 0x10000 && c <= 0x10FFFF ? 4 : 0;
  } else {
    return 0;
  }
  if (!len) return 0;
  if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return 0;
  if ((c >= 0xD800 && c <= 0xDFFF) || c == 0xFFFE || c == 0xFFFF) return 0;
  return len;
}

void cd_rp_esc(FILE *fp, const char *str) {
  const unsigned char *s = (const unsigned char *)(str ? str : "");
  while (*s) {
    switch (*s) {
    case '&': fputs("&amp;", fp); s++; continue;
    case '<': fputs("&lt;", fp); s++; continue;
    case '>': fputs("&gt;", fp); s++; continue;
    case '"': fputs("&quot;", fp); s++; continue;
    case '\'': fputs("&#39;", fp); s++; continue;
    default: break;
    }
    int len = xml_char_len(s);
    if (len == 0) {
      fputs("\xEF\xBF\xBD", fp); /* U+FFFD */
      s++;
      while ((*s & 0xC0) == 0x80) s++;
    } else {
      fwrite(s, 1, (size_t)len, fp);
      s += len;
    }
  }
}

void cd_rp_escf(FILE *fp, const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  cd_rp_esc(fp, buf);
}

void cd_svg_begin(FILE *fp, int width, int height, const char *title) {
  fprintf(fp, "<svg class=\"fig\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", width,
          height, width, height);
  cd_rp_esc(fp, title);
  fputs("\"><title>", fp);
  cd_rp_esc(fp, title);
  fputs("</title>\n", fp);
}

void cd_svg_end(FILE *fp) { fputs("</svg>\n", fp); }

void cd_svg_text(FILE *fp, double x, double y, const char *anchor, const char *cls, const char *text) {
  fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\"", x, y);
  if (anchor && strcmp(anchor, "start")) fprintf(fp, " text-anchor=\"%s\"", anchor);
  if (cls) fprintf(fp, " class=\"%s\"", cls);
  fputc('>', fp);
  cd_rp_esc(fp, text);
  fputs("</text>\n", fp);
}

double cd_plot_px(const cd_plot *p, double x) {
  double span = p->x1 - p->x0;
  return p->left + (span > 0 ? (x - p->x0) / span : 0.5) * p->width;
}

double cd_plot_py(const cd_plot *p, double y) {
  double a = p->y0, b = p->y1, v = y;
  if (p->ylog) {
    a = log10(a);
    b = log10(b);
    v = log10(y > 0 ? y : p->y0);
  }
  double t = b > a ? (v - a) / (b - a) : 0.5;
  return p->top + (1 - t) * p->height;
}

double cd_nice_step(double span, int target) {
  if (!(span > 0) || target < 1) return 1;
  double raw = span / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

void cd_nice_range(double *lo, double *hi, int target) {
  if (!(*hi > *lo)) {
    double pad = *lo != 0 ? fabs(*lo) * 0.1 : 1;
    *lo -= pad;
    *hi += pad;
  }
  double step = cd_nice_step(*hi - *lo, target);
  *lo = floor(*lo / step + 1e-9) * step;
  *hi = ceil(*hi / step - 1e-9) * step;
}

static void tick_label(double v, double step, int percent, char *buf, size_t cap) {
  if (percent) {
    v *= 100;
    step *= 100;
  }
  int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
  if (decimals > 4) decimals = 4;
  if (fabs(v) < step * 1e-6) v = 0; /* no "-0" */
  snprintf(buf, cap, "%.*f", decimals, v);
}

static void y_tick(const cd_plot *p, double v, double step, int percent) {
  char label[32];
  double y = cd_plot_py(p, v);
  fprintf(p->fp, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->left, y,
          p->left + p->width, y);
  tick_label(v, step, percent, label, sizeof label);
  cd_svg_text(p->fp, p->left - 5, y + 3.5, "end", "tick", label);
}

/* Log axis ticks: every decade, plus 2 and 5 when the axis spans few decades. */
static void y_log_ticks(const cd_plot *p) {
  int d0 = (int)floor(log10(p->y0) + 1e-9), d1 = (int)ceil(log10(p->y1) - 1e-9);
  static const double mult[3] = {1, 2, 5};
  int nm = log10(p->y1 / p->y0) <= 2.5 ? 3 : 1;
  for (int d = d0; d <= d1; d++)
    for (int k = 0; k < nm; k++) {
      double v = mult[k] * pow(10, d);
      if (v < p->y0 * (1 - 1e-9) || v > p->y1 * (1 + 1e-9)) continue;
      y_tick(p, v, d >= 0 ? 1 : pow(10, d), 0);
    }
}

void cd_plot_axes(const cd_plot *p, const cd_axes *ax) {
  FILE *fp = p->fp;
  if (p->ylog) {
    y_log_ticks(p);
  } else {
    double step = cd_nice_step(p->y1 - p->y0, 5);
    for (double v = ceil(p->y0 / step - 1e-9) * step; v <= p->y1 + step * 1e-6; v += step) y_tick(p, v, step, ax->y_percent);
  }
  double xstep = cd_nice_step(p->x1 - p->x0, 6);
  if (ax->x_integer && xstep < 1) xstep = 1;
  double base = p->top + p->height;
  for (double v = ceil(p->x0 / xstep - 1e-9) * xstep; !ax->no_x_ticks && v <= p->x1 + xstep * 1e-6; v += xstep) {
    char label[32];
    double x = cd_plot_px(p, v);
    fprintf(fp, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, base, x, base + 4);
    tick_label(v, xstep, 0, label, sizeof label);
    cd_svg_text(fp, x, base + 15, "middle", "tick", label);
  }
  fprintf(fp, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->left, base,
          p->left + p->width, base);
  fprintf(fp, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->left, p->top, p->left,
          base);
  if (ax->xlabel) cd_svg_text(fp, p->left + p->width / 2, base + 31, "middle", "lab", ax->xlabel);
  if (ax->ylabel) {
    double cx = p->left - 38, cy = p->top + p->height / 2;
    fprintf(fp, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" class=\"lab\">", cx, cy);
    cd_rp_esc(fp, ax->ylabel);
    fputs("</text>\n", fp);
  }
}

void cd_plot_line(const cd_plot *p, const double *x, const double *y, int n, const char *color, const char *dash,
                  double width) {
  int pen_down = 0, any = 0;
  for (int i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i])) {
      pen_down = 0;
      continue;
    }
    if (!any) fprintf(p->fp, "<path d=\"");
    fprintf(p->fp, "%s%.1f %.1f ", pen_down ? "L" : "M", cd_plot_px(p, x[i]), cd_plot_py(p, y[i]));
    pen_down = any = 1;
  }
  if (!any) return;
  fprintf(p->fp, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" stroke-linejoin=\"round\"", color, width);
  if (dash) fprintf(p->fp, " stroke-dasharray=\"%s\"", dash);
  fputs("/>\n", p->fp);
}

void cd_plot_band(const cd_plot *p, const double *x, const double *lo, const double *hi, int n, const char *color,
                  double opacity) {
  for (int i = 0; i < n;) {
    if (!isfinite(x[i]) || !isfinite(lo[i]) || !isfinite(hi[i])) {
      i++;
      continue;
    }
    int j = i;
    while (j < n && isfinite(x[j]) && isfinite(lo[j]) && isfinite(hi[j])) j++;
    if (j - i >= 2) {
      fprintf(p->fp, "<path d=\"");
      for (int k = i; k < j; k++) fprintf(p->fp, "%s%.1f %.1f ", k == i ? "M" : "L", cd_plot_px(p, x[k]), cd_plot_py(p, hi[k]));
      for (int k = j - 1; k >= i; k--) fprintf(p->fp, "L%.1f %.1f ", cd_plot_px(p, x[k]), cd_plot_py(p, lo[k]));
      fprintf(p->fp, "Z\" fill=\"%s\" fill-opacity=\"%.2f\" stroke=\"none\"/>\n", color, opacity);
    }
    i = j;
  }
}

void cd_svg_legend_line(FILE *fp, double x, double y, const char *color, const char *dash, double width,
                        const char *label) {
  fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"%.1f\"", x, y - 4,
          x + 22, y - 4, color, width);
  if (dash) fprintf(fp, " stroke-dasharray=\"%s\"", dash);
  fputs("/>\n", fp);
  cd_svg_text(fp, x + 27, y, "start", "leg", label);
}
