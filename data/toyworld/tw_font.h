/* A 5x7 bitmap font (upper-case letters, digits, a little punctuation) for labelling
 * contact sheets without any font files. */
#ifndef CD_TW_FONT_H
#define CD_TW_FONT_H

#include <stdint.h>

/* Draws s (lower case shown as upper case; unknown characters as blanks) into an RGB image
 * [h][w][3] with its top-left corner at (x, y), each font pixel scale x scale. Clipped. */
void cd_tw_text(uint8_t *rgb, int w, int h, int x, int y, const char *s, int scale, const uint8_t color[3]);
/* Width in pixels of s at this scale (6 columns per character, the last one blank). */
int cd_tw_text_width(const char *s, int scale);

#endif
