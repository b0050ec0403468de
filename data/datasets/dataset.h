/* Image data sets with a known spurious attribute, read directly in the layouts users have
 * on disk (no "generate the metadata first" step): Waterbirds, CelebA, MetaShift and any CSV.
 *
 * One record per image: filename (relative to d->root, where the images are), y (class),
 * a (spurious attribute, -1 when unknown), split (0 train, 1 val, 2 test). The group of a
 * record is g = n_attr * y + a. Records keep the order of the metadata file; a record's id
 * is its position in that order.
 *
 * Loading finds the files (printing where), joins and validates them, checks that every
 * listed image exists (reporting the count and the first five missing, then stopping),
 * refuses groups that are empty in every split, and compares the counts with the official
 * release where they are known (a difference is a warning, not an error). Nothing is
 * printed during loading: notes and warnings are collected in the cd_dataset, and
 * cd_dataset_print shows them with the split x group table. */
#ifndef CD_DATASET_H
#define CD_DATASET_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

typedef struct {
  const char *name;        /* "waterbirds" | "celeba" | "metashift" | "csv" */
  const char *root;        /* the folder the user points at */
  const char *csv;         /* metadata file to use instead of searching (csv: required) */
  const char *target;      /* celeba: class attribute (default Blond_Hair) */
  const char *spurious;    /* celeba: spurious attribute (default Male) */
  const char *classnames;  /* csv: "name0,name1,..." (default class0, class1, ...) */
  const char *attr_names;  /* csv: "name0,name1,..." (default attr0, attr1, ...) */
  const char *split_csv;   /* metashift folder layout: where the tool's own split is kept */
  uint64_t seed;           /* metashift folder layout: split seed (0 = the default 42) */
  int strict;              /* 1: the data sanity warnings (duplicated rows, a file with two
                            * labels or in two splits, no validation split) are errors */
} cd_dataset_opts;

typedef struct {
  char name[32];
  char root[4096];         /* absolute folder the record filenames are relative to */
  char metadata[4096];     /* the annotation file the records came from */
  int n;
  char **filenames;        /* [n] owned */
  int32_t *y, *a, *split;  /* [n] owned */
  int n_cls, n_attr;
  char **classnames;       /* [n_cls] owned */
  char **attr_names;       /* [n_attr] owned */
  int official_split;      /* 0 when the split was made here (MetaShift folder layout) */
  char *options_json;      /* JSON object of the options that change the records */
  char *notes;             /* "what was found where" lines, owned */
  char *warnings;          /* warning lines, owned (NULL when none) */
  const long *official;    /* [3][4] official split x group counts, or NULL */
  long official_total;     /* 0 when unknown */
  int cap;                 /* allocated records */
} cd_dataset;

int cd_dataset_load(const cd_dataset_opts *o, cd_dataset *d, cd_error *e);
void cd_dataset_free(cd_dataset *d);

/* The files used, the split x group table, and the warnings. */
void cd_dataset_print(FILE *fp, const cd_dataset *d);

/* Names: "train", "val", "test". */
const char *cd_split_name(int split);
/* Parses "train,val,test" (any subset, any order) into want[3]; -1 with message. */
int cd_parse_splits(const char *s, int want[3], cd_error *e);

#endif
