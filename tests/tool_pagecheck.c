/* Helper for the CLI test scripts (not a test itself):
 *
 *   tool_pagecheck xml PAGE.html   (xml-links: also allow links to .html pages beside it)
 *       strict XML well-formedness + nothing referenced outside the page (tests/xml_check.h)
 *   tool_pagecheck png SHOT.png [#rrggbb...]
 *       decodes the PNG with the engine's own decoder and prints
 *       "W H background non_background_pixels distinct_colours [#rrggbb=count...]"
 *       so a script can tell a blank screenshot from a rendered page, and that given
 *       colours (e.g. a chart's bar fills) were painted.
 *
 * Exit 0 on success, 1 with one message on stderr otherwise. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "data/image/image.h"

#define CD_XML_CHECK_IMPLEMENTATION
#include "tests/xml_check.h"

static int check_page(const char *path, int allow_links) {
  uint8_t *data;
  size_t size;
  cd_error e;
  char msg[512];
  if (cd_file_read(path, (size_t)1 << 30, &data, &size, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
  int rc = 0;
  if (cd_xml_check((const char *)data, size, msg, sizeof msg)) {
    fprintf(stderr, "%s: not well-formed XML: %s\n", path, msg);
    rc = 1;
  } else if ((allow_links ? cd_page_check_offline_links : cd_page_check_offline)((const char *)data, size, msg, sizeof msg)) {
    fprintf(stderr, "%s: not self-contained: %s\n", path, msg);
    rc = 1;
  } else {
    printf("%s: well-formed, self-contained (%zu bytes)\n", path, size);
  }
  free(data);
  return rc;
}

/* The pixel at i as 0xRRGGBB, whatever the PNG's mode (alpha composited over white, as a
 * browser screenshot is). */
static uint32_t rgb_at(const cd_image *im, size_t i) {
  const uint8_t *p = im->pixels + i * (size_t)im->channels;
  unsigned r, g, b, a = 255;
  switch (im->mode) {
  case CD_MODE_L: r = g = b = p[0]; break;
  case CD_MODE_LA: r = g = b = p[0], a = p[1]; break;
  case CD_MODE_P: {
    const uint8_t *c = im->palette + 4 * p[0];
    r = c[0], g = c[1], b = c[2], a = c[3];
    break;
  }
  case CD_MODE_RGBA: r = p[0], g = p[1], b = p[2], a = p[3]; break;
  default: r = p[0], g = p[1], b = p[2]; break;
  }
  r = (r * a + 255 * (255 - a) + 127) / 255;
  g = (g * a + 255 * (255 - a) + 127) / 255;
  b = (b * a + 255 * (255 - a) + 127) / 255;
  return r << 16 | g << 8 | b;
}

static int check_png(const char *path, int n_colours, char **colours) {
  cd_image im;
  cd_error e;
  if (cd_image_load(path, &im, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
  if (!im.pixels || im.pixels16) {
    cd_image_free(&im);
    return fprintf(stderr, "%s: expected an 8-bit screenshot\n", path), 1;
  }
  size_t n = (size_t)im.width * (size_t)im.height;
  uint8_t *seen = calloc((size_t)1 << 21, 1); /* one bit per 24-bit colour */
  uint32_t *counts = calloc((size_t)n_colours + 1, sizeof *counts);
  uint32_t *wanted = calloc((size_t)n_colours + 1, sizeof *wanted);
  if (!seen || !counts || !wanted) {
    free(seen), free(counts), free(wanted), cd_image_free(&im);
    return fprintf(stderr, "out of memory\n"), 1;
  }
  for (int k = 0; k < n_colours; k++) wanted[k] = (uint32_t)strtoul(colours[k] + (colours[k][0] == '#'), NULL, 16);
  /* Background = the top-left pixel's colour (page margin), the commonest in a page shot. */
  uint32_t bg = rgb_at(&im, 0);
  size_t non_bg = 0, distinct = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t c = rgb_at(&im, i);
    non_bg += c != bg;
    if (!(seen[c >> 3] & (1u << (c & 7)))) seen[c >> 3] |= (uint8_t)(1u << (c & 7)), distinct++;
    for (int k = 0; k < n_colours; k++) counts[k] += c == wanted[k];
  }
  printf("%d %d #%06x %zu %zu", im.width, im.height, (unsigned)bg, non_bg, distinct);
  for (int k = 0; k < n_colours; k++) printf(" #%06x=%u", (unsigned)wanted[k], (unsigned)counts[k]);
  printf("\n");
  free(seen), free(counts), free(wanted);
  cd_image_free(&im);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "xml")) return check_page(argv[2], 0);
  if (argc >= 3 && !strcmp(argv[1], "xml-links")) return check_page(argv[2], 1);
  if (argc >= 3 && !strcmp(argv[1], "png")) return check_png(argv[2], argc - 3, argv + 3);
  fprintf(stderr, "usage: tool_pagecheck xml|xml-links PAGE.html | png SHOT.png [#rrggbb...]\n");
  return 1;
}
