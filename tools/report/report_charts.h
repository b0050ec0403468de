/* The report's figures, each an inline <svg> (or a row of them) written to fp. Colours
 * come from the Okabe-Ito palette (distinguishable with every common colour-vision
 * deficiency) and lines also differ in dash pattern, so a grey-scale print still reads. */
#ifndef CD_REPORT_CHARTS_H
#define CD_REPORT_CHARTS_H

#include <stdio.h>

#include "tools/report/report_run.h"

typedef struct {
  const char *color, *dash; /* dash NULL = solid */
  const char *label;        /* "DPT", "GroupDRO", or the method's own name */
  int uses_annotations;     /* trains on the true attribute (oracle, GroupDRO) */
} cd_rp_style;

cd_rp_style cd_rp_method_style(const cd_rp_run *run, int method);
/* The style of a method by name; other = its index among the methods without a known style. */
cd_rp_style cd_rp_style_named(const char *name, int other);

/* Grouped bars: accuracy of every method on every true group of one split (test or val). */
void cd_rp_fig_group_bars(FILE *fp, const cd_rp_run *run, int test);
/* Training curves (loss, val average, val worst group true / pseudo) per epoch, mean over
 * seeds with a band of +- one std. Returns 0 if metrics.jsonl has nothing to plot. */
int cd_rp_fig_curves(FILE *fp, const cd_rp_run *run);
/* Group weights (DPT w, oracle w, GroupDRO q) and p_bar over epochs; 0 if none logged. */
int cd_rp_fig_weights(FILE *fp, const cd_rp_run *run);
/* Pseudo attribute against the true one (rows true, columns pseudo), shaded by row share. */
void cd_rp_fig_confusion(FILE *fp, const cd_rp_run *run);

#endif
