/* clipdebias sweep : a grid of runs over caches, embedding sizes and run settings, on this
 * machine (--jobs) or as a Slurm array (--slurm); see models/sweep/sweep.h. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cpu.h"
#include "core/file.h"
#include "models/sweep/sweep_results.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/report/sweep_html.h"

static void print_help(void) {
  printf(
      "usage: clipdebias sweep --caches C1[,C2...] --model M[,M2...] --out DIR [--grid FILE]\n"
      "         [--dims 8,16,...,full --reduce pca|random|truncate] [--jobs N] [--threads N]\n"
      "         [--slurm [--slurm-args \"...\"] [--wait]] [any run option]\n\n"
      "Runs `clipdebias run` once per cell of a grid; every cell is an ordinary run folder\n"
      "DIR/cells/<axis-value_...>/ (args.json, results.json, metrics.jsonl, report.html, run.log,\n"
      "cell.json). Axes, each a comma list (or, with the same names, a JSON file --grid\n"
      "{\"dims\": [8, 16, \"full\"], \"eta\": [1, 2]}):\n"
      "  --caches        feature caches of one data set (clipdebias embed), e.g. one per model;\n"
      "                  --model gives one model for all, or one per cache in order\n"
      "  --dims          embedding sizes: K >= 2, or full (no projection: the plain run);\n"
      "                  --reduce pca (default), random (seeded, --reduce-seed) or truncate,\n"
      "                  fitted on the training image features only (see run --help)\n"
      "  --reduce --n-ctx --eta --ema --lr --epochs --batch --select\n"
      "  --precision     fp32,bf16: the tuned text tower's weights (see run --help); a single\n"
      "                  value (--precision bf16) applies to every cell like any run option\n"
      "Every other run option (--methods, --seeds, --template, --head, ...) applies to every cell.\n"
      "A rerun skips finished cells and resumes interrupted ones; a grown grid adds cells. A\n"
      "failing cell is recorded with its error and the others go on; the exit status is 1 when\n"
      "any cell failed. Outputs: DIR/sweep.csv (one row per cell x method, test split),\n"
      "DIR/sweep.json and DIR/sweep.html (accuracy against the embedding size, heat map, best\n"
      "cells, links to every cell's report).\n"
      "Lockstep across cells (unless --lockstep off): the cells that share the cache's model,\n"
      "the precision and --n-ctx run in one process (48 pairs at most) and train all their\n"
      "prompt-tuned pairs together, one text-tower pass per step; each cell keeps its folder,\n"
      "run.log and files, the same bit for bit as its run alone; DIR/groups.log names the\n"
      "groups. --lockstep off: a process per cell, each run's pairs one by one.\n"
      "  --jobs N        processes at once (default 1), each a group of cells or one cell; the\n"
      "                  threads (--threads, default all cores) are shared out between them\n"
      "  --slurm         submit an sbatch array job (a task per unfinished cell, --cpus-per-task\n"
      "                  = --threads, default 1) and a collect job after it; scripts in DIR/slurm/\n"
      "  --slurm-args S  extra sbatch options for both jobs, e.g. \"--partition=cpu --time=60\"\n"
      "  --wait          block until both jobs are done; exit 1 when any cell did not finish\n"
      "  --cell I, --collect   what the Slurm jobs run: cell I alone, or the outputs only\n");
}

typedef struct {
  const char *caches, *models, *out, *grid, *slurm_args;
  const char *axis_flag[16], *axis_list[16];
  int n_axis;
  int jobs, threads, slurm, wait, cell, collect;
  char **base;
  int n_base;
  char **repeat; /* the arguments a Slurm job repeats (without --slurm, --wait, --jobs) */
  int n_repeat;
} sweep_args;

static int is_axis_flag(const char *opt) {
  for (int k = 0; k < CD_SWEEP_N_AXES; k++)
    if (opt[0] == '-' && opt[1] == '-' && !strcmp(opt + 2, CD_SWEEP_AXES[k])) return 1;
  return 0;
}

