/* The policy file's top level, built-in policies as a base, and the public entry points. */
#include "policy/load_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/secure.h"

#define POLICY_FILE_MAX (16u << 20)

static const char *const top_keys[] = {
	"name", "description", "builtin", "psk_file", "auth", "filter_lists", "filter_actions",
	"rules", "default_response", "ike", "downgrade_protection", NULL
};
/* What a file that starts from a built-in policy may still say. */
static const char *const builtin_overrides[] = {
	"name", "description", "builtin", "psk_file", "auth", "ike", "downgrade_protection", NULL
};

static bool ld_string(struct ld *l, const ynode *n, const char *what, char **out)
{
	if (!ld_scalar(l, n, what))
		return false;
	free(*out);
	*out = ld_strdup(l, n, n->str);
	return *out != NULL;
}

/* Policy-wide auth: the CLI's --psk-file, else `auth`, else the `psk_file` shorthand. */
static bool ld_policy_auth(struct ld *l, const ynode *top, const ynode *builtin_key)
{
	ss_policy *p = l->p;
	const ynode *auth = yn_get(top, "auth"), *file = yn_get(top, "psk_file");
	if (auth && file)
		return ld_fail(l, yn_get_key(top, "psk_file"), "give either auth or psk_file at top level, not both");
	if (l->o->psk_file)
		return ld_auth_psk_file(l, NULL, l->o->psk_file, &p->auth, &p->n_auth);
	if (auth)
		return ld_auth_list(l, auth, &p->auth, &p->n_auth);
	if (file)
		return ld_scalar(l, file, "psk_file") && ld_auth_psk_file(l, file, file->str, &p->auth, &p->n_auth);
	if (builtin_key && l->o->skip_key_files)
		return ld_auth_psk_file(l, NULL, "(placeholder)", &p->auth, &p->n_auth);
	if (builtin_key)
		return ld_fail(l, builtin_key, "built-in policy '%s' needs a pre-shared key: add psk_file "
			"(or run with --psk-file)", p->builtin);
	return true;
}

/* Loads a built-in's own tree into *base; checks what the user's file adds to it. */
static bool ld_builtin(struct ld *l, const ynode *top, const ynode *b, ynode **base)
{
	if (!ld_scalar(l, b, "builtin"))
		return false;
	const char *text = ss_builtin_yaml(b->str);
	if (!text) {
		size_t n = 0;
		while (ss_builtin_names[n])
			n++;
		const char *near = ld_suggest(b->str, (const char *const *)ss_builtin_names, n);
		if (near)
			return ld_fail(l, b, "unknown built-in policy '%s' (did you mean '%s'?)", b->str, near);
		return ld_fail(l, b, "unknown built-in policy '%s' (expected client, server or secure-server)", b->str);
	}
	for (size_t i = 0; i < top->n; i++) {
		const ynode *k = yn_key(top, i);
		bool ok = false;
		for (size_t j = 0; builtin_overrides[j] && !ok; j++)
			ok = strcmp(k->str, builtin_overrides[j]) == 0;
		if (!ok)
			return ld_fail(l, k, "'%s' cannot be combined with builtin (copy examples/builtin-%s.yaml "
				"to change a built-in policy)", k->str, b->str);
	}
	if (!(l->p->builtin = ld_strdup(l, b, b->str)))
		return false;
	/* The built-in texts are ours and tested: an error in them names them, not the user. */
	const char *user_file = l->file;
	char name[64];
	snprintf(name, sizeof(name), "<builtin %s>", b->str);
	l->file = name;
	*base = yn_parse(l, text, strlen(text));
	l->file = user_file;
	return *base != NULL;
}

static const ynode *pick(const ynode *top, const ynode *base, const char *key)
{
	const ynode *v = yn_get(top, key);
	return v ? v : yn_get(base, key);
}

/* Lines of a built-in's own text mean nothing to the administrator: what came from it has no
 * position (0, as policy.h says), and check and explain say "built-in" instead. */
static void forget_builtin_lines(ss_policy *p)
{
	for (size_t i = 0; i < p->n_lists; i++) {
		p->lists[i].loc = (ss_srcloc){ 0, 0 };
		for (size_t j = 0; j < p->lists[i].n_filters; j++)
			p->lists[i].filters[j].loc = (ss_srcloc){ 0, 0 };
	}
	for (size_t i = 0; i < p->n_actions; i++) {
		p->actions[i].loc = (ss_srcloc){ 0, 0 };
		for (size_t j = 0; j < p->actions[i].n_methods; j++)
			p->actions[i].methods[j].loc = (ss_srcloc){ 0, 0 };
	}
	for (size_t i = 0; i < p->n_rules; i++)
		p->rules[i].loc = (ss_srcloc){ 0, 0 };
}

