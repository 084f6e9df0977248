/* The policy loader: YAML (doc/policy.md) to an ss_policy, or one precise error
 * `FILE:LINE:COL: message`.  The loader never crashes on bad input and stops at the first
 * error.  Built-in policies (builtin.c) are YAML texts loaded through the same code. */
#ifndef SS_POLICY_LOAD_H
#define SS_POLICY_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "base/addr.h"
#include "policy/policy.h"

/* Resolves a DNS name into at most max addresses; returns how many (0: unresolvable).
 * On failure may set *why to a static message. */
typedef size_t (*ss_resolve_fn)(void *ctx, const char *name, ss_addr *out, size_t max,
	const char **why);

typedef struct ss_load_opts {
	ss_resolve_fn resolve;   /* NULL: getaddrinfo() */
	void *resolve_ctx;
	bool no_resolve;         /* DNS names are an error (fuzzing, offline checks) */
	/* Key files are not read: each psk_file stands for a placeholder key of
	 * SS_PSK_PLACEHOLDER_LEN zero bytes.  For fuzzing (deterministic, no file access) and
	 * for checking a policy where its keys are not; never for a running daemon. */
	bool skip_key_files;
	const char *psk_file;    /* overrides the policy-wide psk_file (CLI --psk-file) */
	const char *base_dir;    /* relative psk_file paths for memory buffers; NULL: "." */
} ss_load_opts;

#define SS_PSK_PLACEHOLDER_LEN 32

#define SS_LOAD_MSG_MAX 320

typedef struct ss_load_error {
	char file[256];
	unsigned line, col;      /* 1-based; 0 when the error is not at a place in the file */
	char msg[SS_LOAD_MSG_MAX];
	char text[640];          /* "FILE:LINE:COL: message" (or "FILE: message") */
} ss_load_error;

/* NULL on error (err filled).  opts may be NULL. */
ss_policy *ss_policy_load_file(const char *path, const ss_load_opts *opts, ss_load_error *err);
ss_policy *ss_policy_load_mem(const char *name, const char *buf, size_t len,
	const ss_load_opts *opts, ss_load_error *err);

/* Built-in policies: "client", "server", "secure-server" (doc/policy.md).  They need a
 * pre-shared key: opts->psk_file. */
ss_policy *ss_policy_builtin(const char *name, const ss_load_opts *opts, ss_load_error *err);
/* The YAML text of a built-in policy, or NULL for an unknown name. */
const char *ss_builtin_yaml(const char *name);
/* NULL-terminated list of built-in names, in documentation order. */
extern const char *const ss_builtin_names[];

#endif
