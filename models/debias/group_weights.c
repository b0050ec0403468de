/* Group weights of DPT, oracle reweighting and GroupDRO (see group_weights.h). */
#include "models/debias/group_weights.h"

#include <math.h>

void cd_dpt_target(int G, const int64_t *counts, const double *p_bar, double eta, double *w_hat) {
  double total = 0, mass = 0;
  for (int g = 0; g < G; g++) {
    if (counts[g] <= 0) {
      w_hat[g] = 0;
      continue;
    }
    /* exp of a value in [0, eta]: no overflow for any sane eta */
    double miss = isnan(p_bar[g]) ? 0.0 : 1.0 - p_bar[g];
    w_hat[g] = exp(eta * miss) / (double)counts[g];
    total += (double)counts[g];
    mass += (double)counts[g] * w_hat[g];
  }
  if (mass > 0)
    for (int g = 0; g < G; g++) w_hat[g] *= total / mass;
}

void cd_weights_ema(int G, double *w, const double *w_hat, double m) {
  for (int g = 0; g < G; g++) w[g] = m * w[g] + (1.0 - m) * w_hat[g];
}

void cd_gdro_init(int G, const int64_t *counts, double *q) {
  int present = 0;
  for (int g = 0; g < G; g++) present += counts[g] > 0;
  for (int g = 0; g < G; g++) q[g] = counts[g] > 0 ? 1.0 / present : 0.0;
}

void cd_gdro_update(int G, double *q, const double *group_loss, double eta_q) {
  /* q_g exp(eta l_g) / Σ: subtract the largest exponent first so a large step cannot overflow */
  double mx = -INFINITY;
  for (int g = 0; g < G; g++)
    if (q[g] > 0 && eta_q * group_loss[g] > mx) mx = eta_q * group_loss[g];
  double s = 0;
  for (int g = 0; g < G; g++) {
    if (q[g] > 0) q[g] *= exp(eta_q * group_loss[g] - mx);
    s += q[g];
  }
  if (s > 0)
    for (int g = 0; g < G; g++) q[g] /= s;
}
