/* The directory's pure side: DNs in canonical form, policy entries, and which assignment a
 * host gets (doc/directory.md, Inheritance, whose worked example is test_worked_example). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "directory/entry.h"

static ss_dn dn_of(const char *s)
{
	ss_dn d;
	const char *why = NULL;
	if (!ss_dn_parse(s, strlen(s), &d, &why))
		fail_msg("'%s' did not parse: %s", s, why);
	return d;
}

/* 1..n: spellings of one DN and their canonical form. */
static void test_dn_canonical(void **state)
{
	static const struct { const char *in, *out; size_t rdns; } t[] = {
		{ "", "", 0 },
		{ "dc=example,dc=com", "dc=example,dc=com", 2 },
		{ "DC=Example, DC=COM", "dc=example,dc=com", 2 },
		{ "  cn = Web 1 ,ou=Servers,dc=example,dc=com  ", "cn=web 1,ou=servers,dc=example,dc=com", 4 },
		{ "cn=a\\,b,dc=x", "cn=a\\,b,dc=x", 2 },
		{ "cn=a\\2cb,dc=x", "cn=a\\,b,dc=x", 2 },          /* hex escape of ',' */
		{ "cn=\\ lead,dc=x", "cn=\\ lead,dc=x", 2 },        /* escaped leading space stays */
		{ "cn=trail\\ ,dc=x", "cn=trail\\ ,dc=x", 2 },      /* escaped trailing space stays */
		{ "cn=a+uid=B,dc=x", "cn=a+uid=b,dc=x", 2 },        /* multi-valued RDN */
		{ "cn=#04024869,dc=x", "cn=#04024869,dc=x", 2 },    /* BER hex value */
		{ "2.5.4.3=x,dc=y", "2.5.4.3=x,dc=y", 2 },
		{ "cn=\\00x,dc=y", "cn=\\00x,dc=y", 2 },            /* NUL kept escaped */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ss_dn d = dn_of(t[i].in);
		assert_string_equal(d.s, t[i].out);
		assert_int_equal(d.n, t[i].rdns);
	}
}

static void test_dn_refused(void **state)
{
	static const char *const bad[] = {
		"cn", "=x", "cn=x,", "cn=x,,dc=y", "c n=x", "cn=a\"b", "cn=a;b", "cn=a\\", "cn=a\\zz",
		"cn=#123", "cn=#", "-cn=x", "cn=x\\0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ss_dn d;
		const char *why = NULL;
		if (ss_dn_parse(bad[i], strlen(bad[i]), &d, &why))
			fail_msg("'%s' parsed as '%s'", bad[i], d.s);
		assert_non_null(why);
	}
	char big[2100];
	memset(big, 'a', sizeof(big));
	memcpy(big, "cn=", 3);
	ss_dn d;
	const char *why;
	assert_false(ss_dn_parse(big, sizeof(big), &d, &why));
	char deep[33 * 5 + 1] = "";
	for (int i = 0; i < 33; i++)
		strcat(deep, i ? ",dc=a" : "dc=a");
	assert_false(ss_dn_parse(deep, strlen(deep), &d, &why));
}

static void test_dn_above(void **state)
{
	ss_dn host = dn_of("cn=web1,ou=servers,ou=hq,dc=example,dc=com");
	assert_int_equal(ss_dn_above(&(ss_dn){ 0 }, &host), 5);
	ss_dn ou = dn_of("OU=Servers, ou=HQ,dc=example,dc=com");
	assert_int_equal(ss_dn_above(&ou, &host), 1);
	ss_dn hq = dn_of("ou=hq,dc=example,dc=com");
	assert_int_equal(ss_dn_above(&hq, &host), 2);
	assert_int_equal(ss_dn_above(&host, &host), 0);
	assert_int_equal(ss_dn_above(&host, &hq), 0);
	/* Same tail, not an ancestor: an RDN boundary must line up. */
	ss_dn other = dn_of("ou=xhq,dc=example,dc=com");
	ss_dn under = dn_of("cn=a,ou=xhq,dc=example,dc=com");
	assert_int_equal(ss_dn_above(&hq, &under), 0);
	assert_int_equal(ss_dn_above(&other, &under), 1);
	/* An escaped comma is not a boundary either. */
	ss_dn esc = dn_of("cn=a\\,ou=hq,dc=example,dc=com");
	assert_int_equal(esc.n, 3);
	assert_int_equal(ss_dn_above(&hq, &esc), 0);
	assert_true(ss_dn_within(&host, &host));
	assert_true(ss_dn_within(&host, &hq));
	assert_false(ss_dn_within(&hq, &host));
}

/* ---- entries built in code ---- */

#define V(s) { (const uint8_t *)(s), sizeof(s) - 1 }

