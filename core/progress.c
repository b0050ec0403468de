#include "core/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

double cd_time_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double cd_cpu_time_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void draw(const cd_progress *p, double now) {
  double el = now - p->t_start;
  double rate = el > 0 ? (double)p->done / el : 0;
  fprintf(stderr, "\r%s  %zu/%zu", p->label, p->done, p->total);
  if (p->total) fprintf(stderr, "  %3d%%", (int)(100.0 * (double)p->done / (double)p->total));
  fprintf(stderr, "  %.1f %s/s", rate, p->unit);
  if (rate > 0 && p->total > p->done) {
    double eta = (double)(p->total - p->done) / rate;
    if (eta >= 3600) fprintf(stderr, "  ETA %dh%02dm", (int)(eta / 3600), (int)(eta / 60) % 60);
    else if (eta >= 60) fprintf(stderr, "  ETA %dm%02ds", (int)(eta / 60), (int)eta % 60);
    else fprintf(stderr, "  ETA %ds", (int)(eta + 0.5));
  }
  fputs("\033[K", stderr); /* clear the rest of a longer previous line */
  fflush(stderr);
}

void cd_progress_start(cd_progress *p, const char *label, const char *unit, size_t total) {
  p->label = label ? label : "";
  p->unit = unit ? unit : "item";
  p->total = total;
  p->done = 0;
  p->t_start = p->t_last = cd_time_now();
  /* Only a human watching a terminal benefits; logs and CI get no carriage-return noise. */
  const char *ci = getenv("CI");
  p->enabled = isatty(2) && !(ci && *ci);
}

void cd_progress_update(cd_progress *p, size_t done) {
  p->done = done;
  if (!p->enabled) return;
  double now = cd_time_now();
  if (now - p->t_last < 0.2 && done != p->total) return;
  p->t_last = now;
  draw(p, now);
}

void cd_progress_finish(cd_progress *p) {
  if (!p->enabled) return;
  draw(p, cd_time_now());
  fputc('\n', stderr);
  p->enabled = 0;
}
