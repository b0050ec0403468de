/* Zero-shot CLIP on cached image features, and pseudo spurious labels from attribute prompts.
 *  - class features: for class c, every template ("a photo of a {}.") with {} replaced by the
 *    class name is encoded; the L2-normalised features are averaged over templates and
 *    renormalised (CLIP's prompt ensembling). Logits = exp(logit_scale) · cosine.
 *  - pseudo attribute: â(x) = argmax over attribute prompts of <x̂, t̂_k> (DPT step 1; no
 *    annotation used), first maximum on ties.
 *  - pseudo-label accuracy against the true attribute where it is known: overall, per class,
 *    and the confusion (rows true a, columns pseudo a). */
#ifndef CD_ZEROSHOT_H
#define CD_ZEROSHOT_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/json_write.h"
#include "models/clip/clip.h"

/* L2-normalised text features out [n, E] of texts (tokenized with the model's tokenizer). */
int cd_text_features(const cd_clip *m, const char *const *texts, int n, float *out, cd_error *e);
/* Zero-shot class features out [n_cls, E] from templates holding "{}" once. */
int cd_zeroshot_class_features(const cd_clip *m, char *const *classnames, int n_cls,
                               const char *const *templates, int n_templates, float *out,
                               cd_error *e);
/* "{}" of template replaced by name, malloc'd; NULL (and e filled) when the template has no
 * "{}" or more than one. */
char *cd_template_fill(const char *template_, const char *name, cd_error *e);

/* a[i] = argmax_k <x_i, t_k> for rows x [N, E] and attribute features t [K, E]. */
void cd_pseudo_attributes(const float *x, int N, const float *t, int K, int E, int32_t *a);

typedef struct {
  int n_cls, n_attr;          /* n_attr = prompts (pseudo values) = true attribute values */
  int64_t n, correct;         /* rows with a known true attribute */
  int64_t *cls_n, *cls_correct; /* [n_cls] */
  int64_t *confusion;         /* [n_attr, n_attr], rows true a, columns pseudo a */
  double acc;                 /* NaN when n = 0 */
} cd_pseudo_stats;

/* Accuracy of pseudo attributes over rows[0..n) (rows NULL: all). a_true may be NULL or hold
 * -1 for unknown rows; true values outside [0, n_attr) are skipped. */
int cd_pseudo_stats_compute(cd_pseudo_stats *s, const int32_t *pseudo, const int32_t *a_true,
                            const int32_t *y, const int *rows, int n, int n_cls, int n_attr,
                            cd_error *e);
void cd_pseudo_stats_free(cd_pseudo_stats *s);
/* Rows of the splits pseudo labels are inferred for and scored on: train and val. rows gets a
 * malloc'd array of the row indices; *n their count. */
int cd_pseudo_rows(const int32_t *split, int N, int **rows, int *n, cd_error *e);
/* JSON members (no braces): "rows": n, "acc": .., "per_class": [{"y", "n", "acc"}...],
 * "confusion": [[..]] (null when no true attribute is known). */
/* "rows", "acc", "per_class", "confusion": members of an object the writer has open. */
void cd_pseudo_stats_write(cd_jw *w, const cd_pseudo_stats *s);
/* "pseudo-label accuracy (train + val, N rows): 97.12% (landbird 98.10%, waterbird 95.00%)" */
void cd_pseudo_stats_print(FILE *fp, const cd_pseudo_stats *s, char *const *classnames);

/* Default attribute prompts of a known benchmark in attribute order (a = 0, 1), or NULL:
 *   waterbirds  "a photo of a bird on land." / "a photo of a bird on water."
 *   celeba      "a photo of a woman." / "a photo of a man."
 *   metashift   "a photo taken outdoors." / "a photo taken indoors." */
const char *const *cd_default_attr_prompts(const char *dataset, int *n);

#endif
