/* Loader helpers: errors with positions, map shape checks with "did you mean", and typed
 * scalars (booleans, integers, durations, byte counts). */
#include "policy/load_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ld_vfail(struct ld *l, unsigned line, unsigned col, const char *fmt, va_list ap)
{
	if (l->failed)
		return; /* the first error is the one that explains the rest */
	l->failed = true;
	ss_load_error *e = l->err;
	snprintf(e->file, sizeof(e->file), "%s", l->file);
	e->line = line;
	e->col = col;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (line)
		snprintf(e->text, sizeof(e->text), "%s:%u:%u: %s", e->file, line, col, e->msg);
	else
		snprintf(e->text, sizeof(e->text), "%s: %s", e->file, e->msg);
}

bool ld_fail_at(struct ld *l, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ld_vfail(l, line, col, fmt, ap);
	va_end(ap);
	return false;
}

bool ld_fail(struct ld *l, const ynode *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ld_vfail(l, n ? n->line : 0, n ? n->col : 0, fmt, ap);
	va_end(ap);
	return false;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *ld_suggest(const char *s, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3; /* at most two edits ... */
	size_t ls = strlen(s);
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(s, cands[i]);
		size_t lc = strlen(cands[i]);
		/* ... or one a prefix of the other ("fallback" for "fallback_to_clear") */
		bool prefix = ls >= 3 && lc >= 3 && strncmp(s, cands[i], ls < lc ? ls : lc) == 0;
		if (prefix && d > 2)
			d = 2;
		if (d < best_d && d < ls) {
			best = cands[i];
			best_d = d;
		}
	}
	return best;
}

bool ld_seq(struct ld *l, const ynode *n, const char *what)
{
	if (n->kind != YN_SEQ)
		return ld_fail(l, n, "%s must be a sequence, got %s", what, yn_kind_name(n->kind));
	return true;
}

bool ld_scalar(struct ld *l, const ynode *n, const char *what)
{
	if (n->kind != YN_SCALAR)
		return ld_fail(l, n, "%s must be a scalar, got %s", what, yn_kind_name(n->kind));
	return true;
}

bool ld_map(struct ld *l, const ynode *n, const char *what, const char *const *allowed)
{
	if (n->kind != YN_MAP)
		return ld_fail(l, n, "%s must be a mapping, got %s", what, yn_kind_name(n->kind));
	size_t n_allowed = 0;
	while (allowed[n_allowed])
		n_allowed++;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *k = yn_key(n, i);
		if (k->kind != YN_SCALAR)
			return ld_fail(l, k, "a mapping key must be a plain string");
		bool known = false;
		for (size_t j = 0; j < n_allowed && !known; j++)
			known = strcmp(k->str, allowed[j]) == 0;
		if (!known) {
			const char *near = ld_suggest(k->str, allowed, n_allowed);
			if (near)
				return ld_fail(l, k, "unknown key '%s' in %s (did you mean '%s'?)", k->str, what, near);
			char list[200] = "";
			size_t used = 0;
			for (size_t j = 0; j < n_allowed && used < sizeof(list); j++)
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", j ? ", " : "", allowed[j]);
			return ld_fail(l, k, "unknown key '%s' in %s (expected one of: %s)", k->str, what, list);
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(yn_key(n, j)->str, k->str) == 0)
				return ld_fail(l, k, "duplicate key '%s' in %s (first at line %u)", k->str, what,
					yn_key(n, j)->line);
	}
	return true;
}

bool ld_bool(struct ld *l, const ynode *n, const char *what, bool *out)
{
	if (n->kind == YN_SCALAR && n->plain) {
		static const char *const t[] = { "true", "True", "TRUE", "yes", "Yes", "on" };
		static const char *const f[] = { "false", "False", "FALSE", "no", "No", "off" };
		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			if (strcmp(n->str, t[i]) == 0) {
				*out = true;
				return true;
			}
			if (strcmp(n->str, f[i]) == 0) {
				*out = false;
				return true;
			}
		}
	}
	if (n->kind != YN_SCALAR)
		return ld_fail(l, n, "%s must be true or false, got %s", what, yn_kind_name(n->kind));
	/* "true" in quotes is a string in YAML: say so rather than the puzzling "got 'true'". */
	if (!n->plain)
		return ld_fail(l, n, "%s must be true or false without quotes (\"%s\" in quotes is a string)",
			what, n->str);
	return ld_fail(l, n, "%s must be true or false, got '%s'", what, n->str);
}

/* Leading decimal digits of s into *v; returns the rest, or NULL on no digits/overflow. */
static const char *parse_u64(const char *s, uint64_t *v)
{
	if (*s < '0' || *s > '9')
		return NULL;
	uint64_t x = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return NULL;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return s;
}