static const ss_dir_val oc_policy[] = { V("top"), V("softsaPolicy") };
static const ss_dir_val cn_web[] = { V("web") };
static const ss_dir_val doc_ok[] = { V("name: web\n") };
static const ss_dir_val ver_7[] = { V("7") };
static const ss_dir_val desc[] = { V("for web\nservers") };

static void test_policy_entry(void **state)
{
	ss_dir_attr a[] = {
		{ "objectClass", oc_policy, 2 }, { "cn", cn_web, 1 }, { "softsaPolicyDocument;binary", doc_ok, 1 },
		{ "SOFTSAPOLICYVERSION", ver_7, 1 }, { "description", desc, 1 },
	};
	ss_dir_entry e = { "cn=web,ou=policies,dc=example,dc=com", a, 5 };
	ss_dir_policy p;
	char err[256];
	assert_true(ss_dir_policy_parse(&e, &p, err, sizeof(err)));
	assert_int_equal(p.version, 7);
	assert_string_equal(p.name, "web");
	assert_string_equal(p.description, "for web?servers");
	assert_int_equal(p.doc_len, 10);
	assert_memory_equal(p.doc, "name: web\n", 10);
	assert_string_equal(p.dn.s, "cn=web,ou=policies,dc=example,dc=com");
}

/* Each malformed policy entry is refused with a message that names what is wrong. */
static void test_policy_entry_refused(void **state)
{
	static const ss_dir_val two[] = { V("1"), V("2") }, neg[] = { V("-1") }, lead0[] = { V("07") },
		word[] = { V("seven") }, empty[] = { { (const uint8_t *)"", 0 } },
		nul[] = { { (const uint8_t *)"a\0b", 3 } }, oc_other[] = { V("person") }, huge[] = { V("99999999999999999999") };
	static const struct { const char *attr; const ss_dir_val *v; size_t n; const char *want; } t[] = {
		{ "softsaPolicyVersion", two, 2, "softsaPolicyVersion has 2 values, expected 1" },
		{ "softsaPolicyVersion", neg, 1, "not a number" },
		{ "softsaPolicyVersion", lead0, 1, "not a number" },
		{ "softsaPolicyVersion", word, 1, "not a number" },
		{ "softsaPolicyVersion", huge, 1, "not a number" },
		{ "softsaPolicyVersion", NULL, 0, "no softsaPolicyVersion" },
		{ "softsaPolicyDocument", empty, 1, "is 0 bytes" },
		{ "softsaPolicyDocument", nul, 1, "NUL byte" },
		{ "softsaPolicyDocument", two, 2, "softsaPolicyDocument has 2 values" },
		{ "objectClass", oc_other, 1, "not a softsaPolicy entry" },
		{ "cn", NULL, 0, "no cn" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ss_dir_attr a[] = { { "objectClass", oc_policy, 2 }, { "cn", cn_web, 1 },
				    { "softsaPolicyDocument", doc_ok, 1 }, { "softsaPolicyVersion", ver_7, 1 } };
		for (size_t k = 0; k < 4; k++)
			if (strcmp(a[k].name, t[i].attr) == 0)
				a[k].vals = t[i].v, a[k].n = t[i].n;
		ss_dir_entry e = { "cn=web,dc=x", a, 4 };
		ss_dir_policy p;
		char err[256] = "";
		if (ss_dir_policy_parse(&e, &p, err, sizeof(err)))
			fail_msg("case %zu accepted", i + 1);
		if (!strstr(err, t[i].want) || strncmp(err, "cn=web,dc=x: ", 13) != 0)
			fail_msg("case %zu: '%s' does not say '%s'", i + 1, err, t[i].want);
	}
	ss_dir_entry nodn = { "cn=,,", NULL, 0 };
	ss_dir_policy p;
	char err[256];
	assert_false(ss_dir_policy_parse(&nodn, &p, err, sizeof(err)));
	assert_non_null(strstr(err, "bad DN"));
}

/* An assignment entry: DN, policy reference, optional priority, optional members. */
typedef struct asg {
	const char *dn, *ref, *priority;
	const char *members[3];
} asg;

static ss_dir_choice resolve(const char *host, const asg *t, size_t n, bool want_ok, char *err)
{
	static const ss_dir_val oc[] = { V("softsaPolicyAssignment") };
	ss_dir_entry e[16];
	ss_dir_attr a[16][4];
	ss_dir_val v[16][5];
	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++) {
		size_t na = 0;
		a[i][na++] = (ss_dir_attr){ "objectClass", oc, 1 };
		if (t[i].ref) {
			v[i][0] = (ss_dir_val){ (const uint8_t *)t[i].ref, strlen(t[i].ref) };
			a[i][na++] = (ss_dir_attr){ "softsaPolicyRef", &v[i][0], 1 };
		}
		if (t[i].priority) {
			v[i][1] = (ss_dir_val){ (const uint8_t *)t[i].priority, strlen(t[i].priority) };
			a[i][na++] = (ss_dir_attr){ "softsaAssignmentPriority", &v[i][1], 1 };
		}
		size_t nm = 0;
		while (nm < 3 && t[i].members[nm]) {
			v[i][2 + nm] = (ss_dir_val){ (const uint8_t *)t[i].members[nm], strlen(t[i].members[nm]) };
			nm++;
		}
		if (nm)
			a[i][na++] = (ss_dir_attr){ "member", &v[i][2], nm };
		e[i] = (ss_dir_entry){ t[i].dn, a[i], na };
	}
	ss_dn h = dn_of(host);
	ss_dir_choice c;
	bool ok = ss_dir_resolve(&h, e, n, &c, err, 256);
	if (ok != want_ok)
		fail_msg("resolve %s: %s", ok ? "succeeded" : "failed", err);
	return c;
}

