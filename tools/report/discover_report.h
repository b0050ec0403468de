/* discover.html: per class its top candidates and thumbnails of the images that score
 * highest (discover_report.c). The commands hand it to discovery as cd_discover_opts'
 * write_page. */
#ifndef CD_DISCOVER_REPORT_H
#define CD_DISCOVER_REPORT_H

#include "core/error.h"
#include "data/datasets/feature_cache.h"
#include "models/discover/discover.h"

int cd_discover_write_html(const char *path, const cd_discover_result *r, const cd_feature_cache *c,
                           cd_error *e);

#endif
