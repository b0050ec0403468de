/* Inputs shared by `prompt-grad` and `tune`: cached image features, labels and optional
 * per-sample weights, checked against each other, the model and the class count. */
#ifndef CD_COOP_COMMON_H
#define CD_COOP_COMMON_H

#include <stdint.h>

typedef struct {
  int N, E;
  float *img_n;     /* [N, E] L2-normalised features (owned) */
  int32_t *labels;  /* [N] (owned) */
  float *weights;   /* [N] or NULL (owned) */
} cd_coop_data;

/* Prints one "clipdebias: ..." line and returns -1 on any problem. */
int cd_coop_data_load(const char *features, const char *labels, const char *weights, int embed,
                      int n_cls, cd_coop_data *d);
void cd_coop_data_free(cd_coop_data *d);

#endif
