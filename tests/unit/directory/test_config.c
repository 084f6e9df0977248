/* The directory bootstrap file: what it accepts, its FILE:LINE:COL errors, the password
 * file's checks; the cache round trip. */
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

#include "directory/cache.h"
#include "directory/config.h"

#define BASE "uri: ldaps://ldap.example.com\nbase_dn: dc=example,dc=com\n" \
	     "host_dn: cn=web1,ou=servers,dc=example,dc=com\nca_file: /etc/softsa/ca.pem\n"

static void test_accepts(void **state)
{
	static const char text[] =
		"uri: [ldaps://a.example.com, 'ldap://b.example.com:3389']\n"
		"base_dn: dc=example,dc=com\n"
		"host_dn: cn=web1,ou=servers,dc=example,dc=com\n"
		"bind: external\n"
		"cert_file: /etc/softsa/host.pem\n"
		"key_file: /etc/softsa/host.key\n"
		"ca_file: /etc/softsa/ca.pem\n"
		"follow: poll\n"
		"poll_interval: 5m\n"
		"retry_interval: 3\n"
		"default: client\n";
	ss_dir_config c;
	ss_load_error e;
	if (!ss_dir_config_load_mem("boot.yaml", text, strlen(text), &c, &e))
		fail_msg("%s", e.text);
	assert_int_equal(c.n_uris, 2);
	assert_string_equal(c.uris[1], "ldap://b.example.com:3389");
	assert_int_equal(c.bind, SS_DIR_BIND_EXTERNAL);
	assert_int_equal(c.follow, SS_DIR_FOLLOW_POLL);
	assert_int_equal(c.poll_interval_s, 300);
	assert_int_equal(c.retry_interval_s, 3);
	assert_int_equal(c.timeout_s, 10);
	assert_true(c.tls);
	assert_string_equal(c.cache_file, SS_DIR_DEFAULT_CACHE);
	assert_string_equal(c.default_policy, "client");
	assert_string_equal(c.policy_base, "dc=example,dc=com");
	ss_dir_config_free(&c);

	static const char loop[] = "uri: ldap://127.0.0.1:3890\nbase_dn: dc=t\nhost_dn: cn=h,dc=t\ntls: off\n"
				   "bind: simple\nbind_dn: cn=h,dc=t\npassword_file: pw\n";
	if (!ss_dir_config_load_mem("b", loop, strlen(loop), &c, &e))
		fail_msg("%s", e.text);
	assert_false(c.tls);
	assert_string_equal(c.default_policy, "none");
	ss_dir_config_free(&c);
}

