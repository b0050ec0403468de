/* Running the cells of a sweep: child processes on this machine, or one cell in this process
 * for a scheduler's array task (see sweep.h). Each cell's status lives in its cell.json,
 * written atomically, so a killed sweep leaves every finished cell finished and every other
 * one to be resumed by the next run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/file.h"
#include "core/json.h"
#include "core/json_write.h"
#include "core/outdir_lock.h"
#include "core/progress.h"
#include "data/datasets/feature_cache.h"
#include "models/sweep/sweep.h"

static int cell_path(const cd_sweep_plan *p, int i, const char *name, char *buf, size_t cap) {
  return cd_path_join(buf, cap, p->cells[i].dir, name);
}

/* 1 when the cell's cell.json says status. */
static int cell_status_is(const cd_sweep_plan *p, int i, const char *status) {
  char path[4300];
  if (cell_path(p, i, "cell.json", path, sizeof path) || !cd_file_exists(path)) return 0;
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 20, NULL);
  int is = doc && !strcmp(cd_json_get_str(cd_json_root(doc), "status", ""), status);
  cd_json_free(doc);
  return is;
}

int cd_sweep_cell_done(const cd_sweep_plan *p, int i) { return cell_status_is(p, i, "done"); }

/* The last "clipdebias: ..." line of the cell's run.log, without the prefix. */
static void last_error(const cd_sweep_plan *p, int i, char *out, size_t cap) {
  char path[4300];
  uint8_t *buf = NULL;
  size_t n = 0;
  out[0] = 0;
  if (cell_path(p, i, "run.log", path, sizeof path) || cd_file_read(path, (size_t)1 << 26, &buf, &n, NULL)) return;
  const char *last = NULL;
  for (size_t k = 0; k + 12 <= n; k++)
    if ((k == 0 || buf[k - 1] == '\n') && !memcmp(buf + k, "clipdebias: ", 12)) last = (const char *)buf + k + 12;
  if (last) {
    size_t len = 0;
    while (last + len < (const char *)buf + n && last[len] != '\n') len++;
    snprintf(out, cap, "%.*s", (int)len, last);
  }
  free(buf);
}

/* cell.json: {"name", "status", "error", "wall_seconds", "peak_rss_bytes", "command"}; a cell
 * of a group (group_cells > 1) also gets "group_cells" and "group_wall_seconds", and its
 * wall_seconds is an equal share of the group's. */
static int write_cell_json(const cd_sweep_plan *p, int i, const char *status, const char *error, double seconds,
                           long long rss_bytes, int group_cells, double group_seconds, cd_error *e) {
  char path[4300], *buf = NULL;
  size_t len = 0;
  int argc;
  char **argv = cd_sweep_cell_argv(p, i, &argc, e);
  FILE *fp = argv ? open_memstream(&buf, &len) : NULL;
  if (!fp) return cd_sweep_argv_free(argv), argv ? cd_fail(e, "sweep: out of memory") : -1;
  cd_jw w; /* a few members per line, continuation lines indented by one space */
  cd_jw_init(&w, fp);
  w.indent = 1;
  cd_jw_obj(&w);
  cd_jw_kint(&w, "version", 1);
  cd_jw_kstr(&w, "name", p->cells[i].name);
  cd_jw_kstr(&w, "status", status);
  cd_jw_kstr_or_null(&w, "error", error);
  cd_jw_br(&w);
  cd_jw_key(&w, "wall_seconds");
  cd_jw_fixed(&w, seconds, 3);
  cd_jw_kint(&w, "peak_rss_bytes", rss_bytes);
  if (group_cells > 1) {
    cd_jw_kint(&w, "group_cells", group_cells);
    cd_jw_key(&w, "group_wall_seconds");
    cd_jw_fixed(&w, group_seconds, 3);
  }
  cd_jw_br(&w);
  cd_jw_key(&w, "command");
  cd_jw_arr(&w);
  cd_jw_str(&w, "clipdebias");
  for (int k = 0; k < argc; k++) cd_jw_str(&w, argv[k]);
  cd_jw_end(&w);
  cd_jw_end(&w);
  fputc('\n', fp);
  fclose(fp);
  cd_sweep_argv_free(argv);
  int rc = cell_path(p, i, "cell.json", path, sizeof path) ? cd_fail(e, "%s: path too long", p->cells[i].dir)
                                                            : cd_write_file_atomic(path, buf, len, e);
  free(buf);
  return rc;
}

