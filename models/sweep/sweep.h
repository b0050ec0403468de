/* `clipdebias sweep`: a grid of `run`s over feature caches (one model per cache), embedding
 * sizes (--dims with --reduce) and run settings, each cell an ordinary run folder
 *
 *   DIR/cells/<name>/   args.json, results.json, metrics.jsonl, report.html, ... (run.h),
 *                       run.log (the cell's output), cell.json (status, one-line error, wall
 *                       seconds, peak RSS, the `clipdebias run` command line of the cell)
 *   DIR/sweep.csv       one row per cell x method (sweep_collect.c)
 *   DIR/sweep.json      the same, machine-readable, with the axes and the best cells
 *   DIR/sweep.html      figures against the embedding size, heat map, best cells, links
 *                       (drawn by the commands from what collect read: tools/report)
 *   DIR/groups.log      a line per group process naming its cells, and what it printed
 *
 * <name> is "axis-value" for every axis the sweep was given, joined by '_' (dims first,
 * "cache-<name>" first of all with several caches), so a rerun finds its cells again and a
 * grow grid adds cells beside the finished ones. Cells run in child processes (--jobs), a
 * group of cells per process whose pairs train in lockstep across the cells, or a process
 * per cell (--lockstep off); a Slurm array task runs one cell (cd_sweep_run_cell), and the
 * collect step reads whatever is
 * finished. A cell is finished when its cell.json says "done"; any other cell is (re)run and
 * resumes where its run folder stopped. */
#ifndef CD_SWEEP_H
#define CD_SWEEP_H

#include <stdio.h>

#include "core/error.h"

enum { CD_SWEEP_MAX_AXES = 10, CD_SWEEP_MAX_VALUES = 64, CD_SWEEP_MAX_CACHES = 16, CD_SWEEP_MAX_GROUP_CELLS = 16 };

/* The axes a sweep knows, by their `run` flag without "--": dims, reduce, n-ctx, eta, ema,
 * lr, epochs, batch, select, precision. */
extern const char *const CD_SWEEP_AXES[];
extern const int CD_SWEEP_N_AXES;

typedef struct {
  const char *name;                    /* one of CD_SWEEP_AXES */
  int n;
  char *values[CD_SWEEP_MAX_VALUES];   /* owned strings as given ("8", "full", "0.5") */
} cd_sweep_axis;

typedef struct {
  int cache;                           /* index into the caches */
  int value[CD_SWEEP_MAX_AXES];        /* index into each axis' values; -1: not applicable
                                        * (reduce of a dims=full cell) */
  char name[512];
  char dir[4200];
} cd_sweep_cell;

typedef struct {
  const char *out_dir;
  int n_caches;
  char *caches[CD_SWEEP_MAX_CACHES], *models[CD_SWEEP_MAX_CACHES];
  char cache_names[CD_SWEEP_MAX_CACHES][128];
  int cache_dims[CD_SWEEP_MAX_CACHES];  /* native embedding width D of each cache */
  int n_axes;
  cd_sweep_axis axes[CD_SWEEP_MAX_AXES]; /* axes[0] is always dims */
  int n_base;
  char **base;                         /* run flags every cell gets (not owned) */
  int threads;                         /* per cell */
  int n_cells;
  cd_sweep_cell *cells;
} cd_sweep_plan;

/* Starts a plan: caches and models are comma lists (one model, or one per cache); base are
 * the `run` flags shared by every cell. Axes are added next, then cd_sweep_plan_finish. */
int cd_sweep_plan_init(cd_sweep_plan *p, const char *out_dir, const char *caches, const char *models,
                       char **base, int n_base, cd_error *e);
/* Adds an axis from a comma list ("8,16,full"); refuses unknown axes, empty lists, an axis
 * given twice and values that are not values of that axis. */
int cd_sweep_plan_axis(cd_sweep_plan *p, const char *name, const char *list, cd_error *e);
/* Adds the axes of a JSON sweep file {"dims": [8, 16, "full"], "eta": [1, 2], ...}. */
int cd_sweep_plan_grid_file(cd_sweep_plan *p, const char *path, cd_error *e);
/* Checks the caches (same data set in all; every dims value within 2..D and, for pca, the
 * training rows) and lays out the cells. threads: per cell. */
int cd_sweep_plan_finish(cd_sweep_plan *p, int threads, cd_error *e);
void cd_sweep_plan_free(cd_sweep_plan *p);

/* The `clipdebias run` command line of cell i (argv[0] = "run"); *argc set; free with
 * cd_sweep_argv_free. */
