/* discover.json, the printed table, and reading a discovery back for `run --attr-from`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/json_write.h"
#include "models/discover/discover.h"
#include "models/embed/embed_dataset.h"

static void write_class_scores(cd_jw *w, const char *key, const cd_discover_result *r, const double *v) {
  cd_jw_key(w, key);
  cd_jw_obj(w);
  for (int c = 0; c < r->C; c++) cd_jw_knum(w, r->classnames[c], v[c]);
  cd_jw_end(w);
}

static void write_candidate(cd_jw *w, const cd_discover_result *r, int k) {
  const cd_discover_cand *cd = &r->cand[k];
  cd_jw_obj(w);
  cd_jw_kint(w, "rank", k + 1);
  cd_jw_kstr(w, "word", cd->word);
  cd_jw_knum(w, "score", cd->score);
  cd_jw_kstr_or_null(w, "best_class", cd->best_class >= 0 ? r->classnames[cd->best_class] : NULL);
  write_class_scores(w, "class_scores", r, cd->class_score);
  write_class_scores(w, "b2t_class_scores", r, cd->b2t_score);
  cd_jw_knum(w, "residual", cd->residual);
  cd_jw_knum(w, "separation", cd->separation);
  cd_jw_kstr_or_null(w, "assoc_class", cd->assoc_class >= 0 ? r->classnames[cd->assoc_class] : NULL);
  cd_jw_knum(w, "class_sim", cd->class_sim);
  cd_jw_kstr(w, "closest_class", r->classnames[cd->class_sim_cls]);
  cd_jw_kbool(w, "filtered", cd->filtered);
  cd_jw_kbool(w, "names_class", cd->names_class);
  cd_jw_kint(w, "line", cd->line);
  cd_jw_end(w);
}

int cd_discover_write_json(const char *path, const cd_discover_result *r, cd_error *e) {
  cd_atomic_file af;
  cd_jw w;
  if (cd_jw_open(&w, &af, path, e)) return -1;
  cd_jw_obj_block(&w);
  cd_jw_kint(&w, "version", 1);
  cd_jw_kstr(&w, "cache", r->cache_dir);
  cd_jw_kstr(&w, "cache_fingerprint", r->cache_fingerprint);
  cd_jw_kstr(&w, "model", r->model_path);
  cd_jw_kstr(&w, "model_checksum", r->model_checksum);
  cd_jw_kstr(&w, "words", r->words_path);
  cd_jw_kstr(&w, "attr_template", r->attr_template);
  cd_jw_kstr(&w, "errors", cd_discover_errors_name(r->errors));
  cd_jw_kstr(&w, "split", r->split ? "val" : "train");
  cd_jw_key(&w, "classnames");
  cd_jw_strs(&w, (const char *const *)r->classnames, r->C);
  cd_jw_key(&w, "wrong");
  cd_jw_ints(&w, r->n_wrong, r->C);
  cd_jw_key(&w, "right");
  cd_jw_ints(&w, r->n_right, r->C);
  int n_filtered = 0;
  for (int k = 0; k < r->n_cand; k++) n_filtered += r->cand[k].filtered;
  cd_jw_key(&w, "class_filter");
  cd_jw_obj(&w);
  cd_jw_kstr(&w, "rule", "class_sim (cosine of the prompt with the span of the class prompts) >= threshold, or the word "
                         "names a class");
  cd_jw_knum(&w, "threshold", r->threshold);
  cd_jw_kint(&w, "filtered", n_filtered);
  cd_jw_end(&w);
  cd_jw_key(&w, "attr_words");
  cd_jw_arr(&w);
  for (int v = 0; v < r->n_values; v++) cd_jw_str(&w, r->cand[r->value_cand[v]].word);
  cd_jw_end(&w);
  cd_jw_key(&w, "attr_value_from_class");
  cd_jw_arr(&w);
  for (int v = 0; v < r->n_values; v++) cd_jw_str(&w, r->classnames[r->value_class[v]]);
  cd_jw_end(&w);
  cd_jw_key(&w, "attr_prompts");
  cd_jw_strs(&w, (const char *const *)r->attr_prompts, r->n_values);
  cd_jw_key(&w, "candidates");
  cd_jw_arr_block(&w);
  for (int k = 0; k < r->n_cand; k++) write_candidate(&w, r, k);
  cd_jw_end(&w);
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

static void print_row(FILE *fp, const cd_discover_result *r, int k) {
  const cd_discover_cand *cd = &r->cand[k];
  fprintf(fp, "%4d  %-22.22s %8.3f", k + 1, cd->word, cd->score);
  for (int c = 0; c < r->C && c < 4; c++) fprintf(fp, " %10.3f", cd->class_score[c]);
  fprintf(fp, " %7.2f %-12.12s %6.3f", cd->separation, cd->assoc_class >= 0 ? r->classnames[cd->assoc_class] : "-",
          cd->class_sim);
  if (cd->names_class) fprintf(fp, "  filtered: names a class");
  else if (cd->filtered) fprintf(fp, "  filtered: close to '%s'", r->classnames[cd->class_sim_cls]);
  fputc('\n', fp);
}

void cd_discover_print(FILE *fp, const cd_discover_result *r, int rows) {
  const char *split = r->split ? "val" : "train";
  fprintf(fp, "errors: %s predictions on the %s split\n", cd_discover_errors_name(r->errors), split);
  for (int c = 0; c < r->C; c++)
    fprintf(fp, "  %-16s %6lld misclassified, %6lld correct\n", r->classnames[c], (long long)r->n_wrong[c],
            (long long)r->n_right[c]);
  int n_filtered = 0;
  for (int k = 0; k < r->n_cand; k++) n_filtered += r->cand[k].filtered;
  fprintf(fp, "class filter: %d of %d candidates describe a class (their prompt \"%s\" lies within cosine %.3f of "
              "the class prompts' span, clsim, or the word names a class); they are listed, marked, and propose nothing\n",
          n_filtered, r->n_cand, r->attr_template, r->threshold);
  fprintf(fp, "per class: 100 x (mean similarity on misclassified - on correct images), B2T's CLIP score, of the prompt's "
              "part outside the class prompts' span; sep: Cohen's d of the classes on train (assoc: the class it goes "
              "with); score = best class score x sep\n");
  fprintf(fp, "rank  word                      score");
  for (int c = 0; c < r->C && c < 4; c++) fprintf(fp, " %10.10s", r->classnames[c]);
  fprintf(fp, "     sep assoc         clsim\n");
  int shown = 0, unfiltered = 0;
  for (int k = 0; k < r->n_cand && (shown < rows || unfiltered < rows); k++) {
    if (shown >= rows && r->cand[k].filtered) continue; /* past the first rows: unfiltered only */
    print_row(fp, r, k);
    shown++, unfiltered += !r->cand[k].filtered;
  }
  fprintf(fp, "proposed attribute (value k goes with class k on the training split):\n");
  for (int v = 0; v < r->n_values; v++)
    fprintf(fp, "  a=%d  \"%s\"  (from the errors of class '%s', class score %.3f)\n", v, r->attr_prompts[v],
            r->classnames[r->value_class[v]], r->cand[r->value_cand[v]].class_score[r->value_class[v]]);
}

