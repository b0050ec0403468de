/* A sweep on Slurm: one array job (a task per unfinished cell) and a collect job after it
 * (see sweep.h). The job scripts are written into DIR/slurm/ so they can be read, rerun or
 * submitted by hand. Progress is polled with squeue (sacct needs a database daemon that
 * small clusters often lack). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "data/datasets/feature_cache.h"
#include "models/sweep/sweep.h"

/* 1 when name is an executable on PATH. */
static int on_path(const char *name) {
  const char *path = getenv("PATH");
  char buf[4200];
  for (const char *s = path ? path : "/usr/bin:/bin"; *s;) {
    const char *end = strchr(s, ':');
    size_t n = end ? (size_t)(end - s) : strlen(s);
    snprintf(buf, sizeof buf, "%.*s/%s", (int)n, s, name);
    if (n && access(buf, X_OK) == 0) return 1;
    if (!end) break;
    s = end + 1;
  }
  return 0;
}

static void shell_quote(FILE *fp, const char *s) {
  fputc('\'', fp);
  for (; *s; s++) fputs(*s == '\'' ? "'\\''" : (char[2]){*s, 0}, fp);
  fputc('\'', fp);
}

static int write_script(const char *path, const char *head, const char *program, char *const *args, int n,
                        const char *tail, cd_error *e) {
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&buf, &len);
  if (!fp) return cd_fail(e, "sweep: out of memory");
  fprintf(fp, "#!/bin/sh\n%sexec ", head);
  shell_quote(fp, program);
  fputs(" sweep", fp);
  for (int k = 0; k < n; k++) fputc(' ', fp), shell_quote(fp, args[k]);
  fprintf(fp, " %s\n", tail);
  fclose(fp);
  int rc = cd_write_file_atomic(path, buf, len, e);
  free(buf);
  if (!rc && chmod(path, 0755)) rc = cd_fail(e, "%s: cannot make it executable", path);
  return rc;
}

/* Runs `sh -c cmd`, returns the first line of its output (the job id of --parsable). */
static int sbatch(const char *cmd, char *id, size_t cap, cd_error *e) {
  char out[4096] = "";
  size_t n = 0;
  char full[16384];
  snprintf(full, sizeof full, "%s 2>&1", cmd);
  FILE *fp = popen(full, "r");
  if (!fp) return cd_fail(e, "sweep --slurm: cannot run sbatch");
  n = fread(out, 1, sizeof out - 1, fp);
  out[n] = 0;
  int status = pclose(fp);
  char *nl = strchr(out, '\n');
  if (nl) *nl = 0;
  if (status != 0 || !*out || strspn(out, "0123456789;") != strlen(out))
    return cd_fail(e, "sweep --slurm: sbatch refused the job: %s", *out ? out : "(no output)");
  char *semi = strchr(out, ';'); /* "id;cluster" on federated clusters */
  if (semi) *semi = 0;
  snprintf(id, cap, "%s", out);
  return 0;
}

