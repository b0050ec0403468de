/* Prompt-tuning sessions stepped in lockstep: several runs (methods × seeds of one `run`) that
 * tune the same prompt layout on the same frozen model take their steps together, with one
 * text-tower forward and one backward per step for all of them (their prompts stacked as
 * rows: text_train.h's copies). The tower's weights are then streamed once per step instead
 * of once per run, and its GEMMs see copies·R rows instead of R.
 * Each session keeps everything that is its own: context vectors, optimiser state, batch
 * order (its seed), the weights hook (group weights, GroupDRO's q), epoch hook (evaluation,
 * selection, files) and checkpoint. A session may start at a later epoch than the others (a
 * resumed run) and leaves the group when it reaches the stop epoch or diverges. The sessions
 * that end an epoch in the same step get their heads' Z in one stacked forward before their
 * epoch hooks run, so the hooks' evaluations share that pass too.
 * A tower small enough to stay in cache runs a step in parts of copies, one pool item each
 * (tune_lockstep.c's thread plan); a large one as one part whose GEMMs split the weights.
 * Results: every session gets the bits it gets when run alone (cd_tune_session_run), as the
 * stacked tower computes each copy's rows alone (tests/test_lockstep.c checks this). */
#ifndef CD_TUNE_LOCKSTEP_H
#define CD_TUNE_LOCKSTEP_H

#include "core/error.h"
#include "models/tuning/tune_session.h"

/* 1 when the sessions' heads can share one tower pass: prompt heads over one model with
 * identical prompt layouts (classes, tokens, context length, csc, position). */
int cd_tune_lockstep_compatible(cd_tune_session *const *s, int n);
/* Z of n prompt heads (one prompt layout on one model) for their current parameters from one
 * stacked tower forward, with the bits of each head's own cd_head_forward: their predictions
 * then run no tower (cd_head_refresh). For heads that cannot share a pass, each its own. */
int cd_tune_lockstep_refresh(cd_head *const *h, int n, cd_error *e);
/* Trains every session up to stop_epoch (<= 0: each optimiser's max_epoch); hk[i] are session
 * i's hooks (their progress labels unused: one line for the group, progress_label, when not
 * NULL). A session whose training diverges (tune_session.h) leaves the group with
 * s[i]->diverged set and its message in msgs[i] (msgs may be NULL); the others go on, and
 * the run still returns 0. Any other error stops it (e filled, *failed = the session it came
 * from, -1 when it is the group's own; sessions left where they were). */
int cd_tune_lockstep_run(cd_tune_session *const *s, const cd_tune_hooks *const *hk, int n,
                         int stop_epoch, const char *progress_label, int *failed, cd_error *msgs,
                         cd_error *e);

#endif
