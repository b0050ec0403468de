/* The toy world: Waterbirds' group counts at scale 1 (and the right proportions at other
 * scales and correlations), the exact metadata.csv format, every listed image present and
 * decodable at its planned size, the same bytes for the same seed on 1 or 2 threads and
 * different bytes for another seed, backgrounds a pixel statistic already tells apart,
 * captions that name the class or the place with the requested co-occurrence, the cache
 * marker, the contact sheet, and one clear message for bad options. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "data/image/image.h"
#include "data/toyworld/toyworld.h"
#include "tests/testutil.h"

static void test_counts(void) {
  static const int WB[3][4] = {{3498, 184, 56, 1057}, {467, 466, 133, 133}, {2255, 2255, 642, 642}};
  cd_toyworld_options o;
  cd_toyworld_plan p;
  cd_error e;
  cd_toyworld_defaults(&o);
  CHECK(cd_toyworld_plan_waterbirds(&o, &p, &e) == 0, "%s", e.msg);
  CHECK(p.n == 11788, "scale 1 has %d images, Waterbirds 11788", p.n);
  for (int s = 0; s < 3; s++)
    for (int g = 0; g < 4; g++) CHECK(p.counts[s][g] == WB[s][g], "split %d group %d: %d, Waterbirds %d", s, g, p.counts[s][g], WB[s][g]);
  int ids_ok = 1, split_n[3] = {0};
  for (int i = 0; i < p.n; i++) {
    ids_ok &= p.items[i].id == i + 1;
    split_n[p.items[i].split]++;
  }
  CHECK(ids_ok, "img_id must run 1..N in metadata order");
  CHECK(split_n[0] == 4795 && split_n[1] == 1199 && split_n[2] == 5794, "split sizes %d %d %d", split_n[0], split_n[1], split_n[2]);
  /* Species folders: class 0 in 001..010, class 1 in 011..020, like CUB's numbering. */
  int folders_ok = 1;
  for (int i = 0; i < p.n; i++) {
    int folder = atoi(p.items[i].filename);
    folders_ok &= (p.items[i].y == 0) ? (folder >= 1 && folder <= 10) : (folder >= 11 && folder <= 20);
  }
  CHECK(folders_ok, "species folder numbers must follow the class");
  cd_toyworld_plan_free(&p);
  o.scale = 0.2;
  o.corr = 0.8;
  CHECK(cd_toyworld_plan_waterbirds(&o, &p, &e) == 0, "%s", e.msg);
  double agree = (double)(p.counts[0][0] + p.counts[0][3]) / (p.counts[0][0] + p.counts[0][1] + p.counts[0][2] + p.counts[0][3]);
  CHECK(fabs(agree - 0.8) < 0.01, "train place agrees with class %.3f of the time, want 0.8", agree);
  CHECK(abs(p.counts[2][0] - p.counts[2][1]) <= 1 && abs(p.counts[2][2] - p.counts[2][3]) <= 1, "test must be balanced within class");
  cd_toyworld_plan_free(&p);
  o.scale = 0;
  CHECK(cd_toyworld_plan_waterbirds(&o, &p, &e) != 0 && strstr(e.msg, "scale 0"), "scale 0 must be refused: %s", e.msg);
}

static int files_equal(const char *a, const char *b) {
  uint8_t *x = NULL, *y = NULL;
  size_t nx = 0, ny = 0;
  cd_error e;
  int same = cd_file_read(a, 1 << 24, &x, &nx, &e) == 0 && cd_file_read(b, 1 << 24, &y, &ny, &e) == 0 && nx == ny &&
             memcmp(x, y, nx) == 0;
  free(x);
  free(y);
  return same;
}

/* Mean of (blue - green) over the lower half of the picture: water is blue, land green/brown. */
static double blue_minus_green(const cd_image *img) {
  double s = 0;
  int n = 0;
  for (int y = img->height / 2; y < img->height; y++)
    for (int x = 0; x < img->width; x++, n++) {
      const uint8_t *p = img->pixels + ((size_t)y * img->width + x) * 3;
      s += (double)p[2] - p[1];
    }
  return s / n;
}

