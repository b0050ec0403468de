/* clipdebias report : rebuilds RUN_DIR/report.html from the run's results.json,
 * metrics.jsonl and args.json (`run` writes it at the end; this redraws it, e.g. after
 * an interrupted run was resumed or with a newer clipdebias). */
#include <stdio.h>
#include <string.h>

#include "tools/report/report.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

static void print_help(void) {
  printf("usage: clipdebias report --run RUN_DIR\n\n"
         "Writes RUN_DIR/report.html: one self-contained page (inline CSS and SVG, no script,\n"
         "nothing loaded from the network) with the results table (avg, adjusted avg, worst\n"
         "group, gap; mean +- std over seeds), accuracy per group, training curves, group\n"
         "weights, the pseudo-label confusion, the run's arguments and its warnings.\n"
         "Reads RUN_DIR/results.json, metrics.jsonl and args.json.\n"
         "Example:\n"
         "  clipdebias report --run runs/waterbirds && xdg-open runs/waterbirds/report.html\n");
}

int cd_cmd_report(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  const char *run_dir = NULL;
  for (int i = 1; i < argc; i++) {
    if (cd_arg_is(argv[i], "--run")) {
      if (!(run_dir = cd_arg_value(argc, argv, &i))) return 1;
    } else {
      return cd_cli_fail("report: unknown option '%s' (see --help)", argv[i]);
    }
  }
  if (!run_dir) return cd_cli_fail("report: --run RUN_DIR is required");
  cd_error e;
  if (cd_report_write(run_dir, &e)) return cd_cli_fail("%s", e.msg);
  printf("%s/report.html\n", run_dir);
  return 0;
}
