/* clipdebias.h - the public API of the clipdebias engine: load a CLIP model, embed texts,
 * images and whole data sets (feature caches), zero-shot and pseudo-labels on a cache, prompt
 * tuning and the debiasing methods over seeds (run folders), and their group metrics.
 *
 * Link against the clipdebias_engine static library (CMake target) and include this header.
 * Every function that can fail returns 0 on success or -1, writing a one-line message that
 * names the file or input and the problem into err[0..errcap) (err may be NULL; messages fit
 * in 1024 bytes). The commands are written on this API, so a message about a setting names it
 * as the command's flag does (--classnames, --attr-prompt, --model).
 * The caller owns every buffer it passes in; the model owns nothing of the caller's.
 *
 *   char err[1024];
 *   clipdebias_model *m = clipdebias_load("ViT-B-32/", NULL, err, sizeof err);
 *   float feat[2 * 512];
 *   const char *texts[2] = {"a photo of a bird on water", "a photo of a bird on land"};
 *   clipdebias_encode_texts(m, texts, 2, 1, feat, err, sizeof err);
 *   clipdebias_free(m);
 *
 * Handles (clipdebias_model, clipdebias_dataset, clipdebias_cache, clipdebias_metrics) are
 * opaque; each has its own free/close, which accepts NULL. Arrays returned through pointers are malloc'd: the caller free()s them.
 * Splits are numbered 0 train, 1 val, 2 test; the group of a row is g = n_attr * y + a.
 */
#ifndef CLIPDEBIAS_H
#define CLIPDEBIAS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clipdebias_model clipdebias_model;

/* path: a Hugging Face CLIPModel folder, an OpenCLIP folder, or one .safetensors file in
 * OpenAI naming. vocab: NULL (look beside the weights), bpe_simple_vocab_16e6.txt.gz, or a
 * folder with vocab.json + merges.txt. */
clipdebias_model *clipdebias_load(const char *path, const char *vocab, char *err, size_t errcap);
void clipdebias_free(clipdebias_model *m);

int clipdebias_embed_dim(const clipdebias_model *m);
int clipdebias_image_size(const clipdebias_model *m);
int clipdebias_context_length(const clipdebias_model *m);

/* Upstream clip.tokenize of one text into out[context_length]. */
int clipdebias_tokenize(const clipdebias_model *m, const char *text, int truncate, int32_t *out,
                        char *err, size_t errcap);
/* tokens [n, context_length] -> features [n, embed_dim]; normalize = L2-normalise rows. */
int clipdebias_encode_tokens(const clipdebias_model *m, const int32_t *tokens, int n,
                             int normalize, float *features, char *err, size_t errcap);
int clipdebias_encode_texts(const clipdebias_model *m, const char *const *texts, int n,
                            int normalize, float *features, char *err, size_t errcap);
/* pixels [n, 3, S, S], preprocessed as upstream (S = clipdebias_image_size). */
int clipdebias_encode_pixels(const clipdebias_model *m, const float *pixels, int n,
                             int normalize, float *features, char *err, size_t errcap);
/* Decodes (JPEG/PNG/PPM) and preprocesses n image files exactly as upstream into pixels
 * [n, 3, size, size] (Resize(size, bicubic), CenterCrop(size), RGB, CLIP mean/std), in
 * parallel; the first unreadable file fails the call, named. No model needed. */
int clipdebias_preprocess_image_files(const char *const *paths, int n, int size, float *pixels, char *err,
                                      size_t errcap);
/* Decodes (JPEG/PNG/PPM), preprocesses exactly as upstream and encodes n image files. */
int clipdebias_encode_image_files(const clipdebias_model *m, const char *const *paths, int n,
                                  int normalize, float *features, char *err, size_t errcap);

/* ---- loading, threads, files ---- */

enum { CLIPDEBIAS_IMAGE = 1, CLIPDEBIAS_TEXT = 2 }; /* towers */

typedef struct {
  const char *vocab;      /* NULL: look beside the weights (as clipdebias_load) */
  const char *precision;  /* NULL or "fp32" | "bf16" | "bf16x3" | "fp16": weight products */
  int towers;             /* CLIPDEBIAS_IMAGE | CLIPDEBIAS_TEXT; 0 = both */
  int need_tokenizer;     /* 1: fail when no tokenizer is found */
  int trainable;          /* 1: keep the text tower trainable (prompt tuning); 0: packed for
                           * inference only, as clipdebias_load */
} clipdebias_load_options;

