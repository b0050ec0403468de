/* libFuzzer harness: arbitrary bytes through format sniffing and the PNG/PPM decoders, then
 * (for small results) through CLIP preprocessing. Must never crash, hang or leak. */
#include <stdint.h>
#include <stdlib.h>

#include "data/image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cd_image img;
  cd_error e;
  if (cd_image_decode(data, size, "fuzz", &img, &e) == 0) {
    if ((size_t)img.width * img.height <= 4096) {
      float px[3 * 16 * 16];
      cd_clip_preprocess(&img, 16, px, &e);
    }
    cd_image_free(&img);
  }
  return 0;
}