/* stdout and stderr of this process -> path (appended: a resumed cell keeps the output of its
 * earlier attempts). */
static int redirect_to(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return -1;
  fflush(stdout), fflush(stderr);
  dup2(fd, 1), dup2(fd, 2);
  close(fd);
  return 0;
}

/* ... the cell's run.log */
static int redirect_output(const cd_sweep_plan *p, int i) {
  char path[4300];
  return cell_path(p, i, "run.log", path, sizeof path) ? -1 : redirect_to(path);
}

static int call_cell(const cd_sweep_plan *p, int i, cd_sweep_run_fn fn, void *user) {
  int argc;
  char **argv = cd_sweep_cell_argv(p, i, &argc, NULL);
  if (!argv) return fprintf(stderr, "clipdebias: sweep: out of memory\n"), 1;
  int rc = fn(argc, argv, user);
  fflush(stdout), fflush(stderr);
  cd_sweep_argv_free(argv);
  return rc;
}

int cd_sweep_run_cell(const cd_sweep_plan *p, int i, cd_sweep_run_fn fn, void *user, cd_error *e) {
  if (i < 0 || i >= p->n_cells) return cd_fail(e, "--cell %d: the sweep has cells 0..%d", i, p->n_cells - 1);
  if (cd_sweep_cell_done(p, i)) return 0;
  /* one writer per folder (core/outdir_lock.h): run, in this process, takes it again freely */
  cd_outdir_lock lock = {0};
  if (cd_outdir_lock_write(&lock, p->cells[i].dir, "sweep --cell", e)) return -1;
  double t0 = cd_time_now();
  if (write_cell_json(p, i, "running", NULL, 0, 0, 0, 0, e)) return cd_outdir_unlock(&lock), -1;
  int saved_out = dup(1), saved_err = dup(2);
  if (redirect_output(p, i)) return cd_outdir_unlock(&lock), cd_fail(e, "%s: cannot open run.log", p->cells[i].dir);
  int rc = call_cell(p, i, fn, user);
  dup2(saved_out, 1), dup2(saved_err, 2);
  close(saved_out), close(saved_err);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  char err[1024];
  if (rc) last_error(p, i, err, sizeof err);
  if (rc && !*err) snprintf(err, sizeof err, "run exited with status %d", rc);
  int bad = write_cell_json(p, i, rc ? "failed" : "done", rc ? err : NULL, cd_time_now() - t0, (long long)ru.ru_maxrss * 1024, 0, 0, e);
  cd_outdir_unlock(&lock);
  if (bad) return -1;
  if (rc) return cd_fail(e, "cell %s: %s", p->cells[i].name, err);
  return 0;
}

/* DIR/groups.log: what a group's process prints itself (its cells' output is in their
 * run.log); appended by every group. */
static int redirect_group_output(const cd_sweep_plan *p) {
  char path[4300];
  return cd_path_join(path, sizeof path, p->out_dir, "groups.log") ? -1 : redirect_to(path);
}

/* The process of a group: every cell's run.log open, group_fn over the cells, then each
 * cell's cell.json. Returns 1 when any cell failed. */
