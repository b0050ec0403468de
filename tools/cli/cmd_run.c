/* clipdebias run : zero-shot CLIP, pseudo spurious labels, DPT and its baselines over seeds,
 * group metrics, model selection and the closing table (models/run/run.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "models/run/run.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/dataset_args.h"
#include "tools/cli/debias_args.h"
#include "tools/cli/discover_args.h"
#include "tools/report/discover_report.h"
#include "tools/report/report.h"

static void print_help(void) {
  printf(
      "usage: clipdebias run (--cache CACHE | --dataset NAME --root DIR [data set options])\n"
      "         --model M --out RUN_DIR\n"
      "         [--methods zeroshot,erm,dpt,oracle] [--seeds 0,1,2] [--select val-pseudo|val-true|last]\n"
      "         [--head prompt|linear] [--classnames a,b] [--template \"a photo of a {}.\"]...\n"
      "         [--attr-prompt TEXT]... | [--attr auto [--words FILE]] | [--attr-from discover.json]\n"
      "         [--n-ctx 16 | --ctx-init \"a photo of a\"] [--csc]\n"
      "         [--position end|middle|front] [--optim sgd|adam] [--lr 0.002] [--momentum 0.9]\n"
      "         [--weight-decay 5e-4] [--epochs 50] [--batch 32] [--warmup-epochs 1]\n"
      "         [--warmup-lr 1e-5] [--eta 2] [--ema 0.9] [--dpt-update epoch|step]\n"
      "         [--gdro-eta 0.01] [--gdro-adj 0] [--jtt-epochs T] [--jtt-up L] [--dfr-c LIST]\n"
      "         [--dfr-fits 20] [--orth-lambda 1000] [--cali-prompt TEXT]...\n"
      "         [--embed-batch 32] [--skip-bad] [--vocab V]\n"
      "         [--dims K --reduce pca|random|truncate [--reduce-seed S]] [--threads N]\n"
      "         [--lockstep on|off] [--precision fp32|bf16]\n\n"
      "Debiased Prompt Tuning end to end on a feature cache (clipdebias embed); with --dataset\n"
      "the data set is embedded into RUN_DIR/cache first (a matching cache there is reused):\n"
      " 1. zero-shot: class features from the templates ({} = class name; several are averaged)\n"
      " 2. pseudo spurious labels: argmax over the attribute prompts (one per attribute value,\n"
      "    in order a = 0, 1, ...; defaults for waterbirds, celeba, metashift) on every image;\n"
      "    --attr auto discovers them first from zero-shot CLIP's mistakes (clipdebias discover;\n"
      "    RUN_DIR/discover.json and discover.html), --attr-from FILE reuses a discovery made on\n"
      "    this cache with this model\n"
      " 3. methods, each on the CoOp prompt learner (or --head linear: a linear probe of the\n"
      "    frozen features initialised from the zero-shot classifier), same optimiser:\n"
      "      zeroshot     no training\n"
      "      erm          uniform weights\n"
      "      dpt          pseudo groups (y, pseudo a), w_g ~ exp(eta (1 - p_g)) / N_g, mean 1,\n"
      "                   p_g = mean true-class probability of group g; w <- ema w + (1-ema) w_hat\n"
      "                   after every epoch (--dpt-update step: every step); w starts at w_hat\n"
      "                   of the initial prompt; batch loss sum w CE / sum w\n"
      "      oracle       the same on true groups with eta 0 (inverse group frequency)\n"
      "      gdro         GroupDRO on true groups: q_g <- q_g exp(gdro-eta loss_g), normalised\n"
      "      gdro-pseudo  GroupDRO on pseudo groups (B2T-DRO's recipe: Kim et al., CVPR 2024,\n"
      "                   arXiv 2301.11104)\n"
      "    the field's baselines on the same features:\n"
      "      jtt          Just Train Twice (Liu et al., ICML 2021, arXiv 2107.09044): erm for\n"
      "                   --jtt-epochs T, its training errors weighted 1 + --jtt-up, retrained\n"
      "                   (defaults from the authors' README: waterbirds and others T 60,\n"
      "                   up 100; celeba T 1, up 50)\n"
      "      dfr          Deep Feature Reweighting (Kirichenko et al., ICLR 2023, arXiv\n"
      "                   2204.02937): L1 logistic regression on group-balanced validation\n"
      "                   features; C from --dfr-c (1,0.7,0.3,0.1,0.07,0.03,0.01) by held-out\n"
      "                   worst group on one half, then --dfr-fits (20) fits averaged. Uses the\n"
      "                   validation group labels (its val numbers are not held out)\n"
      "      dfr-pseudo   the same on the pseudo groups of the validation set\n"
      "      orth-proj    training-free (Chuang et al. 2023, arXiv 2302.00070): class text\n"
      "                   features projected away from the attribute prompts' span\n"
      "      orth-cali    the same with calibration pairs (class, every two attribute values)\n"
      "                   and --orth-lambda (1000); candidates \"<class prompt> <attribute\n"
      "                   prompt>\" or --cali-prompt TEXT (classes x attribute values, class-major)\n"
      "      roboshot     training-free (Adila et al., ICLR 2024, arXiv 2309.04344): image\n"
      "                   features with the attribute directions (prompt 0 - prompt k) rejected\n"
      "                   (no language model: the attribute prompts are the concepts)\n"
      "    The table says what each uses: group labels (none, validation, training) and\n"
      "    attribute names (given, discovered, none)\n"
      " 4. model selection per epoch: validation worst-group accuracy over pseudo groups\n"
      "    (val-pseudo, no annotation), over true groups (val-true), or the last epoch\n"
      " 5. evaluation on val and test over the true groups; every seed repeats training\n"
      "    (batch order and any random init); mean ± std over seeds\n"
      "Defaults: CoOp's optimiser (SGD lr 0.002 momentum 0.9 wd 5e-4, cosine over 50 epochs\n"
      "after one warm-up epoch at 1e-5), batch 32, context initialised from \"a photo of a\"\n"
      "(--n-ctx alone: N random vectors). RUN_DIR gets args.json, metrics.jsonl, results.json,\n"
      "a_pseudo.npy and one folder per method and seed; rerunning the same command resumes:\n"
      "finished (method, seed) pairs are kept, an interrupted pair continues after its last\n"
      "finished epoch. At the end: the table, and RUN_DIR/report.html.\n"
      "--dims K maps image and text features to K dimensions before the cosine, with a\n"
      "projection fitted on the training split's image features only: pca (top-K right\n"
      "singular vectors of the normalised features, the default), random (seeded Gaussian,\n"
      "--reduce-seed, default 0) or truncate (the first K coordinates); prompt tuning trains\n"
      "through it. RUN_DIR/projection.npy holds it. --dims full (the default): none.\n"
      "--lockstep on (the default): the prompt-tuned (method, seed) pairs train together, one\n"
      "text-tower forward and backward per step for all of them (their prompts stacked as\n"
      "rows), each with its own context, optimiser, batch order, weights and files: the same\n"
      "results as one by one (--lockstep off), bit for bit, in less time.\n"
      "--precision bf16: the text tower's weights are rounded once to bfloat16 (half the bytes\n"
      "streamed per step), activations, gradients and sums stay float32; recorded in args.json\n"
      "and results.json, and a RUN_DIR is never resumed at another precision. fp32: the default.\n"
      "Discovery options (with --attr auto; see clipdebias discover --help):\n" CD_DISCOVER_HELP
      "Data set options (with --dataset):\n" CD_DATASET_HELP);
}

typedef struct {
  cd_run_config c;
  cd_dataset_opts ds;
  int n_ctx_set, ctx_init_set;
  cd_discover_opts disc;
  int attr_auto, disc_set;
  const char *attr_from;
} run_args;

static int list_arg(const char *opt, const char *v, const char **list, int *n) {
  if (*n == CD_RUN_MAX_LIST) return cd_cli_fail("%s given more than %d times", opt, CD_RUN_MAX_LIST), -1;
  list[(*n)++] = v;
  return 0;
}

static int value_arg(run_args *a, const char *opt, const char *v) {
  cd_run_config *c = &a->c;
  cd_error e;
  int k;
  const char **dst = NULL;
  if (cd_arg_is(opt, "--cache")) dst = &c->cache_dir;
  else if (cd_arg_is(opt, "--model")) dst = &c->model;
  else if (cd_arg_is(opt, "--vocab")) dst = &c->vocab;
  else if (cd_arg_is(opt, "--out")) dst = &c->out_dir;
  if (dst) return *dst = v, 0;
  if (cd_arg_is(opt, "--template")) return list_arg(opt, v, c->templates, &c->n_templates);
  if (cd_arg_is(opt, "--attr-prompt")) return list_arg(opt, v, c->attr_prompts, &c->n_attr_prompts);
  if (cd_arg_is(opt, "--cali-prompt")) return list_arg(opt, v, c->cali_prompts, &c->n_cali_prompts);
  if (cd_arg_is(opt, "--ctx-init")) return c->ctx_init = v, a->ctx_init_set = 1, 0;
  if (cd_arg_is(opt, "--attr-from")) return a->attr_from = v, 0;
  if (cd_arg_is(opt, "--attr")) {
    if (strcmp(v, "auto")) return cd_cli_fail("--attr must be auto (discover the attribute; got '%s')", v), -1;
    return a->attr_auto = 1, 0;
  }
  if (cd_arg_is(opt, "--n-ctx")) return a->n_ctx_set = 1, cd_arg_int(opt, v, 1, 75, &c->n_ctx);
  if (cd_arg_is(opt, "--batch")) return cd_arg_int(opt, v, 1, 1 << 24, &c->batch);
  if (cd_arg_is(opt, "--dims")) {
    if (!strcmp(v, "full")) return c->dims = 0, 0;
    return cd_arg_int(opt, v, 2, 1 << 20, &c->dims);
  }
  if (cd_arg_is(opt, "--reduce")) {
    if ((k = cd_reduce_parse(v)) < 0) return cd_cli_fail("--reduce must be pca, random or truncate (got '%s')", v), -1;
    return c->reduce = (cd_reduce_kind)k, 0;
  }
  if (cd_arg_is(opt, "--reduce-seed")) {
    int s;
    if (cd_arg_int(opt, v, 0, 2147483647, &s)) return -1;
    return c->reduce_seed = (uint64_t)s, 0;
  }
  if (cd_arg_is(opt, "--embed-batch")) return cd_arg_int(opt, v, 1, 4096, &c->embed_batch);
  if (cd_arg_is(opt, "--threads")) return cd_arg_threads(v, &c->threads);
  if (cd_arg_is(opt, "--methods") && cd_run_config_set_methods(c, v, &e)) return cd_cli_fail("%s", e.msg), -1;
  if (cd_arg_is(opt, "--seeds") && cd_run_config_set_seeds(c, v, &e)) return cd_cli_fail("%s", e.msg), -1;
  if (cd_arg_is(opt, "--methods") || cd_arg_is(opt, "--seeds")) return 0;
  if (cd_arg_is(opt, "--select")) {
    if ((k = cd_select_parse(v)) < 0) return cd_cli_fail("--select must be val-pseudo, val-true or last (got '%s')", v), -1;
    return c->select = (cd_select_kind)k, 0;
  }
  if (cd_arg_is(opt, "--precision")) {
    if (strcmp(v, "fp32") && strcmp(v, "bf16"))
      return cd_cli_fail("--precision must be fp32 or bf16 (got '%s'): the tuned text tower keeps bfloat16 weights at most", v), -1;
    return c->precision = !strcmp(v, "bf16") ? CD_PREC_BF16 : CD_PREC_FP32, 0;
  }
  if (cd_arg_is(opt, "--lockstep")) {
    if (strcmp(v, "on") && strcmp(v, "off")) return cd_cli_fail("--lockstep must be on or off (got '%s')", v), -1;
    return c->lockstep = !strcmp(v, "on"), 0;
  }
  if (cd_arg_is(opt, "--head")) {
    if ((k = cd_head_kind_parse(v)) < 0) return cd_cli_fail("--head must be prompt or linear (got '%s')", v), -1;
    return c->head = (cd_head_kind)k, 0;
  }
  if (cd_arg_is(opt, "--position")) {
    if ((k = cd_class_position_parse(v)) < 0) return cd_cli_fail("--position must be end, middle or front (got '%s')", v), -1;
    return c->position = (cd_class_position)k, 0;
  }
  return cd_cli_fail("run: unknown option '%s' (see --help)", opt), -1;
}

static int parse(int argc, char **argv, run_args *a) {
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_optim_arg(argc, argv, &i, &a->c.optim, NULL);
    if (!r) r = cd_cli_debias_arg(argc, argv, &i, &a->c.debias);
    if (!r) r = cd_cli_baseline_arg(argc, argv, &i, &a->c.debias);
    if (!r) r = cd_dataset_arg(argc, argv, &i, &a->ds);
    if (!r && (r = cd_cli_discover_arg(argc, argv, &i, &a->disc)) == 1) a->disc_set = 1;
    if (r < 0) return -1;
    if (r == 1) continue;
    if (cd_arg_is(argv[i], "--csc") || cd_arg_is(argv[i], "--skip-bad")) {
      *(cd_arg_is(argv[i], "--csc") ? &a->c.csc : &a->c.skip_bad) = 1;
      continue;
    }
    const char *opt = argv[i], *v = cd_arg_value(argc, argv, &i);
    if (!v || value_arg(a, opt, v)) return -1;
  }
  if (a->n_ctx_set && !a->ctx_init_set) a->c.ctx_init = ""; /* --n-ctx alone: random context */
  if (a->disc_set && !a->attr_auto)
    return cd_cli_fail("--words, --attr-template, --errors, --split, --class-filter and --top are discovery options: add --attr auto"), -1;
  /* --classnames names the classes of the prompts (and of a csv data set) */
  a->c.classnames = a->ds.classnames;
  if (a->ds.name || a->ds.root) a->c.dataset = &a->ds;
  return 0;
}