static int parse(int argc, char **argv, sweep_args *a) {
  a->base = calloc((size_t)argc + 1, sizeof(char *));
  a->repeat = calloc((size_t)argc + 1, sizeof(char *));
  a->cell = -1;
  if (!a->base || !a->repeat) return cd_cli_fail("sweep: out of memory"), -1;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    int start = i, keep = 1;
    if (cd_arg_is(opt, "--slurm") || cd_arg_is(opt, "--wait") || cd_arg_is(opt, "--collect")) {
      *(cd_arg_is(opt, "--slurm") ? &a->slurm : cd_arg_is(opt, "--wait") ? &a->wait : &a->collect) = 1;
      continue;
    }
    if (cd_arg_is(opt, "--csc") || cd_arg_is(opt, "--skip-bad")) {
      a->base[a->n_base++] = argv[i];
      a->repeat[a->n_repeat++] = argv[i];
      continue;
    }
    const char *v = cd_arg_value(argc, argv, &i);
    if (!v) return -1;
    if (cd_arg_is(opt, "--caches")) a->caches = v;
    else if (cd_arg_is(opt, "--model")) a->models = v;
    else if (cd_arg_is(opt, "--out")) a->out = v;
    else if (cd_arg_is(opt, "--grid")) a->grid = v;
    else if (cd_arg_is(opt, "--slurm-args")) a->slurm_args = v, keep = 0;
    else if (cd_arg_is(opt, "--jobs")) {
      if (cd_arg_int(opt, v, 1, 1024, &a->jobs)) return -1;
      keep = 0;
    } else if (cd_arg_is(opt, "--threads")) {
      if (cd_arg_int(opt, v, 1, 1024, &a->threads)) return -1;
    } else if (cd_arg_is(opt, "--cell")) {
      if (cd_arg_int(opt, v, 0, 1 << 30, &a->cell)) return -1;
      keep = 0;
    } else if (cd_arg_is(opt, "--cache")) {
      return cd_cli_fail("sweep: --cache: a sweep takes --caches C1[,C2...]"), -1;
    } else if (is_axis_flag(opt) && (strchr(v, ',') || cd_arg_is(opt, "--dims"))) {
      if (a->n_axis == 16) return cd_cli_fail("sweep: too many axes"), -1;
      a->axis_flag[a->n_axis] = opt + 2, a->axis_list[a->n_axis++] = v;
    } else if (opt[0] == '-' && opt[1] == '-') {
      a->base[a->n_base++] = argv[start], a->base[a->n_base++] = (char *)v;
    } else {
      return cd_cli_fail("sweep: unexpected argument '%s' (see --help)", opt), -1;
    }
    if (keep) a->repeat[a->n_repeat++] = argv[start], a->repeat[a->n_repeat++] = (char *)v;
  }
  if (!a->caches || !a->models || !a->out) return cd_cli_fail("sweep: --caches, --model and --out are required (see --help)"), -1;
  if ((a->wait || a->slurm_args) && !a->slurm) return cd_cli_fail("sweep: --wait and --slurm-args go with --slurm"), -1;
  if (a->jobs && a->slurm) return cd_cli_fail("sweep: --jobs is for a local sweep; on Slurm every cell is a task"), -1;
  return 0;
}

static int run_cell(int argc, char **argv, void *user) {
  (void)user;
  return cd_cmd_run(argc, argv);
}

static void run_cells(int n, int *argc, char ***argv, FILE **logs, int *status, void *user) {
  (void)user;
  cd_cmd_run_cells(n, argc, argv, logs, status);
}

/* Every cell's run arguments parse (unknown option or bad value: one line, nothing run). */
static int check_cells(const cd_sweep_plan *p) {
  for (int i = 0; i < p->n_cells; i++) {
    int argc;
    cd_error e;
    char **argv = cd_sweep_cell_argv(p, i, &argc, &e);
    if (!argv) return cd_cli_fail("%s", e.msg);
    int rc = cd_cmd_run_check(argc, argv);
    cd_sweep_argv_free(argv);
    if (rc) return 1;
  }
  return 0;
}