static int run_group(const cd_sweep_plan *p, const int *cells, int n, cd_sweep_group_fn group_fn, void *user) {
  FILE **logs = calloc((size_t)n, sizeof *logs);
  char ***argv = calloc((size_t)n, sizeof *argv), path[4300];
  int *argc = calloc((size_t)n, sizeof *argc), *status = calloc((size_t)n, sizeof *status), bad = 0;
  cd_error e;
  if (!logs || !argv || !argc || !status || redirect_group_output(p)) return 1;
  printf("group of %d cells (pid %d):", n, (int)getpid());
  for (int k = 0; k < n; k++) printf(" %s", p->cells[cells[k]].name);
  printf("\n");
  fflush(stdout);
  for (int k = 0; k < n && !bad; k++) {
    argv[k] = cd_sweep_cell_argv(p, cells[k], &argc[k], &e);
    logs[k] = cell_path(p, cells[k], "run.log", path, sizeof path) ? NULL : fopen(path, "a");
    if (!argv[k] || !logs[k]) bad = fprintf(stderr, "clipdebias: sweep: %s: cannot open run.log\n", p->cells[cells[k]].name);
    else setvbuf(logs[k], NULL, _IOLBF, 0); /* a killed group leaves whole lines */
  }
  double t0 = cd_time_now();
  if (!bad) group_fn(n, argc, argv, logs, status, user);
  double wall = cd_time_now() - t0;
  for (int k = 0; k < n; k++) {
    if (logs[k]) fclose(logs[k]);
    cd_sweep_argv_free(argv[k]);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  int any = bad;
  for (int k = 0; k < n; k++) {
    char err[1024] = "";
    int failed = bad || status[k];
    if (failed) last_error(p, cells[k], err, sizeof err);
    if (failed && !*err) snprintf(err, sizeof err, "run exited with status %d", bad ? 1 : status[k]);
    if (write_cell_json(p, cells[k], failed ? "failed" : "done", failed ? err : NULL, wall / n,
                        (long long)ru.ru_maxrss * 1024, n, wall, &e))
      fprintf(stderr, "clipdebias: %s\n", e.msg);
    any |= failed;
  }
  free(logs), free(argv), free(argc), free(status);
  return any ? 1 : 0;
}

typedef struct {
  pid_t pid;
  const int *cells; /* the cells of its group */
  int n, grouped;   /* grouped: a group process (run_group), else one cell's run */
  double t0;
} child;

/* The "[k/n] cell: ..." line of a finished cell. */
static void report_cell(const cd_sweep_plan *p, int i, int ok, const char *err, double secs, const struct rusage *ru,
                        int n_group, FILE *log, int *done, int total) {
  (*done)++;
  if (!log) return;
  if (!ok) fprintf(log, "[%d/%d] %s: FAILED: %s\n", *done, total, p->cells[i].name, err);
  else if (n_group > 1)
    fprintf(log, "[%d/%d] %s: done, its group of %d cells in %.1f s, peak RSS %.1f MB\n", *done, total, p->cells[i].name,
            n_group, secs, ru->ru_maxrss / 1024.0);
  else fprintf(log, "[%d/%d] %s: done in %.1f s, peak RSS %.1f MB\n", *done, total, p->cells[i].name, secs,
               ru->ru_maxrss / 1024.0);
  fflush(log);
}

/* The status of a cell whose process ended: a group process recorded its cells (a cell it did
 * not record, still "running", failed with the process); a cell's own process by its exit. */
static int finish_child(const cd_sweep_plan *p, const child *c, int status, const struct rusage *ru, FILE *log,
                        int *done, int total, int *failed, cd_error *e) {
  double secs = cd_time_now() - c->t0;
  for (int k = 0; k < c->n; k++) {
    int i = c->cells[k];
    char err[1024] = "";
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0, recorded = 0;
    if (c->grouped) { /* the group's verdict per cell, when it got that far */
      ok = cd_sweep_cell_done(p, i);
      recorded = ok || cell_status_is(p, i, "failed");
    }
    if (!ok) last_error(p, i, err, sizeof err);
    if (!ok && !recorded && WIFSIGNALED(status))
      snprintf(err + strlen(err), sizeof err - strlen(err), "%skilled by signal %d", *err ? "; " : "", WTERMSIG(status));
    if (!ok && !*err) snprintf(err, sizeof err, "run exited with status %d", WEXITSTATUS(status));
    *failed += !ok;
    report_cell(p, i, ok, err, secs, ru, c->n, log, done, total);
    if (!recorded && write_cell_json(p, i, ok ? "done" : "failed", ok ? NULL : err, secs, (long long)ru->ru_maxrss * 1024,
                                     0, 0, e))
      return -1;
  }
  return 0;
}

int cd_sweep_run_local(const cd_sweep_plan *p, int jobs, cd_sweep_run_fn fn, cd_sweep_group_fn group_fn, void *user,
                       FILE *log, int *failed, cd_error *e) {
  *failed = 0;
  if (jobs < 1) jobs = 1;
  /* one writer per folder: the forked cells inherit the sweep folder's lock */
  cd_outdir_lock lock = {0};
  if (cd_outdir_lock_write(&lock, p->out_dir, "sweep", e)) return -1;
  int *todo = cd_malloc(sizeof(int) * (size_t)(p->n_cells + 1), e), n_todo = 0;
  int *group = cd_malloc(sizeof(int) * (size_t)(p->n_cells + 1), e);
  int *order = cd_malloc(sizeof(int) * (size_t)(p->n_cells + 1), e), *start = cd_malloc(sizeof(int) * (size_t)(p->n_cells + 2), e);
  child *kids = cd_calloc((size_t)jobs, sizeof *kids, e);
  if (!todo || !group || !order || !start || !kids)
    return free(todo), free(group), free(order), free(start), free(kids), cd_outdir_unlock(&lock), -1;
  for (int i = 0; i < p->n_cells; i++)
    if (!cd_sweep_cell_done(p, i)) todo[n_todo++] = i;
  int n_groups = n_todo;
  for (int k = 0; k < n_todo; k++) group[k] = k;
  if (group_fn) n_groups = cd_sweep_plan_groups(p, todo, n_todo, jobs, group);
  for (int g = 0, k = 0; g < n_groups; g++) { /* the cells of group g: order[start[g] .. start[g + 1]) */
    start[g] = k;
    for (int j = 0; j < n_todo; j++)
      if (group[j] == g) order[k++] = todo[j];
    start[g + 1] = k;
  }
  if (log) fprintf(log, "sweep: %d cells, %d finished earlier, %d to run (%d at a time, %d threads each)\n",
                   p->n_cells, p->n_cells - n_todo, n_todo, jobs, p->threads);
  if (log && n_groups < n_todo)
    fprintf(log, "sweep: lockstep across cells: %d processes, the cells of each training their pairs together\n", n_groups);
  int next = 0, running = 0, done = 0, rc = 0;
  while (!rc && (next < n_groups || running)) {
    while (!rc && next < n_groups && running < jobs) {
      const int *cells = order + start[next];
      int n = start[next + 1] - start[next], grouped = n > 1;
      next++;
      for (int k = 0; k < n && !rc; k++)
        if (cd_make_dirs(p->cells[cells[k]].dir, e) || write_cell_json(p, cells[k], "running", NULL, 0, 0, 0, 0, e)) rc = -1;
      if (rc) break;
      fflush(NULL);
      pid_t pid = fork();
      if (pid < 0) {
        rc = cd_fail(e, "sweep: fork failed: %s", strerror(errno));
        break;
      }
      if (pid == 0) {
        if (grouped) _exit(run_group(p, cells, n, group_fn, user));
        if (redirect_output(p, cells[0])) _exit(1);
        _exit(call_cell(p, cells[0], fn, user) ? 1 : 0);
      }
      int slot = 0;
      while (kids[slot].pid) slot++;
      kids[slot] = (child){pid, cells, n, grouped, cd_time_now()};
      running++;
    }
    if (!running) break;
    int status;
    struct rusage ru;
    pid_t pid = wait4(-1, &status, 0, &ru);
    if (pid < 0) {
      if (errno == EINTR) continue;
      rc = cd_fail(e, "sweep: wait failed: %s", strerror(errno));
      break;
    }
    for (int s = 0; s < jobs; s++)
      if (kids[s].pid == pid) {
        rc = finish_child(p, &kids[s], status, &ru, log, &done, n_todo, failed, e);
        kids[s].pid = 0;
        running--;
      }
  }
  for (int s = 0; rc && s < jobs; s++) /* an error of the sweep itself: wait for the cells under way */
    if (kids[s].pid) waitpid(kids[s].pid, NULL, 0);
  free(todo), free(group), free(order), free(start), free(kids);
  cd_outdir_unlock(&lock);
  return rc;
}