/* clipdebias_load with options (o NULL: the defaults above, all zero). */
clipdebias_model *clipdebias_load_with(const char *path, const clipdebias_load_options *o, char *err,
                                       size_t errcap);
/* The path the model was loaded from. */
const char *clipdebias_model_path(const clipdebias_model *m);

/* Threads of the engine's parallel loops (0 = one per core). Results do not depend on it. */
int clipdebias_set_threads(int n, char *err, size_t errcap);
int clipdebias_threads(void);
/* The kernel level in use on this CPU: "ref", "avx2", "avx512", "neon", ... */
const char *clipdebias_isa(void);

/* Clocks for timing calls: monotonic wall seconds, and CPU seconds of the process (all its
 * threads); only differences mean anything. */
double clipdebias_seconds(void);
double clipdebias_cpu_seconds(void);

/* Reads a float32 (or float16, widened) .npy of ndim dimensions: *data [prod shape] malloc'd,
 * shape[0..ndim) filled. */
int clipdebias_read_npy(const char *path, int ndim, int64_t *shape, float **data, char *err, size_t errcap);
/* Writes float32 [rows, cols] or int32 [rows] .npy atomically (temp + rename). */
int clipdebias_write_npy(const char *path, const float *data, int rows, int cols, char *err, size_t errcap);
int clipdebias_write_npy_i32(const char *path, const int32_t *data, int rows, char *err, size_t errcap);

/* ---- data sets and feature caches ---- */

typedef struct {
  /* as the dataset / embed commands' flags of the same names; all optional */
  const char *csv, *target, *spurious, *classnames, *attr_names, *split_csv;
  uint64_t seed;          /* metashift's own split (0: 42) */
  int strict;             /* 1: the data sanity warnings are errors */
} clipdebias_dataset_options;

typedef struct clipdebias_dataset clipdebias_dataset;

/* The data set of kind ("waterbirds", "celeba", "metashift", "csv") found under root, read
 * and checked (o may be NULL). */
clipdebias_dataset *clipdebias_dataset_open(const char *kind, const char *root, const clipdebias_dataset_options *o,
                                            char *err, size_t errcap);
void clipdebias_dataset_close(clipdebias_dataset *d);
int clipdebias_dataset_images(const clipdebias_dataset *d);
/* The files used, the split x group table and the warnings, as `clipdebias dataset` prints. */
void clipdebias_dataset_print(const clipdebias_dataset *d, FILE *fp);

typedef struct {
  const char *splits;     /* "train,val,test" or any subset; NULL: all three */
  int shard_index, shard_count; /* 0/0: everything */
  int batch;              /* images per forward pass; 0: 32 */
  int float16;            /* 1: store features as float16 */
  int skip_bad;           /* 1: leave unreadable images out (listed in cache.json) */
  double checkpoint_every; /* seconds between progress saves (the command's default: 60);
                           * 0: none, and an interrupted run starts over */
  int progress;           /* 1: progress lines on stderr */
} clipdebias_embed_options;

/* Refuses splits that are not a list of train, val, test, and a negative checkpoint_every. */
int clipdebias_embed_options_check(const clipdebias_embed_options *o, char *err, size_t errcap);

typedef struct {
  int reused;             /* 1: a matching complete cache was already there */
  int rows, skipped;      /* rows written, images left out as unreadable */
  int total, begin, end;  /* selected images, and this shard's slice of them */
  int resumed_from;       /* images taken over from an interrupted run */
  int repaired;           /* 1: a damaged matching cache was embedded again */
  int upgraded;           /* 1: a matching cache got its checksums (nothing re-embedded) */
} clipdebias_embed_report;

/* What `clipdebias embed` does: the data set embedded with the model's image tower into the
 * cache folder cache_dir (features.npy, index.csv, cache.json). A matching complete cache
 * returns at once, an interrupted one resumes, one made differently is refused. o and report
 * may be NULL. */
int clipdebias_embed_dataset(const clipdebias_model *m, const clipdebias_dataset *d, const char *cache_dir,
                             const clipdebias_embed_options *o, clipdebias_embed_report *report, char *err,
                             size_t errcap);

/* Joins the caches dirs[0..n) that shard_index/shard_count embeddings of one data set wrote
 * (any order) into out_dir, after checking they are the complete set of one embedding (same
 * model, preprocessing, data set, options and splits; every shard once). The result equals
 * an unsharded embedding. */