static int collect(const cd_sweep_plan *p, int slurm) {
  cd_error e;
  int unfinished = 0;
  char first[1200];
  cd_sweep_results r;
  char html[4200];
  int rc = cd_sweep_collect(p, &r, &unfinished, first, sizeof first, &e) ||
           (cd_path_join(html, sizeof html, p->out_dir, "sweep.html") ? cd_fail(&e, "%s: path too long", p->out_dir)
                                                                      : cd_sweep_html_write(html, &r, &e));
  cd_sweep_results_free(&r);
  if (rc) return cd_cli_fail("%s", e.msg);
  printf("sweep: %d of %d cells finished; %s/sweep.csv, sweep.json, sweep.html\n", p->n_cells - unfinished, p->n_cells, p->out_dir);
  if (!unfinished) return 0;
  char note[600] = "";
  for (int i = 0; slurm && i < p->n_cells && !*note; i++)
    if (!cd_sweep_cell_done(p, i)) cd_sweep_slurm_task_note(p, i, note, sizeof note);
  if (*note) return cd_cli_fail("sweep: %d of %d cells did not finish; the scheduler killed a task: %s (first: %s)",
                                unfinished, p->n_cells, note, first);
  return cd_cli_fail("sweep: %d of %d cells did not finish (first: %s); rerun the same command to retry them",
                     unfinished, p->n_cells, first);
}

static int submit(const cd_sweep_plan *p, sweep_args *a) {
  char program[PATH_MAX], ids[160];
  cd_error e;
  if (cd_program_path(program, sizeof program)) return cd_cli_fail("sweep --slurm: cannot find this program's path");
  if (cd_sweep_slurm_submit(p, program, a->repeat, a->n_repeat, a->slurm_args, ids, sizeof ids, stdout, &e))
    return cd_cli_fail("%s", e.msg);
  printf("sweep: Slurm jobs %s; outputs in %s when the collect job ends\n", ids, p->out_dir);
  if (!a->wait) return 0;
  if (cd_sweep_slurm_wait(ids, stdout, &e)) return cd_cli_fail("%s", e.msg);
  return collect(p, 1);
}

int cd_cmd_sweep(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  sweep_args a;
  memset(&a, 0, sizeof a);
  cd_sweep_plan p;
  memset(&p, 0, sizeof p);
  cd_error e;
  int rc = parse(argc, argv, &a);
  if (!rc && cd_sweep_plan_init(&p, a.out, a.caches, a.models, a.base, a.n_base, &e)) rc = cd_cli_fail("%s", e.msg);
  for (int k = 0; !rc && k < a.n_axis; k++)
    if (cd_sweep_plan_axis(&p, a.axis_flag[k], a.axis_list[k], &e)) rc = cd_cli_fail("%s", e.msg);
  if (!rc && a.grid && cd_sweep_plan_grid_file(&p, a.grid, &e)) rc = cd_cli_fail("%s", e.msg);
  int jobs = a.jobs ? a.jobs : 1;
  int total = a.threads ? a.threads : a.slurm || a.cell >= 0 ? 1 : cd_threads_get();
  int per_cell = a.slurm || a.cell >= 0 ? total : total / jobs > 0 ? total / jobs : 1;
  if (!rc && cd_sweep_plan_finish(&p, per_cell, &e)) rc = cd_cli_fail("%s", e.msg);
  if (!rc) rc = check_cells(&p);
  if (!rc) {
    if (a.cell >= 0) rc = cd_sweep_run_cell(&p, a.cell, run_cell, NULL, &e) ? cd_cli_fail("%s", e.msg) : 0;
    else if (a.collect) rc = collect(&p, 1);
    else if (a.slurm) rc = submit(&p, &a);
    else {
      int failed = 0;
      if (cd_sweep_run_local(&p, jobs, run_cell, run_cells, NULL, stdout, &failed, &e)) rc = cd_cli_fail("%s", e.msg);
      else rc = collect(&p, 0);
    }
  }
  cd_sweep_plan_free(&p);
  free(a.base);
  free(a.repeat);
  return rc ? 1 : 0;
}
