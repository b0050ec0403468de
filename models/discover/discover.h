/* Discovering the spurious attribute from the classifier's own mistakes (B2T-style), so that
 * DPT can run with no attribute named by anyone.
 *
 * For every candidate word w (a vocabulary that ships with clipdebias, or the user's), the
 * prompt t_w = attr_template with {} = w ("a photo of {}.") is encoded, and for every class c
 * of the chosen split (train by default, or val):
 *
 *   score_c(w) = 100 · ( mean_{i in W_c} <x̂_i, t̂_w>  −  mean_{i in R_c} <x̂_i, t̂_w> )
 *
 * with W_c the class's misclassified images and R_c its correctly classified ones, under
 * zero-shot predictions (errors "zeroshot") or a quick ERM linear probe ("erm"). This is B2T's
 * CLIP score (Kim et al., CVPR 2024, arXiv 2301.11104; alinlab/b2t function/
 * calculate_similarity.py: similarity = 100 · image_features @ text_features.T averaged over
 * the images, and b2t.py: dist_class = similarity_wrong_class − similarity_correct_class, one
 * class at a time). A word that comes up when the classifier fails on class c describes what
 * the failing images share besides their class: the spurious attribute's minority value.
 *
 * The class filter and the residual. A candidate whose prompt says nothing but the class
 * ("a photo of landbird.", or a word the text tower maps onto a class) also scores high: the
 * misclassified images look like the other class. So the prompt feature t̂_w is split into its
 * part in the span of the class prompts (the zero-shot class features) and the rest r_w (not
 * renormalised); class_sim = the cosine of t̂_w with that span. Candidates with class_sim >=
 * --class-filter (default 0.97) or that name a class (contain a class name as a word, or are
 * contained in one) are filtered: kept in the list, marked, proposing nothing (shown, not
 * hidden). class_scores are B2T's score of r_w: the part of B2T's score of t̂_w (kept as
 * b2t_class_scores) that what the word says besides the classes explains.
 *
 * Separation: how strongly r_w's similarity separates the classes on the training split,
 * Cohen's d of the class where it is highest (assoc_class) against the others. A spurious
 * attribute goes with the class in training; a colour or species that happens to be commoner
 * among a few errors does not. Ranking: score = max_c class_scores[c] x separation.
 * (On the toy world, B2T's raw score ranks the toy CLIP's place words among unknown words
 * whose prompts collapse onto a class prompt, and the residual alone ranks species and
 * colours first when a class has a handful of errors; the product ranks the place words first.)
 *
 * Proposed attribute: for every class in order, the best unfiltered candidate of that class
 * (by class_scores[c] x separation, positive, not yet taken) is one value; values are ordered
 * by the class on whose training images the word is most similar (value k goes with class k,
 * as Waterbirds' land goes with landbirds), so a = 0, 1, ... reads like the benchmarks'
 * attributes. At least two values are needed. attr_prompts = the template filled with each
 * value's word. */
#ifndef CD_DISCOVER_H
#define CD_DISCOVER_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "data/datasets/feature_cache.h"
#include "models/clip/clip.h"
#include "models/discover/discover_words.h"
#include "models/run/run.h"

typedef enum { CD_DISCOVER_ZEROSHOT = 0, CD_DISCOVER_ERM = 1 } cd_discover_errors;

struct cd_discover_result;

typedef struct {
  const char *words;          /* candidate file, one per line ('#' comments); NULL: shipped */
  const char *attr_template;  /* default "a photo of {}." */
  cd_discover_errors errors;  /* default zeroshot */
  int split;                  /* 0 train (default), 1 val */
  double class_filter;        /* class_sim threshold; NaN: 0.97 */
  int top;                    /* candidates per class in the table and report (default 5) */
  int thumbs;                 /* thumbnails per candidate in the report (default 6) */
  int erm_epochs;             /* quick ERM: epochs of the linear probe (default 10) */
  /* Draws the page beside discover.json ("discover.json" -> "discover.html"); NULL: none.
   * The pages are the commands' (tools/report/discover_report.h), not the library's. */
  int (*write_page)(const char *path, const struct cd_discover_result *r, const cd_feature_cache *c,
                    cd_error *e);
} cd_discover_opts;

void cd_discover_opts_default(cd_discover_opts *o);
int cd_discover_errors_parse(const char *s); /* "zeroshot" | "erm"; -1 otherwise */
const char *cd_discover_errors_name(cd_discover_errors k);

