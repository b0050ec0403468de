/* A fixed linear map of embeddings into a smaller space, applied to image and text features
 * alike before the cosine (embedding-size sweeps: PCA, random or truncating projections).
 *
 *   forward   y [N,K] = x [N,D] · P [D,K]
 *   backward  dx [N,D] = dy [N,K] · Pᵀ        (P is frozen: no dP)
 *
 * Shapes: N rows, D the model's embedding width, K the reduced width (K <= D). The prompt
 * head puts it between the text tower and the class matrix, so prompt tuning backpropagates
 * through Pᵀ to the context vectors. Rows are independent: one thread per row, identical
 * results for any thread count. */
#ifndef CD_PROJECTION_H
#define CD_PROJECTION_H

typedef struct {
  int D, K;
  const float *P; /* [D,K] row-major (not owned) */
} cd_projection;

void cd_projection_forward(const cd_projection *p, const float *x, int N, float *y);
void cd_projection_backward(const cd_projection *p, const float *dy, int N, float *dx);

#endif
