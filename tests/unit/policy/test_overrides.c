/* ss_policy_overrides: which filter's traffic a more specific filter with another action
 * takes, and one-way filters whose replies another kind of action takes.  One row per policy:
 * every finding, in order, as "kind loser-rule winner-rule traffic". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/describe.h"
#include "policy/overrides.h"
#include "tload.h"

#define HEAD "auth: [{ psk: 0123456789abcdef }]\n" \
	"filter_actions:\n" \
	"  secure: { action: negotiate }\n" \
	"  other: { action: negotiate, fallback_to_clear: true }\n" \
	"  permit: { action: permit }\n" \
	"  permit2: { action: permit }\n" \
	"  block: { action: block }\n"
#define RULE(n, act) "  - { name: " n ", filter_list: " n ", filter_action: " act " }\n"

static const char *const kinds[] = { "partial", "whole", "nested", "mirror" };

static const struct row {
	const char *what, *yaml;
	const char *want[4]; /* NULL-terminated */
	const char *add;     /* the first finding's filter to add, when partial */
} rows[] = {
	{ "1: a DNS permit everywhere loses to a negotiate /16 for the servers in it (the issue's case)",
	  HEAD "filter_lists:\n  corp: [{ dst: 10.1.0.0/16 }]\n  dns: [{ dst: any, proto: udp, dst_port: 53 }]\n"
	  "rules:\n" RULE("corp", "secure") RULE("dns", "permit"),
	  { "partial dns corp me <-> 10.1.0.0/16 udp dport 53", NULL }, "me <-> 10.1.0.0/16 udp dport 53" },
	{ "2: a telnet block loses there too; written first makes no difference",
	  HEAD "filter_lists:\n  telnet: [{ dst: any, proto: tcp, dst_port: 23 }]\n  corp: [{ dst: 10.1.0.0/16 }]\n"
	  "rules:\n" RULE("telnet", "block") RULE("corp", "secure"),
	  { "partial telnet corp me <-> 10.1.0.0/16 tcp dport 23", NULL }, "me <-> 10.1.0.0/16 tcp dport 23" },
	{ "3: an exception written inside a wider filter: a note, not a warning",
	  HEAD "filter_lists:\n  corp: [{ dst: 10.0.0.0/8 }]\n  host: [{ dst: 10.0.0.5 }]\n"
	  "rules:\n" RULE("corp", "secure") RULE("host", "block"),
	  { "nested corp host me <-> 10.0.0.5 any", NULL }, NULL },
	{ "4: disjoint filters, and families that never meet: nothing",
	  HEAD "filter_lists:\n  a: [{ dst: 10.0.0.0/8 }]\n  b: [{ dst: 192.0.2.0/24, proto: tcp }]\n"
	  "  c: [{ dst: 2001:db8::/32 }]\n"
	  "rules:\n" RULE("a", "secure") RULE("b", "block") RULE("c", "permit"),
	  { NULL }, NULL },
	{ "5: a one-way permit whose replies a one-way block takes",
	  HEAD "filter_lists:\n  web: [{ dst: 192.0.2.5, proto: tcp, dst_port: 80, mirrored: false }]\n"
	  "  back: [{ src: 192.0.2.5, dst: me, proto: tcp, mirrored: false }]\n"
	  "rules:\n" RULE("web", "permit") RULE("back", "block"),
	  { "mirror web back 192.0.2.5 -> me tcp sport 80", NULL }, NULL },
	{ "6: a one-way block inside a mirrored negotiate: its requests negotiate, their replies are dropped",
	  HEAD "filter_lists:\n  all: [{ dst: any }]\n  noreply: [{ src: 10.0.0.5, dst: me, mirrored: false }]\n"
	  "rules:\n" RULE("all", "secure") RULE("noreply", "block"),
	  { "mirror noreply all me -> 10.0.0.5 any", "nested all noreply 10.0.0.5 -> me any", NULL }, NULL },
	{ "7: two permits overlapping: the same effect, nothing to say",
	  HEAD "filter_lists:\n  a: [{ dst: 10.1.0.0/16 }]\n  b: [{ dst: any, proto: udp, dst_port: 53 }]\n"
	  "rules:\n" RULE("a", "permit") RULE("b", "permit2"),
	  { NULL }, NULL },
	{ "8: two negotiate actions are different actions",
	  HEAD "filter_lists:\n  a: [{ dst: 10.1.0.0/16 }]\n  b: [{ dst: any, proto: udp, dst_port: 53 }]\n"
	  "rules:\n" RULE("a", "secure") RULE("b", "other"),
	  { "partial b a me <-> 10.1.0.0/16 udp dport 53", NULL }, "me <-> 10.1.0.0/16 udp dport 53" },
	{ "9: a third, still more specific filter takes the overlap: only it is named (dns does not lose to corp)",
	  HEAD "filter_lists:\n  corp: [{ dst: 10.1.0.0/16 }]\n  dns: [{ dst: any, proto: udp, dst_port: 53 }]\n"
	  "  ns: [{ dst: 10.1.0.0/16, proto: udp, dst_port: 53 }]\n"
	  "rules:\n" RULE("corp", "secure") RULE("dns", "permit") RULE("ns", "block"),
	  { "nested corp ns me <-> 10.1.0.0/16 udp dport 53", "nested dns ns me <-> 10.1.0.0/16 udp dport 53", NULL },
	  NULL },
	{ "10: the same filter twice with two actions: check's own note covers it",
	  HEAD "filter_lists:\n  a: [{ dst: 10.1.0.0/16 }]\n  b: [{ dst: 10.1.0.0/16 }]\n"
	  "rules:\n" RULE("a", "secure") RULE("b", "block"),
	  { NULL }, NULL },
	{ "11: a mirrored pair of filters, each the other's mirror, same kind: nothing",
	  HEAD "filter_lists:\n  out: [{ dst: 192.0.2.5, mirrored: false }]\n  in: [{ src: 192.0.2.5, dst: me, mirrored: false }]\n"
	  "rules:\n" RULE("out", "permit") RULE("in", "permit2"),
	  { NULL }, NULL },
};