typedef struct {
  char *word;
  int line;                   /* line of the word file */
  int index;                  /* position in the word file's order */
  double score;               /* max_c class_score[c] x separation (the ranking) */
  int best_class;
  double *class_score;        /* [C] B2T's score of the prompt's residual (below); NaN for a
                               * class without both wrong and right images */
  double *b2t_score;          /* [C] B2T's score of the prompt itself (no residual) */
  double residual;            /* norm of the prompt feature outside the class prompts' span */
  double separation;          /* Cohen's d on the training split (see above) */
  int assoc_class;            /* class with the highest mean training similarity */
  double class_sim;           /* cosine of t̂_w with the span of the class prompts */
  int class_sim_cls;          /* the class prompt closest to t̂_w */
  int filtered;               /* 1: describes a class (class_sim >= threshold or names it) */
  int names_class;            /* 1: contains a class name as a word */
} cd_discover_cand;

typedef struct cd_discover_result {
  int C, n_cand;
  char **classnames;          /* [C] owned copies */
  cd_discover_cand *cand;     /* ranked best first (filtered ones too, marked) */
  int64_t *n_wrong, *n_right; /* [C] on the split */
  double threshold;           /* class filter threshold used */
  int split;
  cd_discover_errors errors;
  char *attr_template, *words_path;
  int n_values;
  int *value_cand;            /* [n_values] index into cand */
  int *value_class;           /* [n_values] class whose errors found the value */
  char **attr_prompts;        /* [n_values] */
  int *top_images;            /* [C * top * thumbs] cache rows, -1 padded: per class, its top
                               * unfiltered candidates' highest-similarity images of the class */
  int8_t *top_wrong;          /* [C * top * thumbs] 1: that image is misclassified */
  int top, thumbs;
  int *top_cand;              /* [C * top] index into cand, -1 padded */
  char cache_fingerprint[40], model_checksum[80];
  char cache_dir[4096], model_path[4096], image_root[4096];
} cd_discover_result;

void cd_discover_result_free(cd_discover_result *r);

/* Discovery on loaded inputs (cache, model with tokenizer, class names and templates). log
 * receives warnings (a class without errors) and may be NULL. Fewer than two proposed values
 * is not an error here (the scores stand): see cd_discover_check_values. */
int cd_discover(const cd_run_inputs *in, const char *cache_dir, const cd_discover_opts *o,
                cd_discover_result *r, FILE *log, cd_error *e);

/* 0 when discovery proposed at least two attribute values; else a message saying so. */
int cd_discover_check_values(const cd_discover_result *r, cd_error *e);

/* discover.json (atomic): {"version", "cache", "cache_fingerprint", "model", "model_checksum",
 * "words", "attr_template", "errors", "split", "classnames", "wrong", "right",
 * "class_filter": {...}, "candidates": [{"rank", "word", "score", "class_scores",
 * "best_class", "separation", "assoc_class", "class_sim", "filtered", ...}...],
 * "attr_words", "attr_prompts"} */
int cd_discover_write_json(const char *path, const cd_discover_result *r, cd_error *e);
/* The table: counts per class, the filter, the top candidates with their scores, the
 * proposed prompts. */
void cd_discover_print(FILE *fp, const cd_discover_result *r, int rows);
/* "discover.json" -> "discover.html" (buf cap bytes). */
int cd_discover_html_path(const char *json_path, char *buf, size_t cap);

/* Reads the attribute prompts of a discover.json, refusing one made on another cache (by
 * fingerprint) or with another model (by checksum), naming both values. prompts [n] malloc'd. */
int cd_discover_load_prompts(const char *path, const cd_feature_cache *c, const char *cache_dir,
                             const cd_clip *m, char ***prompts, int *n, cd_error *e);

/* The whole command: load cache and model (c's cache_dir, model, vocab, classnames,
 * templates), discover, write out_json and its page (o->write_page), print the table to log. */
int cd_discover_command(const cd_run_config *c, const cd_discover_opts *o, const char *out_json, FILE *log,
                        cd_error *e);

/* `run` with discovered attribute prompts: opts non-NULL (`--attr auto`) discovers on the
 * run's cache and model, writing RUN_DIR/discover.json and its page (opts->write_page) and
 * printing the table; attr_from (`--attr-from FILE`) reuses a discovery, refused when it was made on another
 * cache or with another model. Then cd_run as usual. */
int cd_discover_run(const cd_run_config *c, const cd_discover_opts *opts, const char *attr_from, FILE *log,
                    cd_error *e);

#endif
