/* Unicode properties used by the CLIP tokenizer, generated from Python's unicodedata and
 * str methods by tools/gen/gen_unicode_tables.py (see there for the exact definitions). */
#ifndef CD_UNICODE_TABLES_H
#define CD_UNICODE_TABLES_H

#include <stdint.h>

int cd_uni_is_space_py(uint32_t cp); /* str.isspace(): what str.strip() removes */
int cd_uni_is_space_re(uint32_t cp); /* the regex module's \s */
int cd_uni_is_letter(uint32_t cp);   /* \p{L} */
int cd_uni_is_number(uint32_t cp);   /* \p{N} */
int cd_uni_is_dropped(uint32_t cp);  /* matched by no alternative of the IGNORECASE pattern */
/* 0 = other, 1 = cased (not case-ignorable), 2 = case-ignorable (CPython's Final_Sigma). */
int cd_uni_sigma_class(uint32_t cp);
/* str.lower() of one code point (final sigma aside): writes 1..3 code points, returns count. */
int cd_uni_lower(uint32_t cp, uint32_t out[3]);
/* The ASCII letter an IGNORECASE match treats cp as (lower-cased), or cp itself. */
uint32_t cd_uni_fold_ascii(uint32_t cp);

#endif
