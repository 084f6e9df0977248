/* softsa check, certificates: each certificate auth method's files were read and matched by
 * the loader (readable, permissions, key matches the certificate); here the certificate must
 * also be valid now and verify to the CA (with the CRL), and what it is gets shown. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/ctl.h"
#include "ike/cert.h"

/* Every certificate method once: rules carry copies of the policy-wide ones. */
typedef struct cert_use {
	const char *rule;           /* rule name, "policy-wide" or "default-response" */
	const ss_auth_method *m;
} cert_use;

/* Copies share the place they were written (and, loaded, the credential). */
static size_t add(cert_use *out, size_t n, size_t max, const char *rule, const ss_auth_method *m)
{
	if (m->kind != SS_AUTH_KIND_CERT || n >= max)
		return n;
	for (size_t k = 0; k < n; k++)
		if (out[k].m->loc.line == m->loc.line && out[k].m->loc.col == m->loc.col)
			return n;
	out[n] = (cert_use){ rule, m };
	return n + 1;
}

static size_t collect(const ss_policy *p, cert_use *out, size_t max)
{
	size_t n = 0;
	const struct { const char *name; const ss_auth_method *a; size_t n; } lists[] = {
		{ "policy-wide", p->auth, p->n_auth },
		{ "default-response", p->default_response_auth, p->n_default_response_auth },
	};
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l].n; i++)
			n = add(out, n, max, lists[l].name, &lists[l].a[i]);
	for (size_t r = 0; r < p->n_rules; r++)
		for (size_t i = 0; i < p->rules[r].n_auth; i++)
			n = add(out, n, max, p->rules[r].name, &p->rules[r].auth[i]);
	return n;
}

static void utc(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "?");
}

bool cli_check_certs(const ss_policy *p, bool json, json_t **out)
{
	cert_use u[64];
	size_t n = collect(p, u, 64);
	*out = json_array();
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < n; i++) {
		const ss_cert_method *c = &u[i].m->cert;
		if (!c->cred) {
			json_array_append_new(*out, json_pack("{s:s, s:s, s:b}", "rule", u[i].rule, "cert",
				c->cert, "checked", 0));
			continue;
		}
		char why[300];
		if (!ss_ike_cred_check(c->cred, now, why, sizeof(why))) {
			ss_load_error e = { .line = c->cert_loc.line, .col = c->cert_loc.col };
			snprintf(e.file, sizeof(e.file), "%s", p->source);
			snprintf(e.msg, sizeof(e.msg), "certificate '%s': %s", c->cert, why);
			snprintf(e.text, sizeof(e.text), "%s:%u:%u: %s", e.file, e.line, e.col, e.msg);
			fprintf(stderr, "%s\n", e.text);
			if (json)
				cli_print_json(json_pack("{s:b, s:o}", "valid", 0, "error", cli_error_json(&e)));
			json_decref(*out);
			*out = NULL;
			return false;
		}
		ss_cert_info info;
		ss_ike_cred_info(c->cred, &info);
		char na[32];
		utc(info.not_after, na);
		long days = (long)((info.not_after - now) / 86400);
		json_array_append_new(*out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:s, s:s?, s:s?}", "rule",
			u[i].rule, "cert", c->cert, "subject", info.subject, "issuer", info.issuer, "not_after", na,
			"days_left", (int)days, "checked", 1, "ca", c->ca, "crl", c->crl, "peer_id", c->peer_id));
	}
	return true;
}

void cli_print_certs(json_t *certs)
{
	if (!json_array_size(certs))
		return;
	printf("\nCertificates (valid now, key matches, chain verifies to the CA):\n");
	size_t i;
	json_t *e;
	json_array_foreach(certs, i, e) {
		const char *cert = cli_str(e, "cert", "?"), *rule = cli_str(e, "rule", "?");
		if (!json_is_true(json_object_get(e, "checked"))) {
			printf("  %s (rule '%s'): not checked (key files skipped)\n", cert, rule);
			continue;
		}
		const char *crl = cli_str(e, "crl", NULL), *pid = cli_str(e, "peer_id", NULL);
		printf("  %s (rule '%s'): %s, issued by %s, valid until %s (%lld days); CA %s%s%s; "
			"the peer must be %s\n", cert, rule, cli_str(e, "subject", "?"), cli_str(e, "issuer", "?"),
			cli_str(e, "not_after", "?"), cli_int(e, "days_left"), cli_str(e, "ca", "?"),
			crl ? ", CRL " : "", crl ? crl : "", pid ? pid : "named by its address in a SAN");
	}
}