static void each_row(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ss_policy *p = tl_load(rows[i].yaml, NULL);
		size_t n = 0, no = 0;
		ss_ranked *r = ss_policy_rank(p, &n);
		assert_non_null(r);
		ss_override *ov = ss_policy_overrides(p, r, n, &no);
		size_t want = 0;
		while (rows[i].want[want])
			want++;
		for (size_t k = 0; k < no || k < want; k++) {
			char got[300] = "(none)", t[200];
			if (k < no)
				snprintf(got, sizeof(got), "%s %s %s %s", kinds[ov[k].kind], r[ov[k].loser].rule->name,
					 r[ov[k].winner].rule->name, ss_filter_fmt(&ov[k].traffic, t, sizeof(t)));
			const char *w = k < want ? rows[i].want[k] : "(none)";
			if (strcmp(got, w) != 0)
				fail_msg("row %s, finding %zu:\n  got:      %s\n  expected: %s", rows[i].what, k + 1, got, w);
		}
		if (rows[i].add) {
			char a[200];
			assert_string_equal(ss_filter_fmt(&ov[0].add, a, sizeof(a)), rows[i].add);
			/* The filter to add wins over the winner: it is more specific. */
			assert_true(ss_weight_cmp(ss_filter_weight(&ov[0].add), r[ov[0].winner].w) > 0);
		}
		free(ov);
		free(r);
		ss_policy_free(p);
	}
}

/* The built-in policies have nothing to warn about: their ICMP permits are exceptions. */
static void builtins_are_clean(void **state)
{
	(void)state;
	static const char *const names[] = { "client", "server", "secure-server" };
	for (size_t i = 0; i < 3; i++) {
		ss_load_opts o = tl_opts(NULL);
		o.skip_key_files = true;
		ss_load_error e;
		ss_policy *p = ss_policy_builtin(names[i], &o, &e);
		assert_non_null(p);
		size_t n = 0, no = 0;
		ss_ranked *r = ss_policy_rank(p, &n);
		ss_override *ov = ss_policy_overrides(p, r, n, &no);
		for (size_t k = 0; k < no; k++)
			assert_string_equal(ss_override_severity(&ov[k]), "note");
		free(ov);
		free(r);
		ss_policy_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_row),
		cmocka_unit_test(builtins_are_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
