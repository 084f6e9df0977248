/* Loader internals shared by the load*.c files: the YAML tree with source positions
 * (load_tree.c), scalar and key helpers (load_util.c), and one load's context. */
#ifndef SS_POLICY_LOAD_INT_H
#define SS_POLICY_LOAD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/load.h"
#include "policy/policy.h"

enum yn_kind { YN_SCALAR = 0, YN_SEQ, YN_MAP };

/* One YAML node.  Maps keep their pairs in file order: items[2i] is a key (always a scalar,
 * enforced while building), items[2i+1] its value. */
typedef struct ynode {
	uint8_t kind;      /* enum yn_kind */
	bool plain;        /* scalar written without quotes */
	unsigned line, col; /* 1-based */
	char *str;         /* scalar text, NUL-terminated */
	size_t len;
	struct ynode **items;
	size_t n;          /* items in a sequence; pairs in a map (items holds 2n) */
	size_t cap;        /* allocated slots in items (while building) */
} ynode;

/* Builds the tree of the single document in buf.  NULL on error (ld_fail called). */
struct ld;
ynode *yn_parse(struct ld *l, const char *buf, size_t len);
/* Frees the tree, wiping every scalar (an inline psk is one). */
void yn_free(ynode *n);
/* Wipes the values of tokens libyaml scanned but did not yet hand out (exposed for tests). */
struct yaml_parser_s;
void yn_wipe_tokens(struct yaml_parser_s *p);

static inline const ynode *yn_key(const ynode *m, size_t i) { return m->items[2 * i]; }
static inline const ynode *yn_val(const ynode *m, size_t i) { return m->items[2 * i + 1]; }
/* Value of key in a map, or NULL. */
const ynode *yn_get(const ynode *m, const char *key);
/* The key node itself (for errors about a key's presence), or NULL. */
const ynode *yn_get_key(const ynode *m, const char *key);
/* An empty plain scalar, "~" or "null": what `key:` with nothing after it gives. */
bool yn_is_null(const ynode *n);
const char *yn_kind_name(unsigned kind);

/* One load in progress. */
struct ld {
	const char *file;        /* for messages */
	const char *base_dir;    /* for relative psk_file */
	const ss_load_opts *o;
	ss_load_error *err;
	bool failed;
	ss_policy *p;
	/* Policy-wide auth comes from here when the file (or the built-in) has none. */
	const ynode *over_auth;  /* `auth` in the user's file overriding a built-in */
};

/* Records the first error at node n (n may be NULL: no position).  Returns false. */
bool ld_fail(struct ld *l, const ynode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool ld_fail_at(struct ld *l, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Checks n is a map whose keys are all in allowed (NULL-terminated), each once.  `what`
 * names the map in messages ("filter", "rule"). */
bool ld_map(struct ld *l, const ynode *n, const char *what, const char *const *allowed);
bool ld_seq(struct ld *l, const ynode *n, const char *what);
bool ld_scalar(struct ld *l, const ynode *n, const char *what);
/* The closest candidate to s within a small edit distance, or NULL. */
const char *ld_suggest(const char *s, const char *const *cands, size_t n);

bool ld_bool(struct ld *l, const ynode *n, const char *what, bool *out);
bool ld_uint(struct ld *l, const ynode *n, const char *what, uint64_t lo, uint64_t hi, uint64_t *out);
/* Seconds: an integer, or with a unit suffix s, m, h, d ("8h", "7d"). */
bool ld_duration(struct ld *l, const ynode *n, const char *what, uint64_t lo, uint64_t hi, uint32_t *out);
/* Bytes: an integer, or with a suffix K, M, G (powers of 1024). */
bool ld_bytes(struct ld *l, const ynode *n, const char *what, uint64_t *out);
/* Duplicates a string; sets the error on allocation failure. */
char *ld_strdup(struct ld *l, const ynode *n, const char *s);
void *ld_calloc(struct ld *l, const ynode *n, size_t count, size_t size);
/* Grows *arr (of *n elements of size sz) by one zeroed element; returns it or NULL. */
void *ld_push(struct ld *l, const ynode *n, void **arr, size_t *count, size_t sz);

/* Names of lists, actions or rules, for duplicate checks and lookups in O(n log n). */
typedef struct ld_name {
	const char *s;
	size_t i;          /* position in file order */
	const ynode *at;   /* where the name is written */
} ld_name;
/* Sorts v by name (ties in file order) and fails at the first duplicate in file order:
 * "duplicate WHAT name 'x' (first at line N)". */
bool ld_unique(struct ld *l, ld_name *v, size_t n, const char *what);
/* The same for the keys of a map (filter_lists, filter_actions). */
bool ld_unique_keys(struct ld *l, const ynode *map, const char *what);
/* In a vector sorted by ld_unique: the entry for s, or NULL. */
const ld_name *ld_find(const ld_name *v, size_t n, const char *s);

/* load_filter.c */
bool ld_filter_lists(struct ld *l, const ynode *n);
/* load_action.c */
bool ld_filter_actions(struct ld *l, const ynode *n);
bool ld_ike(struct ld *l, const ynode *n);
/* `udp_encap: auto|always` (the rule's or the ike section's). */
bool ld_udp_encap(struct ld *l, const ynode *v, uint8_t *out);
/* load_auth.c: a sequence of auth methods, or the psk_file shorthand. */
bool ld_auth_list(struct ld *l, const ynode *n, ss_auth_method **out, size_t *n_out);
bool ld_auth_psk_file(struct ld *l, const ynode *n, const char *path, ss_auth_method **out, size_t *n_out);
bool ld_auth_copy(struct ld *l, const ynode *at, const ss_auth_method *src, size_t n,
	ss_auth_method **out, size_t *n_out);
/* load_rule.c */
bool ld_rules(struct ld *l, const ynode *n);

#endif
