/* Options shared by `tune` and `run`: the optimiser/prompt flags and the debiasing
 * hyper-parameters. */
#ifndef CD_DEBIAS_ARGS_H
#define CD_DEBIAS_ARGS_H

#include "models/debias/methods.h"
#include "models/tuning/optim.h"

/* --eta --ema --dpt-update epoch|step --gdro-eta --gdro-adj at argv[*i]: 1 consumed, 0 not
 * one of these, -1 on error (message printed). */
int cd_cli_debias_arg(int argc, char **argv, int *i, cd_debias_params *p);
/* The baselines' flags (run only): --jtt-epochs T --jtt-up L --dfr-c 1,0.7,... --dfr-fits N
 * --orth-lambda L. Same return convention. */
int cd_cli_baseline_arg(int argc, char **argv, int *i, cd_debias_params *p);
/* --optim --lr --momentum --weight-decay --epochs --warmup-epochs --warmup-lr. *epochs_set is
 * set when --epochs is seen. Same return convention. */
int cd_cli_optim_arg(int argc, char **argv, int *i, cd_optim_config *c, int *epochs_set);

#endif