int cd_sweep_slurm_submit(const cd_sweep_plan *p, const char *program, char *const *sweep_args, int n_args,
                          const char *slurm_args, char *job_ids, size_t cap, FILE *log, cd_error *e) {
  if (!on_path("sbatch") || !on_path("squeue"))
    return cd_fail(e, "sweep --slurm: the Slurm commands (sbatch, squeue) are not on PATH; install slurm-client "
                   "or run the sweep without --slurm");
  char dir[4200], cells[4300], collect[4300], head[8192], cmd[16384], array_id[64] = "", collect_id[64];
  if (cd_path_join(dir, sizeof dir, p->out_dir, "slurm") || cd_make_dirs(dir, e)) return e ? -1 : -1;
  snprintf(cells, sizeof cells, "%s/cells.sh", dir);
  snprintf(collect, sizeof collect, "%s/collect.sh", dir);
  /* --array=i,j,... of the unfinished cells */
  char *list = cd_malloc((size_t)p->n_cells * 8 + 1, e);
  size_t len = 0;
  if (!list) return -1;
  list[0] = 0;
  for (int i = 0; i < p->n_cells; i++)
    if (!cd_sweep_cell_done(p, i)) len += (size_t)sprintf(list + len, "%s%d", len ? "," : "", i);
  int rc = 0;
  const char *extra = slurm_args ? slurm_args : "";
  if (len) {
    snprintf(head, sizeof head, "#SBATCH --job-name=clipdebias-sweep\n#SBATCH --cpus-per-task=%d\n"
             "#SBATCH --output=%s/cell-%%a.out\n", p->threads, dir);
    rc = write_script(cells, head, program, sweep_args, n_args, "--cell \"$SLURM_ARRAY_TASK_ID\"", e);
    snprintf(cmd, sizeof cmd, "sbatch --parsable --array=%s %s '%s'", list, extra, cells);
    if (!rc) rc = sbatch(cmd, array_id, sizeof array_id, e);
    if (!rc && log) fprintf(log, "sweep: submitted job %s: %s\n", array_id, cmd);
  }
  free(list);
  if (rc) return -1;
  snprintf(head, sizeof head, "#SBATCH --job-name=clipdebias-sweep-collect\n#SBATCH --cpus-per-task=1\n"
           "#SBATCH --output=%s/collect.out\n", dir);
  if (write_script(collect, head, program, sweep_args, n_args, "--collect", e)) return -1;
  if (*array_id) snprintf(cmd, sizeof cmd, "sbatch --parsable --dependency=afterany:%s %s '%s'", array_id, extra, collect);
  else snprintf(cmd, sizeof cmd, "sbatch --parsable %s '%s'", extra, collect);
  if (sbatch(cmd, collect_id, sizeof collect_id, e)) return -1;
  if (log) fprintf(log, "sweep: submitted job %s: %s\n", collect_id, cmd);
  snprintf(job_ids, cap, "%s%s%s", array_id, *array_id ? "," : "", collect_id);
  return 0;
}

int cd_sweep_slurm_wait(const char *job_ids, FILE *log, cd_error *e) {
  if (!on_path("squeue")) return cd_fail(e, "sweep --wait: squeue is not on PATH");
  char cmd[512];
  snprintf(cmd, sizeof cmd, "squeue -h -j '%s' -o '%%i %%T' 2>&1", job_ids);
  for (int polls = 0;; polls++) {
    FILE *fp = popen(cmd, "r");
    if (!fp) return cd_fail(e, "sweep --wait: cannot run squeue");
    char line[512], last[512] = "";
    int lines = 0, invalid = 0;
    while (fgets(line, sizeof line, fp)) {
      lines++;
      invalid |= strstr(line, "Invalid job id") != NULL;
      snprintf(last, sizeof last, "%s", line);
    }
    int status = pclose(fp);
    /* finished jobs leave squeue: an empty answer, or "Invalid job id" once purged */
    if (lines == 0 || invalid) return 0;
    if (status != 0) return cd_fail(e, "sweep --wait: squeue failed: %s", last);
    if (log && polls % 30 == 0) fprintf(log, "sweep: waiting for Slurm jobs %s (%d tasks queued or running)\n", job_ids, lines), fflush(log);
    sleep(2);
  }
}

void cd_sweep_slurm_task_note(const cd_sweep_plan *p, int i, char *buf, size_t cap) {
  char path[4300];
  uint8_t *data = NULL;
  size_t n = 0;
  buf[0] = 0;
  snprintf(path, sizeof path, "%s/slurm/cell-%d.out", p->out_dir, i);
  if (cd_file_read(path, (size_t)1 << 26, &data, &n, NULL)) return;
  for (size_t s = 0, end; s < n; s = end + 1) {
    for (end = s; end < n && data[end] != '\n'; end++) {}
    const char *line = (const char *)data + s;
    if (memmem(line, end - s, "CANCELLED", 9) || memmem(line, end - s, "TIME LIMIT", 10) ||
        memmem(line, end - s, "oom-kill", 8) || memmem(line, end - s, "Killed", 6))
      snprintf(buf, cap, "%.*s", (int)(end - s), line);
  }
  free(data);
}
