/* Every `clipdebias <command>` entry point: int cd_cmd_<name>(int argc, char **argv), where
 * argv[0] is the command name. Returns the process exit code. */
#ifndef CD_COMMANDS_H
#define CD_COMMANDS_H

#include <stdio.h>

int cd_cmd_info(int argc, char **argv);
int cd_cmd_tokenize(int argc, char **argv);
int cd_cmd_embed_text(int argc, char **argv);
int cd_cmd_embed_image(int argc, char **argv);
int cd_cmd_prompt_grad(int argc, char **argv);
int cd_cmd_tune(int argc, char **argv);
int cd_cmd_run(int argc, char **argv);
/* Parses run's arguments without running anything: 0, or 1 after printing the problem. */
int cd_cmd_run_check(int argc, char **argv);
/* The `run` command lines of n cells (argv[i], argc[i]) in this process: their runs prepared,
 * their prompt-tuned pairs trained in lockstep across them (cd_run_group), each finished with
 * its report.html; cell i's output and its one error line go to logs[i], status[i] = its
 * exit status. Cells that discover their attribute (--attr auto, --attr-from) run alone. */
void cd_cmd_run_cells(int n, int *argc, char ***argv, FILE **logs, int *status);
int cd_cmd_sweep(int argc, char **argv);
int cd_cmd_zeroshot(int argc, char **argv);
int cd_cmd_pseudolabel(int argc, char **argv);
int cd_cmd_discover(int argc, char **argv);
int cd_cmd_eval(int argc, char **argv);
int cd_cmd_preprocess(int argc, char **argv);
int cd_cmd_merge(int argc, char **argv);
int cd_cmd_toyworld(int argc, char **argv);
int cd_cmd_demo(int argc, char **argv);
int cd_cmd_dataset(int argc, char **argv);
int cd_cmd_embed(int argc, char **argv);
int cd_cmd_report(int argc, char **argv);

#endif
