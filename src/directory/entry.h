/* The directory's pure side (doc/directory.md): distinguished names, LDAP entries turned into
 * policies and assignments, and which assignment applies to a host (the nearest wins).
 * No I/O here: the LDAP client (ldapc.c) fills ss_dir_entry from what the server sent, and
 * everything it received is untrusted bytes read through the cursor. */
#ifndef SS_DIRECTORY_ENTRY_H
#define SS_DIRECTORY_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- distinguished names (RFC 4514) ---- */

#define SS_DN_MAX 1024
#define SS_DN_MAX_RDNS 32

/* A DN in one canonical form, so that two spellings of one name compare equal: attribute
 * types and values lowercased (the naming attributes softsa meets, cn, ou, dc, o, uid, are
 * all case-ignore), spaces around separators dropped, escapes decoded and written again one
 * way.  s holds the RDNs joined by ','; off[i] is where RDN i starts (0 is the leftmost). */
typedef struct ss_dn {
	char s[SS_DN_MAX];
	size_t len;
	size_t n;                     /* RDNs; 0 for the root DN "" */
	uint16_t off[SS_DN_MAX_RDNS + 1];
} ss_dn;

/* false with *why (a static message) when in is not a DN. */
bool ss_dn_parse(const char *in, size_t len, ss_dn *out, const char **why);
bool ss_dn_eq(const ss_dn *a, const ss_dn *b);
/* How many levels above dn anc is (1: its parent); 0 when anc is not above dn. */
unsigned ss_dn_above(const ss_dn *anc, const ss_dn *dn);
/* Is dn at or below base? */
bool ss_dn_within(const ss_dn *dn, const ss_dn *base);

/* ---- entries as the client received them ---- */

typedef struct ss_dir_val {
	const uint8_t *p;
	size_t len;
} ss_dir_val;

typedef struct ss_dir_attr {
	const char *name;             /* NUL-terminated; options (";binary") are ignored */
	const ss_dir_val *vals;
	size_t n;
} ss_dir_attr;

typedef struct ss_dir_entry {
	const char *dn;               /* NUL-terminated, as the server wrote it */
	const ss_dir_attr *attrs;
	size_t n_attrs;
} ss_dir_entry;

/* The attribute named name (case-insensitive, options ignored), or NULL. */
const ss_dir_attr *ss_dir_attr_get(const ss_dir_entry *e, const char *name);
/* Has the entry this objectClass value (case-insensitive)? */
bool ss_dir_has_class(const ss_dir_entry *e, const char *cls);

/* ---- a policy entry (objectClass softsaPolicy) ---- */

#define SS_DIR_DOC_MAX (1u << 20)     /* 1 MiB of YAML is far beyond any real policy */

typedef struct ss_dir_policy {
	ss_dn dn;
	char name[128];               /* cn; control characters replaced by '?' */
	char description[256];
	uint64_t version;
	const uint8_t *doc;           /* points into the entry's value */
	size_t doc_len;
} ss_dir_policy;

/* false with a message naming the entry in err. */
bool ss_dir_policy_parse(const ss_dir_entry *e, ss_dir_policy *out, char *err, size_t errlen);

/* ---- assignments and which one a host gets ---- */

enum ss_dir_via {
	SS_DIR_VIA_NONE = 0,          /* no assignment: the bootstrap file's default */
	SS_DIR_VIA_HOST,              /* on the host's own entry */
	SS_DIR_VIA_GROUP,             /* on a group the host is a member of */
	SS_DIR_VIA_OU,                /* on an entry above the host */
};
const char *ss_dir_via_name(enum ss_dir_via v);

typedef struct ss_dir_choice {
	enum ss_dir_via via;
	ss_dn holder;                 /* the entry carrying the winning assignment */
	ss_dn policy;                 /* its softsaPolicyRef */
	unsigned levels;              /* SS_DIR_VIA_OU: levels above the host */
	int64_t priority;             /* SS_DIR_VIA_GROUP */
	size_t considered;            /* assignments that apply to this host */
	char warning[320];            /* e.g. two groups at one priority; "" when none */
} ss_dir_choice;

/* Among the assignment entries e[0..n) (objectClass softsaPolicyAssignment, searched under
 * the base DN), the one that applies to host: its own entry; else the group with the lowest
 * softsaAssignmentPriority (default 0; ties: the lowest DN, with a warning); else the
 * nearest entry above it.  An entry that applies but is malformed is an error (false, err):
 * skipping it could hand the host a policy meant to be overridden.  Entries that cannot
 * apply are ignored, however malformed. */
bool ss_dir_resolve(const ss_dn *host, const ss_dir_entry *e, size_t n, ss_dir_choice *out,
	char *err, size_t errlen);

/* The search filter (RFC 4515) for the assignments that may apply to host: on its own
 * entry, on each entry above it up to base, or on a group listing it, so that a host reads a
 * handful of entries however large the directory.  (entryDN, RFC 5020, is OpenLDAP's.)
 * ss_dir_resolve still decides which apply.  false when cap is too small. */
bool ss_dir_assignment_filter(const ss_dn *host, const ss_dn *base, char *out, size_t cap);

#endif
