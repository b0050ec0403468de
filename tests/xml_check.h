/* Strict checks of a generated page, for the tests (no dependencies, stb style: define
 * CD_XML_CHECK_IMPLEMENTATION in the one file that includes it for the code).
 *
 * cd_xml_check: XML 1.0 well-formedness as a non-validating parser sees it: valid UTF-8 of
 * allowed characters, one root element, every tag closed and nested, attribute values
 * quoted, no attribute twice in a tag, '<' never in a value, '&' only in the five predefined
 * entity references or a character reference to an allowed character, comments without
 * "--", no "]]>" in text, a DOCTYPE without an internal subset (so no other entity exists).
 *
 * cd_page_check_offline: nothing in the page points outside it: nowhere (not even in text)
 * http:, https:, "//", javascript:, <script>, <link>, <iframe>, <object>, <embed>, <base>,
 * @import; in markup (tags and <style>) every src= is a data: URI, every href= a data: URI
 * or a #fragment, every url( a data: URI or #id.
 *
 * Both return 0, or -1 with "line L, column C: problem" (or the offending text) in msg. */
#ifndef CD_XML_CHECK_H
#define CD_XML_CHECK_H

#include <stddef.h>

int cd_xml_check(const char *doc, size_t len, char *msg, size_t cap);
int cd_page_check_offline(const char *doc, size_t len, char *msg, size_t cap);
/* The same, but href= may also be a link to a page beside it ("cells/a/report.html":
 * relative, letters, digits, . _ - / only, ending in .html, no ".."): navigation a reader
 * clicks, never loaded with the page (sweep.html links its cells' reports). */
int cd_page_check_offline_links(const char *doc, size_t len, char *msg, size_t cap);

#endif

#ifdef CD_XML_CHECK_IMPLEMENTATION

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const unsigned char *s, *p, *end;
  char *msg;
  size_t cap;
} cd_xc;

static int cd_xc_fail(cd_xc *x, const unsigned char *at, const char *fmt, ...) {
  int line = 1, col = 1;
  for (const unsigned char *q = x->s; q < at && q < x->end; q++) {
    if (*q == '\n') line++, col = 1;
    else if ((*q & 0xC0) != 0x80) col++;
  }
  int n = snprintf(x->msg, x->cap, "line %d, column %d: ", line, col);
  if (n < 0 || (size_t)n >= x->cap) return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->msg + n, x->cap - (size_t)n, fmt, ap);
  va_end(ap);
  return -1;
}

/* Decodes one UTF-8 character at p; returns its length, or 0 if malformed or not an XML Char. */
static int cd_xc_char(const cd_xc *x, const unsigned char *p, uint32_t *cp) {
  size_t left = (size_t)(x->end - p);
  uint32_t c;
  int len;
  if (left == 0) return 0;
  if (p[0] < 0x80) c = p[0], len = 1;
  else if ((p[0] & 0xE0) == 0xC0) c = p[0] & 0x1F, len = 2;
  else if ((p[0] & 0xF0) == 0xE0) c = p[0] & 0x0F, len = 3;
  else if ((p[0] & 0xF8) == 0xF0) c = p[0] & 0x07, len = 4;
  else return 0;
  if ((size_t)len > left) return 0;
  for (int i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    c = c << 6 | (p[i] & 0x3F);
  }
  static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < min_for_len[len]) return 0; /* overlong */
  int ok = c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0x10FFFF);
  if (!ok) return 0;
  *cp = c;
  return len;
}

static int cd_xc_name_start(uint32_t c) {
  return c == ':' || c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= 0xC0 && c <= 0xD6) ||
         (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) || (c >= 0x370 && c <= 0x37D) ||
         (c >= 0x37F && c <= 0x1FFF) || (c >= 0x200C && c <= 0x200D) || (c >= 0x2070 && c <= 0x218F) ||
         (c >= 0x2C00 && c <= 0x2FEF) || (c >= 0x3001 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFDCF) ||
         (c >= 0xFDF0 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0xEFFFF);
}

