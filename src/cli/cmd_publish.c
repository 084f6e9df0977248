/* softsa publish: check a policy exactly as `softsa check` does, then store it in the
 * directory (doc/directory.md), raising its version. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/secure.h"
#include "cli/cli.h"
#include "directory/config.h"
#include "directory/ldapc.h"

/* An RDN value as RFC 4514 section 2.4 writes it. */
static void escape_value(const char *v, char *out, size_t cap)
{
	size_t n = 0, len = strlen(v);
	for (size_t i = 0; i < len && n + 4 < cap; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c == 0x7f) {
			n += (size_t)snprintf(out + n, cap - n, "\\%02x", c);
			continue;
		}
		if (strchr(",+\"\\<>;=", c) || (i == 0 && (c == '#' || c == ' ')) || (i + 1 == len && c == ' '))
			out[n++] = '\\';
		out[n++] = (char)c;
	}
	out[n] = '\0';
}

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(SS_DIR_DOC_MAX + 1);
	size_t n = buf ? fread(buf, 1, SS_DIR_DOC_MAX + 1, f) : 0;
	bool bad = !buf || ferror(f) || n > SS_DIR_DOC_MAX;
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The bytes checked are the bytes stored: the file is read once. */
static int publish(const char *boot, const char *dn_opt, const char *doc, size_t len, const ss_policy *p)
{
	ss_dir_config c;
	ss_load_error e;
	if (!ss_dir_config_load(boot, &c, &e)) {
		fprintf(stderr, "%s\n", e.text);
		return CLI_FAIL;
	}
	char dn[SS_DN_MAX], rdn[512];
	escape_value(p->name, rdn, sizeof(rdn));
	snprintf(dn, sizeof(dn), "%s", dn_opt ? dn_opt : "");
	if (!dn_opt)
		snprintf(dn, sizeof(dn), "cn=%.500s%s%.500s", rdn, c.policy_base[0] ? "," : "", c.policy_base);
	char err[700];
	int rc = CLI_FAIL;
	ss_dir_conn *k = ss_dir_connect(&c, err, sizeof(err));
	uint64_t v;
	if (!k)
		fprintf(stderr, "softsa publish: %s\n", err);
	else if (!ss_dir_publish(k, dn, p->name, p->description, doc, len, &v, err, sizeof(err)))
		fprintf(stderr, "softsa publish: %s\n", err);
	else {
		printf("published %s version %llu\n", dn, (unsigned long long)v);
		rc = CLI_OK;
	}
	ss_dir_close(k);
	ss_dir_config_free(&c);
	return rc;
}

/* As cli_load() checks a file (its psk_file paths relative to the file's directory), from
 * the bytes already read. */
static ss_policy *check(const cli_source *src, const char *doc, size_t len)
{
	char dir[4096];
	ss_path_dir(src->file, dir, sizeof(dir));
	ss_load_opts o = { .no_resolve = src->no_dns, .skip_key_files = src->skip_key_files,
			   .psk_file = src->psk_file, .base_dir = dir };
	ss_load_error e;
	ss_policy *p = ss_policy_load_mem(src->file, doc, len, &o, &e);
	if (!p)
		fprintf(stderr, "%s\n", e.text);
	return p;
}

int cmd_publish(const cli_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "directory", required_argument, NULL, 'D' },
		{ "dn", required_argument, NULL, 'd' },
		CLI_SOURCE_OPTS, { 0, 0, 0, 0 } };
	cli_source src = { 0 };
	const char *boot = NULL, *dn = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_usage(cmd, stdout);
			fputs("\n", stdout);
			fputs(cmd->help, stdout);
			return CLI_OK;
		}
		if (c == 'D')
			boot = optarg;
		else if (c == 'd')
			dn = optarg;
		else if (c == 'b' || c == 'j' || !cli_source_opt(&src, c, optarg))
			return cli_usage_error(cmd, "bad option");
	}
	if (!boot)
		return cli_usage_error(cmd, "--directory BOOTSTRAP is needed (where the directory is, how to bind)");
	if (argc - optind != 1 || strcmp(argv[optind], "-") == 0)
		return cli_usage_error(cmd, "expected one policy FILE");
	src.file = argv[optind];
	size_t len = 0;
	char *doc = read_text(src.file, &len);
	if (!doc) {
		fprintf(stderr, "%s: cannot read (or larger than 1 MiB)\n", src.file);
		return CLI_FAIL;
	}
	ss_policy *p = check(&src, doc, len);
	int rc = p ? publish(boot, dn, doc, len, p) : CLI_FAIL;
	ss_policy_free(p);
	ss_free_secret(doc, len + 1); /* an inline psk may be in it */
	return rc;
}
