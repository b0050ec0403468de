/* A run directory as the report reads it: results.json, metrics.jsonl and args.json,
 * checked against their schema and turned into plain arrays. Missing numbers (JSON null,
 * absent keys) are NAN; strings point into the parsed documents, which the run keeps. */
#ifndef CD_REPORT_RUN_H
#define CD_REPORT_RUN_H

#include "core/error.h"
#include "core/json.h"

/* The four summary numbers of a split, in table order. */
enum { CD_RP_AVG, CD_RP_ADJ, CD_RP_WORST, CD_RP_GAP, CD_RP_NSTAT };

typedef struct {
  int g, y, a;        /* a = -1 when the attribute is unknown */
  long n;             /* images in the group (0: empty, acc NAN) */
  double acc, acc_std;
} cd_rp_group;

typedef struct {
  int present;
  double mean[CD_RP_NSTAT], std[CD_RP_NSTAT];
  cd_rp_group *groups;
  int n_groups;
  long *pred_hist;    /* [n_pred] images predicted as each class */
  int n_pred;
  const char **warnings;
  int n_warnings;
  int has_warnings;   /* the writer listed its warnings (possibly none) */
} cd_rp_split;

typedef struct {
  const char *name;
  long *selected;     /* [n_selected] selected epoch per seed */
  int n_selected;
  int epochs;
  cd_rp_split test, val;
  int diverged;       /* "status": "diverged": no numbers, diverged_text says which seeds */
  const char *uses_labels, *uses_attr; /* "uses": the group labels and attribute names it
                                        * reads (NULL when results.json does not say) */
  char diverged_text[1024];
} cd_rp_method;

/* Which groups a metrics line's group_weights / p_bar refer to. */
enum { CD_RP_WG_NONE, CD_RP_WG_PSEUDO, CD_RP_WG_TRUE };

typedef struct {
  int method;         /* index into cd_rp_run.methods */
  int seed;           /* -1 for null (zero-shot) */
  int epoch;
  double loss, lr;
  int weight_groups;
  double *weights;    /* [n_weights] or NULL */
  int n_weights;
  double *p_bar;      /* [n_p_bar] or NULL */
  int n_p_bar;
  double val_avg, val_worst, val_worst_pseudo, test_avg, test_worst;
} cd_rp_line;

typedef struct {
  char *key, *value;  /* owned; nested keys joined with '.' */
} cd_rp_arg;

typedef struct {
  int y;
  long n;
  double acc;
} cd_rp_class_acc;

typedef struct {
  char results_path[4200], metrics_path[4200], args_path[4200];
  cd_json_doc *results_doc, *args_doc;

  const char *dataset, *model, *cache, *head, *select;
  char date[64];              /* when results.json was written (UTC) */
  double wall_seconds;        /* NAN if absent */
  long *seeds;
  int n_seeds;
  const char **classnames;
  int n_cls;
  const char **attr_names;
  int n_attr;
  int n_groups;
  long *train_counts;         /* [n_groups] or NULL */

  int has_pseudo;             /* pseudo-labels were checked against the true attribute */
  double pseudo_acc;
  const char **pseudo_splits;
  int n_pseudo_splits;
  cd_rp_class_acc *pseudo_per_class;
  int n_pseudo_per_class;
  long *confusion;            /* [n_attr, n_attr], rows true a, columns pseudo a */
  int conf_n;

  cd_rp_method *methods;      /* in method_order, then any others */
  int n_methods;
  cd_rp_line *lines;
  int n_lines;
  cd_rp_arg *args;
  int n_args;
} cd_rp_run;

int cd_rp_run_load(const char *run_dir, cd_rp_run *run, cd_error *e);
void cd_rp_run_free(cd_rp_run *run);

/* Whether a method's numbers are over several seeds (then they carry a std). */
int cd_rp_several_seeds(const cd_rp_run *run, const cd_rp_method *m);

/* "landbird · water" (or just the class name when the attribute is unknown) into buf. */
void cd_rp_group_label(const cd_rp_run *run, int y, int a, char *buf, size_t cap);

#endif