int clipdebias_cache_merge(const char *out_dir, const char *const *dirs, int n, char *err, size_t errcap);

typedef struct clipdebias_cache clipdebias_cache;

/* Opens a cache folder (verified; features stay memory-mapped until close). */
clipdebias_cache *clipdebias_cache_open(const char *dir, char *err, size_t errcap);
void clipdebias_cache_close(clipdebias_cache *c);
int clipdebias_cache_rows(const clipdebias_cache *c);
int clipdebias_cache_dims(const clipdebias_cache *c);
int clipdebias_cache_classes(const clipdebias_cache *c);
/* Attribute values (0 when the attribute is unknown) and groups (classes x attributes, or
 * classes when it is unknown). */
int clipdebias_cache_attributes(const clipdebias_cache *c);
int clipdebias_cache_groups(const clipdebias_cache *c);
/* Rows of split s (0 train, 1 val, 2 test). */
int clipdebias_cache_split_rows(const clipdebias_cache *c, int split);
const char *clipdebias_cache_dataset(const clipdebias_cache *c);
const char *clipdebias_cache_class_name(const clipdebias_cache *c, int k);
const char *clipdebias_cache_attribute_name(const clipdebias_cache *c, int k);
/* Copies y, a (-1 where unknown) and split of every row into the [rows] arrays given
 * (any may be NULL). */
void clipdebias_cache_labels(const clipdebias_cache *c, int32_t *y, int32_t *a, int32_t *split);
/* Rows [first, first + n) as float32 into out [n, dims]; normalize = L2-normalise them. */
int clipdebias_cache_features(const clipdebias_cache *c, int first, int n, int normalize, float *out,
                              char *err, size_t errcap);
/* The class names the prompts use: list (comma-separated, one per class of the cache, as the
 * commands' --classnames) or, list NULL, the cache's with '_' read as ' '. *names [*n]
 * malloc'd: free with clipdebias_free_strings. */
int clipdebias_cache_classnames(const clipdebias_cache *c, const char *list, char ***names, int *n, char *err,
                                size_t errcap);
void clipdebias_free_strings(char **s, int n);
/* Fails, naming both (as the commands do), when the cache was embedded with other weights or
 * to another width. */
int clipdebias_cache_check_model(const clipdebias_cache *c, const clipdebias_model *m, char *err,
                                 size_t errcap);

/* ---- zero-shot, pseudo-labels, saved heads ---- */

/* Zero-shot CLIP on every cache row: class features from the templates ({} = class name;
 * n_templates 0: "a photo of a {}."; several are averaged), logits = logit_scale x cosine.
 * classnames NULL: the cache's with '_' read as ' '. pred [rows]; logits [rows, classes] or
 * NULL. The model needs its text tower and tokenizer. */
int clipdebias_zeroshot(const clipdebias_model *m, const clipdebias_cache *c, const char *const *classnames,
                        const char *const *templates, int n_templates, int32_t *pred, float *logits,
                        char *err, size_t errcap);
/* The attribute prompts of pseudo-labels: given[0..n_given) (one per attribute value, in
 * order, as the commands' --attr-prompt) or, n_given 0, the data set's defaults (waterbirds,
 * celeba, metashift; other data sets fail naming their attribute values). *prompts points
 * into given or static storage: nothing to free. */
int clipdebias_cache_attr_prompts(const clipdebias_cache *c, const char *const *given, int n_given,
                                  const char *const **prompts, int *n, char *err, size_t errcap);
/* Pseudo spurious attribute of every row: argmax over the attribute prompts (one per value,
 * in order) of the cosine to the image feature. n_prompts 0: the data set's defaults.
 * attr [rows]. */
int clipdebias_pseudolabels(const clipdebias_model *m, const clipdebias_cache *c, const char *const *prompts,
                            int n_prompts, int32_t *attr, char *err, size_t errcap);
/* What `clipdebias pseudolabel` writes: attr [rows] as an int32 .npy at path, and beside it
 * (path with .json for .npy) the prompts, the attribute names and the accuracy against the
 * true attribute on the train and val rows (overall, per class, confusion). summary (NULL:
 * none) gets the rows per attribute value and that accuracy, as the command prints them. */
int clipdebias_pseudolabels_save(const clipdebias_cache *c, const int32_t *attr, const char *const *prompts,
                                 int n_prompts, const char *path, FILE *summary, char *err, size_t errcap);
