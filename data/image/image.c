/* The decoded image type shared by every decoder and the preprocessing. */
#include "data/image/image.h"

#include <stdlib.h>

void cd_image_free(cd_image *img) {
  if (!img) return;
  free(img->pixels);
  free(img->pixels16);
  img->pixels = NULL;
  img->pixels16 = NULL;
}
