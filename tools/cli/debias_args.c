#include "tools/cli/debias_args.h"

#include <string.h>

#include "tools/cli/args.h"

/* A number up to hi; what is meaningful below that is cd_run_train_check's to say. */
static int number(const char *opt, const char *v, double hi, double *out) {
  if (cd_arg_float(opt, v, out)) return -1;
  if (!(*out <= hi)) return cd_cli_fail("%s %s is above %g", opt, v, hi), -1;
  return 0;
}

int cd_cli_debias_arg(int argc, char **argv, int *i, cd_debias_params *p) {
  const char *opt = argv[*i];
  double *dst = NULL, hi = 1e3;
  if (cd_arg_is(opt, "--eta")) dst = &p->eta, hi = 50;
  else if (cd_arg_is(opt, "--ema")) dst = &p->ema;
  else if (cd_arg_is(opt, "--gdro-eta")) dst = &p->gdro_eta, hi = 100;
  else if (cd_arg_is(opt, "--gdro-adj")) dst = &p->gdro_adj;
  else if (!cd_arg_is(opt, "--dpt-update")) return 0;
  const char *v = cd_arg_value(argc, argv, i);
  if (!v) return -1;
  if (dst) return number(opt, v, hi, dst) ? -1 : 1;
  if (!strcmp(v, "epoch")) p->update = CD_DPT_EPOCH;
  else if (!strcmp(v, "step")) p->update = CD_DPT_STEP;
  else return cd_cli_fail("--dpt-update must be epoch or step (got '%s')", v), -1;
  return 1;
}

/* A baseline's number in [lo, hi] (the baselines' flags are checked here, where they are read). */
static int in_range(const char *opt, const char *v, double lo, double hi, double *out) {
  if (cd_arg_float(opt, v, out)) return -1;
  if (!(*out >= lo && *out <= hi)) return cd_cli_fail("%s %s is outside [%g, %g]", opt, v, lo, hi), -1;
  return 0;
}

/* "1,0.7,0.3" into p->dfr_c. */
static int c_grid(const char *v, cd_debias_params *p) {
  char buf[512], *save = NULL;
  if (strlen(v) >= sizeof buf) return cd_cli_fail("--dfr-c: list too long"), -1;
  strcpy(buf, v);
  p->n_dfr_c = 0;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (p->n_dfr_c == CD_DFR_MAX_C) return cd_cli_fail("--dfr-c: at most %d values", CD_DFR_MAX_C), -1;
    if (in_range("--dfr-c", tok, 1e-9, 1e9, &p->dfr_c[p->n_dfr_c])) return -1;
    p->n_dfr_c++;
  }
  return p->n_dfr_c ? 0 : (cd_cli_fail("--dfr-c: no value in '%s'", v), -1);
}

int cd_cli_baseline_arg(int argc, char **argv, int *i, cd_debias_params *p) {
  const char *opt = argv[*i];
  if (!cd_arg_is(opt, "--jtt-epochs") && !cd_arg_is(opt, "--jtt-up") && !cd_arg_is(opt, "--dfr-c") &&
      !cd_arg_is(opt, "--dfr-fits") && !cd_arg_is(opt, "--orth-lambda"))
    return 0;
  const char *v = cd_arg_value(argc, argv, i);
  if (!v) return -1;
  int bad;
  if (cd_arg_is(opt, "--jtt-epochs")) bad = cd_arg_int(opt, v, 1, 100000, &p->jtt_epochs);
  else if (cd_arg_is(opt, "--dfr-fits")) bad = cd_arg_int(opt, v, 1, 10000, &p->dfr_fits);
  else if (cd_arg_is(opt, "--jtt-up")) bad = in_range(opt, v, 0, 1e6, &p->jtt_up);
  else if (cd_arg_is(opt, "--orth-lambda")) bad = in_range(opt, v, 0, 1e9, &p->orth_lambda);
  else bad = c_grid(v, p);
  return bad ? -1 : 1;
}

int cd_cli_optim_arg(int argc, char **argv, int *i, cd_optim_config *c, int *epochs_set) {
  const char *opt = argv[*i];
  double *dst = NULL;
  int *idst = NULL, k;
  if (cd_arg_is(opt, "--lr")) dst = &c->lr;
  else if (cd_arg_is(opt, "--warmup-lr")) dst = &c->warmup_lr;
  else if (cd_arg_is(opt, "--momentum")) dst = &c->momentum;
  else if (cd_arg_is(opt, "--weight-decay")) dst = &c->weight_decay;
  else if (cd_arg_is(opt, "--epochs")) idst = &c->max_epoch;
  else if (cd_arg_is(opt, "--warmup-epochs")) idst = &c->warmup_epochs;
  else if (!cd_arg_is(opt, "--optim")) return 0;
  const char *v = cd_arg_value(argc, argv, i);
  if (!v) return -1;
  if (dst) return number(opt, v, 1e3, dst) ? -1 : 1;
  if (idst) {
    if (cd_arg_int(opt, v, -1000000, 1000000, idst)) return -1;
    if (idst == &c->max_epoch && epochs_set) *epochs_set = 1;
    return 1;
  }
  if ((k = cd_optim_parse_kind(v)) < 0) return cd_cli_fail("--optim must be sgd or adam (got '%s')", v), -1;
  c->kind = (cd_optim_kind)k;
  return 1;
}