int cd_cmd_run_check(int argc, char **argv) {
  run_args a;
  memset(&a, 0, sizeof a);
  cd_run_config_default(&a.c);
  if (parse(argc, argv, &a)) return 1;
  cd_error e;
  return cd_run_config_check(&a.c, &e) ? cd_cli_fail("%s", e.msg) : 0;
}

/* The run's report.html after its files (also when some pair diverged); 1 after the one
 * "clipdebias:" line of an error on err. */
static int after_run(const char *out_dir, int rc, cd_error *e, FILE *log, FILE *err) {
  if (!cd_report_after_run(out_dir, rc, log, e)) return 0;
  fprintf(err, "clipdebias: %s\n", e->msg);
  fflush(err);
  return 1;
}

/* A parsed run by itself (with its discovery, --attr auto or --attr-from). */
static int run_alone(run_args *a, FILE *log, FILE *err) {
  a->disc.write_page = cd_discover_write_html;
  cd_error e;
  int rc = cd_discover_run(&a->c, a->attr_auto ? &a->disc : NULL, a->attr_from, log, &e);
  return after_run(a->c.out_dir, rc, &e, log, err);
}

int cd_cmd_run(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  run_args a;
  memset(&a, 0, sizeof a);
  cd_run_config_default(&a.c);
  cd_discover_opts_default(&a.disc);
  if (parse(argc, argv, &a)) return 1;
  return run_alone(&a, stdout, stderr);
}