bool ld_uint(struct ld *l, const ynode *n, const char *what, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (!ld_scalar(l, n, what))
		return false;
	uint64_t v;
	const char *rest = parse_u64(n->str, &v);
	if (!rest || *rest)
		return ld_fail(l, n, "%s must be a whole number, got '%s'", what, n->str);
	if (v < lo || v > hi)
		return ld_fail(l, n, "%s must be between %llu and %llu, got %s", what,
			(unsigned long long)lo, (unsigned long long)hi, n->str);
	*out = v;
	return true;
}

static bool with_unit(struct ld *l, const ynode *n, const char *what, const char *units,
	const uint64_t *mult, uint64_t *out)
{
	if (!ld_scalar(l, n, what))
		return false;
	uint64_t v;
	const char *rest = parse_u64(n->str, &v);
	uint64_t m = 1;
	if (rest && *rest) {
		/* One unit letter, last. */
		const char *u = rest[1] == 0 ? strchr(units, *rest) : NULL;
		if (u)
			m = mult[u - units];
		else
			rest = NULL;
	}
	if (!rest)
		return ld_fail(l, n, "%s must be a number with an optional unit (%s), got '%s'", what,
			units[0] == 's' ? "s, m, h, d" : "K, M, G", n->str);
	if (v > UINT64_MAX / m)
		return ld_fail(l, n, "%s is too large: '%s'", what, n->str);
	*out = v * m;
	return true;
}

bool ld_duration(struct ld *l, const ynode *n, const char *what, uint64_t lo, uint64_t hi, uint32_t *out)
{
	static const uint64_t mult[] = { 1, 60, 3600, 86400 };
	uint64_t v;
	if (!with_unit(l, n, what, "smhd", mult, &v))
		return false;
	if (v < lo || v > hi)
		return ld_fail(l, n, "%s must be between %llu and %llu seconds, got '%s'", what,
			(unsigned long long)lo, (unsigned long long)hi, n->str);
	*out = (uint32_t)v;
	return true;
}

bool ld_bytes(struct ld *l, const ynode *n, const char *what, uint64_t *out)
{
	static const uint64_t mult[] = { 1024, 1024 * 1024, 1024 * 1024 * 1024 };
	return with_unit(l, n, what, "KMG", mult, out);
}

char *ld_strdup(struct ld *l, const ynode *n, const char *s)
{
	char *d = strdup(s);
	if (!d)
		ld_fail(l, n, "out of memory");
	return d;
}

void *ld_calloc(struct ld *l, const ynode *n, size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size);
	if (!p)
		ld_fail(l, n, "out of memory");
	return p;
}

void *ld_push(struct ld *l, const ynode *n, void **arr, size_t *count, size_t sz)
{
	/* Grows to powers of two so that pushing N elements costs O(N). */
	size_t c = *count;
	if ((c & (c - 1)) == 0) {
		size_t nc = c ? 2 * c : 1;
		void *na = realloc(*arr, nc * sz);
		if (!na) {
			ld_fail(l, n, "out of memory");
			return NULL;
		}
		*arr = na;
	}
	char *e = (char *)*arr + c * sz;
	memset(e, 0, sz);
	(*count)++;
	return e;
}

static int name_cmp(const void *a, const void *b)
{
	const ld_name *x = a, *y = b;
	int c = strcmp(x->s, y->s);
	if (c)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

bool ld_unique(struct ld *l, ld_name *v, size_t n, const char *what)
{
	qsort(v, n, sizeof(*v), name_cmp);
	const ld_name *dup = NULL, *first = NULL;
	for (size_t k = 1; k < n; k++)
		if (strcmp(v[k - 1].s, v[k].s) == 0 && (!dup || v[k].i < dup->i)) {
			dup = &v[k];
			first = &v[k - 1];
			while (first > v && strcmp(first[-1].s, first->s) == 0)
				first--;
		}
	if (dup)
		return ld_fail(l, dup->at, "duplicate %s name '%s' (first at line %u)", what, dup->s, first->at->line);
	return true;
}

static int find_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const ld_name *)elem)->s);
}

const ld_name *ld_find(const ld_name *v, size_t n, const char *s)
{
	return n ? bsearch(s, v, n, sizeof(*v), find_cmp) : NULL;
}

bool ld_unique_keys(struct ld *l, const ynode *map, const char *what)
{
	ld_name *v = ld_calloc(l, map, map->n, sizeof(*v));
	if (!v)
		return false;
	for (size_t i = 0; i < map->n; i++)
		v[i] = (ld_name){ yn_key(map, i)->str, i, yn_key(map, i) };
	bool ok = ld_unique(l, v, map->n, what);
	free(v);
	return ok;
}
