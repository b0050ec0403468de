/* Random numbers for the toy world. Every image draws from its own generator, seeded from
 * (world seed, image index), so an image's pixels do not depend on which thread renders it
 * or in which order: the same seed gives the same bytes on any thread count. */
#ifndef CD_TW_RNG_H
#define CD_TW_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t state;
} cd_tw_rng;

/* A well-mixed 64-bit hash of two values (splitmix64 finaliser). */
uint64_t cd_tw_hash(uint64_t a, uint64_t b);
/* Generator for stream `stream` of world `seed`. */
void cd_tw_rng_init(cd_tw_rng *r, uint64_t seed, uint64_t stream);
uint64_t cd_tw_next(cd_tw_rng *r);
double cd_tw_uniform(cd_tw_rng *r);                  /* [0, 1) */
double cd_tw_range(cd_tw_rng *r, double lo, double hi); /* [lo, hi) */
int cd_tw_below(cd_tw_rng *r, int n);                /* 0..n-1 */
int cd_tw_chance(cd_tw_rng *r, double p);            /* 1 with probability p */
double cd_tw_normal(cd_tw_rng *r);                   /* mean 0, variance 1, bell-shaped */
/* Fisher-Yates shuffle of n ints. */
void cd_tw_shuffle(cd_tw_rng *r, int *v, int n);

#endif