char **cd_sweep_cell_argv(const cd_sweep_plan *p, int i, int *argc, cd_error *e);
void cd_sweep_argv_free(char **argv);
/* 1 when the cell's cell.json says it is done. */
int cd_sweep_cell_done(const cd_sweep_plan *p, int i);

/* The processes of a local sweep: cells[0..n) grouped so that each group's runs train their
 * prompt-tuned pairs together in one lockstep group (run.h: cd_run_group), so the cells of a
 * group share the cache's model, the precision and n-ctx (the prompt layout; --dims, --eta,
 * --lr, ... may differ: the projection and everything after the tower are per pair), at most
 * CD_RUN_LOCKSTEP_MAX_PAIRS pairs and CD_SWEEP_MAX_GROUP_CELLS cells together (a process holds
 * the features of each of its cells: the cache, the projected rows and their splits, three
 * N x D float arrays); then the largest groups halved until there are
 * `jobs` of them. group[k] receives the group of cells[k]; returns the number of groups. Every
 * cell is a group of its own when runs cannot share a pass: --lockstep off, --head linear, an
 * attribute discovered per cell (--attr, --attr-from). */
int cd_sweep_plan_groups(const cd_sweep_plan *p, const int *cells, int n, int jobs, int *group);

/* How a cell is run: `clipdebias run` with these arguments, in this process; returns the
 * exit status (0 ok). */
typedef int (*cd_sweep_run_fn)(int argc, char **argv, void *user);
/* How a group of cells is run: the `clipdebias run` command lines of n cells in this process
 * (cd_run_group), the output of cell i to logs[i], its exit status into status[i]. */
typedef void (*cd_sweep_group_fn)(int n, int *argc, char ***argv, FILE **logs, int *status, void *user);

/* Runs every unfinished cell, `jobs` child processes at a time, a failing cell recorded in its
 * cell.json while the others go on; *failed = cells that failed. Progress lines go to log (may
 * be NULL). With group_fn, each process runs a group of cells (cd_sweep_plan_groups) that
 * trains its pairs in lockstep: every cell keeps its folder, lock, run.log, files and
 * cell.json (wall_seconds: an equal share of the group's wall time, group_wall_seconds and
 * group_cells beside it; peak_rss_bytes: the group process's); what the process itself
 * prints goes to DIR/groups.log. A cell alone in its group, and every cell without group_fn,
 * is its own process running fn, its output in its run.log. */
int cd_sweep_run_local(const cd_sweep_plan *p, int jobs, cd_sweep_run_fn fn, cd_sweep_group_fn group_fn, void *user,
                       FILE *log, int *failed, cd_error *e);
/* Runs cell i in this process (a Slurm array task): skips it when done; cell.json says
 * "running" while it runs and "done" / "failed" after. Returns the cell's exit status. */
int cd_sweep_run_cell(const cd_sweep_plan *p, int i, cd_sweep_run_fn fn, void *user, cd_error *e);

/* Reads every cell and writes sweep.csv and sweep.json. r receives what was read (see
 * sweep_results.h; sweep.html is drawn from it by the commands; free it with
 * cd_sweep_results_free, also after a failure). *unfinished = cells not done (failed, killed
 * or never run), *first_problem names the first of them (a line, may be empty). */
typedef struct cd_sweep_results cd_sweep_results;
int cd_sweep_collect(const cd_sweep_plan *p, cd_sweep_results *r, int *unfinished, char *first_problem, size_t cap,
                     cd_error *e);

/* Slurm (sweep_slurm.c): writes DIR/slurm/cells.sh (an array job, one unfinished cell per
 * task: `program sweep_args... --cell $SLURM_ARRAY_TASK_ID`, --cpus-per-task = the cell's
 * threads) and DIR/slurm/collect.sh (`program sweep_args... --collect`, after the array
 * with --dependency=afterany), and submits both with sbatch, slurm_args (shell words, may be
 * NULL) added to each. job_ids receives "ARRAY,COLLECT" (or "COLLECT" when every cell is
 * finished). Fails with one line when sbatch is not on PATH or refuses the job. */
int cd_sweep_slurm_submit(const cd_sweep_plan *p, const char *program, char *const *sweep_args, int n_args,
                          const char *slurm_args, char *job_ids, size_t cap, FILE *log, cd_error *e);
/* Polls `squeue -h -j job_ids` until none of the jobs is queued or running. */
int cd_sweep_slurm_wait(const char *job_ids, FILE *log, cd_error *e);
/* The scheduler's own line about task i of the array (e.g. "CANCELLED ... DUE TO TIME
 * LIMIT") from DIR/slurm/cell-<i>.out, into buf ("" when there is none). */
void cd_sweep_slurm_task_note(const cd_sweep_plan *p, int i, char *buf, size_t cap);

#endif
