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

int cd_sweep_cell_done(const cd_sweep_plan *p, int i) {
  char path[4300];
  if (cell_path(p, i, "cell.json", path, sizeof path) || !cd_file_exists(path)) return 0;
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 20, NULL);
  int done = doc && !strcmp(cd_json_get_str(cd_json_root(doc), "status", ""), "done");
  cd_json_free(doc);
  return done;
}

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

/* cell.json: {"name", "status", "error", "wall_seconds", "peak_rss_bytes", "command"}. */
static int write_cell_json(const cd_sweep_plan *p, int i, const char *status, const char *error, double seconds,
                           long long rss_bytes, cd_error *e) {
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

/* stdout and stderr of this process -> the cell's run.log (appended: a resumed cell keeps
 * the output of its earlier attempts). */
static int redirect_output(const cd_sweep_plan *p, int i) {
  char path[4300];
  if (cell_path(p, i, "run.log", path, sizeof path)) return -1;
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return -1;
  fflush(stdout), fflush(stderr);
  dup2(fd, 1), dup2(fd, 2);
  close(fd);
  return 0;
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
  if (write_cell_json(p, i, "running", NULL, 0, 0, e)) return cd_outdir_unlock(&lock), -1;
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
  int bad = write_cell_json(p, i, rc ? "failed" : "done", rc ? err : NULL, cd_time_now() - t0, (long long)ru.ru_maxrss * 1024, e);
  cd_outdir_unlock(&lock);
  if (bad) return -1;
  if (rc) return cd_fail(e, "cell %s: %s", p->cells[i].name, err);
  return 0;
}

typedef struct {
  pid_t pid;
  int cell;
  double t0;
} child;

static int finish_child(const cd_sweep_plan *p, const child *c, int status, const struct rusage *ru, FILE *log,
                        int *done, int total, int *failed, cd_error *e) {
  char err[1024] = "";
  int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!ok) last_error(p, c->cell, err, sizeof err);
  if (!ok && WIFSIGNALED(status)) snprintf(err + strlen(err), sizeof err - strlen(err), "%skilled by signal %d",
                                           *err ? "; " : "", WTERMSIG(status));
  if (!ok && !*err) snprintf(err, sizeof err, "run exited with status %d", WEXITSTATUS(status));
  double secs = cd_time_now() - c->t0;
  (*done)++;
  *failed += !ok;
  if (log) {
    if (ok) fprintf(log, "[%d/%d] %s: done in %.1f s, peak RSS %.1f MB\n", *done, total, p->cells[c->cell].name, secs,
                    ru->ru_maxrss / 1024.0);
    else fprintf(log, "[%d/%d] %s: FAILED: %s\n", *done, total, p->cells[c->cell].name, err);
    fflush(log);
  }
  return write_cell_json(p, c->cell, ok ? "done" : "failed", ok ? NULL : err, secs, (long long)ru->ru_maxrss * 1024, e);
}

int cd_sweep_run_local(const cd_sweep_plan *p, int jobs, cd_sweep_run_fn fn, void *user, FILE *log,
                       int *failed, cd_error *e) {
  *failed = 0;
  if (jobs < 1) jobs = 1;
  /* one writer per folder: the forked cells inherit the sweep folder's lock */
  cd_outdir_lock lock = {0};
  if (cd_outdir_lock_write(&lock, p->out_dir, "sweep", e)) return -1;
  int *todo = cd_malloc(sizeof(int) * (size_t)(p->n_cells + 1), e), n_todo = 0;
  child *kids = cd_calloc((size_t)jobs, sizeof *kids, e);
  if (!todo || !kids) return free(todo), free(kids), cd_outdir_unlock(&lock), -1;
  for (int i = 0; i < p->n_cells; i++)
    if (!cd_sweep_cell_done(p, i)) todo[n_todo++] = i;
  if (log) fprintf(log, "sweep: %d cells, %d finished earlier, %d to run (%d at a time, %d threads each)\n",
                   p->n_cells, p->n_cells - n_todo, n_todo, jobs, p->threads);
  int next = 0, running = 0, done = 0, rc = 0;
  while (!rc && (next < n_todo || running)) {
    while (!rc && next < n_todo && running < jobs) {
      int i = todo[next++];
      if (cd_make_dirs(p->cells[i].dir, e) || write_cell_json(p, i, "running", NULL, 0, 0, e)) {
        rc = -1;
        break;
      }
      fflush(NULL);
      pid_t pid = fork();
      if (pid < 0) {
        rc = cd_fail(e, "sweep: fork failed: %s", strerror(errno));
        break;
      }
      if (pid == 0) {
        if (redirect_output(p, i)) _exit(1);
        _exit(call_cell(p, i, fn, user) ? 1 : 0);
      }
      int slot = 0;
      while (kids[slot].pid) slot++;
      kids[slot] = (child){pid, i, cd_time_now()};
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
  free(todo);
  free(kids);
  cd_outdir_unlock(&lock);
  return rc;
}