int cd_discover_html_path(const char *json_path, char *buf, size_t cap) {
  size_t n = strlen(json_path);
  if (n >= 5 && !strcmp(json_path + n - 5, ".json")) n -= 5;
  return snprintf(buf, cap, "%.*s.html", (int)n, json_path) >= (int)cap ? -1 : 0;
}

int cd_discover_load_prompts(const char *path, const cd_feature_cache *c, const char *cache_dir, const cd_clip *m,
                             char ***prompts, int *n, cd_error *e) {
  *prompts = NULL, *n = 0;
  cd_json_doc *doc = cd_json_parse_file(path, (size_t)1 << 30, e);
  if (!doc) return -1;
  const cd_json *root = cd_json_root(doc), *ap = cd_json_get(root, "attr_prompts");
  const char *fp = cd_json_get_str(root, "cache_fingerprint", NULL), *sum = cd_json_get_str(root, "model_checksum", NULL);
  char have_fp[40], have_sum[80];
  cd_discover_cache_fingerprint(c, have_fp);
  cd_model_checksum(m, have_sum);
  int rc = 0;
  if (!fp || !sum || !ap || ap->type != CD_JSON_ARRAY)
    rc = cd_fail(e, "%s: not a discovery file (needs cache_fingerprint, model_checksum and attr_prompts; written by "
                    "clipdebias discover)", path);
  else if (strcmp(fp, have_fp))
    rc = cd_fail(e, "%s was discovered on another cache: %s (%s), not %s (%s)", path,
                 cd_json_get_str(root, "cache", "?"), fp, cache_dir, have_fp);
  else if (strcmp(sum, have_sum))
    rc = cd_fail(e, "%s was discovered with another model: %s (%s), not %s (%s)", path,
                 cd_json_get_str(root, "model", "?"), sum, m->path, have_sum);
  else rc = cd_json_field_strs(root, "attr_prompts", 2, prompts, n, path, e);
  cd_json_free(doc);
  return rc;
}
