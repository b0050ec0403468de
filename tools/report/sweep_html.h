/* sweep.html of a sweep folder (sweep_html.c), drawn from what the collect step read
 * (models/sweep/sweep_results.h); written atomically to path. */
#ifndef CD_SWEEP_HTML_H
#define CD_SWEEP_HTML_H

#include "core/error.h"
#include "models/sweep/sweep_results.h"

int cd_sweep_html_write(const char *path, const cd_sweep_results *r, cd_error *e);

#endif
