/* Cyclic Jacobi (Golub & Van Loan, Matrix Computations, 4th ed., alg. 8.5.3): sweep over the
 * off-diagonal pairs, zeroing each with a plane rotation, until the off-diagonal mass is
 * negligible next to the diagonal. Quadratic convergence; ~6-10 sweeps for D = 512. */
#include "core/sym_eigen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double off_diagonal(const double *A, int n) {
  double s = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      if (i != j) s += A[(size_t)i * n + j] * A[(size_t)i * n + j];
  return s;
}

static double diagonal(const double *A, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += A[(size_t)i * n + i] * A[(size_t)i * n + i];
  return s;
}

/* A <- Jᵀ A J and V <- V J for the rotation J in the (p, q) plane that zeroes A[p,q]. */
static void rotate(double *A, double *V, int n, int p, int q) {
  double apq = A[(size_t)p * n + q];
  if (apq == 0) return;
  double app = A[(size_t)p * n + p], aqq = A[(size_t)q * n + q];
  double tau = (aqq - app) / (2 * apq);
  double t = (tau >= 0 ? 1.0 : -1.0) / (fabs(tau) + sqrt(1 + tau * tau));
  double c = 1 / sqrt(1 + t * t), s = t * c;
  for (int k = 0; k < n; k++) { /* columns p, q */
    double akp = A[(size_t)k * n + p], akq = A[(size_t)k * n + q];
    A[(size_t)k * n + p] = c * akp - s * akq;
    A[(size_t)k * n + q] = s * akp + c * akq;
  }
  for (int k = 0; k < n; k++) { /* rows p, q */
    double apk = A[(size_t)p * n + k], aqk = A[(size_t)q * n + k];
    A[(size_t)p * n + k] = c * apk - s * aqk;
    A[(size_t)q * n + k] = s * apk + c * aqk;
  }
  A[(size_t)p * n + q] = A[(size_t)q * n + p] = 0;
  for (int k = 0; k < n; k++) {
    double vkp = V[(size_t)k * n + p], vkq = V[(size_t)k * n + q];
    V[(size_t)k * n + p] = c * vkp - s * vkq;
    V[(size_t)k * n + q] = s * vkp + c * vkq;
  }
}

static void fix_sign(double *V, int n, int j) {
  int arg = 0;
  for (int i = 1; i < n; i++)
    if (fabs(V[(size_t)i * n + j]) > fabs(V[(size_t)arg * n + j])) arg = i;
  if (V[(size_t)arg * n + j] < 0)
    for (int i = 0; i < n; i++) V[(size_t)i * n + j] = -V[(size_t)i * n + j];
}

int cd_sym_eigen(double *A, int n, double *evals, double *evecs, cd_error *e) {
  if (n < 1) return cd_fail(e, "eigen: empty matrix");
  double *V = cd_calloc((size_t)n * n, sizeof(double), e);
  int *order = cd_malloc(sizeof(int) * (size_t)n, e);
  if (!V || !order) return free(V), free(order), -1;
  for (int i = 0; i < n; i++) V[(size_t)i * n + i] = 1;
  for (int sweep = 0; sweep < 100 && off_diagonal(A, n) > 1e-30 * diagonal(A, n); sweep++)
    for (int p = 0; p < n - 1; p++)
      for (int q = p + 1; q < n; q++) rotate(A, V, n, p, q);
  /* decreasing eigenvalues; a stable insertion sort keeps equal ones in index order */
  for (int i = 0; i < n; i++) {
    int k = i;
    while (k > 0 && A[(size_t)order[k - 1] * n + order[k - 1]] < A[(size_t)i * n + i]) order[k] = order[k - 1], k--;
    order[k] = i;
  }
  for (int j = 0; j < n; j++) {
    evals[j] = A[(size_t)order[j] * n + order[j]];
    for (int i = 0; i < n; i++) evecs[(size_t)i * n + j] = V[(size_t)i * n + order[j]];
    fix_sign(evecs, n, j);
  }
  free(V);
  free(order);
  return 0;
}