static int cd_xc_name_char(uint32_t c) {
  return cd_xc_name_start(c) || c == '-' || c == '.' || (c >= '0' && c <= '9') || c == 0xB7 ||
         (c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

static int cd_xc_is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void cd_xc_skip_space(cd_xc *x) {
  while (x->p < x->end && cd_xc_is_space(*x->p)) x->p++;
}

static int cd_xc_starts(const cd_xc *x, const char *lit) {
  size_t n = strlen(lit);
  return (size_t)(x->end - x->p) >= n && memcmp(x->p, lit, n) == 0;
}

/* A Name at x->p; sets *len (bytes). */
static int cd_xc_name(cd_xc *x, size_t *len, const char *what) {
  const unsigned char *start = x->p;
  uint32_t c;
  int n = cd_xc_char(x, x->p, &c);
  if (!n || !cd_xc_name_start(c)) return cd_xc_fail(x, x->p, "expected %s name", what);
  x->p += n;
  while (x->p < x->end && (n = cd_xc_char(x, x->p, &c)) && cd_xc_name_char(c)) x->p += n;
  *len = (size_t)(x->p - start);
  return 0;
}

/* &...; at x->p (the '&'). */
static int cd_xc_reference(cd_xc *x) {
  const unsigned char *at = x->p++;
  if (x->p < x->end && *x->p == '#') {
    uint32_t v = 0;
    int hex = 0, digits = 0;
    x->p++;
    if (x->p < x->end && *x->p == 'x') hex = 1, x->p++;
    for (; x->p < x->end && *x->p != ';'; x->p++, digits++) {
      int d = isdigit(*x->p) ? *x->p - '0' : hex && isxdigit(*x->p) ? (tolower(*x->p) - 'a' + 10) : -1;
      if (d < 0) return cd_xc_fail(x, at, "bad character reference");
      v = v * (hex ? 16 : 10) + (uint32_t)d;
      if (v > 0x10FFFF) return cd_xc_fail(x, at, "character reference out of range");
    }
    if (x->p >= x->end || !digits) return cd_xc_fail(x, at, "unterminated character reference");
    x->p++;
    int ok = v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD) ||
             (v >= 0x10000 && v <= 0x10FFFF);
    return ok ? 0 : cd_xc_fail(x, at, "character reference to a character XML forbids (U+%04X)", (unsigned)v);
  }
  size_t len;
  const unsigned char *name = x->p;
  if (cd_xc_name(x, &len, "entity")) return cd_xc_fail(x, at, "'&' not starting a reference (write &amp;)");
  if (x->p >= x->end || *x->p != ';') return cd_xc_fail(x, at, "entity reference without ';'");
  x->p++;
  static const char *predefined[5] = {"amp", "lt", "gt", "quot", "apos"};
  for (int i = 0; i < 5; i++)
    if (strlen(predefined[i]) == len && !memcmp(name, predefined[i], len)) return 0;
  return cd_xc_fail(x, at, "undeclared entity &%.*s; (XML knows only amp, lt, gt, quot, apos)", (int)len, name);
}

/* Text up to the next '<' (or end). */
static int cd_xc_text(cd_xc *x) {
  while (x->p < x->end && *x->p != '<') {
    if (*x->p == '&') {
      if (cd_xc_reference(x)) return -1;
      continue;
    }
    if (cd_xc_starts(x, "]]>")) return cd_xc_fail(x, x->p, "']]>' in text");
    uint32_t c;
    int n = cd_xc_char(x, x->p, &c);
    if (!n) return cd_xc_fail(x, x->p, "invalid UTF-8 or a character XML forbids (byte 0x%02X)", *x->p);
    x->p += n;
  }
  return 0;
}

/* Characters up to the terminator `end_lit`, all valid Chars; x->p lands after it. */
static int cd_xc_until(cd_xc *x, const char *end_lit, const unsigned char *open, const char *what) {
  while (x->p < x->end && !cd_xc_starts(x, end_lit)) {
    uint32_t c;
    int n = cd_xc_char(x, x->p, &c);
    if (!n) return cd_xc_fail(x, x->p, "invalid character in %s", what);
    x->p += n;
  }
  if (x->p >= x->end) return cd_xc_fail(x, open, "unterminated %s", what);
  x->p += strlen(end_lit);
  return 0;
}

static int cd_xc_comment(cd_xc *x) {
  const unsigned char *open = x->p;
  x->p += 4; /* <!-- */
  while (x->p < x->end && !cd_xc_starts(x, "--")) {
    uint32_t c;
    int n = cd_xc_char(x, x->p, &c);
    if (!n) return cd_xc_fail(x, x->p, "invalid character in comment");
    x->p += n;
  }
  if (x->p >= x->end) return cd_xc_fail(x, open, "unterminated comment");
  if (!cd_xc_starts(x, "-->")) return cd_xc_fail(x, x->p, "'--' inside a comment");
  x->p += 3;
  return 0;
}

static int cd_xc_pi(cd_xc *x, int at_start) {
  const unsigned char *open = x->p;
  size_t len;
  x->p += 2;
  const unsigned char *target = x->p;
  if (cd_xc_name(x, &len, "processing instruction")) return -1;
  if (len == 3 && tolower(target[0]) == 'x' && tolower(target[1]) == 'm' && tolower(target[2]) == 'l' && !at_start)
    return cd_xc_fail(x, open, "XML declaration not at the very start");
  if (x->p < x->end && !cd_xc_is_space(*x->p) && !cd_xc_starts(x, "?>"))
    return cd_xc_fail(x, x->p, "processing instruction target not followed by space");
  return cd_xc_until(x, "?>", open, "processing instruction");
}

static int cd_xc_quoted(cd_xc *x, const char *what) {
  if (x->p >= x->end || (*x->p != '"' && *x->p != '\'')) return cd_xc_fail(x, x->p, "%s not quoted", what);
  unsigned char q = *x->p++;
  const unsigned char *open = x->p - 1;
  while (x->p < x->end && *x->p != q) {
    uint32_t c;
    int n = cd_xc_char(x, x->p, &c);
    if (!n) return cd_xc_fail(x, x->p, "invalid character in %s", what);
    x->p += n;
  }
  if (x->p >= x->end) return cd_xc_fail(x, open, "unterminated %s", what);
  x->p++;
  return 0;
}

static int cd_xc_doctype(cd_xc *x) {
  size_t len;
  x->p += 9; /* <!DOCTYPE */
  if (x->p >= x->end || !cd_xc_is_space(*x->p)) return cd_xc_fail(x, x->p, "expected space after <!DOCTYPE");
  cd_xc_skip_space(x);
  if (cd_xc_name(x, &len, "DOCTYPE")) return -1;
  cd_xc_skip_space(x);
  if (cd_xc_starts(x, "SYSTEM") || cd_xc_starts(x, "PUBLIC")) {
    int pub = *x->p == 'P';
    x->p += 6;
    cd_xc_skip_space(x);
    if (cd_xc_quoted(x, "DOCTYPE identifier")) return -1;
    cd_xc_skip_space(x);
    if (pub && cd_xc_quoted(x, "DOCTYPE system identifier")) return -1;
    cd_xc_skip_space(x);
  }
  if (x->p < x->end && *x->p == '[') return cd_xc_fail(x, x->p, "internal DTD subset (entity declarations) not allowed here");
  if (x->p >= x->end || *x->p != '>') return cd_xc_fail(x, x->p, "expected '>' to end <!DOCTYPE");
  x->p++;
  return 0;
}

typedef struct {
  const unsigned char *name;
  size_t len;
} cd_xc_open;

/* A start tag at x->p ('<'); *empty = 1 for <x/>. Checks attribute syntax and uniqueness. */
static int cd_xc_start_tag(cd_xc *x, cd_xc_open *el, int *empty) {
  const unsigned char *attrs[256];
  size_t attr_lens[256];
  int n_attrs = 0;
  x->p++;
  el->name = x->p;
  if (cd_xc_name(x, &el->len, "element")) return -1;
  for (;;) {
    const unsigned char *before = x->p;
    cd_xc_skip_space(x);
    if (x->p >= x->end) return cd_xc_fail(x, el->name - 1, "unterminated start tag <%.*s", (int)el->len, el->name);
    if (*x->p == '>') {
      x->p++;
      *empty = 0;
      return 0;
    }
    if (cd_xc_starts(x, "/>")) {
      x->p += 2;
      *empty = 1;
      return 0;
    }
    if (x->p == before) return cd_xc_fail(x, x->p, "expected space before attribute in <%.*s>", (int)el->len, el->name);
    const unsigned char *aname = x->p;
    size_t alen;
    if (cd_xc_name(x, &alen, "attribute")) return -1;
    for (int i = 0; i < n_attrs; i++)
      if (attr_lens[i] == alen && !memcmp(attrs[i], aname, alen))
        return cd_xc_fail(x, aname, "attribute %.*s given twice", (int)alen, aname);
    if (n_attrs < 256) attrs[n_attrs] = aname, attr_lens[n_attrs++] = alen;
    cd_xc_skip_space(x);
    if (x->p >= x->end || *x->p != '=') return cd_xc_fail(x, x->p, "attribute %.*s without '=value'", (int)alen, aname);
    x->p++;
    cd_xc_skip_space(x);
    if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
      return cd_xc_fail(x, x->p, "value of attribute %.*s not quoted", (int)alen, aname);
    unsigned char q = *x->p++;
    while (x->p < x->end && *x->p != q) {
      if (*x->p == '<') return cd_xc_fail(x, x->p, "'<' in the value of attribute %.*s", (int)alen, aname);
      if (*x->p == '&') {
        if (cd_xc_reference(x)) return -1;
        continue;
      }
      uint32_t c;
      int n = cd_xc_char(x, x->p, &c);
      if (!n) return cd_xc_fail(x, x->p, "invalid character in attribute %.*s", (int)alen, aname);
      x->p += n;
    }
    if (x->p >= x->end) return cd_xc_fail(x, aname, "unterminated value of attribute %.*s", (int)alen, aname);
    x->p++;
  }
}

/* Comments, PIs and white space outside the root element. */
static int cd_xc_misc(cd_xc *x, int *at_start) {
  for (;;) {
    const unsigned char *before = x->p;
    cd_xc_skip_space(x);
    if (x->p != before) *at_start = 0;
    if (cd_xc_starts(x, "<!--")) {
      if (cd_xc_comment(x)) return -1;
    } else if (cd_xc_starts(x, "<?")) {
      if (cd_xc_pi(x, *at_start)) return -1;
    } else {
      return 0;
    }
    *at_start = 0;
  }
}

int cd_xml_check(const char *doc, size_t len, char *msg, size_t cap) {
  cd_xc x = {(const unsigned char *)doc, (const unsigned char *)doc, (const unsigned char *)doc + len, msg, cap};
  int at_start = 1, rc = 0;
  if (cap) msg[0] = 0;
  if (len >= 3 && !memcmp(doc, "\xEF\xBB\xBF", 3)) x.p += 3;
  if (cd_xc_misc(&x, &at_start)) return -1;
  if (cd_xc_starts(&x, "<!DOCTYPE")) {
    if (cd_xc_doctype(&x) || cd_xc_misc(&x, &at_start)) return -1;
  }
  if (x.p >= x.end || *x.p != '<') return cd_xc_fail(&x, x.p, "no root element");
  size_t depth = 0, cap_stack = 64;
  cd_xc_open *stack = malloc(cap_stack * sizeof *stack);
  if (!stack) return cd_xc_fail(&x, x.p, "out of memory");
  for (;;) {
    if (x.p >= x.end) {
      rc = depth ? cd_xc_fail(&x, stack[depth - 1].name, "<%.*s> never closed", (int)stack[depth - 1].len,
                              stack[depth - 1].name)
                 : 0;
      break;
    }
    if (*x.p != '<') {
      if (depth == 0) {
        rc = cd_xc_fail(&x, x.p, "text after the root element");
        break;
      }
      if ((rc = cd_xc_text(&x))) break;
      continue;
    }
    if (cd_xc_starts(&x, "<!--")) rc = cd_xc_comment(&x);
    else if (cd_xc_starts(&x, "<?")) rc = cd_xc_pi(&x, 0);
    else if (cd_xc_starts(&x, "<![CDATA[")) {
      const unsigned char *open = x.p;
      x.p += 9;
      rc = depth ? cd_xc_until(&x, "]]>", open, "CDATA section") : cd_xc_fail(&x, open, "CDATA outside the root");
    } else if (cd_xc_starts(&x, "<!")) {
      rc = cd_xc_fail(&x, x.p, "markup declaration inside the document");
    } else if (cd_xc_starts(&x, "</")) {
      const unsigned char *at = x.p;
      size_t nlen;
      x.p += 2;
      const unsigned char *name = x.p;
      if ((rc = cd_xc_name(&x, &nlen, "end tag"))) break;
      cd_xc_skip_space(&x);
      if (x.p >= x.end || *x.p != '>') {
        rc = cd_xc_fail(&x, x.p, "expected '>' to end </%.*s", (int)nlen, name);
        break;
      }
      x.p++;
      if (depth == 0) {
        rc = cd_xc_fail(&x, at, "</%.*s> closes nothing", (int)nlen, name);
        break;
      }
      cd_xc_open *top = &stack[depth - 1];
      if (top->len != nlen || memcmp(top->name, name, nlen)) {
        rc = cd_xc_fail(&x, at, "</%.*s> closes <%.*s>", (int)nlen, name, (int)top->len, top->name);
        break;
      }
      if (--depth == 0) {
        rc = cd_xc_misc(&x, &at_start);
        if (!rc && x.p < x.end) rc = cd_xc_fail(&x, x.p, "content after the root element");
        break;
      }
    } else {
      cd_xc_open el;
      int empty;
      if ((rc = cd_xc_start_tag(&x, &el, &empty))) break;
      if (empty) {
        if (depth == 0) { /* <root/> is the whole document */
          rc = cd_xc_misc(&x, &at_start);
          if (!rc && x.p < x.end) rc = cd_xc_fail(&x, x.p, "content after the root element");
          break;
        }
        continue;
      }
      if (depth == cap_stack) {
        cap_stack *= 2;
        cd_xc_open *ns = realloc(stack, cap_stack * sizeof *ns);
        if (!ns) {
          rc = cd_xc_fail(&x, x.p, "out of memory");
          break;
        }
        stack = ns;
      }
      stack[depth++] = el;
    }
    if (rc) break;
  }
  free(stack);
  return rc;
}

/* Case-insensitive search. */
static const char *cd_pc_find(const char *s, const char *end, const char *lit) {
  size_t n = strlen(lit);
  for (const char *p = s; p + n <= end; p++) {
    size_t i = 0;
    while (i < n && tolower((unsigned char)p[i]) == tolower((unsigned char)lit[i])) i++;
    if (i == n) return p;
  }
  return NULL;
}

static int cd_pc_fail(const char *doc, const char *at, const char *end, char *msg, size_t cap, const char *why) {
  int line = 1;
  for (const char *q = doc; q < at; q++) line += *q == '\n';
  int show = (int)(end - at < 60 ? end - at : 60);
  snprintf(msg, cap, "line %d: %s: \"%.*s\"", line, why, show, at);
  return -1;
}

/* Value of an attribute (or url() argument) starting at p: skips spaces and one quote. */
static const char *cd_pc_value(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n')) p++;
  if (p < end && (*p == '"' || *p == '\'')) p++;
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n')) p++;
  return p;
}

static int cd_pc_starts(const char *p, const char *end, const char *lit) {
  size_t n = strlen(lit);
  return (size_t)(end - p) >= n && !strncmp(p, lit, n);
}

/* Whether `at` is inside a tag or a <style> element (text of the page can say "src=" freely:
 * its '<' are escaped, so a raw '<' always opens markup). */
static int cd_pc_in_markup(const char *doc, const char *at) {
  for (const char *q = at; q > doc; q--) {
    if (q[-1] == '>') break;
    if (q[-1] == '<') return 1;
  }
  const char *style = NULL, *close = NULL;
  for (const char *q = doc; q < at; q++) {
    if (!strncmp(q, "<style", 6)) style = q;
    if (!strncmp(q, "</style", 7)) close = q;
  }
  return style && (!close || close < style);
}

/* A relative link to a local .html page (see cd_page_check_offline_links). */
static int cd_pc_local_page(const char *v, const char *end) {
  const char *q = v;
  while (q < end && *q != '"' && *q != '\'' &&
         ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || strchr("._-/", *q)))
    q++;
  if (q == v || q == end || (*q != '"' && *q != '\'') || *v == '/') return 0;
  for (const char *r = v; r + 1 < q; r++)
    if (r[0] == '.' && r[1] == '.') return 0;
  return q - v > 5 && !strncmp(q - 5, ".html", 5);
}