void cd_cmd_run_cells(int n, int *argc, char ***argv, FILE **logs, int *status) {
  run_args *a = calloc((size_t)n, sizeof *a);
  const cd_run_config **cfg = calloc((size_t)n, sizeof *cfg);
  FILE **glogs = calloc((size_t)n, sizeof *glogs);
  int *idx = calloc((size_t)n, sizeof *idx), *rc = calloc((size_t)n, sizeof *rc), k = 0;
  cd_error *errs = calloc((size_t)n, sizeof *errs);
  for (int i = 0; i < n; i++) {
    status[i] = 1;
    if (!a || !cfg || !glogs || !idx || !rc || !errs) {
      fprintf(logs[i], "clipdebias: run: out of memory\n");
      continue;
    }
    cd_run_config_default(&a[i].c);
    cd_discover_opts_default(&a[i].disc);
    if (parse(argc[i], argv[i], &a[i])) fprintf(logs[i], "clipdebias: run: the cell's arguments are refused\n");
    else if (a[i].attr_auto || a[i].attr_from) status[i] = run_alone(&a[i], logs[i], logs[i]);
    else cfg[k] = &a[i].c, glogs[k] = logs[i], idx[k++] = i;
  }
  if (k) cd_run_group(cfg, k, glogs, rc, errs);
  for (int j = 0; j < k; j++) status[idx[j]] = after_run(a[idx[j]].c.out_dir, rc[j], &errs[j], glogs[j], glogs[j]);
  free(a), free(cfg), free(glogs), free(idx), free(rc), free(errs);
}
