/* Progress line for long work: "embed-image  1200/5000  24%  87.3 img/s  ETA 43s" redrawn
 * in place on a terminal (stderr is a tty), silent when stderr is piped or redirected. */
#ifndef CD_PROGRESS_H
#define CD_PROGRESS_H

#include <stddef.h>

typedef struct {
  const char *label;
  const char *unit;   /* "img", "step", ... */
  size_t total;
  size_t done;
  double t_start, t_last;
  int enabled;
} cd_progress;

void cd_progress_start(cd_progress *p, const char *label, const char *unit, size_t total);
void cd_progress_update(cd_progress *p, size_t done);
void cd_progress_finish(cd_progress *p);
double cd_time_now(void); /* monotonic seconds */
double cd_cpu_time_now(void); /* CPU seconds of the process, all its threads */

#endif