static bool ld_top(struct ld *l, const ynode *top)
{
	ss_policy *p = l->p;
	if (!ld_map(l, top, "policy", top_keys))
		return false;
	ynode *base = NULL;
	const ynode *b = yn_get(top, "builtin"), *v;
	bool ok = !b || ld_builtin(l, top, b, &base);
	ok = ok && ld_policy_auth(l, top, b ? yn_get_key(top, "builtin") : NULL);
	if (ok && (v = pick(top, base, "name")))
		ok = ld_string(l, v, "name", &p->name);
	if (ok && (v = pick(top, base, "description")))
		ok = ld_string(l, v, "description", &p->description);
	/* Built-in texts are parsed under their own name so that their positions make sense. */
	const char *user_file = l->file;
	char bname[64];
	snprintf(bname, sizeof(bname), "<builtin %s>", p->builtin ? p->builtin : "");
	if (base)
		l->file = bname;
	if (ok && (v = pick(top, base, "filter_lists")))
		ok = ld_filter_lists(l, v);
	if (ok && (v = pick(top, base, "filter_actions")))
		ok = ld_filter_actions(l, v);
	if (ok && (v = pick(top, base, "rules")))
		ok = ld_rules(l, v);
	l->file = user_file;
	if (base)
		forget_builtin_lines(p);
	p->default_response = p->n_auth > 0;
	if (ok && (v = pick(top, base, "default_response"))) {
		ok = ld_bool(l, v, "default_response", &p->default_response);
		if (ok && p->default_response && !p->n_auth)
			ok = ld_fail(l, v, "default_response needs auth or psk_file at top level");
	}
	if (ok && p->default_response)
		ok = ld_auth_copy(l, top, p->auth, p->n_auth, &p->default_response_auth, &p->n_default_response_auth);
	if (ok)
		ok = ld_ike(l, pick(top, base, "ike"));
	p->downgrade_protection = SS_DEFAULT_DOWNGRADE_PROTECTION;
	if (ok && (v = pick(top, base, "downgrade_protection")))
		ok = ld_duration(l, v, "downgrade_protection", 0, 365u * 86400, &p->downgrade_protection);
	yn_free(base);
	return ok;
}

static ss_policy *load(const char *file, const char *base_dir, const char *buf, size_t len,
	const ss_load_opts *opts, ss_load_error *err)
{
	static const ss_load_opts none;
	memset(err, 0, sizeof(*err));
	struct ld l = { .file = file, .base_dir = base_dir, .o = opts ? opts : &none, .err = err };
	l.p = calloc(1, sizeof(*l.p));
	if (!l.p) {
		ld_fail(&l, NULL, "out of memory");
		return NULL;
	}
	ynode *root = yn_parse(&l, buf, len);
	bool ok = root && ld_top(&l, root);
	if (ok && !l.p->name) {
		const char *slash = strrchr(file, '/');
		ok = (l.p->name = ld_strdup(&l, NULL, slash ? slash + 1 : file)) != NULL;
	}
	if (ok)
		ok = (l.p->source = ld_strdup(&l, NULL, file)) != NULL;
	yn_free(root);
	if (!ok) {
		ss_policy_free(l.p);
		return NULL;
	}
	return l.p;
}

ss_policy *ss_policy_load_mem(const char *name, const char *buf, size_t len,
	const ss_load_opts *opts, ss_load_error *err)
{
	return load(name, opts && opts->base_dir ? opts->base_dir : NULL, buf, len, opts, err);
}

ss_policy *ss_policy_load_file(const char *path, const ss_load_opts *opts, ss_load_error *err)
{
	struct ld l = { .file = path, .err = err };
	memset(err, 0, sizeof(*err));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		ld_fail(&l, NULL, "cannot read: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > POLICY_FILE_MAX) {
		ld_fail(&l, NULL, S_ISREG(st.st_mode) ? "file is larger than 16 MiB" : "not a regular file");
		close(fd);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *buf = malloc(cap);
	bool ok = buf != NULL;
	while (ok && len < cap) {
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ok = r == 0;
			break;
		}
		len += (size_t)r;
	}
	close(fd);
	if (!ok || len == cap) {
		ld_fail(&l, NULL, buf ? "cannot read: %s" : "out of memory",
			len == cap ? "file changed while reading" : strerror(errno));
		ss_free_secret(buf, cap);
		return NULL;
	}
	/* psk_file is relative to the policy file's directory. */
	char dir[4096];
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	ss_policy *p = load(path, dir, buf, len, opts, err);
	ss_free_secret(buf, cap); /* an inline psk was in it */
	return p;
}

ss_policy *ss_policy_builtin(const char *name, const ss_load_opts *opts, ss_load_error *err)
{
	char text[128];
	char file[80];
	snprintf(file, sizeof(file), "--builtin %.60s", name);
	if (!ss_builtin_yaml(name)) {
		struct ld l = { .file = file, .err = err };
		memset(err, 0, sizeof(*err));
		ld_fail(&l, NULL, "unknown built-in policy (expected client, server or secure-server)");
		return NULL;
	}
	int n = snprintf(text, sizeof(text), "builtin: \"%s\"\n", name);
	ss_policy *p = ss_policy_load_mem(file, text, (size_t)n, opts, err);
	if (!p && err->line) {
		/* The error is about the one-line text we made up: drop its position. */
		err->line = err->col = 0;
		snprintf(err->text, sizeof(err->text), "%s: %s", err->file, err->msg);
	}
	return p;
}