static int cd_pc_offline(const char *doc, size_t len, char *msg, size_t cap, int allow_links) {
  const char *end = doc + len;
  static const char *forbidden[] = {"http:", "https:", "//", "javascript:", "<script", "<link", "<iframe",
                                    "<object", "<embed", "<base", "@import"};
  if (cap) msg[0] = 0;
  for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
    const char *at = cd_pc_find(doc, end, forbidden[i]);
    if (at) return cd_pc_fail(doc, at, end, msg, cap, "reference outside the page");
  }
  /* Attribute references: src= only data:, href= only data: or #fragment. */
  static const struct {
    const char *lit;
    int allow_fragment;
  } refs[] = {{" src=", 0}, {"\tsrc=", 0}, {"\nsrc=", 0}, {"href=", 1}, {"url(", 1}};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
    for (const char *at = cd_pc_find(doc, end, refs[i].lit); at; at = cd_pc_find(at + 1, end, refs[i].lit)) {
      if (!cd_pc_in_markup(doc, at)) continue;
      const char *v = cd_pc_value(at + strlen(refs[i].lit), end);
      int ok = cd_pc_starts(v, end, "data:") || (refs[i].allow_fragment && v < end && *v == '#') ||
               (allow_links && !strcmp(refs[i].lit, "href=") && cd_pc_local_page(v, end));
      if (!ok) return cd_pc_fail(doc, at, end, msg, cap, "reference to something outside the page");
    }
  return 0;
}

int cd_page_check_offline(const char *doc, size_t len, char *msg, size_t cap) {
  return cd_pc_offline(doc, len, msg, cap, 0);
}

int cd_page_check_offline_links(const char *doc, size_t len, char *msg, size_t cap) {
  return cd_pc_offline(doc, len, msg, cap, 1);
}

#endif