static void test_dataset(void) {
  char d1[256], d2[256], d3[256];
  if (cd_test_make_tmpdir(d1, sizeof d1, "toyworld1") || cd_test_make_tmpdir(d2, sizeof d2, "toyworld2") ||
      cd_test_make_tmpdir(d3, sizeof d3, "toyworld3"))
    return;
  cd_toyworld_options o;
  cd_error e;
  cd_toyworld_defaults(&o);
  o.scale = 0.02;
  o.threads = 1;
  CHECK(cd_toyworld_write_waterbirds(d1, &o, &e) == 0, "%s", e.msg);
  o.threads = 2;
  CHECK(cd_toyworld_write_waterbirds(d2, &o, &e) == 0, "%s", e.msg);
  o.seed = 1;
  CHECK(cd_toyworld_write_waterbirds(d3, &o, &e) == 0, "%s", e.msg);
  o.seed = 0;
  CHECK(cd_toyworld_is_cached(d1, &o, "waterbirds", 0), "a finished world must be recognised as cached");
  o.corr = 0.9;
  CHECK(!cd_toyworld_is_cached(d1, &o, "waterbirds", 0), "a world with another corr must not count as cached");
  o.corr = 0.95;

  cd_toyworld_plan p;
  CHECK(cd_toyworld_plan_waterbirds(&o, &p, &e) == 0, "%s", e.msg);
  uint8_t *meta = NULL;
  size_t meta_n = 0;
  CHECK(cd_file_read(cd_test_path(d1, "metadata.csv"), 1 << 24, &meta, &meta_n, &e) == 0, "%s", e.msg);
  const char *header = "img_id,img_filename,y,split,place,place_filename\n";
  CHECK(meta && strncmp((char *)meta, header, strlen(header)) == 0, "metadata.csv header differs from Waterbirds'");
  int lines = 0;
  for (size_t i = 0; i < meta_n; i++) lines += meta[i] == '\n';
  CHECK(lines == p.n + 1, "metadata.csv has %d lines for %d images", lines, p.n);
  CHECK(meta && strstr((char *)meta, "\n1,001.Rusty_Finch/Rusty_Finch_0001_1.jpg,0,") != NULL, "first row is not in CUB style");
  free(meta);

  int same = files_equal(cd_test_path(d1, "metadata.csv"), cd_test_path(d2, "metadata.csv"));
  int differ = 0, decoded = 0, bg_right = 0;
  for (int i = 0; i < p.n; i++) {
    char a[512], b[512], c[512];
    snprintf(a, sizeof a, "%s/%s", d1, p.items[i].filename);
    snprintf(b, sizeof b, "%s/%s", d2, p.items[i].filename);
    snprintf(c, sizeof c, "%s/%s", d3, p.items[i].filename);
    same &= files_equal(a, b);
    differ += cd_file_exists(c) && !files_equal(a, c);
    cd_image img;
    if (cd_image_load(a, &img, &e) == 0) {
      decoded += img.width == p.items[i].w && img.height == p.items[i].h && img.mode == CD_MODE_RGB;
      bg_right += (blue_minus_green(&img) > 0) == (p.items[i].place == 1);
      cd_image_free(&img);
    }
  }
  CHECK(same, "1 and 2 threads must write identical files");
  CHECK(decoded == p.n, "%d of %d images decode at their planned size", decoded, p.n);
  CHECK(differ > 0, "seed 1 must draw different pictures than seed 0");
  printf("toyworld: %d images; lower-half blue-green sign matches the place on %d (%.1f%%)\n", p.n, bg_right,
         100.0 * bg_right / p.n);
  CHECK(bg_right >= p.n * 95 / 100, "places are not easy to tell apart: %d of %d by colour", bg_right, p.n);
  cd_toyworld_plan_free(&p);
  cd_test_remove_tmpdir(d1);
  cd_test_remove_tmpdir(d2);
  cd_test_remove_tmpdir(d3);
}

