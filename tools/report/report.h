/* report.html of a run directory: one self-contained page (inline CSS and SVG, no script,
 * nothing fetched from elsewhere, well-formed XML so any strict parser reads it) with the
 * results table, per-group accuracy, training curves, group weights, the pseudo-label
 * confusion, the arguments and the run's warnings.
 *
 * Reads RUN_DIR/results.json, RUN_DIR/metrics.jsonl and RUN_DIR/args.json (the schema
 * `clipdebias run` writes) and writes RUN_DIR/report.html atomically. Missing pieces of a
 * run (no training curves for zero-shot, no attribute, one seed, empty groups) leave their
 * section out or say so; a missing or malformed file fails with one message naming it. */
#ifndef CD_REPORT_H
#define CD_REPORT_H

#include <stdio.h>

#include "core/error.h"

int cd_report_write(const char *run_dir, cd_error *e);

/* The end of `run` (and the demo's run): run_rc is what cd_run returned (models/run/run.h).
 * Below 0 nothing was written to draw: returns -1, e untouched. Otherwise writes report.html
 * (a failure: "results are written, but report.html is not: ..."), prints "report: PATH" to
 * log (NULL: quiet) and returns -1 when some pair diverged (e still names them), else 0. */
int cd_report_after_run(const char *run_dir, int run_rc, FILE *log, cd_error *e);

/* The style sheet of the report pages (report.html, sweep.html). */
extern const char CD_REPORT_CSS[];

#endif