/* Numbered: each bootstrap text and the exact error. */
static void test_errors(void **state)
{
	static const struct { const char *text, *want; } t[] = {
		/* 1 */ { "uri: ldaps://x\n", "b: no base_dn: the subtree with the policies and assignments" },
		/* 2 */ { BASE "bind: kerberos\n", "b:5:7: bind: unknown value 'kerberos' (expected simple or external)" },
		/* 3 */ { BASE "bind_dn: cn=x\npassword_file: p\ntls: off\n", "b:7:6: tls: off only for a directory on the loopback (a test); "
			"'ldaps://ldap.example.com' is not" },
		/* 4 */ { "uri: http://x\n", "b:1:6: uri 'http://x' is neither ldap:// nor ldaps://" },
		/* 5 */ { BASE "bind_dn: cn=x\n", "b:5:1: bind: simple needs bind_dn and password_file" },
		/* 6 */ { "uri: ldaps://x\nbase_dn: dc=a\nhost_dn: cn=h,dc=b\nca_file: c\n",
			"b:3:10: host_dn is not under base_dn" },
		/* 7 */ { "uri: ldaps://x\nbase_dn: dc=a\nhost_dn: cn=h,,dc=a\n", "b:3:10: host_dn is not a DN: bad character in an attribute type" },
		/* 8 */ { "uri: ldaps://x\nbase_dn: dc=a\nhost_dn: cn=h,dc=a\nbind: external\ncert_file: c\nkey_file: k\n",
			"b: no ca_file: the directory's certificate is verified against it (tls: off is for a loopback test only)" },
		/* 9 */ { BASE "password_file: p\nbind_dn: cn=a\ndefault: secure\n",
			"b:7:10: default: 'secure' is neither none nor a built-in policy (client, server, secure-server)" },
		/* 10 */ { BASE "poll_interval: 0\n", "b:5:16: poll_interval must be between 1 and 86400 seconds, got '0'" },
		/* 11 */ { BASE "uri_list: x\n", "b:5:1: unknown key 'uri_list' in directory bootstrap" },
		/* 12 */ { "uri: []\n", "b:1:6: uri: give 1 to 8 URIs, got 0" },
		/* 13 */ { "uri: ldap://localhost\nbase_dn: dc=a\nhost_dn: cn=h,dc=a\ntls: off\nbind: external\n"
			   "cert_file: c\nkey_file: k\n",
			"b:4:6: bind: external presents the certificate over TLS: tls cannot be off" },
		/* 14 */ { "uri: ldap://127.0.0.1.evil.com\nbase_dn: dc=a\nhost_dn: cn=h,dc=a\ntls: off\nbind_dn: cn=h,dc=a\n"
			   "password_file: p\n",
			"b:4:6: tls: off only for a directory on the loopback (a test); 'ldap://127.0.0.1.evil.com' is not" },
		/* 15 */ { "- a\n", "b:1:1: directory bootstrap must be a mapping, got a sequence" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ss_dir_config c;
		ss_load_error e;
		if (ss_dir_config_load_mem("b", t[i].text, strlen(t[i].text), &c, &e))
			fail_msg("case %zu accepted", i + 1);
		if (strncmp(e.text, t[i].want, strlen(t[i].want)) != 0)
			fail_msg("case %zu:\n got  %s\n want %s", i + 1, e.text, t[i].want);
	}
}

static void test_password_file(void **state)
{
	char dir[] = "/tmp/ssdir-pwXXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], buf[64], err[256];
	snprintf(path, sizeof(path), "%s/pw", dir);
	FILE *f = fopen(path, "w");
	fputs("s3cret\n", f);
	fclose(f);
	chmod(path, 0600);
	assert_int_equal(ss_dir_read_password(path, buf, sizeof(buf), err, sizeof(err)), 6);
	assert_string_equal(buf, "s3cret");
	chmod(path, 0620);
	assert_int_equal(ss_dir_read_password(path, buf, sizeof(buf), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable by group or others"));
	chmod(path, 0600);
	assert_int_equal(ss_dir_read_password(path, buf, 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(ss_dir_read_password(dir, buf, sizeof(buf), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(path);
	assert_int_equal(ss_dir_read_password(path, buf, sizeof(buf), err, sizeof(err)), -1);
	rmdir(dir);
}

static void test_cache_round_trip(void **state)
{
	char dir[] = "/tmp/ssdir-cacheXXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], err[256];
	snprintf(path, sizeof(path), "%s/sub/cache.yaml", dir);
	ss_dir_result r = { 0 };
	r.doc = strdup("name: web\n# a comment\n");
	r.doc_len = strlen(r.doc);
	r.version = 42;
	r.via = SS_DIR_VIA_GROUP;
	snprintf(r.policy_dn, sizeof(r.policy_dn), "cn=web,dc=x");
	snprintf(r.holder, sizeof(r.holder), "cn=g,dc=x");
	snprintf(r.origin, sizeof(r.origin), "cn=web,dc=x (version 42)\nsecond line");
	assert_true(ss_dir_cache_save(path, &r, 1700000000, err, sizeof(err)));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	ss_dir_result back;
	if (!ss_dir_cache_load(path, &back, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(ss_dir_result_same(&r, &back));
	assert_int_equal(back.via, SS_DIR_VIA_GROUP);
	assert_string_equal(back.holder, "cn=g,dc=x");
	assert_string_equal(back.origin, "cn=web,dc=x (version 42) second line");
	/* The cache is itself a policy file. */
	ss_load_error e;
	ss_policy *p = ss_policy_load_file(path, NULL, &e);
	if (!p)
		fail_msg("%s", e.text);
	ss_policy_free(p);
	ss_dir_result_clear(&back);
	/* Anything else is not a cache. */
	FILE *f = fopen(path, "w");
	fputs("name: web\n", f);
	fclose(f);
	assert_false(ss_dir_cache_load(path, &back, err, sizeof(err)));
	assert_non_null(strstr(err, "not a softsa directory cache"));
	unlink(path);
	assert_false(ss_dir_cache_load(path, &back, err, sizeof(err)));
	ss_dir_result_clear(&r);
	char sub[160];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	rmdir(sub);
	rmdir(dir);
}

/* The cache loader's in-memory half (what fuzz_dir_files reads through): the header lines
 * until the first that is not "# key: value", then the document, bytes as they are. */
static void test_cache_parse(void **state)
{
	static const char magic[] =
		"# softsa directory cache: the last good policy (doc/directory.md); written by softsad\n";
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s# version: 7\n# via: ou\n# a-key-that-is-longer-than-31-bytes: x\n"
			 "name: x\n", magic);
	ss_dir_result r;
	assert_true(ss_dir_cache_parse(buf, (size_t)n, &r));
	assert_int_equal(r.version, 7);
	assert_int_equal(r.via, SS_DIR_VIA_OU);
	/* a key too long for a header is where the document starts */
	assert_string_equal(r.doc, "# a-key-that-is-longer-than-31-bytes: x\nname: x\n");
	assert_int_equal(r.doc_len, strlen(r.doc));
	ss_dir_result_clear(&r);
	/* the magic line is the whole test: one byte short of it is not a cache */
	assert_false(ss_dir_cache_parse(buf, strlen(magic) - 1, &r));
	assert_null(r.doc);
	assert_true(ss_dir_cache_parse(buf, strlen(magic), &r));
	assert_int_equal(r.doc_len, 0);
	ss_dir_result_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_cache_round_trip),
		cmocka_unit_test(test_cache_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