#define HOST "cn=web1,ou=servers,ou=hq,dc=example,dc=com"
#define P(x) "cn=" x ",ou=policies,dc=example,dc=com"

/* doc/directory.md, Inheritance: the worked example, host by host. */
static void test_worked_example(void **state)
{
	static const asg t[] = {
		{ "dc=example,dc=com", P("client"), NULL, { NULL } },
		{ "ou=hq,dc=example,dc=com", P("request"), NULL, { NULL } },
		{ "ou=servers,ou=hq,dc=example,dc=com", P("require"), NULL, { NULL } },
		{ "cn=dmz,ou=groups,dc=example,dc=com", P("dmz"), "10",
		  { "cn=web1,ou=servers,ou=hq,dc=example,dc=com", "cn=lab3,ou=lab,ou=hq,dc=example,dc=com" } },
		{ "cn=pci,ou=groups,dc=example,dc=com", P("pci"), "5", { "cn=lab3,ou=lab,ou=hq,dc=example,dc=com" } },
		{ "cn=db1,ou=servers,ou=hq,dc=example,dc=com", P("db"), NULL, { NULL } },
	};
	static const struct { const char *host; enum ss_dir_via via; const char *policy; unsigned levels; } want[] = {
		{ "cn=db1,ou=servers,ou=hq,dc=example,dc=com", SS_DIR_VIA_HOST, P("db"), 0 },
		{ "cn=web1,ou=servers,ou=hq,dc=example,dc=com", SS_DIR_VIA_GROUP, P("dmz"), 0 },
		{ "cn=lab3,ou=lab,ou=hq,dc=example,dc=com", SS_DIR_VIA_GROUP, P("pci"), 0 },
		{ "cn=mail,ou=servers,ou=hq,dc=example,dc=com", SS_DIR_VIA_OU, P("require"), 1 },
		{ "cn=pc7,ou=desks,ou=hq,dc=example,dc=com", SS_DIR_VIA_OU, P("request"), 2 },
		{ "cn=nas,ou=branch,dc=example,dc=com", SS_DIR_VIA_OU, P("client"), 2 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char err[256];
		ss_dir_choice c = resolve(want[i].host, t, 6, true, err);
		ss_dn p = dn_of(want[i].policy);
		if (c.via != want[i].via || !ss_dn_eq(&c.policy, &p) || c.levels != want[i].levels)
			fail_msg("%s: got %s %s (levels %u)", want[i].host, ss_dir_via_name(c.via), c.policy.s, c.levels);
		assert_string_equal(c.warning, "");
	}
	char err[256];
	ss_dir_choice c = resolve("cn=x,dc=other,dc=org", t, 6, true, err);
	assert_int_equal(c.via, SS_DIR_VIA_NONE);
	assert_int_equal(c.considered, 0);
}

static void test_group_ties_and_priorities(void **state)
{
	char err[256];
	static const asg tie[] = {
		{ "cn=b,dc=x", P("b"), "3", { HOST } },
		{ "cn=a,dc=x", P("a"), "3", { HOST } },
		{ "cn=c,dc=x", P("c"), "4", { HOST } },
	};
	ss_dir_choice c = resolve(HOST, tie, 3, true, err);
	assert_int_equal(c.via, SS_DIR_VIA_GROUP);
	assert_string_equal(c.holder.s, "cn=a,dc=x");
	assert_int_equal(c.considered, 3);
	assert_non_null(strstr(c.warning, "priority 3"));
	/* Negative priorities and no priority (0). */
	static const asg pri[] = {
		{ "cn=a,dc=x", P("a"), NULL, { HOST } },
		{ "cn=b,dc=x", P("b"), "-2", { HOST } },
	};
	c = resolve(HOST, pri, 2, true, err);
	assert_string_equal(c.holder.s, "cn=b,dc=x");
	assert_int_equal(c.priority, -2);
	assert_string_equal(c.warning, "");
	/* A member spelled differently is the same host. */
	static const asg spelled[] = { { "cn=g,dc=x", P("g"), NULL, { "CN=Web1, OU=Servers,ou=HQ,dc=Example,dc=com" } } };
	c = resolve(HOST, spelled, 1, true, err);
	assert_int_equal(c.via, SS_DIR_VIA_GROUP);
	/* The host's own entry beats a group and an OU, wherever it comes in the list. */
	static const asg own[] = {
		{ "cn=g,dc=x", P("g"), "-100", { HOST } },
		{ HOST, P("own"), NULL, { NULL } },
		{ "ou=servers,ou=hq,dc=example,dc=com", P("ou"), NULL, { NULL } },
	};
	c = resolve(HOST, own, 3, true, err);
	assert_int_equal(c.via, SS_DIR_VIA_HOST);
	assert_string_equal(c.policy.s, "cn=own,ou=policies,dc=example,dc=com");
}

/* A malformed assignment that applies to the host stops the resolution; one that cannot
 * apply is ignored. */
static void test_malformed_assignments(void **state)
{
	char err[256];
	static const asg applies[] = {
		{ "dc=example,dc=com", P("client"), NULL, { NULL } },
		{ "ou=hq,dc=example,dc=com", "not a dn", NULL, { NULL } },
	};
	resolve(HOST, applies, 2, false, err);
	assert_non_null(strstr(err, "ou=hq,dc=example,dc=com: softsaPolicyRef is not a DN"));
	static const asg noref[] = { { "ou=servers,ou=hq,dc=example,dc=com", NULL, NULL, { NULL } } };
	resolve(HOST, noref, 1, false, err);
	assert_non_null(strstr(err, "no softsaPolicyRef"));
	static const asg badpri[] = { { "cn=g,dc=x", P("g"), "1e3", { HOST } } };
	resolve(HOST, badpri, 1, false, err);
	assert_non_null(strstr(err, "softsaAssignmentPriority"));
	static const asg elsewhere[] = {
		{ "ou=other,dc=example,dc=com", "garbage", NULL, { NULL } },
		{ "cn=g,dc=x", NULL, "zz", { "cn=someone,dc=x" } },
		{ "not,,a,,dn", P("x"), NULL, { HOST } },
		{ "dc=example,dc=com", P("client"), NULL, { NULL } },
	};
	ss_dir_choice c = resolve(HOST, elsewhere, 4, true, err);
	assert_int_equal(c.via, SS_DIR_VIA_OU);
	assert_int_equal(c.levels, 3);
	assert_int_equal(c.considered, 1);
}

/* The host's search filter names its entry and each one above it down to the base, with
 * the filter's special characters escaped. */
static void test_assignment_filter(void **state)
{
	ss_dn host = dn_of("cn=web(1)*,ou=servers,dc=example,dc=com"), base = dn_of("dc=example,dc=com");
	char f[2048];
	assert_true(ss_dir_assignment_filter(&host, &base, f, sizeof(f)));
	assert_string_equal(f, "(&(objectClass=softsaPolicyAssignment)(|"
		"(member=cn=web\\281\\29\\2a,ou=servers,dc=example,dc=com)"
		"(uniqueMember=cn=web\\281\\29\\2a,ou=servers,dc=example,dc=com)"
		"(entryDN=cn=web\\281\\29\\2a,ou=servers,dc=example,dc=com)"
		"(entryDN=ou=servers,dc=example,dc=com)(entryDN=dc=example,dc=com)))");
	ss_dn esc = dn_of("cn=a\\\\b,dc=x"), root = { 0 };
	assert_true(ss_dir_assignment_filter(&esc, &root, f, sizeof(f)));
	assert_non_null(strstr(f, "(entryDN=cn=a\\5c\\5cb,dc=x)(entryDN=dc=x)))"));
	for (size_t cap = 0; cap < 60; cap++)
		assert_false(ss_dir_assignment_filter(&host, &base, f, cap));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dn_canonical),
		cmocka_unit_test(test_dn_refused),
		cmocka_unit_test(test_dn_above),
		cmocka_unit_test(test_policy_entry),
		cmocka_unit_test(test_policy_entry_refused),
		cmocka_unit_test(test_worked_example),
		cmocka_unit_test(test_group_ties_and_priorities),
		cmocka_unit_test(test_malformed_assignments),
		cmocka_unit_test(test_assignment_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
