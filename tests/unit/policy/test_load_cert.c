/* `certificate:` auth methods in the loader: what loads, and every refusal at the line that
 * causes it (files made by the unit tests' PKI, tests/unit/ike/pki.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ike/cert.h"
#include "pki.h"
#include "policy/load.h"
#include "tload.h"

#define DAY 86400L

static const char *dir;

static void write_key(const char *name, EVP_PKEY *k, mode_t mode)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	size_t len;
	unsigned char *pem = pki_key_pem(k, &len);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fwrite(pem, 1, len, f);
	fclose(f);
	chmod(p, mode);
	free(pem);
}

static int setup(void **state)
{
	dir = pki_dir();
	EVP_PKEY *cak = pki_key("P-256"), *k = pki_key("P-256"), *other = pki_key("P-256");
	pki_spec cs = { "softsa test CA", true, -DAY, 10 * DAY, NULL, "critical,keyCertSign,cRLSign", 1 };
	X509 *ca = pki_cert(cak, &cs, NULL, NULL);
	pki_spec hs = { "a.example", false, -DAY, DAY, "IP:10.0.0.1", "critical,digitalSignature", 2 };
	X509 *host = pki_cert(k, &hs, ca, cak);
	pki_write_certs("ca.pem", &ca, 1);
	pki_write_certs("a.pem", &host, 1);
	write_key("a.key", k, 0600);
	write_key("other.key", other, 0600);
	write_key("loose.key", k, 0666);
	X509_CRL *crl = pki_crl(ca, cak, 0, -DAY, DAY);
	pki_write_crl("crl.pem", crl);
	X509_CRL_free(crl);
	X509_free(ca);
	X509_free(host);
	EVP_PKEY_free(cak);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	return 0;
}

static int teardown(void **state)
{
	static const char *const extra[] = { "a.key", "other.key", "loose.key" };
	for (size_t i = 0; i < 3; i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/%s", dir, extra[i]);
		unlink(p);
	}
	pki_cleanup();
	return 0;
}

#define RULE "filter_lists:\n  l: [{ src: me, dst: 10.0.0.0/8 }]\n" \
	"filter_actions:\n  s: { action: negotiate }\n" \
	"rules:\n  - { name: r, filter_list: l, filter_action: s }\n"

static void loads(void **state)
{
	ss_load_opts o = tl_opts(dir);
	ss_load_error err;
	const char *y = "auth:\n  - certificate: { ca: ca.pem, cert: a.pem, key: a.key, crl: crl.pem,"
			" peer_id: 'dns:*.example' }\n  - psk: a-long-enough-shared-key\n" RULE;
	ss_policy *p = ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err);
	if (!p)
		fail_msg("%s", err.text);
	/* Policy-wide methods are copied into the rule, each copy holding the credential. */
	assert_int_equal(p->rules[0].n_auth, 2);
	const ss_auth_method *m = &p->rules[0].auth[0];
	assert_int_equal(m->kind, SS_AUTH_KIND_CERT);
	assert_non_null(m->cert.cred);
	assert_ptr_equal(m->cert.cred, p->auth[0].cert.cred);
	char want[256];
	snprintf(want, sizeof(want), "%s/a.key", dir);
	assert_string_equal(m->cert.key, want);
	assert_string_equal(m->cert.peer_id, "dns:*.example");
	assert_int_equal(m->cert.key_loc.line, 2);
	assert_int_equal(p->rules[0].auth[1].kind, SS_AUTH_KIND_PSK);
	ss_cert_info info;
	ss_ike_cred_info(m->cert.cred, &info);
	assert_string_equal(info.subject, "CN=a.example,O=softsa test");
	ss_policy_free(p);
	/* Without the key files (softsa check -s, fuzzing): paths only, nothing read. */
	o.skip_key_files = true;
	y = "auth:\n  - certificate: { ca: /nonexistent/ca.pem, cert: a.pem, key: a.key }\n" RULE;
	p = ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err);
	assert_non_null(p);
	assert_null(p->auth[0].cert.cred);
	ss_policy_free(p);
}

static void refusals(void **state)
{
	static const struct { const char *yaml, *want; } rows[] = {
		{ "auth:\n  - certificate: { ca: ca.pem, cert: a.pem }\n", "t.yaml:2:18: certificate needs key" },
		{ "auth:\n  - certificate: { ca: ca.pem, cert: a.pem, key: a.key, kye: 1 }\n",
		  "t.yaml:2:57: unknown key 'kye' in certificate (did you mean 'key'?)" },
		{ "auth:\n  - certificate: { ca: nope.pem, cert: a.pem, key: a.key }\n",
		  "t.yaml:2:24: cannot read ca '@/nope.pem': No such file or directory" },
		{ "auth:\n  - certificate: { ca: ca.pem, cert: a.pem, key: other.key }\n",
		  "t.yaml:2:50: certificate: the private key does not match the certificate" },
		{ "auth:\n  - certificate: { ca: ca.pem, cert: a.pem, key: loose.key }\n",
		  "t.yaml:2:50: key '@/loose.key' is writable by group or others (mode 0666): refused, chmod go-w it" },
		{ "auth:\n  - certificate: { ca: ca.pem, cert: a.pem, key: a.key, crl: a.pem }\n",
		  "t.yaml:2:62: certificate: CRL file '@/a.pem' holds no PEM CRL" },
		{ "auth:\n  - certificate: { ca: a.key, cert: a.pem, key: a.key }\n",
		  "t.yaml:2:24: certificate: CA file '@/a.key' holds no PEM certificate" },
		{ "auth:\n  - certificate: { ca: ca.pem, cert: a.pem, key: a.key, peer_id: 'ip:x' }\n",
		  "t.yaml:2:66: certificate: peer_id ip: expects an IPv4 or IPv6 address" },
		{ "auth:\n  - certificate: { ca: ca.pem, cert: a.pem, key: a.key }\n"
		  "  - certificate: { ca: ca.pem, cert: a.pem, key: a.key }\n",
		  "t.yaml:3:5: one certificate method per auth list (this is the second)" },
		{ "auth:\n  - certificate: { ca: ca.pem, cert: a.pem, key: a.key }\n    psk: a-long-enough-shared-key\n",
		  "t.yaml:3:5: psk does not go with certificate in one auth method (give each method its own list item)" },
		{ "auth:\n  - certificate: { ca: ca.pem, cert: a.pem, key: a.key }\n    remote_id: x.example\n",
		  "t.yaml:3:5: remote_id does not go with certificate in one auth method (give each method its own "
		  "list item; a certificate peer is matched with peer_id)" },
	};
	ss_load_opts o = tl_opts(dir);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ss_load_error err;
		char want[512];
		const char *at = strchr(rows[i].want, '@');
		if (at)
			snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - rows[i].want), rows[i].want, dir, at + 1);
		else
			snprintf(want, sizeof(want), "%s", rows[i].want);
		ss_policy *p = ss_policy_load_mem("t.yaml", rows[i].yaml, strlen(rows[i].yaml), &o, &err);
		if (p || strcmp(err.text, want) != 0)
			fail_msg("row %zu:\n  got:      %s\n  expected: %s", i, p ? "(loaded)" : err.text, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loads),
		cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
