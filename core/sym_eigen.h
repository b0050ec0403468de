/* Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations: no external
 * library, the same result on every machine and thread count (one thread, fixed order).
 * Used to fit PCA projections from a D x D Gram matrix (D up to about a thousand). */
#ifndef CD_SYM_EIGEN_H
#define CD_SYM_EIGEN_H

#include "core/error.h"

/* A [n,n] symmetric (row-major, destroyed). On return evals [n] are in decreasing order and
 * column j of evecs [n,n] (row-major: evecs[i*n + j]) is the unit eigenvector of evals[j],
 * its sign fixed so that its largest-magnitude entry (the first one on a tie) is positive. */
int cd_sym_eigen(double *A, int n, double *evals, double *evecs, cd_error *e);

#endif
