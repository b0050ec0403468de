/* libFuzzer harness for the JPEG decoder: any input must decode or fail with a message,
 * never crash, hang or allocate without bound. Seeds: tests/fuzz/corpus/jpeg/. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "data/image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cd_image img;
  cd_error e;
  if (cd_jpeg_decode(data, size, "fuzz.jpg", &img, &e) == 0) {
    size_t n = (size_t)img.width * img.height * img.channels;
    volatile uint8_t sink = n ? img.pixels[n - 1] : 0; /* touch the last byte */
    (void)sink;
    cd_image_free(&img);
  } else if (strncmp(e.msg, "fuzz.jpg: ", 10) != 0) {
    __builtin_trap(); /* every message must name the file */
  }
  return 0;
}
