/* Small argument helpers shared by the commands: `--name value` options, repeated values
 * (`--text a b c` until the next --option), and numeric parsing with range checks. */
#ifndef CD_ARGS_H
#define CD_ARGS_H

#include <stddef.h>

/* Prints "clipdebias: <message>" to stderr; returns 1 (the exit code for a failure). */
int cd_cli_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* True if argv contains -h or --help. */
int cd_args_want_help(int argc, char **argv);

/* Cursor over argv[1..]: for (i = 1; i < argc; i++) { if (cd_arg_is(argv[i], "--out")) ... } */
int cd_arg_is(const char *arg, const char *name);
/* Takes the value after argv[*i] (advancing *i); NULL + message if missing. */
const char *cd_arg_value(int argc, char **argv, int *i);
/* Collects values after argv[*i] up to the next "--" option into a malloc'd array. */
int cd_arg_values(int argc, char **argv, int *i, const char ***vals, int *n);
/* Parses an int in [lo, hi]; returns 0 ok, -1 with message naming the option. */
int cd_arg_int(const char *opt, const char *s, long lo, long hi, int *out);
int cd_arg_float(const char *opt, const char *s, double *out);
/* --threads N: an integer cd_threads_check accepts; sets the thread count. */
int cd_arg_threads(const char *s, int *out);
/* Reads non-empty lines of a text file (UTF-8) into a malloc'd array of strings. */
int cd_read_lines(const char *path, char ***lines, int *n);
void cd_free_lines(char **lines, int n);

#endif
