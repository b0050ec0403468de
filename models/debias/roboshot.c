/* RoboShot's rejection and boosting of concept directions (see roboshot.h). */
#include "models/debias/roboshot.h"

#include <math.h>
#include <stdlib.h>

#include "models/debias/orth_proj.h"

int cd_roboshot_basis(const float *P, int d, const int *pairs, int n_pairs, double *Q, cd_error *e) {
  float *v = cd_malloc(sizeof(float) * (size_t)(n_pairs ? n_pairs : 1) * d, e);
  if (!v) return -1;
  for (int k = 0; k < n_pairs; k++)
    for (int i = 0; i < d; i++)
      v[(size_t)k * d + i] = P[(size_t)pairs[2 * k] * d + i] - P[(size_t)pairs[2 * k + 1] * d + i];
  /* Gram-Schmidt in pair order spans what np.linalg.qr's Q does, column by column (signs
   * aside, which (x·q)q does not see). */
  int r = cd_orth_basis(v, n_pairs, d, Q);
  free(v);
  return r;
}

static void normalise(double *x, int d) {
  double s = 0;
  for (int i = 0; i < d; i++) s += x[i] * x[i];
  if (s > 0)
    for (int i = 0; i < d; i++) x[i] /= sqrt(s);
}

/* x ← n(x + sign (x·q) q) for each row q of Q in turn. */
static void move(double *x, int d, const double *Q, int k, double sign) {
  for (int j = 0; j < k; j++) {
    const double *q = Q + (size_t)j * d;
    double p = 0;
    for (int i = 0; i < d; i++) p += x[i] * q[i];
    for (int i = 0; i < d; i++) x[i] += sign * p * q[i];
    normalise(x, d);
  }
}

int cd_roboshot_transform(float *x, int N, int d, const double *Qs, int ks, const double *Qu, int ku,
                          cd_error *e) {
  double *row = cd_malloc(sizeof(double) * d, e);
  if (!row) return -1;
  for (int n = 0; n < N; n++) {
    float *xn = x + (size_t)n * d;
    for (int i = 0; i < d; i++) row[i] = xn[i];
    normalise(row, d);
    move(row, d, Qs, ks, -1.0);
    move(row, d, Qu, ku, +1.0);
    for (int i = 0; i < d; i++) xn[i] = (float)row[i];
  }
  free(row);
  return 0;
}