/* Predictions of a context saved by tune or run (CTX.npy with its CTX.json sidecar; a
 * linear probe too) on every row; refused when made with other weights or for other class
 * names (classnames NULL: the cache's, '_' read as ' '). A sidecar from before the weights
 * checksum was recorded is accepted with one warning line on warn (NULL: silent).
 * *head_kind (when non-NULL) = "prompt" or "linear". A prompt context needs the model loaded
 * with trainable = 1 (as run and eval load it; its zero-shot predictions are then the run's
 * bit for bit). */
int clipdebias_predict_saved(const clipdebias_model *m, const clipdebias_cache *c, const char *ctx_path,
                             const char *const *classnames, FILE *warn, int32_t *pred, const char **head_kind,
                             char *err, size_t errcap);

/* ---- tuning and runs ---- */

/* What `clipdebias run` does, into run_dir: the methods over the seeds on the cache, each
 * pair in run_dir/<method>/seed<k>/, results.json, metrics.jsonl (rerunning resumes). The
 * page report.html is drawn from these files by `clipdebias report RUN_DIR` (the command
 * `run` does that itself at the end). options[0..n): "name=value" with the run command's option names without "--":
 * methods, seeds, select, head, classnames, template, attr-prompt, n-ctx, ctx-init, csc,
 * position, optim, lr, momentum, weight-decay, epochs, batch, warmup-epochs, warmup-lr, eta,
 * ema, dpt-update, gdro-eta, gdro-adj, dims, reduce, reduce-seed, lockstep, vocab (template
 * and attr-prompt may repeat). Progress and the table go to log (NULL: quiet). */
int clipdebias_run(const char *model_path, const char *cache_dir, const char *run_dir,
                   const char *const *options, int n_options, FILE *log, char *err, size_t errcap);
/* CoOp prompt tuning of one (method, seed) pair: method "erm" (uniform weights), "dpt"
 * (pseudo-group weights), "oracle" (true-group weights) or "gdro" (GroupDRO); options as
 * clipdebias_run. Writes run_dir as a one-pair run; ctx_path[ctxcap] receives the selected
 * context (for clipdebias_predict_saved). */
int clipdebias_tune(const char *model_path, const char *cache_dir, const char *run_dir, const char *method,
                    int seed, const char *const *options, int n_options, FILE *log, char *ctx_path,
                    size_t ctxcap, char *err, size_t errcap);

/* ---- group metrics ---- */

typedef struct clipdebias_metrics clipdebias_metrics;

/* The group metrics of predictions pred [rows] on the cache's true groups, per split. */
clipdebias_metrics *clipdebias_evaluate(const clipdebias_cache *c, const int32_t *pred, char *err, size_t errcap);
/* Reads the metrics a command wrote: a run folder (its results.json: one entry per method,
 * means over seeds), a zeroshot/eval folder (its metrics.json: one entry) or either file. */
clipdebias_metrics *clipdebias_metrics_read(const char *path, char *err, size_t errcap);
void clipdebias_metrics_free(clipdebias_metrics *r);
/* Entries (methods of a run; 1 otherwise), their names and the group count. */
int clipdebias_metrics_count(const clipdebias_metrics *r);
const char *clipdebias_metrics_name(const clipdebias_metrics *r, int entry);
int clipdebias_metrics_groups(const clipdebias_metrics *r);
/* Fractions in [0, 1] of one entry on split s: average, worst-group and gap (best - worst
 * group); group_acc [groups] and group_n [groups] when non-NULL (NaN for an empty group).
 * -1 when the entry has no such split (a diverged method, a split not embedded). */
int clipdebias_metrics_split(const clipdebias_metrics *r, int entry, int split, double *avg, double *worst,
                             double *gap, double *group_acc, int64_t *group_n);
/* metrics.json as zeroshot and eval write it (what: the "what" field). c: the cache evaluated. */
int clipdebias_metrics_write(const clipdebias_metrics *r, const clipdebias_cache *c, const char *path,
                             const char *what, char *err, size_t errcap);
/* The summary zeroshot and eval print: one line per split (rows, avg, adjusted, worst, gap). */
void clipdebias_metrics_print(const clipdebias_metrics *r, const clipdebias_cache *c, FILE *fp);

#ifdef __cplusplus
}
#endif

#endif
