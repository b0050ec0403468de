/* JTT's error set and weights (see jtt.h). */
#include "models/debias/jtt.h"

#include <string.h>

void cd_jtt_defaults(const char *dataset, int *epochs, double *up) {
  int celeba = dataset && !strcmp(dataset, "celeba");
  *epochs = celeba ? 1 : 60;
  *up = celeba ? 50 : 100;
}

void cd_jtt_resolve(int epochs_flag, double up_flag, const char *dataset, int *epochs, double *up) {
  cd_jtt_defaults(dataset, epochs, up);
  if (epochs_flag > 0) *epochs = epochs_flag;
  if (up_flag >= 0) *up = up_flag;
}

int cd_jtt_weights(const int32_t *pred, const int32_t *y, int n, double up, float *w) {
  int errors = 0;
  for (int i = 0; i < n; i++) {
    int wrong = pred[i] != y[i];
    errors += wrong;
    w[i] = wrong ? (float)(1.0 + up) : 1.0f;
  }
  return errors;
}
