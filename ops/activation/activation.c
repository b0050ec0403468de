/* QuickGELU (CLIP's OpenAI checkpoints) and exact erf GELU, forward and backward: the
 * dispatched entry points split the elements into chunks over the threads and run the
 * table's kernel on each (elementwise, so the result does not depend on the split). */
#include "core/pool.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

/* Below this many elements (a prompt-tuning MLP of 25 rows x 2048 is 51200: tens of
 * microseconds) one thread does it: a join costs more, and a time slice on a busy machine. */
#define PAR_MIN 65536
#define CHUNK 4096

typedef struct {
  const cd_kernels *kt;
  float *out, *deriv;      /* deriv: the training forward's act'(inp), or the backward's saved one */
  const float *dout, *inp; /* dout NULL: a forward */
  cd_activation act;
} act_job;

static void act_range(void *ctx, size_t i0, size_t i1, int worker) {
  const act_job *j = ctx;
  if (j->dout && j->deriv) j->kt->act_backward_deriv(j->out + i0, j->dout + i0, j->deriv + i0, i1 - i0);
  else if (j->dout) j->kt->act_backward(j->out + i0, j->dout + i0, j->inp + i0, i1 - i0, j->act);
  else if (j->deriv) j->kt->act_forward_deriv(j->out + i0, j->deriv + i0, j->inp + i0, i1 - i0, j->act);
  else j->kt->act_forward(j->out + i0, j->inp + i0, i1 - i0, j->act);
}

static void run_job(act_job *j, size_t n) { cd_pool_range(n, CHUNK, n > PAR_MIN ? 0 : 1, act_range, j); }

static void run(float *out, const float *dout, const float *inp, size_t n, cd_activation act) {
  act_job j = {cd_kernels_get(), out, NULL, dout, inp, act};
  run_job(&j, n);
}

void cd_activation_forward_deriv(float *out, float *deriv, const float *inp, size_t n, cd_activation act) {
  act_job j = {cd_kernels_get(), out, deriv, NULL, inp, act};
  run_job(&j, n);
}

void cd_activation_backward_deriv(float *dinp, const float *dout, const float *deriv, size_t n) {
  act_job j = {cd_kernels_get(), dinp, (float *)deriv, dout, NULL, CD_ACT_NONE};
  run_job(&j, n);
}

static void forward(float *out, const float *inp, size_t n, cd_activation act) { run(out, NULL, inp, n, act); }

static void backward(float *dinp, const float *dout, const float *inp, size_t n, cd_activation act) {
  run(dinp, dout, inp, n, act);
}

void cd_activation_forward(float *out, const float *inp, size_t n, cd_activation act) {
  forward(out, inp, n, act);
}
void cd_activation_backward(float *dinp, const float *dout, const float *inp, size_t n,
                            cd_activation act) {
  backward(dinp, dout, inp, n, act);
}
void cd_quickgelu_forward(float *out, const float *inp, size_t n) { forward(out, inp, n, CD_ACT_QUICKGELU); }
void cd_quickgelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
  backward(dinp, dout, inp, n, CD_ACT_QUICKGELU);
}
void cd_gelu_forward(float *out, const float *inp, size_t n) { forward(out, inp, n, CD_ACT_GELU); }
void cd_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
  backward(dinp, dout, inp, n, CD_ACT_GELU);
}
