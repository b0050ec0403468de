/* Waterbirds: group_DRO's metadata.csv (img_id,img_filename,y,split,place,place_filename)
 * or SubpopBench / BalancingGroups' derived metadata_waterbirds.csv (id,filename,split,y,a),
 * in the folder given or any nesting users have (the Stanford tarball's folder, WILDS'
 * waterbirds_v1.0/ without requiring its RELEASE marker, SubpopBench's waterbirds/,
 * group_DRO's cub/data/). y: 1 waterbird; a (place): 1 water background. */
#include <string.h>

#include "data/datasets/dataset_internal.h"

#define WB_FOLDER "waterbird_complete95_forest2water2"

/* group_DRO's own log of the published data set: [split][g]. */
static const long WB_OFFICIAL[12] = {3498, 184, 56, 1057, 467, 466, 133, 133, 2255, 2255, 642, 642};

static const char *const WB_METADATA[] = {
    "metadata_waterbirds.csv", "waterbirds/metadata_waterbirds.csv", WB_FOLDER "/metadata_waterbirds.csv",
    "metadata.csv", WB_FOLDER "/metadata.csv", "waterbirds_v1.0/metadata.csv", "waterbirds/" WB_FOLDER "/metadata.csv",
    "data/" WB_FOLDER "/metadata.csv", "cub/data/" WB_FOLDER "/metadata.csv", NULL};

static const char *layout_name(const char *metadata) {
  if (strstr(metadata, "metadata_waterbirds.csv")) return "SubpopBench/BalancingGroups derived metadata: id,filename,split,y,a";
  if (strstr(metadata, "waterbirds_v1.0/")) return "WILDS waterbirds_v1.0";
  if (strstr(metadata, "cub/data/")) return "group_DRO cub/data layout";
  return "group_DRO metadata.csv";
}

static int find_metadata(const cd_dataset_opts *o, char *out, size_t cap, cd_error *e) {
  if (o->csv) {
    if (!cd_ds_is_file(o->csv)) return cd_fail(e, "waterbirds: --csv %s: no such file", o->csv);
    return cd_ds_absolute(out, cap, o->csv, e);
  }
  char found[4096];
  if (cd_ds_find(found, sizeof found, o->root, WB_METADATA, 0) >= 0) return cd_ds_absolute(out, cap, found, e);
  static const char *const dirs[] = {".", "waterbirds", NULL};
  static const char *const tars[] = {WB_FOLDER ".tar.gz", "waterbirds.tar.gz", WB_FOLDER ".tar", NULL};
  if (cd_ds_check_archives(o->root, dirs, tars, WB_FOLDER, e)) return -1;
  char tried[3000];
  cd_ds_list_candidates(tried, sizeof tried, o->root, WB_METADATA);
  return cd_fail(e, "waterbirds: no metadata.csv found in: %s (point --root at the folder holding %s/, or pass --csv)", tried,
                 WB_FOLDER);
}

static void dirname_of(const char *path, char *out, size_t cap) {
  snprintf(out, cap, "%s", path);
  char *slash = strrchr(out, '/');
  if (slash && slash != out) *slash = 0;
}

int cd_waterbirds_load(const cd_dataset_opts *o, cd_dataset *d, cd_error *e) {
  static const char *const classes[] = {"landbird", "waterbird", NULL}, *const places[] = {"land", "water", NULL};
  if (find_metadata(o, d->metadata, sizeof d->metadata, e) || cd_ds_set_names(d, classes, places, e)) return -1;
  cd_label_csv_opts lo = {1, 1, 1, NULL, NULL};
  if (cd_ds_read_label_csv(d, d->metadata, &lo, e)) return -1;
  char m[4096], c[4][4200];
  dirname_of(d->metadata, m, sizeof m);
  cd_ds_join(c[0], sizeof c[0], m, "");
  cd_ds_join(c[1], sizeof c[1], m, WB_FOLDER);
  cd_ds_join(c[2], sizeof c[2], m, "waterbirds/" WB_FOLDER);
  cd_ds_join(c[3], sizeof c[3], m, "waterbirds_v1.0");
  const char *folders[5] = {c[0], c[1], c[2], c[3], o->root};
  if (cd_ds_probe_image_root(d, folders, 5, e)) return -1;
  cd_ds_note(d, "metadata: %s (%s)", d->metadata, layout_name(d->metadata));
  cd_ds_note(d, "images:   %s/", d->root);
  d->official = WB_OFFICIAL;
  d->official_total = 11788;
  d->official_split = 1;
  return 0;
}
