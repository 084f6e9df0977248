/* Loading the policy a subcommand works on: a file or a built-in, and printing load errors
 * the same way everywhere (FILE:LINE:COL: message, or JSON). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/secure.h"
#include "cli/cli.h"

bool cli_source_opt(cli_source *s, int opt, const char *arg)
{
	switch (opt) {
	case 'b': s->builtin = arg; return true;
	case 'k': s->psk_file = arg; return true;
	case 'n': s->no_dns = true; return true;
	case 's': s->skip_key_files = true; return true;
	case 'j': s->json = true; return true;
	}
	return false;
}

json_t *cli_error_json(const ss_load_error *e)
{
	json_t *j = json_pack("{s:s, s:s}", "file", e->file, "message", e->msg);
	if (e->line) {
		json_object_set_new(j, "line", json_integer(e->line));
		json_object_set_new(j, "col", json_integer(e->col));
	}
	json_object_set_new(j, "text", json_string(e->text));
	return j;
}

void cli_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s) {
		puts(s);
		free(s);
	}
	json_decref(j);
}

/* "-": the policy comes on standard input (relative key files: from the current directory). */
static ss_policy *load_stdin(const ss_load_opts *o, ss_load_error *err)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + len, 1, cap - len, stdin);
		len += r;
		if (r == 0 || len < cap)
			break;
		char *nb = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
		if (!nb) {
			ss_free_secret(buf, cap);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	if (!buf || ferror(stdin)) {
		ss_free_secret(buf, cap);
		ss_load_error e = { .file = "<stdin>", .msg = "cannot read (or larger than 16 MiB)",
			.text = "<stdin>: cannot read (or larger than 16 MiB)" };
		*err = e;
		return NULL;
	}
	ss_policy *p = ss_policy_load_mem("<stdin>", buf, len, o, err);
	ss_free_secret(buf, cap); /* an inline psk was in it */
	return p;
}

ss_policy *cli_load(const cli_source *s)
{
	ss_load_opts o = { .no_resolve = s->no_dns, .skip_key_files = s->skip_key_files, .psk_file = s->psk_file };
	ss_load_error err;
	ss_policy *p = s->builtin ? ss_policy_builtin(s->builtin, &o, &err)
		: strcmp(s->file, "-") == 0 ? load_stdin(&o, &err)
		: ss_policy_load_file(s->file, &o, &err);
	if (p)
		return p;
	fprintf(stderr, "%s\n", err.text);
	if (s->json)
		cli_print_json(json_pack("{s:b, s:o}", "valid", 0, "error", cli_error_json(&err)));
	return NULL;
}