static void test_captions(void) {
  cd_toyworld_options o;
  cd_toyworld_plan p;
  cd_error e;
  cd_toyworld_defaults(&o);
  o.corr = 0.85;
  int n = 4000;
  CHECK(cd_toyworld_plan_captions(&o, n, &p, &e) == 0, "%s", e.msg);
  int agree = 0, named_class = 0, named_place = 0, wrong = 0, distinct_templates = 0;
  char first_words[16][32];
  for (int i = 0; i < p.n; i++) {
    const cd_toyworld_item *it = &p.items[i];
    char cap[160];
    cd_toyworld_caption(it, cap, sizeof cap);
    agree += it->y == it->place;
    int says_land = strstr(cap, "landbird") != NULL, says_water = strstr(cap, "waterbird") != NULL;
    named_class += says_land || says_water;
    wrong += (says_land && it->y != 0) || (says_water && it->y != 1) || strchr(cap, ',') != NULL;
    wrong += (strstr(cap, "long beak") || strstr(cap, "long legs") || strstr(cap, "long neck")) && it->y != 1;
    wrong += (strstr(cap, "short beak") || strstr(cap, "short legs") || strstr(cap, "fan tail")) && it->y != 0;
    const char *place_words[] = {" on land", " ground", " grass", " meadow", " field", " forest", " trees",
                                 " on water", " the water", " waves", " lake", " ocean", " at sea"};
    for (int k = 0; k < 13; k++)
      if (strstr(cap, place_words[k])) {
        named_place++;
        wrong += (k < 7) != (it->place == 0);
        break;
      }
    char w[32], w2[32] = "";
    sscanf(cap, "%15s %15s", w, w2);
    strcat(w, w2);
    int seen = 0;
    for (int k = 0; k < distinct_templates; k++) seen |= !strcmp(first_words[k], w);
    if (!seen && distinct_templates < 16) snprintf(first_words[distinct_templates++], 32, "%s", w);
  }
  printf("captions: place agrees with class %.3f; %.0f%% name the class, %.0f%% the place\n", (double)agree / n,
         100.0 * named_class / n, 100.0 * named_place / n);
  CHECK(fabs((double)agree / n - 0.85) < 0.03, "co-occurrence %.3f, want 0.85", (double)agree / n);
  CHECK(named_class > n * 4 / 10 && named_class < n * 7 / 10, "%d of %d captions name the class word", named_class, n);
  CHECK(named_place > n / 2 && named_place < n * 7 / 10, "%d of %d captions name the place", named_place, n);
  CHECK(wrong == 0, "%d captions name the wrong class or place (or hold a comma)", wrong);
  CHECK(distinct_templates >= 4, "only %d different caption openings", distinct_templates);
  cd_toyworld_plan_free(&p);
}

static void test_sheet(void) {
  char dir[256];
  if (cd_test_make_tmpdir(dir, sizeof dir, "toyworld_sheet")) return;
  cd_toyworld_options o;
  cd_error e;
  cd_image img;
  cd_toyworld_defaults(&o);
  const char *path = cd_test_path(dir, "sheet.png");
  CHECK(cd_toyworld_write_sheet(path, &o, 3, &e) == 0, "%s", e.msg);
  if (cd_image_load(path, &img, &e) == 0) {
    CHECK(img.width > 3 * 112 && img.height > 4 * 112 && img.mode == CD_MODE_RGB, "sheet is %dx%d", img.width, img.height);
    cd_image_free(&img);
  } else {
    CHECK(0, "%s", e.msg);
  }
  CHECK(cd_toyworld_write_sheet(cd_test_path(dir, "sheet.bmp"), &o, 3, &e) != 0 && strstr(e.msg, "sheet.bmp"),
        "a sheet with an unknown extension must fail naming it");
  cd_test_remove_tmpdir(dir);
}

int main(void) {
  test_counts();
  test_dataset();
  test_captions();
  test_sheet();
  return cd_test_finish("test_toyworld");
}
